"""The backlog's services refuse another Flow Team's items on their own, not only through
the interfaces' scoped lookups: the CPO's rights (the roadmap, any team's stories) name no
Flow Team, so a new caller that forgot to scope its lookup would otherwise write across
Flow Teams. Each refusal is a NotFound, as the interfaces answer, and writes nothing."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services
from backlog.models import AcceptanceCriterion, Epic, Milestone, ProductGoal, Story, Task
from sem.errors import NotFound

pytestmark = pytest.mark.django_db

START = datetime.date(2026, 3, 2)


@pytest.fixture
def theirs(foreign):
    """The other Flow Team's roadmap and one story with a criterion and a task."""
    cpo = foreign.actor("cpo")
    goal = services.product_goal_create(actor=cpo, statement="Their goal")
    milestone = services.milestone_create(
        actor=cpo, name="Theirs", objective="x", start=START, end=START + datetime.timedelta(56)
    )
    epic = services.epic_create(actor=cpo, title="Their epic")
    story = services.story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Their story"
    )
    criterion = services.criterion_add(actor=foreign.actor("po1"), story=story, text="Done")
    task = services.task_create(actor=foreign.actor("dev1"), story=story, title="Do it")
    story.refresh_from_db()
    return {
        "goal": goal,
        "milestone": milestone,
        "epic": epic,
        "story": story,
        "criterion": criterion,
        "task": task,
    }


# (who of ``flow`` acts, the call on the other Flow Team's items)
CALLS = {
    "product_goal_close": (
        "cpo",
        lambda a, t: services.product_goal_close(actor=a, goal=t["goal"], status="achieved"),
    ),
    "product_goal_update": (
        "cpo",
        lambda a, t: services.product_goal_update(actor=a, goal=t["goal"], data={"statement": "x"}),
    ),
    "milestone_update": (
        "cpo",
        lambda a, t: services.milestone_update(
            actor=a, milestone=t["milestone"], data={"name": "x"}
        ),
    ),
    "milestone_move": (
        "cpo",
        lambda a, t: services.milestone_move(actor=a, milestone=t["milestone"]),
    ),
    "milestone_close": (
        "cpo",
        lambda a, t: services.milestone_close(actor=a, milestone=t["milestone"]),
    ),
    "epic_update": (
        "cpo",
        lambda a, t: services.epic_update(actor=a, epic=t["epic"], data={"title": "x"}),
    ),
    "epic_change (move)": (
        "cpo",
        lambda a, t: services.epic_change(actor=a, epic=t["epic"], to_state="analysis"),
    ),
    "epic_rank_move": ("cpo", lambda a, t: services.epic_rank_move(actor=a, epic=t["epic"])),
    "story_change (edit)": (
        "cpo",
        lambda a, t: services.story_change(actor=a, story=t["story"], data={"title": "x"}),
    ),
    "story_change (read at its version)": (
        "cpo",
        lambda a, t: services.story_change(
            actor=a, story=t["story"], data={"title": "x"}, expected_version=t["story"].version
        ),
    ),
    "story_rank_move": ("cpo", lambda a, t: services.story_rank_move(actor=a, story=t["story"])),
    "criterion_add": (
        "cpo",
        lambda a, t: services.criterion_add(actor=a, story=t["story"], text="x"),
    ),
    "criterion_delete": (
        "cpo",
        lambda a, t: services.criterion_delete(actor=a, criterion=t["criterion"]),
    ),
    "criterion_check": (
        "dev1",
        lambda a, t: services.criterion_check(actor=a, criterion=t["criterion"], checked=True),
    ),
    "task_create": (
        "dev1",
        lambda a, t: services.task_create(actor=a, story=t["story"], title="x"),
    ),
    "task_update": (
        "dev1",
        lambda a, t: services.task_update(actor=a, task=t["task"], data={"title": "x"}),
    ),
    "blocker_raise": (
        "dev1",
        lambda a, t: services.blocker_raise(actor=a, story=t["story"], reason="x"),
    ),
}


def _state(t):
    return (
        list(ProductGoal.objects.values_list("pk", "statement", "status", "updated_at")),
        list(Milestone.objects.values_list("pk", "name", "order", "closed_at", "version")),
        list(Epic.objects.values_list("pk", "title", "state", "rank", "version")),
        list(Story.objects.values_list("pk", "title", "rank", "blocked", "version")),
        list(AcceptanceCriterion.objects.values_list("pk", "text", "checked")),
        list(Task.objects.values_list("pk", "title")),
    )


@pytest.mark.parametrize("name", CALLS)
def test_another_flow_teams_item_is_not_found_and_nothing_is_written(flow, theirs, name):
    role, call = CALLS[name]
    before = _state(theirs)

    with pytest.raises(NotFound) as refusal:
        call(flow.actor(role), theirs)

    assert "in your Flow Team" in str(refusal.value)
    assert _state(theirs) == before


def test_the_refusal_names_the_kind_of_item(flow, theirs):
    with pytest.raises(NotFound, match="^no such milestone in your Flow Team$"):
        services.milestone_close(actor=flow.actor("cpo"), milestone=theirs["milestone"])
    with pytest.raises(NotFound, match="^no such story in your Flow Team$"):
        services.story_rank_move(actor=flow.actor("cpo"), story=theirs["story"])


@pytest.mark.parametrize("name", CALLS)
def test_another_flow_teams_item_is_refused_before_any_row_is_read_or_locked(flow, theirs, name):
    """The refusal needs only the item the interface looked up: no lock on another Flow
    Team's rows, not even for the rolled-back moment before it."""
    role, call = CALLS[name]
    actor = flow.actor(role)
    with CaptureQueriesContext(connection) as queries, pytest.raises(NotFound):
        call(actor, theirs)
    reads = [
        q["sql"] for q in queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))
    ]
    assert reads == []
