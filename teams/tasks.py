"""Thin Celery tasks of the teams app: ids in, one service call, safe to run twice."""

from celery import shared_task

from teams import webhooks


@shared_task(bind=True, max_retries=None, acks_late=True)
def webhook_deliver(self, delivery_id: int) -> None:
    """Send one webhook delivery; retry with exponential backoff while it keeps failing.

    The delivery row counts the attempts and stops them (WEBHOOK_MAX_ATTEMPTS),
    so Celery's own retry limit is not needed. A delivered or vanished delivery
    is a no-op.
    """
    while (retry_in := webhooks.webhook_attempt(delivery_id=delivery_id)) is not None:
        if not self.request.is_eager:
            raise self.retry(countdown=retry_in)
        # Run in-process (no broker, the embedded default): nothing could hold a
        # delayed retry, so the remaining attempts are made at once.
