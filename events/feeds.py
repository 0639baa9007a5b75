"""iCalendar feeds a person subscribes to in their calendar program (secret URL)."""

import hashlib
import secrets

from django.db import transaction
from icalendar import Calendar
from icalendar import Event as IcsEvent

from events.models import CalendarFeed, Event
from events.selectors import events_of_feed
from sem.errors import RuleViolation
from teams.permissions import Actor
from teams.selectors import actor_for


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def calendar_feed_rotate(*, actor: Actor, scope: str) -> str:
    """A new secret URL token for this scope (the old one stops working). Shown once."""
    if scope not in CalendarFeed.Scope.values:
        raise RuleViolation("scope is personal, team or flow", field="scope")
    if scope == CalendarFeed.Scope.TEAM and not actor.scrum_team_ids:
        raise RuleViolation("you belong to no Scrum Team", field="scope")
    token = secrets.token_urlsafe(24)
    CalendarFeed.objects.update_or_create(
        user=actor.user,
        flow_team=actor.flow_team,
        scope=scope,
        defaults={
            "token_hash": _hash(token),
            "scrum_team_id": min(actor.scrum_team_ids) if scope == "team" else None,
        },
    )
    return token


def calendar_feed_events(*, token: str):
    """(feed, events) for a secret token, or None when unknown, or when its person can no
    longer see that calendar: deactivated, gone from the Flow Team, or (team feed) gone from
    that Scrum Team. The events are what the person may see today, roles read afresh."""
    feed = (
        CalendarFeed.objects.select_related("flow_team", "user")
        .filter(token_hash=_hash(token), user__is_active=True)
        .first()
    )
    if feed is None:
        return None
    actor = actor_for(user=feed.user, flow_team=feed.flow_team)
    if actor is None:
        return None
    if feed.scope == CalendarFeed.Scope.TEAM and feed.scrum_team_id not in actor.scrum_team_ids:
        return None
    return feed, events_of_feed(actor=actor, scope=feed.scope, scrum_team_id=feed.scrum_team_id)


def calendar_render(*, feed: CalendarFeed, events) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//SEM Flow//Flow Sprint events//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"{feed.flow_team.name} ({feed.get_scope_display()})")
    for event in events:
        item = IcsEvent()
        # Stable per event: calendar programs update it in place when it moves.
        item.add("uid", f"event-{event.pk}@semflow")
        item.add("summary", str(event))
        item.add("dtstart", event.starts_at)
        item.add("dtend", event.ends_at)
        item.add("dtstamp", event.updated_at)
        if event.outputs:
            item.add("description", f"Must produce: {event.outputs}")
        item.add("status", "CANCELLED" if event.state == Event.State.CANCELLED else "CONFIRMED")
        cal.add_component(item)
    return cal.to_ical()
