"""Every write to the Flow Backlog.

Each service runs in one transaction (or, for a story change that is one
statement, in that statement), checks the actor's rights with
``teams.permissions``, checks the rule it owns and raises ``RuleViolation``
naming the field, so nothing is written on a refusal. Every state change writes
exactly one ``StateChange`` in the same transaction or statement. Writes to a story or epic
bump its ``version``; passing ``expected_version`` makes the write conditional
(the API's If-Match).
"""

import copy
import datetime as dt
import functools
from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, Count, F, Max, Q, Value, When
from django.db.models.sql import UpdateQuery
from django.utils import timezone

from backlog import webhooks
from backlog.models import (
    STORY_POINTS,
    WSJF_SCALE,
    AcceptanceCriterion,
    Blocker,
    Dependency,
    DependencyStep,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    StateChange,
    Story,
    Task,
)
from backlog.ranking import GAP, rank_at_end, rank_for_move, rebalance
from backlog.selectors import story_from_rows, story_with_criteria_sql
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_bump, live_bump_sql
from sem.raw_rows import fetch_rows_prepared
from teams.models import FlowTeam, Membership, ScrumTeam, WebhookEndpoint
from teams.permissions import (
    Actor,
    can_assess_feasibility,
    can_edit_story,
    can_manage_roadmap,
    can_work_story,
    can_write_register,
)
from teams.services import api_token_statement_ctes, api_token_statement_params

S = Story.State
STORY_ORDER = [S.BACKLOG, S.READY, S.IN_PROGRESS, S.IN_REVIEW, S.DONE]
EPIC_TRANSITIONS = {
    Epic.State.FUNNEL: {Epic.State.READY, Epic.State.CANCELLED},
    Epic.State.READY: {Epic.State.FUNNEL, Epic.State.IN_PROGRESS, Epic.State.CANCELLED},
    Epic.State.IN_PROGRESS: {Epic.State.READY, Epic.State.DONE, Epic.State.CANCELLED},
    Epic.State.DONE: {Epic.State.IN_PROGRESS},
    Epic.State.CANCELLED: {Epic.State.FUNNEL},
}

# Fields of a story, by who may write them (domain.md "Who may do what").
STORY_PLANNING_FIELDS = frozenset({"title", "as_a", "i_want", "so_that", "kind", "points", "epic"})
STORY_WORK_FIELDS = frozenset({"assignee"})
EPIC_ROADMAP_FIELDS = frozenset(
    {
        "title",
        "description",
        "acceptance_conditions",
        "milestone",
        "business_value",
        "time_criticality",
        "risk_reduction",
        "job_size",
    }
)
EPIC_ARCHITECT_FIELDS = frozenset({"feasibility", "feasibility_note"})
# Which kind of roadmap change an edited epic field is recorded as.
EPIC_FIELD_KIND = {
    "business_value": RoadmapChange.Kind.RESCORED,
    "time_criticality": RoadmapChange.Kind.RESCORED,
    "risk_reduction": RoadmapChange.Kind.RESCORED,
    "job_size": RoadmapChange.Kind.RESCORED,
    "feasibility": RoadmapChange.Kind.FEASIBILITY,
    "feasibility_note": RoadmapChange.Kind.FEASIBILITY,
    "milestone": RoadmapChange.Kind.MOVED,
    "state": RoadmapChange.Kind.STATE,
}
MILESTONE_FIELDS = {"name", "objective", "start", "end"}
PRODUCT_GOAL_FIELDS = {"statement", "target_date", "status"}
# Marks "milestone not given" apart from None (the unscheduled lane).
UNCHANGED = object()


def roadmap_live_key(flow_team_id: int) -> str:
    return f"roadmap:{flow_team_id}"


PLANNING_LIVE_PREFIX = "planning:"


def planning_live_key(flow_team_id: int) -> str:
    """The Flow Sprint Planning 1 board of a Flow Team (events/planning_views.py): every
    change to a story, its criteria, a dependency or a claim moves it."""
    return f"{PLANNING_LIVE_PREFIX}{flow_team_id}"


def _json(value):
    """A field value as the change log stores it: objects by id, dates as ISO text."""
    if hasattr(value, "pk"):
        return value.pk
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _log_changes(item, by, changes: dict[str, tuple[dict, dict]]) -> None:
    """One RoadmapChange per kind of change, written in one INSERT; ``changes`` maps a
    kind to its (before, after) field values."""
    at = timezone.now()
    RoadmapChange.objects.bulk_create(
        RoadmapChange(
            flow_team_id=item.flow_team_id,
            epic=item if isinstance(item, Epic) else None,
            milestone=item if isinstance(item, Milestone) else None,
            kind=kind,
            before={k: _json(v) for k, v in before.items()},
            after={k: _json(v) for k, v in after.items()},
            at=at,
            by=by,
        )
        for kind, (before, after) in changes.items()
    )


def _field_value(obj, field: str):
    # A foreign key by its id: reading the related object would cost a query.
    return getattr(obj, f"{field}_id") if field == "milestone" else getattr(obj, field)


def _diff(before: dict, after: dict, kind_of) -> dict[str, tuple[dict, dict]]:
    """Group the fields that really changed by kind of change."""
    changes: dict[str, tuple[dict, dict]] = {}
    for field, old in before.items():
        new = after[field]
        if _json(old) == _json(new):
            continue
        kind = kind_of(field)
        changes.setdefault(kind, ({}, {}))
        changes[kind][0][field] = old
        changes[kind][1][field] = new
    return changes


def _check_open_milestone(milestone) -> None:
    if milestone is not None and milestone.closed_at is not None:
        raise RuleViolation("the milestone is closed; choose an open one", field="milestone")


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionRefused(message)


def _own(actor: Actor, item) -> None:
    """Another Flow Team's item does not exist for this actor. Every interface looks items up
    within the actor's Flow Team; the services refuse on their own as well, because the
    CPO's rights (the roadmap, any team's stories) name no Flow Team of the item."""
    if item.flow_team_id != actor.flow_team_id:
        raise NotFound(f"no such {item._meta.verbose_name} in your Flow Team")


def _check_version(obj, expected_version: int | None) -> None:
    if expected_version is not None and obj.version != expected_version:
        raise VersionConflict(obj.version)


def _locked_story(story: Story, actor: Actor) -> Story:
    _own(actor, story)
    return Story.objects.select_for_update().get(pk=story.pk)


def _save_bumped(obj, fields: Iterable[str]) -> None:
    """Write the given fields plus a version bump, in one UPDATE."""
    fields = set(fields)
    values = {f: getattr(obj, f) for f in fields}
    if hasattr(obj, "updated_at"):
        obj.updated_at = values["updated_at"] = timezone.now()
    type(obj).objects.filter(pk=obj.pk).update(version=F("version") + 1, **values)
    obj.version += 1


def _check_member(flow_team_id: int, user, field: str) -> None:
    if (
        user is not None
        and not Membership.objects.filter(flow_team_id=flow_team_id, user=user).exists()
    ):
        raise RuleViolation("this person is not a member of the Flow Team", field=field)


def _check_points(points) -> None:
    if points is not None and points not in STORY_POINTS:
        raise RuleViolation(
            f"story points are one of {', '.join(map(str, STORY_POINTS))} or empty", field="points"
        )


def _record(*, item, from_state: str, to_state: str, by, at: datetime | None = None) -> None:
    StateChange.objects.create(
        flow_team_id=item.flow_team_id,
        story=item if isinstance(item, Story) else None,
        epic=item if isinstance(item, Epic) else None,
        from_state=from_state,
        to_state=to_state,
        at=at or timezone.now(),
        by=by,
    )


# --- Product Goal and milestones -------------------------------------------------


@transaction.atomic
def product_goal_create(*, actor: Actor, statement: str, target_date=None) -> ProductGoal:
    _require(can_manage_roadmap(actor), "only the CPO sets the Product Goal")
    if not statement.strip():
        raise RuleViolation("state the Product Goal", field="statement")
    FlowTeam.objects.select_for_update().get(pk=actor.flow_team_id)
    if ProductGoal.objects.filter(flow_team=actor.flow_team, status="active").exists():
        raise RuleViolation(
            "the Flow Team already has an active Product Goal; mark it achieved or abandoned first",
            field="status",
        )
    goal = ProductGoal.objects.create(
        flow_team=actor.flow_team, statement=statement.strip(), target_date=target_date
    )
    live_bump(roadmap_live_key(actor.flow_team_id))
    return goal


@transaction.atomic
def product_goal_close(*, actor: Actor, goal: ProductGoal, status: str) -> ProductGoal:
    _require(can_manage_roadmap(actor), "only the CPO closes the Product Goal")
    _own(actor, goal)
    if status not in (ProductGoal.Status.ACHIEVED, ProductGoal.Status.ABANDONED):
        raise RuleViolation("a Product Goal closes as achieved or abandoned", field="status")
    # Under the Flow Team's lock, as product_goal_update: neither writes over the other.
    FlowTeam.objects.select_for_update().get(pk=goal.flow_team_id)
    goal = ProductGoal.objects.get(pk=goal.pk)
    goal.status = status
    goal.save(update_fields=["status", "updated_at"])
    live_bump(roadmap_live_key(goal.flow_team_id))
    return goal


@transaction.atomic
def product_goal_update(*, actor: Actor, goal: ProductGoal, data: dict) -> ProductGoal:
    """The CPO edits statement, target date and status; one active goal per Flow Team
    still holds (checked under the Flow Team lock, and by the database)."""
    _require(can_manage_roadmap(actor), "only the CPO edits the Product Goal")
    _own(actor, goal)
    unknown = sorted(set(data) - PRODUCT_GOAL_FIELDS)
    if unknown:
        raise RuleViolation("unknown or read-only field", field=unknown[0])
    if "statement" in data:
        if not str(data["statement"]).strip():
            raise RuleViolation("state the Product Goal", field="statement")
        data = {**data, "statement": data["statement"].strip()}
    if "status" in data and data["status"] not in ProductGoal.Status.values:
        raise RuleViolation(
            f"status is one of {', '.join(ProductGoal.Status.values)}", field="status"
        )
    FlowTeam.objects.select_for_update().get(pk=goal.flow_team_id)
    goal = ProductGoal.objects.get(pk=goal.pk)
    if (
        data.get("status") == ProductGoal.Status.ACTIVE
        and ProductGoal.objects.filter(flow_team_id=goal.flow_team_id, status="active")
        .exclude(pk=goal.pk)
        .exists()
    ):
        raise RuleViolation(
            "the Flow Team already has an active Product Goal; mark it achieved or abandoned first",
            field="status",
        )
    for field, value in data.items():
        setattr(goal, field, value)
    goal.save(update_fields=[*data, "updated_at"])
    live_bump(roadmap_live_key(goal.flow_team_id))
    return goal


def _check_milestone_text(data: dict) -> None:
    for field in ("name", "objective"):
        if field in data and not str(data[field]).strip():
            raise RuleViolation(
                "give the milestone a name" if field == "name" else "state a measurable objective",
                field=field,
            )


@transaction.atomic
def milestone_create(*, actor: Actor, name: str, objective: str, start, end) -> Milestone:
    _require(can_manage_roadmap(actor), "only the CPO plans milestones")
    _check_milestone_text({"name": name, "objective": objective})
    if end <= start:
        raise RuleViolation("a milestone ends after it starts", field="end")
    FlowTeam.objects.select_for_update().get(pk=actor.flow_team_id)
    # Spaced like epic ranks, so a reorder writes one row.
    order = (
        Milestone.objects.filter(flow_team=actor.flow_team).aggregate(m=Max("order"))["m"] or 0
    ) + GAP
    milestone = Milestone.objects.create(
        flow_team=actor.flow_team,
        name=name.strip(),
        objective=objective.strip(),
        start=start,
        end=end,
        order=order,
    )
    _log_changes(
        milestone,
        actor.user,
        {
            RoadmapChange.Kind.CREATED: (
                {},
                {"name": milestone.name, "start": start, "end": end, "order": order},
            )
        },
    )
    live_bump(roadmap_live_key(actor.flow_team_id))
    return milestone


def _locked_milestone(
    actor: Actor, milestone: Milestone, expected_version: int | None
) -> Milestone:
    _own(actor, milestone)
    FlowTeam.objects.select_for_update().get(pk=milestone.flow_team_id)
    milestone = Milestone.objects.select_for_update().get(pk=milestone.pk)
    _check_version(milestone, expected_version)
    return milestone


@transaction.atomic
def milestone_update(
    *, actor: Actor, milestone: Milestone, data: dict, expected_version: int | None = None
) -> Milestone:
    """The CPO edits name, objective, start and end; the end stays after the start."""
    _require(can_manage_roadmap(actor), "only the CPO plans milestones")
    unknown = sorted(set(data) - MILESTONE_FIELDS)
    if unknown:
        raise RuleViolation("unknown or read-only field", field=unknown[0])
    _check_milestone_text(data)
    milestone = _locked_milestone(actor, milestone, expected_version)
    if not data:
        return milestone
    before = {f: getattr(milestone, f) for f in data}
    for field, value in data.items():
        setattr(milestone, field, value.strip() if field in ("name", "objective") else value)
    if milestone.end <= milestone.start:
        raise RuleViolation(
            "a milestone ends after it starts", field="start" if "end" not in data else "end"
        )
    after = {f: getattr(milestone, f) for f in data}
    _save_bumped(milestone, data)
    _log_changes(milestone, actor.user, _diff(before, after, lambda f: RoadmapChange.Kind.EDITED))
    live_bump(roadmap_live_key(milestone.flow_team_id))
    return milestone


@transaction.atomic
def milestone_move(
    *,
    actor: Actor,
    milestone: Milestone,
    after: Milestone | None = None,
    before: Milestone | None = None,
    expected_version: int | None = None,
) -> Milestone:
    """Reorder a milestone on the timeline: one row written (two statements only when the
    gaps ran out), one version bump."""
    _require(can_manage_roadmap(actor), "only the CPO plans milestones")
    milestone = _locked_milestone(actor, milestone, expected_version)
    _check_neighbours(
        milestone,
        after,
        before,
        scope="flow_team_id",
        message="that milestone is not in this Flow Team",
    )
    old = milestone.order

    def place():
        return rank_for_move(
            Milestone,
            item=milestone,
            scope_column="flow_team_id",
            after=after,
            before=before,
            field="order",
        )

    new = place()
    if new < 1:
        # Orders are positive: make room above the current ones first.
        rebalance(
            Milestone, scope_column="flow_team_id", scope_id=milestone.flow_team_id, field="order"
        )
        new = place()
    milestone.order = new
    _save_bumped(milestone, ["order"])
    _log_changes(
        milestone, actor.user, {RoadmapChange.Kind.RANKED: ({"order": old}, {"order": new})}
    )
    live_bump(roadmap_live_key(milestone.flow_team_id))
    return milestone


@transaction.atomic
def milestone_close(
    *, actor: Actor, milestone: Milestone, expected_version: int | None = None
) -> Milestone:
    """Close a milestone. Its open epics stay in it: the roadmap keeps showing what was
    planned and what was missed (as Jira Align keeps unfinished features on a past
    Program Increment until someone moves them); no epic moves into it any more."""
    _require(can_manage_roadmap(actor), "only the CPO closes milestones")
    milestone = _locked_milestone(actor, milestone, expected_version)
    if milestone.closed_at is not None:
        raise RuleViolation("the milestone is already closed", field="closed_at")
    milestone.closed_at = timezone.now()
    _save_bumped(milestone, ["closed_at"])
    _log_changes(
        milestone,
        actor.user,
        {
            RoadmapChange.Kind.CLOSED: (
                {"closed_at": None},
                {"closed_at": milestone.closed_at.isoformat()},
            )
        },
    )
    live_bump(roadmap_live_key(milestone.flow_team_id))
    return milestone


# --- Epics ----------------------------------------------------------------------


def _check_wsjf(values: dict) -> None:
    for field in ("business_value", "time_criticality", "risk_reduction", "job_size"):
        if field in values and values[field] not in WSJF_SCALE:
            raise RuleViolation(
                f"{field.replace('_', ' ')} is one of {', '.join(map(str, WSJF_SCALE))}",
                field=field,
            )


@transaction.atomic
def epic_create(*, actor: Actor, title: str, **fields) -> Epic:
    _require(can_manage_roadmap(actor), "only the CPO creates epics")
    unknown = set(fields) - EPIC_ROADMAP_FIELDS
    if unknown:
        raise RuleViolation("unknown or read-only field", field=sorted(unknown)[0])
    if not title.strip():
        raise RuleViolation("give the epic a title", field="title")
    _check_wsjf(fields)
    milestone = fields.get("milestone")
    if milestone is not None and milestone.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the milestone is not in this Flow Team", field="milestone")
    _check_open_milestone(milestone)
    FlowTeam.objects.select_for_update().get(pk=actor.flow_team_id)
    epic = Epic.objects.create(
        flow_team=actor.flow_team,
        title=title.strip(),
        rank=rank_at_end(Epic.objects.filter(flow_team=actor.flow_team)),
        **fields,
    )
    _record(item=epic, from_state="", to_state=epic.state, by=actor.user)
    _log_changes(
        epic,
        actor.user,
        {
            RoadmapChange.Kind.CREATED: (
                {},
                {
                    "title": epic.title,
                    "milestone": epic.milestone_id,
                    "rank": epic.rank,
                    "wsjf": epic.wsjf,
                },
            )
        },
    )
    live_bump(roadmap_live_key(actor.flow_team_id))
    webhooks.changed(epic, "created")
    return epic


def _epic_edit(actor: Actor, epic: Epic, data: dict) -> None:
    """Check and apply field edits to a locked epic (nothing is saved here)."""
    allowed = set()
    if can_manage_roadmap(actor):
        allowed |= EPIC_ROADMAP_FIELDS
    if can_assess_feasibility(actor):
        allowed |= EPIC_ARCHITECT_FIELDS
    _require(bool(allowed), "you may not edit epics")
    refused = sorted(set(data) - allowed)
    if refused:
        raise RuleViolation("your role may not change this field", field=refused[0])
    if "title" in data and not str(data["title"]).strip():
        raise RuleViolation("give the epic a title", field="title")
    _check_wsjf(data)
    if "feasibility" in data and data["feasibility"] not in Epic.Feasibility.values:
        raise RuleViolation("unknown feasibility", field="feasibility")
    if data.get("milestone") is not None and data["milestone"].flow_team_id != epic.flow_team_id:
        raise RuleViolation("the milestone is not in this Flow Team", field="milestone")
    if "milestone" in data and _json(data["milestone"]) != epic.milestone_id:
        _check_open_milestone(data["milestone"])
    for field, value in data.items():
        setattr(epic, field, value)


def _epic_move(actor: Actor, epic: Epic, to_state: str) -> str:
    """Check and apply a state move to a locked, already edited epic; returns the old state."""
    _require(can_manage_roadmap(actor), "only the CPO moves epics")
    if to_state not in Epic.State.values:
        raise RuleViolation(f"unknown state {to_state!r}", field="state")
    if to_state not in EPIC_TRANSITIONS[epic.state]:
        raise RuleViolation(
            f"an epic cannot move from {epic.get_state_display()} to {Epic.State(to_state).label}",
            field="state",
        )
    if to_state == Epic.State.READY and not epic.acceptance_conditions.strip():
        raise RuleViolation("a ready epic has acceptance conditions", field="acceptance_conditions")
    from_state, epic.state = epic.state, to_state
    return from_state


@transaction.atomic
def epic_change(
    *,
    actor: Actor,
    epic: Epic,
    data: dict | None = None,
    to_state: str | None = None,
    expected_version: int | None = None,
) -> Epic:
    """Edit an epic's fields and/or move it, as one change: one lock, one version check,
    one version bump. The CPO writes roadmap fields and moves epics, the Architect writes
    feasibility; the move is checked against the edited epic (conditions and ready in one
    request). With nothing to change it only checks the version."""
    data = dict(data or {})
    _own(actor, epic)
    epic = Epic.objects.select_for_update().get(pk=epic.pk)
    _check_version(epic, expected_version)
    if not data and to_state is None:
        return epic
    fields = [*data, "state"] if to_state is not None else list(data)
    before = {f: _field_value(epic, f) for f in fields}
    if data:
        _epic_edit(actor, epic, data)
    from_state = _epic_move(actor, epic, to_state) if to_state is not None else None
    _save_bumped(epic, [*data, "state"] if from_state is not None else data)
    after = {f: _field_value(epic, f) for f in fields}
    _log_changes(
        epic,
        actor.user,
        _diff(before, after, lambda f: EPIC_FIELD_KIND.get(f, RoadmapChange.Kind.EDITED)),
    )
    live_bump(roadmap_live_key(epic.flow_team_id), planning_live_key(epic.flow_team_id))
    if data:
        webhooks.changed(epic, "updated")
    if from_state is not None:
        _record(item=epic, from_state=from_state, to_state=to_state, by=actor.user)
        webhooks.changed(epic, "state_changed")
    return epic


def epic_update(
    *, actor: Actor, epic: Epic, data: dict, expected_version: int | None = None
) -> Epic:
    """CPO writes roadmap fields, the Architect writes feasibility; anything else is refused."""
    return epic_change(actor=actor, epic=epic, data=data, expected_version=expected_version)


def _check_neighbours(item, after, before, *, scope: str, message: str) -> None:
    """A rank move names neighbours in the same list, and never the item itself."""
    for neighbour, field in ((after, "after"), (before, "before")):
        if neighbour is None:
            continue
        if neighbour.pk == item.pk:
            raise RuleViolation("an item cannot move next to itself", field=field)
        if getattr(neighbour, scope) != getattr(item, scope):
            raise RuleViolation(message, field=field)
    if after is not None and before is not None:
        raise RuleViolation("name one neighbour: after or before", field="before")


@transaction.atomic
def epic_rank_move(
    *,
    actor: Actor,
    epic: Epic,
    after: Epic | None = None,
    before: Epic | None = None,
    milestone=UNCHANGED,
    expected_version: int | None = None,
) -> Epic:
    """Move an epic in the roadmap, and into another milestone's lane (``milestone``; None
    is the unscheduled lane) in the same call: one row, one version bump. The roadmap
    (Flow Team row) is locked first, then the epic: its version is checked under the lock,
    so of concurrent moves that read the same version exactly one lands."""
    _require(can_manage_roadmap(actor), "only the CPO ranks epics")
    _own(actor, epic)
    FlowTeam.objects.select_for_update().get(pk=epic.flow_team_id)
    epic = Epic.objects.select_for_update().get(pk=epic.pk)
    _check_version(epic, expected_version)
    _check_neighbours(
        epic, after, before, scope="flow_team_id", message="that epic is not in this Flow Team"
    )
    changes = {}
    fields = ["rank"]
    if milestone is not UNCHANGED and _json(milestone) != epic.milestone_id:
        if milestone is not None and milestone.flow_team_id != epic.flow_team_id:
            raise RuleViolation("the milestone is not in this Flow Team", field="milestone")
        _check_open_milestone(milestone)
        changes[RoadmapChange.Kind.MOVED] = (
            {"milestone": epic.milestone_id},
            {"milestone": _json(milestone)},
        )
        epic.milestone = milestone
        fields.append("milestone")
    old_rank = epic.rank
    epic.rank = rank_for_move(
        Epic, item=epic, scope_column="flow_team_id", after=after, before=before
    )
    changes[RoadmapChange.Kind.RANKED] = ({"rank": old_rank}, {"rank": epic.rank})
    _save_bumped(epic, fields)
    _log_changes(epic, actor.user, changes)
    live_bump(roadmap_live_key(epic.flow_team_id), planning_live_key(epic.flow_team_id))
    webhooks.changed(epic, "ranked")
    return epic


@transaction.atomic
def epic_wsjf_rank_apply(*, actor: Actor, proposal: Sequence[tuple[int, int]]) -> list[Epic]:
    """Apply the WSJF order the CPO saw (``backlog.selectors.wsjf_proposal``): the ordered
    (epic id, version) pairs. Refused when any epic changed or the set of epics differs
    since the proposal; else every rank is written in ONE statement, above the current
    ranks so the unique (Flow Team, rank) constraint never sees a transient duplicate."""
    _require(can_manage_roadmap(actor), "only the CPO ranks epics")
    try:
        proposal = [(int(epic_id), int(version)) for epic_id, version in proposal]
    except (TypeError, ValueError):
        raise RuleViolation(
            "the proposal lists (epic id, version) pairs", field="proposal"
        ) from None
    ids = [epic_id for epic_id, _ in proposal]
    if len(set(ids)) != len(ids):
        raise RuleViolation("an epic appears twice in the proposal", field="proposal")
    FlowTeam.objects.select_for_update().get(pk=actor.flow_team_id)
    current = {
        e.pk: e
        for e in Epic.objects.select_for_update()
        .filter(flow_team_id=actor.flow_team_id)
        .order_by("rank")
    }
    if set(current) != set(ids):
        raise RuleViolation(
            "epics were added or removed since the proposal; ask for a new one", field="proposal"
        )
    for epic_id, version in proposal:
        if current[epic_id].version != version:
            raise VersionConflict(
                current[epic_id].version,
                f"epic {epic_id} ({current[epic_id].title}) changed since the proposal; "
                "ask for a new one",
            )
    old_position = {pk: n for n, pk in enumerate(sorted(current, key=lambda pk: current[pk].rank))}
    base = max((e.rank for e in current.values()), default=0)
    new_rank = {epic_id: base + (n + 1) * GAP for n, epic_id in enumerate(ids)}
    now = timezone.now()
    if ids:
        Epic.objects.filter(flow_team_id=actor.flow_team_id, pk__in=ids).update(
            rank=Case(*(When(pk=pk, then=Value(r)) for pk, r in new_rank.items())),
            version=F("version") + 1,
            updated_at=now,
        )
    RoadmapChange.objects.bulk_create(
        RoadmapChange(
            flow_team_id=actor.flow_team_id,
            epic_id=epic_id,
            kind=RoadmapChange.Kind.RANKED,
            before={"position": old_position[epic_id] + 1, "rank": current[epic_id].rank},
            after={"position": n + 1, "rank": new_rank[epic_id], "by": "wsjf"},
            at=now,
            by=actor.user,
        )
        for n, epic_id in enumerate(ids)
        if old_position[epic_id] != n
    )
    live_bump(roadmap_live_key(actor.flow_team_id))
    epics = []
    for epic_id in ids:
        epic = current[epic_id]
        epic.rank, epic.version, epic.updated_at = new_rank[epic_id], epic.version + 1, now
        epics.append(epic)
    # As a drag and drop does: each epic that changed place is "ranked".
    webhooks.changed_many([e for n, e in enumerate(epics) if old_position[e.pk] != n], "ranked")
    return epics


# --- Stories --------------------------------------------------------------------


@transaction.atomic
def story_create(
    *,
    actor: Actor,
    scrum_team: ScrumTeam,
    title: str,
    criteria: Iterable[str] = (),
    **fields,
) -> Story:
    if scrum_team.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the Scrum Team is not in this Flow Team", field="scrum_team")
    _require(can_edit_story(actor, scrum_team.pk), "only the CPO and the team create its stories")
    unknown = set(fields) - STORY_PLANNING_FIELDS - STORY_WORK_FIELDS
    if unknown:
        raise RuleViolation("unknown or read-only field", field=sorted(unknown)[0])
    if not title.strip():
        raise RuleViolation("give the story a title", field="title")
    _check_points(fields.get("points"))
    _check_story_links(actor, fields)
    ScrumTeam.objects.select_for_update().get(pk=scrum_team.pk)
    story = Story.objects.create(
        flow_team_id=actor.flow_team_id,
        scrum_team=scrum_team,
        title=title.strip(),
        rank=rank_at_end(Story.objects.filter(scrum_team=scrum_team)),
        **fields,
    )
    AcceptanceCriterion.objects.bulk_create(
        AcceptanceCriterion(story=story, position=i, text=text.strip())
        for i, text in enumerate(criteria, start=1)
        if text.strip()
    )
    _record(item=story, from_state="", to_state=story.state, by=actor.user)
    live_bump(planning_live_key(story.flow_team_id))
    webhooks.changed(story, "created")
    return story


def _check_story_links(actor: Actor, fields: dict) -> None:
    epic = fields.get("epic")
    if epic is not None and epic.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the epic is not in this Flow Team", field="epic")
    if "assignee" in fields:
        _check_member(actor.flow_team_id, fields["assignee"], "assignee")


def _story_edit(actor: Actor, story: Story, data: dict) -> None:
    """Check and apply field edits to a locked story (nothing is saved here). Planning
    fields need story-edit rights, the assignee team work rights."""
    allowed = set()
    if can_edit_story(actor, story.scrum_team_id):
        allowed |= STORY_PLANNING_FIELDS
    if can_work_story(actor, story.scrum_team_id):
        allowed |= STORY_WORK_FIELDS
    _require(bool(allowed), "only the CPO and the owning team edit this story")
    refused = sorted(set(data) - allowed)
    if refused:
        raise RuleViolation("your role may not change this field", field=refused[0])
    if "title" in data and not str(data["title"]).strip():
        raise RuleViolation("give the story a title", field="title")
    _check_points(data.get("points"))
    _check_story_links(actor, data)
    for field, value in data.items():
        setattr(story, field, value)


def _criteria_counts(story: Story) -> tuple[int, int]:
    """(criteria, unchecked criteria) of a story: counted in the criteria the caller read
    with it (the API reads them for its answer anyway), else in one aggregate query."""
    read = getattr(story, "_prefetched_objects_cache", {}).get("criteria")
    if read is not None:
        return len(read), sum(not c.checked for c in read)
    counts = story.criteria.aggregate(
        total=Count("pk"), unchecked=Count("pk", filter=Q(checked=False))
    )
    return counts["total"], counts["unchecked"]


def _definition_of_ready(story: Story, criteria: int) -> None:
    if story.points is None:
        raise RuleViolation("ready needs an estimate (story points)", field="points")
    if not criteria:
        raise RuleViolation("ready needs at least one acceptance criterion", field="criteria")


def _definition_of_done(story: Story, unchecked: int) -> None:
    if unchecked:
        raise RuleViolation(
            f"done needs every acceptance criterion checked ({unchecked} unchecked)",
            field="criteria",
        )
    if story.blocked:
        raise RuleViolation(
            "a blocked story cannot be done; clear the blocker first", field="state"
        )


def _story_move(actor: Actor, story: Story, to_state: str) -> str:
    """Check and apply a move to a current, already edited story; returns the old state.

    Forward moves may skip states; every state past the backlog needs the Definition of
    Ready, done needs the Definition of Done. Any backward move (reopen) is allowed."""
    _require(can_work_story(actor, story.scrum_team_id), "only the owning team moves its stories")
    if to_state not in S.values:
        raise RuleViolation(
            f"unknown state {to_state!r}; one of {', '.join(S.values)}", field="state"
        )
    if to_state == story.state:
        raise RuleViolation(f"the story is already {S(to_state).label.lower()}", field="state")
    # The backlog is first and done last: a forward move never goes to the backlog, and a
    # move to done is always forward.
    if STORY_ORDER.index(to_state) > STORY_ORDER.index(story.state):
        criteria, unchecked = _criteria_counts(story)
        _definition_of_ready(story, criteria)
        if to_state == S.DONE:
            _definition_of_done(story, unchecked)
    from_state, story.state = story.state, to_state
    return from_state


def _read_at(story: Story, expected_version: int | None) -> bool:
    return expected_version is not None and story.version == expected_version


def _story_to_change(story: Story, actor: Actor, expected_version: int | None) -> Story:
    """The story a change is checked against. A story the caller read at the version it
    expects is taken as read (a copy): the write lands only on that version, so nothing
    can change under the checks unnoticed. Otherwise (no expected version, or an object
    read earlier) the current row, locked, with its version checked."""
    if _read_at(story, expected_version):
        _own(actor, story)
        return copy.copy(story)
    story = _locked_story(story, actor)
    _check_version(story, expected_version)
    return story


def _save_versioned(story: Story, fields: Iterable[str], move: tuple[str, Actor] | None) -> None:
    """Write the fields and bump the version in one UPDATE that lands only on the version
    the change was checked against (no lock, no second read); when another write came
    first it matches no row and the change is refused with the current version.

    ``move`` (the state moved from, by whom) adds the history row: on PostgreSQL in the
    same statement (the INSERT reads the UPDATE's row, so it exists only if the UPDATE
    landed), elsewhere as a second statement."""
    values = {f: getattr(story, f) for f in fields}
    story.updated_at = values["updated_at"] = timezone.now()
    values["version"] = story.version + 1
    conditional = Story.objects.filter(pk=story.pk, version=story.version)
    if connection.vendor == "postgresql":
        written = _update_and_record(conditional, values, story, move)
    else:
        written = conditional.update(**values)
        if written and move is not None:
            _record(
                item=story,
                from_state=move[0],
                to_state=story.state,
                by=move[1].user,
                at=story.updated_at,
            )
        if written:
            live_bump(planning_live_key(story.flow_team_id))
    if not written:
        current = Story.objects.filter(pk=story.pk).values_list("version", flat=True).first()
        if current is None:
            raise NotFound("the story is gone")
        raise VersionConflict(current)
    story.version += 1


def _update_and_record(stories, values: dict, story: Story, move: tuple[str, Actor] | None) -> int:
    """``stories.update(**values)``, the planning board's live bump and a move's history
    row as one PostgreSQL statement (one round trip): ``WITH changed AS (UPDATE …
    RETURNING …), bumped AS (INSERT … ON CONFLICT …) INSERT … SELECT … FROM changed``.
    Returns how many stories changed (0 or 1)."""
    update = stories.query.chain(UpdateQuery)
    update.add_update_values(values)
    update_sql, update_params = update.get_compiler(stories.db).as_sql()
    bump = live_bump_sql("SELECT %s::text || flow_team_id::text, 1 FROM changed")
    sql = f"WITH changed AS ({update_sql} RETURNING id, flow_team_id), bumped AS ({bump}) "
    params = [*update_params, PLANNING_LIVE_PREFIX]
    history = StateChange._meta.db_table
    with connection.cursor() as cursor:
        if move is None:
            cursor.execute(sql + "SELECT count(*) FROM changed", params)
            return cursor.fetchone()[0]
        cursor.execute(
            sql
            + f'INSERT INTO "{history}" (flow_team_id, story_id, from_state, to_state, at, by_id) '
            "SELECT flow_team_id, id, %s, %s, %s, %s FROM changed",
            [*params, move[0], story.state, story.updated_at, move[1].user.pk],
        )
        return cursor.rowcount


def story_change(
    *,
    actor: Actor,
    story: Story,
    data: dict | None = None,
    to_state: str | None = None,
    expected_version: int | None = None,
) -> Story:
    """Edit a story's fields and/or move it along its workflow, as one change: one version
    check, one version bump, one StateChange for a move. The move is checked against the
    edited story, so an estimate and ready can arrive in one request. With nothing to
    change it only checks the version.

    When the caller read the story (and its criteria) at ``expected_version``, as the API
    does, the change is one statement on PostgreSQL (an edit: one anywhere): the UPDATE
    conditional on that version, with the history row of a move. A single statement is
    atomic by itself, so no transaction is opened for it (BEGIN and COMMIT would be two
    more round trips) unless a webhook of the Flow Team listens to stories: their
    deliveries are written in the same transaction as the change."""
    listening = webhooks.listening(story)
    change = (actor, dict(data or {}), to_state, expected_version, listening)
    # The change, its history row and the planning board's live bump: one statement on
    # PostgreSQL, several (in a transaction) elsewhere.
    one_statement = _read_at(story, expected_version) and connection.vendor == "postgresql"
    if one_statement and not listening:
        return _story_change(story, *change)
    with transaction.atomic():
        return _story_change(story, *change)


def _story_change(
    story: Story,
    actor: Actor,
    data: dict,
    to_state: str | None,
    expected_version: int | None,
    listening: bool,
) -> Story:
    story = _story_to_change(story, actor, expected_version)
    if not data and to_state is None:
        return story
    if data:
        _story_edit(actor, story, data)
    from_state = _story_move(actor, story, to_state) if to_state is not None else None
    if "points" in data and story.points is None and story.state != S.BACKLOG:
        raise RuleViolation(
            "a story past the backlog keeps its estimate (Definition of Ready)", field="points"
        )
    moved = from_state is not None
    _save_versioned(
        story, [*data, "state"] if moved else data, (from_state, actor) if moved else None
    )
    if listening and data:
        webhooks.changed(story, "updated")
    if listening and moved:
        webhooks.changed(story, "state_changed")
    return story


def story_move_at_version(
    *, actor: Actor, story_id: int, to_state: str, expected_version: int
) -> Story | None:
    """A story's move by a caller who names the version it read (the API's PATCH of
    ``state`` alone, what scripts and CI bots send) as ONE statement: the UPDATE carries
    every rule of ``_story_move`` as its condition (the Flow Team, the version, the
    owning team's role, not the same state, a forward move's Definition of Ready and
    Done over the story's criteria), and in the same round trip writes the history row,
    bumps the planning board's live version and reads back the story with its criteria.

    Returns the moved story, or None when no row matched (gone, another Flow Team's,
    stale, refused, or a webhook of the Flow Team listens to stories). The caller then
    runs the full path (``story_change``), whose read and checks answer why: 404, 412,
    403 or the rule refused, or which writes the change with its webhook deliveries in
    one transaction. The refusal path costs more; the success path is one query, no
    cache lookup. PostgreSQL only (elsewhere: None)."""
    teams = sorted(t for t in actor.team_roles if can_work_story(actor, t))
    if connection.vendor != "postgresql" or to_state not in S.values or not teams:
        return None
    sql, params = _move_statement(to_state)
    params = {
        **params,
        **_move_params(story_id, to_state, expected_version, timezone.now()),
        "flow_team": actor.flow_team_id,
        "teams": teams,
        "by": actor.user.pk,
    }
    return story_from_rows(fetch_rows_prepared(sql, params))


def story_move_by_token(
    *, token_hash: str, story_id: int, to_state: str, expected_version: int
) -> Story | None:
    """``story_move_at_version`` for the caller holding the API token of ``token_hash``, the
    token's authentication included in the same statement (``teams.services.
    api_token_statement_ctes``): the person, their first Flow Team and the teams they
    work are read, and the use recorded, by CTEs ahead of the UPDATE, so a story PATCH
    by token is ONE round trip. None when no row matched (also an unknown or revoked
    token, a deactivated person, one in no Flow Team): the caller's full path, which
    authenticates on its own, answers why. PostgreSQL only (elsewhere: None)."""
    if connection.vendor != "postgresql" or to_state not in S.values:
        return None
    sql, params = _move_statement(to_state, by_token=True)
    now = timezone.now()
    params = {
        **params,
        **api_token_statement_params(token_hash=token_hash, now=now),
        **_move_params(story_id, to_state, expected_version, now),
    }
    return story_from_rows(fetch_rows_prepared(sql, params))


def _move_params(story_id: int, to_state: str, expected_version: int, now) -> dict:
    return {
        "id": story_id,
        "version": expected_version,
        "later": STORY_ORDER[STORY_ORDER.index(to_state) + 1 :],
        "now": now,
        "prefix": PLANNING_LIVE_PREFIX,
        "listened": '["story"]',
    }


@functools.cache
def _move_statement(to_state: str, by_token: bool = False) -> tuple[str, dict]:
    """The SQL of ``story_move_at_version`` to ``to_state`` (``by_token``: of
    ``story_move_by_token``, the actor read by the statement's first CTEs). A backward
    move (the story is in a ``later`` state) needs no definition; a forward one needs the
    Definition of Ready (an estimate, a criterion) and, to done, the Definition of Done
    (every criterion checked, no blocker): the same verdicts as ``_story_move``, which a
    test compares on every combination."""
    story, history = Story._meta.db_table, StateChange._meta.db_table
    criteria = AcceptanceCriterion._meta.db_table
    webhook = WebhookEndpoint._meta.db_table
    ready = (
        f'(s.points IS NOT NULL AND EXISTS (SELECT 1 FROM "{criteria}" k WHERE k.story_id = s.id))'
    )
    done = (
        f'(NOT s.blocked AND NOT EXISTS (SELECT 1 FROM "{criteria}" k '
        "WHERE k.story_id = s.id AND NOT k.checked))"
    )
    forward = f"{ready} AND {done}" if to_state == S.DONE else ready
    columns = ", ".join(f's."{f.column}"' for f in Story._meta.concrete_fields)
    bump = live_bump_sql("SELECT %(prefix)s::text || flow_team_id::text, 1 FROM changed")
    if by_token:
        head, sources = f"WITH {api_token_statement_ctes()}, ", "old, actor"
        flow_team, teams = "actor.flow_team_id", "IN (SELECT scrum_team_id FROM work_teams)"
        by = "(SELECT user_id FROM actor)"
    else:
        head, sources = "WITH ", "old"
        flow_team, teams, by = "%(flow_team)s", "= ANY(%(teams)s)", "%(by)s"
    sql = (
        f'{head}old AS (SELECT id, state FROM "{story}" WHERE id = %(id)s), '
        f'changed AS (UPDATE "{story}" s SET state = %(to)s, version = s.version + 1, '
        f"updated_at = %(now)s FROM {sources} WHERE s.id = old.id "
        f"AND s.flow_team_id = {flow_team} AND s.version = %(version)s "
        f"AND s.scrum_team_id {teams} "
        f"AND s.state <> %(to)s AND (s.state = ANY(%(later)s) OR ({forward})) "
        # A webhook listening to stories: its deliveries are written in the change's
        # transaction by the full path (the check costs an index probe, not a round trip).
        f'AND NOT EXISTS (SELECT 1 FROM "{webhook}" w WHERE w.flow_team_id = {flow_team} '
        "AND w.active AND w.event_types @> %(listened)s::jsonb) "
        f"RETURNING {columns}, old.state AS from_state), "
        f"bumped AS ({bump}), "
        f'recorded AS (INSERT INTO "{history}" (flow_team_id, story_id, from_state, to_state, '
        f"at, by_id) SELECT flow_team_id, id, from_state, %(to)s, %(now)s, {by} FROM changed) "
    )
    return sql + story_with_criteria_sql("changed"), {"to": to_state}


def story_update(
    *, actor: Actor, story: Story, data: dict, expected_version: int | None = None
) -> Story:
    """Edit story fields: planning fields need story-edit rights, assignee team work rights."""
    return story_change(actor=actor, story=story, data=data, expected_version=expected_version)


def story_transition(
    *,
    actor: Actor,
    story: Story,
    to_state: str,
    expected_version: int | None = None,
) -> Story:
    """Move a story along its workflow (see ``story_change``); writes one StateChange."""
    return story_change(
        actor=actor, story=story, to_state=to_state, expected_version=expected_version
    )


@transaction.atomic
def story_rank_move(
    *,
    actor: Actor,
    story: Story,
    after: Story | None = None,
    before: Story | None = None,
    expected_version: int | None = None,
) -> Story:
    """Move a story in its team's backlog. The list (Scrum Team row) is locked first, then
    the story: its version is checked under the lock, so of concurrent moves that read the
    same version exactly one lands. Another Flow Team's story is refused before any lock."""
    _own(actor, story)
    ScrumTeam.objects.select_for_update().get(pk=story.scrum_team_id)
    story = _locked_story(story, actor)
    _check_version(story, expected_version)
    _require(can_edit_story(actor, story.scrum_team_id), "only the CPO and the team rank stories")
    _check_neighbours(
        story,
        after,
        before,
        scope="scrum_team_id",
        message="rank among the stories of the same Scrum Team",
    )
    story.rank = rank_for_move(
        Story, item=story, scope_column="scrum_team_id", after=after, before=before
    )
    _save_bumped(story, ["rank"])
    live_bump(planning_live_key(story.flow_team_id))
    webhooks.changed(story, "ranked")
    return story


# --- Acceptance criteria, tasks, blockers ---------------------------------------


def _touch(story: Story) -> None:
    """A change to a story's parts is a change to the story: bump its version."""
    Story.objects.filter(pk=story.pk).update(version=F("version") + 1, updated_at=timezone.now())
    live_bump(planning_live_key(story.flow_team_id))
    webhooks.changed(story, "updated", reread=True)


@transaction.atomic
def criterion_add(*, actor: Actor, story: Story, text: str) -> AcceptanceCriterion:
    story = _locked_story(story, actor)
    _require(can_edit_story(actor, story.scrum_team_id), "only the CPO and the team write criteria")
    if not text.strip():
        raise RuleViolation("write the criterion", field="text")
    position = (story.criteria.aggregate(m=Max("position"))["m"] or 0) + 1
    criterion = AcceptanceCriterion.objects.create(
        story=story, position=position, text=text.strip()
    )
    _touch(story)
    return criterion


@transaction.atomic
def criterion_check(
    *, actor: Actor, criterion: AcceptanceCriterion, checked: bool
) -> AcceptanceCriterion:
    story = _locked_story(criterion.story, actor)
    _require(can_work_story(actor, story.scrum_team_id), "only the owning team checks criteria")
    if story.state == S.DONE and not checked:
        raise RuleViolation("reopen the story before unchecking a criterion", field="checked")
    criterion.checked = checked
    criterion.checked_by = actor.user if checked else None
    criterion.checked_at = timezone.now() if checked else None
    criterion.save(update_fields=["checked", "checked_by", "checked_at"])
    _touch(story)
    return criterion


@transaction.atomic
def criterion_delete(*, actor: Actor, criterion: AcceptanceCriterion) -> None:
    story = _locked_story(criterion.story, actor)
    _require(can_edit_story(actor, story.scrum_team_id), "only the CPO and the team edit criteria")
    criterion.delete()
    _touch(story)


@transaction.atomic
def task_create(*, actor: Actor, story: Story, title: str, assignee=None) -> Task:
    story = _locked_story(story, actor)
    _require(can_work_story(actor, story.scrum_team_id), "only the owning team adds tasks")
    if not title.strip():
        raise RuleViolation("give the task a title", field="title")
    _check_member(story.flow_team_id, assignee, "assignee")
    task = Task.objects.create(story=story, title=title.strip(), assignee=assignee)
    _touch(story)
    return task


@transaction.atomic
def task_update(*, actor: Actor, task: Task, data: dict) -> Task:
    story = _locked_story(task.story, actor)
    _require(can_work_story(actor, story.scrum_team_id), "only the owning team edits tasks")
    refused = sorted(set(data) - {"title", "assignee", "done"})
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    if "title" in data and not str(data["title"]).strip():
        raise RuleViolation("give the task a title", field="title")
    if "assignee" in data:
        _check_member(story.flow_team_id, data["assignee"], "assignee")
    for field, value in data.items():
        setattr(task, field, value)
    task.save(update_fields=[*data, "updated_at"])
    _touch(story)
    return task


@transaction.atomic
def blocker_raise(
    *, actor: Actor, story: Story, reason: str, expected_version: int | None = None
) -> Story:
    story = _locked_story(story, actor)
    _check_version(story, expected_version)
    _require(can_work_story(actor, story.scrum_team_id), "only the owning team raises blockers")
    if not reason.strip():
        raise RuleViolation("say what blocks the story", field="blocked_reason")
    if story.blocked:
        raise RuleViolation("the story is already blocked", field="blocked")
    if story.state == S.DONE:
        raise RuleViolation("a done story cannot be blocked", field="blocked")
    now = timezone.now()
    Blocker.objects.create(story=story, reason=reason.strip(), raised_at=now, raised_by=actor.user)
    story.blocked, story.blocked_reason = True, reason.strip()[:300]
    _save_bumped(story, ["blocked", "blocked_reason"])
    live_bump(planning_live_key(story.flow_team_id))
    webhooks.changed(story, "blocked")
    return story


@transaction.atomic
def blocker_clear(*, actor: Actor, story: Story, expected_version: int | None = None) -> Story:
    story = _locked_story(story, actor)
    _check_version(story, expected_version)
    _require(can_work_story(actor, story.scrum_team_id), "only the owning team clears blockers")
    if not story.blocked:
        raise RuleViolation("the story is not blocked", field="blocked")
    Blocker.objects.filter(story=story, cleared_at__isnull=True).update(
        cleared_at=timezone.now(), cleared_by=actor.user
    )
    story.blocked, story.blocked_reason = False, ""
    _save_bumped(story, ["blocked", "blocked_reason"])
    live_bump(planning_live_key(story.flow_team_id))
    webhooks.changed(story, "unblocked")
    return story


# --- Dependencies ---------------------------------------------------------------


def _item_team_id(item) -> int | None:
    return item.scrum_team_id if isinstance(item, Story) else None


def _check_sprint(actor: Actor, sprint, field: str) -> None:
    if sprint is not None and sprint.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the Flow Sprint is not in this Flow Team", field=field)


def _record_step(dependency: Dependency, *, actor: Actor, kind: str, sprint, note: str = ""):
    DependencyStep.objects.create(
        dependency=dependency,
        kind=kind,
        flow_sprint=sprint,
        note=note,
        at=timezone.now(),
        by=actor.user,
    )
    live_bump(roadmap_live_key(dependency.flow_team_id), planning_live_key(dependency.flow_team_id))


@transaction.atomic
def dependency_create(
    *, actor: Actor, source, target, needed_by=None, description: str = ""
) -> Dependency:
    for item, field in ((source, "from"), (target, "to")):
        if item is None or item.flow_team_id != actor.flow_team_id:
            raise RuleViolation("name a story or epic of this Flow Team", field=field)
    if source == target:
        raise RuleViolation("an item cannot depend on itself", field="to")
    _require(
        can_write_register(actor, _item_team_id(source)),
        "only the CPO, CSM, Architect, or the source team's PO and SM record dependencies",
    )
    _check_sprint(actor, needed_by, "needed_by")
    dependency = Dependency.objects.create(
        flow_team_id=actor.flow_team_id,
        from_story=source if isinstance(source, Story) else None,
        from_epic=source if isinstance(source, Epic) else None,
        to_story=target if isinstance(target, Story) else None,
        to_epic=target if isinstance(target, Epic) else None,
        needed_by=needed_by,
        description=description,
    )
    _record_step(dependency, actor=actor, kind=DependencyStep.Kind.RAISED, sprint=needed_by)
    webhooks.changed(dependency, "created")
    return dependency


# A new needed-by sprint re-opens the contract: the provider answers the new request.
_REOPENED = {
    "contract": Dependency.Contract.REQUESTED,
    "committed_sprint": None,
    "proposed_sprint": None,
}


@transaction.atomic
def dependency_update(
    *, actor: Actor, dependency: Dependency, data: dict, expected_version: int | None = None
) -> Dependency:
    dependency = Dependency.objects.select_for_update().get(pk=dependency.pk)
    _check_version(dependency, expected_version)
    _require(
        can_write_register(actor, _item_team_id(dependency.source)),
        "only the CPO, CSM, Architect, or the source team's PO and SM edit this dependency",
    )
    refused = sorted(set(data) - {"state", "needed_by", "description"})
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    if "state" in data and data["state"] not in Dependency.State.values:
        raise RuleViolation("a dependency is open, resolved or broken", field="state")
    _check_sprint(actor, data.get("needed_by"), "needed_by")
    data = dict(data)
    renegotiated = "needed_by" in data and _json(data["needed_by"]) != dependency.needed_by_id
    if renegotiated:
        data.update(_REOPENED)
    for field, value in data.items():
        setattr(dependency, field, value)
    _save_bumped(dependency, data)
    if renegotiated:
        kind = DependencyStep.Kind.RENEGOTIATED
        _record_step(dependency, actor=actor, kind=kind, sprint=data["needed_by"])
    else:
        live_bump(
            roadmap_live_key(dependency.flow_team_id), planning_live_key(dependency.flow_team_id)
        )
    webhooks.changed(dependency, "updated")
    return dependency


# --- The dependency contract ----------------------------------------------------------
# The providing side (the PO or SM of the team owning the target story; for an epic,
# which no one Scrum Team owns, the Flow roles that keep the register: CPO, CSM,
# Architect) commits to a Flow Sprint or counter-proposes one; the requesting side (the
# source team's PO or SM, or those Flow roles) accepts the counter-proposal or
# re-negotiates a new needed-by sprint. domain.md, "Dependency & risk register".


# The two sides of a dependency's contract: the attribute naming that side's item (its
# team's PO and SM answer, with the CPO, CSM and Architect) and the refusal for anybody else.
PROVIDING = (
    "target",
    "only the providing team's PO and SM (or the CPO, CSM, Architect) commit or counter-propose",
)
REQUESTING = (
    "source",
    "only the requesting team's PO and SM (or the CPO, CSM, Architect) accept or re-negotiate",
)


def _contract_locked(
    actor: Actor, dependency: Dependency, expected_version: int | None, *, side: tuple[str, str]
) -> Dependency:
    dependency = (
        # Only the dependency's row is locked: PostgreSQL refuses FOR UPDATE on the
        # nullable side of the outer joins that select_related makes.
        Dependency.objects.select_for_update(of=("self",))
        .select_related("needed_by", "from_story", "to_story")
        .get(pk=dependency.pk)
    )
    _check_version(dependency, expected_version)
    item, refusal = side
    _require(can_write_register(actor, _item_team_id(getattr(dependency, item))), refusal)
    if dependency.state != Dependency.State.OPEN:
        raise RuleViolation(
            f"the dependency is {dependency.state}; only an open one is negotiated", field="state"
        )
    return dependency


def _contract_sprint(actor: Actor, sprint, field: str):
    if sprint is None:
        raise RuleViolation("name a Flow Sprint", field=field)
    _check_sprint(actor, sprint, field)
    if sprint.state == "closed":
        raise RuleViolation(f"Flow Sprint {sprint.number} is closed", field=field)
    return sprint


def _contract_step(
    actor: Actor, dependency: Dependency, *, kind: str, sprint, note: str, values: dict
) -> Dependency:
    for field, value in values.items():
        setattr(dependency, field, value)
    _save_bumped(dependency, values)
    _record_step(dependency, actor=actor, kind=kind, sprint=sprint, note=note)
    webhooks.changed(dependency, kind)
    return dependency


@transaction.atomic
def dependency_commit(
    *, actor: Actor, dependency, flow_sprint, note: str = "", expected_version=None
) -> Dependency:
    """The providing team promises the item in ``flow_sprint`` (no later than needed)."""
    return _provider_answer(actor, dependency, flow_sprint, note, expected_version, counter=False)


@transaction.atomic
def dependency_counter(
    *, actor: Actor, dependency, flow_sprint, note: str = "", expected_version=None
) -> Dependency:
    """The providing team proposes another Flow Sprint; a standing commitment is withdrawn."""
    return _provider_answer(actor, dependency, flow_sprint, note, expected_version, counter=True)


def _provider_answer(actor, dependency, flow_sprint, note, expected_version, *, counter: bool):
    dependency = _contract_locked(actor, dependency, expected_version, side=PROVIDING)
    sprint = _contract_sprint(actor, flow_sprint, "flow_sprint")
    needed = dependency.needed_by
    if counter and sprint.pk == dependency.needed_by_id:
        raise RuleViolation(
            "that is the needed-by Flow Sprint: commit to it instead", field="flow_sprint"
        )
    if not counter and needed is not None and sprint.number > needed.number:
        raise RuleViolation(
            f"Flow Sprint {sprint.number} is after the needed-by Flow Sprint {needed.number}: "
            "counter-propose it instead",
            field="flow_sprint",
        )
    kind = DependencyStep.Kind.COUNTERED if counter else DependencyStep.Kind.COMMITTED
    values = {
        "contract": kind,  # the contract's state is named after the step
        "committed_sprint": None if counter else sprint,
        "proposed_sprint": sprint if counter else None,
    }
    return _contract_step(actor, dependency, kind=kind, sprint=sprint, note=note, values=values)


@transaction.atomic
def dependency_accept(
    *, actor: Actor, dependency: Dependency, note: str = "", expected_version: int | None = None
) -> Dependency:
    """The requesting team takes the counter-proposal: it becomes the needed-by sprint and
    the providing team's commitment."""
    dependency = _contract_locked(actor, dependency, expected_version, side=REQUESTING)
    sprint = dependency.proposed_sprint
    if dependency.contract != Dependency.Contract.COUNTERED or sprint is None:
        raise RuleViolation("there is no counter-proposal to accept", field="contract")
    _contract_sprint(actor, sprint, "proposed_sprint")
    values = {
        "contract": Dependency.Contract.ACCEPTED,
        "needed_by": sprint,
        "committed_sprint": sprint,
        "proposed_sprint": None,
    }
    kind = DependencyStep.Kind.ACCEPTED
    return _contract_step(actor, dependency, kind=kind, sprint=sprint, note=note, values=values)


@transaction.atomic
def dependency_renegotiate(
    *,
    actor: Actor,
    dependency: Dependency,
    needed_by,
    note: str = "",
    expected_version: int | None = None,
) -> Dependency:
    """The requesting team asks for the item by another Flow Sprint; the providing team
    answers again (a standing commitment or counter-proposal is set aside)."""
    dependency = _contract_locked(actor, dependency, expected_version, side=REQUESTING)
    sprint = _contract_sprint(actor, needed_by, "needed_by")
    waiting = dependency.contract == Dependency.Contract.REQUESTED
    if sprint.pk == dependency.needed_by_id and waiting:
        raise RuleViolation(
            f"the dependency is needed by Flow Sprint {sprint.number} already", field="needed_by"
        )
    values = {**_REOPENED, "needed_by": sprint}
    kind = DependencyStep.Kind.RENEGOTIATED
    return _contract_step(actor, dependency, kind=kind, sprint=sprint, note=note, values=values)
