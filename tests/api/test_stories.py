import pytest

from backlog.models import StateChange, Story

pytestmark = pytest.mark.django_db
URL = "/api/v1/stories/"


def patch(client, story_id, body, etag):
    headers = {"HTTP_IF_MATCH": etag} if etag is not None else {}
    return client.patch(f"{URL}{story_id}/", body, format="json", **headers)


def test_list_own_stories_only(api, flow, foreign, story):
    from backlog import services

    services.story_create(
        actor=foreign.actor("po1"), scrum_team=foreign.scrum_teams[0], title="Theirs"
    )
    response = api("dev1").get(URL)
    assert response.status_code == 200
    titles = [s["title"] for s in response.json()["results"]]
    assert titles == ["Export invoices"]
    foreign_story = Story.objects.get(title="Theirs")
    assert api("dev1").get(f"{URL}{foreign_story.pk}/").status_code == 404
    assert patch(api("dev1"), foreign_story.pk, {"title": "x"}, '"1"').status_code == 404


def test_script_moves_a_story_to_done_with_if_match(api, story):
    client = api("dev1")
    read = client.get(f"{URL}{story.pk}/")
    etag = read["ETag"]
    assert etag == '"1"'
    assert client.get(f"{URL}{story.pk}/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    for state in ("ready", "in_progress", "in_review"):
        response = patch(client, story.pk, {"state": state}, etag)
        assert response.status_code == 200, response.json()
        etag = response["ETag"]
    criterion = read.json()["criteria"][0]["id"]
    assert (
        client.patch(
            f"/api/v1/acceptance-criteria/{criterion}/", {"checked": True}, format="json"
        ).status_code
        == 200
    )
    etag = client.get(f"{URL}{story.pk}/")["ETag"]
    response = patch(client, story.pk, {"state": "done"}, etag)
    assert response.status_code == 200 and response.json()["state"] == "done"
    assert StateChange.objects.filter(story=story).count() == 5


def test_missing_if_match_is_428_and_stale_is_412(api, story):
    client = api("dev1")
    response = patch(client, story.pk, {"title": "New"}, None)
    assert response.status_code == 428
    assert response["Content-Type"] == "application/problem+json"
    assert patch(client, story.pk, {"title": "New"}, '"1"').status_code == 200
    stale = patch(client, story.pk, {"title": "Newer"}, '"1"')
    assert stale.status_code == 412
    assert stale.json()["current_version"] == 2
    assert Story.objects.get(pk=story.pk).title == "New"


def test_an_if_match_of_only_spaces_and_tabs_is_missing_and_other_blanks_are_a_bad_tag(api, story):
    client = api("dev1")
    assert patch(client, story.pk, {"title": "New"}, " \t ").status_code == 428
    bad = patch(client, story.pk, {"title": "New"}, "\x0b")  # not HTTP's optional space
    assert patch(client, story.pk, {"title": "New"}, "X").json()["errors"] == bad.json()["errors"]
    assert (bad.status_code, bad.json()["errors"]) == (
        400,
        {"If-Match": ['send "*" or entity tags as the ETag shows them, e.g. "3" or "2", "3"']},
    )
    assert Story.objects.get(pk=story.pk).version == 1


def test_refused_transition_names_the_rule_and_writes_nothing(api, story):
    client = api("dev1")
    response = patch(client, story.pk, {"state": "done"}, '"1"')
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {
        "criteria": ["done needs every acceptance criterion checked (1 unchecked)"]
    }
    assert body["status"] == 400 and body["title"]
    assert Story.objects.get(pk=story.pk).version == 1
    assert StateChange.objects.filter(story=story).count() == 1


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"points": "many"}, "points", "must be a whole number, not a string"),
        ({"points": 4}, "points", '"4" is not a valid choice.'),
        ({"colour": "red"}, "colour", "unknown field"),
        ({"version": 9}, "version", "read-only field"),
        ({"state": "shipped"}, "state", '"shipped" is not a valid choice.'),
        ({"epic": 999999}, "epic", 'Invalid pk "999999" - object does not exist.'),
        ({"title": ""}, "title", "This field may not be blank."),
    ],
)
def test_bad_input_names_the_field_and_reason(api, story, body, field, reason):
    response = patch(api("dev1"), story.pk, body, '"1"')
    assert response.status_code == 400
    assert response.json()["errors"][field] == [reason]
    assert Story.objects.get(pk=story.pk).version == 1


def test_fields_a_role_may_not_write_are_refused(api, story):
    response = patch(api("cpo"), story.pk, {"assignee": None}, '"1"')
    assert response.status_code == 400
    assert response.json()["errors"] == {"assignee": ["your role may not change this field"]}
    assert patch(api("stakeholder"), story.pk, {"title": "x"}, '"1"').status_code == 403
    assert patch(api("dev2"), story.pk, {"title": "x"}, '"1"').status_code == 403


def test_create_rank_block_and_unblock(api, flow, story):
    client = api("po1")
    created = client.post(
        URL,
        {
            "scrum_team": flow.scrum_teams[0].pk,
            "title": "Import",
            "points": 5,
            "acceptance_criteria": ["Reads CSV", "Reports errors"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    new = created.json()
    assert [c["text"] for c in new["criteria"]] == ["Reads CSV", "Reports errors"]
    ranked = client.post(
        f"{URL}{new['id']}/rank/",
        {"before": story.pk},
        format="json",
        HTTP_IF_MATCH=created["ETag"],
    )
    assert ranked.status_code == 200
    assert [s["id"] for s in client.get(URL).json()["results"]] == [new["id"], story.pk]
    blocked = client.post(
        f"{URL}{story.pk}/block/", {"reason": "API down"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert blocked.status_code == 200 and blocked.json()["blocked"] is True
    cleared = client.post(f"{URL}{story.pk}/unblock/", HTTP_IF_MATCH=blocked["ETag"])
    assert cleared.status_code == 200 and cleared.json()["blocked"] is False


def test_create_in_another_flow_teams_scrum_team_is_refused(api, foreign):
    response = api("po1").post(
        URL, {"scrum_team": foreign.scrum_teams[0].pk, "title": "x"}, format="json"
    )
    assert response.status_code == 400
    assert "scrum_team" in response.json()["errors"]
    assert not Story.objects.filter(title="x").exists()


def test_filters(api, flow, story):
    client = api("dev1")
    assert client.get(URL, {"state": "backlog"}).json()["count"] == 1
    assert client.get(URL, {"state": "done"}).json()["count"] == 0
    assert client.get(URL, {"team": flow.scrum_teams[1].pk}).json()["count"] == 0
    assert client.get(URL, {"updated_since": "2000-01-01T00:00:00Z"}).json()["count"] == 1
    bad = client.get(URL, {"updated_since": "yesterday"})
    assert bad.status_code == 400 and "updated_since" in bad.json()["errors"]


def test_oversized_body_is_413(api, story, settings):
    settings.API_MAX_BODY_BYTES = 1000
    response = patch(api("dev1"), story.pk, {"title": "x" * 5000}, '"1"')
    assert response.status_code == 413
    assert Story.objects.get(pk=story.pk).title == "Export invoices"


def test_rate_limit_answers_429_with_retry_after(api, story, settings):
    from django.core.cache import cache
    from rest_framework.settings import api_settings

    cache.clear()
    rates = dict(api_settings.DEFAULT_THROTTLE_RATES)
    from sem.throttling import PerClientThrottle

    original = PerClientThrottle.THROTTLE_RATES
    PerClientThrottle.THROTTLE_RATES = {**rates, "client": "3/min"}
    try:
        client = api("dev1")
        codes = [client.get(URL).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        last = client.get(URL)
        assert last.status_code == 429 and int(last["Retry-After"]) > 0
    finally:
        PerClientThrottle.THROTTLE_RATES = original
        cache.clear()


def test_unauthenticated_and_bad_token(client, story):
    anonymous = client.get(URL)
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Bearer"
    assert anonymous["Content-Type"] == "application/problem+json"
    response = client.get(URL, HTTP_AUTHORIZATION="Bearer sf_nope")
    assert response.status_code == 401
    assert response.json()["detail"] == "unknown or revoked token"


def test_empty_patch_changes_nothing_but_still_checks_if_match(api, story):
    client = api("dev1")
    same = patch(client, story.pk, {}, '"1"')
    assert same.status_code == 200 and same["ETag"] == '"1"'
    assert [c["text"] for c in same.json()["criteria"]] == ["CSV has every column"]
    patch(client, story.pk, {"title": "Export all invoices"}, '"1"')
    stale = patch(client, story.pk, {}, '"1"')
    assert stale.status_code == 412 and stale.json()["current_version"] == 2


def test_edit_and_move_in_one_patch_is_one_change(api, story):
    client = api("dev1")
    response = patch(client, story.pk, {"points": 5, "state": "ready"}, '"1"')
    assert response.status_code == 200, response.json()
    body = response.json()
    # One request, one change: one version bump and one history row.
    assert (body["points"], body["state"], body["version"]) == (5, "ready", 2)
    assert response["ETag"] == '"2"'
    assert StateChange.objects.filter(story=story).exclude(from_state="").count() == 1
    # A refused move undoes the edit sent with it: nothing is written on an error.
    refused = patch(client, story.pk, {"title": "Renamed", "state": "done"}, '"2"')
    assert refused.status_code == 400
    assert Story.objects.get(pk=story.pk).title == "Export invoices"
