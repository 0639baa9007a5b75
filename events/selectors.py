from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from events.models import Event
from teams.permissions import Actor, event_kinds_visible


def events_visible(*, actor: Actor) -> QuerySet[Event]:
    """Every event of the actor's Flow Team that the actor may see (domain.md, "Who may do
    what"): a stakeholder-only member sees only the events they take part in. The calendar
    page, the home page, the API and the iCalendar feeds all start from here."""
    events = Event.objects.filter(flow_team=actor.flow_team)
    kinds = event_kinds_visible(actor)
    if kinds is not None:
        events = events.filter(kind__in=sorted(kinds))
    return events


def _theirs(events: QuerySet[Event], actor: Actor) -> QuerySet[Event]:
    """Flow-level events and those of the actor's own Scrum Teams."""
    return events.filter(Q(scrum_team__isnull=True) | Q(scrum_team__in=actor.scrum_team_ids))


def events_on_day(*, actor: Actor, day: date) -> QuerySet[Event]:
    """The actor's events on a local day: flow-level ones and their Scrum Teams' ones."""
    tz = actor.flow_team.tzinfo
    start = datetime.combine(day, time.min, tzinfo=tz)
    events = events_visible(actor=actor).filter(
        starts_at__gte=start, starts_at__lt=start + timedelta(days=1)
    )
    return (
        _theirs(events, actor)
        .exclude(state=Event.State.CANCELLED)
        .select_related("scrum_team", "facilitator")
        .order_by("starts_at", "kind")
    )


def events_upcoming(*, actor: Actor, scope: str = "mine", days: int = 28) -> QuerySet[Event]:
    """Events from today on, for the person (flow-level + their teams) or the whole Flow Team."""
    tz = actor.flow_team.tzinfo
    start = datetime.combine(actor.flow_team.today(), time.min, tzinfo=tz)
    events = events_visible(actor=actor).filter(
        starts_at__gte=start, starts_at__lt=start + timedelta(days=days)
    )
    if scope == "mine":
        events = _theirs(events, actor)
    return events.select_related("scrum_team", "facilitator", "flow_sprint").order_by(
        "starts_at", "kind"
    )


def events_of_feed(*, actor: Actor, scope: str, scrum_team_id: int | None) -> QuerySet[Event]:
    """What an iCalendar feed of the actor holds: their events, one Scrum Team's or the whole
    Flow Team's, never more than the actor may see."""
    events = events_visible(actor=actor)
    if scope == "team":
        events = events.filter(scrum_team=scrum_team_id)
    elif scope == "personal":
        events = _theirs(events, actor)
    return events.select_related("scrum_team").order_by("starts_at")
