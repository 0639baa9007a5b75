"""Thin Celery tasks of the cadence: ids in, one service call, quiet when the object is gone."""

from celery import shared_task
from django.db import InterfaceError, OperationalError, transaction

from events import services
from teams.models import FlowTeam


@shared_task(
    autoretry_for=(OperationalError, InterfaceError),
    retry_backoff=2,
    retry_backoff_max=300,
    max_retries=8,
)
def cadence_roll(flow_team_id: int) -> dict | None:
    flow_team = FlowTeam.objects.filter(pk=flow_team_id).first()
    if flow_team is None:
        return None
    return services.cadence_roll(flow_team=flow_team)


@shared_task
def cadence_tick() -> int:
    """Fan out one roll per Flow Team (enqueued after commit, so never for rolled-back work)."""
    ids = list(FlowTeam.objects.values_list("pk", flat=True))
    for flow_team_id in ids:
        transaction.on_commit(lambda pk=flow_team_id: cadence_roll.delay(pk))
    return len(ids)
