"""Webhooks: a Flow Team's HTTPS endpoints receive its story, epic and dependency changes.

``webhook_emit`` is called by the services that change those objects, inside
their transaction: it records one ``WebhookDelivery`` per subscribed endpoint
and hands the sending on (``webhook_dispatch``: the Celery worker, or background
threads in the embedded default) only once the transaction commits (a
rolled-back change sends nothing). ``webhook_attempt`` sends one delivery once,
to an address resolved and checked at that moment, signed with the endpoint's
secret::

    X-SEM-Signature: sha256=<hex HMAC-SHA256 of the raw body>

Delivery is at least once: a receiver dedupes on ``X-SEM-Delivery``. Any
answer but 2xx, a timeout or a refused connection is retried with exponential
backoff, up to ``WEBHOOK_MAX_ATTEMPTS``; the outcome of each delivery is kept
and listed.
"""

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import os
import secrets
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connections, transaction
from django.utils import timezone

from sem.errors import PermissionRefused, RuleViolation
from teams.models import WebhookDelivery, WebhookEndpoint
from teams.permissions import Actor, can_manage_webhooks

logger = logging.getLogger(__name__)
EVENT_TYPES = WebhookEndpoint.EventType.values
MAX_ENDPOINTS = 20
# How long a Flow Team's subscriptions stay cached at most: every change through the
# services below drops them at once; this bounds a reader that raced with a change.
SUBSCRIPTIONS_TTL = 300


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
    if loopback or (address is not None and not _is_public(address)):
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
    webhook_subscriptions_changed(actor.flow_team_id)
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
    webhook_subscriptions_changed(endpoint.flow_team_id)
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: Actor, endpoint: WebhookEndpoint) -> None:
    if not can_manage_webhooks(actor):
        raise PermissionRefused("only the CPO and the CSM remove webhooks")
    endpoint.delete()
    webhook_subscriptions_changed(endpoint.flow_team_id)


# --- Emitting and sending --------------------------------------------------------


# Every event a delivery carries, by family (WebhookEndpoint.EventType); the apps above
# emit them (backlog.webhooks). The API's filter and docs list these.
EVENTS = {
    "story": ("created", "updated", "state_changed", "ranked", "blocked", "unblocked"),
    "epic": ("created", "updated", "state_changed", "ranked"),
    "dependency": ("created", "updated", "committed", "countered", "accepted", "renegotiated"),
}
EVENT_NAMES = tuple(
    f"{family}.{change}" for family, changes in EVENTS.items() for change in changes
)


def _subscriptions_key(flow_team_id: int) -> str:
    return f"webhooks:subscriptions:{flow_team_id}"


def webhook_subscriptions_changed(flow_team_id: int) -> None:
    """Drop the cached subscriptions now and again once the change commits (a request that
    read the table in between must not keep the old answer). Every write of an endpoint
    calls it: the services here, and tests that write endpoints directly."""
    key = _subscriptions_key(flow_team_id)
    cache.delete(key)
    transaction.on_commit(lambda: cache.delete(key))


def webhook_subscriptions(*, flow_team_id: int) -> list[tuple[int, list[str]]]:
    """(endpoint id, event types) of a Flow Team's active endpoints, from the cache: a story
    write asks on every change, the answer changes only through the services above."""
    key = _subscriptions_key(flow_team_id)
    found = cache.get(key)
    if found is None:
        found = list(
            WebhookEndpoint.objects.filter(flow_team_id=flow_team_id, active=True)
            .order_by("pk")
            .values_list("pk", "event_types")
        )
        cache.set(key, found, SUBSCRIPTIONS_TTL)
    return found


def webhook_emit(*, flow_team_id: int, event: str, payload: dict | Callable[[], dict]) -> int:
    """Record a delivery of ``event`` for every active endpoint that subscribed to its family.

    ``payload`` may be a callable, built only when some endpoint listens. The
    sending is enqueued on commit. Returns how many deliveries were recorded.
    """
    return webhook_emit_many(flow_team_id=flow_team_id, events=[(event, payload)])


def webhook_emit_many(
    *, flow_team_id: int, events: Sequence[tuple[str, dict | Callable[[], dict]]]
) -> int:
    """``webhook_emit`` for several events of one Flow Team (a change of many rows): their
    deliveries in one INSERT, whatever their number."""
    for event, _payload in events:
        if event not in EVENT_NAMES:
            raise ValueError(f"unknown webhook event {event!r}: add it to EVENTS")
    subscriptions = webhook_subscriptions(flow_team_id=flow_team_id)
    now = timezone.now()
    rows = []
    for event, payload in events:
        family = event.split(".", 1)[0]
        endpoints = [pk for pk, types in subscriptions if family in types]
        if not endpoints:
            continue
        body = {
            "event": event,
            "flow_team": flow_team_id,
            "occurred_at": now.isoformat(),
            "data": payload() if callable(payload) else payload,
        }
        rows += [
            WebhookDelivery(endpoint_id=endpoint, event=event, payload=body, next_attempt_at=now)
            for endpoint in endpoints
        ]
    if not rows:
        return 0
    deliveries = WebhookDelivery.objects.bulk_create(rows)
    for delivery in deliveries:
        # robust: a failure to hand the delivery on must not fail the write that already
        # committed; the delivery row keeps its outcome.
        transaction.on_commit(lambda pk=delivery.pk: webhook_dispatch(delivery_id=pk), robust=True)
    return len(deliveries)


_background: ThreadPoolExecutor | None = None
_background_lock = threading.Lock()
_in_background: set[Future] = set()


def _forget_background_in_child() -> None:
    """A forked process (gunicorn --preload, Celery's prefork pool, the mutation run)
    inherits the pool's bookkeeping but none of its threads: handed a delivery, the copy
    would queue it for threads that do not exist, and wait for ever on the parent's jobs.
    The child starts with no pool, as a fresh process does."""
    global _background, _background_lock, _in_background
    _background, _background_lock, _in_background = None, threading.Lock(), set()


os.register_at_fork(after_in_child=_forget_background_in_child)


def _background_senders() -> ThreadPoolExecutor:
    global _background
    with _background_lock:
        if _background is None:
            _background = ThreadPoolExecutor(
                max_workers=_setting("WEBHOOK_BACKGROUND_THREADS", 2),
                thread_name_prefix="webhooks",
            )
        return _background


def webhook_dispatch(*, delivery_id: int) -> Future | None:
    """Hand one recorded delivery to whatever sends it, never holding the write that caused
    it: the Celery worker (production), or, in the embedded default where tasks run
    in-process, a small pool of background threads (WEBHOOK_BACKGROUND_THREADS, 2): a slow
    or dead receiver then delays no request, and at most that many deliveries are sent at
    once. Returns the background job, if any. WEBHOOK_SEND_IN_BACKGROUND=false sends inline
    instead (tests whose database transaction other threads cannot see)."""
    from teams.tasks import webhook_deliver

    if settings.CELERY_TASK_ALWAYS_EAGER and _setting("WEBHOOK_SEND_IN_BACKGROUND", True):
        job = _background_senders().submit(_deliver_in_background, delivery_id)
        _in_background.add(job)
        job.add_done_callback(_in_background.discard)
        return job
    webhook_deliver.delay(delivery_id)
    return None


def webhook_background_wait(timeout: float | None = None) -> bool:
    """Wait until the background senders have sent what they were handed (a command that
    must not exit early, a test). True when none is left."""
    _, pending = wait(list(_in_background), timeout=timeout)
    return not pending


def _deliver_in_background(delivery_id: int) -> None:
    from teams.tasks import webhook_deliver

    try:
        webhook_deliver.apply(args=[delivery_id], throw=True)
    except Exception:
        # Nobody waits on this thread: the failure is logged, the delivery row keeps its state.
        logger.exception("webhook delivery %s failed in the background", delivery_id)
    finally:
        # This thread's database connection is not closed by any request cycle.
        connections.close_all()


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def backoff_seconds(attempts: int) -> int:
    """Wait before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min, … ≤ 1 h."""
    base = _setting("WEBHOOK_RETRY_BASE_SECONDS", 30)
    return min(base * 2 ** (attempts - 1), 3600)


# --- Where a delivery may go: checked once, at send time, then connected to -------------

# NAT64 (RFC 6052) carries an IPv4 address in its last 32 bits; so do IPv4-mapped (::ffff:…),
# 6to4 and Teredo addresses. Each is judged by the IPv4 address it reaches.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Outside every private, loopback, link-local, shared, reserved or multicast range."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo:
            embedded = address.teredo[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return _is_public(embedded)
    return address.is_global and not address.is_multicast


def _may_connect(address) -> bool:
    # WEBHOOK_ALLOW_LOOPBACK (off by default) lets tests and a receiver on the same machine
    # take deliveries on 127.0.0.1 / ::1; every other internal range stays refused.
    return _is_public(address) or (
        _setting("WEBHOOK_ALLOW_LOOPBACK", False) and address.is_loopback
    )


class AddressRefused(Exception):
    """The host resolves, at least in part, inside the server's own network."""


def _checked_addresses(host: str, port: int) -> list[tuple]:
    """Resolve the host once and check every address it gave: one inside the server's
    network refuses the delivery (a name can mix public and private answers). The
    connection then goes to these very addresses: resolving again would let the name's
    owner answer differently the second time (DNS rebinding)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses = []
    for family, type_, proto, _, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0].split("%")[0])
        if not _may_connect(address):
            raise AddressRefused(str(address))
        addresses.append((family, type_, proto, sockaddr))
    if not addresses:
        raise OSError(f"{host} has no address")
    return addresses


class _CheckedAddressConnection:
    """Opens its socket to the checked addresses, in turn, without another DNS lookup.
    ``host`` stays the URL's host name: it is what the Host header carries and, over HTTPS,
    what the certificate is verified against (SNI)."""

    def __init__(self, host, port, *, addresses, **kwargs):
        super().__init__(host, port, **kwargs)
        self._addresses = addresses
        self._create_connection = self._connect_checked

    def _connect_checked(self, _host_port, timeout, source_address=None):
        failure = None
        for family, type_, proto, sockaddr in self._addresses:
            sock = socket.socket(family, type_, proto)
            try:
                sock.settimeout(timeout)
                if source_address:
                    sock.bind(source_address)
                sock.connect(sockaddr)
                return sock
            except OSError as error:
                sock.close()
                failure = error
        raise failure


class _CheckedHTTPConnection(_CheckedAddressConnection, http.client.HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedAddressConnection, http.client.HTTPSConnection):
    pass


def _send(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """POST the delivery once. Returns (HTTP status or None, error text).

    Redirects are not followed (any answer but 2xx is a failure): a redirect could lead
    a signed delivery to a host nobody registered."""
    body = json.dumps(
        {"id": delivery.pk, **delivery.payload}, cls=DjangoJSONEncoder, separators=(",", ":")
    ).encode()
    parts = urllib.parse.urlsplit(delivery.endpoint.url)
    host = parts.hostname or ""
    https = parts.scheme == "https"
    if not https and not (parts.scheme == "http" and _setting("WEBHOOK_ALLOW_LOOPBACK", False)):
        return None, "not sent: webhooks are sent over HTTPS only"
    try:
        port = parts.port or (443 if https else 80)
        addresses = _checked_addresses(host, port)
    except AddressRefused:
        return None, "not sent: the host resolves to a private or loopback address"
    except (OSError, ValueError) as error:
        return None, f"could not connect: {error}"[:300]
    timeout = _setting("WEBHOOK_TIMEOUT_SECONDS", 10)
    if https:
        connection = _CheckedHTTPSConnection(
            host, port, addresses=addresses, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        connection = _CheckedHTTPConnection(host, port, addresses=addresses, timeout=timeout)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "SEM-Flow-Webhooks/1",
        "X-SEM-Event": delivery.event,
        "X-SEM-Delivery": str(delivery.pk),
        "X-SEM-Signature": signature(delivery.endpoint.secret, body),
    }
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        code, reason = response.status, response.reason
    except (OSError, http.client.HTTPException) as error:
        return None, f"could not connect: {error}"[:300]
    finally:
        connection.close()
    if 200 <= code < 300:
        return code, ""
    return code, f"answered {code} {reason}"[:300]


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
