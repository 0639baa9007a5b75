"""Benchmark (not a test): story PATCHes through the REST API against a bare UPDATE.

Serves the product with gunicorn (the production command: sync workers) on
PostgreSQL with the ``max`` data set, then drives it from 16 concurrent
clients, each a Scrum Team member with their own token, moving their own
team's stories between in progress and in review: token auth, If-Match, the
state change and its history row, the JSON answer with the new ETag. The
same server, in the same run, then answers a bare endpoint that does one
UPDATE of a story row; the script prints p50/p95/p99 latency and throughput
of both, the SQL statements one request of each runs (counted in process after
the run), and the ratio (quality.md: p95 ≤ 50 ms, throughput ≥ 50 % of bare).

    uv run python -m tests.bench.api_patch                # defaults below
    uv run python -m tests.bench.api_patch --requests 300 --workers 4

Needs PostgreSQL (DATABASE_URL, default a database ``semflow_bench`` on
127.0.0.1, created and seeded if missing). Uses Redis for the cache and the
rate-limit counters when REDIS_URL is set, as production does. Only talks to
127.0.0.1; every loop is bounded in count and time.
"""

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

from tests.bench import datasets

PHASE_TIMEOUT = 300  # seconds; a phase that runs longer is cut and said so


def prepare(clients: int) -> list[dict]:
    """One token and a set of stories per client, from the ``max`` data set."""
    from django.db.models import Count

    from backlog.models import Story
    from teams.models import FlowTeam, RoleAssignment
    from teams.services import api_token_create

    flow_team = FlowTeam.objects.get(slug="atlas-max")
    # Team members who may move their team's stories: the POs, then the SMs.
    members = list(
        RoleAssignment.objects.filter(flow_team=flow_team, role__in=["po", "sm"])
        .select_related("membership__user", "scrum_team")
        .order_by("role", "scrum_team__number")[:clients]
    )
    by_team: dict[int, list[int]] = {}
    for a in members:
        by_team.setdefault(a.scrum_team_id, [])
    movable = (
        Story.objects.filter(
            scrum_team_id__in=by_team,
            state__in=["in_progress", "in_review"],
            points__isnull=False,
        )
        .annotate(n=Count("criteria"))
        .filter(n__gt=0)
        .order_by("scrum_team_id", "id")
        .values_list("scrum_team_id", "id")
    )
    for team_id, story_id in movable:
        by_team[team_id].append(story_id)
    sharing = {team_id: [a for a in members if a.scrum_team_id == team_id] for team_id in by_team}
    plans = []
    for a in members:
        peers = sharing[a.scrum_team_id]
        # Members of the same team split its stories: no two clients write one story.
        stories = by_team[a.scrum_team_id][peers.index(a) :: len(peers)]
        if not stories:
            raise SystemExit(f"no movable story for {a.scrum_team}: reseed with --reset")
        _, secret = api_token_create(user=a.membership.user, name="benchmark")
        plans.append({"token": secret, "stories": stories})
    return plans


def request(port: int, method: str, path: str, headers: dict, body=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    # As the TLS-terminating proxy in front of production says (else: redirect to https).
    headers = {**headers, "X-Forwarded-Proto": "https"}
    try:
        started = time.perf_counter()
        conn.request(
            method, path, body=json.dumps(body) if body is not None else None, headers=headers
        )
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        return response.status, response.getheader("ETag"), data, elapsed
    finally:
        conn.close()


def run_phase(name: str, plans: list[dict], n: int, step) -> dict:
    """Each client makes ``n`` requests; ``step(client, i)`` does one and returns its timing."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + PHASE_TIMEOUT
    barrier = threading.Barrier(len(plans) + 1)

    def client(index: int) -> None:
        barrier.wait()
        for i in range(n):
            if time.monotonic() > deadline:
                return
            status, elapsed = step(index, i)
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(len(plans))]
    for t in threads:
        t.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    latencies.sort()
    q = statistics.quantiles(latencies, n=100, method="inclusive")
    return {
        "name": name,
        "requests": len(latencies),
        "statuses": statuses,
        "p50": q[49] * 1000,
        "p95": q[94] * 1000,
        "p99": q[98] * 1000,
        "throughput": len(latencies) / wall,
        "cut": time.monotonic() > deadline,
    }


def queries_per_request(plan: dict, states: dict, etags: dict) -> tuple[int, int]:
    """The SQL statements of one PATCH and of one bare UPDATE, counted in this process
    (Django's test client, the same code and database; the token is warm), after the
    timed phases so that counting costs them nothing."""
    from django.db import connection
    from django.test import Client

    story_id = plan["stories"][0]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plan['token']}")
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    def one_patch():
        target = "in_review" if states[story_id] == "in_progress" else "in_progress"
        response = client.patch(
            f"/api/v1/stories/{story_id}/",
            json.dumps({"state": target}),
            content_type="application/json",
            HTTP_IF_MATCH=etags[story_id],
        )
        assert response.status_code == 200, response.content
        etags[story_id], states[story_id] = response["ETag"], target

    one_patch()  # warm: the token's last use is recorded at most once a minute
    with connection.execute_wrapper(count):
        one_patch()
    patch_queries = len(statements)
    statements.clear()
    with connection.execute_wrapper(count):
        assert client.post(f"/bench/bare-update/{story_id}/").status_code == 200
    return patch_queries, len(statements)


def wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise SystemExit("gunicorn exited; see its output above")
        try:
            status, *_ = request(port, "GET", "/healthz", {})
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("gunicorn did not come up in 20 s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=150, help="per client and phase")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (more than 1: gthread workers)"
    )
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", datasets.database_url("max"))
    if not database_url.startswith("postgres"):
        raise SystemExit("the benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")
    datasets.use("max", database_url)
    plans = prepare(args.clients)

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-" + "x" * 50),
        "ALLOWED_HOSTS": "127.0.0.1",
        # The clients send far more than a person's script would; the limit is counted
        # (as in production) but set out of reach so that it measures work, not refusals.
        "API_RATE": "100000/min",
    }
    try:
        request(args.port, "GET", "/healthz", {})
        raise SystemExit(f"something already answers on port {args.port}: choose another --port")
    except OSError:
        pass
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "sem.wsgi",
            "--bind",
            f"127.0.0.1:{args.port}",
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--log-level",
            "warning",
        ],
        cwd=datasets.ROOT,
        env=env,
    )
    try:
        wait_until_up(args.port, server)
        etags: dict[int, str] = {}
        states: dict[int, str] = {}
        for plan in plans:
            for story_id in plan["stories"]:
                status, etag, data, _ = request(
                    args.port,
                    "GET",
                    f"/api/v1/stories/{story_id}/",
                    {"Authorization": f"Bearer {plan['token']}"},
                )
                assert status == 200, data
                etags[story_id], states[story_id] = etag, json.loads(data)["state"]

        def patch(index: int, i: int):
            plan = plans[index]
            story_id = plan["stories"][i % len(plan["stories"])]
            target = "in_review" if states[story_id] == "in_progress" else "in_progress"
            status, etag, data, elapsed = request(
                args.port,
                "PATCH",
                f"/api/v1/stories/{story_id}/",
                {
                    "Authorization": f"Bearer {plan['token']}",
                    "Content-Type": "application/json",
                    "If-Match": etags[story_id],
                },
                {"state": target},
            )
            if status == 200:
                etags[story_id], states[story_id] = etag, target
            return status, elapsed

        def bare(index: int, i: int):
            story_id = plans[index]["stories"][i % len(plans[index]["stories"])]
            status, _, _, elapsed = request(
                args.port, "POST", f"/bench/bare-update/{story_id}/", {}
            )
            return status, elapsed

        warm = max(2, args.requests // 20)
        run_phase("warm-up", plans, warm, patch)
        run_phase("warm-up", plans, warm, bare)
        results = [
            run_phase("story PATCH (API)", plans, args.requests, patch),
            run_phase("bare UPDATE", plans, args.requests, bare),
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
    results[0]["queries"], results[1]["queries"] = queries_per_request(plans[0], states, etags)

    model = "sync workers" if args.threads == 1 else f"workers x {args.threads} threads"
    print(
        f"\n{args.clients} clients, gunicorn {args.workers} {model}, PostgreSQL, "
        f"max data set; {args.requests} requests per client and phase"
    )
    print(
        f"{'':<20}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'req/s':>9}"
        f"{'queries':>9}  statuses"
    )
    for r in results:
        print(
            f"{r['name']:<20}{r['requests']:>9}{r['p50']:>9.1f}{r['p95']:>9.1f}{r['p99']:>9.1f}"
            f"{r['throughput']:>9.1f}{r['queries']:>9}  {r['statuses']}"
            f"{'  (cut at the time limit)' * r['cut']}"
        )
    api, base = results
    print(f"throughput ratio API / bare: {api['throughput'] / base['throughput']:.0%}")
    if set(api["statuses"]) != {200} or set(base["statuses"]) != {200}:
        raise SystemExit("some requests did not answer 200: the figures above are not clean")


if __name__ == "__main__":
    main()
