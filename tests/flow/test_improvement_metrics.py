"""The flow metrics an improvement item may name (flow/metrics/improvement.py): each read
from a snapshot's data, and which way is better."""

import pytest

from flow.metrics.improvement import BY_KEY, METRICS, THROUGHPUT_DAYS, metric_value, movement

DATA = {
    "cycle_time": {"50": 3, "70": 5, "85": 8, "95": 13},
    "daily": {"throughput": [9] * 10 + [1] * THROUGHPUT_DAYS, "wip": [4, 6, 7]},
    "flow_efficiency": {"ratio": 0.4167, "active_hours": 10, "span_hours": 24, "items": 3},
    "sprints": [
        {"state": "closed", "predictability": {"ratio": 0.25}},
        {"state": "closed", "predictability": {"ratio": 0.5}},
        {"state": "closed", "predictability": {"ratio": 0.875}},
        {"state": "active", "predictability": {"ratio": 0.1}},
    ],
}


@pytest.mark.parametrize(
    "key, value",
    [
        ("cycle_time_85", 8),
        # Only the last four weeks count: the nines before them do not.
        ("throughput_4w", float(THROUGHPUT_DAYS)),
        ("wip", 7.0),
        ("flow_efficiency", 41.7),
        # The last closed sprint, not the running one.
        ("predictability", 87.5),
    ],
)
def test_each_metric_is_read_from_the_snapshot(key, value):
    assert metric_value(DATA, key) == value


def test_nothing_to_say_is_none_not_zero():
    empty = {
        "cycle_time": {"85": None},
        "daily": {"throughput": [], "wip": []},
        "flow_efficiency": {"ratio": None},
        "sprints": [{"state": "active", "predictability": {"ratio": 0.9}}],
    }
    assert {m.key: metric_value(empty, m.key) for m in METRICS} == dict.fromkeys(BY_KEY)
    # A snapshot written before a section existed has nothing to say about it either.
    assert {m.key: metric_value({"as_of": "2026-01-04"}, m.key) for m in METRICS} == (
        dict.fromkeys(BY_KEY)
    )
    assert metric_value(None, "wip") is None
    assert metric_value(DATA, "happiness") is None


@pytest.mark.parametrize(
    "key, before, now, said",
    [
        ("cycle_time_85", 10, 8, "better"),
        ("cycle_time_85", 8, 10, "worse"),
        ("wip", 5, 3, "better"),
        ("throughput_4w", 12, 15, "better"),
        ("throughput_4w", 15, 12, "worse"),
        ("flow_efficiency", 30, 20, "worse"),
        ("predictability", 70, 90, "better"),
        ("wip", 5, 5, "same"),
        ("wip", None, 5, ""),
        ("wip", 5, None, ""),
        ("mood", 1, 2, ""),
    ],
)
def test_movement_knows_which_way_is_better(key, before, now, said):
    assert movement(key, before, now) == said
