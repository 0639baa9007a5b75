"""A stored snapshot cut to a date range: what the metrics page, its CSVs and the API show.

Reading only: the snapshot holds each finished story and every daily series, so a range
is a slice of them, and the range's percentiles are taken over the stored cycle times.
"""

from datetime import date, timedelta

from flow.metrics import figures, forecast
from flow.metrics.items import KINDS, STATES

DEFAULT_RANGE_DAYS = 90
CHARTS = (
    "cycle-time", "throughput", "wip", "cumulative-flow", "aging", "sprints",
    "distribution", "forecast",
)  # fmt: skip


def default_range(data: dict) -> tuple[date, date]:
    as_of = date.fromisoformat(data["as_of"])
    first = date.fromisoformat(data["first_day"])
    return max(first, as_of - timedelta(days=DEFAULT_RANGE_DAYS - 1)), as_of


def asked_range(data: dict, start: date | None, end: date | None) -> tuple[date, date]:
    """The range asked for, the default filling the side not given: one day when only one
    side was given beyond the other side's default."""
    default_start, default_end = default_range(data)
    start = default_start if start is None else start
    end = max(start, default_end) if end is None else end
    # An end before the start (given, or the default start) makes the range the end's day.
    return min(start, end), end


def build(data: dict, start: date | None = None, end: date | None = None) -> dict:
    as_of = date.fromisoformat(data["as_of"])
    first = date.fromisoformat(data["first_day"])
    start, end = asked_range(data, start, end)
    if end < first or start > as_of:
        # The range holds no day of the history: every series is empty and every count 0,
        # never the figures of other days.
        lo = hi = 0
        dates: list[str] = []
    else:
        start, end = max(first, start), min(as_of, end)
        lo, hi = (start - first).days, (end - first).days + 1
        dates = [d.isoformat() for d in figures.days(start, end)]

    columns = data["finished"]["columns"]
    finished = [
        dict(zip(columns, row, strict=True))
        for row in data["finished"]["rows"]
        if start.isoformat() <= row[columns.index("finished")] <= end.isoformat()
    ]
    cycle_times = [row["cycle_time"] for row in finished]
    throughput = data["daily"]["throughput"][lo:hi]
    aging_columns = data["aging"]["columns"]
    sprints = [
        s | {"predictable": figures.predictable(s["predictability"]["ratio"])}
        for s in data["sprints"]
        if s["end"] >= start.isoformat() and s["start"] <= end.isoformat()
    ]
    cycle_time_percentiles = figures.percentiles(cycle_times)
    band_low, band_high = figures.PREDICTABILITY_HEALTHY
    return {
        "as_of": data["as_of"],
        "timezone": data["timezone"],
        "team": data["team"],
        "range": {
            "start": start.isoformat(),
            "end": end.isoformat(),
            "days": len(dates),
            "first_day": data["first_day"],
        },
        "cycle_time": {
            "items": finished,
            "percentiles": cycle_time_percentiles,
            "lead_time_percentiles": figures.percentiles([row["lead_time"] for row in finished]),
        },
        "throughput": {
            "dates": dates,
            "daily": throughput,
            "weekly": figures.weekly_sums(throughput, start),
            "total": sum(throughput),
        },
        "wip": {"dates": dates, "daily": data["daily"]["wip"][lo:hi]},
        "cumulative_flow": {
            "dates": dates,
            "states": {state: data["daily"]["cfd"][state][lo:hi] for state in STATES},
        },
        "aging": {
            "items": [dict(zip(aging_columns, row, strict=True)) for row in data["aging"]["rows"]],
            "percentiles": cycle_time_percentiles,
        },
        "flow_efficiency": _efficiency(finished),
        "distribution": {
            "total": {kind: sum(row["kind"] == kind for row in finished) for kind in KINDS},
            "sprints": [{"number": s["number"], **s["distribution"]} for s in sprints],
        },
        "sprints": sprints,
        "predictability_band": {"low": band_low, "high": band_high},
        "forecast": _window_told(_dated(data["forecast"], as_of)),
    }


def _window_told(stored: dict) -> dict:
    """The forecast's window as it was really used: ``days`` of history resampled, fewer
    than the usual ``forecast.WINDOW_DAYS`` when the history is shorter (metrics.md: used as
    it is, not padded), and then ``short`` says so."""
    window = stored["window"]
    told = {"usual_days": forecast.WINDOW_DAYS, "short": window["days"] < forecast.WINDOW_DAYS}
    return stored | {"window": window | told}


def _dated(stored: dict, as_of: date) -> dict:
    """The stored forecast with each "when" answer also given as a calendar date."""
    questions = []
    for q in stored["questions"]:
        if q["kind"] == "when":
            q = q | {"dates": _dates(q["days"], as_of)}
        questions.append(q)
    return stored | {"questions": questions}


def _dates(days: dict, as_of: date) -> dict:
    return {
        p: None if d is None else (as_of + timedelta(days=d)).isoformat() for p, d in days.items()
    }


def answer(report: dict, *, items: int | None = None, by: date | None = None) -> dict:
    """Answers to "when will N be done" and "how many by date", read off the stored table."""
    table = report["forecast"]["how_many"]
    as_of = date.fromisoformat(report["as_of"])
    answers = {}
    if table and items:
        answers["when"] = {"items": items, "dates": _dates(forecast.when_done(table, items), as_of)}
    if table and by:
        answers["how_many"] = {
            "date": by.isoformat(),
            "counts": forecast.how_many(table, (by - as_of).days),
        }
    return answers


def _efficiency(finished: list[dict]) -> dict:
    counted = [row for row in finished if row["span_hours"]]
    active = sum(row["active_hours"] for row in counted)
    span = sum(row["span_hours"] for row in counted)
    return {
        "ratio": round(active / span, 4) if span else None,
        "active_hours": round(active, 1),
        "span_hours": round(span, 1),
        "items": len(counted),
    }


def table(report: dict, chart: str) -> tuple[list[str], list[list]]:
    """The numbers behind one chart, as a header and rows (for CSV and the page's tables)."""
    if chart == "cycle-time":
        header = ["story", "title", "team", "kind", "points", "started", "finished",
                  "cycle_time_days", "lead_time_days", "active_hours", "span_hours"]  # fmt: skip
        return header, [list(row.values()) for row in report["cycle_time"]["items"]]
    if chart == "throughput":
        t = report["throughput"]
        return ["date", "finished"], [list(r) for r in zip(t["dates"], t["daily"], strict=True)]
    if chart == "wip":
        w = report["wip"]
        return ["date", "wip"], [list(r) for r in zip(w["dates"], w["daily"], strict=True)]
    if chart == "cumulative-flow":
        c = report["cumulative_flow"]
        rows = zip(c["dates"], *(c["states"][s] for s in STATES), strict=True)
        return ["date", *STATES], [list(r) for r in rows]
    if chart == "aging":
        header = ["story", "title", "team", "kind", "state", "started", "age_days", "blocked"]
        return header, [list(row.values()) for row in report["aging"]["items"]]
    if chart == "sprints":
        header = ["flow_sprint", "start", "end", "team", "velocity_points",
                  "committed_points", "done_points", "predictability"]  # fmt: skip
        rows = []
        for s in report["sprints"]:
            teams = s["predictability"]["teams"]
            for team, points in s["velocity"].items():
                p = teams.get(team, {})
                rows.append([s["number"], s["start"], s["end"], int(team), points,
                             p.get("committed"), p.get("done"), p.get("ratio")])  # fmt: skip
            total = s["predictability"]
            rows.append([s["number"], s["start"], s["end"], "all", sum(s["velocity"].values()),
                         total["committed"], total["done"], total["ratio"]])  # fmt: skip
        return header, rows
    if chart == "distribution":
        rows = [[s["number"], *(s[k] for k in KINDS)] for s in report["distribution"]["sprints"]]
        return ["flow_sprint", *KINDS], rows
    if chart == "forecast":
        f = report["forecast"]
        header = ["day", "date", *(f"finished_by_p{p}" for p in figures.PERCENTILES)]
        if not f["how_many"]:
            return header, []
        as_of = date.fromisoformat(report["as_of"])
        rows = []
        for day in range(1, f["horizon_days"] + 1):
            counts = forecast.how_many(f["how_many"], day)
            when = (as_of + timedelta(days=day)).isoformat()
            rows.append([day, when, *(counts[str(p)] for p in figures.PERCENTILES)])
        return header, rows
    raise KeyError(chart)
