"""Writes of the flow layer: the cadence, claiming stories into Team Sprints, risks."""

import json
from datetime import timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from backlog.models import Epic, Story
from backlog.services import _definition_of_ready, planning_live_key
from flow import selectors
from flow.metrics import snapshot
from flow.models import (
    EpicClaim,
    FlowSprint,
    MetricSnapshot,
    Risk,
    SprintCommitment,
    TeamSprint,
)
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_bump
from teams.models import Membership, ScrumTeam
from teams.permissions import (
    Actor,
    can_claim_epic,
    can_confirm_flow_sprint_goal,
    can_draft_flow_sprint_goal,
    can_refresh_metrics,
    can_work_story,
    can_write_register,
)


def risk_live_key(flow_team_id: int) -> str:
    """The live topic of a Flow Team's risk register (sem/live.py): every register and
    every Planning 2 screen of the Flow Team shows it."""
    return f"risks:{flow_team_id}"


def commitments_live_key(flow_sprint_id: int) -> str:
    """The live topic of a Flow Sprint's plans: the stories teams committed into it."""
    return f"commitments:{flow_sprint_id}"


def flow_sprint_goal_live_key(flow_sprint_id: int) -> str:
    """The live topic of a Flow Sprint's goal: its draft and its confirmation."""
    return f"flow-sprint-goal:{flow_sprint_id}"


def _check_into(story: Story, team_sprint: TeamSprint) -> None:
    """A story goes into its own team's sprint, and not into a closed one."""
    if team_sprint.scrum_team_id != story.scrum_team_id:
        raise RuleViolation("claim a story into its own team's sprint", field="team_sprint")
    if team_sprint.flow_sprint.state == FlowSprint.State.CLOSED:
        raise RuleViolation("this Flow Sprint is closed", field="team_sprint")


@transaction.atomic
def story_claim(*, actor: Actor, team_sprint: TeamSprint, story: Story) -> SprintCommitment:
    """Commit a story into its team's sprint. Before the sprint starts it counts as planned;
    pulled in later it is tracked but not counted as committed (honest predictability)."""
    if story.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the story is not in this Flow Team", field="story")
    # Claims of one story queue up on its row: the second sees the first's commitment (a
    # 400 naming the story) instead of tripping the unique constraint.
    story = Story.objects.select_for_update().get(pk=story.pk)
    if not can_work_story(actor, story.scrum_team_id):
        raise PermissionRefused("only the owning team claims its stories")
    _check_into(story, team_sprint)
    sprint = team_sprint.flow_sprint
    if story.state == Story.State.DONE:
        raise RuleViolation("the story is already done", field="story")
    if SprintCommitment.objects.filter(team_sprint=team_sprint, story=story).exists():
        raise RuleViolation("the story is already in this Team Sprint", field="story")
    if story.points is None:
        raise RuleViolation("estimate the story before claiming it", field="story")
    # Up to the end of the sprint's first day in the Flow Team's own timezone, a claim is
    # part of the plan; later it is pulled in.
    today = actor.flow_team.today()
    planned = sprint.state == FlowSprint.State.PLANNED or sprint.start >= today
    live_bump(commitments_live_key(sprint.pk))
    live_bump(planning_live_key(story.flow_team_id))
    return SprintCommitment.objects.create(
        team_sprint=team_sprint,
        story=story,
        points_at_planning=story.points,
        planned=planned,
        committed_at=timezone.now(),
        committed_by=actor.user,
    )


# --- Flow Sprint Planning 1: claiming epics, planning stories into sprints -------------


def _open_commitment(story: Story) -> SprintCommitment | None:
    """Where the story is planned now: its open commitment. (None is in a closed Flow
    Sprint: closing settles every open one in the same transaction, and a claim into a
    closed sprint is refused.)"""
    return (
        SprintCommitment.objects.filter(story=story, outcome=SprintCommitment.Outcome.OPEN)
        .select_related("team_sprint__flow_sprint")
        .order_by("-committed_at")
        .first()
    )


def _withdraw(commitment: SprintCommitment, today) -> None:
    """Take a story out of a Team Sprint: before the sprint starts the plan is only a plan
    (the commitment goes); once it runs, the commitment stays as dropped (predictability
    stays honest)."""
    sprint = commitment.team_sprint.flow_sprint
    live_bump(commitments_live_key(sprint.pk))
    if sprint.state == FlowSprint.State.PLANNED and sprint.start > today:
        commitment.delete()
    else:
        SprintCommitment.objects.filter(pk=commitment.pk).update(
            outcome=SprintCommitment.Outcome.DROPPED
        )


@transaction.atomic
def story_plan(
    *, actor: Actor, story: Story, team_sprint: TeamSprint | None
) -> SprintCommitment | None:
    """Planning 1: plan a story into its team's sprint, move it to another sprint, or take
    it back into the backlog (``team_sprint`` None). A story meeting the Definition of
    Ready (an estimate, an acceptance criterion) may be planned; only the owning team
    plans its stories."""
    if story.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the story is not in this Flow Team", field="story")
    story = Story.objects.select_for_update().get(pk=story.pk)
    if not can_work_story(actor, story.scrum_team_id):
        raise PermissionRefused("only the owning team's PO, SM and developers plan its stories")
    current = _open_commitment(story)
    if team_sprint is None:
        if current is None:
            raise RuleViolation("the story is not planned into a Flow Sprint", field="story")
        _withdraw(current, actor.flow_team.today())
        live_bump(planning_live_key(story.flow_team_id))
        return None
    if team_sprint.flow_sprint.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the Team Sprint is not in this Flow Team", field="team_sprint")
    if current is not None and current.team_sprint_id == team_sprint.pk:
        raise RuleViolation(
            f"the story is already planned into Flow Sprint {team_sprint.flow_sprint.number}",
            field="team_sprint",
        )
    # Checked before a dropped commitment is reopened below, which story_claim does not do.
    _check_into(story, team_sprint)
    _definition_of_ready(story, story.criteria.count())
    if current is not None:
        _withdraw(current, actor.flow_team.today())
    dropped = SprintCommitment.objects.filter(
        team_sprint=team_sprint, story=story, outcome=SprintCommitment.Outcome.DROPPED
    ).first()
    if dropped is not None:
        # Planned again into a running sprint it was taken out of: the same commitment.
        dropped.outcome, dropped.committed_at, dropped.committed_by = (
            SprintCommitment.Outcome.OPEN,
            timezone.now(),
            actor.user,
        )
        dropped.save(update_fields=["outcome", "committed_at", "committed_by"])
        live_bump(planning_live_key(story.flow_team_id))
        live_bump(commitments_live_key(team_sprint.flow_sprint_id))
        return dropped
    return story_claim(actor=actor, team_sprint=team_sprint, story=story)


@transaction.atomic
def epic_claim(
    *, actor: Actor, epic: Epic, scrum_team: ScrumTeam, flow_sprint: FlowSprint
) -> EpicClaim:
    """Planning 1: a Scrum Team claims an epic for a Flow Sprint (several teams may claim
    the same epic). The team's PO or SM, the CPO or the CSM claim."""
    for obj, field in ((epic, "epic"), (scrum_team, "scrum_team"), (flow_sprint, "flow_sprint")):
        if obj.flow_team_id != actor.flow_team_id:
            raise RuleViolation(
                f"the {field.replace('_', ' ')} is not in this Flow Team", field=field
            )
    if not can_claim_epic(actor, scrum_team.pk):
        raise PermissionRefused("only the team's PO and SM, the CPO or the CSM claim epics")
    if flow_sprint.state == FlowSprint.State.CLOSED:
        raise RuleViolation(f"Flow Sprint {flow_sprint.number} is closed", field="flow_sprint")
    if epic.state in (Epic.State.DONE, Epic.State.CANCELLED):
        raise RuleViolation(f"the epic is {epic.get_state_display().lower()}", field="epic")
    ScrumTeam.objects.select_for_update().get(pk=scrum_team.pk)
    if EpicClaim.objects.filter(epic=epic, scrum_team=scrum_team, flow_sprint=flow_sprint).exists():
        raise RuleViolation(
            f"{scrum_team.name} has claimed “{epic.title}” for Flow Sprint "
            f"{flow_sprint.number} already",
            field="epic",
        )
    live_bump(planning_live_key(actor.flow_team_id))
    return EpicClaim.objects.create(
        epic=epic,
        scrum_team=scrum_team,
        flow_sprint=flow_sprint,
        claimed_at=timezone.now(),
        claimed_by=actor.user,
    )


@transaction.atomic
def epic_unclaim(*, actor: Actor, claim: EpicClaim) -> None:
    """Planning 1: the team lets the epic go for that sprint (same roles as claiming)."""
    if claim.scrum_team.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the claim is not in this Flow Team", field="claim")
    if not can_claim_epic(actor, claim.scrum_team_id):
        raise PermissionRefused("only the team's PO and SM, the CPO or the CSM release a claim")
    if claim.flow_sprint.state == FlowSprint.State.CLOSED:
        raise RuleViolation(
            f"Flow Sprint {claim.flow_sprint.number} is closed", field="flow_sprint"
        )
    EpicClaim.objects.filter(pk=claim.pk).delete()
    live_bump(planning_live_key(actor.flow_team_id))


RISK_FIELDS = {
    "title",
    "description",
    "owner",
    "impact",
    "roam",
    "mitigation",
    "dependency",
    "scrum_team",
}


def _check_risk(actor: Actor, data: dict) -> None:
    if "title" in data and not str(data["title"]).strip():
        raise RuleViolation("give the risk a title", field="title")
    if "impact" in data and data["impact"] not in Risk.Impact.values:
        raise RuleViolation("impact is low, medium, high or critical", field="impact")
    if "roam" in data and data["roam"] not in Risk.Roam.values:
        raise RuleViolation(
            "ROAM state is open, resolved, owned, accepted or mitigated", field="roam"
        )
    owner = data.get("owner")
    if (
        owner is not None
        and not Membership.objects.filter(flow_team_id=actor.flow_team_id, user=owner).exists()
    ):
        raise RuleViolation("the owner is not a member of the Flow Team", field="owner")
    for field in ("dependency", "scrum_team"):
        obj = data.get(field)
        if obj is not None and obj.flow_team_id != actor.flow_team_id:
            raise RuleViolation(
                f"the {field.replace('_', ' ')} is not in this Flow Team", field=field
            )
    if data.get("roam") == Risk.Roam.MITIGATED and not (data.get("mitigation") or "").strip():
        raise RuleViolation("a mitigated risk has a mitigation plan", field="mitigation")


@transaction.atomic
def risk_create(*, actor: Actor, title: str, **data) -> Risk:
    unknown = set(data) - RISK_FIELDS
    if unknown:
        raise RuleViolation("unknown or read-only field", field=sorted(unknown)[0])
    team = data.get("scrum_team")
    if not can_write_register(actor, team.pk if team else None):
        raise PermissionRefused("only the CPO, CSM, Architect, or a team's PO and SM record risks")
    _check_risk(actor, {"title": title, **data})
    risk = Risk.objects.create(
        flow_team_id=actor.flow_team_id, title=title.strip(), updated_by=actor.user, **data
    )
    live_bump(risk_live_key(actor.flow_team_id))
    return risk


@transaction.atomic
def risk_update(
    *, actor: Actor, risk: Risk, data: dict, expected_version: int | None = None
) -> Risk:
    if risk.flow_team_id != actor.flow_team_id:
        # The CPO, CSM and Architect keep every register of their own Flow Team only.
        raise NotFound("no such risk in your Flow Team")
    risk = Risk.objects.select_for_update().get(pk=risk.pk)
    if expected_version is not None and risk.version != expected_version:
        raise VersionConflict(risk.version)
    if not can_write_register(actor, risk.scrum_team_id):
        raise PermissionRefused("only the CPO, CSM, Architect, or the team's PO and SM edit it")
    refused = sorted(set(data) - RISK_FIELDS)
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    if "scrum_team" in data:
        # Moving a risk is writing it into the other register: a PO or SM keeps only their own.
        team = data["scrum_team"]
        if not can_write_register(actor, team.pk if team else None):
            raise RuleViolation(
                "you may only move a risk into a register you keep (your own team's)",
                field="scrum_team",
            )
    merged = {"mitigation": risk.mitigation, **data}
    _check_risk(actor, merged)
    for field, value in data.items():
        setattr(risk, field, value)
    risk.updated_at, risk.updated_by = timezone.now(), actor.user
    Risk.objects.filter(pk=risk.pk).update(
        version=F("version") + 1, updated_at=risk.updated_at, updated_by=actor.user, **data
    )
    risk.version += 1
    live_bump(risk_live_key(risk.flow_team_id))
    return risk


# --- The Flow Sprint Goal: the CPO drafts, the CSM confirms (at Planning 2) ---------

GOAL_MAX_CHARS = 2000


def goal_text(text: str, *, name: str, limit: int = GOAL_MAX_CHARS) -> str:
    """A goal as written (the Flow Sprint Goal, a team sprint goal): trimmed, not empty,
    at most ``limit`` characters."""
    text = (text or "").strip()
    if not text:
        raise RuleViolation(f"write {name}", field="goal")
    if len(text) > limit:
        raise RuleViolation(f"at most {limit} characters (this has {len(text)})", field="goal")
    return text


def _goal_sprint(actor: Actor, flow_sprint: FlowSprint) -> FlowSprint:
    sprint = FlowSprint.objects.select_for_update().get(pk=flow_sprint.pk)
    if sprint.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the Flow Sprint is not in this Flow Team", field="flow_sprint")
    if sprint.state == FlowSprint.State.CLOSED:
        raise RuleViolation("this Flow Sprint is closed", field="goal")
    return sprint


@transaction.atomic
def flow_sprint_goal_draft(
    *, actor: Actor, flow_sprint: FlowSprint, text: str, expected_version: int
) -> FlowSprint:
    """The CPO's draft of the Flow Sprint Goal. ``expected_version`` is the draft the CPO
    read: a draft saved meanwhile (another tab) is a VersionConflict and nothing is written.
    A confirmed goal is not drafted again."""
    if not can_draft_flow_sprint_goal(actor):
        raise PermissionRefused("the CPO drafts the Flow Sprint Goal")
    sprint = _goal_sprint(actor, flow_sprint)
    if sprint.goal_confirmed_at is not None:
        raise RuleViolation("the CSM has confirmed this Flow Sprint Goal", field="goal")
    text = goal_text(text, name="the Flow Sprint Goal")
    if sprint.goal_version != expected_version:
        raise VersionConflict(sprint.goal_version)
    sprint.goal_draft, sprint.goal_drafted_by = text, actor.user
    sprint.goal_drafted_at = timezone.now()
    sprint.goal_version += 1
    sprint.save(
        update_fields=[
            "goal_draft",
            "goal_drafted_by",
            "goal_drafted_at",
            "goal_version",
            "updated_at",
        ]
    )
    live_bump(flow_sprint_goal_live_key(sprint.pk))
    return sprint


@transaction.atomic
def flow_sprint_goal_confirm(
    *, actor: Actor, flow_sprint: FlowSprint, expected_version: int, acknowledged: set[str]
) -> FlowSprint:
    """The CSM confirms the CPO's draft as the Flow Sprint Goal.

    What still stands (red dependencies, unmitigated high risks: ``goal_warnings``) is
    recorded in ``confirmed_despite``. The CSM confirms knowing it: each warning's key must
    be in ``acknowledged`` (what their screen showed), else nothing is written and the
    refusal names what appeared meanwhile. A draft changed since they read it is a
    VersionConflict."""
    if not can_confirm_flow_sprint_goal(actor):
        raise PermissionRefused("the CSM confirms the Flow Sprint Goal")
    sprint = _goal_sprint(actor, flow_sprint)
    if sprint.goal_confirmed_at is not None:
        raise RuleViolation("this Flow Sprint Goal is already confirmed", field="goal")
    if not sprint.goal_draft.strip():
        raise RuleViolation("the CPO has not drafted the Flow Sprint Goal yet", field="goal")
    if sprint.goal_version != expected_version:
        raise VersionConflict(sprint.goal_version)
    warnings = selectors.goal_warnings(flow_team=actor.flow_team)
    unseen = [w for w in warnings if w["key"] not in acknowledged]
    if unseen:
        raise RuleViolation(
            "new since your screen showed them: "
            + "; ".join(f"{w['title']} ({w['reason']})" for w in unseen)
            + ". Look again, then confirm.",
            field="confirm",
        )
    sprint.goal = sprint.goal_draft
    sprint.goal_confirmed_by, sprint.goal_confirmed_at = actor.user, timezone.now()
    sprint.confirmed_despite = [
        {k: w[k] for k in ("kind", "id", "title", "reason")} for w in warnings
    ]
    sprint.save(
        update_fields=[
            "goal",
            "goal_confirmed_by",
            "goal_confirmed_at",
            "confirmed_despite",
            "updated_at",
        ]
    )
    live_bump(flow_sprint_goal_live_key(sprint.pk))
    return sprint


# --- Cadence -------------------------------------------------------------------

DEFAULT_HORIZON = 6


@transaction.atomic
def flow_sprints_ensure(*, flow_team, today=None, horizon: int = DEFAULT_HORIZON) -> dict:
    """Keep the Flow Team's sprints scheduled ``horizon`` sprints ahead, with a Team Sprint
    for every Scrum Team. Idempotent: a second run writes nothing. Past and started
    sprints are never rewritten; planned ones follow a changed sprint length."""
    from flow.cadence import SprintDates, schedule
    from teams.models import FlowTeam, ScrumTeam

    FlowTeam.objects.select_for_update().get(pk=flow_team.pk)
    today = today or flow_team.today()
    sprints = list(FlowSprint.objects.filter(flow_team=flow_team).order_by("number"))
    kept = [
        SprintDates(s.number, s.start, s.end)
        for s in sprints
        if s.state != FlowSprint.State.PLANNED or s.start <= today
    ]
    plan = schedule(
        kept,
        anchor=flow_team.cadence_anchor,
        length_weeks=flow_team.sprint_length_weeks,
        today=today,
        horizon=horizon,
    )
    by_number = {s.number: s for s in sprints}
    created, moved = [], []
    for dates in plan[len(kept) :]:
        sprint = by_number.get(dates.number)
        if sprint is None:
            created.append(
                FlowSprint(
                    flow_team=flow_team, number=dates.number, start=dates.start, end=dates.end
                )
            )
        elif (sprint.start, sprint.end) != (dates.start, dates.end):
            sprint.start, sprint.end = dates.start, dates.end
            moved.append(sprint)
    if moved:
        # Start dates are unique per Flow Team: park moved rows first, then set them.
        FlowSprint.objects.filter(pk__in=[s.pk for s in moved]).update(
            start=F("start") + timedelta(days=36500), end=F("end") + timedelta(days=36500)
        )
        FlowSprint.objects.bulk_update(moved, ["start", "end"])
    if created:
        FlowSprint.objects.bulk_create(created)
    team_ids = list(ScrumTeam.objects.filter(flow_team=flow_team).values_list("pk", flat=True))
    have = set(
        TeamSprint.objects.filter(flow_sprint__flow_team=flow_team).values_list(
            "flow_sprint_id", "scrum_team_id"
        )
    )
    sprint_ids = (
        FlowSprint.objects.filter(flow_team=flow_team)
        .exclude(state=FlowSprint.State.CLOSED)
        .values_list("pk", flat=True)
    )
    missing = [
        TeamSprint(flow_sprint_id=sid, scrum_team_id=tid)
        for sid in sprint_ids
        for tid in team_ids
        if (sid, tid) not in have
    ]
    if missing:
        TeamSprint.objects.bulk_create(missing)
    return {"created": len(created), "moved": len(moved), "team_sprints": len(missing)}


@transaction.atomic
def flow_sprint_close(*, flow_sprint: FlowSprint) -> FlowSprint:
    """Close a finished sprint: committed stories not done are carried over (their history
    stays), done ones are marked done, and the sprint's figures are frozen."""
    sprint = FlowSprint.objects.select_for_update().get(pk=flow_sprint.pk)
    if sprint.state == FlowSprint.State.CLOSED:
        return sprint
    commitments = SprintCommitment.objects.filter(
        team_sprint__flow_sprint=sprint, outcome=SprintCommitment.Outcome.OPEN
    )
    commitments.filter(story__state=Story.State.DONE).update(outcome=SprintCommitment.Outcome.DONE)
    # The query runs again: what is still open now is not done.
    commitments.update(outcome=SprintCommitment.Outcome.CARRIED_OVER)
    figures = {}
    rows = SprintCommitment.objects.filter(team_sprint__flow_sprint=sprint).values_list(
        "team_sprint__scrum_team_id", "planned", "outcome", "points_at_planning"
    )
    for team_id, planned, outcome, points in rows:
        team = figures.setdefault(str(team_id), {"committed_points": 0, "done_points": 0})
        if planned:
            team["committed_points"] += points or 0
            if outcome == SprintCommitment.Outcome.DONE:
                team["done_points"] += points or 0
    sprint.state, sprint.closed_at, sprint.figures = (
        FlowSprint.State.CLOSED,
        timezone.now(),
        figures,
    )
    sprint.save(update_fields=["state", "closed_at", "figures", "updated_at"])
    return sprint


@transaction.atomic
def flow_sprints_roll(*, flow_team, today=None, horizon: int = DEFAULT_HORIZON) -> dict:
    """The cadence job's work for one Flow Team: schedule ahead, close the finished
    sprints, activate the current one. Running it again changes nothing."""
    today = today or flow_team.today()
    result = flow_sprints_ensure(flow_team=flow_team, today=today, horizon=horizon)
    finished = FlowSprint.objects.filter(flow_team=flow_team, end__lt=today).exclude(
        state=FlowSprint.State.CLOSED
    )
    for sprint in finished:
        flow_sprint_close(flow_sprint=sprint)
    current = FlowSprint.objects.filter(
        flow_team=flow_team, start__lte=today, end__gte=today, state=FlowSprint.State.PLANNED
    ).first()
    if current is not None:
        FlowSprint.objects.filter(pk=current.pk).update(
            state=FlowSprint.State.ACTIVE, updated_at=timezone.now()
        )
    result.update(closed=len(finished), activated=int(current is not None))
    return result


def metric_snapshots_compute(*, flow_team, as_of=None) -> dict:
    """Compute and store the flow metrics of a Flow Team and each of its Scrum Teams as of
    the end of a day (default: today so far). A snapshot whose figures did not change is
    left alone, so running the job twice writes nothing the second time."""
    as_of = as_of or flow_team.today()
    inputs = selectors.metrics_inputs(flow_team=flow_team, as_of=as_of)
    teams = dict(flow_team.scrum_teams.values_list("number", "pk"))
    now = timezone.now()
    with transaction.atomic():
        existing = {
            row.scrum_team_id: row
            for row in MetricSnapshot.objects.select_for_update().filter(
                flow_team=flow_team, as_of=as_of
            )
        }
        created, changed = [], []
        for number in [None, *inputs.teams]:
            team_id = teams.get(number)
            # Through JSON once, so the comparison sees what the database gives back (lists
            # for tuples). build() gives JSON's own types only: anything else fails here.
            data = json.loads(json.dumps(snapshot.build(inputs, number)))
            row = existing.get(team_id)
            if row is None:
                created.append(
                    MetricSnapshot(
                        flow_team=flow_team,
                        scrum_team_id=team_id,
                        as_of=as_of,
                        computed_at=now,
                        data=data,
                    )  # fmt: skip
                )
            elif row.data != data:
                row.data, row.computed_at = data, now
                changed.append(row)
        MetricSnapshot.objects.bulk_create(created)
        MetricSnapshot.objects.bulk_update(changed, ["data", "computed_at"])
    return {"as_of": as_of.isoformat(), "created": len(created), "updated": len(changed)}


def metrics_refresh_request(*, actor: Actor) -> None:
    """Ask the metrics job to compute today's figures now (the page's button, the API's
    refresh). Enqueued after commit, so nothing is asked if the request fails."""
    if not can_refresh_metrics(actor):
        raise PermissionRefused("stakeholders read the metrics; the hourly job refreshes them")
    from flow.tasks import metrics_compute  # the tasks module imports this one

    pk = actor.flow_team.pk
    transaction.on_commit(lambda: metrics_compute.delay(pk))
