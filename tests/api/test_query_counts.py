"""Every list endpoint runs the same number of queries at 10 and at 200 rows."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from backlog.models import (
    AcceptanceCriterion,
    Dependency,
    DependencyStep,
    ProductGoal,
    RoadmapChange,
    Task,
)
from teams.models import WebhookDelivery, WebhookEndpoint
from tests.api.routes import list_routes
from tests.backlog.factories import EpicFactory, MilestoneFactory, StoryFactory
from tests.events.factories import EventFactory
from tests.flow.factories import FlowSprintFactory, RiskFactory, TeamSprintFactory
from tests.teams.factories import ScrumTeamFactory

pytestmark = pytest.mark.django_db


def fill(flow, n, offset=0):
    team = flow.scrum_teams[0]
    stories = [StoryFactory(scrum_team=team) for _ in range(n)]
    AcceptanceCriterion.objects.bulk_create(
        AcceptanceCriterion(story=s, position=p, text="c") for s in stories for p in (1, 2)
    )
    Task.objects.bulk_create(Task(story=s, title="t") for s in stories)
    for _ in range(n):
        epic = EpicFactory(flow_team=flow.flow_team)
        RiskFactory(flow_team=flow.flow_team)
        RoadmapChange.objects.create(
            flow_team=flow.flow_team, epic=epic, kind="created", at=timezone.now(), by=flow.cpo
        )
    dependencies = Dependency.objects.bulk_create(
        Dependency(flow_team=flow.flow_team, from_story=a, to_story=b)
        for a, b in zip(stories, stories[1:] + stories[:1], strict=True)
    )
    DependencyStep.objects.bulk_create(  # each with its contract's steps, nested in the list
        DependencyStep(dependency=d, kind=kind, at=timezone.now(), by=flow.cpo)
        for d in dependencies
        for kind in ("raised", "committed")
    )
    for i in range(offset, offset + n):
        MilestoneFactory(flow_team=flow.flow_team, order=i + 1)
        ProductGoal.objects.create(flow_team=flow.flow_team, statement=f"g{i}", status="achieved")
        sprint = FlowSprintFactory(
            flow_team=flow.flow_team,
            number=i + 1,
            start=datetime.date(2026, 1, 5) + datetime.timedelta(weeks=2 * i),
        )
        TeamSprintFactory(flow_sprint=sprint, scrum_team=team)
        EventFactory(flow_sprint=sprint)
    endpoints = WebhookEndpoint.objects.bulk_create(
        WebhookEndpoint(flow_team=flow.flow_team, url=f"https://h.example.com/{i}", secret="s")
        for i in range(n)
    )
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(endpoint=e, event="story.updated", payload={}, status=status)
        for e in endpoints
        for status in ("delivered", "failed")
    )
    for i in range(3, min(offset + n, 15)):
        if not flow.flow_team.scrum_teams.filter(number=i + 1).exists():
            ScrumTeamFactory(flow_team=flow.flow_team, number=i + 1, name=f"X{i}")


# Every list route of the router (tests/api/routes.py), so a new one gets a budget too,
# except those measured elsewhere, each with where.
MEASURED_ELSEWHERE = {
    "metrics": "one stored snapshot, not rows: tests/api/test_metrics_api.py measures it",
}
ROUTES = sorted(list_routes() - set(MEASURED_ELSEWHERE))


def test_every_list_route_is_measured():
    assert set(MEASURED_ELSEWHERE) <= list_routes(), "an exception names a route that is gone"
    assert len(ROUTES) >= 16


def count_queries(client, route):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(f"/api/v1/{route}/", {"limit": 200})
    assert response.status_code == 200
    return len(ctx.captured_queries), response.json()["count"]


@pytest.fixture
def counts_at(api, flow):
    filled = []

    def measure(n):
        fill(flow, n, offset=sum(filled))
        filled.append(n)
        client = api("dev1")
        client.get("/api/v1/flow-teams/")  # token last-used write happens once, not per list
        return {route: count_queries(client, route) for route in ROUTES}

    return measure


def test_list_query_counts_do_not_grow_with_rows(counts_at):
    small = counts_at(10)
    large = counts_at(190)  # 10 + 190 = 200 rows on the row-per-call routes
    for route in ROUTES:
        assert small[route][0] == large[route][0], (route, small[route], large[route])
        # A route fill() gives no rows would pass without measuring anything.
        assert large[route][1] > 0, f"fill() writes no rows for {route}"
    assert large["stories"][1] == 200
    assert large["epics"][1] == 200
