"""beat_once: what `make run` does on start instead of a beat process."""

import io

import pytest
import time_machine
from django.core.management import call_command

from events.models import Event
from flow.models import FlowSprint, MetricSnapshot
from tests.flow.history import build_history, local

pytestmark = pytest.mark.django_db


def rows():
    return (
        FlowSprint.objects.count(),
        Event.objects.count(),
        list(MetricSnapshot.objects.values_list("as_of", "computed_at").order_by("pk")),
    )


def test_every_beat_task_runs_once_and_a_second_run_writes_nothing(
    flow, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    build_history(flow)
    out = io.StringIO()
    with time_machine.travel(local("2026-03-11", 9), tick=False):
        # The ticks enqueue each Flow Team's work after commit; outside a test, at once.
        with django_capture_on_commit_callbacks(execute=True):
            call_command("beat_once", stdout=out)
        first = rows()
        with django_capture_on_commit_callbacks(execute=True):
            call_command("beat_once", stdout=io.StringIO())
    assert "cadence-tick: events.tasks.cadence_tick -> 1" in out.getvalue()
    assert "metrics-tick: flow.tasks.metrics_tick -> 1" in out.getvalue()
    sprints, events, snapshots = first
    # From the anchor (5 January, two weeks each): four past, the current (2–15 March), six ahead.
    assert sprints == 11 and events > 0
    assert {as_of.isoformat() for as_of, _ in snapshots} == {"2026-03-10"}  # yesterday
    assert len(snapshots) == 4  # the Flow Team and its 3 Scrum Teams
    assert rows() == first
