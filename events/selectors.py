from datetime import date, datetime, time, timedelta

from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from events.models import ActionItem, Event, ScrumOfScrumsReport
from sem.errors import NotFound
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


def event_for(*, actor: Actor, pk: int) -> Event:
    """One event of the actor's Flow Team, for its screen; another Flow Team's is 404.

    A stakeholder-only member sees the events they take part in: the shared visibility
    rule (``events_visible``), so the screen, the calendar, the API and the feeds agree."""
    events = events_visible(actor=actor).select_related(
        "flow_sprint", "scrum_team", "facilitator", "outputs_recorded_by", "flow_team"
    )
    try:
        event = events.get(pk=pk)
    except Event.DoesNotExist:
        raise NotFound("no such event in your Flow Team") from None
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


def roadmap_refinement_before(*, actor: Actor, moment: datetime) -> datetime | None:
    """When the last Product Roadmap Refinement before ``moment`` began: its real start when
    it ran, its planned start otherwise (a cancelled one does not count). The roadmap's
    "changes since" starts there, so each refinement starts from what changed since the
    previous one. One query."""
    row = (
        Event.objects.filter(flow_team=actor.flow_team, kind=Event.Kind.ROADMAP_REFINEMENT)
        .exclude(state=Event.State.CANCELLED)
        .annotate(began=Coalesce("started_at", "starts_at"))
        .filter(began__lt=moment)
        .order_by("-began")
        .values_list("began", flat=True)
        .first()
    )
    return row


# --- Scrum of Scrums ----------------------------------------------------------------------


def sos_event_for(*, actor: Actor, pk: int) -> Event:
    """One Scrum of Scrums of the actor's Flow Team; another Flow Team's, another kind of
    event, or any Scrum of Scrums for a stakeholder-only member: NotFound."""
    event = event_for(actor=actor, pk=pk)
    if event.kind != Event.Kind.SCRUM_OF_SCRUMS:
        raise NotFound("no such Scrum of Scrums in your Flow Team")
    return event


def sos_reports(*, event: Event) -> list:
    """The teams' reports of one Scrum of Scrums, in team order, with who saved each: one
    query."""
    return list(
        ScrumOfScrumsReport.objects.filter(event=event)
        .select_related("scrum_team", "submitted_by")
        .order_by("scrum_team__number")
    )


def sos_action_items(*, event: Event, since: datetime) -> list:
    """The action items a Scrum of Scrums shows: every open one raised at it or at an
    earlier Scrum of Scrums of the Flow Team, and those closed since ``since`` (the last
    Scrum of Scrums). Oldest first; one query."""
    return list(
        ActionItem.objects.filter(
            event__flow_team_id=event.flow_team_id,
            event__kind=Event.Kind.SCRUM_OF_SCRUMS,
            event__starts_at__lte=event.starts_at,
        )
        .filter(Q(done=False) | Q(done_at__gte=since))
        .select_related("event", "owner", "scrum_team", "done_by")
        .order_by("done", "created_at", "pk")
    )


def sos_record(*, actor: Actor, query: str = "") -> QuerySet[Event]:
    """Every Scrum of Scrums of the actor's Flow Team that has begun (newest first),
    optionally only those whose answers or action items hold ``query``. A stakeholder-only
    member sees none."""
    events = (
        sos_visible(actor=actor)
        .filter(Q(started_at__isnull=False) | Q(starts_at__lte=timezone.now()))
        .exclude(state=Event.State.CANCELLED)
    )
    query = " ".join(query.split())
    if query:
        answers = Q()
        for field in ScrumOfScrumsReport.ANSWERS:
            answers |= Q(**{f"{field}__icontains": query})
        reports = ScrumOfScrumsReport.objects.filter(answers).values("event_id")
        actions = ActionItem.objects.filter(text__icontains=query).values("event_id")
        events = events.filter(Q(pk__in=reports) | Q(pk__in=actions))
    return events.select_related("flow_sprint").order_by("-starts_at", "-pk")


def sos_visible(*, actor: Actor) -> QuerySet[Event]:
    return events_visible(actor=actor).filter(kind=Event.Kind.SCRUM_OF_SCRUMS)


def sos_record_details(*, events: list[Event], query: str = "") -> dict[int, dict]:
    """For a page of the record: each Scrum of Scrums' reports and action items, in two
    queries whatever the page holds."""
    ids = [e.pk for e in events]
    found = {pk: {"reports": [], "actions": []} for pk in ids}
    for report in (
        ScrumOfScrumsReport.objects.filter(event_id__in=ids)
        .select_related("scrum_team", "submitted_by")
        .order_by("scrum_team__number")
    ):
        found[report.event_id]["reports"].append(report)
    for item in (
        ActionItem.objects.filter(event_id__in=ids)
        .select_related("owner", "scrum_team")
        .order_by("created_at", "pk")
    ):
        found[item.event_id]["actions"].append(item)
    return found


def sos_due_for(*, actor: Actor, now: datetime) -> dict | None:
    """For a PO or SM: the next (or running) Scrum of Scrums and those of their Scrum Teams
    whose report for it is still empty (nobody of the team has saved answers yet). Three
    queries; None when there is no such meeting or nothing is missing."""
    from teams.models import Role, ScrumTeam

    teams = {
        team_id
        for team_id, roles in actor.team_roles.items()
        if Role.PO in roles or Role.SM in roles
    }
    if not teams:
        return None
    event = (
        sos_visible(actor=actor)
        .filter(state__in=[Event.State.SCHEDULED, Event.State.RUNNING])
        .filter(Q(state=Event.State.RUNNING) | Q(starts_at__gte=now - timedelta(hours=2)))
        .order_by("starts_at")
        .first()
    )
    if event is None:
        return None
    answered = set(
        ScrumOfScrumsReport.objects.filter(
            event=event, scrum_team_id__in=teams, submitted_by__isnull=False
        ).values_list("scrum_team_id", flat=True)
    )
    empty = teams - answered
    if not empty:
        return None
    names = list(
        ScrumTeam.objects.filter(pk__in=empty).order_by("number").values_list("name", flat=True)
    )
    return {"event": event, "teams": names}
