"""Writes of the events layer: each Flow Sprint's calendar, and the CSM's changes to it."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from events import kinds
from events.calendar import local_start, plan
from events.improvements.services import (
    improvement_item_create,
    improvement_item_done,
)
from events.models import ActionItem, Event, ScrumOfScrumsReport
from events.sos import sos_activity, sos_drafts, sos_previous, sos_since
from flow import services as flow_services
from flow.models import FlowSprint
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_bump
from teams.models import FlowTeam, Membership, RoleAssignment, ScrumTeam
from teams.permissions import (
    Actor,
    can_facilitate,
    can_manage_sos_actions,
    can_run_event,
    can_see_events,
    can_write_sos_report,
)


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


def _scheduled(actor: Actor, event: Event) -> Event:
    """The event as it is now, locked, once the actor may change the schedule: a page read
    earlier may show an event that was cancelled or finished since."""
    if not can_facilitate(actor):
        raise PermissionRefused("the CSM keeps the event schedule")
    if event.flow_team_id != actor.flow_team_id:
        raise NotFound("no such event in your Flow Team")
    return Event.objects.select_for_update().get(pk=event.pk)


@transaction.atomic
def event_move(*, actor: Actor, event: Event, starts_at, duration_minutes: int | None = None):
    event = _scheduled(actor, event)
    if event.state in (Event.State.DONE, Event.State.CANCELLED):
        raise RuleViolation("a finished or cancelled event cannot move", field="starts_at")
    if duration_minutes is not None and not 5 <= duration_minutes <= 480:
        raise RuleViolation("an event lasts 5 minutes to 8 hours", field="duration_minutes")
    event.starts_at = starts_at
    event.duration_minutes = duration_minutes or event.duration_minutes
    event.rescheduled_by_hand = True
    event.save(update_fields=["starts_at", "duration_minutes", "rescheduled_by_hand", "updated_at"])
    live_bump(event_live_key(event.pk))
    return event


@transaction.atomic
def event_cancel(*, actor: Actor, event: Event) -> Event:
    event = _scheduled(actor, event)
    if event.state == Event.State.DONE:
        raise RuleViolation("a finished event cannot be cancelled", field="state")
    event.state = Event.State.CANCELLED
    event.rescheduled_by_hand = True
    event.save(update_fields=["state", "rescheduled_by_hand", "updated_at"])
    live_bump(event_live_key(event.pk))
    return event


# --- Running an event: its facilitator starts it, ends it and records its outputs ---------


def event_live_key(event_id: int) -> str:
    """The live topic of an event's screen (sem/live.py)."""
    return f"event:{event_id}"


def _may_run(actor: Actor, event: Event) -> None:
    if event.flow_team_id != actor.flow_team_id:
        raise NotFound("no such event in your Flow Team")
    if not can_run_event(
        actor, facilitator_id=event.facilitator_id, scrum_team_id=event.scrum_team_id
    ):
        raise PermissionRefused("the event's facilitator starts and ends it")


def _move_state(*, event: Event, came_from: str, to: str, stamp: str) -> Event:
    now = timezone.now()
    # Conditional update: of two clicks at once, one wins and the other is told why.
    moved = Event.objects.filter(pk=event.pk, state=came_from).update(
        state=to, **{stamp: now}, updated_at=now
    )
    if not moved:
        current = Event.objects.filter(pk=event.pk).values_list("state", flat=True).first()
        label = Event.State(current).label.lower() if current else "gone"
        verb = "starts" if to == Event.State.RUNNING else "ends"
        raise RuleViolation(
            f"the event is {label}; only a {Event.State(came_from).label.lower()} event {verb}",
            field="state",
        )
    live_bump(event_live_key(event.pk))
    event.refresh_from_db()
    return event


@transaction.atomic
def event_start(*, actor: Actor, event: Event) -> Event:
    """Scheduled -> running. Every open screen of the event shows it within a poll."""
    _may_run(actor, event)
    return _move_state(
        event=event, came_from=Event.State.SCHEDULED, to=Event.State.RUNNING, stamp="started_at"
    )


@transaction.atomic
def event_end(*, actor: Actor, event: Event) -> Event:
    """Running -> done. Open screens show it and stop polling."""
    _may_run(actor, event)
    return _move_state(
        event=event, came_from=Event.State.RUNNING, to=Event.State.DONE, stamp="ended_at"
    )


@transaction.atomic
def event_outputs_record(
    *, actor: Actor, event: Event, outputs: dict[str, str], read_version: int
) -> Event:
    """Record what the event produced, one text per expected output of its kind.

    ``read_version`` is the ``outputs_version`` the person's form was read at: when
    someone recorded meanwhile, VersionConflict, and nothing is written."""
    _may_run(actor, event)
    event = Event.objects.select_for_update().get(pk=event.pk)
    if event.state not in (Event.State.RUNNING, Event.State.DONE):
        raise RuleViolation("outputs are recorded once the event has started", field="state")
    expected = dict(kinds.OUTPUTS[event.kind])
    for slug in outputs:
        if slug not in expected:
            raise RuleViolation(
                f"a {event.get_kind_display()} has no output called {slug!r}", field=slug
            )
    cleaned = {}
    for slug, text in outputs.items():
        text = (text or "").strip()
        if len(text) > kinds.OUTPUT_MAX_CHARS:
            raise RuleViolation(
                f"at most {kinds.OUTPUT_MAX_CHARS} characters (this has {len(text)})", field=slug
            )
        if text:
            cleaned[slug] = text
    if read_version != event.outputs_version:
        raise VersionConflict(event.outputs_version)
    return _outputs_save(event, cleaned, actor.user)


def _outputs_save(event: Event, outputs: dict[str, str], by) -> Event:
    """The event's outputs, one version on, with who and when; its screens follow."""
    event.recorded_outputs = outputs
    event.outputs_version += 1
    event.outputs_recorded_at = timezone.now()
    event.outputs_recorded_by = by
    event.save(
        update_fields=[
            "recorded_outputs",
            "outputs_version",
            "outputs_recorded_at",
            "outputs_recorded_by",
            "updated_at",
        ]
    )
    live_bump(event_live_key(event.pk))
    return event


# --- Scrum of Scrums ---------------------------------------------------------------------

SOS_ANSWERS = set(ScrumOfScrumsReport.ANSWERS)
SOS_OVER = (Event.State.DONE, Event.State.CANCELLED)


def event_outputs_fill(*, event: Event, outputs: dict[str, str], by) -> Event:
    """What a meeting's screen produced, written into the event's outputs it has not
    recorded yet (a text someone wrote by hand is never replaced). Runs inside the
    caller's transaction, which has checked who may do it."""
    event = Event.objects.select_for_update().get(pk=event.pk)
    recorded = dict(event.recorded_outputs or {})
    expected = dict(kinds.OUTPUTS[event.kind])
    filled = {
        slug: text[: kinds.OUTPUT_MAX_CHARS]
        for slug, text in outputs.items()
        if slug in expected and text.strip() and not recorded.get(slug)
    }
    if not filled:
        return event
    return _outputs_save(event, {**recorded, **filled}, by)


def sos_live_key(event_id: int) -> str:
    """The live topic of one Scrum of Scrums' answers and action items (sem/live.py)."""
    return f"sos:{event_id}"


def _sos_event(actor: Actor, event: Event) -> None:
    if event.flow_team_id != actor.flow_team_id:
        raise NotFound("no such Scrum of Scrums in your Flow Team")
    if event.kind != Event.Kind.SCRUM_OF_SCRUMS:
        raise RuleViolation("this event is no Scrum of Scrums", field="event")


@transaction.atomic
def sos_reports_ensure(*, actor: Actor, event: Event, now=None) -> int:
    """Give every Scrum Team of the Flow Team its report for this Scrum of Scrums, each
    prefilled with a draft of what happened since the last one (events/sos.py). Run when
    the screen is first opened; idempotent: teams that have a report keep it untouched.
    A finished or cancelled Scrum of Scrums gets none. Returns how many were created."""
    _sos_event(actor, event)
    if not can_see_events(actor):
        raise NotFound("no such Scrum of Scrums in your Flow Team")
    if event.state in SOS_OVER:
        return 0
    have = set(
        ScrumOfScrumsReport.objects.filter(event=event).values_list("scrum_team_id", flat=True)
    )
    missing = [
        pk
        for pk in ScrumTeam.objects.filter(flow_team_id=event.flow_team_id)
        .order_by("number")
        .values_list("pk", flat=True)
        if pk not in have
    ]
    if not missing:
        return 0
    now = now or timezone.now()
    since = sos_since(event=event, previous=sos_previous(event=event))
    drafts = sos_drafts(sos_activity(flow_team=event.flow_team, since=since), missing)
    created = ScrumOfScrumsReport.objects.bulk_create(
        [
            ScrumOfScrumsReport(event=event, scrum_team_id=pk, drafted_at=now, **drafts[pk])
            for pk in missing
        ],
        # Two first viewers at once: the second one's rows are dropped, not an error.
        ignore_conflicts=True,
    )
    live_bump(sos_live_key(event.pk))
    return len(created)


@transaction.atomic
def sos_report_update(
    *,
    actor: Actor,
    report: ScrumOfScrumsReport,
    data: dict,
    expected_version: int | None = None,
) -> ScrumOfScrumsReport:
    """A team's Scrum of Scrums answers: the CSM, or that team's PO or SM, write them.

    ``expected_version`` is the version the person's form was read at: when someone saved
    meanwhile, VersionConflict and nothing is written. Every open screen of the Scrum of
    Scrums shows the new answers within a poll."""
    report = (
        ScrumOfScrumsReport.objects.select_for_update(of=("self",))
        .select_related("event")
        .get(pk=report.pk)
    )
    if report.event.flow_team_id != actor.flow_team_id:
        raise NotFound("no such report in your Flow Team")
    if not can_write_sos_report(actor, report.scrum_team_id):
        raise PermissionRefused("the CSM, or the team's PO or SM, answer for the team")
    if report.event.state in SOS_OVER:
        raise RuleViolation(
            f"the Scrum of Scrums is {report.event.get_state_display().lower()}; "
            "its answers are a record now",
            field="state",
        )
    refused = sorted(set(data) - SOS_ANSWERS)
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    cleaned = {}
    for field, value in data.items():
        text = str(value or "").strip()
        if len(text) > kinds.OUTPUT_MAX_CHARS:
            raise RuleViolation(
                f"at most {kinds.OUTPUT_MAX_CHARS} characters (this has {len(text)})", field=field
            )
        cleaned[field] = text
    if expected_version is not None and report.version != expected_version:
        raise VersionConflict(report.version)
    for field, text in cleaned.items():
        setattr(report, field, text)
    report.submitted_by = actor.user
    report.updated_at = timezone.now()
    ScrumOfScrumsReport.objects.filter(pk=report.pk).update(
        version=F("version") + 1,
        submitted_by=actor.user,
        updated_at=report.updated_at,
        **cleaned,
    )
    report.version += 1
    live_bump(sos_live_key(report.event_id))
    return report


# --- Flow Sprint Planning 2: the CSM confirms the Flow Sprint Goal, which closes it -----


def _mitigations_text(dependencies: list[dict]) -> str:
    lines = []
    for d in dependencies:
        plans = [f"{r.title}: {r.mitigation.strip()}" for r in d["risks"] if r.mitigation.strip()]
        colour = d["colour"] or "not planned yet"
        lines.append(
            f"- {d['requester']} needs {d['provider']} ({colour}): "
            + ("; ".join(plans) if plans else "no mitigation plan")
        )
    return "\n".join(lines) or "No open dependencies."


@transaction.atomic
def planning_2_confirm(
    *, actor: Actor, event: Event, expected_version: int, acknowledged: set[str]
) -> Event:
    """Confirm the CPO's draft as the Flow Sprint Goal (flow_sprint_goal_confirm), record
    Planning 2's outputs on the event (the goal, with what it was confirmed despite, and the
    open dependencies' mitigation plans) and close the event, in one transaction."""
    from flow import selectors as flow_selectors

    if event.flow_team_id != actor.flow_team_id:
        raise NotFound("no such event in your Flow Team")
    if event.kind != Event.Kind.PLANNING_2:
        raise RuleViolation("the Flow Sprint Goal is confirmed at Planning 2", field="event")
    if event.state in (Event.State.DONE, Event.State.CANCELLED):
        raise RuleViolation(
            f"this Planning 2 is {event.get_state_display().lower()}", field="state"
        )
    sprint = flow_services.flow_sprint_goal_confirm(
        actor=actor,
        flow_sprint=event.flow_sprint,
        expected_version=expected_version,
        acknowledged=acknowledged,
    )
    if event.state == Event.State.SCHEDULED:
        event = event_start(actor=actor, event=event)
    goal = sprint.goal
    if sprint.confirmed_despite:
        goal += "\n\nConfirmed despite: " + "; ".join(
            f"{w['title']} ({w['reason']})" for w in sprint.confirmed_despite
        )
    risks = flow_selectors.risk_register(flow_team=actor.flow_team)
    dependencies = flow_selectors.dependency_plans(flow_team=actor.flow_team, risks=risks)
    event = event_outputs_record(
        actor=actor,
        event=event,
        outputs={
            "flow_sprint_goal": goal[: kinds.OUTPUT_MAX_CHARS],
            "mitigations": _mitigations_text(dependencies)[: kinds.OUTPUT_MAX_CHARS],
        },
        read_version=event.outputs_version,
    )
    return event_end(actor=actor, event=event)


ACTION_TEXT_MAX = 300


@transaction.atomic
def action_item_add(
    *,
    actor: Actor,
    event: Event,
    text: str,
    owner=None,
    due_date=None,
    scrum_team=None,
    metric: str = "",
) -> ActionItem:
    """An action plan of a Scrum of Scrums, with its owner and due date: the CSM, a PO or
    an SM add them. It is an improvement item (of the team, else of the Flow Backlog) and
    stays on every later Scrum of Scrums until closed."""
    _sos_event(actor, event)
    if not can_manage_sos_actions(actor):
        raise PermissionRefused("the CSM, the POs and the SMs plan actions")
    if event.state == Event.State.CANCELLED:
        raise RuleViolation("a cancelled Scrum of Scrums takes no actions", field="state")
    text = (text or "").strip()
    if not text:
        raise RuleViolation("say what is to be done", field="text")
    if len(text) > ACTION_TEXT_MAX:
        raise RuleViolation(
            f"at most {ACTION_TEXT_MAX} characters (this has {len(text)})", field="text"
        )
    if owner is None:
        raise RuleViolation("name who owns the action", field="owner")
    if not Membership.objects.filter(flow_team_id=actor.flow_team_id, user=owner).exists():
        raise RuleViolation("the owner is not a member of this Flow Team", field="owner")
    if due_date is None:
        raise RuleViolation("give the action a due date", field="due_date")
    if scrum_team is not None and scrum_team.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the Scrum Team is not in this Flow Team", field="scrum_team")
    item = improvement_item_create(
        event=event,
        text=text,
        owner_id=owner.pk,
        due_date=due_date,
        scrum_team_id=scrum_team.pk if scrum_team else None,
        metric=metric,
    )
    live_bump(sos_live_key(event.pk))
    return item


@transaction.atomic
def action_item_close(*, actor: Actor, item: ActionItem) -> ActionItem:
    """Close an action item (records when and by whom). Every Scrum of Scrums screen drops
    it from its open items within a poll."""
    item = (
        ActionItem.objects.select_for_update(of=("self",)).select_related("event").get(pk=item.pk)
    )
    if item.event.flow_team_id != actor.flow_team_id:
        raise NotFound("no such action item in your Flow Team")
    if not (can_manage_sos_actions(actor) or item.owner_id == actor.user.pk):
        raise PermissionRefused("the owner, the CSM, the POs and the SMs close actions")
    return improvement_item_done(item, actor, sos_live_key(item.event_id))
