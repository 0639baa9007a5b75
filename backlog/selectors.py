from datetime import datetime
from fractions import Fraction

from django.db.models import Count, F, Q, QuerySet, Sum

from backlog.models import (
    AcceptanceCriterion,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    Story,
)
from sem.raw_rows import ModelColumns
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


def milestones_with_progress(*, actor: Actor) -> QuerySet[Milestone]:
    """The Flow Team's milestones, each annotated with the progress of its epics (done
    points and stories over total; cancelled epics are not work to do), in one query
    whatever the number of milestones, epics and stories."""
    counted = Q(epics__state__in=[s for s in Epic.State.values if s != Epic.State.CANCELLED])
    done = counted & Q(epics__stories__state=Story.State.DONE)
    return Milestone.objects.filter(flow_team=actor.flow_team).annotate(
        points_done=Sum("epics__stories__points", filter=done, default=0),
        points_total=Sum("epics__stories__points", filter=counted, default=0),
        stories_done=Count("epics__stories", filter=done),
        stories_total=Count("epics__stories", filter=counted),
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


# A page of the product backlog: enough epics to refine in one sitting, few enough that the
# page stays fast on the largest Flow Team (300 epics, 6,000 stories; quality.md).
EPICS_PER_PAGE = 20
# Stories without an epic are shown up to this many; the filters narrow them further.
WITHOUT_EPIC_SHOWN = 200


def backlog_board(
    *,
    actor: Actor,
    states=(),
    team_number: int | None = None,
    epic_id: int | None = None,
    page: int = 1,
    without_epic: bool = False,
) -> dict:
    """One page of epics in rank order, each with its stories grouped per Scrum Team in
    the team's rank order, and how many stories have no epic. Five queries whatever the
    size: the teams, the epics counted, the page's epics, their stories (criteria counted
    in the same query), the stories without an epic counted.

    ``without_epic`` reads those stories instead of epics (at most WITHOUT_EPIC_SHOWN).
    ``states`` and ``team_number`` narrow the stories; every epic stays listed so that
    it can be split. ``epic_id`` reads one epic only (the split answer re-renders it)."""
    teams = list(ScrumTeam.objects.filter(flow_team=actor.flow_team).order_by("number"))
    epics = Epic.objects.filter(flow_team=actor.flow_team).select_related("milestone")
    stories = Story.objects.filter(flow_team=actor.flow_team).annotate(
        criteria_count=Count("criteria")
    )
    if states:
        stories = stories.filter(state__in=states)
    if team_number is not None:
        stories = stories.filter(scrum_team__number=team_number)
    loose = stories.filter(epic__isnull=True)
    by_pk = {team.pk: team for team in teams}

    def read(rows) -> dict:
        by_epic = {}
        for story in rows:
            story.scrum_team = by_pk[story.scrum_team_id]  # no per-row query for its team
            story.ready_gaps = definition_of_ready_gaps(
                points=story.points, criteria_count=story.criteria_count
            )
            by_epic.setdefault(story.epic_id, []).append(story)
        return by_epic

    total = epics.count()
    pages = max(1, -(-total // EPICS_PER_PAGE))
    page = min(max(1, page), pages)
    board = {"teams": teams, "total": total, "page": page, "pages": pages, "epics": []}
    if without_epic:
        shown = read(loose.order_by("scrum_team__number", "rank")[:WITHOUT_EPIC_SHOWN])
        board["without_epic"] = _team_groups(teams, shown.get(None, []))
        board["without_epic_shown"] = len(shown.get(None, []))
        board["without_epic_count"] = loose.count()
        return board
    first = (page - 1) * EPICS_PER_PAGE
    if epic_id is not None:
        page_epics, first = list(epics.filter(pk=epic_id)), 0
    else:
        page_epics = list(epics.order_by("rank")[first : first + EPICS_PER_PAGE])
    by_epic = read(
        stories.filter(epic__in=[e.pk for e in page_epics]).order_by("scrum_team__number", "rank")
    )
    for position, epic in enumerate(page_epics, start=first + 1):
        mine = by_epic.get(epic.pk, [])
        board["epics"].append(
            {
                "epic": epic,
                "position": position,
                "groups": _team_groups(teams, mine),
                "count": len(mine),
                "points": sum(s.points or 0 for s in mine),
            }
        )
    board["first"], board["last"] = first + 1, first + len(page_epics)
    board["without_epic_count"] = loose.count() if epic_id is None else 0
    return board


def epic_of_flow_team(*, actor: Actor, epic_id: int) -> Epic | None:
    return Epic.objects.filter(flow_team=actor.flow_team, pk=epic_id).first()


def milestone_of_flow_team(*, actor: Actor, milestone_id: int) -> Milestone | None:
    return Milestone.objects.filter(flow_team=actor.flow_team, pk=milestone_id).first()


def epic_lane_step(*, epic: Epic, direction: str) -> tuple[Epic | None, Epic | None]:
    """The neighbour a keyboard move "up" or "down" lands next to, inside the epic's lane
    (its milestone, or the unscheduled lane): (after, before) for ``epic_rank_move``.
    (None, None) when the epic is already at that end of its lane. One query."""
    lane = Epic.objects.filter(flow_team_id=epic.flow_team_id, milestone_id=epic.milestone_id)
    if direction == "up":
        return None, lane.filter(rank__lt=epic.rank).order_by("-rank").first()
    return lane.filter(rank__gt=epic.rank).order_by("rank").first(), None


def epic_lane_end(*, epic: Epic, milestone: Milestone | None) -> tuple[Epic | None, Epic | None]:
    """Where an epic goes when it moves to the end of another lane without naming a
    neighbour (a keyboard "move to", a drop into an empty lane): after the lane's last
    epic; in an empty lane after the last epic of the lanes before it on the roadmap, or
    before the first of the lanes after it, so the Flow Team's one rank order keeps
    following the roadmap's lanes. Lanes go in milestone order, the unscheduled one last."""
    epics = Epic.objects.filter(flow_team_id=epic.flow_team_id).exclude(pk=epic.pk)
    if milestone is None:
        own, earlier, later = Q(milestone__isnull=True), Q(milestone__isnull=False), None
    else:
        own = Q(milestone=milestone)
        earlier = Q(milestone__order__lt=milestone.order)
        later = Q(milestone__order__gt=milestone.order) | Q(milestone__isnull=True)
    last = (
        epics.filter(own).order_by("-rank").first()
        or epics.filter(earlier).order_by("-rank").first()
    )
    if last is not None:
        return last, None
    first_later = epics.filter(later).order_by("rank").first() if later is not None else None
    return None, first_later


def milestones_of_flow_team(*, actor: Actor) -> list[Milestone]:
    """The Flow Team's milestones in roadmap order."""
    return list(Milestone.objects.filter(flow_team=actor.flow_team).order_by("order"))


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
    return _with_criteria(story, criteria)


def _with_criteria(story: Story, criteria: list[AcceptanceCriterion]) -> Story:
    # The shape prefetch_related leaves: the related manager answers from it.
    prefetched = story.criteria.all()
    prefetched._result_cache, prefetched._prefetch_done = criteria, True
    story._prefetched_objects_cache = {"criteria": prefetched}
    return story


STORY_COLUMNS = ModelColumns(Story, "changed")
CRITERION_ROW = ModelColumns(AcceptanceCriterion, "c")


def story_with_criteria_sql(source: str) -> str:
    """A SELECT of the story in ``source`` (a CTE or table named ``changed``) LEFT JOINed
    to its criteria in order; ``story_from_rows`` reads its rows."""
    table = AcceptanceCriterion._meta.db_table
    return (
        f"SELECT {STORY_COLUMNS.select}, {CRITERION_ROW.select} FROM {source} "
        f'LEFT JOIN "{table}" c ON c.story_id = changed.id ORDER BY c.position'
    )


def story_from_rows(rows: list[tuple]) -> Story | None:
    """The story, with its criteria as if prefetched, of ``story_with_criteria_sql``'s rows."""
    if not rows:
        return None
    story = STORY_COLUMNS.instance(rows[0])
    criteria = [
        CRITERION_ROW.instance(row, STORY_COLUMNS.width)
        for row in rows
        if row[STORY_COLUMNS.width] is not None
    ]
    return _with_criteria(story, criteria)


def criteria_rows_of_stories(*, story_ids: list[int], columns: tuple) -> dict[int, list[tuple]]:
    """The ``columns`` (which name ``story_id``) of the criteria of ``story_ids``, by story
    id and in each story's order, in one query (none for no stories): a list's page writes
    them out from these."""
    found: dict[int, list[tuple]] = {}
    if not story_ids:
        return found
    story = columns.index("story_id")
    rows = (
        AcceptanceCriterion.objects.filter(story_id__in=story_ids)
        .order_by("story_id", "position")
        .values_list(*columns)
    )
    for row in rows:
        found.setdefault(row[story], []).append(row)
    return found
