"""Webhooks: a Flow Team's HTTPS endpoints receive its story, epic and dependency changes.

``webhook_emit`` is called by the services that change those objects, inside
their transaction: it records one ``WebhookDelivery`` per subscribed endpoint
and enqueues the sending only once the transaction commits (a rolled-back
change sends nothing). ``webhook_attempt`` sends one delivery once, signed
with the endpoint's secret::

    X-SEM-Signature: sha256=<hex HMAC-SHA256 of the raw body>

Delivery is at least once: a receiver dedupes on ``X-SEM-Delivery``. Any
answer but 2xx, a timeout or a refused connection is retried with exponential
backoff, up to ``WEBHOOK_MAX_ATTEMPTS``; the outcome of each delivery is kept
and listed.
"""

import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from sem.errors import PermissionRefused, RuleViolation
from teams.models import WebhookDelivery, WebhookEndpoint
from teams.permissions import Actor, can_manage_webhooks

EVENT_TYPES = WebhookEndpoint.EventType.values
MAX_ENDPOINTS = 20


def _setting(name: str, default):
    return getattr(settings, name, default)


# --- Endpoints --------------------------------------------------------------------


def _check_url(url: str) -> str:
    """HTTPS to a public host. Plain http to loopback only where a setting allows it (tests)."""
    url = url.strip()
    parts = urllib.parse.urlsplit(url)
    host = (parts.hostname or "").lower()
    if not host:
        raise RuleViolation("a full URL, e.g. https://ci.example.com/hooks/sem", field="url")
    if parts.username or parts.password:
        raise RuleViolation("no credentials in the URL; verify the signature instead", field="url")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    loopback = host == "localhost" or (address is not None and address.is_loopback)
    if loopback and _setting("WEBHOOK_ALLOW_LOOPBACK", False):
        if parts.scheme not in ("http", "https"):
            raise RuleViolation("an http or https URL", field="url")
        return url
    if parts.scheme != "https":
        raise RuleViolation("webhooks are sent over HTTPS only", field="url")
    # An address inside the server's own network would let a caller probe it.
    if loopback or (address is not None and not address.is_global):
        raise RuleViolation(
            "a public host; private and loopback addresses are refused", field="url"
        )
    return url


def _check_event_types(event_types) -> list[str]:
    if not isinstance(event_types, list | tuple) or not event_types:
        raise RuleViolation(f"one or more of {', '.join(EVENT_TYPES)}", field="event_types")
    unknown = sorted(set(event_types) - set(EVENT_TYPES))
    if unknown:
        raise RuleViolation(
            f"unknown event type {unknown[0]!r}; one of {', '.join(EVENT_TYPES)}",
            field="event_types",
        )
    return sorted(set(event_types))


@transaction.atomic
def webhook_endpoint_create(
    *, actor: Actor, url: str, event_types, active: bool = True
) -> WebhookEndpoint:
    """Register an endpoint; its signing secret is generated here and shown once."""
    if not can_manage_webhooks(actor):
        raise PermissionRefused("only the CPO and the CSM register webhooks")
    url = _check_url(url)
    event_types = _check_event_types(event_types)
    if WebhookEndpoint.objects.filter(flow_team_id=actor.flow_team_id).count() >= MAX_ENDPOINTS:
        raise RuleViolation(f"a Flow Team has at most {MAX_ENDPOINTS} webhooks", field="url")
    return WebhookEndpoint.objects.create(
        flow_team_id=actor.flow_team_id,
        url=url,
        secret=secrets.token_hex(32),
        event_types=event_types,
        active=active,
        created_by=actor.user,
    )


@transaction.atomic
def webhook_endpoint_update(
    *, actor: Actor, endpoint: WebhookEndpoint, data: dict
) -> WebhookEndpoint:
    if not can_manage_webhooks(actor):
        raise PermissionRefused("only the CPO and the CSM change webhooks")
    refused = sorted(set(data) - {"url", "event_types", "active"})
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    if "url" in data:
        data["url"] = _check_url(data["url"])
    if "event_types" in data:
        data["event_types"] = _check_event_types(data["event_types"])
    for field, value in data.items():
        setattr(endpoint, field, value)
    endpoint.save(update_fields=list(data))
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    if not can_manage_webhooks(actor):
        raise PermissionRefused("only the CPO and the CSM remove webhooks")
    endpoint.delete()


# --- Emitting and sending --------------------------------------------------------


def webhook_emit(*, flow_team_id: int, event: str, payload: dict | Callable[[], dict]) -> int:
    """Record a delivery of ``event`` for every active endpoint that subscribed to its family.

    ``payload`` may be a callable, built only when some endpoint listens. The
    sending is enqueued on commit. Returns how many deliveries were recorded.
    """
    family = event.split(".", 1)[0]
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(flow_team_id=flow_team_id, active=True)
        if family in e.event_types
    ]
    if not endpoints:
        return 0
    body = payload() if callable(payload) else payload
    now = timezone.now()
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            endpoint=endpoint,
            event=event,
            payload={
                "event": event,
                "flow_team": flow_team_id,
                "occurred_at": now.isoformat(),
                "data": body,
            },
            next_attempt_at=now,
        )
        for endpoint in endpoints
    )
    from teams.tasks import webhook_deliver

    for delivery in deliveries:
        # robust: with tasks run eagerly (no broker), a failed send must not fail the
        # write that already committed; it is recorded on the delivery.
        transaction.on_commit(lambda pk=delivery.pk: webhook_deliver.delay(pk), robust=True)
    return len(deliveries)


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int) -> int:
    """Wait before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min, … ≤ 1 h."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    return min(base * 2 ** (attempts - 1), 3600)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # A redirect could lead a signed delivery to a host nobody registered.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _resolves_to_public(host: str) -> bool:
    """A name registered as public may later resolve inside the server's network."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return True  # unresolvable: the connection attempt reports it
    return all(ipaddress.ip_address(info[4][0].split("%")[0]).is_global for info in infos)


def _send(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery once. Returns (HTTP status or None, error text)."""
    body = json.dumps(
        {"id": delivery.pk, **delivery.payload}, cls=DjangoJSONEncoder, separators=(",", ":")
    ).encode()
    request = urllib.request.Request(delivery.endpoint.url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    request.add_header("User-Agent", "SEM-Flow-Webhooks/1")
    request.add_header("X-SEM-Event", delivery.event)
    request.add_header("X-SEM-Delivery", str(delivery.pk))
    request.add_header("X-SEM-Signature", signature(delivery.endpoint.secret, body))
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10)
    host = urllib.parse.urlsplit(delivery.endpoint.url).hostname or ""
    if not _setting("WEBHOOK_ALLOW_LOOPBACK", False) and not _resolves_to_public(host):
        return None, "not sent: the host resolves to a private or loopback address"
    try:
        with _opener.open(request, timeout=timeout) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"answered {error.code} {error.reason}"[:300]
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return None, f"could not connect: {reason}"[:300]


def webhook_attempt(*, delivery_id: int) -> int | None:
    """Send one pending delivery once and record the outcome.

    Returns the seconds to wait before retrying, or None when there is nothing
    more to do (delivered, finally failed, already done, or gone).
    """
    delivery = (
        WebhookDelivery.objects.select_related("endpoint")
        .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING)
        .first()
    )
    if delivery is None:
        return None
    if not delivery.endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.FAILED, last_error="the endpoint was deactivated"
        )
        return None
    code, error = _send(delivery)
    attempts = delivery.attempts + 1
    now = timezone.now()
    update = {"attempts": attempts, "last_status_code": code, "last_error": error}
    retry_in = None
    if code is not None and 200 <= code < 300:
        update |= {"status": WebhookDelivery.Status.DELIVERED, "delivered_at": now}
        update |= {"next_attempt_at": None, "last_error": ""}
    elif attempts >= _setting("WEBHOOK_MAX_ATTEMPTS", 6):
        update |= {"status": WebhookDelivery.Status.FAILED, "next_attempt_at": None}
    else:
        retry_in = backoff_seconds(attempts)
        update["next_attempt_at"] = now + timedelta(seconds=retry_in)
    # Conditional on still pending: a duplicate run that raced this one changes nothing.
    WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.PENDING).update(
        **update
    )
    return retry_in
