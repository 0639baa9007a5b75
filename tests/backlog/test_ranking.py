import random

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backlog import services
from backlog.models import Epic, Story
from backlog.ranking import GAP
from sem.errors import PermissionRefused
from tests.backlog.factories import EpicFactory, StoryFactory

pytestmark = pytest.mark.django_db


def writes(queries, table):
    sqls = [q["sql"].strip() for q in queries]
    return [sql for sql in sqls if sql.startswith("UPDATE") and f'"{table}"' in sql.split("SET")[0]]


def order(team):
    return list(Story.objects.filter(scrum_team=team).order_by("rank").values_list("pk", flat=True))


@pytest.fixture
def stories(flow):
    team = flow.scrum_teams[0]
    return [StoryFactory(scrum_team=team, rank=(i + 1) * GAP, title=f"S{i}") for i in range(6)]


def test_moving_one_story_writes_one_row(flow, stories):
    with CaptureQueriesContext(connection) as ctx:
        services.story_rank_move(actor=flow.actor("po1"), story=stories[5], after=stories[1])
    assert len(writes(ctx.captured_queries, "backlog_story")) == 1
    assert order(flow.scrum_teams[0]) == [s.pk for s in [*stories[:2], stories[5], *stories[2:5]]]


def test_after_before_and_top(flow, stories):
    actor = flow.actor("dev1")
    services.story_rank_move(actor=actor, story=stories[0], before=stories[4])
    services.story_rank_move(actor=actor, story=stories[5])  # to the top
    services.story_rank_move(actor=actor, story=stories[2], after=stories[4])
    assert order(flow.scrum_teams[0]) == [
        s.pk for s in [stories[5], stories[1], stories[3], stories[0], stories[4], stories[2]]
    ]


def test_touching_neighbours_rebalance_in_one_statement_keeping_order(flow):
    team = flow.scrum_teams[0]
    stories = [StoryFactory(scrum_team=team, rank=r) for r in (1, 2, 3, 4)]
    with CaptureQueriesContext(connection) as ctx:
        services.story_rank_move(actor=flow.actor("po1"), story=stories[3], after=stories[0])
    updates = writes(ctx.captured_queries, "backlog_story")
    assert len(updates) == 2  # one rebalance statement + the moved row
    assert order(team) == [stories[0].pk, stories[3].pk, stories[1].pk, stories[2].pk]
    ranks = list(Story.objects.filter(scrum_team=team).values_list("rank", flat=True))
    assert len(set(ranks)) == 4


def test_a_story_dropped_back_in_its_place_is_not_its_own_neighbour(flow):
    """Dropped after the story just above it (or before the one just below), it takes the
    midpoint of those two: the sliver between a neighbour and its own old rank is no gap
    to fill, and no renumbering of the list is needed (one row written)."""
    team = flow.scrum_teams[0]
    above, moved, below = (StoryFactory(scrum_team=team, rank=r) for r in (GAP, GAP + 1, 3 * GAP))
    for rank, where in ((GAP + 1, {"after": above}), (3 * GAP - 1, {"before": below})):
        Story.objects.filter(pk=moved.pk).update(rank=rank)
        moved.refresh_from_db()
        with CaptureQueriesContext(connection) as ctx:
            services.story_rank_move(actor=flow.actor("po1"), story=moved, **where)
        assert len(writes(ctx.captured_queries, "backlog_story")) == 1
        assert list(
            Story.objects.filter(scrum_team=team).order_by("rank").values_list("pk", "rank")
        ) == [(above.pk, GAP), (moved.pk, 2 * GAP), (below.pk, 3 * GAP)]


def test_the_only_story_of_a_team_moved_to_the_top_takes_the_first_rank(flow):
    only = StoryFactory(scrum_team=flow.scrum_teams[0], rank=5 * GAP)
    moved = services.story_rank_move(actor=flow.actor("po1"), story=only)
    assert moved.rank == Story.objects.get(pk=only.pk).rank == GAP


@pytest.mark.parametrize("high", [3, 4])
def test_a_gap_of_two_still_takes_the_whole_midpoint_in_one_row(flow, high):
    """Between ranks 1 and 3 (or 4) there is room: the move takes 2, an integer as stored
    (what the caller and the webhooks get back), and renumbers nothing."""
    team = flow.scrum_teams[0]
    first, second, moved = (StoryFactory(scrum_team=team, rank=r) for r in (1, high, 10))
    with CaptureQueriesContext(connection) as ctx:
        done = services.story_rank_move(actor=flow.actor("po1"), story=moved, after=first)
    assert len(writes(ctx.captured_queries, "backlog_story")) == 1
    assert (done.rank, type(done.rank)) == (2, int)
    assert list(
        Story.objects.filter(scrum_team=team).order_by("rank").values_list("pk", "rank")
    ) == [
        (first.pk, 1),
        (moved.pk, 2),
        (second.pk, high),
    ]


def test_rank_move_bumps_version_and_respects_rights(flow, stories):
    moved = services.story_rank_move(actor=flow.actor("po1"), story=stories[3])
    assert moved.version == 2
    with pytest.raises(PermissionRefused):
        services.story_rank_move(actor=flow.actor("dev2"), story=stories[3])
    with pytest.raises(PermissionRefused):
        services.story_rank_move(actor=flow.actor("stakeholder"), story=stories[3])


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(moves=st.lists(st.tuples(st.integers(0, 7), st.integers(-1, 7), st.booleans()), max_size=30))
def test_random_moves_match_a_list_model(flow, moves):
    team = flow.scrum_teams[1]
    Story.objects.filter(scrum_team=team).delete()
    items = [StoryFactory(scrum_team=team, rank=(i + 1) * 3) for i in range(8)]  # tight gaps
    model = [s.pk for s in items]
    actor = flow.actor("po2")
    for item, target, after in moves:
        story = items[item]
        model.remove(story.pk)
        if target < 0 or items[target].pk == story.pk:
            services.story_rank_move(actor=actor, story=story)
            model.insert(0, story.pk)
        elif after:
            services.story_rank_move(actor=actor, story=story, after=items[target])
            model.insert(model.index(items[target].pk) + 1, story.pk)
        else:
            services.story_rank_move(actor=actor, story=story, before=items[target])
            model.insert(model.index(items[target].pk), story.pk)
    assert order(team) == model


def test_ninety_nine_percent_of_moves_write_one_row(flow):
    team = flow.scrum_teams[2]
    items = [StoryFactory(scrum_team=team, rank=(i + 1) * GAP) for i in range(50)]
    rng = random.Random(4)
    actor = flow.actor("po3")
    single = 0
    for _ in range(1000):
        story, neighbour = rng.sample(items, 2)
        # The query log keeps the last 9,000 queries: past that, a capture reads nothing.
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            services.story_rank_move(actor=actor, story=story, after=neighbour)
        single += len(writes(ctx.captured_queries, "backlog_story")) == 1
    print(f"\nmoves writing one row: {single / 10:.1f}%")
    assert single >= 990


def test_only_the_cpo_ranks_epics(flow):
    epics = [EpicFactory(flow_team=flow.flow_team, rank=(i + 1) * GAP) for i in range(3)]
    with pytest.raises(PermissionRefused):
        services.epic_rank_move(actor=flow.actor("csm"), epic=epics[2])
    with CaptureQueriesContext(connection) as ctx:
        services.epic_rank_move(actor=flow.actor("cpo"), epic=epics[2], before=epics[0])
    assert len(writes(ctx.captured_queries, "backlog_epic")) == 1
    assert list(Epic.objects.filter(flow_team=flow.flow_team).values_list("pk", flat=True)) == [
        epics[2].pk,
        epics[0].pk,
        epics[1].pk,
    ]
