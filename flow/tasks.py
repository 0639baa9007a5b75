"""Thin Celery tasks of the flow metrics: ids in, one service call, quiet if the object is gone."""

from datetime import date

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone

from flow import selectors, services
from teams.models import FlowTeam


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def metrics_compute(flow_team_id: int, as_of: str | None = None) -> dict | None:
    """Snapshots of one Flow Team and its Scrum Teams as of the end of ``as_of`` (ISO date;
    default today so far). Unchanged figures are not written again."""
    flow_team = FlowTeam.objects.filter(pk=flow_team_id).first()
    if flow_team is None:
        return None
    day = date.fromisoformat(as_of) if as_of else None
    return services.metric_snapshots_compute(flow_team=flow_team, as_of=day)


@shared_task
def metrics_tick() -> int:
    """Enqueue the finished day's snapshot of every Flow Team that has none computed after
    that day ended (in its own timezone). Firing twice enqueues nothing new the second time
    once the first has run; enqueued after commit."""
    due = selectors.metric_snapshots_due(now=timezone.now())
    for flow_team_id, day in due:
        as_of = day.isoformat()
        transaction.on_commit(lambda pk=flow_team_id, d=as_of: metrics_compute.delay(pk, d))
    return len(due)
