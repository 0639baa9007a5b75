"""The cadence job end to end on a real Celery worker process, Redis and PostgreSQL."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from events.models import Event
from events.services import cadence_roll
from flow.models import FlowSprint
from teams import services as team_services
from tests.conftest import build_flow_team

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
BROKER = os.environ.get("CELERY_TEST_BROKER", "redis://127.0.0.1:6379/14")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _needs_postgres_and_redis():
    if connection.vendor != "postgresql":
        pytest.skip("the worker process must share the test database: PostgreSQL only (CI)")
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=1).flushdb()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"Redis not reachable at {BROKER}")


def start_worker():
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
        f"/{db['NAME']}",
        "REDIS_URL": BROKER,
        "CELERY_TASK_ALWAYS_EAGER": "false",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "sem",
            "worker",
            "--pool",
            "solo",
            "--loglevel",
            "warning",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def producer():
    # Not the current app: shared tasks would bind to this bare one (no Django settings,
    # never eager) in every later test of the process.
    return Celery(broker=BROKER, set_as_current=False)


def wait_for(condition, seconds=60, every=0.2):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def stop(worker):
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()


def test_beat_task_runs_end_to_end_on_a_real_worker():
    first, second = build_flow_team(), build_flow_team(prefix="Other")
    worker = start_worker()
    try:
        producer().send_task("events.tasks.cadence_tick")
        assert wait_for(
            lambda: all(
                Event.objects.filter(flow_team=ns.flow_team, kind="flow_retro").count() >= 7
                for ns in (first, second)
            )
        ), worker.stdout.read1().decode() if worker.poll() is not None else "worker timed out"
    finally:
        stop(worker)
    assert FlowSprint.objects.filter(flow_team=first.flow_team, state="active").count() == 1
    # The job's work is complete: running it again writes nothing.
    assert cadence_roll(flow_team=first.flow_team)["events_created"] == 0


def test_worker_killed_mid_task_then_rerun_leaves_no_duplicate_and_nothing_missing():
    ns = build_flow_team(teams=3)
    for n in range(4, 16):  # the largest Flow Team: 15 Scrum Teams, a long calendar job
        team_services.scrum_team_create(flow_team=ns.flow_team, name=f"Team {n}")
    worker = start_worker()
    try:
        producer().send_task("events.tasks.cadence_roll", args=[ns.flow_team.pk])
        # Each sprint's calendar commits on its own: kill as soon as the first one landed.
        assert wait_for(lambda: Event.objects.filter(flow_team=ns.flow_team).exists(), every=0.002)
        worker.send_signal(signal.SIGKILL)  # mid-task: some sprints' calendars are written
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    partial = Event.objects.filter(flow_team=ns.flow_team).count()
    print(f"events written before the kill: {partial}")

    rerun = start_worker()
    try:
        producer().send_task("events.tasks.cadence_roll", args=[ns.flow_team.pk])
        assert wait_for(
            lambda: (
                Event.objects.filter(flow_team=ns.flow_team).count() > partial
                or cadence_is_complete(ns)
            )
        )
        assert wait_for(lambda: cadence_is_complete(ns))
    finally:
        stop(rerun)
    keys = list(
        Event.objects.filter(flow_team=ns.flow_team).values_list(
            "flow_sprint", "kind", "scrum_team", "occurrence"
        )
    )
    assert len(keys) == len(set(keys)), "no duplicate event"
    assert len(keys) > partial, "the kill came mid-task"
    assert cadence_roll(flow_team=ns.flow_team)["events_created"] == 0, "nothing missing"


def cadence_is_complete(ns):
    sprints = FlowSprint.objects.filter(flow_team=ns.flow_team).exclude(state="closed")
    return sprints.count() >= 7 and all(
        Event.objects.filter(flow_sprint=s, kind="flow_retro").exists() for s in sprints
    )
