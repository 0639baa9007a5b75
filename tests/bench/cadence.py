"""Benchmark (not a test): the cadence job over every Flow Team of the fleet data set.

Does the work of ``events.tasks.cadence_tick``: for every Flow Team, the task
``events.tasks.cadence_roll`` (in this process, no broker), which schedules the
Flow Sprints ``horizon`` sprints ahead with a Team Sprint per Scrum Team, closes
finished sprints, activates the current one and keeps every open sprint's event
calendar. On PostgreSQL with the ``fleet`` data set (10 Flow Teams, 150 Scrum Teams):

- first run: the planned Flow Sprints after today are deleted beforehand (with
  their Team Sprints and events), so the job schedules them and their calendars
  again: what it writes when it has work to do;
- steady run: the same job straight after, which must write nothing.

Each time is the median of ``--repeat`` rounds. Every INSERT, UPDATE and DELETE
the job sends is counted with the rows it touched, per table, and the rows of
the tables it writes are counted before and after (quality.md: ≤ 5 s for fleet;
a second run writes nothing).

    uv run python -m tests.bench.cadence                  # 3 rounds
    uv run python -m tests.bench.cadence --repeat 5

The data set lives in its own database (see tests/bench/datasets.py), created and
seeded when missing. Every loop is bounded in count.
"""

import argparse
import re
import statistics
import time
from collections import Counter

from tests.bench import datasets

WRITE = re.compile(r'\s*(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)


class WriteCounter:
    """A Django execute wrapper: rows touched per (table, statement kind)."""

    def __init__(self):
        self.rows: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        found = WRITE.match(sql)
        if found:
            kind = found[1].split()[0].lower()
            self.rows[(found[2], kind)] += max(context["cursor"].rowcount, 0)
        return result

    def total(self) -> int:
        return sum(self.rows.values())

    def describe(self) -> str:
        return ", ".join(f"{t} {k} {n:,}" for (t, k), n in sorted(self.rows.items())) or "none"


def table_counts() -> dict[str, int]:
    from events.models import Event
    from flow.models import FlowSprint, SprintCommitment, TeamSprint

    models = (FlowSprint, TeamSprint, SprintCommitment, Event)
    return {model.__name__: model.objects.count() for model in models}


def forget_future() -> dict[str, int]:
    """Delete every planned Flow Sprint that starts after its Flow Team's today."""
    from flow.models import FlowSprint
    from teams.models import FlowTeam

    deleted: Counter = Counter()
    for flow_team in FlowTeam.objects.all():
        _, per_model = FlowSprint.objects.filter(
            flow_team=flow_team, state=FlowSprint.State.PLANNED, start__gt=flow_team.today()
        ).delete()
        deleted.update(per_model)
    return dict(deleted)


def run_job() -> tuple[float, WriteCounter, int]:
    """The cadence job, timed: seconds, the rows it wrote and the number of Flow Teams."""
    from django.db import connection

    from events.tasks import cadence_roll
    from teams.models import FlowTeam

    counter = WriteCounter()
    with connection.execute_wrapper(counter):
        started = time.perf_counter()
        ids = list(FlowTeam.objects.values_list("pk", flat=True))  # as cadence_tick does
        for flow_team_id in ids:
            cadence_roll(flow_team_id)
        seconds = time.perf_counter() - started
    return seconds, counter, len(ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="rounds (median)")
    args = parser.parse_args()
    if args.repeat < 1:
        raise SystemExit("--repeat takes a number of at least 1")
    datasets.use("fleet")

    rounds = []
    for _ in range(args.repeat):
        seeded = table_counts()
        deleted = forget_future()
        before = table_counts()
        first = run_job()
        after_first = table_counts()
        steady = run_job()
        after_steady = table_counts()
        rounds.append((seeded, deleted, before, first, after_first, steady, after_steady))

    seeded, deleted, before, first, after_first, steady, after_steady = rounds[-1]
    flow_teams = first[2]
    medians = {
        "first run": statistics.median(r[3][0] for r in rounds),
        "steady run": statistics.median(r[5][0] for r in rounds),
    }
    print(
        f"\ncadence job over {flow_teams} Flow Teams (fleet), PostgreSQL, "
        f"median of {args.repeat} rounds"
    )
    print(f"deleted before each first run: {', '.join(f'{k} {v:,}' for k, v in deleted.items())}")
    print(f"{'run':<12}{'seconds':>9}{'s / FT':>9}{'rows written':>14}  per table")
    for name, (_, counter, _) in (("first run", first), ("steady run", steady)):
        seconds = medians[name]
        print(
            f"{name:<12}{seconds:>9.2f}{seconds / flow_teams:>9.3f}{counter.total():>14,}  "
            f"{counter.describe()}"
        )
    print("rows in the tables it writes (last round):")
    print(f"{'':<24}" + "".join(f"{name:>18}" for name in seeded))
    for label, counts in (
        ("as seeded", seeded),
        ("future sprints deleted", before),
        ("after the first run", after_first),
        ("after the steady run", after_steady),
    ):
        print(f"{label:<24}" + "".join(f"{n:>18,}" for n in counts.values()))
    print(f"fleet, first run: {medians['first run']:.2f} s (target ≤ 5 s)")
    writes = [r[5][1].total() for r in rounds]
    print(f"steady run wrote {max(writes)} rows (target 0) in every round: {writes}")
    if any(writes) or any(r[6] != r[4] for r in rounds):
        raise SystemExit("THE STEADY RUN WROTE ROWS: a second cadence run should write nothing")
    if after_first != seeded:
        print("note: after the first run the tables differ from the seeded ones (see above)")


if __name__ == "__main__":
    main()
