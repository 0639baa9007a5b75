"""The Flow Sprint Planning 1 board, read in a fixed number of queries whatever its size.

Rows are the Scrum Teams, columns each team's backlog (the top of it, in rank order) and
the coming Flow Sprints: the planning's own sprint and the next planned ones. A cell holds
the stories planned into that Team Sprint, the epics the team claimed for it, and its load
against the team's capacity. Open dependencies are coloured by the roadmap's rule
(flow/roadmap.py) and marked on the cards of both sides.

It lives in flow because it reads sprint plans; events/planning_views.py renders it.
"""

from collections import defaultdict
from datetime import date

from django.db.models import Count, Exists, OuterRef, Q, Sum, Window
from django.db.models.functions import RowNumber

from backlog.models import AcceptanceCriterion, Dependency, DependencyStep, Epic, Story
from flow.models import EpicClaim, FlowSprint, SprintCommitment, TeamSprint
from flow.roadmap import DEPENDENCY_VALUES, PLANNED_OUTCOMES, dependencies_coloured
from teams.models import ScrumTeam
from teams.permissions import Actor

SPRINTS_SHOWN = 4
# The top of each team's backlog on the board; the rest is one click away (the backlog).
BACKLOG_SHOWN = 12
# The dependencies listed beside the board, worst first; every one is marked on its cards.
DEPENDENCIES_LISTED = 40
SEVERITY = {"red": 0, "orange": 1, None: 2, "green": 3}
# Closed sprints whose done points propose a capacity when none is set.
VELOCITY_SPRINTS = 3


def definition_of_ready_gap(points, has_criteria: bool) -> str:
    """Why a story may not be planned yet ('' when it meets the Definition of Ready)."""
    missing = []
    if points is None:
        missing.append("an estimate")
    if not has_criteria:
        missing.append("an acceptance criterion")
    return f"Not ready: needs {' and '.join(missing)}" if missing else ""


def planning_sprints(*, actor: Actor, flow_sprint: FlowSprint) -> list[FlowSprint]:
    """The planning's Flow Sprint and the next ones still open, in order."""
    return list(
        FlowSprint.objects.filter(flow_team_id=actor.flow_team_id, number__gte=flow_sprint.number)
        .filter(Q(pk=flow_sprint.pk) | ~Q(state=FlowSprint.State.CLOSED))
        .order_by("number")[:SPRINTS_SHOWN]
    )


def _card(row: dict, prefix: str = "") -> dict:
    points = row[f"{prefix}points"]
    return {
        "id": row[f"{prefix}id"],
        "title": row[f"{prefix}title"],
        "points": points,
        "state": row[f"{prefix}state"],
        "state_label": Story.State(row[f"{prefix}state"]).label,
        "version": row[f"{prefix}version"],
        "blocked": row[f"{prefix}blocked"],
        "epic": row[f"{prefix}epic__title"],
        "team_id": row[f"{prefix}scrum_team_id"],
        "not_ready": definition_of_ready_gap(points, row["has_criteria"]),
        "needs": [],
        "provides": [],
    }


STORY_FIELDS = ("id", "title", "points", "state", "version", "blocked", "epic__title")


def planning_board(*, actor: Actor, flow_sprint: FlowSprint, today: date | None = None) -> dict:
    """Everything the board shows: sprints, one row per Scrum Team (backlog, cells), the
    open dependencies with their contract steps. About a dozen queries, at any size."""
    flow_team = actor.flow_team
    today = today or flow_team.today()
    sprints = planning_sprints(actor=actor, flow_sprint=flow_sprint)
    teams = list(ScrumTeam.objects.filter(flow_team=flow_team).order_by("number"))
    criteria = AcceptanceCriterion.objects.filter(story=OuterRef("story_id"))
    team_sprints = {
        (ts.scrum_team_id, ts.flow_sprint_id): ts
        for ts in TeamSprint.objects.filter(flow_sprint__in=sprints)
    }
    planned_rows = (
        SprintCommitment.objects.filter(
            team_sprint__flow_sprint__in=sprints, outcome__in=PLANNED_OUTCOMES
        )
        .annotate(has_criteria=Exists(criteria))
        .order_by("story__rank")
        .values(
            "team_sprint_id",
            "team_sprint__flow_sprint_id",
            "story__scrum_team_id",
            *(f"story__{f}" for f in STORY_FIELDS),
            "has_criteria",
        )
    )
    cells: dict[tuple[int, int], list[dict]] = defaultdict(list)
    cards: dict[int, dict] = {}
    for row in planned_rows:
        card = _card(row, "story__")
        card["sprint_id"] = row["team_sprint__flow_sprint_id"]
        cards[card["id"]] = card
        cells[(card["team_id"], card["sprint_id"])].append(card)

    waiting = backlog_waiting(flow_team)
    backlog_rows = (
        _backlog_tops(waiting)
        .annotate(has_criteria=Exists(AcceptanceCriterion.objects.filter(story=OuterRef("pk"))))
        .values("scrum_team_id", *STORY_FIELDS, "has_criteria")
    )
    backlogs: dict[int, list[dict]] = defaultdict(list)
    for row in backlog_rows:
        card = _card(row)
        card["sprint_id"] = None
        cards[card["id"]] = card
        backlogs[card["team_id"]].append(card)
    backlog_totals = _backlog_totals(waiting)

    claims: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for claim in (
        EpicClaim.objects.filter(flow_sprint__in=sprints)
        .select_related("epic", "claimed_by")
        .order_by("epic__rank")
    ):
        claims[(claim.scrum_team_id, claim.flow_sprint_id)].append(
            {
                "id": claim.pk,
                "epic_id": claim.epic_id,
                "title": claim.epic.title,
                "by": claim.claimed_by.display_name if claim.claimed_by else "a former member",
                "at": claim.claimed_at,
                "needs": [],
            }
        )

    dependencies = _dependencies(flow_team, today, cards)
    velocity = team_velocity(flow_team)
    rows = []
    for team in teams:
        row_cells = []
        for sprint in sprints:
            planned = cells.get((team.pk, sprint.pk), [])
            team_sprint = team_sprints.get((team.pk, sprint.pk))
            load = sum(c["points"] or 0 for c in planned)
            capacity = team_sprint.capacity_points if team_sprint else None
            row_cells.append(
                {
                    "sprint": sprint,
                    "team_sprint": team_sprint,
                    "stories": planned,
                    "claims": claims.get((team.pk, sprint.pk), []),
                    "load": load,
                    "capacity": capacity,
                    "over": capacity is not None and load > capacity,
                    "percent": min(100, round(100 * load / capacity)) if capacity else 0,
                    "proposed": velocity.get(team.pk) if capacity is None else None,
                    "editable": sprint.state != FlowSprint.State.CLOSED,
                }
            )
        rows.append(
            {
                "team": team,
                "backlog": backlogs.get(team.pk, []),
                "backlog_total": backlog_totals.get(team.pk, 0),
                "cells": row_cells,
            }
        )
    for dep in dependencies:
        for claim_list in claims.values():
            for claim in claim_list:
                if claim["epic_id"] == dep["from_epic_id"]:
                    claim["needs"].append(dep)
    listed = sorted(dependencies, key=lambda d: (SEVERITY[d["colour"]], d["needed_by"] or 0))
    return {
        "sprints": sprints,
        "rows": rows,
        "dependencies": listed[:DEPENDENCIES_LISTED],
        "dependencies_total": len(dependencies),
    }


def backlog_waiting(flow_team):
    """The stories not done and not planned into an open sprint: each team's backlog."""
    open_plan = SprintCommitment.objects.filter(
        story=OuterRef("pk"), outcome=SprintCommitment.Outcome.OPEN
    ).exclude(team_sprint__flow_sprint__state=FlowSprint.State.CLOSED)
    waiting = Story.objects.filter(flow_team=flow_team).exclude(state=Story.State.DONE)
    return waiting.exclude(Exists(open_plan))


def _backlog_tops(waiting):
    """The top of each team's backlog (``BACKLOG_SHOWN`` stories), in one query."""
    return (
        waiting.annotate(place=Window(RowNumber(), partition_by="scrum_team_id", order_by="rank"))
        .filter(place__lte=BACKLOG_SHOWN)
        .order_by("scrum_team_id", "rank")
    )


def dependency_targets(*, actor: Actor, sprints, scrum_team_id: int) -> list:
    """What a story of ``scrum_team_id`` may depend on, as the board shows it: the other
    teams' stories planned into the board's sprints or at the top of their backlog
    (grouped by team), and the open epics. Three queries."""
    planned = (
        SprintCommitment.objects.filter(
            team_sprint__flow_sprint__in=sprints, outcome__in=PLANNED_OUTCOMES
        )
        .exclude(story__scrum_team_id=scrum_team_id)
        .order_by("story__scrum_team__number", "story__rank")
        .values_list("story__scrum_team__name", "story_id", "story__title")
    )
    tops = _backlog_tops(
        backlog_waiting(actor.flow_team).exclude(scrum_team_id=scrum_team_id)
    ).values_list("scrum_team__name", "pk", "title")
    groups: dict[str, list] = {}
    for team, pk, title in [*planned, *tops]:
        groups.setdefault(team, []).append((f"s:{pk}", title))
    epics = [(f"e:{e.pk}", e.title) for e in epics_claimable(actor=actor)]
    return [*sorted(groups.items()), *([("Epics", epics)] if epics else [])]


def _backlog_totals(waiting) -> dict[int, int]:
    return dict(
        waiting.order_by()
        .values("scrum_team_id")
        .annotate(n=Count("pk"))
        .values_list("scrum_team_id", "n")
    )


def team_velocity(flow_team) -> dict[int, int]:
    """A capacity to propose per Scrum Team: the mean done points of the last closed sprints
    (their frozen figures). A closed sprint without frozen figures (loaded in bulk, like
    the demo's history) counts its planned stories done in it, as closing would have."""
    sprints = list(
        FlowSprint.objects.filter(flow_team=flow_team, state=FlowSprint.State.CLOSED)
        .order_by("-number")
        .values_list("pk", "figures")[:VELOCITY_SPRINTS]
    )
    unfrozen = [pk for pk, figures in sprints if figures is None]
    counted: dict[int, dict] = defaultdict(dict)
    for sprint_id, team_id, points in (
        SprintCommitment.objects.filter(
            team_sprint__flow_sprint__in=unfrozen,
            planned=True,
            outcome=SprintCommitment.Outcome.DONE,
        )
        .values("team_sprint__flow_sprint_id", "team_sprint__scrum_team_id")
        .annotate(points=Sum("points_at_planning"))
        .values_list("team_sprint__flow_sprint_id", "team_sprint__scrum_team_id", "points")
    ):
        counted[sprint_id][str(team_id)] = {"done_points": points or 0}
    done = defaultdict(list)
    for sprint_id, figures in sprints:
        for team_id, figure in (figures or counted.get(sprint_id, {})).items():
            done[int(team_id)].append(figure.get("done_points") or 0)
    return {team: round(sum(points) / len(points)) for team, points in done.items() if points}


def dependency_shown(*, actor: Actor, dependency_id: int) -> dict | None:
    """One open dependency as the board lists it (its colour, planned sprint, steps)."""
    today = actor.flow_team.today()
    found = _dependencies(actor.flow_team, today, {}, only=dependency_id)
    return found[0] if found else None


def _dependencies(
    flow_team, today: date, cards: dict[int, dict], only: int | None = None
) -> list[dict]:
    """Open dependencies of the Flow Team, coloured, with who asks, who provides, the
    contract and its steps; marked on the cards of the board they touch."""
    dependencies = Dependency.objects.filter(flow_team=flow_team, state=Dependency.State.OPEN)
    if only is not None:
        dependencies = dependencies.filter(pk=only)
    rows = list(
        dependencies.order_by("needed_by__number", "pk").values(
            *DEPENDENCY_VALUES,
            "version",
            "from_story_id",
            "from_story__title",
            "from_story__scrum_team_id",
            "from_story__scrum_team__name",
            "from_epic__title",
            "to_story__scrum_team_id",
            "needed_by_id",
            "proposed_sprint__number",
        )
    )
    steps = defaultdict(list)
    for step in (
        DependencyStep.objects.filter(dependency_id__in=[r["pk"] for r in rows])
        .select_related("by", "flow_sprint")
        .order_by("at", "pk")
    ):
        steps[step.dependency_id].append(step)
    found = []
    for r, shown in zip(rows, dependencies_coloured(flow_team, today, rows), strict=True):
        dep = {
            **shown,
            "version": r["version"],
            "requester": r["from_story__title"] or r["from_epic__title"],
            "requesting_team": r["from_story__scrum_team__name"],
            "requesting_team_id": r["from_story__scrum_team_id"],
            "providing_team_id": r["to_story__scrum_team_id"],
            "from_story_id": r["from_story_id"],
            "from_epic_id": r["from_epic_id"],
            "to_story_id": r["to_story_id"],
            "to_epic": r["to_epic_id"] is not None,
            "proposed": r["proposed_sprint__number"],
            "contract_label": Dependency.Contract(r["contract"]).label,
            "steps": steps.get(r["pk"], []),
        }
        found.append(dep)
        if r["from_story_id"] in cards:
            cards[r["from_story_id"]]["needs"].append(dep)
        if r["to_story_id"] in cards:
            cards[r["to_story_id"]]["provides"].append(dep)
    return found


def epics_claimable(*, actor: Actor) -> list[Epic]:
    """The epics a team may claim: open ones, in rank order."""
    return list(
        Epic.objects.filter(flow_team_id=actor.flow_team_id)
        .exclude(state__in=[Epic.State.DONE, Epic.State.CANCELLED])
        .order_by("rank")
        .only("pk", "title", "state")
    )
