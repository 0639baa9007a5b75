"""Webhooks: registered by the CPO or CSM, signed, sent after commit, retried, listed."""

import hashlib
import hmac
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from backlog import services
from teams import webhooks
from teams.models import WebhookDelivery, WebhookEndpoint
from tests.teams.factories import WebhookEndpointFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers with the codes it is given, in turn."""

    def __init__(self, codes=(200,)):
        self.codes = list(codes)
        self.received = []
        self.times = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((self.headers, body))  # case-insensitive
                receiver.times.append(time.monotonic())
                code = receiver.codes.pop(0) if len(receiver.codes) > 1 else receiver.codes[0]
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    # These tests' writes stay inside the test's transaction, which a background sender's
    # own connection cannot see: send inline. The background path has its own tests.
    settings.WEBHOOK_SEND_IN_BACKGROUND = False
    made = []

    def make(codes=(200,)):
        made.append(Receiver(codes))
        return made[-1]

    yield make
    for r in made:
        r.close()


def register(api, url, event_types=("story",)):
    response = api("cpo").post(
        "/api/v1/webhooks/", {"url": url, "event_types": list(event_types)}, format="json"
    )
    assert response.status_code == 201, response.json()
    return response.json()


def move_to_ready(api, story):
    client = api("dev1")
    etag = client.get(f"/api/v1/stories/{story.pk}/")["ETag"]
    response = client.patch(
        f"/api/v1/stories/{story.pk}/", {"state": "ready"}, format="json", HTTP_IF_MATCH=etag
    )
    assert response.status_code == 200, response.json()
    return response


def test_story_change_is_sent_signed_after_commit_and_listed(
    api, story, receiver, django_capture_on_commit_callbacks
):
    hook = receiver()
    endpoint = register(api, hook.url)
    assert len(endpoint["secret"]) == 64
    listed = api("cpo").get("/api/v1/webhooks/").json()["results"]
    assert "secret" not in listed[0], "the secret is shown once, at registration"

    with django_capture_on_commit_callbacks(execute=True):
        move_to_ready(api, story)
        assert hook.received == [], "nothing is sent before the change commits"

    ((headers, body),) = hook.received
    expected = hmac.new(endpoint["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-SEM-Signature"] == f"sha256={expected}"
    assert headers["X-SEM-Event"] == "story.state_changed"
    sent = json.loads(body)
    assert sent["event"] == "story.state_changed"
    assert sent["data"]["id"] == story.pk and sent["data"]["state"] == "ready"
    assert sent["data"]["version"] == 2
    assert headers["X-SEM-Delivery"] == str(sent["id"])

    deliveries = api("csm").get("/api/v1/webhook-deliveries/").json()["results"]
    assert [
        (d["event"], d["status"], d["attempts"], d["last_status_code"]) for d in deliveries
    ] == [("story.state_changed", "delivered", 1, 200)]
    summary = api("cpo").get(f"/api/v1/webhooks/{endpoint['id']}/").json()
    assert (summary["delivered"], summary["failed"], summary["pending"]) == (1, 0, 0)


def test_only_subscribed_families_are_sent(api, flow, story, receiver):
    hook = receiver()
    register(api, hook.url, event_types=["epic"])
    move_to_ready(api, story)
    assert not WebhookDelivery.objects.exists()
    services.epic_create(actor=flow.actor("cpo"), title="Payments")
    assert WebhookDelivery.objects.get().event == "epic.created"


def test_failing_receiver_is_retried_until_it_answers(
    api, story, receiver, django_capture_on_commit_callbacks
):
    hook = receiver(codes=[503, 500, 200])
    register(api, hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        move_to_ready(api, story)
    assert len(hook.received) == 3
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    # The same delivery (one id) was retried, not a new one sent.
    assert len({h["X-SEM-Delivery"] for h, _ in hook.received}) == 1


def test_retries_back_off_exponentially_then_give_up(api, story, receiver, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 4
    hook = receiver(codes=[500])
    register(api, hook.url)
    move_to_ready(api, story)  # not committed here: the task is run by hand below
    delivery = WebhookDelivery.objects.get()
    waits = [webhooks.webhook_attempt(delivery_id=delivery.pk) for _ in range(4)]
    assert waits == [30, 60, 120, None]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("failed", 4, 500)
    assert delivery.last_error == "answered 500 Internal Server Error"
    # Running the task again after the outcome is final sends nothing more.
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) is None
    assert len(hook.received) == 4
    listed = api("po1").get("/api/v1/webhook-deliveries/", {"status": "failed"}).json()
    assert listed["count"] == 1 and listed["results"][0]["attempts"] == 4


def test_unreachable_receiver_is_recorded(api, story, receiver):
    hook = receiver()
    register(api, hook.url)
    hook.close()
    move_to_ready(api, story)
    delivery = WebhookDelivery.objects.get()
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == 30
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.last_status_code is None
    assert delivery.last_error.startswith("could not connect")
    assert delivery.next_attempt_at is not None


def test_work_rolled_back_sends_nothing(
    api, flow, story, receiver, django_capture_on_commit_callbacks
):
    hook = receiver()
    register(api, hook.url)
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            services.story_transition(actor=flow.actor("dev1"), story=story, to_state="ready")
            raise RuntimeError("the rest of the request failed")
        # A refused change (400) writes nothing either.
        client = api("dev1")
        response = client.patch(
            f"/api/v1/stories/{story.pk}/", {"state": "done"}, format="json", HTTP_IF_MATCH='"1"'
        )
        assert response.status_code == 400
    assert hook.received == []
    assert not WebhookDelivery.objects.exists()


@pytest.mark.parametrize(
    "url, reason",
    [
        ("http://hooks.example.com/x", "webhooks are sent over HTTPS only"),
        ("https://10.1.2.3/x", "a public host; private and loopback addresses are refused"),
        ("https://127.0.0.1/x", "a public host; private and loopback addresses are refused"),
        ("https://[64:ff9b::a00:1]/x", "a public host; private and loopback addresses are refused"),
        ("https://user:pw@hooks.example.com/x", "no credentials in the URL"),
        ("ftp://hooks.example.com/x", "webhooks are sent over HTTPS only"),
    ],
)
def test_only_public_https_urls_are_accepted(api, url, reason):
    response = api("cpo").post(
        "/api/v1/webhooks/", {"url": url, "event_types": ["story"]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["url"][0].startswith(reason)
    assert not WebhookEndpoint.objects.exists()


def test_unknown_event_type_is_named(api):
    response = api("csm").post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example.com/x", "event_types": ["sprint"]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["errors"] == {"event_types.0": ['"sprint" is not a valid choice.']}


@pytest.mark.parametrize("role", ["architect", "stakeholder", "po1", "sm1", "dev1"])
def test_only_cpo_and_csm_manage_webhooks(api, role):
    body = {"url": "https://hooks.example.com/x", "event_types": ["story"]}
    assert api(role).post("/api/v1/webhooks/", body, format="json").status_code == 403
    endpoint = register(api, "https://hooks.example.com/y")
    url = f"/api/v1/webhooks/{endpoint['id']}/"
    assert api(role).get(url).status_code == 200, "every member sees where changes go"
    assert api(role).patch(url, {"active": False}, format="json").status_code == 403
    assert api(role).delete(url).status_code == 403
    assert api("csm").patch(url, {"active": False}, format="json").json()["active"] is False
    assert api("csm").delete(url).status_code == 204
    assert not WebhookEndpoint.objects.exists()


def test_paused_endpoint_gets_nothing(api, story, receiver, django_capture_on_commit_callbacks):
    hook = receiver()
    endpoint = register(api, hook.url)
    api("cpo").patch(f"/api/v1/webhooks/{endpoint['id']}/", {"active": False}, format="json")
    with django_capture_on_commit_callbacks(execute=True):
        move_to_ready(api, story)
    assert hook.received == [] and not WebhookDelivery.objects.exists()


def test_host_resolving_inside_the_network_is_not_sent_to(api, flow, story, settings):
    # Registered while it looked public; it now resolves to loopback (DNS changed).
    endpoint = WebhookEndpointFactory(
        flow_team=flow.flow_team, url="https://127.0.0.1:9/x", secret="s", event_types=["story"]
    )
    move_to_ready(api, story)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == 30
    delivery.refresh_from_db()
    assert delivery.last_error == "not sent: the host resolves to a private or loopback address"
    assert delivery.attempts == 1 and delivery.status == "pending"


# --- Sent to the address checked at send time, never holding a write ---------------------


def endpoint_with_delivery(flow_team, url):
    endpoint = WebhookEndpointFactory(
        flow_team=flow_team, url=url, secret="s" * 64, event_types=["story"]
    )
    return WebhookDelivery.objects.create(
        endpoint=endpoint, event="story.updated", payload={"event": "story.updated", "data": {}}
    )


class FakeDNS:
    """getaddrinfo answering each name from a list of answers, one per lookup (the last one
    repeats); other names resolve as usual. Records every lookup of the faked names."""

    def __init__(self, monkeypatch, answers: dict[str, list[list[str]]]):
        self.answers = {name: list(a) for name, a in answers.items()}
        self.lookups: list[str] = []
        real = socket.getaddrinfo

        def fake(host, port, family=0, type=0, proto=0, flags=0):
            if host not in self.answers:
                return real(host, port, family, type, proto, flags)
            self.lookups.append(host)
            queue = self.answers[host]
            ips = queue.pop(0) if len(queue) > 1 else queue[0]
            return [
                (
                    socket.AF_INET6 if ":" in ip else socket.AF_INET,
                    socket.SOCK_STREAM,
                    6,
                    "",
                    (ip, port, 0, 0) if ":" in ip else (ip, port),
                )
                for ip in ips
            ]

        monkeypatch.setattr(socket, "getaddrinfo", fake)


INTERNAL = [
    ["10.0.0.5"],
    ["127.0.0.1"],
    ["169.254.169.254"],  # cloud metadata
    ["100.64.0.1"],  # shared address space
    ["0.0.0.0"],
    ["::1"],
    ["fd00::1"],
    ["fe80::1"],
    ["::ffff:127.0.0.1"],  # IPv4-mapped loopback
    ["::ffff:10.1.2.3"],
    ["64:ff9b::a00:1"],  # NAT64 of 10.0.0.1
    ["2002:a00:1::1"],  # 6to4 of 10.0.0.1
    ["224.0.0.1"],
    ["93.184.215.14", "192.168.1.10"],  # one public answer does not excuse a private one
]


@pytest.mark.parametrize("answer", INTERNAL, ids=lambda a: "+".join(a))
def test_a_name_resolving_inside_the_network_at_send_time_is_refused(flow, monkeypatch, answer):
    # Registered while the name looked public; now it answers with an internal address.
    dns = FakeDNS(monkeypatch, {"hooks.example.com": [answer]})
    connects = []
    monkeypatch.setattr(socket.socket, "connect", lambda self, addr: connects.append(addr))
    delivery = endpoint_with_delivery(flow.flow_team, "https://hooks.example.com/x")
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == 30
    delivery.refresh_from_db()
    assert delivery.last_error == "not sent: the host resolves to a private or loopback address"
    assert dns.lookups == ["hooks.example.com"] and connects == []


def test_loopback_allowance_is_off_by_default_and_never_opens_private_ranges(
    flow, monkeypatch, settings
):
    assert settings.WEBHOOK_ALLOW_LOOPBACK is False
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    FakeDNS(monkeypatch, {"hooks.test": [["10.0.0.5"]]})
    delivery = endpoint_with_delivery(flow.flow_team, "http://hooks.test:9/x")
    webhooks.webhook_attempt(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_error == "not sent: the host resolves to a private or loopback address"


def test_the_delivery_connects_to_the_address_it_checked(flow, receiver, monkeypatch):
    checked = receiver()  # on 127.0.0.1, allowed by the test setting
    # A rebinding name: the first lookup gives the receiver's address, any later one
    # 127.0.0.2, where nothing listens. One lookup only, and the POST goes where it said.
    dns = FakeDNS(monkeypatch, {"hooks.test": [["127.0.0.1"], ["127.0.0.2"]]})
    port = checked.server.server_port
    delivery = endpoint_with_delivery(flow.flow_team, f"http://hooks.test:{port}/hooks")
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert (delivery.status, delivery.last_status_code) == ("delivered", 200)
    assert dns.lookups == ["hooks.test"]
    ((headers, _),) = checked.received
    assert headers["Host"] == f"hooks.test:{port}", "the Host header keeps the name"


@pytest.fixture
def tls_receiver(tmp_path, settings):
    """An HTTPS receiver on 127.0.0.1 with a certificate for hooks.test, trusted by the
    sender in this test only; it records the name the client asked for (SNI)."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=hooks.test",
         "-addext", "subjectAltName=DNS:hooks.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    hook = Receiver()
    names = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name)
    hook.server.socket = context.wrap_socket(hook.server.socket, server_side=True)
    hook.sni = names
    real = ssl.create_default_context
    trusting = lambda *a, **kw: real(cafile=str(cert))  # noqa: E731
    import teams.webhooks

    original = teams.webhooks.ssl.create_default_context
    teams.webhooks.ssl.create_default_context = trusting
    yield hook
    teams.webhooks.ssl.create_default_context = original
    hook.close()


def test_https_verifies_the_certificate_of_the_name_not_the_address(
    flow, tls_receiver, monkeypatch
):
    port = tls_receiver.server.server_port
    FakeDNS(monkeypatch, {"hooks.test": [["127.0.0.1"]], "elsewhere.test": [["127.0.0.1"]]})
    delivery = endpoint_with_delivery(flow.flow_team, f"https://hooks.test:{port}/hooks")
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) is None
    delivery.refresh_from_db()
    assert delivery.status == "delivered", delivery.last_error
    assert tls_receiver.sni == ["hooks.test"]
    # The same address under a name the certificate does not hold is refused by TLS.
    stranger = endpoint_with_delivery(flow.flow_team, f"https://elsewhere.test:{port}/hooks")
    assert webhooks.webhook_attempt(delivery_id=stranger.pk) == 30
    stranger.refresh_from_db()
    assert stranger.last_error.startswith("could not connect")
    assert "certificate" in stranger.last_error or "hostname" in stranger.last_error
    assert len(tls_receiver.received) == 1


class HeldReceiver(Receiver):
    """A receiver that answers only once the test lets it (or after ``hold`` seconds)."""

    def __init__(self, hold: float):
        self.release = threading.Event()
        self.answered = threading.Event()
        super().__init__()
        handler = self.server.RequestHandlerClass
        receiver = self
        plain_post = handler.do_POST

        def do_post(request):
            receiver.release.wait(hold)
            plain_post(request)
            receiver.answered.set()

        handler.do_POST = do_post


@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_delays_no_write(settings):
    """The embedded default (tasks in-process): the PATCH answers while the receiver still
    holds its answer; the delivery arrives once it answers."""
    from rest_framework.test import APIClient

    from teams.services import api_token_create
    from tests.conftest import build_flow_team

    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.WEBHOOK_ALLOW_LOOPBACK = True
    assert settings.WEBHOOK_SEND_IN_BACKGROUND is True  # the default
    hold = 5.0
    hook = HeldReceiver(hold)
    try:
        ns = build_flow_team()
        story = services.story_create(
            actor=ns.actor("po1"), scrum_team=ns.scrum_teams[0], title="Export", points=3,
            criteria=["CSV"],
        )  # fmt: skip
        WebhookEndpointFactory(
            flow_team=ns.flow_team, url=hook.url, secret="s" * 64, event_types=["story"]
        )
        _, secret = api_token_create(user=ns.dev1, name="bot")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        etag = client.get(f"/api/v1/stories/{story.pk}/")["ETag"]
        began = time.monotonic()
        response = client.patch(
            f"/api/v1/stories/{story.pk}/", {"state": "ready"}, format="json", HTTP_IF_MATCH=etag
        )
        took = time.monotonic() - began
        assert response.status_code == 200
        assert not hook.answered.is_set(), "the PATCH answered while the receiver held on"
        assert WebhookDelivery.objects.get().status == "pending"
        print(f"PATCH with a receiver holding {hold:.0f} s answered in {took * 1000:.0f} ms")
        hook.release.set()
        assert webhooks.webhook_background_wait(timeout=30)
        delivery = WebhookDelivery.objects.get()
        assert (delivery.status, delivery.attempts) == ("delivered", 1)
        assert json.loads(hook.received[0][1])["data"]["state"] == "ready"
    finally:
        hook.release.set()
        hook.close()


def test_a_forked_process_sends_in_background_with_its_own_threads():
    """gunicorn --preload and Celery's prefork pool fork a process whose background pool
    may have started: the child has none of its threads, and must neither wait for the
    parent's deliveries nor queue its own for threads that do not exist."""
    release = threading.Event()
    held = webhooks._background_senders().submit(release.wait, 10)
    webhooks._in_background.add(held)
    pid = os.fork()
    if pid == 0:  # the child: it reports through its exit code, never through pytest
        try:
            sent = webhooks._background_senders().submit(lambda: "sent").result(timeout=5)
            ok = webhooks.webhook_background_wait(timeout=5) and sent == "sent"
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    try:
        _, status = os.waitpid(pid, 0)
    finally:
        release.set()
    assert os.waitstatus_to_exitcode(status) == 0
    assert webhooks.webhook_background_wait(timeout=5)
