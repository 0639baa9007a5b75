"""Benchmark (not a test): 150 people watching one roadmap, or one Scrum of Scrums (live.md).

Serves the product with gunicorn (the production command: sync workers) on
PostgreSQL with the ``max`` data set. 150 viewers, each a member of the Flow Team
with their own session and live token, poll the screen's ``live/`` URL once a
second, as the page's poll element does; a writer changes what they watch through the
real service every 5 s: on the roadmap (``--screen roadmap``, the default) the CPO
re-scores an epic (``epic_change``), so every viewer fetches the new lanes; on the event
screen (``--screen event``) the CSM records the outputs (``event_outputs_record``); on the
Scrum of Scrums screen (``--screen sos``, 15 teams' answers and the action items, polling
its three keys) the CSM saves a team's answers (``sos_report_update``).
Bounded to ``--seconds``.

It prints poll latency p50/p95/p99 and the answers (204 unchanged, 200 changed), the
delay from each write's commit until every viewer had it (p50/p95/max over viewers and
writes), and the CPU the server processes and PostgreSQL used, in cores.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/semflow_bench_live \\
        uv run python -m tests.bench.live --seconds 60 [--screen event|sos]

Needs PostgreSQL (DATABASE_URL; the data set is created and seeded there if missing).
Only talks to 127.0.0.1; every loop is bounded in count and time.
"""

import argparse
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.bench import datasets

POLL = re.compile(r'id="live-poll"[^>]*hx-get="([^"]+)"')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _sessions(members) -> list[str]:
    """A signed-in session cookie per member, as the browser of each has."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    cookies = []
    for membership in members:
        user = membership.user
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"sessionid={session.session_key}")
    return cookies


def _next_sos(flow_team):
    """The Flow Team's next Scrum of Scrums that is not over, and its CSM as the writer."""
    from events.models import Event
    from teams.models import Membership
    from teams.selectors import actor_for

    event = (
        Event.objects.filter(flow_team=flow_team, kind="scrum_of_scrums")
        .exclude(state__in=["done", "cancelled"])
        .order_by("starts_at")
        .first()
    )
    csm = Membership.objects.get(flow_team=flow_team, roles__role="csm").user
    return event, actor_for(user=csm, flow_team=flow_team)


def prepare(screen: str, viewers: int):
    """The screen's topics, a write through its real service, and per viewer a session and
    a live token: (write, keys, the key the write bumps, plans)."""
    from datetime import timedelta

    from django.urls import reverse
    from django.utils import timezone

    from sem.live import live_poll_context, live_token, live_versions
    from teams.models import FlowTeam, Membership
    from teams.selectors import actor_for

    flow_team = FlowTeam.objects.get(slug="atlas-max")
    members = Membership.objects.filter(flow_team=flow_team).select_related("user").order_by("pk")
    params = {}
    if screen == "roadmap":
        from backlog.models import Epic
        from backlog.services import epic_change, roadmap_live_key

        cpo = Membership.objects.get(flow_team=flow_team, roles__role="cpo").user
        writer = actor_for(user=cpo, flow_team=flow_team)
        epic = Epic.objects.filter(flow_team=flow_team).order_by("rank").first()
        key, scope = roadmap_live_key(flow_team.pk), flow_team.pk
        url = reverse("roadmap-live", args=[flow_team.pk])
        params = {"since": (timezone.now() - timedelta(days=30)).isoformat()}

        def write(n: int) -> None:
            epic.refresh_from_db()
            epic_change(actor=writer, epic=epic, data={"job_size": (1, 2)[n % 2]})

    elif screen == "sos":
        from events import services, sos_views
        from events.models import ScrumOfScrumsReport

        event, writer = _next_sos(flow_team)
        services.sos_reports_ensure(actor=writer, event=event)  # as the first viewer does
        keys, key, scope = sos_views.sos_live_keys(event), services.sos_live_key(event.pk), event.pk
        url = reverse("sos-live", args=[event.pk])
        members = members.exclude(roles__role="stakeholder")
        report = ScrumOfScrumsReport.objects.filter(event=event).order_by("pk").first()

        def write(n: int) -> None:
            services.sos_report_update(
                actor=writer, report=report, data={"impediments": f"write {n}"}
            )

    else:
        from events import services
        from events.models import Event

        event, writer = _next_sos(flow_team)
        if event.state == Event.State.SCHEDULED:
            event = services.event_start(actor=writer, event=event)
        key, scope = services.event_live_key(event.pk), event.pk
        url = reverse("event-live", args=[event.pk])
        # Everyone who takes part in a Scrum of Scrums sees its screen (stakeholders do not).
        members = members.exclude(roles__role="stakeholder")

        def write(n: int) -> None:
            event.refresh_from_db()
            services.event_outputs_record(
                actor=writer,
                event=event,
                outputs={"answers": f"write {n}"},
                read_version=event.outputs_version,
            )

    keys = keys if screen == "sos" else [key]
    versions = live_versions(keys)
    members = list(members[:viewers])
    # With fewer members than viewers, some have the screen open twice (laptop, projector).
    members = [members[i % len(members)] for i in range(viewers)]
    expires = timezone.now() + timedelta(hours=2)
    plans = []
    for membership, cookie in zip(members, _sessions(members), strict=True):
        token = live_token(
            screen=screen,
            user_id=membership.user_id,
            flow_team_id=flow_team.pk,
            scope=scope,
            keys=keys,
            expires_at=expires,
        )
        context = live_poll_context(
            url=url, token=token, versions=versions, keys=keys, params=params
        )
        plans.append({"cookie": cookie, "url": context["url"]})
    return write, keys, key, plans


def get(port: int, path: str, cookie: str):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        conn.request(
            "GET",
            path,
            headers={"Cookie": cookie, "HX-Request": "true", "X-Forwarded-Proto": "https"},
        )
        response = conn.getresponse()
        body = response.read().decode()
        return response.status, body, time.perf_counter() - started
    finally:
        conn.close()


def cpu_seconds(pids) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    return total


def pids_of(predicate) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if predicate(entry):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--screen", choices=["roadmap", "event", "sos"], default="roadmap")
    parser.add_argument("--viewers", type=int, default=150)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--write-every", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    args.seconds = min(args.seconds, 300)  # bounded, whatever is asked
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("postgres"):
        raise SystemExit("the benchmark runs on PostgreSQL: set DATABASE_URL=postgres://…")
    datasets.use("max", database_url)
    write_once, keys, key, plans = prepare(args.screen, args.viewers)
    position = keys.index(key)  # where the written key's version sits in the poll URL's v

    from sem.live import live_versions

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.bench.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "benchmark-only-" + "x" * 50),
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    from django.conf import settings

    env["SECRET_KEY"] = settings.SECRET_KEY  # the tokens were signed with this process's key
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "sem.wsgi", "--bind", f"127.0.0.1:{args.port}"]
        + ["--workers", str(args.workers), "--log-level", "warning"],
        cwd=datasets.ROOT,
        env=env,
    )
    latencies, statuses, seen = [], {}, {}  # seen[(viewer, version)] = first time
    writes: dict[int, float] = {}
    lock = threading.Lock()
    stop = threading.Event()
    try:
        for _ in range(100):
            try:
                if get(args.port, "/healthz", "")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        else:
            raise SystemExit("gunicorn did not come up in 20 s")

        def viewer(index: int) -> None:
            plan = plans[index]
            url = plan["url"]
            stop.wait(random.random())  # viewers opened the page at different moments
            while not stop.is_set():
                tick = time.monotonic()
                status, body, elapsed = get(args.port, url, plan["cookie"])
                now = time.time()
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1
                if status in (200, 286):
                    url = POLL.search(body).group(1).replace("&amp;", "&")
                    shown = re.search(r"[?&]v=([\d.]+)", url).group(1).split(".")
                    version = int(shown[position])
                    with lock:
                        seen.setdefault((index, version), now)
                stop.wait(max(0.0, 1.0 - (time.monotonic() - tick)))

        def write() -> None:
            n = 0
            while not stop.wait(args.write_every):
                n += 1
                write_once(n)
                writes[live_versions([key])[key]] = time.time()

        def server_pids():
            return [server.pid] + pids_of(
                lambda p: (p / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(server.pid)
            )

        def postgres_pids():
            return pids_of(lambda p: (p / "comm").read_text().strip() == "postgres")

        threads = [threading.Thread(target=viewer, args=(i,)) for i in range(len(plans))]
        threads.append(threading.Thread(target=write))
        # Per process, so that backends PostgreSQL forks during the run count from zero.
        before = {pid: cpu_seconds([pid]) for pid in server_pids() + postgres_pids()}
        started = time.monotonic()
        for t in threads:
            t.start()
        stop.wait(args.seconds)
        stop.set()
        for t in threads:
            t.join(timeout=35)
        wall = time.monotonic() - started
        cpu_used = [
            sum(cpu_seconds([pid]) - before.get(pid, 0.0) for pid in pids)
            for pids in (server_pids(), postgres_pids())
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)

    q = statistics.quantiles(sorted(latencies), n=100, method="inclusive")
    delays, missed = [], 0
    for version, at in writes.items():
        for index in range(len(plans)):
            firsts = [t for (i, v), t in seen.items() if i == index and v >= version]
            if firsts:
                delays.append(min(firsts) - at)
            else:
                missed += 1
    print(
        f"\n{len(plans)} viewers of the {args.screen} polling once a second, a write every "
        f"{args.write_every:g} s through its service; gunicorn {args.workers} sync workers, "
        f"PostgreSQL; {wall:.0f} s"
    )
    print(
        f"poll latency ms: p50 {q[49] * 1000:.1f}  p95 {q[94] * 1000:.1f}  "
        f"p99 {q[98] * 1000:.1f}  ({len(latencies)} polls, answers {statuses})"
    )
    if delays:
        d = sorted(delays)
        dq = statistics.quantiles(d, n=100, method="inclusive") if len(d) > 1 else [d[0]] * 99
        print(
            f"write to every viewer s: p50 {dq[49]:.2f}  p95 {dq[94]:.2f}  max {d[-1]:.2f}  "
            f"({len(writes)} writes, {missed} viewer-writes not seen before the end)"
        )
    print(f"CPU, cores: server {cpu_used[0] / wall:.2f}  PostgreSQL {cpu_used[1] / wall:.2f}")


if __name__ == "__main__":
    main()
