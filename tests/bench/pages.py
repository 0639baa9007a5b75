"""Benchmark (not a test): server time of the pages people use, on PostgreSQL with ``max``.

Each page is requested through Django's test client in this process (the whole
request: middleware, session, queries, templates; no network), signed in as the
CPO of the ``max`` Flow Team, ``--requests`` times after two warm-up requests. It
prints p50/p95/max milliseconds and the queries each request ran, next to
``/healthz`` (one query to the database and a broker ping) as the floor
(quality.md: every page p95 ≤ 150 ms on max).

    uv run python -m tests.bench.pages                    # 50 requests a page
    uv run python -m tests.bench.pages --requests 200
    uv run python -m tests.bench.pages --only roadmap     # the pages whose path holds it
    uv run python -m tests.bench.pages --database-url postgres://…/semflow_bench_mine

The data set lives in its own database (see tests/bench/datasets.py), created and
seeded when missing; the metrics pages read the snapshots the seed's metrics run
stored. Every loop is bounded in count.
"""

import argparse
import statistics
import time

from tests.bench import datasets

# A page marked cold is measured with an empty cache: live screens render their shared
# regions once per version (sem/live.py), so the first viewer after a change pays this.
COLD = "cold:"
PAGES = [
    ("/healthz", "floor: database and broker check"),
    ("/", "home: sprint, today's events"),
    ("/calendar/?scope=flow", "calendar, whole Flow Team"),
    ("/flow-team/", "people and teams"),
    ("/roadmap/", "roadmap, regions in the cache"),
    (COLD + "/roadmap/", "roadmap, regions rendered afresh"),
    ("/roadmap/?epic={epic}", "roadmap with an epic open"),
    ("/events/{planning}/planning-1/", "Planning 1 board, rows in the cache"),
    (COLD + "/events/{planning}/planning-1/", "Planning 1 board, rows afresh"),
    ("/events/{planning}/planning-1/?story={story}", "Planning 1 board, a story open"),
    ("/backlog/", "product backlog"),
    ("/events/{planning_2}/planning-2/", "Planning 2 board, cached regions"),
    (COLD + "/events/{planning_2}/planning-2/", "Planning 2 board, rendered afresh"),
    ("/events/{planning_2}/risks/", "risk register"),
    ("/metrics/", "metrics, whole Flow Team"),
    ("/metrics/?team=7", "metrics, one Scrum Team"),
    ("/metrics/cycle-time.csv", "cycle-time CSV"),
    ("/api/v1/metrics/", "metrics API"),
    ("/api/v1/stories/?limit=200", "stories API, 200 rows"),
]


def measure(client, path: str, requests: int) -> dict:
    from django.core.cache import cache
    from django.db import connection

    cold = path.startswith(COLD)
    path = path.removeprefix(COLD)

    for _ in range(2):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
    times, queries = [], []

    # Counted as they run: Django empties connection.queries at the start of each request.
    def count(execute, sql, params, many, context):
        queries.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        if cold:
            cache.clear()
        client.get(path)
    for _ in range(requests):
        if cold:
            cache.clear()
        started = time.perf_counter()
        client.get(path)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return {
        "p50": statistics.median(times),
        "p95": times[max(0, round(0.95 * len(times)) - 1)],
        "max": times[-1],
        "queries": len(queries),
        "bytes": len(response.content),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument(
        "--only",
        default="",
        help="only the pages whose path holds this text (or one of these, comma-separated)",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="the database holding max (created and seeded when missing); default "
        + datasets.database_url("max"),
    )
    args = parser.parse_args()
    datasets.use("max", args.database_url)

    from django.conf import settings
    from django.test import Client

    from events.seeding import email_prefix
    from flow.models import MetricSnapshot
    from teams.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    cpo = User.objects.get(email=f"{email_prefix('max', 0)}cpo@example.com")
    if not MetricSnapshot.objects.filter(flow_team__memberships__user=cpo).exists():
        raise SystemExit("no metrics snapshot on max: run the metrics job (seed does) first")
    client = Client()
    client.force_login(cpo)

    print(f"Server time of {len(PAGES)} pages on max, {args.requests} requests each (ms)")
    print(f"{'page':<34} {'path':<28} {'p50':>7} {'p95':>7} {'max':>7} {'queries':>8} {'KiB':>6}")
    from backlog.models import Epic
    from events.models import Event

    epic = Epic.objects.filter(flow_team__memberships__user=cpo).order_by("rank").first()
    # The Planning 1 of the running Flow Sprint: its board shows it and the next three.
    planning = Event.objects.get(
        flow_team__memberships__user=cpo, kind="planning_1", flow_sprint__state="active"
    )
    from flow.models import SprintCommitment

    story = (
        SprintCommitment.objects.filter(team_sprint__flow_sprint=planning.flow_sprint)
        .values_list("story_id", flat=True)
        .first()
    )
    # The Planning 2 of the Flow Sprint running now (the board reads its Team Sprints).
    planning_2 = (
        Event.objects.filter(
            flow_team__memberships__user=cpo, kind="planning_2", flow_sprint__state="active"
        )
        .values_list("pk", flat=True)
        .first()
    )
    for path, label in PAGES:
        if not any(part in path for part in args.only.split(",")):
            continue
        path = path.format(epic=epic.pk, planning=planning.pk, story=story, planning_2=planning_2)
        figures = measure(client, path, args.requests)
        shown = path.removeprefix(COLD)
        print(
            f"{label:<34} {shown:<28} {figures['p50']:>7.1f} {figures['p95']:>7.1f} "
            f"{figures['max']:>7.1f} {figures['queries']:>8} {figures['bytes'] / 1024:>6.0f}"
        )


if __name__ == "__main__":
    main()
