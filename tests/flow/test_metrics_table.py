"""The numbers behind each chart (``report.table``), as the CSVs and the page's tables give
them: every column in its place, every row, nothing past the forecast's horizon."""

import pytest

from flow.metrics import report

DATES = ["2026-03-09", "2026-03-10"]
REPORT = {
    "as_of": "2026-03-10",
    "cycle_time": {
        "items": [
            {"story": 7, "title": "Invoice export", "team": 1, "kind": "feature", "points": 3,
             "started": "2026-03-04", "finished": "2026-03-09", "cycle_time": 6,
             "lead_time": 8, "active_hours": 20.5, "span_hours": 130.0},
        ]
    },
    "throughput": {"dates": DATES, "daily": [1, 0]},
    "wip": {"dates": DATES, "daily": [2, 3]},
    "cumulative_flow": {
        "dates": DATES,
        "states": {"backlog": [3, 2], "ready": [1, 1], "in_progress": [0, 1],
                   "in_review": [0, 0], "done": [1, 2]},
    },
    "aging": {
        "items": [
            {"story": 9, "title": "Dunning letters", "team": 2, "kind": "debt",
             "state": "in_progress", "started": "2026-03-04", "age_days": 7, "blocked": True},
        ]
    },
    "sprints": [
        {"number": 4, "start": "2026-03-02", "end": "2026-03-15", "velocity": {"1": 5, "2": 8},
         # Team 2 committed nothing it could be measured against: its cells stay empty.
         "predictability": {"teams": {"1": {"committed": 6, "done": 5, "ratio": 0.83}},
                            "committed": 16, "done": 13, "ratio": 0.81}},
    ],
    "distribution": {
        "sprints": [{"number": 4, "feature": 3, "defect": 1, "debt": 0, "risk": 2}],
    },
    "forecast": {
        "horizon_days": 3,
        "how_many": {"50": [1, 2, 4], "70": [0, 1, 3], "85": [0, 1, 2], "95": [0, 0, 1]},
    },
}  # fmt: skip


def test_cycle_time_is_a_row_per_finished_story():
    assert report.table(REPORT, "cycle-time") == (
        ["story", "title", "team", "kind", "points", "started", "finished",
         "cycle_time_days", "lead_time_days", "active_hours", "span_hours"],
        [[7, "Invoice export", 1, "feature", 3, "2026-03-04", "2026-03-09", 6, 8, 20.5, 130.0]],
    )  # fmt: skip


def test_daily_series_are_a_row_per_day():
    assert report.table(REPORT, "throughput") == (
        ["date", "finished"],
        [["2026-03-09", 1], ["2026-03-10", 0]],
    )
    assert report.table(REPORT, "wip") == (["date", "wip"], [["2026-03-09", 2], ["2026-03-10", 3]])
    assert report.table(REPORT, "cumulative-flow") == (
        ["date", "backlog", "ready", "in_progress", "in_review", "done"],
        [["2026-03-09", 3, 1, 0, 0, 1], ["2026-03-10", 2, 1, 1, 0, 2]],
    )


@pytest.mark.parametrize("chart", ["throughput", "wip", "cumulative-flow"])
def test_a_series_that_does_not_cover_its_dates_fails_loudly(chart):
    # A snapshot whose series and dates disagree is broken: its CSV must not drop days.
    broken = {
        "throughput": {"dates": DATES, "daily": [1]},
        "wip": {"dates": DATES, "daily": [2]},
        "cumulative_flow": {
            "dates": DATES,
            "states": {"backlog": [3, 2], "ready": [1, 1], "in_progress": [0, 1],
                       "in_review": [0], "done": [1, 2]},
        },
    }  # fmt: skip
    with pytest.raises(ValueError, match="zip"):
        report.table(broken, chart)


def test_aging_is_a_row_per_story_in_progress():
    assert report.table(REPORT, "aging") == (
        ["story", "title", "team", "kind", "state", "started", "age_days", "blocked"],
        [[9, "Dunning letters", 2, "debt", "in_progress", "2026-03-04", 7, True]],
    )


def test_sprints_are_a_row_per_team_then_one_for_the_flow_team():
    assert report.table(REPORT, "sprints") == (
        ["flow_sprint", "start", "end", "team", "velocity_points", "committed_points",
         "done_points", "predictability"],
        [[4, "2026-03-02", "2026-03-15", 1, 5, 6, 5, 0.83],
         [4, "2026-03-02", "2026-03-15", 2, 8, None, None, None],
         [4, "2026-03-02", "2026-03-15", "all", 13, 16, 13, 0.81]],
    )  # fmt: skip


def test_distribution_is_a_row_per_sprint_by_kind():
    assert report.table(REPORT, "distribution") == (
        ["flow_sprint", "feature", "defect", "debt", "risk"],
        [[4, 3, 1, 0, 2]],
    )


def test_forecast_is_a_row_per_day_of_its_horizon_from_tomorrow():
    header = ["day", "date", "finished_by_p50", "finished_by_p70", "finished_by_p85",
              "finished_by_p95"]  # fmt: skip
    assert report.table(REPORT, "forecast") == (
        header,
        [[1, "2026-03-11", 1, 0, 0, 0], [2, "2026-03-12", 2, 1, 1, 0],
         [3, "2026-03-13", 4, 3, 2, 1]],
    )  # fmt: skip
    # No history to resample: the header alone, no row of guesses.
    no_history = REPORT | {"forecast": {"horizon_days": 3, "how_many": {}}}
    assert report.table(no_history, "forecast") == (header, [])


def test_an_unknown_chart_has_no_table():
    with pytest.raises(KeyError, match="burndown"):
        report.table(REPORT, "burndown")
    assert set(report.CHARTS) == {
        "cycle-time", "throughput", "wip", "cumulative-flow", "aging", "sprints",
        "distribution", "forecast",
    }  # fmt: skip
    for chart in report.CHARTS:
        header, rows = report.table(REPORT, chart)
        assert header and rows
