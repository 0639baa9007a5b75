"""The served schema is a contract a generated client can hold the server to: headers,
statuses, required fields, enums of filters, and descriptions written for API users.

The schema's side is read from /api/schema/; the server's side is asked with real
requests over the data of ``populate``, so a schema that says more or less than the
server does fails here (tests/api/test_schemathesis.py fuzzes the rest)."""

import inspect
import json

import pytest
from django.core.management import call_command
from rest_framework import serializers
from rest_framework.test import APIClient

from sem import api as sem_api
from sem.api_urls import router
from teams.api import scope
from teams.services import api_token_create
from tests.api.test_permission_matrix import populate

pytestmark = pytest.mark.django_db
METHODS = ("get", "post", "patch", "put", "delete")


@pytest.fixture
def schema(client, flow):
    client.force_login(flow.dev1)
    return json.loads(client.get("/api/schema/?format=json").content)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def descriptions(node, where="schema"):
    """Every description in the document, with where it stands."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "description" and isinstance(value, str):
                yield where, value
            else:
                yield from descriptions(value, f"{where}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from descriptions(value, f"{where}[{i}]")


def _class_or_function(member) -> bool:
    # Serializers describe API objects: their docstrings are written for API users.
    if inspect.isclass(member):
        return not issubclass(member, serializers.BaseSerializer)
    return inspect.isfunction(member)


def internal_docstrings() -> set[str]:
    """First lines of the docstrings written for the project's developers: of every view
    class and mixin the API is built of, and of the shared plumbing's classes and helpers
    (not its serializers: those describe what the API sends)."""
    found = set()
    for _, viewset, _ in router.registry:
        for cls in viewset.__mro__:
            if cls.__doc__ and cls is not object:
                found.add(inspect.cleandoc(cls.__doc__).splitlines()[0])
    for module in (sem_api, scope):
        for _, member in inspect.getmembers(module, _class_or_function):
            if member.__module__ == module.__name__ and member.__doc__:
                found.add(inspect.cleandoc(member.__doc__).splitlines()[0])
        if module.__doc__:
            found.add(inspect.cleandoc(module.__doc__).splitlines()[0])
    return found


def test_the_schema_generates_without_a_warning(tmp_path):
    # A warning is a guess of drf-spectacular's (a type it could not see, an enum named
    # by a counter) that a generated client would carry.
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_operation_and_schema_is_described_for_api_users_only(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), f"{method} {path} has a summary"
    for name, component in schema["components"]["schemas"].items():
        assert component.get("description"), f"component {name} has a description"
    leaks = internal_docstrings()
    assert len(leaks) > 20  # the net holds the mixins' notes, not nothing
    for where, text in descriptions(schema):
        leaked = [doc for doc in leaks if doc in text]
        assert not leaked, f"{where} shows a developer's note: {leaked[0]!r}"


def test_conditional_headers_and_their_statuses_are_declared(schema):
    versioned = 0
    for path, method, operation in operations(schema):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        codes = set(operation["responses"])
        if {"412", "428"} & codes:
            assert {"412", "428"} <= codes, (method, path)
            assert headers["If-Match"]["required"], (method, path)
            assert "If-None-Match" in headers, (method, path)
            assert "ETag" in operation["responses"]["200"].get("headers", {}), (method, path)
        if method == "get" and "304" in codes:
            versioned += 1
            assert "If-None-Match" in headers, path
            for code in ("200", "304"):
                etag = operation["responses"][code]["headers"]["ETag"]
                assert etag["required"] and etag["description"], (path, code)
        elif "If-None-Match" in headers:
            assert method != "get", f"{path} honours If-None-Match but declares no 304"
    assert versioned == 5  # stories, epics, dependencies, risks, milestones


@pytest.fixture
def world(flow, foreign):
    populate(flow)
    populate(foreign)
    clients = {}

    def as_(key):
        if key not in clients:
            clients[key] = APIClient()
            secret = api_token_create(user=flow.users[key], name="contract")[1]
            clients[key].credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        return clients[key]

    return as_


def _first_id(client, path):
    listing = client.get(path.split("{")[0]).json()["results"]
    assert listing, f"populate() leaves nothing on {path}: extend it"
    return listing[0]["id"]


def test_etag_is_declared_exactly_where_the_server_sends_it(schema, world):
    client = world("cpo")
    for path, method, operation in operations(schema):
        if method != "get" or "{id}" not in path:
            continue
        url = path.replace("{id}", str(_first_id(client, path)))
        response = client.get(url)
        assert response.status_code == 200, url
        declared = "ETag" in operation["responses"]["200"].get("headers", {})
        assert declared == ("ETag" in response), f"GET {path}: ETag sent and declared differ"


def test_fields_always_present_are_required(schema, world):
    client = world("cpo")
    components = schema["components"]["schemas"]

    def component_of(operation):
        ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return components[ref.rsplit("/", 1)[-1]]

    checked = 0
    for path, method, operation in operations(schema):
        if method != "get" or "{" in path or path.endswith("/metrics/"):
            continue
        page = component_of(operation)
        body = client.get(path).json()
        assert set(body) == set(page["required"]), path
        if "results" not in page["properties"]:
            continue  # one object, not a list (the WSJF proposal)
        item = components[page["properties"]["results"]["items"]["$ref"].rsplit("/", 1)[-1]]
        for row in body["results"]:
            missing = set(row) - set(item.get("required", ()))
            assert not missing, f"{path}: {sorted(missing)} always sent, not required"
            checked += 1
    assert checked > 15


def test_filters_and_ordering_have_enums_and_refuse_other_values(schema, world):
    client = world("cpo")
    enums = 0
    for path, method, operation in operations(schema):
        if method != "get":
            continue
        for parameter in operation.get("parameters", []):
            if parameter["in"] != "query":
                continue
            name, kind = parameter["name"], parameter["schema"]
            kind = kind.get("items", kind)
            if kind["type"] != "string" or "format" in kind:
                continue  # numbers, booleans, dates are checked by their type
            assert "enum" in kind, f"{path} ?{name} is free text: give it an enum"
            enums += 1
            if "{" in path:
                continue
            refused = client.get(path, {name: "nonsense"})
            assert refused.status_code == 400, (path, name, refused.status_code)
            assert name in refused.json()["errors"], (path, name)
            allowed = client.get(path, {name: kind["enum"][-1]})
            assert allowed.status_code == 200, (path, name, allowed.content[:200])
    assert enums > 20


def test_every_page_and_ordering_parameter_says_what_it_is(schema):
    """A generated client's docs are the schema's words: a page's fields, and what
    ``?ordering=`` takes (optional, as every query parameter)."""
    pages = [
        c for c in schema["components"]["schemas"].values() if "results" in c.get("properties", {})
    ]
    assert len(pages) > 15
    for page in pages:
        assert page["description"] == (
            "A page of results: `count` in all, links to the `next` and `previous` pages "
            "(null at either end), and this page's `results`."
        )
    orderings = [
        parameter
        for _path, method, operation in operations(schema)
        for parameter in operation.get("parameters", [])
        if parameter["name"] == "ordering"
    ]
    assert len(orderings) > 5
    for parameter in orderings:
        assert (parameter["in"], parameter["required"], parameter["description"]) == (
            "query",
            False,
            "Sort by this field, descending with a leading `-`; a comma-separated list of "
            "them sorts by each in turn. Anything else is a 400.",
        )


def test_a_role_refused_a_write_hears_403_before_any_precondition(schema, world):
    stakeholder = world("stakeholder")
    cpo = world("cpo")
    walked = 0
    for path, method, operation in operations(schema):
        if "428" not in operation["responses"]:
            continue
        url = path.replace("{id}", str(_first_id(cpo, path)))
        for headers in ({}, {"HTTP_IF_MATCH": '"999"'}, {"HTTP_IF_MATCH": "*"}):
            response = stakeholder.generic(
                method.upper(), url, "{}", content_type="application/json", **headers
            )
            assert response.status_code == 403, (method, path, headers, response.status_code)
        walked += 1
    # story edit, rank, block, unblock; epic edit, rank; dependency edit, commit, counter,
    # accept, renegotiate; risk; milestone edit, move, close
    assert walked == 15


def test_every_error_response_is_problem_json_with_its_description(schema):
    """A generated client reads each 4xx as an RFC 9457 problem: the statuses the API
    answers with, each as application/problem+json of the Problem schema, described."""
    described = {}
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith("4"):
                continue
            assert list(response["content"]) == ["application/problem+json"], (path, method)
            problem = response["content"]["application/problem+json"]["schema"]
            assert problem == {"$ref": "#/components/schemas/Problem"}, (path, method, status)
            described.setdefault(status, set()).add(response["description"])
    assert {"400", "401", "403", "404", "409", "412", "413", "415", "428", "429"} <= set(described)
    assert described["401"] == {
        "Not authenticated: send a session cookie or `Authorization: Bearer <token>`."
    }
    assert "Request body too large." in described["413"]
