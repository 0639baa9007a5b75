"""Writes of the events layer: each Flow Sprint's calendar, and the CSM's changes to it."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events.calendar import local_start, plan
from events.models import Event, ScrumOfScrumsReport
from flow import services as flow_services
from flow.models import FlowSprint
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from teams.models import FlowTeam, RoleAssignment, ScrumTeam
from teams.permissions import Actor, can_facilitate, can_write_sos_report


def _facilitators(flow_team: FlowTeam) -> dict:
    """(role, scrum_team_id or None) -> user id, in one query."""
    found = {}
    for role, team_id, user_id in RoleAssignment.objects.filter(
        flow_team=flow_team, role__in=["cpo", "csm", "sm"]
    ).values_list("role", "scrum_team_id", "membership__user_id"):
        found[(role, team_id)] = user_id
    return found


@transaction.atomic
def calendar_ensure(*, flow_sprint: FlowSprint, facilitators: dict | None = None) -> dict:
    """Create the sprint's full event calendar; keep untouched events of a planned sprint
    in step with its dates. Events the CSM moved or cancelled stay as the CSM left them.
    Idempotent: a second run writes nothing."""
    flow_team = flow_sprint.flow_team
    facilitators = facilitators if facilitators is not None else _facilitators(flow_team)
    team_ids = list(ScrumTeam.objects.filter(flow_team=flow_team).values_list("pk", flat=True))
    previous = (
        FlowSprint.objects.filter(flow_team=flow_team, number=flow_sprint.number - 1)
        .values_list("start", flat=True)
        .first()
    )
    first_in_month = previous is None or (previous.year, previous.month) != (
        flow_sprint.start.year,
        flow_sprint.start.month,
    )
    specs = plan(
        start=flow_sprint.start,
        end=flow_sprint.end,
        weekdays=flow_team.working_weekdays,
        team_ids=team_ids,
        first_in_month=first_in_month,
    )
    existing = {(e.kind, e.scrum_team_id, e.occurrence): e for e in flow_sprint.events.all()}
    adjustable = flow_sprint.state == FlowSprint.State.PLANNED
    tz = flow_team.tzinfo
    created, changed = [], []
    for spec in specs:
        starts_at = local_start(spec, tz)
        event = existing.pop((spec.kind, spec.team_id, spec.occurrence), None)
        if event is None:
            created.append(
                Event(
                    flow_team=flow_team,
                    flow_sprint=flow_sprint,
                    scrum_team_id=spec.team_id,
                    kind=spec.kind,
                    level=spec.level,
                    occurrence=spec.occurrence,
                    starts_at=starts_at,
                    duration_minutes=spec.minutes,
                    facilitator_id=facilitators.get(
                        (spec.facilitator_role, spec.team_id if spec.level == "team" else None)
                    ),
                    participant_roles=spec.roles,
                    outputs=spec.outputs,
                )
            )
        elif (
            adjustable
            and not event.rescheduled_by_hand
            and (event.starts_at != starts_at or event.duration_minutes != spec.minutes)
        ):
            event.starts_at, event.duration_minutes = starts_at, spec.minutes
            changed.append(event)
    # Events the new dates no longer hold (a planned sprint got shorter), unless hand-placed.
    dropped = [e.pk for e in existing.values() if adjustable and not e.rescheduled_by_hand]
    if created:
        Event.objects.bulk_create(created)
    if changed:
        Event.objects.bulk_update(changed, ["starts_at", "duration_minutes", "updated_at"])
    if dropped:
        Event.objects.filter(pk__in=dropped).delete()
    return {"created": len(created), "moved": len(changed), "dropped": len(dropped)}


def cadence_roll(*, flow_team: FlowTeam, today=None, horizon: int = flow_services.DEFAULT_HORIZON):
    """The whole cadence job for one Flow Team: sprints ahead, then every open sprint's
    calendar. Each sprint commits on its own, so a crash mid-way loses no finished work
    and a re-run picks up where it stopped."""
    result = flow_services.flow_sprints_roll(flow_team=flow_team, today=today, horizon=horizon)
    facilitators = _facilitators(flow_team)
    totals = {"created": 0, "moved": 0, "dropped": 0}
    for sprint in (
        FlowSprint.objects.filter(flow_team=flow_team)
        .exclude(state=FlowSprint.State.CLOSED)
        .select_related("flow_team")
    ):
        for key, value in calendar_ensure(flow_sprint=sprint, facilitators=facilitators).items():
            totals[key] += value
    return {**result, **{f"events_{k}": v for k, v in totals.items()}}


@transaction.atomic
def event_move(*, actor: Actor, event: Event, starts_at, duration_minutes: int | None = None):
    if not can_facilitate(actor):
        raise PermissionRefused("the CSM keeps the event schedule")
    if event.state in (Event.State.DONE, Event.State.CANCELLED):
        raise RuleViolation("a finished or cancelled event cannot move", field="starts_at")
    if duration_minutes is not None and not 5 <= duration_minutes <= 480:
        raise RuleViolation("an event lasts 5 minutes to 8 hours", field="duration_minutes")
    event.starts_at = starts_at
    event.duration_minutes = duration_minutes or event.duration_minutes
    event.rescheduled_by_hand = True
    event.updated_at = timezone.now()
    event.save(update_fields=["starts_at", "duration_minutes", "rescheduled_by_hand", "updated_at"])
    return event


@transaction.atomic
def event_cancel(*, actor: Actor, event: Event) -> Event:
    if not can_facilitate(actor):
        raise PermissionRefused("the CSM keeps the event schedule")
    event.state = Event.State.CANCELLED
    event.rescheduled_by_hand = True
    event.save(update_fields=["state", "rescheduled_by_hand", "updated_at"])
    return event


SOS_ANSWERS = {
    "done_since_last",
    "next_until_next",
    "impediments",
    "in_others_way",
    "dependencies",
}


@transaction.atomic
def sos_report_update(
    *,
    actor: Actor,
    report: ScrumOfScrumsReport,
    data: dict,
    expected_version: int | None = None,
) -> ScrumOfScrumsReport:
    """A team's Scrum of Scrums answers: the CSM, or that team's PO or SM, write them."""
    report = ScrumOfScrumsReport.objects.select_for_update().get(pk=report.pk)
    if expected_version is not None and report.version != expected_version:
        raise VersionConflict(report.version)
    if not can_write_sos_report(actor, report.scrum_team_id):
        raise PermissionRefused("the CSM, or the team's PO or SM, answer for the team")
    refused = sorted(set(data) - SOS_ANSWERS)
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    for field, value in data.items():
        setattr(report, field, str(value).strip())
    report.submitted_by = actor.user
    report.updated_at = timezone.now()
    values = {f: getattr(report, f) for f in data}
    ScrumOfScrumsReport.objects.filter(pk=report.pk).update(
        version=F("version") + 1,
        submitted_by=actor.user,
        updated_at=report.updated_at,
        **values,
    )
    report.version += 1
    return report
