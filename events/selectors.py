from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from events.models import Event
from teams.permissions import Actor


def events_on_day(*, actor: Actor, day: date) -> QuerySet[Event]:
    """The actor's events on a local day: flow-level ones and their Scrum Teams' ones."""
    tz = actor.flow_team.tzinfo
    start = datetime.combine(day, time.min, tzinfo=tz)
    return (
        Event.objects.filter(
            flow_team=actor.flow_team, starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
        )
        .filter(Q(scrum_team__isnull=True) | Q(scrum_team__in=actor.scrum_team_ids))
        .exclude(state=Event.State.CANCELLED)
        .select_related("scrum_team", "facilitator")
        .order_by("starts_at", "kind")
    )


def events_upcoming(*, actor: Actor, scope: str = "mine", days: int = 28) -> QuerySet[Event]:
    """Events from today on, for the person (flow-level + their teams) or the whole Flow Team."""
    tz = actor.flow_team.tzinfo
    start = datetime.combine(actor.flow_team.today(), time.min, tzinfo=tz)
    events = Event.objects.filter(
        flow_team=actor.flow_team, starts_at__gte=start, starts_at__lt=start + timedelta(days=days)
    )
    if scope == "mine":
        events = events.filter(Q(scrum_team__isnull=True) | Q(scrum_team__in=actor.scrum_team_ids))
    return events.select_related("scrum_team", "facilitator", "flow_sprint").order_by(
        "starts_at", "kind"
    )
