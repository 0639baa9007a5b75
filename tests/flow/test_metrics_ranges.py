"""The date range a metrics report covers (``report.default_range``, ``asked_range``) and the
days of the stored history a range cuts out (``report.build``), at their edges."""

from datetime import date, timedelta

import pytest

from flow.metrics import report
from flow.metrics.items import STATES

FIRST, AS_OF = date(2026, 1, 1), date(2026, 6, 30)
DAYS = (AS_OF - FIRST).days + 1  # 181


def history(first: date = FIRST, as_of: date = AS_OF) -> dict:
    """A stored snapshot whose daily series count the days since ``first``: day n holds n."""
    days = (as_of - first).days + 1
    return {
        "as_of": as_of.isoformat(),
        "first_day": first.isoformat(),
        "timezone": "Europe/Berlin",
        "team": None,
        "finished": {
            "columns": [
                "story",
                "kind",
                "finished",
                "cycle_time",
                "lead_time",
                "active_hours",
                "span_hours",
            ],
            "rows": [[1, "feature", first.isoformat(), 1, 2, 3.0, 4.0]],
        },  # fmt: skip
        "daily": {
            "throughput": list(range(days)),
            "wip": list(range(days)),
            "cfd": {state: list(range(days)) for state in STATES},
        },
        "aging": {"columns": ["story"], "rows": [[2]]},
        "sprints": [],
        "forecast": {"window": {"days": 30}, "questions": [], "how_many": {}},
    }


def test_the_default_range_is_the_last_90_days_or_the_whole_shorter_history():
    assert report.default_range(history()) == (AS_OF - timedelta(days=89), AS_OF)
    short = history(first=AS_OF - timedelta(days=10))
    assert report.default_range(short) == (AS_OF - timedelta(days=10), AS_OF)


def test_a_side_not_asked_for_is_the_default_and_one_side_beyond_the_other_is_one_day():
    data, default_start = history(), AS_OF - timedelta(days=89)
    assert report.asked_range(data, None, None) == (default_start, AS_OF)
    assert report.asked_range(data, date(2026, 5, 1), None) == (date(2026, 5, 1), AS_OF)
    assert report.asked_range(data, None, date(2026, 5, 1)) == (default_start, date(2026, 5, 1))
    # Only an end before the default start, or only a start after today: that one day.
    assert report.asked_range(data, None, date(2026, 2, 1)) == (date(2026, 2, 1),) * 2
    assert report.asked_range(data, date(2026, 7, 4), None) == (date(2026, 7, 4),) * 2
    # Both given the wrong way round: the end's day.
    assert report.asked_range(data, date(2026, 5, 2), date(2026, 5, 1)) == (date(2026, 5, 1),) * 2


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        (FIRST - timedelta(days=9), FIRST, [FIRST]),  # ends on the first day: that day
        (FIRST, FIRST + timedelta(days=1), [FIRST, FIRST + timedelta(days=1)]),
        (AS_OF, AS_OF + timedelta(days=9), [AS_OF]),  # starts today: today
        (FIRST - timedelta(days=9), FIRST - timedelta(days=1), []),  # before the history
        (AS_OF + timedelta(days=1), AS_OF + timedelta(days=9), []),  # after today
        (date(2026, 3, 1), date(2026, 3, 3), [date(2026, 3, d) for d in (1, 2, 3)]),
    ],
)
def test_a_range_cuts_exactly_its_days_out_of_every_series(start, end, days):
    built = report.build(history(), start, end)
    offsets = [(day - FIRST).days for day in days]
    assert built["throughput"]["dates"] == [day.isoformat() for day in days]
    assert built["throughput"]["daily"] == offsets
    assert built["wip"]["daily"] == offsets
    assert built["cumulative_flow"]["states"] == dict.fromkeys(STATES, offsets)
    assert built["range"]["days"] == len(days)
    # The one story finished on the first day is counted only when the range holds that day.
    assert [row["story"] for row in built["cycle_time"]["items"]] == [1] * (FIRST in days)


def test_a_stored_row_that_does_not_match_its_columns_fails_loudly():
    broken = history()
    broken["finished"]["rows"] = [[1, "feature", FIRST.isoformat(), 1, 2, 3.0, 4.0, "extra"]]
    with pytest.raises(ValueError, match="zip"):
        report.build(broken, FIRST, AS_OF)  # a range holding the day the story finished
    broken = history()
    broken["aging"]["rows"] = [[2, "in_progress"]]
    with pytest.raises(ValueError, match="zip"):
        report.build(broken)


def sprint(number: int, start: date, ratio: float | None) -> dict:
    return {
        "number": number,
        "start": start.isoformat(),
        "end": (start + timedelta(days=13)).isoformat(),
        "predictability": {"ratio": ratio},
        "distribution": {"feature": number, "defect": 0, "debt": 0, "risk": 0},
    }


def test_a_range_holds_the_sprints_it_overlaps_each_told_whether_it_was_predictable():
    data = history()
    data["sprints"] = [
        sprint(1, date(2026, 2, 16), 0.9),  # ends the day before the range
        sprint(2, date(2026, 3, 2), 0.9),  # ends on the range's first day
        sprint(3, date(2026, 3, 16), 0.5),
        sprint(4, date(2026, 3, 30), None),  # starts on the range's last day
        sprint(5, date(2026, 4, 13), 0.9),  # starts the day after
    ]
    built = report.build(data, date(2026, 3, 15), date(2026, 3, 30))
    assert [(s["number"], s["predictable"]) for s in built["sprints"]] == [
        (2, True),
        (3, False),
        (4, None),
    ]
    assert built["sprints"][0]["predictability"] == {"ratio": 0.9}
    assert [s["number"] for s in built["distribution"]["sprints"]] == [2, 3, 4]


def test_each_when_answer_of_the_forecast_is_also_given_as_a_date():
    data = history()
    how_many = {"kind": "how_many", "date": "2026-07-10", "counts": {"50": 4, "85": 2}}
    data["forecast"]["questions"] = [{"kind": "when", "days": {"50": 3, "85": None}}, how_many]
    assert report.build(data)["forecast"]["questions"] == [
        {"kind": "when", "days": {"50": 3, "85": None}, "dates": {"50": "2026-07-03", "85": None}},
        how_many,
    ]


def test_flow_efficiency_counts_the_stories_that_spent_time_in_flow_and_each_kind_is_counted():
    data = history()
    data["finished"]["rows"] = [
        [1, "feature", "2026-06-01", 1, 2, 3.0, 4.0],
        [2, "defect", "2026-06-02", 1, 1, 1.24, 2.06],
        [3, "debt", "2026-06-03", 1, 1, 5.0, 0.0],  # no span: left out, not 5 h of 0
    ]
    assert report.build(data)["distribution"]["total"] == {
        "feature": 1,
        "defect": 1,
        "debt": 1,
        "risk": 0,
    }
    assert report.build(data)["flow_efficiency"] == {
        "ratio": 0.6997,  # 4.24 h of 6.06 h, hours to a tenth
        "active_hours": 4.2,
        "span_hours": 6.1,
        "items": 2,
    }
    data["finished"]["rows"] = [data["finished"]["rows"][2]]
    assert report.build(data)["flow_efficiency"] == {
        "ratio": None,
        "active_hours": 0,
        "span_hours": 0,
        "items": 0,
    }


def test_the_forecast_answers_when_and_how_many_only_what_was_asked():
    stored = {"as_of": "2026-03-10", "forecast": {"how_many": {"50": [1, 2, 4], "85": [0, 1, 2]}}}
    assert report.answer(stored, items=2, by=date(2026, 3, 12)) == {
        "when": {"items": 2, "dates": {"50": "2026-03-12", "85": "2026-03-13"}},
        "how_many": {"date": "2026-03-12", "counts": {"50": 2, "85": 1}},
    }
    assert report.answer(stored, by=date(2026, 3, 11)) == {
        "how_many": {"date": "2026-03-11", "counts": {"50": 1, "85": 0}}
    }
    assert report.answer(stored, items=4) == {
        "when": {"items": 4, "dates": {"50": "2026-03-13", "85": None}}
    }
    assert report.answer(stored) == {}
    # Nothing finished to resample: no table, no answer.
    empty = {"as_of": "2026-03-10", "forecast": {"how_many": None}}
    assert report.answer(empty, items=2, by=date(2026, 3, 12)) == {}
