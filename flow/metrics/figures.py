"""The figures of metrics.md, computed from items over a range of days. Pure functions."""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import date, timedelta

from flow.metrics.items import KINDS, STATES, Item

PERCENTILES = (50, 70, 85, 95)
PREDICTABILITY_HEALTHY = (0.8, 1.0)  # metrics.md: the healthy band of flow predictability


def percentile(values: Sequence[int | float], p: float):
    """Nearest rank: the smallest value such that at least p % of values are <= it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def percentiles(values: Sequence[int | float]) -> dict[str, int | float | None]:
    ordered = sorted(values)
    return {str(p): percentile(ordered, p) for p in PERCENTILES}


def aging_past(age: int | None, cycle_time: dict | None) -> int | None:
    """The highest cycle-time percentile (50, 70, 85, 95) that a started item's age is past,
    as on an aging chart: past 85 means "older than 85 % of the finished items". None when
    it is past none of them, or there are no percentiles yet."""
    if age is None or not cycle_time:
        return None
    limits = {p: cycle_time.get(str(p)) for p in PERCENTILES}
    past = [p for p, limit in limits.items() if limit is not None and age > limit]
    return max(past, default=None)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def daily_throughput(items: Iterable[Item], first: date, last: date) -> list[int]:
    """Items finished on each day from first to last; days with none are kept as 0."""
    counts = [0] * ((last - first).days + 1)
    for item in items:
        if item.finish is not None and first <= item.finish <= last:
            counts[(item.finish - first).days] += 1
    return counts


def daily_wip(items: Iterable[Item], first: date, last: date) -> list[int]:
    """Started on or before the day and not finished before it (finished that day counts)."""
    size = (last - first).days + 1
    delta = [0] * (size + 1)
    for item in items:
        if item.start is None or item.start > last:
            continue
        if item.finish is not None and item.finish < first:
            continue
        delta[max(0, (item.start - first).days)] += 1
        if item.finish is not None:
            delta[(item.finish - first).days + 1] -= 1
    wip, running = [], 0
    for change in delta[:size]:
        running += change
        wip.append(running)
    return wip


def cumulative_flow(items: Iterable[Item], first: date, last: date) -> dict[str, list[int]]:
    """Stories in each state at the end of each day, replayed from the history."""
    size = (last - first).days + 1
    index = {state: i for i, state in enumerate(STATES)}
    delta = [[0] * len(STATES) for _ in range(size)]
    carried = [0] * len(STATES)  # moves before the first day set the starting counts
    for item in items:
        for day, before, after in item.moves:
            if day > last:
                break
            row = carried if day < first else delta[(day - first).days]
            if before:
                row[index[before]] -= 1
            row[index[after]] += 1
    series = {state: [] for state in STATES}
    running = carried[:]
    for row in delta:
        for i, state in enumerate(STATES):
            running[i] += row[i]
            series[state].append(running[i])
    return series


def weekly_sums(daily: Sequence[int], first: date) -> list[dict]:
    """Daily counts summed per ISO week (Monday first); partial weeks at the edges are kept."""
    weeks: dict[date, int] = {}
    for i, count in enumerate(daily):
        day = first + timedelta(days=i)
        monday = day - timedelta(days=day.weekday())
        weeks[monday] = weeks.get(monday, 0) + count
    return [{"week": monday.isoformat(), "throughput": n} for monday, n in weeks.items()]


def flow_efficiency(finished: Iterable[Item]) -> dict:
    """Active hours over start-to-finish hours, summed over the finished items."""
    active = span = 0.0
    counted = 0
    for item in finished:
        if item.span_hours:
            active += item.active_hours
            span += item.span_hours
            counted += 1
    return {
        "ratio": round(active / span, 4) if span else None,
        "active_hours": round(active, 1),
        "span_hours": round(span, 1),
        "items": counted,
    }


def distribution(finished: Iterable[Item]) -> dict[str, int]:
    counts = Counter(item.story.kind for item in finished)
    return {kind: counts.get(kind, 0) for kind in KINDS}


def sprint_rows(
    items: Sequence[Item],
    sprints: Sequence[dict],
    predictability: dict[int, dict[int, dict]],
    teams: Sequence[int],
) -> list[dict]:
    """Per Flow Sprint: throughput, flow distribution, velocity and predictability per team.

    ``sprints`` are dicts with id, number, start, end; ``predictability`` maps sprint id to
    {team number: {"committed": points, "done": points}}.
    """
    finished = [item for item in items if item.finish is not None]
    rows = []
    for sprint in sprints:
        inside = [item for item in finished if sprint["start"] <= item.finish <= sprint["end"]]
        velocity = dict.fromkeys(teams, 0)
        for item in inside:
            if item.story.team in velocity:
                velocity[item.story.team] += item.story.points or 0
        per_team = {
            team: figures
            for team, figures in predictability.get(sprint["id"], {}).items()
            if team in velocity
        }
        committed = sum(f["committed"] for f in per_team.values())
        done = sum(f["done"] for f in per_team.values())
        rows.append(
            {
                "number": sprint["number"],
                "start": sprint["start"].isoformat(),
                "end": sprint["end"].isoformat(),
                "state": sprint["state"],
                "throughput": len(inside),
                "distribution": distribution(inside),
                "velocity": {str(team): points for team, points in velocity.items()},
                "predictability": {
                    "teams": {
                        str(team): {**f, "ratio": _ratio(f["done"], f["committed"])}
                        for team, f in sorted(per_team.items())
                    },
                    "committed": committed,
                    "done": done,
                    "ratio": _ratio(done, committed),
                },
            }
        )
    return rows


def predictable(ratio: float | None) -> bool | None:
    """Inside the healthy band of flow predictability; None when nothing was committed."""
    low, high = PREDICTABILITY_HEALTHY
    return None if ratio is None else low <= ratio <= high


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
