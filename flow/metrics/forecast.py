"""Monte Carlo forecasts from daily throughput (metrics.md).

Each trial draws one day's throughput at a time, from tomorrow on, out of the
window's daily counts (zero days included). One simulation answers both
questions for every day of the horizon:

- how many by day d, at p %: the largest count that at least p % of trials
  reached by d (85 % gives a smaller number than 50 %);
- when will N be done, at p %: the p-th percentile (nearest rank) of the day
  the trials reached N. A trial reaches N by day d exactly when its count at
  d is >= N, so that day is the first d whose "how many" at p % is >= N, and
  the table of "how many" per day answers "when" for any N by a lookup.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from flow.metrics.figures import PERCENTILES

TRIALS = 10_000
WINDOW_DAYS = 60
RELIABLE_FROM = 10  # finished items in the window


def reliable(window: Sequence[int]) -> bool:
    """Whether the window holds enough finished items for a forecast to lean on."""
    return sum(window) >= RELIABLE_FROM


@dataclass
class Simulation:
    trials: int
    # cumulative[t, d]: items trial t finished by the end of day d + 1 (day 1 = tomorrow).
    cumulative: np.ndarray

    @property
    def horizon(self) -> int:
        return self.cumulative.shape[1]

    def how_many_table(self, ps: Sequence[int] = PERCENTILES) -> dict[str, list[int]]:
        """For each p, the count at least p % of trials reached by each day of the horizon."""
        # k-th smallest with k = T - ceil(p T / 100): at least ceil(p T / 100) trials are >= it.
        ranks = {p: self.trials - math.ceil(p * self.trials / 100) for p in ps}
        by_day = np.ascontiguousarray(self.cumulative.T)
        by_day.partition(sorted(set(ranks.values())), axis=1)
        return {str(p): by_day[:, rank].tolist() for p, rank in ranks.items()}

    def chance_by(self, day: int, items: int) -> float:
        """Share of trials that finished ``items`` by ``day`` (1 = tomorrow)."""
        if items <= 0:
            return 1.0
        if day < 1:
            return 0.0
        column = self.cumulative[:, min(day, self.horizon) - 1]
        return float(np.count_nonzero(column >= items)) / self.trials


def simulate(
    window: Sequence[int], *, horizon: int, trials: int = TRIALS, seed: int
) -> Simulation | None:
    """Resample ``window`` (daily throughput) for ``horizon`` days; None if it never moves."""
    history = np.asarray(window, dtype=np.int32)
    if not history.any():  # empty, or nothing ever finished
        return None
    rng = np.random.default_rng(seed)
    draws = history[rng.integers(0, history.size, size=(trials, horizon))]
    return Simulation(trials=trials, cumulative=draws.cumsum(axis=1, dtype=np.int32))


def when_done(table: dict[str, list[int]], items: int) -> dict[str, int | None]:
    """Days from today (1 = tomorrow) by which ``items`` are done at each p; None past horizon."""
    if items <= 0:
        return dict.fromkeys(table, 0)
    answer = {}
    for p, counts in table.items():
        answer[p] = next((d + 1 for d, count in enumerate(counts) if count >= items), None)
    return answer


def how_many(table: dict[str, list[int]], day: int) -> dict[str, int | None]:
    """Counts done by ``day`` (1 = tomorrow) at each p; None past the horizon."""
    if day < 1:
        return dict.fromkeys(table, 0)
    return {p: (counts[day - 1] if day <= len(counts) else None) for p, counts in table.items()}
