"""Team Sprint Planning's writes (flow/capacity/services.py) at their edges: each refusal
word for word with the field it names, the bounds of days, points and titles, what each
write leaves behind (the goal's version and time, the capacity in person-days of the
present members), the live version each write bumps, and the queries of the reads the
services make. The screen itself is tested in tests/events/test_team_planning.py."""

from decimal import Decimal

import pytest
from django.utils import timezone

from backlog.models import Task
from flow.capacity import services as capacity
from flow.capacity.selectors import team_sprint_live_key
from flow.models import FlowSprint, MemberAvailability, SprintCommitment, TeamSprint
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from teams.models import Membership
from teams.services import role_revoke
from tests.events.team_planning_setup import team_planning_setup
from tests.events.test_team_planning import story_of
from tests.flow.factories import FlowSprintFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tp(flow):
    return team_planning_setup(flow)


def refused(call, message: str, field: str, kind=RuleViolation):
    with pytest.raises(kind) as refusal:
        call()
    if kind is RuleViolation:
        assert refusal.value.detail == {field: [message]}
    else:
        assert str(refusal.value) == message
    return refusal.value


def fresh(tp) -> TeamSprint:
    return TeamSprint.objects.get(pk=tp.team_sprint.pk)


def live(tp) -> int:
    key = team_sprint_live_key(tp.team_sprint.pk)
    return live_versions([key])[key]


def planned_task(tp, title="Write it", assignee_id=None) -> Task:
    capacity.team_story_plan(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=tp.ready[0], into=True
    )
    return capacity.team_task_add(
        actor=tp.actor("po1"),
        team_sprint=tp.team_sprint,
        story=tp.ready[0],
        title=title,
        assignee_id=assignee_id,
    )


# --- Who may, and while the Flow Sprint is open ----------------------------------------


def test_the_plan_of_another_flow_teams_team_sprint_is_refused_saying_so(tp, foreign):
    refused(
        lambda: capacity.capacity_set(
            actor=foreign.actor("po1"), team_sprint=tp.team_sprint, points="9"
        ),
        "the Team Sprint is not in this Flow Team",
        "team_sprint",
    )


def test_someone_else_than_the_teams_po_or_sm_is_refused_saying_who_may(tp):
    refused(
        lambda: capacity.capacity_set(actor=tp.actor("dev1"), team_sprint=tp.team_sprint, points=9),
        "the team's PO or SM sets its sprint goal, capacity and days",
        None,
        kind=PermissionRefused,
    )


def test_a_closed_flow_sprints_plan_is_refused_and_left_as_it_was(tp):
    FlowSprint.objects.filter(pk=tp.sprint.pk).update(state="closed", closed_at=timezone.now())
    writes = (
        lambda: capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points=9),
        lambda: capacity.availability_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days="3"
        ),
        lambda: capacity.team_sprint_goal_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, text="Ship", expected_version=0
        ),
    )
    for write in writes:
        refused(write, "this Flow Sprint is closed", "team_sprint")
    ts = fresh(tp)
    assert (ts.capacity_points, ts.goal, ts.capacity_days) == (None, "", None)
    assert not MemberAvailability.objects.exists()


# --- Available days -------------------------------------------------------------------


@pytest.mark.parametrize("days", ["0", "10", "4.5", " 7 "])
def test_days_from_none_to_every_working_day_in_half_days_are_kept(tp, days):
    kept = capacity.availability_set(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days=days
    )
    assert kept == Decimal(days.strip())
    assert MemberAvailability.objects.get(user=tp.dev1).days == Decimal(days.strip())
    # the two other members give every one of the sprint's 10 working days
    assert fresh(tp).capacity_days == Decimal(days.strip()) + 20


@pytest.mark.parametrize(
    ("days", "message"),
    [
        ("-0.5", "between 0 and 10 days (the sprint's working days)"),
        ("10.5", "between 0 and 10 days (the sprint's working days)"),
        ("2.25", "whole or half days, like 4 or 4.5"),
        ("four", "a number of days like 7 or 4.5"),
        ("Infinity", "a number of days like 7 or 4.5"),
    ],
)
def test_days_out_of_bounds_are_refused_word_for_word(tp, days, message):
    refused(
        lambda: capacity.availability_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days=days
        ),
        message,
        "days",
    )
    assert not MemberAvailability.objects.exists()


def test_days_of_someone_outside_the_team_are_refused_word_for_word(tp):
    refused(
        lambda: capacity.availability_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, user_id=tp.dev2.pk, days="3"
        ),
        "this person is not a member of the Scrum Team",
        "user",
    )


def test_the_capacity_in_days_counts_this_team_sprints_present_members_only(tp):
    po = tp.actor("po1")
    # The same member's days in another Team Sprint do not count here.
    other = TeamSprint.objects.create(
        flow_sprint=FlowSprintFactory(flow_team=tp.flow_team, number=5, start=tp.sprint.end),
        scrum_team=tp.team,
    )
    capacity.availability_set(actor=po, team_sprint=other, user_id=tp.sm1.pk, days="1")
    capacity.availability_set(actor=po, team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days="2")
    assert fresh(tp).capacity_days == 2 + 10 + 10
    # dev1 leaves the team: their 2 days stay on record, but are no longer capacity.
    membership = Membership.objects.get(user=tp.dev1, flow_team=tp.flow_team)
    role_revoke(membership=membership, role="developer", scrum_team=tp.team)
    capacity.availability_set(actor=po, team_sprint=tp.team_sprint, user_id=tp.sm1.pk, days="3")
    assert fresh(tp).capacity_days == 3 + 10
    assert MemberAvailability.objects.filter(team_sprint=tp.team_sprint).count() == 2


# --- Capacity in points ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "kept"), [("0", 0), ("9999", 9999), (" 12 ", 12), (12, 12), ("", None), (None, None)]
)
def test_a_capacity_of_0_to_9999_points_or_none_is_kept(tp, points, kept):
    capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points="5")
    ts = capacity.capacity_set(actor=tp.actor("sm1"), team_sprint=tp.team_sprint, points=points)
    assert ts.capacity_points == kept and fresh(tp).capacity_points == kept
    assert fresh(tp).capacity_set_by == tp.sm1


@pytest.mark.parametrize("points", ["10000", "-1", "4.5", "١٢", "None", "x"])
def test_any_other_capacity_is_refused_word_for_word(tp, points):
    refused(
        lambda: capacity.capacity_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, points=points
        ),
        "a whole number of points, 0 to 9999",
        "capacity_points",
    )
    assert fresh(tp).capacity_points is None


# --- The team sprint goal -------------------------------------------------------------


def test_each_goal_saved_counts_its_version_up_by_one_and_says_when(tp):
    before = timezone.now()
    for version in (0, 1, 2):
        capacity.team_sprint_goal_set(
            actor=tp.actor("po1"),
            team_sprint=tp.team_sprint,
            text=f"Goal {version}",
            expected_version=version,
        )
    ts = fresh(tp)
    assert (ts.goal, ts.goal_version, ts.goal_set_by) == ("Goal 2", 3, tp.po1)
    assert before <= ts.goal_set_at <= timezone.now()


def test_a_stale_goal_names_the_current_version(tp):
    capacity.team_sprint_goal_set(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, text="First", expected_version=0
    )
    conflict = refused(
        lambda: capacity.team_sprint_goal_set(
            actor=tp.actor("sm1"), team_sprint=tp.team_sprint, text="Mine", expected_version=0
        ),
        "the object changed meanwhile; its current version is 1",
        None,
        kind=VersionConflict,
    )
    assert conflict.current_version == 1


def test_an_empty_goal_is_refused_naming_the_team_sprint_goal(tp):
    refused(
        lambda: capacity.team_sprint_goal_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, text=" ", expected_version=0
        ),
        "write the team sprint goal",
        "goal",
    )


# --- Planning stories -----------------------------------------------------------------


def test_another_flow_teams_story_is_refused_word_for_word(tp, foreign):
    theirs = story_of(foreign, 0)
    for call in (
        lambda: capacity.team_story_plan(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=theirs, into=True
        ),
        lambda: capacity.team_task_add(
            actor=tp.actor("po1"),
            team_sprint=tp.team_sprint,
            story=theirs,
            title="t",
            assignee_id=None,
        ),
    ):
        refused(call, "the story is not in this Flow Team", "story")


def test_another_teams_story_is_refused_word_for_word(tp):
    theirs = story_of(tp, 1)
    refused(
        lambda: capacity.team_story_plan(
            actor=tp.actor("cpo"), team_sprint=tp.team_sprint, story=theirs, into=True
        ),
        "plan a story into its own team's sprint",
        "story",
    )
    refused(
        lambda: capacity.team_task_add(
            actor=tp.actor("cpo"),
            team_sprint=tp.team_sprint,
            story=theirs,
            title="t",
            assignee_id=None,
        ),
        "the story is not this team's",
        "story",
    )


# --- Tasks ----------------------------------------------------------------------------


def test_a_task_title_of_200_characters_is_kept_and_201_are_refused(tp):
    assert planned_task(tp, title="x" * 200).title == "x" * 200
    refused(
        lambda: capacity.team_task_add(
            actor=tp.actor("po1"),
            team_sprint=tp.team_sprint,
            story=tp.ready[0],
            title="x" * 201,
            assignee_id=None,
        ),
        "at most 200 characters",
        "title",
    )
    assert Task.objects.count() == 1


def test_a_task_goes_to_a_member_and_not_to_someone_outside_the_team(tp):
    assert planned_task(tp, assignee_id=tp.dev1.pk).assignee == tp.dev1
    refused(
        lambda: capacity.team_task_add(
            actor=tp.actor("po1"),
            team_sprint=tp.team_sprint,
            story=tp.ready[0],
            title="Theirs",
            assignee_id=tp.dev2.pk,
        ),
        "the assignee must be a member of the Scrum Team",
        "assignee",
    )


def test_a_task_is_handed_to_another_member_or_to_nobody(tp):
    task = planned_task(tp, assignee_id=tp.dev1.pk)
    for assignee in (tp.sm1, None):
        capacity.team_task_update(
            actor=tp.actor("dev1"),
            team_sprint=tp.team_sprint,
            task=task,
            data={"assignee": assignee and assignee.pk},
        )
        assert Task.objects.get(pk=task.pk).assignee == assignee
    refused(
        lambda: capacity.team_task_update(
            actor=tp.actor("dev1"),
            team_sprint=tp.team_sprint,
            task=task,
            data={"assignee": tp.dev2.pk},
        ),
        "the assignee must be a member of the Scrum Team",
        "assignee",
    )
    assert Task.objects.get(pk=task.pk).assignee is None


def test_a_task_of_another_teams_story_is_refused_word_for_word(tp):
    task = planned_task(tp)
    other = TeamSprint.objects.create(flow_sprint=tp.sprint, scrum_team=tp.scrum_teams[1])
    refused(
        lambda: capacity.team_task_update(
            actor=tp.actor("cpo"), team_sprint=other, task=task, data={"done": True}
        ),
        "the task is not this team's",
        "task",
    )
    assert not Task.objects.get(pk=task.pk).done


# --- Live versions and queries --------------------------------------------------------


def test_every_write_bumps_this_team_sprints_live_version(tp):
    po = tp.actor("po1")
    writes = [
        lambda: capacity.availability_set(
            actor=po, team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days="3"
        ),
        lambda: capacity.capacity_set(actor=po, team_sprint=tp.team_sprint, points="9"),
        lambda: capacity.team_sprint_goal_set(
            actor=po, team_sprint=tp.team_sprint, text="Ship", expected_version=0
        ),
        lambda: capacity.team_story_plan(
            actor=po, team_sprint=tp.team_sprint, story=tp.ready[0], into=True
        ),
        lambda: capacity.team_task_add(
            actor=po, team_sprint=tp.team_sprint, story=tp.ready[0], title="t", assignee_id=None
        ),
        lambda: capacity.team_task_update(
            actor=po, team_sprint=tp.team_sprint, task=Task.objects.get(), data={"done": True}
        ),
    ]
    for n, write in enumerate(writes, start=1):
        write()
        assert live(tp) == n


def test_the_team_sprint_of_a_team_and_flow_sprint_is_found_or_made(tp):
    later = FlowSprintFactory(flow_team=tp.flow_team, number=5, start=tp.sprint.end)
    assert capacity.team_sprint_ensure(
        flow_sprint_id=tp.sprint.pk, scrum_team_id=tp.team.pk
    ) == fresh(tp)
    made = capacity.team_sprint_ensure(flow_sprint_id=later.pk, scrum_team_id=tp.team.pk)
    assert (made.flow_sprint_id, made.scrum_team_id) == (later.pk, tp.team.pk)
    second = capacity.team_sprint_ensure(
        flow_sprint_id=tp.sprint.pk, scrum_team_id=tp.scrum_teams[1].pk
    )
    assert (second.flow_sprint_id, second.scrum_team_id) == (tp.sprint.pk, tp.scrum_teams[1].pk)
    assert TeamSprint.objects.count() == 3


def test_the_team_sprint_comes_with_what_the_screen_reads_in_one_query(
    tp, django_assert_num_queries
):
    capacity.team_sprint_goal_set(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, text="Ship", expected_version=0
    )
    capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points="9")
    with django_assert_num_queries(1):
        ts = capacity.team_sprint_ensure(flow_sprint_id=tp.sprint.pk, scrum_team_id=tp.team.pk)
        names = (
            ts.flow_sprint.flow_team.name,
            ts.scrum_team.name,
            ts.goal_set_by.full_name,
            ts.capacity_set_by.full_name,
        )
    assert names == (tp.flow_team.name, tp.team.name, tp.po1.full_name, tp.po1.full_name)


def test_setting_the_capacity_reads_the_team_sprint_with_its_flow_sprint_in_one_query(
    tp, django_assert_num_queries
):
    po = tp.actor("po1")
    # savepoint, the locked Team Sprint with its Flow Sprint and Flow Team, the update,
    # the live bump, release
    with django_assert_num_queries(5):
        capacity.capacity_set(actor=po, team_sprint=tp.team_sprint, points="9")


def test_planning_a_planned_story_again_is_refused_as_planned_not_as_past_the_capacity(tp):
    # The story's own points are not counted twice against the capacity.
    capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points="5")
    capacity.team_story_plan(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=tp.ready[0], into=True
    )
    with pytest.raises(RuleViolation) as refusal:
        capacity.team_story_plan(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=tp.ready[0], into=True
        )
    assert refusal.value.detail == {
        "team_sprint": [f"the story is already planned into Flow Sprint {tp.sprint.number}"]
    }


def test_the_load_is_this_team_sprints_open_plan_and_a_story_may_fill_it_exactly(tp):
    po = tp.actor("po1")
    first, second = tp.ready  # 5 points each
    # planned in another Flow Sprint's Team Sprint: not this sprint's load
    later = TeamSprint.objects.create(
        flow_sprint=FlowSprintFactory(flow_team=tp.flow_team, number=5, start=tp.sprint.end),
        scrum_team=tp.team,
    )
    capacity.team_story_plan(actor=po, team_sprint=later, story=first, into=True)
    capacity.capacity_set(actor=po, team_sprint=tp.team_sprint, points="5")
    capacity.team_story_plan(actor=po, team_sprint=tp.team_sprint, story=second, into=True)
    # dropped from this sprint: no longer its load either
    SprintCommitment.objects.filter(story=second).update(outcome="dropped")
    capacity.team_story_plan(actor=po, team_sprint=tp.team_sprint, story=first, into=True)
    assert SprintCommitment.objects.get(story=first).team_sprint_id == tp.team_sprint.pk


def test_a_plan_past_the_capacity_is_refused_naming_the_story_the_load_and_the_capacity(tp):
    po = tp.actor("po1")
    first, second = tp.ready  # 5 points each
    capacity.capacity_set(actor=po, team_sprint=tp.team_sprint, points="8")
    capacity.team_story_plan(actor=po, team_sprint=tp.team_sprint, story=first, into=True)
    refused(
        lambda: capacity.team_story_plan(
            actor=po, team_sprint=tp.team_sprint, story=second, into=True
        ),
        f"“{second.title}” (5 points) would take the sprint to 10 points, "
        "past its capacity of 8 points",
        "capacity",
    )
    assert not SprintCommitment.objects.filter(story=second).exists()
