"""Webhooks: registered by the CPO or CSM, signed, sent after commit, retried, listed."""

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import transaction

from backlog import services
from teams import webhooks
from teams.models import WebhookDelivery, WebhookEndpoint

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
    endpoint = WebhookEndpoint.objects.create(
        flow_team=flow.flow_team, url="https://127.0.0.1:9/x", secret="s", event_types=["story"]
    )
    move_to_ready(api, story)
    delivery = WebhookDelivery.objects.get(endpoint=endpoint)
    assert webhooks.webhook_attempt(delivery_id=delivery.pk) == 30
    delivery.refresh_from_db()
    assert delivery.last_error == "not sent: the host resolves to a private or loopback address"
    assert delivery.attempts == 1 and delivery.status == "pending"
