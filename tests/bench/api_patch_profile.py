"""Benchmark (not a test): where one story PATCH's time goes, in process.

The PATCH of ``tests/bench/api_patch.py`` (token, If-Match, a state change and its
history row, the new ETag) sent through Django's test client (the middleware and the
URL routing, no HTTP server) on the ``max`` data set, first timed plainly (median of
``--requests``), then under cProfile, which prints the cumulative time per PATCH of
the parts named below (the profiler inflates the Python parts; the waits do not grow).

    REDIS_URL=redis://127.0.0.1:6379/10 uv run python -m tests.bench.api_patch_profile
"""

import argparse
import cProfile
import json
import os
import pstats
import statistics
import time

from tests.bench import datasets

PARTS = [
    ("whole request (test client)", "client.py", "patch"),
    ("middleware and routing to the view", "base.py", "_get_response"),
    ("lean entry (all of the PATCH's own work)", "lean.py", "_lean_move"),
    ("  rate limit: the Redis script", "throttling.py", "allows_token"),
    ("  the one statement: execute + fetch", "services.py", "story_move_by_token"),
    ("    of which waiting in psycopg's execute", "cursor.py", "execute"),
    ("    of which rows made a Story", "selectors.py", "story_from_rows"),
    ("  the JSON answer", "lean.py", "_answer"),
    ("  the body parsed", "lean.py", "_state_alone"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", datasets.database_url("max"))
    datasets.use("max", database_url)
    from django.test import Client

    from tests.bench.api_patch import prepare

    plan = prepare(1)[0]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {plan['token']}")
    state: dict[int, tuple[str, str]] = {}
    for story_id in plan["stories"]:
        response = client.get(f"/api/v1/stories/{story_id}/")
        state[story_id] = (response["ETag"], response.json()["state"])

    def one_patch(i: int) -> float:
        story_id = plan["stories"][i % len(plan["stories"])]
        etag, now = state[story_id]
        target = "in_review" if now == "in_progress" else "in_progress"
        started = time.perf_counter()
        response = client.patch(
            f"/api/v1/stories/{story_id}/",
            json.dumps({"state": target}),
            content_type="application/json",
            HTTP_IF_MATCH=etag,
        )
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, response.content
        state[story_id] = (response["ETag"], target)
        return elapsed

    for i in range(20):  # warm
        one_patch(i)
    plain = [one_patch(i) for i in range(args.requests)]
    print(f"{args.requests} PATCHes, median {statistics.median(plain) * 1000:.2f} ms (plain)")
    profile = cProfile.Profile()
    profile.enable()
    for i in range(args.requests):
        one_patch(i)
    profile.disable()
    stats = pstats.Stats(profile).stats
    print(f"under cProfile, per PATCH (ms; load average {os.getloadavg()[0]:.1f}):")
    for label, filename, function in PARTS:
        found = [
            v[3]
            for (file, _, name), v in stats.items()
            if file.endswith(filename) and name == function
        ]
        if found:
            print(f"  {label:<46}{max(found) * 1000 / args.requests:>8.2f}")


if __name__ == "__main__":
    main()
