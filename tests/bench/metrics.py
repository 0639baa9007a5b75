"""Benchmark (not a test): computing all flow metrics of a Flow Team, on max and on fleet.

Times ``flow.services.metric_snapshots_compute`` (what the metrics job runs for one
Flow Team and one finished day: the inputs read in a fixed number of queries, every
figure of the Flow Team and each Scrum Team, the snapshots written) on PostgreSQL:

- ``max``: a first run (the day's snapshots deleted before, so it writes them all),
  a rerun (the same figures, so it writes nothing) and ``flow.selectors.metrics_inputs``
  alone (the reads);
- ``fleet``: every one of its 10 Flow Teams in turn, first run and rerun.

Each figure is the median of ``--repeat`` runs. It prints seconds in total and per
Flow Team and the ratio fleet / max of the first runs (quality.md: ≤ 2 s per Flow
Team on max; cost grows linearly, fleet ≤ 12× max).

    uv run python -m tests.bench.metrics                  # max and fleet, 3 runs each
    uv run python -m tests.bench.metrics --sizes max --repeat 5

The data sets live in their own databases (see tests/bench/datasets.py), created
and seeded when missing; the metrics are computed as of yesterday, the finished
day the metrics job computes. Every loop is bounded in count.
"""

import argparse
import statistics
import time
from datetime import timedelta

from tests.bench import datasets


def timed(run, repeat: int, before=None) -> tuple[float, object]:
    """Median seconds of ``repeat`` calls of ``run`` (``before`` runs untimed ahead of each)
    and what the last call returned."""
    seconds, result = [], None
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        result = run()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def measure(size: str, repeat: int) -> list[dict]:
    """Load ``size`` and time its runs; one row per run kind."""
    datasets.use(size)
    from backlog.models import StateChange, Story
    from events import seeding
    from flow import selectors, services
    from flow.models import MetricSnapshot
    from teams.models import FlowTeam

    flow_teams = list(FlowTeam.objects.filter(slug__in=seeding.slugs_for(size)).order_by("pk"))
    as_of = {ft.pk: ft.today() - timedelta(days=1) for ft in flow_teams}
    shape = {
        "data set": size,
        "flow teams": len(flow_teams),
        "stories": Story.objects.filter(flow_team__in=flow_teams).count(),
        "state changes": StateChange.objects.filter(flow_team__in=flow_teams).count(),
    }

    def forget():
        for ft in flow_teams:
            MetricSnapshot.objects.filter(flow_team=ft, as_of=as_of[ft.pk]).delete()

    def compute_all():
        written = {"created": 0, "updated": 0}
        for ft in flow_teams:
            result = services.metric_snapshots_compute(flow_team=ft, as_of=as_of[ft.pk])
            written["created"] += result["created"]
            written["updated"] += result["updated"]
        return written

    def inputs_all():
        for ft in flow_teams:
            selectors.metrics_inputs(flow_team=ft, as_of=as_of[ft.pk])

    runs = [
        ("first run", *timed(compute_all, repeat, before=forget)),
        ("rerun", *timed(compute_all, repeat)),
    ]
    if size == "max":
        runs.append(("metrics_inputs", *timed(inputs_all, repeat)))
    return [
        {
            **shape,
            "run": name,
            "seconds": seconds,
            "per flow team": seconds / len(flow_teams),
            "written": written,
        }
        for name, seconds, written in runs
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="max,fleet", help="comma-separated: max, fleet")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    args = parser.parse_args()
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = set(sizes) - set(datasets.DATABASE_NAMES)
    if unknown or args.repeat < 1:
        raise SystemExit(f"--sizes takes max and/or fleet, --repeat at least 1 (got {args.sizes})")

    rows = [row for size in sizes for row in measure(size, args.repeat)]

    print(f"\nflow metrics on PostgreSQL, median of {args.repeat} runs, as of yesterday")
    print(
        f"{'data set':<9}{'run':<16}{'flow teams':>11}{'stories':>9}{'state changes':>15}"
        f"{'s total':>9}{'s / FT':>9}  snapshots written"
    )
    for r in rows:
        written = r["written"]
        print(
            f"{r['data set']:<9}{r['run']:<16}{r['flow teams']:>11}{r['stories']:>9,}"
            f"{r['state changes']:>15,}{r['seconds']:>9.2f}{r['per flow team']:>9.2f}  "
            + (f"{written['created']} created, {written['updated']} updated" if written else "-")
        )
    first = {r["data set"]: r for r in rows if r["run"] == "first run"}
    if "max" in first:
        print(f"max, one Flow Team: {first['max']['seconds']:.2f} s (target ≤ 2 s)")
    if {"max", "fleet"} <= set(first):
        ratio = first["fleet"]["seconds"] / first["max"]["seconds"]
        print(f"ratio fleet total / max: {ratio:.1f}× (target ≤ 12×)")
    dirty = [r for r in rows if r["run"] == "rerun" and any(r["written"].values())]
    if dirty:
        raise SystemExit("a rerun wrote snapshots again: it should write nothing")


if __name__ == "__main__":
    main()
