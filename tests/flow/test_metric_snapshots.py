"""The metrics job: snapshots per Flow Team and Scrum Team, read from the history in a fixed
number of queries, written once, and due once per finished day."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog.models import Epic, StateChange
from flow import selectors, services, tasks
from flow.metrics.forecast import TRIALS
from flow.models import FlowSprint, MetricSnapshot
from tests.backlog.factories import BlockerFactory, EpicFactory, MilestoneFactory
from tests.flow.factories import FlowSprintFactory, SprintCommitmentFactory, TeamSprintFactory
from tests.flow.history import D, build_history, local, story_with

pytestmark = pytest.mark.django_db


def writes(ctx):
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().split(" ")[0] in ("INSERT", "UPDATE", "DELETE")
    ]


def snapshot(flow_team, team=None, as_of=None):
    rows = MetricSnapshot.objects.filter(flow_team=flow_team, scrum_team=team)
    return (rows.get(as_of=as_of) if as_of else rows.latest("as_of")).data


@pytest.fixture
def history(flow):
    return build_history(flow)


def test_a_snapshot_per_flow_team_and_scrum_team_and_a_second_run_writes_nothing(history):
    flow_team = history.flow_team
    result = services.metric_snapshots_compute(flow_team=flow_team, as_of=D(2026, 3, 10))
    assert result == {"as_of": "2026-03-10", "created": 4, "updated": 0}

    whole = snapshot(flow_team)
    assert [row[7] for row in whole["finished"]["rows"]] == [1, 6]  # cycle times
    assert whole["cycle_time"] == {"50": 1, "70": 6, "85": 6, "95": 6}
    assert whole["first_day"] == "2026-03-02"
    assert whole["daily"]["throughput"] == [0, 1, 0, 0, 0, 0, 0, 1, 0]
    assert whole["daily"]["wip"] == [0, 1, 1, 2, 2, 2, 2, 2, 1]
    assert whole["daily"]["cfd"]["done"] == [0, 1, 1, 1, 1, 1, 1, 2, 2]
    assert [(row[4], row[6]) for row in whole["aging"]["rows"]] == [("in_progress", 6)]

    team_one = snapshot(flow_team, history.scrum_teams[0])
    assert len(team_one["finished"]["rows"]) == 2 and team_one["aging"]["rows"] == []
    assert team_one["daily"]["wip"] == [0, 1, 1, 1, 1, 1, 1, 1, 0]
    assert snapshot(flow_team, history.scrum_teams[2])["finished"]["rows"] == []

    with CaptureQueriesContext(connection) as ctx:
        again = services.metric_snapshots_compute(flow_team=flow_team, as_of=D(2026, 3, 10))
    assert again == {"as_of": "2026-03-10", "created": 0, "updated": 0}
    assert writes(ctx) == []


def test_each_day_keeps_its_own_snapshots(history):
    flow_team = history.flow_team
    first = services.metric_snapshots_compute(flow_team=flow_team, as_of=D(2026, 3, 9))
    day_before = {s.pk: s.data for s in MetricSnapshot.objects.all()}
    second = services.metric_snapshots_compute(flow_team=flow_team, as_of=D(2026, 3, 10))
    assert (first["created"], second["created"], second["updated"]) == (4, 4, 0)
    assert {s.pk: s.data for s in MetricSnapshot.objects.filter(pk__in=day_before)} == day_before
    assert sorted(MetricSnapshot.objects.values_list("as_of", flat=True).distinct()) == [
        D(2026, 3, 9),
        D(2026, 3, 10),
    ]


def test_a_new_change_updates_only_the_snapshots_it_touches(history):
    flow_team = history.flow_team
    services.metric_snapshots_compute(flow_team=flow_team, as_of=D(2026, 3, 10))
    story = flow_team.stories.get(state="in_progress")
    StateChange.objects.create(
        flow_team=flow_team, story=story, from_state="in_progress", to_state="done",
        at=local("2026-03-10", 9),
    )  # fmt: skip
    result = services.metric_snapshots_compute(flow_team=flow_team, as_of=D(2026, 3, 10))
    assert result == {"as_of": "2026-03-10", "created": 0, "updated": 2}  # Flow Team, team 2
    assert snapshot(flow_team)["daily"]["throughput"][-1] == 1


def test_a_past_day_is_computed_as_it_stood_then(history):
    services.metric_snapshots_compute(flow_team=history.flow_team, as_of=D(2026, 3, 5))
    data = snapshot(history.flow_team, as_of=D(2026, 3, 5))
    assert data["as_of"] == "2026-03-05"
    assert len(data["finished"]["rows"]) == 1  # the second finished on the 9th
    assert [row[6] for row in data["aging"]["rows"]] == [2, 1]  # ages on the 5th


def test_another_flow_teams_history_is_never_counted(history, foreign):
    story_with(foreign.scrum_teams[0], ("backlog", "2026-03-02"), ("done", "2026-03-04"))
    services.metric_snapshots_compute(flow_team=history.flow_team, as_of=D(2026, 3, 10))
    assert len(snapshot(history.flow_team)["finished"]["rows"]) == 2


def test_loading_the_inputs_takes_the_same_queries_at_any_size(flow, django_assert_num_queries):
    team = flow.scrum_teams[0]
    story_with(team, ("backlog", "2026-03-02"), ("done", "2026-03-03"))
    FlowSprintFactory(flow_team=flow.flow_team, number=5)  # 2 to 15 March
    MilestoneFactory(flow_team=flow.flow_team, start=D(2026, 3, 1), end=D(2026, 5, 1))
    with django_assert_num_queries(9):
        selectors.metrics_inputs(flow_team=flow.flow_team, as_of=D(2026, 3, 10))
    for n in range(30):
        story_with(flow.scrum_teams[n % 3], ("backlog", "2026-03-02"), ("done", "2026-03-03"))
        BlockerFactory(story__scrum_team=team, raised_at=local("2026-03-02"))
    for n in range(6, 10):
        FlowSprintFactory(flow_team=flow.flow_team, number=n)
    MilestoneFactory(flow_team=flow.flow_team, start=D(2026, 3, 1), end=D(2026, 6, 1))
    with django_assert_num_queries(9):
        selectors.metrics_inputs(flow_team=flow.flow_team, as_of=D(2026, 3, 10))


def test_blocked_time_lowers_flow_efficiency(flow):
    story = story_with(
        flow.scrum_teams[0], ("backlog", "2026-03-02", 0), ("in_progress", "2026-03-03", 0),
        ("done", "2026-03-05", 0),
    )  # fmt: skip
    BlockerFactory(
        story=story, raised_at=local("2026-03-03", 12), cleared_at=local("2026-03-04", 0)
    )
    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=D(2026, 3, 10))
    assert snapshot(flow.flow_team)["flow_efficiency"] == {
        "ratio": 0.75, "active_hours": 36.0, "span_hours": 48.0, "items": 1,
    }  # fmt: skip


def test_a_finished_storys_hours_are_kept_to_a_tenth(flow):
    story = story_with(
        flow.scrum_teams[0], ("backlog", "2026-03-02", 0), ("in_progress", "2026-03-03", 0),
        ("done", "2026-03-05", 1 / 6),
    )  # fmt: skip
    raised = local("2026-03-03", 12)
    BlockerFactory(
        story=story, raised_at=raised, cleared_at=raised + datetime.timedelta(hours=11, minutes=20)
    )
    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=D(2026, 3, 10))
    [row] = snapshot(flow.flow_team)["finished"]["rows"]
    assert (row[-2], row[-1]) == (36.8, 48.2)  # 36 h 50 min worked in 48 h 10 min


def test_predictability_frozen_for_a_closed_sprint_live_for_the_open_one(flow):
    one, two, _ = flow.scrum_teams
    closed = FlowSprintFactory(
        flow_team=flow.flow_team, number=1, start=D(2026, 3, 2), end=D(2026, 3, 15),
        state=FlowSprint.State.CLOSED,
        figures={
            str(one.pk): {"committed_points": 10, "done_points": 8},
            str(two.pk): {"committed_points": 6, "done_points": 6},
        },
    )  # fmt: skip
    SprintCommitmentFactory(team_sprint=TeamSprintFactory(flow_sprint=closed, scrum_team=two))
    current = FlowSprintFactory(
        flow_team=flow.flow_team, number=2, start=D(2026, 3, 16), end=D(2026, 3, 29)
    )
    team_sprint = TeamSprintFactory(flow_sprint=current, scrum_team=one)
    done = story_with(one, ("backlog", "2026-03-02"), ("done", "2026-03-17"), points=5)
    open_ = story_with(one, ("backlog", "2026-03-02"), ("in_progress", "2026-03-17"), points=8)
    SprintCommitmentFactory(team_sprint=team_sprint, story=done)
    SprintCommitmentFactory(team_sprint=team_sprint, story=open_)
    unplanned = story_with(one, ("backlog", "2026-03-02"), ("done", "2026-03-18"), points=3)
    SprintCommitmentFactory(team_sprint=team_sprint, story=unplanned, planned=False)

    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=D(2026, 3, 20))
    first, second = snapshot(flow.flow_team)["sprints"]
    # The closed sprint's frozen figures win over its commitments' rows.
    assert first["predictability"]["teams"] == {
        "1": {"committed": 10, "done": 8, "ratio": 0.8},
        "2": {"committed": 6, "done": 6, "ratio": 1.0},
    }
    assert second["predictability"]["teams"]["1"] == {"committed": 13, "done": 5, "ratio": 0.3846}
    assert second["velocity"] == {"1": 8, "2": 0, "3": 0}  # unplanned work done counts
    [when] = [q for q in snapshot(flow.flow_team)["forecast"]["questions"] if q["kind"] == "when"]
    assert when["items"] == 1  # the one committed story of sprint 2 not done
    # A Scrum Team's own snapshot shows its own velocity and predictability only.
    first, second = snapshot(flow.flow_team, one)["sprints"]
    assert (first["velocity"], second["velocity"]) == ({"1": 0}, {"1": 8})
    assert first["predictability"]["teams"] == {"1": {"committed": 10, "done": 8, "ratio": 0.8}}
    assert (first["predictability"]["committed"], first["predictability"]["done"]) == (10, 8)


def test_a_sprint_counts_from_its_first_day(flow):
    for number, start in ((1, D(2026, 3, 2)), (2, D(2026, 3, 16))):
        FlowSprintFactory(flow_team=flow.flow_team, number=number, start=start)  # 14 days
    for day, shown in ((D(2026, 3, 15), [1]), (D(2026, 3, 16), [1, 2])):
        services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=day)
        assert [s["number"] for s in snapshot(flow.flow_team, as_of=day)["sprints"]] == shown


def test_milestone_chance_with_one_story_a_day(flow):
    team = flow.scrum_teams[0]
    start = D(2026, 1, 1)
    milestone = MilestoneFactory(flow_team=flow.flow_team, start=D(2026, 2, 1), end=D(2026, 3, 8))
    epic = EpicFactory(flow_team=flow.flow_team, milestone=milestone, state=Epic.State.IN_PROGRESS)
    for n in range(60):  # one story finished every day for 60 days, one of them in the epic
        day = (start + datetime.timedelta(days=n)).isoformat()
        story_with(team, ("backlog", day, 8), ("done", day, 9), epic=epic if n == 50 else None)
    for _ in range(7):
        story_with(team, ("backlog", "2026-02-01"), epic=epic)
    late = MilestoneFactory(flow_team=flow.flow_team, start=D(2026, 2, 1), end=D(2026, 3, 3))
    late_epic = EpicFactory(flow_team=flow.flow_team, milestone=late)
    # A milestone that ends on the day of the figures is past: no chance is asked of it.
    MilestoneFactory(flow_team=flow.flow_team, start=D(2026, 2, 1), end=D(2026, 3, 1))
    EpicFactory(flow_team=flow.flow_team, milestone=late)  # no stories yet
    for _ in range(3):
        story_with(team, ("backlog", "2026-02-01"), epic=late_epic)

    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=D(2026, 3, 1))
    forecast = snapshot(flow.flow_team)["forecast"]
    assert forecast["reliable"] and forecast["window"] == {
        "start": "2026-01-01",
        "end": "2026-03-01",
        "days": 60,
        "finished": 60,
    }
    # One a day from tomorrow: 7 by 8 March exactly; 3 by 3 March needs 3 days, has 2.
    assert forecast["milestones"] == [
        {
            "id": milestone.pk, "name": milestone.name, "end": "2026-03-08", "remaining": 7,
            "epics": 1, "epics_without_stories": 0, "chance": 1.0,
        },
        {
            "id": late.pk, "name": late.name, "end": "2026-03-03", "remaining": 3,
            "epics": 2, "epics_without_stories": 1, "chance": 0.0,
        },
    ]  # fmt: skip
    # A Scrum Team's forecast is its own: no milestones (the Flow Team's), its own seed.
    own = snapshot(flow.flow_team, team)["forecast"]
    assert own["milestones"] == [] and own["seed"] != forecast["seed"]


def test_a_milestones_chance_is_the_share_of_trials_that_make_it(flow):
    team = flow.scrum_teams[0]
    for n in range(30):  # two stories finished on even days, none on odd ones
        day = (D(2026, 1, 30) + datetime.timedelta(days=n)).isoformat()
        for _ in range(2 * (n % 2 == 0)):
            story_with(team, ("backlog", day, 8), ("done", day, 9))
    milestone = MilestoneFactory(flow_team=flow.flow_team, start=D(2026, 2, 1), end=D(2026, 3, 11))
    epic = EpicFactory(flow_team=flow.flow_team, milestone=milestone)
    for _ in range(10):
        story_with(team, ("backlog", "2026-02-01"), epic=epic)
    services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=D(2026, 3, 1))
    [chance] = [m["chance"] for m in snapshot(flow.flow_team)["forecast"]["milestones"]]
    assert 0 < chance < 1 and round(chance * TRIALS) / TRIALS == chance


def test_todays_figures_forecast_from_finished_days_only(flow):
    # metrics.md: the window ends yesterday, also when someone asks for today's figures;
    # today's partial day (here: nothing finished yet by 09:00) would drag forecasts down.
    team = flow.scrum_teams[0]
    for n in range(10):  # one story finished a day, 2026-02-20 to 2026-03-01
        day = (D(2026, 2, 20) + datetime.timedelta(days=n)).isoformat()
        story_with(team, ("backlog", day, 8), ("done", day, 9))
    with time_machine.travel(local("2026-03-02", 9), tick=False):
        services.metric_snapshots_compute(flow_team=flow.flow_team)
        stored = snapshot(flow.flow_team, as_of=D(2026, 3, 2))["forecast"]
    assert stored["window"] == {
        "start": "2026-02-20",
        "end": "2026-03-01",
        "days": 10,
        "finished": 10,
    }
    assert stored["reliable"]  # ten finished: just enough


def test_the_forecast_asks_about_the_sprint_of_the_day_and_the_two_ending_after_it(flow):
    team = flow.scrum_teams[0]
    for n in range(20):
        day = (D(2026, 2, 20) + datetime.timedelta(days=n)).isoformat()
        story_with(team, ("backlog", day, 8), ("done", day, 9))
    for number in range(1, 5):
        start = D(2026, 3, 2) + datetime.timedelta(weeks=2 * (number - 1))
        FlowSprintFactory(flow_team=flow.flow_team, number=number, start=start)  # 14 days

    def asked(day):
        services.metric_snapshots_compute(flow_team=flow.flow_team, as_of=day)
        questions = snapshot(flow.flow_team, as_of=day)["forecast"]["questions"]
        assert [q["kind"] for q in questions] == ["when", "how_many", "how_many"]
        assert questions[0]["days"] == {"50": 0, "70": 0, "85": 0, "95": 0}  # none left
        assert [q["date"] for q in questions[1:]] == ["2026-03-29", "2026-04-12"]  # sprints 2, 3
        assert [set(q["counts"]) for q in questions[1:]] == [{"50", "70", "85", "95"}] * 2
        return [q["label"] for q in questions]

    # On its last day a sprint is the current one, and the next two end after it.
    assert asked(D(2026, 3, 15)) == [
        "The 0 committed stories of Flow Sprint 1 not done yet",
        "Stories finished by the end of Flow Sprint 2",
        "Stories finished by the end of Flow Sprint 3",
    ]
    # On its first day too.
    assert asked(D(2026, 3, 16)) == [
        "The 0 committed stories of Flow Sprint 2 not done yet",
        "Stories finished by the end of Flow Sprint 2",
        "Stories finished by the end of Flow Sprint 3",
    ]


def test_metrics_tick_computes_each_finished_day_once(history, foreign, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    with time_machine.travel(local("2026-03-11", 0.5), tick=False):  # 00:30 in Berlin
        with pytest.raises(MetricSnapshot.DoesNotExist):
            snapshot(history.flow_team)
        assert {pk for pk, _ in selectors.metric_snapshots_due(now=local("2026-03-11", 0.5))} == {
            history.flow_team.pk, foreign.flow_team.pk,
        }  # fmt: skip
        from django.test import TestCase

        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            assert tasks.metrics_tick() == 2
        assert len(callbacks) == 2
        assert snapshot(history.flow_team)["as_of"] == "2026-03-10"
        with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
            assert tasks.metrics_tick() == 0
        assert callbacks == []


def test_a_snapshot_computed_before_the_day_ended_is_computed_again(history):
    with time_machine.travel(local("2026-03-10", 15), tick=False):
        services.metric_snapshots_compute(flow_team=history.flow_team)  # today so far
    due = selectors.metric_snapshots_due(now=local("2026-03-11", 1))
    assert due == [(history.flow_team.pk, D(2026, 3, 10))]


def test_the_task_is_quiet_when_the_flow_team_is_gone():
    assert tasks.metrics_compute(987654) is None
