from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from events.models import Event
from sem.errors import NotFound
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


def event_for(*, actor: Actor, pk: int) -> Event:
    """One event of the actor's Flow Team, for its screen; another Flow Team's is 404.

    A stakeholder-only member sees the events they take part in (those whose participant
    roles name stakeholders: Planning 2, Roadmap Refinement, Review). That mirrors the
    shared stakeholder visibility rule; the two are joined into one at merge."""
    events = Event.objects.filter(flow_team=actor.flow_team).select_related(
        "flow_sprint", "scrum_team", "facilitator", "outputs_recorded_by", "flow_team"
    )
    try:
        event = events.get(pk=pk)
    except Event.DoesNotExist:
        raise NotFound("no such event in your Flow Team") from None
    if actor.is_stakeholder_only and "stakeholder" not in (event.participant_roles or []):
        raise NotFound("no such event in your Flow Team")
    return event


def event_participants(*, event: Event) -> list[tuple[str, list[str]]]:
    """The people the event's participant roles name, by role, in one query. A team event
    takes its team roles from its own Scrum Team; a flow event from every Scrum Team."""
    from teams.models import FLOW_ROLES, Role, RoleAssignment

    roles = list(event.participant_roles or [])
    assignments = (
        RoleAssignment.objects.filter(flow_team_id=event.flow_team_id, role__in=roles)
        .select_related("membership__user", "scrum_team")
        .order_by("scrum_team__name", "membership__user__full_name", "membership__user__email")
    )
    if event.scrum_team_id:
        assignments = assignments.filter(
            Q(scrum_team_id=event.scrum_team_id) | Q(role__in=FLOW_ROLES)
        )
    people: dict[str, list[str]] = {role: [] for role in roles}
    for assignment in assignments:
        name = assignment.membership.user.display_name
        if assignment.scrum_team_id and not event.scrum_team_id:
            name = f"{name} ({assignment.scrum_team.name})"
        people[assignment.role].append(name)
    labels = dict(Role.choices)
    return [(labels.get(role, role), names) for role, names in people.items()]
