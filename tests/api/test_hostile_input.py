"""Hostile input over every operation of the API schema: each gets a 4xx problem body
naming what was wrong, and no row changes (quality.md: no input of any kind gets a 5xx).

Operations come from drf-spectacular's schema, so a new route is covered the day it is
added; a route with an `{id}` is tried on an object its list shows."""

import json

import pytest
from django.apps import apps
from django.db.models import Count, Max, Sum
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from sem.api_parsers import MAX_JSON_DEPTH
from teams.models import Role
from teams.services import role_assign
from tests.api.test_permission_matrix import populate

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (method.upper(), path, operation)
    for path, methods in SCHEMA["paths"].items()
    for method, operation in methods.items()
]
WRITES = [op for op in OPERATIONS if op[0] != "GET"]
BODIES = [op for op in OPERATIONS if "requestBody" in op[2]]


def _headers(operation) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}


CONDITIONAL_WRITES = [op for op in WRITES if "If-Match" in _headers(op[2])]
CONDITIONAL_READS = [
    op for op in OPERATIONS if op[0] == "GET" and "If-None-Match" in _headers(op[2])
]


def _id(op):
    return f"{op[0]} {op[1]}"


def snapshot():
    """Per model of the apps: rows, newest updated_at, sum of versions. Reads change none."""
    state = {}
    for label in ("teams", "backlog", "flow", "events"):
        for model in apps.get_app_config(label).get_models():
            fields = {f.name for f in model._meta.concrete_fields}
            aggregates = {"rows": Count("pk")}
            if "updated_at" in fields:
                aggregates["updated"] = Max("updated_at")
            if "version" in fields:
                aggregates["versions"] = Sum("version")
            state[model._meta.label] = model.objects.aggregate(**aggregates)
    return state


@pytest.fixture
def world(flow):
    populate(flow)
    # The CPO, also a developer of every Scrum Team: allowed every write (a role refused
    # one is a 403 before the body is read), so the body's faults are what is answered.
    cpo = flow.users["cpo"].memberships.get(flow_team=flow.flow_team)
    for team in flow.scrum_teams:
        role_assign(membership=cpo, role=Role.DEVELOPER, scrum_team=team)
    client = APIClient()
    from teams.services import api_token_create

    _, secret = api_token_create(user=flow.users["cpo"], name="hostile")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def _url(client, path, operation):
    """The path with an object of the caller's Flow Team in `{id}`, `{chart}` from its enum."""
    url = path
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "path":
            continue
        name = parameter["name"]
        if "enum" in parameter["schema"]:
            value = parameter["schema"]["enum"][0]
        else:
            listing = client.get(path.split("{")[0]).json()["results"]
            assert listing, f"populate() leaves nothing on {path}: extend it"
            value = listing[0][name]
        url = url.replace("{" + name + "}", str(value))
    return url


def _send(client, method, url, *, body=None, raw=None, **headers):
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    if raw is not None:
        return client.generic(method, url, raw, content_type="application/json", **extra)
    return client.generic(
        method, url, "" if body is None else _json(body), content_type="application/json", **extra
    )


def _json(body):
    return json.dumps(body)


def _assert_refused(response, status, *, naming=None, label=""):
    assert response.status_code in status, (
        f"{label}: {response.status_code} {response.content[:300]!r}"
    )
    if response.status_code != 304:
        assert response["Content-Type"] == "application/problem+json", label
        body = response.json()
        assert body["status"] == response.status_code, label
        if naming is not None:
            assert naming in body.get("errors", {}), f"{label}: {body}"


def _refused_without_writing(client, method, url, status, *, naming=None, label="", **kwargs):
    before = snapshot()
    response = _send(client, method, url, **kwargs)
    _assert_refused(response, status, naming=naming, label=label)
    assert snapshot() == before, f"{label}: a row changed"
    return response


def _request_schema(operation):
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(schema)


def _resolve(schema):
    if "$ref" in schema:
        return _resolve(SCHEMA["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]])
    for combinator in ("oneOf", "anyOf", "allOf"):
        if combinator in schema:
            options = [_resolve(s) for s in schema[combinator]]
            typed = [s for s in options if s.get("type") and s.get("enum") != [None]]
            return typed[0] if typed else options[0]
    return schema


WRONG_TYPE = {"string": 123, "integer": "5", "number": "5", "boolean": "true", "array": "x"}


@pytest.mark.parametrize("op", OPERATIONS, ids=_id)
def test_malformed_headers_and_query_parameters_are_refused_naming_them(world, op):
    method, path, operation = op
    url = _url(world, path, operation)
    cases = [({"zz_unknown": "1"}, "zz_unknown"), ({"format": "xml"}, "format")]
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        name, schema = parameter["name"], _resolve(parameter.get("schema", {}))
        cases.append(({name: "a\x00b"}, name))
        if schema.get("type") == "integer":
            cases.append(({name: "9" * 30}, name))
        elif schema.get("format") == "date-time":
            cases.append(({name: "9999-12-31T23:59:59-10:00"}, name))
    for params, name in cases:
        query = "&".join(f"{k}={v}" for k, v in params.items()).replace("\x00", "%00")
        _refused_without_writing(
            world,
            method,
            f"{url}?{query}",
            {400},
            naming=name,
            label=f"{method} {path}?{query}",
            if_match='"1"',
        )
    anonymous = APIClient()
    for header in ["Bearer", "Bearer a b", "Bearer \x00", "Bearer " + "a" * 5000, " ", "bearer"]:
        anonymous.credentials(HTTP_AUTHORIZATION=header)
        _refused_without_writing(anonymous, method, url, {401}, label=f"{method} {path} {header!r}")


@pytest.mark.parametrize("op", BODIES, ids=_id)
def test_bodies_of_the_wrong_shape_are_refused_naming_the_field(world, op):
    method, path, operation = op
    url = _url(world, path, operation)
    label = f"{method} {path}"
    go = {"if_match": "*"}  # past the precondition: the body is what is refused
    deep = "[" * 100_000 + "]" * 100_000
    _refused_without_writing(world, method, url, {400, 413}, raw=deep, label=label, **go)
    nested = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    _refused_without_writing(world, method, url, {400}, raw=nested, label=label, **go)
    _refused_without_writing(world, method, url, {400}, raw='{"a": "\\ud800"}', label=label, **go)
    _refused_without_writing(
        world, method, url, {400}, body={"zz_unknown": 1}, naming="zz_unknown", label=label, **go
    )
    schema = _request_schema(operation)
    for name, prop in schema.get("properties", {}).items():
        if prop.get("readOnly"):
            continue
        kind = _resolve(prop).get("type")
        _refused_without_writing(
            world,
            method,
            url,
            {400},
            body={name: WRONG_TYPE[kind]},
            naming=name,
            label=f"{label} {name}={WRONG_TYPE[kind]!r}",
            **go,
        )
        if kind == "string" and "enum" not in _resolve(prop) and "format" not in prop:
            for text in ["a\x00b", "a\x07b", "a\x1bb"]:
                _refused_without_writing(
                    world,
                    method,
                    url,
                    {400},
                    body={name: text},
                    naming=name,
                    label=f"{label} {name}={text!r}",
                    **go,
                )


@pytest.mark.parametrize("op", CONDITIONAL_WRITES, ids=_id)
def test_conditional_writes_follow_rfc_9110(world, op):
    method, path, operation = op
    url = _url(world, path, operation)
    # The object itself: /api/v1/<prefix>/<id>/ of an action's URL.
    current = world.get("/".join(url.split("/")[:5]) + "/")
    tag = current["ETag"].strip('"')
    label = f"{method} {path}"
    _refused_without_writing(world, method, url, {428}, body={}, label=label)
    for malformed in ['"1', "3", "W/", '"a" "b"', "\x00", '*, "1"']:
        _refused_without_writing(
            world, method, url, {400}, body={}, naming="If-Match", label=label, if_match=malformed
        )
    for stale in ['"0"', '"nope"', f'W/"{tag}"', '"0", W/"' + tag + '"']:
        response = _refused_without_writing(
            world, method, url, {412}, body={}, label=f"{label} {stale}", if_match=stale
        )
        assert response.json()["current_version"] == int(tag)
    matching_tags = ["*", f'"{tag}"', f'"0", "{tag}"', f' , "{tag}" ,']
    for matching in matching_tags if "requestBody" in operation else []:
        # The precondition holds; an unknown field then stops the write (400, not 412).
        _refused_without_writing(
            world,
            method,
            url,
            {400},
            body={"zz_unknown": 1},
            naming="zz_unknown",
            label=f"{label} {matching}",
            if_match=matching,
        )
    for names_current in ["*", f'W/"{tag}"']:
        _refused_without_writing(
            world,
            method,
            url,
            {412},
            body={},
            label=f"{label} If-None-Match {names_current}",
            if_match="*",
            if_none_match=names_current,
        )


@pytest.mark.parametrize("op", CONDITIONAL_READS, ids=_id)
def test_conditional_reads_follow_rfc_9110(world, op):
    method, path, operation = op
    url = _url(world, path, operation)
    tag = world.get(url)["ETag"]
    for names_current in ["*", tag, f"W/{tag}", f'"0", {tag}', f'W/"0", W/{tag}']:
        response = world.get(url, HTTP_IF_NONE_MATCH=names_current)
        assert response.status_code == 304, names_current
        assert response["ETag"] == tag
        assert response.content == b""
    for other in ['"0"', '"nope", W/"0"']:
        assert world.get(url, HTTP_IF_NONE_MATCH=other).status_code == 200
    for malformed in ["abc", '"1', "W/"]:
        _assert_refused(
            world.get(url, HTTP_IF_NONE_MATCH=malformed),
            {400},
            naming="If-None-Match",
            label=malformed,
        )


def test_a_move_next_to_itself_is_refused_and_writes_nothing(world, flow):
    from backlog.models import Epic, Story

    story = Story.objects.filter(flow_team=flow.flow_team).first()
    epic = Epic.objects.filter(flow_team=flow.flow_team).first()
    for url, item in (
        (f"/api/v1/stories/{story.pk}/rank/", story),
        (f"/api/v1/epics/{epic.pk}/rank/", epic),
    ):
        for side in ("after", "before"):
            _refused_without_writing(
                world,
                "POST",
                url,
                {400},
                body={side: item.pk},
                naming=side,
                label=f"{url} {side} itself",
                if_match=f'"{item.version}"',
            )


def test_every_route_is_covered():
    # The hostile suite reaches every router prefix through the schema.
    from sem.api_urls import ROUTES

    covered = {path.split("/")[3] for _, path, _ in OPERATIONS}
    assert covered == {prefix for prefix, _ in ROUTES}


def test_schema_documents_the_conditional_headers():
    for method, path, operation in OPERATIONS:
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if "412" in operation["responses"]:
            assert headers["If-Match"]["required"], f"{method} {path}"
            assert "428" in operation["responses"], f"{method} {path}"
        if method == "GET" and "If-None-Match" in headers:
            assert "304" in operation["responses"], f"{method} {path}"
    versioned = {"stories", "epics", "dependencies", "risks", "milestones"}
    assert {p.split("/")[3] for _, p, _ in CONDITIONAL_WRITES} == versioned
    assert {p.split("/")[3] for _, p, _ in CONDITIONAL_READS} == versioned
