"""A webhook delivery retried by a real Celery worker after its backoff (Redis, PostgreSQL)."""

import pytest

from teams.models import WebhookDelivery
from tests.api.test_webhooks import Receiver
from tests.conftest import build_flow_team
from tests.teams.factories import WebhookEndpointFactory
from tests.test_celery_worker import (
    _needs_postgres_and_redis,
    producer,
    start_worker,
    stop,
    wait_for,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]
_needs_postgres_and_redis = _needs_postgres_and_redis  # the same skip as the cadence worker tests


def test_worker_retries_a_failed_delivery_after_its_backoff(monkeypatch):
    ns = build_flow_team()
    receiver = Receiver(codes=[503, 200])
    endpoint = WebhookEndpointFactory(
        flow_team=ns.flow_team, url=receiver.url, secret="s" * 64, event_types=["story"]
    )
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, event="story.updated", payload={"event": "story.updated", "data": {}}
    )
    monkeypatch.setenv("WEBHOOK_ALLOW_LOOPBACK", "true")
    monkeypatch.setenv("WEBHOOK_RETRY_BASE_SECONDS", "2")
    worker = start_worker()
    try:
        producer().send_task("teams.tasks.webhook_deliver", args=[delivery.pk])
        assert wait_for(
            lambda: WebhookDelivery.objects.get(pk=delivery.pk).status == "delivered"
        ), worker.stdout.read1().decode() if worker.poll() is not None else "worker timed out"
    finally:
        stop(worker)
        receiver.close()
    delivery.refresh_from_db()
    assert (delivery.attempts, delivery.last_status_code) == (2, 200)
    assert len(receiver.received) == 2
    first, second = receiver.times
    assert second - first >= 1.9, "the retry waited for its backoff, not at once"
