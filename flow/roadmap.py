"""The CPO's roadmap, read in a fixed number of queries whatever its size.

It lives in flow, not backlog, because the dependency colours read sprint plans
(SprintCommitment, TeamSprint, FlowSprint) and backlog may not import flow.
"""

from collections import defaultdict
from datetime import date

from django.db.models import Count, Q, Sum

from backlog.models import Dependency, Epic, Milestone, ProductGoal, Story
from flow.models import FlowSprint, MetricSnapshot, SprintCommitment
from teams.permissions import Actor

RED, ORANGE, GREEN = "red", "orange", "green"
# A provider's story counts as planned into the Flow Sprint where it is still open or done;
# carried over or dropped commitments no longer say when it comes.
PLANNED_OUTCOMES = (SprintCommitment.Outcome.OPEN, SprintCommitment.Outcome.DONE)


def dependency_colour(
    *, needed_by: int | None, planned: int | None, provided: bool, soon: set[int]
) -> str | None:
    """The planning board's colour for an open dependency, by Flow Sprint number.

    Red when the providing team planned it after the needed-by Flow Sprint, or not at
    all while it is due in the current or next one (or already past); orange when planned
    in the same Flow Sprint; green when before (or already provided). None when nothing
    can be said yet: no needed-by sprint, or unplanned and not due soon."""
    if provided:
        return GREEN
    if needed_by is None:
        return None
    if planned is None:
        due_soon = needed_by in soon or (soon and needed_by < min(soon))
        return RED if due_soon else None
    if planned > needed_by:
        return RED
    return ORANGE if planned == needed_by else GREEN


def roadmap_for(*, actor: Actor, today: date | None = None) -> dict:
    """Product Goal, milestones in order (objective, dates, span warning, progress, the
    forecast's chance), epics in rank order per milestone plus an unscheduled lane (title,
    state, WSJF, feasibility, the Scrum Teams working on it, open dependencies coloured)."""
    flow_team = actor.flow_team
    today = today or flow_team.today()
    goal = ProductGoal.objects.filter(flow_team=flow_team, status="active").first()
    milestones = list(Milestone.objects.filter(flow_team=flow_team).order_by("order"))
    done = Q(stories__state=Story.State.DONE)
    epics = list(
        Epic.objects.filter(flow_team=flow_team)
        .order_by("rank")
        .annotate(
            points_total=Sum("stories__points", default=0),
            points_done=Sum("stories__points", filter=done, default=0),
            stories_total=Count("stories"),
            stories_done=Count("stories", filter=done),
        )
    )
    teams = defaultdict(list)
    for epic_id, name in (
        Story.objects.filter(flow_team=flow_team, epic__isnull=False)
        .order_by("epic_id", "scrum_team__number")
        .values_list("epic_id", "scrum_team__name")
        .distinct()
    ):
        teams[epic_id].append(name)
    chances = _milestone_chances(flow_team)
    dependencies = _open_dependencies(flow_team, today)

    cards = {m.pk: [] for m in milestones}
    unscheduled = []
    totals = {m.pk: [0, 0, 0, 0] for m in milestones}
    for epic in epics:
        card = {
            "id": epic.pk,
            "title": epic.title,
            "state": epic.state,
            "state_label": epic.get_state_display(),
            "rank": epic.rank,
            "version": epic.version,
            "wsjf": epic.wsjf,
            "feasibility": epic.feasibility,
            "feasibility_label": epic.get_feasibility_display(),
            "feasibility_note": epic.feasibility_note,
            "teams": teams.get(epic.pk, []),
            "dependencies": dependencies.get(epic.pk, []),
        }
        if epic.milestone_id is None:
            unscheduled.append(card)
            continue
        cards[epic.milestone_id].append(card)
        if epic.state != Epic.State.CANCELLED:  # cancelled work is not progress to make
            for n, figure in enumerate(
                (epic.points_done, epic.points_total, epic.stories_done, epic.stories_total)
            ):
                totals[epic.milestone_id][n] += figure
    return {
        "product_goal": goal,
        "milestones": [
            {
                "id": m.pk,
                "name": m.name,
                "objective": m.objective,
                "start": m.start,
                "end": m.end,
                "version": m.version,
                "closed": m.closed_at is not None,
                "span_warning": m.span_warning,
                "points_done": totals[m.pk][0],
                "points_total": totals[m.pk][1],
                "stories_done": totals[m.pk][2],
                "stories_total": totals[m.pk][3],
                "chance": chances.get(m.pk),
                "epics": cards[m.pk],
            }
            for m in milestones
        ],
        "unscheduled": unscheduled,
    }


def _milestone_chances(flow_team) -> dict[int, float]:
    """The metrics job's Monte Carlo chance per milestone, from the newest Flow Team
    snapshot (only the forecast's milestone list is read from the stored JSON)."""
    row = (
        MetricSnapshot.objects.filter(flow_team=flow_team, scrum_team__isnull=True)
        .order_by("-as_of")
        .values_list("data__forecast__milestones", flat=True)
        .first()
    )
    return {m["id"]: m["chance"] for m in row or []}


DEPENDENCY_VALUES = (
    "pk",
    "description",
    "from_epic_id",
    "from_story__epic_id",
    "to_story_id",
    "to_story__title",
    "to_story__state",
    "to_story__scrum_team__name",
    "to_epic_id",
    "to_epic__title",
    "to_epic__state",
    "needed_by__number",
    "contract",
    "committed_sprint__number",
)


def _open_dependencies(flow_team, today: date) -> dict[int, list[dict]]:
    """Open dependencies per needing epic (its own, and its stories'), coloured."""
    rows = list(
        Dependency.objects.filter(flow_team=flow_team, state=Dependency.State.OPEN)
        .filter(Q(from_epic__isnull=False) | Q(from_story__epic__isnull=False))
        .order_by("pk")
        .values(*DEPENDENCY_VALUES)
    )
    found = defaultdict(list)
    for r, shown in zip(rows, dependencies_coloured(flow_team, today, rows), strict=True):
        found[r["from_epic_id"] or r["from_story__epic_id"]].append(shown)
    return found


def open_dependencies_coloured(*, flow_team, today: date) -> list[dict]:
    """Every open dependency of the Flow Team in the order raised, coloured, each naming
    the needing epic (``epic_id``), the requesting side and the providing side (Planning 2
    lists them with their mitigation plans). Four queries whatever their number."""
    rows = list(
        Dependency.objects.filter(flow_team=flow_team, state=Dependency.State.OPEN)
        .order_by("pk")
        .values(
            *DEPENDENCY_VALUES,
            "from_epic__title",
            "from_story__title",
            "from_story__scrum_team_id",
            "from_story__scrum_team__name",
        )
    )
    return [
        {
            "epic_id": r["from_epic_id"] or r["from_story__epic_id"],
            "requester": r["from_story__title"] or r["from_epic__title"],
            "requesting_team": r["from_story__scrum_team__name"],
            "requesting_team_id": r["from_story__scrum_team_id"],
            **shown,
        }
        for r, shown in zip(rows, dependencies_coloured(flow_team, today, rows), strict=True)
    ]


def stories_planned_sprint(story_ids) -> dict[int, int]:
    """Story id -> the latest Flow Sprint number it is planned into (one query)."""
    planned: dict[int, int] = {}
    for story_id, number in SprintCommitment.objects.filter(
        story_id__in=story_ids, outcome__in=PLANNED_OUTCOMES
    ).values_list("story_id", "team_sprint__flow_sprint__number"):
        planned[story_id] = max(number, planned.get(story_id, 0))
    return planned


def sprints_due_soon(flow_team, today: date) -> set[int]:
    """The numbers of the running and the next Flow Sprint: a dependency needed by one of
    them (or earlier) and not planned is red (one query)."""
    return set(
        FlowSprint.objects.filter(flow_team=flow_team, end__gte=today)
        .order_by("start")
        .values_list("number", flat=True)[:2]
    )


def dependencies_coloured(flow_team, today: date, rows: list[dict]) -> list[dict]:
    """Each dependency row (``DEPENDENCY_VALUES`` at least) as a board shows it: the
    provider, its team, the needed-by and the planned Flow Sprint, and the colour. Three
    queries whatever the number of rows (the roadmap and the Planning 1 board share it)."""
    to_epics = {r["to_epic_id"] for r in rows if r["to_epic_id"]}
    # Each providing story not done yet; a providing epic waits for all of its stories.
    pending: dict[int, set[int]] = defaultdict(set)  # providing epic -> open story ids
    for story_id, epic_id in (
        Story.objects.filter(epic_id__in=to_epics)
        .exclude(state=Story.State.DONE)
        .values_list("pk", "epic_id")
    ):
        pending[epic_id].add(story_id)
    story_ids = {r["to_story_id"] for r in rows if r["to_story_id"]}
    story_ids |= {s for ids in pending.values() for s in ids}
    planned = stories_planned_sprint(story_ids)
    soon = sprints_due_soon(flow_team, today)
    shown = []
    for r in rows:
        if r["to_story_id"]:
            provided = r["to_story__state"] == Story.State.DONE
            sprint = planned.get(r["to_story_id"])
            provider, team = r["to_story__title"], r["to_story__scrum_team__name"]
        else:
            open_stories = pending.get(r["to_epic_id"], set())
            provided = r["to_epic__state"] == Epic.State.DONE
            sprints = [planned.get(s) for s in open_stories]
            # An epic comes with its last story; one unplanned story leaves it unplanned.
            sprint = None if not sprints or None in sprints else max(sprints)
            provider, team = r["to_epic__title"], None
        # A commitment is the providing team's promise: it says when, over the sprint plans.
        committed = r["committed_sprint__number"]
        if committed is not None:
            sprint = committed
        shown.append(
            {
                "id": r["pk"],
                "description": r["description"],
                "provider": provider,
                "providing_team": team,
                "needed_by": r["needed_by__number"],
                "planned": sprint,
                "contract": r["contract"],
                "committed": committed,
                "colour": dependency_colour(
                    needed_by=r["needed_by__number"], planned=sprint, provided=provided, soon=soon
                ),
            }
        )
    return shown
