"""Flow metrics against answers computed by hand (metrics.md), without the database."""

import math
import zoneinfo
from datetime import UTC, date, datetime, timedelta

import pytest

from flow.metrics import figures, forecast, report
from flow.metrics.items import Item, StoryRow, build_items

BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
UNTIL = datetime(2026, 4, 1, tzinfo=UTC)


def at(day: str, hour: float = 12.0, tz=UTC) -> datetime:
    d = date.fromisoformat(day)
    return datetime(d.year, d.month, d.day, tzinfo=tz) + timedelta(hours=hour)


def items_of(*histories, blockers=(), tz=UTC, until=UNTIL, kinds=None):
    """One story per history: a list of (state, datetime) from its creation on."""
    stories = [
        StoryRow(
            id=n, team=1 + n % 2, kind=(kinds or {}).get(n, "feature"), points=3, title=f"S{n}"
        )
        for n in range(len(histories))
    ]
    changes = [(n, state, when) for n, history in enumerate(histories) for state, when in history]
    return build_items(stories, changes, blockers, tz=tz, until=until)


def item_built(team=1, points=3, kind="feature", finish=None, **hours) -> Item:
    """An item as build_items would give it: started on 2 March, done on ``finish``."""
    story = StoryRow(id=1, team=team, kind=kind, points=points, title="S")
    return Item(story=story, created=date(2026, 3, 1), state="done" if finish else "ready",
                start=date(2026, 3, 2), finish=finish, **hours)  # fmt: skip


def test_same_day_finish_is_one_day():
    [item] = items_of(
        [
            ("backlog", at("2026-03-01", 9)),
            ("in_progress", at("2026-03-02", 9)),
            ("done", at("2026-03-02", 17)),
        ]  # fmt: skip
    )
    assert (item.start, item.finish) == (date(2026, 3, 2), date(2026, 3, 2))
    assert item.cycle_time == 1
    assert item.lead_time == 2


def test_a_skipped_state_starts_at_the_first_started_state_entered():
    review_first, straight_to_done = items_of(
        [("backlog", at("2026-03-01")), ("ready", at("2026-03-02")),
         ("in_review", at("2026-03-04")), ("done", at("2026-03-06"))],
        [("backlog", at("2026-03-01")), ("done", at("2026-03-03"))],
    )  # fmt: skip
    assert review_first.start == date(2026, 3, 4)
    assert review_first.cycle_time == 3
    assert straight_to_done.start == straight_to_done.finish == date(2026, 3, 3)
    assert straight_to_done.cycle_time == 1


def test_cumulative_flow_of_a_range_inside_the_history_starts_from_the_moves_before_it():
    first_story, second_story = items_of(
        [("backlog", at("2026-03-01")), ("in_progress", at("2026-03-02")),
         ("done", at("2026-03-05"))],
        [("backlog", at("2026-03-01")), ("ready", at("2026-03-04")), ("done", at("2026-03-08"))],
    )  # fmt: skip
    cfd = figures.cumulative_flow([first_story, second_story], date(2026, 3, 3), date(2026, 3, 4))
    assert cfd == {
        "backlog": [1, 0], "ready": [0, 1], "in_progress": [1, 1], "in_review": [0, 0],
        "done": [0, 0],
    }  # fmt: skip


def test_a_backward_move_keeps_the_first_start_and_shows_in_cumulative_flow():
    [item] = items_of(
        [
            ("backlog", at("2026-03-01")),
            ("in_progress", at("2026-03-02")),
            ("ready", at("2026-03-03")),
            ("in_progress", at("2026-03-05")),
            ("done", at("2026-03-06")),
        ]  # fmt: skip
    )
    assert item.start == date(2026, 3, 2)
    assert item.cycle_time == 5
    cfd = figures.cumulative_flow([item], date(2026, 3, 1), date(2026, 3, 6))
    assert cfd["backlog"] == [1, 0, 0, 0, 0, 0]
    assert cfd["in_progress"] == [0, 1, 0, 0, 1, 0]
    assert cfd["ready"] == [0, 0, 1, 1, 0, 0]  # back in Ready on the 3rd and 4th
    assert cfd["done"] == [0, 0, 0, 0, 0, 1]


def test_a_reopened_item_is_unfinished_until_done_again():
    history = [
        ("backlog", at("2026-03-01")), ("in_progress", at("2026-03-02")),
        ("done", at("2026-03-04")), ("in_progress", at("2026-03-09")),
    ]  # fmt: skip
    [reopened] = items_of(history)
    assert reopened.finish is None and reopened.cycle_time is None
    assert reopened.state == "in_progress"
    assert reopened.age(date(2026, 3, 10)) == 9
    [done_again] = items_of([*history, ("done", at("2026-03-11"))])
    assert done_again.finish == date(2026, 3, 11)  # the last time it entered done
    assert done_again.cycle_time == 10
    assert figures.daily_throughput([done_again], date(2026, 3, 1), date(2026, 3, 11)) == [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    ]  # fmt: skip


def test_a_blocked_period_is_not_active_time():
    # In progress 2 days (48 h), review 1 day (24 h), blocked 10 h while in progress.
    [item] = items_of(
        [
            ("backlog", at("2026-03-01", 0)),
            ("in_progress", at("2026-03-02", 0)),
            ("in_review", at("2026-03-04", 0)),
            ("done", at("2026-03-05", 0)),
        ],  # fmt: skip
        blockers=[(0, at("2026-03-02", 6), at("2026-03-02", 16))],
    )
    assert item.span_hours == 72
    assert item.active_hours == 62
    assert figures.flow_efficiency([item])["ratio"] == round(62 / 72, 4)


def test_two_moves_at_the_same_moment_leave_the_rest_of_the_active_time():
    [item] = items_of(
        [
            ("backlog", at("2026-03-01", 0)),
            ("in_progress", at("2026-03-02", 0)),
            ("in_review", at("2026-03-02", 0)),  # a script's two moves in one instant
            ("done", at("2026-03-03", 6)),
        ]  # fmt: skip
    )
    assert (item.active_hours, item.span_hours) == (30, 30)


def test_a_blocker_counts_to_the_second_and_only_where_it_overlaps_active_time():
    second = 1 / 3600
    [item] = items_of(
        [
            ("backlog", at("2026-03-01", 0)),
            ("in_progress", at("2026-03-02", 0)),
            ("done", at("2026-03-03", 0)),
        ],  # fmt: skip
        blockers=[
            (0, at("2026-03-01", 6), at("2026-03-01", 9)),  # before the start: no overlap
            (0, at("2026-03-03", 0) - timedelta(seconds=1), at("2026-03-03", 1)),  # its last second
        ],
    )
    assert item.active_hours == 24 - second


def test_the_days_are_the_flow_teams_local_days():
    # Each change at 00:30 in Berlin, 23:30 the evening before in UTC.
    [item] = items_of(
        [
            ("backlog", at("2026-03-02", 0.5, tz=BERLIN)),
            ("in_progress", at("2026-03-03", 0.5, tz=BERLIN)),
            ("done", at("2026-03-04", 0.5, tz=BERLIN)),
        ],  # fmt: skip
        tz=BERLIN,
    )
    assert (item.created, item.start, item.finish) == (
        date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4),
    )  # fmt: skip
    assert [day for day, _before, _after in item.moves] == [
        date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4),
    ]  # fmt: skip


def test_what_happens_at_the_snapshot_moment_is_not_seen_yet():
    until = at("2026-03-05", 0)
    items = items_of(
        [("backlog", until), ("ready", until + timedelta(hours=1))],  # created at the moment
        [("backlog", at("2026-03-01")), ("in_progress", at("2026-03-02")), ("done", until)],
        blockers=[(1, until, None)],  # raised at the moment
        until=until,
    )  # fmt: skip
    assert [item.story.id for item in items] == [1]
    assert (items[0].state, items[0].finish, items[0].blocked) == ("in_progress", None, False)


def test_a_backward_move_to_ready_is_not_active_time():
    [item] = items_of(
        [
            ("backlog", at("2026-03-01", 0)),
            ("in_progress", at("2026-03-02", 0)),
            ("ready", at("2026-03-03", 0)),
            ("in_progress", at("2026-03-04", 0)),
            ("done", at("2026-03-05", 0)),
        ]  # fmt: skip
    )
    assert (item.active_hours, item.span_hours) == (48, 72)


def test_a_still_open_blocker_marks_the_item_blocked():
    [item] = items_of(
        [("backlog", at("2026-03-01")), ("in_progress", at("2026-03-02"))],
        blockers=[(0, at("2026-03-03"), None)],
    )
    assert item.blocked


def test_days_are_dates_in_the_flow_teams_timezone():
    # 23:30 in Berlin is 22:30 UTC: still that Berlin date. 00:30 in Berlin is the UTC day before.
    [item] = items_of(
        [
            ("backlog", at("2026-03-01", 10, BERLIN)),
            ("in_progress", at("2026-03-02", 23.5, BERLIN)),
            ("done", at("2026-03-04", 0.5, BERLIN)),
        ],  # fmt: skip
        tz=BERLIN,
    )
    assert item.start == date(2026, 3, 2)
    assert item.finish == date(2026, 3, 4)
    assert item.cycle_time == 3
    [same_in_utc] = items_of(
        [
            ("backlog", at("2026-03-01", 10, BERLIN)),
            ("in_progress", at("2026-03-02", 23.5, BERLIN)),
            ("done", at("2026-03-04", 0.5, BERLIN)),
        ],  # fmt: skip
        tz=UTC,
    )
    assert same_in_utc.finish == date(2026, 3, 3)  # 23:30 UTC on the 3rd
    assert same_in_utc.cycle_time == 2


def test_changes_after_the_snapshot_moment_are_not_seen():
    [item] = items_of(
        [
            ("backlog", at("2026-03-01")),
            ("in_progress", at("2026-03-02")),
            ("done", at("2026-03-09")),
        ],  # fmt: skip
        until=at("2026-03-05", 0),
    )
    assert item.state == "in_progress" and item.finish is None
    assert item.age(date(2026, 3, 4)) == 3


def test_wip_of_a_range_inside_the_history_counts_the_items_open_on_each_of_its_days():
    def worked(start, finish=None):
        return [("backlog", at("2026-03-01", 8)), ("in_progress", at(start))] + (
            [("done", at(finish))] if finish else []
        )

    items = items_of(
        worked("2026-03-01", "2026-03-02"),  # done before the range
        worked("2026-03-07"),  # started after it
        worked("2026-03-01", "2026-03-03"),  # done on its first day
        worked("2026-03-01"),  # started before it, still open
        worked("2026-03-03", "2026-03-06"),  # its first day to its last
        worked("2026-03-06"),  # started on its last day
    )
    assert figures.daily_wip(items, date(2026, 3, 3), date(2026, 3, 6)) == [3, 2, 2, 3]


def test_flow_efficiency_sums_the_hours_of_each_finished_item_with_a_span():
    def finished(active, span):
        return item_built(finish=date(2026, 3, 4), active_hours=active, span_hours=span)

    items = [finished(10.25, 20.04), finished(0.0, 0.0), finished(5.0, 12.5)]
    assert figures.flow_efficiency(items) == {
        "ratio": 0.4687, "active_hours": 15.2, "span_hours": 32.5, "items": 2,
    }  # fmt: skip


def test_a_sprints_row_counts_the_stories_finished_from_its_first_to_its_last_day():
    def item(team, points, finish=None, kind="feature"):
        return item_built(team=team, points=points, finish=finish, kind=kind)

    items = [
        item(1, 3, date(2026, 3, 2)),  # sprint 1's first day
        item(1, None, date(2026, 3, 15), kind="defect"),  # its last day, not estimated
        item(2, 5, date(2026, 3, 16)),  # sprint 2's first day
        item(1, 8),  # not finished
    ]
    sprints = [
        {"id": 7, "number": 1, "start": date(2026, 3, 2), "end": date(2026, 3, 15),
         "state": "closed"},
        {"id": 8, "number": 2, "start": date(2026, 3, 16), "end": date(2026, 3, 29),
         "state": "active"},
    ]  # fmt: skip
    predictability = {7: {1: {"committed": 5, "done": 3}, 2: {"committed": 2, "done": 2}}}
    first, second = figures.sprint_rows(items, sprints, predictability, [1, 2])
    assert first == {
        "number": 1, "start": "2026-03-02", "end": "2026-03-15", "state": "closed",
        "throughput": 2,
        "distribution": {"feature": 1, "defect": 1, "risk": 0, "debt": 0},
        "velocity": {"1": 3, "2": 0},
        "predictability": {
            "teams": {
                "1": {"committed": 5, "done": 3, "ratio": 0.6},
                "2": {"committed": 2, "done": 2, "ratio": 1.0},
            },
            "committed": 7, "done": 5, "ratio": 0.7143,
        },
    }  # fmt: skip
    assert (second["number"], second["throughput"], second["velocity"]) == (2, 1, {"1": 0, "2": 5})
    assert second["predictability"] == {"teams": {}, "committed": 0, "done": 0, "ratio": None}


def test_wip_counts_an_item_on_the_day_it_finishes_and_throughput_keeps_zero_days():
    items = items_of(
        [("backlog", at("2026-03-01")), ("in_progress", at("2026-03-02")),
         ("done", at("2026-03-04"))],
        [("backlog", at("2026-03-01")), ("in_progress", at("2026-03-03"))],
        [("backlog", at("2026-03-01"))],
    )  # fmt: skip
    first, last = date(2026, 3, 1), date(2026, 3, 6)
    assert figures.daily_wip(items, first, last) == [0, 1, 2, 2, 1, 1]
    assert figures.daily_throughput(items, first, last) == [0, 0, 0, 1, 0, 0]
    assert figures.weekly_sums([0, 0, 0, 1, 0, 0], first) == [
        {"week": "2026-02-23", "throughput": 0},  # Sunday 1 March ends the ISO week
        {"week": "2026-03-02", "throughput": 1},
    ]


def test_percentiles_are_nearest_rank():
    assert figures.percentile([4, 1, 3, 2], 50) == 2
    assert figures.percentile(list(range(1, 21)), 85) == 17
    assert figures.percentile([5], 95) == 5
    assert figures.percentile([], 50) is None
    values = [1, 1, 2, 3, 3, 3, 5, 8, 13, 21]
    for p in figures.PERCENTILES:
        value = figures.percentile(values, p)
        assert sum(v <= value for v in values) >= p / 100 * len(values)  # literally true
        assert sum(v < value for v in values) < p / 100 * len(values)  # and the smallest


def test_flow_distribution_counts_finished_kinds():
    items = items_of(
        [("backlog", at("2026-03-01")), ("done", at("2026-03-02"))],
        [("backlog", at("2026-03-01")), ("done", at("2026-03-02"))],
        [("backlog", at("2026-03-01")), ("in_progress", at("2026-03-02"))],
        kinds={1: "defect", 2: "defect"},
    )  # fmt: skip
    finished = [i for i in items if i.finish]
    assert figures.distribution(finished) == {"feature": 1, "defect": 1, "debt": 0, "risk": 0}


def test_sprint_rows_velocity_and_predictability():
    items = items_of(
        [("backlog", at("2026-03-01")), ("done", at("2026-03-03"))],  # team 1, 3 points
        [("backlog", at("2026-03-01")), ("done", at("2026-03-04"))],  # team 2
        [("backlog", at("2026-03-01")), ("done", at("2026-03-20"))],  # team 1, next sprint
    )  # fmt: skip
    sprints = [{"id": 7, "number": 1, "start": date(2026, 3, 2), "end": date(2026, 3, 15),
                "state": "closed"}]  # fmt: skip
    [row] = figures.sprint_rows(
        items, sprints, {7: {1: {"committed": 8, "done": 6}, 2: {"committed": 5, "done": 5}}},
        teams=[1, 2],
    )  # fmt: skip
    assert row["throughput"] == 2
    assert row["velocity"] == {"1": 3, "2": 3}
    assert row["predictability"]["teams"]["1"]["ratio"] == 0.75
    assert (row["predictability"]["committed"], row["predictability"]["done"]) == (13, 11)
    assert row["predictability"]["ratio"] == round(11 / 13, 4)


# -- Monte Carlo ----------------------------------------------------------------------------


def test_an_all_ones_history_finishes_n_items_in_exactly_n_days():
    simulation = forecast.simulate([1] * 60, horizon=100, seed=1)
    table = simulation.how_many_table()
    for n in (1, 7, 60, 100):
        assert forecast.when_done(table, n) == {"50": n, "70": n, "85": n, "95": n}
    assert forecast.how_many(table, 30) == {"50": 30, "70": 30, "85": 30, "95": 30}
    assert forecast.when_done(table, 101)["85"] is None  # beyond the horizon, said so
    assert forecast.when_done(table, 0)["85"] == 0
    assert simulation.chance_by(10, 10) == 1.0 and simulation.chance_by(9, 10) == 0.0


def test_a_milestone_with_nothing_left_is_certain_and_one_with_no_day_left_has_no_chance():
    simulation = forecast.simulate([1] * 60, horizon=100, seed=1)
    # Every story of its epics done: certain, even on or after its last day.
    assert [simulation.chance_by(day, 0) for day in (-3, 0, 5)] == [1.0, 1.0, 1.0]
    # Stories left and its last day today or past: no chance.
    assert [simulation.chance_by(day, 1) for day in (-3, 0)] == [0.0, 0.0]
    # One story a day: one story tomorrow is certain.
    assert simulation.chance_by(1, 1) == 1.0


def test_how_many_is_none_by_today_or_before_and_unknown_past_the_horizon():
    table = forecast.simulate([1] * 60, horizon=100, seed=1).how_many_table()
    none_done = dict.fromkeys(table, 0)
    assert forecast.how_many(table, 0) == forecast.how_many(table, -5) == none_done
    assert forecast.how_many(table, 100) == dict.fromkeys(table, 100)
    assert forecast.how_many(table, 101) == dict.fromkeys(table)


def test_when_answers_as_dates_from_the_snapshots_day_and_none_beyond_the_horizon():
    table = forecast.simulate([1] * 60, horizon=100, seed=1).how_many_table()
    stored = {"as_of": "2026-03-10", "forecast": {"how_many": table}}
    assert report.answer(stored, items=7)["when"]["dates"] == dict.fromkeys(table, "2026-03-17")
    assert report.answer(stored, items=101)["when"] == {
        "items": 101,
        "dates": dict.fromkeys(table),
    }


def binomial_cdf(k: int, n: int) -> float:
    return sum(math.comb(n, i) for i in range(k + 1)) / 2**n


def test_a_zero_two_history_gives_twice_a_binomial():
    d = 10
    simulation = forecast.simulate([0, 2], horizon=d, trials=20_000, seed=7)
    counts = simulation.cumulative[:, d - 1]
    assert set(counts.tolist()) <= set(range(0, 2 * d + 1, 2))  # always even
    for k in range(d + 1):  # each 2k within 4.5 standard errors of C(d, k) / 2^d
        expected = math.comb(d, k) / 2**d
        observed = (counts == 2 * k).mean()
        assert abs(observed - expected) <= 4.5 * math.sqrt(expected * (1 - expected) / 20_000)
    table = simulation.how_many_table()
    # Exact: at least 85 % of 2·Bin(10, ½) reach 6 (P(X >= 3) = 0.945; P(X >= 4) = 0.828).
    assert 1 - binomial_cdf(2, d) >= 0.85 > 1 - binomial_cdf(3, d)
    assert forecast.how_many(table, d)["85"] == 6
    assert forecast.how_many(table, d)["50"] == 10  # the median of 2·Bin(10, ½)


def test_when_is_the_percentile_of_the_finishing_day_of_the_trials():
    simulation = forecast.simulate([0, 0, 1, 3, 0, 2, 5, 0, 1], horizon=120, seed=3)
    table = simulation.how_many_table()
    n = 40
    reached = simulation.cumulative >= n
    finishing_day = reached.argmax(axis=1) + 1
    assert reached.any(axis=1).all()
    for p, day in forecast.when_done(table, n).items():
        assert day == figures.percentile(finishing_day.tolist(), int(p))


def test_the_same_seed_gives_the_same_forecast_and_nothing_moving_gives_none():
    one = forecast.simulate([0, 1, 2], horizon=30, seed=11).how_many_table()
    assert one == forecast.simulate([0, 1, 2], horizon=30, seed=11).how_many_table()
    assert forecast.simulate([0, 0, 0], horizon=30, seed=11) is None
    assert forecast.simulate([], horizon=30, seed=11) is None  # no history yet


@pytest.mark.parametrize(("window", "reliable"), [([1] * 9, False), ([1] * 10, True)])
def test_a_window_of_fewer_than_ten_finished_items_is_unreliable(window, reliable):
    assert forecast.reliable(window) is reliable


def test_predictability_is_healthy_between_80_and_100_percent_inclusive():
    assert [figures.predictable(r) for r in (0.7999, 0.8, 1.0, 1.0001, None)] == [
        False, True, True, False, None,
    ]  # fmt: skip
