"""The home page, the calendar and the iCalendar feed run the same queries for a small Flow
Team and a large one (quality.md: query counts the same whatever the size)."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from events.feeds import calendar_feed_rotate
from events.services import cadence_roll
from tests.backlog.factories import StoryFactory
from tests.conftest import build_flow_team

pytestmark = pytest.mark.django_db
# A Wednesday inside a Flow Sprint: Daily Scrums, a Scrum of Scrums, a refinement today.
NOW = datetime.datetime(2026, 1, 14, 8, 0, tzinfo=datetime.UTC)


def flow_team_of(teams: int, stories_per_team: int, prefix: str):
    ns = build_flow_team(prefix=prefix, teams=teams)
    for team in ns.scrum_teams:
        for state in ["backlog", "ready", "in_progress", "done"] * (stories_per_team // 4):
            StoryFactory(scrum_team=team, state=state, assignee=ns.users["dev1"])
    cadence_roll(flow_team=ns.flow_team)
    return ns


def queries(client, user, path):
    client.force_login(user)
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx), response.content.decode()


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # session, user, membership, roles, current sprint, today's events, goal, counts
        ("/", 8),
        # session, user, membership, roles, upcoming events with facilitators
        ("/calendar/?scope=flow", 5),
        ("/calendar/", 5),
    ],
)
def test_pages_run_the_same_queries_for_3_and_12_teams(client, path, expected):
    with time_machine.travel(NOW, tick=False):
        small = flow_team_of(3, 4, "S")
        large = flow_team_of(12, 40, "L")
        small_count, small_html = queries(client, small.dev1, path)
        large_count, large_html = queries(client, large.dev1, path)
    assert "Daily Scrum" in small_html and "Daily Scrum" in large_html
    if "scope=flow" in path:  # every team's Daily Scrums
        assert large_html.count("Daily Scrum") > small_html.count("Daily Scrum")
    assert small_count == large_count == expected


def test_the_ical_feed_runs_the_same_queries_for_3_and_12_teams(client):
    with time_machine.travel(NOW, tick=False):
        counts = []
        for ns in (flow_team_of(3, 4, "S"), flow_team_of(12, 4, "L")):
            token = calendar_feed_rotate(actor=ns.actor("csm"), scope="flow")
            client.logout()
            with CaptureQueriesContext(connection) as ctx:
                response = client.get(f"/calendar/{token}.ics")
            assert response.status_code == 200
            counts.append((len(ctx), response.content.decode().count("BEGIN:VEVENT")))
    (small, small_events), (large, large_events) = counts
    assert large_events > small_events > 0
    assert small == large
