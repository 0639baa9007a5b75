from datetime import datetime
from fractions import Fraction

from django.db.models import Count, F, Q, QuerySet

from backlog.models import AcceptanceCriterion, Epic, ProductGoal, RoadmapChange, Story
from teams.models import ScrumTeam
from teams.permissions import Actor


def product_goal_active(*, actor: Actor) -> ProductGoal | None:
    return ProductGoal.objects.filter(flow_team=actor.flow_team, status="active").first()


def story_counts(*, actor: Actor, scrum_team_ids=None) -> dict[str, int]:
    """Stories by state (and blocked) in one query, for the actor's Flow Team or some teams."""
    stories = Story.objects.filter(flow_team=actor.flow_team)
    if scrum_team_ids is not None:
        stories = stories.filter(scrum_team__in=scrum_team_ids)
    counts = stories.aggregate(
        total=Count("id"),
        in_progress=Count("id", filter=Q(state__in=["in_progress", "in_review"])),
        blocked=Count("id", filter=Q(blocked=True)),
        ready=Count("id", filter=Q(state="ready")),
    )
    return counts


CLOSED_EPIC_STATES = (Epic.State.DONE, Epic.State.CANCELLED)


def wsjf_proposal(*, actor: Actor) -> list[Epic]:
    """Every epic of the Flow Team in the order "rank by WSJF" proposes, in one query.

    Open epics by WSJF (exact, not the rounded score) highest first; ties keep their
    current order (the sort is stable over the current rank order). Done and cancelled
    epics follow in their current order. Each epic carries ``current_position`` (1-based)
    so the page shows the proposal beside the current order; the (id, version) pairs are
    what ``epic_wsjf_rank_apply`` takes back."""
    epics = list(Epic.objects.filter(flow_team=actor.flow_team).order_by("rank"))
    for position, epic in enumerate(epics, start=1):
        epic.current_position = position
    return sorted(
        epics,
        key=lambda e: (
            e.state in CLOSED_EPIC_STATES,
            -Fraction(e.cost_of_delay, e.job_size),
        ),
    )


def roadmap_changes_since(*, actor: Actor, since: datetime) -> QuerySet[RoadmapChange]:
    """Epic and milestone changes of the actor's Flow Team at or after ``since``, oldest
    first. The caller passes ``since`` (the start of the last Product Roadmap Refinement
    lives in events, a higher layer than backlog)."""
    return (
        RoadmapChange.objects.filter(flow_team=actor.flow_team, at__gte=since)
        .select_related("epic", "milestone", "by")
        .order_by("at", "id")
    )


# --- The product backlog page ---------------------------------------------------


def definition_of_ready_gaps(*, points, criteria_count: int) -> list[str]:
    """What a story still lacks to meet the Definition of Ready, in the words the
    services use when they refuse the move to ready (empty: it is ready)."""
    gaps = []
    if points is None:
        gaps.append("needs an estimate")
    if not criteria_count:
        gaps.append("needs an acceptance criterion")
    return gaps


def _team_groups(teams, stories) -> list[dict]:
    by_team = {}
    for story in stories:
        by_team.setdefault(story.scrum_team_id, []).append(story)
    return [
        {
            "team": team,
            "stories": by_team[team.pk],
            "points": sum(s.points or 0 for s in by_team[team.pk]),
        }
        for team in teams
        if team.pk in by_team
    ]


def backlog_board(
    *, actor: Actor, states=(), team_number: int | None = None, epic_id: int | None = None
) -> dict:
    """Epics in rank order, each with its stories grouped per Scrum Team in the team's
    rank order, and the stories without an epic per team. Three queries whatever the
    size: the teams, the epics, the stories (criteria counted in the same query).

    ``states`` and ``team_number`` narrow the stories; every epic stays listed so that
    it can be split. ``epic_id`` reads one epic only (the split answer re-renders it)."""
    teams = list(ScrumTeam.objects.filter(flow_team=actor.flow_team).order_by("number"))
    epics = Epic.objects.filter(flow_team=actor.flow_team).select_related("milestone")
    stories = Story.objects.filter(flow_team=actor.flow_team).annotate(
        criteria_count=Count("criteria")
    )
    if epic_id is not None:
        epics = epics.filter(pk=epic_id)
        stories = stories.filter(epic_id=epic_id)
    if states:
        stories = stories.filter(state__in=states)
    if team_number is not None:
        stories = stories.filter(scrum_team__number=team_number)
    by_pk = {team.pk: team for team in teams}
    by_epic = {}
    for story in stories.order_by("scrum_team__number", "rank"):
        story.scrum_team = by_pk[story.scrum_team_id]  # no per-row query for its team
        story.ready_gaps = definition_of_ready_gaps(
            points=story.points, criteria_count=story.criteria_count
        )
        by_epic.setdefault(story.epic_id, []).append(story)
    epic_rows = []
    for position, epic in enumerate(epics.order_by("rank"), start=1):
        mine = by_epic.get(epic.pk, [])
        epic_rows.append(
            {
                "epic": epic,
                "position": position,
                "groups": _team_groups(teams, mine),
                "count": len(mine),
                "points": sum(s.points or 0 for s in mine),
            }
        )
    return {
        "teams": teams,
        "epics": epic_rows,
        "without_epic": _team_groups(teams, by_epic.get(None, [])) if epic_id is None else [],
    }


def epic_of_flow_team(*, actor: Actor, epic_id: int) -> Epic | None:
    return Epic.objects.filter(flow_team=actor.flow_team, pk=epic_id).first()


CRITERION_COLUMNS = ("id", "position", "text", "checked", "checked_by_id", "checked_at")


def story_with_criteria(*, actor: Actor, story_id) -> Story | None:
    """A story of the actor's Flow Team with its criteria in order, in one query: the story
    LEFT JOINed to its criteria, one row per criterion. ``story.criteria.all()`` answers
    from them as from a prefetch. None when there is no such story in the Flow Team."""
    rows = list(
        Story.objects.filter(flow_team=actor.flow_team, pk=story_id)
        .annotate(**{f"criterion_{c}": F(f"criteria__{c}") for c in CRITERION_COLUMNS})
        .order_by("criteria__position")
    )
    if not rows:
        return None
    story = rows[0]
    criteria = [
        AcceptanceCriterion(
            story=story, **{c: getattr(row, f"criterion_{c}") for c in CRITERION_COLUMNS}
        )
        for row in rows
        if row.criterion_id is not None
    ]
    for criterion in criteria:
        criterion._state.adding, criterion._state.db = False, story._state.db
    # The shape prefetch_related leaves: the related manager answers from it.
    prefetched = story.criteria.all()
    prefetched._result_cache, prefetched._prefetch_done = criteria, True
    story._prefetched_objects_cache = {"criteria": prefetched}
    return story
