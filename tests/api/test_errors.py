"""Every 4xx is one problem-details body naming the bad input; nothing is quietly ignored."""

import pytest

pytestmark = pytest.mark.django_db
URL = "/api/v1/stories/"


@pytest.mark.parametrize(
    "params, name, reason",
    [
        ({"limit": "ten"}, "limit", "a whole number, given once"),
        ({"offset": "-5"}, "offset", "a whole number, given once"),
        ({"team": "first"}, "team", "a whole number"),
        ({"blocked": "maybe"}, "blocked", "true or false"),
        ({"epic": ""}, "epic", "may not be empty; leave the parameter out instead"),
        ({"state": "finished"}, "state", "Select a valid choice."),
    ],
)
def test_malformed_query_parameters_are_refused_naming_them(api, story, params, name, reason):
    response = api("dev1").get(URL, params)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == 400
    assert body["errors"][name][0].startswith(reason)


def test_repeated_single_value_filter_is_refused(api, flow, story):
    team = flow.scrum_teams[0].pk
    response = api("dev1").get(f"{URL}?team={team}&team={team}")
    assert response.status_code == 400
    assert response.json()["errors"] == {"team": ["give this filter once"]}


def test_limit_is_capped_at_200_and_defaults_to_50(api, story):
    client = api("dev1")
    assert client.get(URL, {"limit": "1000"}).status_code == 200
    body = client.get(URL).json()
    assert body["count"] == 1 and body["next"] is None


def test_unknown_api_url_answers_in_the_api_error_shape(api):
    response = api("dev1").get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Not found"
    # Even a write to an unknown URL: a 404 body, not Django's CSRF page.
    assert api("dev1").post("/api/v1/stories/x/rank/", {}, format="json").status_code == 404


def test_wrong_types_and_bad_dates_name_each_field(api, flow, story):
    response = api("po1").post(
        URL,
        {"scrum_team": "one", "title": ["not", "text"], "points": 4},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"scrum_team", "title", "points"}
    dated = api("dev1").get(URL, {"updated_since": "2026-02-31T10:00:00Z"})
    assert dated.status_code == 400 and "updated_since" in dated.json()["errors"]
    unknown = api("cpo").post("/api/v1/risks/", {"title": "Vendor", "due": "x"}, format="json")
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"due": ["unknown field"]}
