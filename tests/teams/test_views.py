import datetime

import pytest
import time_machine
from django.urls import reverse

from tests.events.factories import EventFactory, TeamEventFactory
from tests.flow.factories import FlowSprintFactory
from tests.teams.factories import UserFactory

pytestmark = pytest.mark.django_db


def sign_in(client, email, password="demo"):
    return client.post(reverse("teams:login"), {"username": email, "password": password})


def test_login_with_email_lands_on_home_showing_the_flow_team(client, flow):
    response = sign_in(client, "cpo@example.com")
    assert response.status_code == 302 and response.url == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "<h1>Atlas</h1>" in home.content.decode()
    assert "Chief Product Owner" in home.content.decode()


def test_email_is_case_insensitive(client, flow):
    assert sign_in(client, "CPO@Example.com").status_code == 302


def test_wrong_password_shows_an_error_and_stays(client, flow):
    response = sign_in(client, "cpo@example.com", "nope")
    assert response.status_code == 200
    assert "Please enter a correct email and password" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_login_attempts_are_limited(client, flow):
    for _ in range(5):
        sign_in(client, "cpo@example.com", "wrong")
    response = sign_in(client, "cpo@example.com", "demo")  # right password, still locked
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_address_spelled_with_capitals_and_spaces_signs_in(client, flow):
    assert sign_in(client, "  Cpo@Example.COM ").status_code == 302
    assert client.session["_auth_user_id"] == str(flow.cpo.pk)


def test_failures_count_against_one_person_however_the_address_is_spelled(client, flow):
    spellings = [
        "cpo@example.com",
        "Cpo@Example.com ",
        " CPO@EXAMPLE.COM",
        "cPo@example.Com",
        "\tcpo@example.com",
    ]
    for spelling in spellings[:4]:
        assert sign_in(client, spelling, "wrong").status_code == 200
    assert sign_in(client, spellings[4], "wrong").status_code == 429, "the fifth locks"
    for spelling in ["cpo@example.com", "CPO@example.com  "]:
        response = sign_in(client, spelling, "demo")  # right password, locked
        assert response.status_code == 429, spelling
        assert "_auth_user_id" not in client.session
    # Another person's count is their own.
    assert sign_in(client, "csm@example.com").status_code == 302


def test_logout_needs_post(client, flow):
    client.force_login(flow.cpo)
    assert client.get(reverse("teams:logout")).status_code == 405
    assert client.post(reverse("teams:logout")).status_code == 302
    assert client.get("/").status_code == 302


def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith("/login/")


@time_machine.travel(datetime.datetime(2026, 3, 12, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_home_shows_current_sprint_day_and_todays_events(client, flow):
    sprint = FlowSprintFactory(
        flow_team=flow.flow_team,
        number=5,
        start=datetime.date(2026, 3, 9),
        end=datetime.date(2026, 3, 22),
        state="active",
        goal="Pay online",
    )
    sos = EventFactory(
        flow_sprint=sprint, starts_at=datetime.datetime(2026, 3, 12, 8, 0, tzinfo=datetime.UTC)
    )
    other_team_daily = TeamEventFactory(
        flow_sprint=sprint,
        scrum_team=flow.scrum_teams[1],
        starts_at=datetime.datetime(2026, 3, 12, 8, 30, tzinfo=datetime.UTC),
    )
    EventFactory(  # tomorrow: not today's
        flow_sprint=sprint,
        kind="review",
        starts_at=datetime.datetime(2026, 3, 13, 8, 0, tzinfo=datetime.UTC),
    )
    client.force_login(flow.dev1)
    html = client.get("/").content.decode()
    assert "Flow Sprint 5 · day 4 of 14" in html
    assert "Pay online" in html
    assert "Scrum of Scrums" in html
    assert "09:00–09:45" in html  # shown in Berlin time (UTC+1 in March)
    assert str(other_team_daily.scrum_team) not in html  # dev1 is in team 1
    assert "Flow Sprint Review" not in html
    assert sos.pk


def test_home_without_sprint_says_so(client, flow):
    client.force_login(flow.cpo)
    assert "No active Flow Sprint" in client.get("/").content.decode()


def test_person_in_no_flow_team_gets_a_friendly_page(client, db):
    client.force_login(UserFactory())
    assert "not part of a Flow Team yet" in client.get("/").content.decode()


def test_foreign_flow_team_is_never_shown(client, flow, foreign):
    client.force_login(foreign.cpo)
    home = client.get("/").content.decode()
    assert "OtherAtlas" in home and ">Atlas<" not in home
    page = client.get(reverse("teams:flow-team")).content.decode()
    assert flow.po1.email not in page and str(flow.po1) not in page


def test_unknown_page_is_404(client, flow):
    client.force_login(flow.cpo)
    response = client.get("/no/such/page/")
    assert response.status_code == 404


def test_security_headers_and_csrf_token_for_htmx(client, flow):
    client.force_login(flow.cpo)
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert 'hx-headers=\'{"X-CSRFToken": "' in response.content.decode()


def test_nav_depends_on_role(client, flow):
    client.force_login(flow.cpo)  # staff? not in fixtures: no admin link
    assert ">Admin<" not in client.get("/").content.decode()
    flow.csm.is_staff = True
    flow.csm.save()
    client.force_login(flow.csm)
    assert ">Admin<" in client.get("/").content.decode()


@pytest.mark.parametrize("teams", [3, 15])
def test_flow_team_page_query_count_is_constant(client, django_assert_num_queries, teams):
    from tests.conftest import build_flow_team

    ns = build_flow_team(teams=teams)
    client.force_login(ns.cpo)
    # session + user + actor (membership, roles) + overview (assignments, teams, count)
    with django_assert_num_queries(7):
        response = client.get(reverse("teams:flow-team"))
    assert response.status_code == 200
    assert f"Team {teams}" in response.content.decode()
