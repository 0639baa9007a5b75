"""Who sees which events (domain.md): a stakeholder-only member sees only Flow Sprint
Planning 2, Product Roadmap Refinement and the Flow Sprint Review, on every interface: the
calendar page, the home page, the events API and each iCalendar feed. A feed, and every
API token, stops working once its person is deactivated or leaves the Flow Team."""

import datetime

import pytest
import time_machine
from icalendar import Calendar
from rest_framework.test import APIClient

from events.calendar import plan
from events.models import CalendarFeed, Event
from events.selectors import events_visible
from events.services import cadence_roll
from teams.models import Membership, Role, RoleAssignment
from teams.permissions import STAKEHOLDER_EVENT_KINDS
from teams.services import api_token_create

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 1, 14, 8, 0, tzinfo=datetime.UTC)
# Monday 19 January 2026, 07:00 in Berlin: day 1 of Flow Sprint 2 (Planning 1, Team Sprint
# Planning and Planning 2 that day).
PLANNING_DAY = datetime.datetime(2026, 1, 19, 6, 0, tzinfo=datetime.UTC)
THEIRS = {"Flow Sprint Planning 2", "Product Roadmap Refinement", "Flow Sprint Review"}
NOT_THEIRS = {
    "Flow Sprint Planning 1",
    "Team Sprint Planning",
    "Daily Scrum",
    "Scrum of Scrums",
    "Product Backlog Refinement",
    "Team Sprint Retrospective",
    "Flow Sprint Retrospective",
}


@pytest.fixture
def calendar(flow):
    with time_machine.travel(NOW, tick=False):
        cadence_roll(flow_team=flow.flow_team)
        yield flow


def kinds_in(html: str, names) -> set[str]:
    return {name for name in names if f"<strong>{name}</strong>" in html}


def feed_path(client, user, scope):
    client.force_login(user)
    html = client.post("/calendar/", {"feed": scope}).content.decode()
    client.logout()
    return html.split('id="feed-url">')[1].split("<")[0].split("testserver")[1]


def feed_summaries(client, path) -> set[str]:
    response = client.get(path)
    assert response.status_code == 200
    return {str(e["summary"]) for e in Calendar.from_ical(response.content).walk("VEVENT")}


def test_the_stakeholder_kinds_are_the_events_the_calendar_invites_stakeholders_to():
    specs = plan(
        start=datetime.date(2026, 1, 5),
        end=datetime.date(2026, 1, 18),
        weekdays=[0, 1, 2, 3, 4],
        team_ids=[1, 2],
        first_in_month=True,
    )
    invited = {spec.kind for spec in specs if "stakeholder" in spec.roles}
    assert invited == STAKEHOLDER_EVENT_KINDS
    assert {spec.kind for spec in specs} - invited, "the calendar holds other events too"


def test_selector_gives_a_stakeholder_only_their_events_and_others_all(calendar):
    every_kind = set(Event.Kind.values)
    assert set(Event.objects.values_list("kind", flat=True)) == every_kind
    seen = set(events_visible(actor=calendar.actor("stakeholder")).values_list("kind", flat=True))
    assert seen == STAKEHOLDER_EVENT_KINDS
    for key in ["cpo", "csm", "architect", "po1", "sm2", "dev3"]:
        kinds = set(events_visible(actor=calendar.actor(key)).values_list("kind", flat=True))
        assert kinds == every_kind, key


def test_a_stakeholder_who_is_also_a_developer_sees_every_event(calendar):
    membership = Membership.objects.get(user=calendar.dev1)
    RoleAssignment.objects.create(
        membership=membership, flow_team=calendar.flow_team, role=Role.STAKEHOLDER
    )
    kinds = set(events_visible(actor=calendar.actor("dev1")).values_list("kind", flat=True))
    assert kinds == set(Event.Kind.values)


@pytest.mark.parametrize("scope", ["mine", "flow"])
def test_calendar_page_shows_a_stakeholder_only_their_events(client, calendar, scope):
    with time_machine.travel(NOW, tick=False):
        client.force_login(calendar.stakeholder)
        html = client.get(f"/calendar/?scope={scope}").content.decode()
        assert kinds_in(html, THEIRS) == THEIRS
        assert kinds_in(html, NOT_THEIRS) == set()
        assert 'id="own-events-note"' in html
        assert 'value="team"' not in html, "no Scrum Team, no team feed to offer"
        client.force_login(calendar.dev1)
        html = client.get(f"/calendar/?scope={scope}").content.decode()
        assert kinds_in(html, NOT_THEIRS) == NOT_THEIRS
        assert 'id="own-events-note"' not in html


def test_home_page_lists_a_stakeholder_only_their_events_today(client, calendar):
    with time_machine.travel(PLANNING_DAY, tick=False):
        client.force_login(calendar.stakeholder)
        html = client.get("/").content.decode()
        assert kinds_in(html, THEIRS | NOT_THEIRS) == {"Flow Sprint Planning 2"}
        client.force_login(calendar.po1)
        html = client.get("/").content.decode()
        assert kinds_in(html, THEIRS | NOT_THEIRS) == {
            "Flow Sprint Planning 1",
            "Team Sprint Planning",
            "Flow Sprint Planning 2",
        }


def test_events_api_lists_a_stakeholder_only_their_events_and_hides_the_rest(calendar):
    _, secret = api_token_create(user=calendar.stakeholder, name="calendar script")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    listed = api.get("/api/v1/events/", {"page_size": 200}).json()
    expected = Event.objects.filter(kind__in=STAKEHOLDER_EVENT_KINDS).count()
    assert listed["count"] == expected
    assert {e["kind"] for e in listed["results"]} == STAKEHOLDER_EVENT_KINDS
    review = Event.objects.filter(kind="review").first()
    assert api.get(f"/api/v1/events/{review.pk}/").status_code == 200
    for kind in ["scrum_of_scrums", "daily_scrum", "flow_retro", "planning_1"]:
        hidden = Event.objects.filter(kind=kind).first()
        assert api.get(f"/api/v1/events/{hidden.pk}/").status_code == 404, kind
    assert api.get("/api/v1/events/", {"kind": "scrum_of_scrums"}).json()["count"] == 0


@pytest.mark.parametrize("scope", ["personal", "flow"])
def test_every_feed_of_a_stakeholder_holds_only_their_events(client, calendar, scope):
    with time_machine.travel(NOW, tick=False):
        path = feed_path(client, calendar.stakeholder, scope)
    summaries = feed_summaries(client, path)
    assert summaries == THEIRS
    with time_machine.travel(NOW, tick=False):
        path = feed_path(client, calendar.sm1, scope)
    assert {s.split(" (")[0] for s in feed_summaries(client, path)} >= NOT_THEIRS


def test_a_team_feed_follows_the_persons_roles_today(client, calendar):
    """A developer's team feed, then they become a stakeholder only: it stops."""
    with time_machine.travel(NOW, tick=False):
        path = feed_path(client, calendar.dev1, "team")
    assert feed_summaries(client, path)
    RoleAssignment.objects.filter(membership__user=calendar.dev1).update(
        role=Role.STAKEHOLDER, scrum_team=None
    )
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("scope", ["personal", "team", "flow"])
def test_feed_stops_when_its_person_is_deactivated(client, calendar, scope):
    with time_machine.travel(NOW, tick=False):
        path = feed_path(client, calendar.dev2, scope)
    assert client.get(path).status_code == 200
    calendar.dev2.is_active = False
    calendar.dev2.save(update_fields=["is_active"])
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("scope", ["personal", "team", "flow"])
def test_feed_stops_when_its_person_leaves_the_flow_team(client, calendar, foreign, scope):
    with time_machine.travel(NOW, tick=False):
        path = feed_path(client, calendar.dev2, scope)
    # Also a member of another Flow Team: the feed of this one still stops.
    from teams.services import member_add

    member_add(flow_team=foreign.flow_team, user=calendar.dev2)
    assert client.get(path).status_code == 200
    Membership.objects.filter(user=calendar.dev2, flow_team=calendar.flow_team).delete()
    assert CalendarFeed.objects.filter(user=calendar.dev2).exists(), "the row is still there"
    assert client.get(path).status_code == 404


def test_api_token_stops_when_its_person_is_deactivated_or_leaves(calendar):
    clients = {}
    for key in ["dev1", "dev2"]:
        _, secret = api_token_create(user=calendar.users[key], name="bot")
        clients[key] = APIClient()
        clients[key].credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        assert clients[key].get("/api/v1/events/").status_code == 200
    calendar.dev1.is_active = False
    calendar.dev1.save(update_fields=["is_active"])
    assert clients["dev1"].get("/api/v1/events/").status_code == 401
    Membership.objects.filter(user=calendar.dev2).delete()
    response = clients["dev2"].get("/api/v1/events/")
    assert response.status_code == 401
    assert clients["dev2"].get("/api/v1/stories/").status_code == 401
