"""Hostile input on every HTML form: fields missing, of the wrong kind, holding control
characters, or a body over the limit. Each gets a 4xx, or the page again with an error
naming the field; no row changes, and nothing is ever a 5xx.

The forms are found by reading the pages, so a new form fails this suite until it is
listed in FORMS with its hostile cases."""

import datetime as dt
from html.parser import HTMLParser

import pytest
from django.test import Client
from django.utils import timezone

from tests.api.test_hostile_input import snapshot
from tests.api.test_permission_matrix import populate

pytestmark = pytest.mark.django_db

PAGES = [
    "/",
    "/calendar/",
    "/calendar/?scope=flow",
    "/metrics/",
    "/flow-team/",
    "/account/tokens/",
    "/backlog/",
]
# Forms the CSM is not shown, read and sent as the CPO: (page, action).
CPO_FORMS = {("/backlog/", "/backlog/split/")}


class FormFinder(HTMLParser):
    """(method, action, field names) of each <form> on a page."""

    def __init__(self):
        super().__init__()
        self.forms, self._open = [], None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._open = (attrs.get("method", "get").lower(), attrs.get("action") or "", set())
        elif tag in ("input", "select", "textarea", "button") and self._open and "name" in attrs:
            self._open[2].add(attrs["name"])

    def handle_endtag(self, tag):
        if tag == "form" and self._open:
            method, action, fields = self._open
            self.forms.append((method, action, frozenset(fields - {"csrfmiddlewaretoken"})))
            self._open = None


def _forms_on(client, url):
    finder = FormFinder()
    finder.feed(client.get(url).content.decode())
    return {(m, a or url.split("?")[0], f) for m, a, f in finder.forms}


# Every form the pages show: (method, action, fields) -> hostile cases, each
# (data, the field the answer must name, or None when refusing is enough).
FORMS = {
    ("post", "/logout/", frozenset()): [],
    ("post", "/calendar/", frozenset({"feed"})): [
        ({"feed": "weekly"}, "scope"),
        ({"feed": ""}, "scope"),
    ],
    ("post", "/calendar/", frozenset({"event", "starts_at", "move", "cancel"})): [
        ({}, "event"),
        ({"move": "1"}, "event"),
        ({"event": "{event}", "move": "1"}, "starts_at"),
        ({"event": "x", "starts_at": "2030-01-08T10:00", "move": "1"}, "event"),
        ({"event": "9" * 30, "cancel": "1"}, "event"),
        ({"event": "-1", "cancel": "1"}, "event"),
        ({"event": "{event}", "starts_at": "tomorrow", "move": "1"}, "starts_at"),
        ({"event": "{event}", "starts_at": "0001-01-01T00:10", "move": "1"}, "starts_at"),
        ({"event": "{event}", "starts_at": "9999-12-31T23:59", "move": "1"}, "starts_at"),
    ],
    ("post", "/metrics/refresh/", frozenset({"query"})): [],
    # The forecast questions (items, by) join this form once figures exist.
    ("get", "/metrics/", frozenset({"team", "start", "end"})): [
        ({"team": "x"}, "Team"),
        ({"start": "2026-02-31"}, "From"),
        ({"items": "many"}, "When will this many be done?"),
        ({"items": "9" * 30}, "When will this many be done?"),
        ({"by": "someday"}, "How many by this date?"),
        ({"start": "2026-03-01", "end": "2026-02-01"}, "To"),
    ],
    ("get", "/backlog/", frozenset({"state", "team"})): [
        ({"team": "x"}, "Team"),
        ({"team": "9" * 30}, "Team"),
        ({"state": "nope"}, "State"),
        ({"state": ["ready", "x" * 300]}, "State"),
    ],
    ("post", "/backlog/split/", frozenset({"epic", "title", "team", "criteria", "points"})): [
        ({}, "epic"),
        ({"epic": "x", "title": "t", "team": "{team}"}, "epic"),
        ({"epic": "{foreign_epic}", "title": "t", "team": "{team}"}, None),
        ({"epic": "{epic}", "title": "t", "team": "{foreign_team}"}, None),
        ({"epic": "{epic}", "team": "{team}"}, "Title"),
        ({"epic": "{epic}", "title": "   ", "team": "{team}"}, "Title"),
        ({"epic": "{epic}", "title": "x" * 201, "team": "{team}"}, "Title"),
        ({"epic": "{epic}", "title": "t"}, "Team"),
        ({"epic": "{epic}", "title": "t", "team": "x"}, "Team"),
        ({"epic": "{epic}", "title": "t", "team": "{team}", "points": "4"}, "Points"),
        ({"epic": "{epic}", "title": "t", "team": "{team}", "points": "9" * 30}, "Points"),
        (
            {"epic": "{epic}", "title": "t", "team": "{team}", "criteria": "c" * 501},
            "Acceptance criteria",
        ),
    ],
    ("post", "/account/tokens/", frozenset({"name"})): [
        ({}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 81}, "name"),
    ],
    ("post", "/account/tokens/", frozenset({"revoke"})): [
        ({"revoke": "x"}, "token"),
        ({"revoke": "9" * 30}, "token"),
        ({"revoke": "{foreign_token}"}, "token"),
    ],
}


@pytest.fixture
def signed_in(flow, foreign):
    from teams.services import api_token_create

    populate(flow)
    api_token_create(user=flow.users["csm"], name="ci")
    foreign_token, _ = api_token_create(user=foreign.users["csm"], name="theirs")
    client = Client()
    client.force_login(flow.users["csm"])
    from events.models import Event
    from tests.events.factories import EventFactory

    sprint = Event.objects.filter(flow_team=flow.flow_team).first().flow_sprint
    # In the calendar's four weeks, so that its move/cancel form shows.
    event = EventFactory(flow_sprint=sprint, starts_at=timezone.now() + dt.timedelta(days=2))
    from backlog.models import Epic
    from backlog.services import epic_create

    cpo = Client()
    cpo.force_login(flow.users["cpo"])
    return client, {
        "event": event.pk,
        "foreign_token": foreign_token.pk,
        "epic": Epic.objects.filter(flow_team=flow.flow_team).first().pk,
        "foreign_epic": epic_create(actor=foreign.actor("cpo"), title="Theirs").pk,
        "team": flow.scrum_teams[0].pk,
        "foreign_team": foreign.scrum_teams[0].pk,
        "cpo_client": cpo,
    }


def _client_for(action, client, ids):
    return ids["cpo_client"] if any(action == a for _, a in CPO_FORMS) else client


def _fill(data, ids):
    return {k: v.format(**ids) if isinstance(v, str) else v for k, v in data.items()}


def _send(client, method, action, data):
    if method == "get":
        return client.get(action, data)
    return client.post(action, data)


def test_every_form_on_the_pages_is_listed(signed_in):
    client, ids = signed_in
    found = set()
    for page in PAGES:
        found |= _forms_on(client, page)
    for page, _ in CPO_FORMS:
        found |= _forms_on(ids["cpo_client"], page)
    assert found == set(FORMS), "a new form: add it to FORMS with its hostile cases"
    assert _forms_on(Client(), "/login/") == {
        ("post", "/login/", frozenset({"username", "password", "next"}))
    }, "the sign-in form changed: update test_login_refuses_hostile_fields_without_a_5xx"


@pytest.mark.parametrize("form", list(FORMS), ids=lambda f: f"{f[0]} {f[1]} {sorted(f[2])}")
def test_wrong_or_missing_fields_name_the_field_and_write_nothing(signed_in, form):
    client, ids = signed_in
    method, action, _ = form
    client = _client_for(action, client, ids)
    for data, field in FORMS[form]:
        before = snapshot()
        response = _send(client, method, action, _fill(data, ids))
        label = f"{method} {action} {data}"
        assert response.status_code < 500, label
        assert snapshot() == before, f"{label}: a row changed"
        if 400 <= response.status_code < 500:
            continue
        assert response.status_code == 200, f"{label}: {response.status_code}"
        page = response.content.decode()
        assert 'role="alert"' in page or "errorlist" in page, f"{label}: no error shown"
        assert f"{field}:" in page or f'data-field="{field}"' in page, (
            f"{label}: the error does not name {field}"
        )


@pytest.mark.parametrize("form", list(FORMS), ids=lambda f: f"{f[0]} {f[1]} {sorted(f[2])}")
def test_control_characters_in_any_field_are_a_400_naming_it(signed_in, form):
    client, ids = signed_in
    method, action, fields = form
    client = _client_for(action, client, ids)
    for field in sorted(fields) or ["anything"]:
        for text in ["a\x00b", "a\x07b", "\x1b[31m"]:
            before = snapshot()
            response = _send(client, method, action, {field: text})
            assert response.status_code == 400, f"{action} {field}={text!r}"
            assert field in response.content.decode()
            assert snapshot() == before


def test_login_refuses_hostile_fields_without_a_5xx(flow):
    client = Client()
    for data in [{}, {"username": "cpo@example.com"}, {"username": ["a", "b"], "password": "x"}]:
        response = client.post("/login/", data)
        assert response.status_code == 200
        assert "errorlist" in response.content.decode() or 'role="alert"' in (
            response.content.decode()
        )
    response = client.post("/login/", {"username": "a\x00b", "password": "x"})
    assert response.status_code == 400 and "username" in response.content.decode()


def test_a_form_post_over_the_body_limit_is_a_413(signed_in, settings):
    client, _ = signed_in
    settings.API_MAX_BODY_BYTES = 10_000
    before = snapshot()
    response = client.post("/account/tokens/", {"name": "x" * 20_000})
    assert response.status_code == 413
    assert snapshot() == before


def test_odd_headers_and_cookies_on_pages_are_no_5xx(signed_in):
    client, _ = signed_in
    odd = {
        "HTTP_HX_REQUEST": "true",
        "HTTP_HX_CURRENT_URL": "\x00",
        "HTTP_HX_TARGET": "'\"><",
        "HTTP_ACCEPT": "\x00;q=x",
        "HTTP_ACCEPT_LANGUAGE": "zz-\x00",
        "HTTP_IF_NONE_MATCH": "garbage",
        "HTTP_AUTHORIZATION": "Bearer \x00",
        "HTTP_COOKIE": 'sessionid="\x00; csrftoken=;;;=',
    }
    for page in [*PAGES, "/login/", "/calendar/x.ics", "/metrics/throughput.csv"]:
        for name, value in odd.items():
            response = client.get(page, **{name: value})
            assert response.status_code < 500, f"{page} {name}={value!r}"


def test_the_refresh_form_keeps_line_breaks_out_of_the_redirect(signed_in):
    client, _ = signed_in
    response = client.post("/metrics/refresh/", {"query": "team=1\r\nX-Injected: yes"})
    assert response.status_code == 302
    assert response["Location"] == "/metrics/?team=1%0D%0AX-Injected%3A+yes"
    assert "X-Injected" not in response.headers
