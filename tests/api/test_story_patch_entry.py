"""The lean entry of the story PATCH (backlog/api/lean.py, issue 17): a move by token is
ONE PostgreSQL statement before DRF, answering exactly what the full path answers; every
request it cannot decide gets the full path's answer (401, 404, 403, 428, 412, the rule
refused, 429) and writes nothing; the rate limit counts each request once.
"""

import datetime

import pytest
from django.core.cache import cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.test import APIClient

from backlog.api import lean
from backlog.models import StateChange, Story
from sem.throttling import PerClientThrottle
from teams import services as team_services
from teams.models import ApiToken

pytestmark = pytest.mark.django_db
URL = "/api/v1/stories/"
on_postgresql = pytest.mark.skipif("connection.vendor != 'postgresql'")


def patch(client, story_id, body, etag=None, **headers):
    if etag is not None:
        headers["HTTP_IF_MATCH"] = etag
    return client.patch(f"{URL}{story_id}/", body, format="json", **headers)


def moves(story):
    return StateChange.objects.filter(story=story).exclude(from_state="").count()


@on_postgresql
def test_the_lean_answer_is_the_full_paths_byte_for_byte(api, story, monkeypatch):
    at = timezone.now().replace(microsecond=123456)
    monkeypatch.setattr(timezone, "now", lambda: at)
    client = api("dev1")
    client.get(f"{URL}{story.pk}/")  # records the token's use

    def answered():
        with CaptureQueriesContext(connection) as ctx:
            response = patch(client, story.pk, {"state": "ready"}, '"1"')
        Story.objects.filter(pk=story.pk).update(state="backlog", version=1)
        StateChange.objects.filter(story=story, to_state="ready").delete()
        return response, len(ctx.captured_queries)

    fast, fast_queries = answered()
    monkeypatch.setattr(lean, "_lean_move", lambda *args: None)
    full, full_queries = answered()
    assert (fast_queries, full_queries) == (1, 2)  # the full path's: the token, the move
    assert fast.status_code == full.status_code == 200
    assert fast.content == full.content
    assert sorted(fast.items()) == sorted(full.items())
    assert fast["ETag"] == '"2"' and fast.json()["state"] == "ready"


def test_refusals_are_the_full_paths_and_write_nothing(api, flow, story, foreign):
    client = api("dev1")
    other = api("po1", foreign)
    theirs = other.post(
        URL,
        {"scrum_team": foreign.scrum_teams[0].pk, "title": "Theirs", "points": 3},
        format="json",
    ).json()["id"]
    unknown = APIClient()
    unknown.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    answers = {
        "unknown token": patch(unknown, story.pk, {"state": "ready"}, '"1"'),
        "no such story": patch(client, 999999, {"state": "ready"}, '"1"'),
        "another Flow Team's": patch(client, theirs, {"state": "ready"}, '"1"'),
        "another team's member": patch(api("dev2"), story.pk, {"state": "ready"}, '"1"'),
        "no If-Match": patch(client, story.pk, {"state": "ready"}),
        "stale": patch(client, story.pk, {"state": "ready"}, '"5"'),
        "no such state": patch(client, story.pk, {"state": "shipped"}, '"1"'),
        "done before ready": patch(client, story.pk, {"state": "done"}, '"1"'),
    }
    codes = {case: r.status_code for case, r in answers.items()}
    assert codes == {
        "unknown token": 401,
        "no such story": 404,
        "another Flow Team's": 404,
        "another team's member": 403,
        "no If-Match": 428,
        "stale": 412,
        "no such state": 400,
        "done before ready": 400,
    }
    assert answers["unknown token"]["WWW-Authenticate"] == "Bearer"
    assert answers["stale"].json()["current_version"] == 1
    assert "state" in answers["no such state"].json()["errors"]
    assert "criteria" in answers["done before ready"].json()["errors"]  # the rule named
    assert Story.objects.get(pk=story.pk).version == 1 and moves(story) == 0


def test_revocation_and_deactivation_stop_the_next_patch(api, flow, story):
    client = api("dev1")
    assert patch(client, story.pk, {"state": "ready"}, '"1"').status_code == 200
    token = ApiToken.objects.get(user=flow.dev1)
    team_services.api_token_revoke(user=flow.dev1, token_id=token.pk)
    assert patch(client, story.pk, {"state": "in_progress"}, '"2"').status_code == 401
    other = APIClient()  # a second token of the same person
    _, secret = team_services.api_token_create(user=flow.dev1, name="second")
    other.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert patch(other, story.pk, {"state": "in_progress"}, '"2"').status_code == 200
    flow.dev1.is_active = False
    flow.dev1.save(update_fields=["is_active"])
    assert patch(other, story.pk, {"state": "in_review"}, '"3"').status_code == 401
    assert Story.objects.get(pk=story.pk).state == "in_progress" and moves(story) == 2


def test_the_token_use_is_recorded_at_most_once_a_minute(api, flow, story):
    client = api("dev1")
    token = ApiToken.objects.get(user=flow.dev1)
    assert token.last_used_at is None
    assert patch(client, story.pk, {"state": "ready"}, '"1"').status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    assert patch(client, story.pk, {"state": "in_progress"}, '"2"').status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - datetime.timedelta(minutes=2))
    assert patch(client, story.pk, {"state": "in_review"}, '"3"').status_code == 200
    token.refresh_from_db()
    assert token.last_used_at > first


@pytest.fixture
def two_a_minute():
    cache.clear()
    original = PerClientThrottle.THROTTLE_RATES
    PerClientThrottle.THROTTLE_RATES = {**api_settings.DEFAULT_THROTTLE_RATES, "client": "2/min"}
    yield
    PerClientThrottle.THROTTLE_RATES = original
    cache.clear()
    backend = caches["default"]
    if isinstance(backend, RedisCache):  # the windows live under their own keys
        client = backend._cache.get_client(None, write=True)
        for key in client.scan_iter(backend.make_key("window:*")):
            client.delete(key)


def test_the_rate_limit_holds_and_counts_each_request_once(api, story, two_a_minute):
    client = api("dev1")
    # a stale PATCH the lean entry hands to the full path: counted once, not twice
    assert patch(client, story.pk, {"state": "ready"}, '"9"').status_code == 412
    assert patch(client, story.pk, {"state": "ready"}, '"1"').status_code == 200
    refused = patch(client, story.pk, {"state": "in_progress"}, '"2"')
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert Story.objects.get(pk=story.pk).state == "ready" and moves(story) == 1
    # another token has its own window
    assert patch(api("po1"), story.pk, {"state": "in_progress"}, '"2"').status_code == 200


def test_a_browser_patch_by_session_keeps_its_csrf_check(flow, story):
    browser = APIClient(enforce_csrf_checks=True)
    browser.force_login(flow.dev1)
    response = patch(browser, story.pk, {"state": "ready"}, '"1"')
    assert response.status_code == 403 and "CSRF" in response.json()["detail"]
    assert Story.objects.get(pk=story.pk).version == 1 and moves(story) == 0


def test_a_body_nested_too_deep_for_the_lean_entry_is_the_full_paths_400(api, story):
    """The lean entry reads the body with the standard JSON reader, which gives up on deep
    nesting with a RecursionError: that is the full path's to refuse (its parser names the
    32-level limit), never a 500."""
    deep = '{"state": ' + "[" * 100_000 + "]" * 100_000 + "}"
    response = api("dev1").generic(
        "PATCH", f"{URL}{story.pk}/", deep, content_type="application/json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]
    assert Story.objects.get(pk=story.pk).version == 1 and moves(story) == 0
