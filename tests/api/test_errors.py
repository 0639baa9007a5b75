"""Every 4xx is one problem-details body naming the bad input; nothing is quietly ignored."""

import io
import json

import pytest
from rest_framework.exceptions import ParseError
from rest_framework.test import APIRequestFactory

from sem.api import BIGGEST_NUMBER, single_version
from sem.api_parsers import DepthLimitedJSONParser
from tests.backlog.factories import StoryFactory

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


def test_limit_is_capped_at_200_and_defaults_to_50(api, flow):
    from backlog.models import Story
    from tests.backlog.factories import StoryFactory

    team = flow.scrum_teams[0]
    Story.objects.bulk_create(
        StoryFactory.build_batch(201, scrum_team=team, flow_team=flow.flow_team)
    )
    client = api("dev1")
    capped = client.get(URL, {"limit": "1000"}).json()
    assert capped["count"] == 201 and len(capped["results"]) == 200
    assert capped["next"] is not None
    default = client.get(URL).json()
    assert len(default["results"]) == 50 and "limit=50" in default["next"]


def test_unknown_api_url_answers_in_the_api_error_shape(api):
    response = api("dev1").get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["title"] == "Not found"
    # Even a write to an unknown URL: a 404 body, not Django's CSRF page.
    assert api("dev1").post("/api/v1/stories/x/rank/", {}, format="json").status_code == 404
    # A line break in the path (%0A) too: not Django's HTML page.
    broken = api("dev1").get("/api/v1/metrics/a%0Ab/")
    assert broken.status_code == 404
    assert broken["Content-Type"] == "application/problem+json"


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


def _patch(client, story, body, **headers):
    return client.patch(f"{URL}{story.pk}/", body, format="json", **headers)


@pytest.mark.parametrize(
    "if_match, status",
    [
        ("*", 200),  # any current representation
        ('"{v}"', 200),
        ('"0", "{v}"', 200),  # a list matches when one tag does
        (' ,"{v}", ', 200),  # empty list elements are allowed (RFC 9110 5.6.1)
        ('W/"{v}"', 412),  # If-Match compares strongly: a weak tag never matches
        ('"0"', 412),  # stale
        ('"abc"', 412),  # well-formed, not ours
        ('"{v}', 400),  # malformed
        ("{v}", 400),
        ('*, "{v}"', 400),
        ("", 428),
    ],
)
def test_if_match_follows_rfc_9110(api, story, if_match, status):
    header = if_match.format(v=story.version)
    headers = {"HTTP_IF_MATCH": header} if header else {}
    response = _patch(api("po1"), story, {"title": "Renamed"}, **headers)
    assert response.status_code == status, response.content
    story.refresh_from_db()
    assert (story.title == "Renamed") == (status == 200)
    if status == 412:
        assert response.json()["current_version"] == story.version
    if status == 400:
        assert "If-Match" in response.json()["errors"]


@pytest.mark.parametrize(
    "if_none_match, status",
    [
        ("*", 304),
        ('"{v}"', 304),
        ('W/"{v}"', 304),  # If-None-Match compares weakly
        ('"0", W/"{v}"', 304),
        ('"0"', 200),
        ("{v}", 400),
    ],
)
def test_if_none_match_follows_rfc_9110(api, story, if_none_match, status):
    response = api("dev1").get(
        f"{URL}{story.pk}/", HTTP_IF_NONE_MATCH=if_none_match.format(v=story.version)
    )
    assert response.status_code == status
    if status != 400:
        assert response["ETag"] == f'"{story.version}"'
    if status == 304:
        assert response.content == b""


def test_if_none_match_on_a_write_naming_the_current_version_is_412(api, story):
    response = _patch(
        api("po1"), story, {"title": "Renamed"}, HTTP_IF_MATCH="*", HTTP_IF_NONE_MATCH="*"
    )
    assert response.status_code == 412
    story.refresh_from_db()
    assert story.title == "Export invoices"


@pytest.mark.parametrize(
    "body, field, reason",
    [
        ({"title": 123}, "title", "must be a string, not a number"),
        ({"title": True}, "title", "must be a string, not true or false"),
        ({"title": ["a"]}, "title", "must be a string, not a list"),
        ({"title": {"a": 1}}, "title", "must be a string, not an object"),
        ({"points": "5"}, "points", "must be a whole number, not a string"),
        ({"points": 5.0}, "points", "must be a whole number, not a number"),
        ({"points": True}, "points", "must be a whole number, not true or false"),
        ({"kind": 1}, "kind", "must be a string, not a number"),
        ({"epic": "1"}, "epic", "must be an id (a whole number), not a string"),
        ({"epic": 2**63}, "epic", "out of range"),
        ({"title": "a\x00b"}, "title", "may not contain the control character U+0000"),
        ({"title": "two\nlines"}, "title", "may not contain the control character U+000A"),
        ({"i_want": "a\x1b[31m"}, "i_want", "may not contain the control character U+001B"),
        ({"title": "\x85"}, "title", "may not contain the control character U+0085"),
    ],
)
def test_wrong_json_types_and_control_characters_are_refused_not_coerced(
    api, story, body, field, reason
):
    version = story.version
    response = _patch(api("po1"), story, body, HTTP_IF_MATCH=f'"{version}"')
    assert response.status_code == 400
    assert response.json()["errors"][field][0].startswith(reason)
    story.refresh_from_db()
    assert story.version == version


def test_a_stale_if_match_is_a_412_naming_the_current_version(api, story):
    response = _patch(api("po1"), story, {"title": "x"}, HTTP_IF_MATCH=f'"{story.version + 5}"')
    assert response.status_code == 412
    assert response.json()["detail"] == (
        f"the object changed since you read it; its current version is {story.version}"
    )


@pytest.mark.parametrize("pk", ["abc", "1e3", "-1", str(BIGGEST_NUMBER + 1), "9" * 30])
def test_a_patch_of_an_id_that_is_no_whole_number_the_database_holds_is_a_404(api, story, pk):
    response = api("po1").patch(
        f"{URL}{pk}/", {"title": "x"}, format="json", HTTP_IF_MATCH=f'"{story.version}"'
    )
    assert response.status_code == 404


def test_a_story_with_the_biggest_id_is_found(api, story):
    biggest = StoryFactory(id=BIGGEST_NUMBER, scrum_team=story.scrum_team)
    response = api("po1").patch(
        f"{URL}{biggest.pk}/", {"title": "Edited"}, format="json", HTTP_IF_MATCH='"1"'
    )
    assert response.status_code == 200, response.content
    assert response.json()["title"] == "Edited"


@pytest.mark.parametrize(
    "header, version",
    [('"3"', 3), (' "3" ', 3), (None, None), ("*", None), ('W/"3"', None), ('"3", "4"', None)],
)
def test_only_one_strong_if_match_tag_names_a_version_up_front(header, version):
    headers = {} if header is None else {"If-Match": header}
    assert single_version(APIRequestFactory().patch("/", headers=headers)) == version


@pytest.mark.parametrize(
    "since, errors",
    [
        ("2026-01-01T00:00:00+15:59", None),
        ("2026-01-01T00:00:00-15:59", None),
        ("2026-01-01T00:00:00", None),  # no offset at all
        ("2026-01-01T00:00:00+16:00", ["the UTC offset must be within ±15:59"]),
        ("2026-01-01T00:00:00-16:00", ["the UTC offset must be within ±15:59"]),
        ("0001-01-01T00:00:00Z", None),
        ("9999-12-31T23:59:59Z", None),
        ("0001-01-01T00:30:00+01:00", ["give a date-time between the years 1 and 9999"]),
        ("9999-12-31T23:30:00-01:00", ["give a date-time between the years 1 and 9999"]),
    ],
)
def test_a_date_times_offset_is_at_most_15_59_and_it_is_in_the_calendar_in_utc(
    api, story, since, errors
):
    response = api("dev1").get(URL, {"updated_since": since})
    if errors is None:
        assert response.status_code == 200, response.content
    else:
        assert response.status_code == 400
        assert response.json()["errors"] == {"updated_since": errors}


def test_long_text_keeps_tabs_and_line_breaks(api, story):
    text = "to see\r\n\tevery column"
    response = _patch(api("po1"), story, {"i_want": text}, HTTP_IF_MATCH=f'"{story.version}"')
    assert response.status_code == 200
    assert response.json()["i_want"] == text


@pytest.mark.parametrize(
    "value, errors",
    [
        (5, []),
        (2.5, []),
        (True, ["must be a number, not true or false"]),
        ("2.5", ["must be a number, not a string"]),
    ],
)
def test_a_number_field_takes_whole_and_decimal_numbers_but_not_booleans(value, errors):
    # No writable number field yet in the API; the rule waits for the first one.
    from rest_framework import serializers

    from sem.api import strict_type_errors

    for field in (
        serializers.FloatField(),
        serializers.DecimalField(max_digits=5, decimal_places=1),
    ):
        assert strict_type_errors(field, value) == errors


@pytest.mark.parametrize(
    "url, body, field, reason",
    [
        ("/api/v1/tasks/{task}/", {"done": "yes"}, "done", "must be true or false, not a string"),
        ("/api/v1/tasks/{task}/", {"done": 1}, "done", "must be true or false, not a number"),
        (
            "/api/v1/acceptance-criteria/{criterion}/",
            {"checked": "true"},
            "checked",
            "must be true or false, not a string",
        ),
    ],
)
def test_booleans_are_true_or_false_only(api, flow, story, url, body, field, reason):
    from backlog import services

    task = services.task_create(actor=flow.actor("po1"), story=story, title="T")
    url = url.format(task=task.pk, criterion=story.criteria.get().pk)
    response = api("po1").patch(url, body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][field] == [reason]


def test_json_nested_deeper_than_32_levels_is_a_400(api, story):
    client = api("po1")
    deep = "[" * 100_000 + "]" * 100_000
    response = client.generic("POST", URL, deep, content_type="application/json")
    assert response.status_code == 400
    assert "nested deeper than 32 levels" in response.json()["detail"]
    at_limit = client.post(URL, {"acceptance_criteria": [["x"]]}, format="json")
    assert "nested" not in at_limit.content.decode()  # two levels: an ordinary 400
    lone = client.generic("POST", URL, '{"title": "\\ud800"}', content_type="application/json")
    assert lone.status_code == 400 and "surrogate" in lone.json()["detail"]


LONE = "a string holds a lone UTF-16 surrogate"


def _nested(levels: int, key: str | None = None) -> str:
    if key is None:
        return "[" * levels + "]" * levels
    return f'{{"{key}": ' * levels + "0" + "}" * levels


@pytest.mark.parametrize(
    "body, refused",
    [
        (_nested(32), None),  # exactly at the limit: parsed
        (_nested(33), "nested deeper than 32 levels"),
        (_nested(32, key="k"), None),  # objects count like arrays, keys add no level
        (_nested(33, key="k"), "nested deeper than 32 levels"),
        ('["\\ud800"]', LONE),  # the first lone surrogate
        ('["ok", "\\udfff"]', LONE),  # the last, after an ordinary string
        ('{"\\udc00": 1}', LONE),  # in a key, not only in a value
        ('["\\ud7ff", "\\ue000", "\\ud83d\\ude00"]', None),  # neighbours and a pair
    ],
)
def test_the_json_parser_refuses_from_the_33rd_level_and_any_lone_surrogate(body, refused):
    parse = DepthLimitedJSONParser().parse
    if refused is None:
        assert parse(io.BytesIO(body.encode())) == json.loads(body)
    else:
        with pytest.raises(ParseError) as error:
            parse(io.BytesIO(body.encode()))
        assert str(error.value.detail) == f"JSON parse error - {refused}"


@pytest.mark.parametrize(
    "url, params, name",
    [
        (URL, {"titel": "x"}, "titel"),
        (URL, {"format": "yaml"}, "format"),
        ("/api/v1/stories/{story}/", {"expand": "criteria"}, "expand"),
        ("/api/v1/metrics/", {"team": "1"}, "team"),
        (URL, {"ordering": "criteria"}, "ordering"),
        ("/api/v1/events/", {"ordering": "ends_at"}, "ordering"),  # computed: not sortable
        (URL, {"ordering": "rank,"}, "ordering"),
        (URL, {"team": "9" * 30}, "team"),
        (URL, {"limit": "9" * 30}, "limit"),
        (URL, {"updated_since": "9999-12-31T23:59:59-10:00"}, "updated_since"),
        (URL, {"state": "a\x00b"}, "state"),
    ],
)
def test_unknown_or_out_of_range_query_parameters_are_refused_naming_them(
    api, story, url, params, name
):
    response = api("dev1").get(url.format(story=story.pk), params)
    assert response.status_code == 400, response.content
    assert name in response.json()["errors"]


@pytest.mark.parametrize(
    "path, ordering, status",
    [
        ("dependencies", "steps", 400),  # a list of steps: nothing to sort by
        ("team-sprints", "commitments", 400),  # a list of commitments
        ("milestones", "-points_done", 200),  # counted in the list's query
        ("tasks", "story", 200),  # a foreign key, by its field's name
        ("tasks", "-done", 200),
    ],
)
def test_a_list_without_declared_orderings_sorts_by_what_the_database_can(
    api, story, path, ordering, status
):
    response = api("dev1").get(f"/api/v1/{path}/", {"ordering": ordering})
    assert response.status_code == status, response.content
    if status == 400:
        assert response.json()["errors"]["ordering"][0].startswith(
            f"no field {ordering!r} to sort by; sort by one of: "
        )


def test_known_query_parameters_still_work(api, story):
    client = api("dev1")
    listed = client.get(URL, {"ordering": "-rank,id", "limit": "5", "format": "json"})
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert client.get("/api/v1/events/", {"ordering": "starts_at"}).status_code == 200


@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer a b", "bearer", " ", "Bearer a\x00", "Bearer " + "a" * 300]
)
def test_malformed_authorization_is_a_401_problem(header):
    from rest_framework.test import APIClient

    response = APIClient().get(URL, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
