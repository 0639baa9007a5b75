"""Our flow metrics against independent implementations from PyPI, on generated data:
``quando-forecast`` (cycle times, daily throughput, Monte Carlo) and numpy's
``inverted_cdf`` percentile, which is the nearest-rank definition of metrics.md."""

import random
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from quando import Quando

from flow.metrics import figures, forecast
from flow.metrics.items import StoryRow, build_items

FIRST = date(2026, 1, 5)


def generated_items(seed: int, count: int = 300):
    """Stories walking through the workflow with skips, backward moves and reopenings."""
    rng = random.Random(seed)
    stories, changes = [], []
    for n in range(count):
        stories.append(StoryRow(id=n, team=1, kind="feature", points=None, title=""))
        t = datetime.combine(FIRST + timedelta(days=rng.randrange(120)), datetime.min.time(), UTC)
        path = ["backlog", "ready", "in_progress", "in_review", "done"]
        if rng.random() < 0.2:
            path.remove("in_review")
        if rng.random() < 0.1:
            path[2:2] = ["in_progress", "ready"]  # a backward move before the work
        if rng.random() < 0.1:
            path += ["in_progress", "done"]  # reopened and done again
        if rng.random() < 0.15:
            path = path[: rng.randrange(1, len(path))]  # not finished yet
        for state in path:
            changes.append((n, state, t))
            t += timedelta(hours=rng.expovariate(1 / 40))
    until = datetime.combine(FIRST + timedelta(days=400), datetime.min.time(), UTC)
    return build_items(stories, changes, [], tz=UTC, until=until)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cycle_times_and_throughput_match_quando(seed):
    finished = [i for i in generated_items(seed) if i.finish is not None]
    reference = Quando([(i.start, i.finish) for i in finished])
    assert sorted(i.cycle_time for i in finished) == sorted(reference.lead_times)
    first, last = min(i.finish for i in finished), max(i.finish for i in finished)
    assert figures.daily_throughput(finished, first, last) == reference.throughput.tolist()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_match_numpys_nearest_rank(seed):
    cycle_times = [i.cycle_time for i in generated_items(seed) if i.finish is not None]
    for p in (*figures.PERCENTILES, 1, 99, 100):
        expected = np.percentile(cycle_times, p, method="inverted_cdf")
        assert figures.percentile(cycle_times, p) == expected


@pytest.mark.parametrize("seed", [1, 2])
def test_monte_carlo_agrees_with_quando(seed):
    finished = [i for i in generated_items(seed) if i.finish is not None]
    reference = Quando([(i.start, i.finish) for i in finished])
    window = reference.throughput.tolist()
    simulation = forecast.simulate(window, horizon=200, seed=seed)
    table = simulation.how_many_table()
    for n in (10, 60):
        ours = forecast.when_done(table, n)
        theirs = reference.forecast_days(n, seed=seed + 100)
        for p in ("50", "85", "95"):
            # Different random streams and quando interpolates: one day apart at most.
            assert abs(ours[p] - theirs.percentile(int(p))) <= 1, (n, p)
    for days in (14, 60):
        theirs = reference.forecast_items(days, seed=seed + 100).distribution
        ours = simulation.cumulative[:, days - 1]
        assert abs(ours.mean() - theirs.mean()) <= 0.03 * theirs.mean()
        # "at least 85 % reached" is the 15th percentile of the count distribution.
        expected = np.percentile(theirs, 15, method="inverted_cdf")
        assert abs(forecast.how_many(table, days)["85"] - expected) <= max(2, 0.03 * expected)
