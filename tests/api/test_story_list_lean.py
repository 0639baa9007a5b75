"""The stories list written out from two queries' columns (issue 17): byte for byte the
body DRF's generic list and the serializer's fields give, for every filter, ordering and
page; exactly three queries of its own, whatever the number of rows.
"""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework import mixins, serializers

from backlog import services
from backlog.api.serializers import StorySerializer
from backlog.api.views import StoryViewSet
from backlog.models import AcceptanceCriterion, Story
from tests.backlog.factories import EpicFactory, StoryFactory
from tests.flow.factories import FlowSprintFactory, SprintCommitmentFactory, TeamSprintFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/stories/"


@pytest.fixture
def varied(flow, foreign):
    """Stories of every shape: with and without epic, assignee, points, criteria (checked
    or not, at a whole second or not), blocked, in each state and kind, across teams,
    some committed to a Flow Sprint; and another Flow Team's, which no list shows."""
    epics = [EpicFactory(flow_team=flow.flow_team) for _ in range(2)]
    stories = []
    for i in range(12):
        team = flow.scrum_teams[i % 3]
        stories.append(
            StoryFactory(
                scrum_team=team,
                epic=epics[i % 2] if i % 3 else None,
                assignee=flow.users["dev1"] if i % 4 == 0 else None,
                points=None if i % 5 == 0 else [1, 2, 3, 5, 8][i % 5],
                kind=Story.Kind.values[i % len(Story.Kind.values)],
                state=Story.State.values[i % len(Story.State.values)],
                title=f'Story {i}: "quoted" – ünïcode ✓ \\ back',
                so_that="" if i % 2 else "line one\nline two\ttab",
            )
        )
    checked_at = timezone.now().replace(microsecond=0)
    for i, story in enumerate(stories[:9]):
        for position in range(i % 4):
            AcceptanceCriterion.objects.create(
                story=story,
                position=position + 1,
                text=f"criterion {position} of {i} ✓",
                checked=position % 2 == 1,
                checked_by=flow.users["dev1"] if position % 2 else None,
                checked_at=(checked_at + datetime.timedelta(microseconds=position * 7))
                if position % 2
                else None,
            )
    for i, story in enumerate(stories[1:4], start=1):
        services.blocker_raise(
            actor=flow.actor(f"dev{i % 3 + 1}"),  # a developer of the owning team
            story=Story.objects.get(pk=story.pk),
            reason="waiting for the payments team",
            expected_version=Story.objects.get(pk=story.pk).version,
        )
    team_sprint = TeamSprintFactory(
        flow_sprint=FlowSprintFactory(flow_team=flow.flow_team, number=1),
        scrum_team=flow.scrum_teams[0],
    )
    for story in stories[::3]:
        SprintCommitmentFactory(team_sprint=team_sprint, story=story)
    StoryFactory(scrum_team=foreign.scrum_teams[0], title="Not ours")
    return {"stories": stories, "epic": epics[0], "flow_sprint": team_sprint.flow_sprint}


def generic_body(client, monkeypatch, query):
    """The body DRF's own list gives: model instances with their criteria prefetched, each
    through the serializer's fields."""
    with monkeypatch.context() as m:
        m.setattr(StoryViewSet, "list", mixins.ListModelMixin.list)
        m.setattr(
            StorySerializer, "to_representation", serializers.ModelSerializer.to_representation
        )
        response = client.get(URL, query)
    assert response.status_code == 200, response.content
    return response.content


def queries(varied):
    return [
        {},
        {"limit": 200},
        {"limit": 5},
        {"limit": 5, "offset": 5},
        {"offset": 1000},
        {"team": varied["stories"][1].scrum_team_id},
        {"epic": varied["epic"].pk},
        {"state": ["backlog", "ready"]},
        {"kind": "defect"},
        {"blocked": "true"},
        {"assignee": varied["stories"][0].assignee_id},
        {"flow_sprint": varied["flow_sprint"].pk},
        {"flow_sprint": varied["flow_sprint"].pk, "ordering": "-updated_at", "limit": 2},
        {"updated_since": "2000-01-01T00:00:00Z"},
        {"ordering": "-points,id"},
        {"ordering": "created_at"},
        {"ordering": "-rank", "limit": 3, "offset": 2},
    ]


def test_the_list_is_byte_for_byte_drfs(api, varied, monkeypatch):
    client = api("dev1")
    seen = set()
    for query in queries(varied):
        response = client.get(URL, query)
        assert response.status_code == 200, response.content
        assert response.content == generic_body(client, monkeypatch, query), query
        seen |= {row["id"] for row in response.json()["results"]}
    assert seen == {s.pk for s in varied["stories"]}  # every shape of story was compared


def test_the_list_is_drfs_in_another_time_zone(api, varied, monkeypatch):
    client = api("dev1")
    with timezone.override("America/St_Johns"):  # -03:30, not Z
        response = client.get(URL, {"limit": 200})
        assert response.content == generic_body(client, monkeypatch, {"limit": 200})
    assert "-03:30" in response.json()["results"][0]["created_at"]


def test_errors_are_drfs_too(api, varied, monkeypatch):
    client = api("dev1")
    for query in ({"limit": "x"}, {"team": "x"}, {"ordering": "title"}, {"colour": "red"}):
        response = client.get(URL, query)
        assert response.status_code == 400
        with monkeypatch.context() as m:
            m.setattr(StoryViewSet, "list", mixins.ListModelMixin.list)
            assert client.get(URL, query).content == response.content, query


def own_queries(client, query):
    """The list's queries past the caller's token: those reading the backlog's tables."""
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(URL, query)
    assert response.status_code == 200
    return [q["sql"] for q in ctx.captured_queries if '"backlog_' in q["sql"]]


def test_three_queries_of_its_own_at_any_number_of_rows(api, flow, varied):
    client = api("dev1")
    client.get(URL)  # the token's last use recorded
    for query in ({"limit": 1}, {"limit": 200}):
        count, page, criteria = own_queries(client, query)
        assert "COUNT(" in count and '"backlog_story"' in count
        assert page.startswith("SELECT") and 'FROM "backlog_story"' in page
        assert 'FROM "backlog_acceptancecriterion"' in criteria
    # Past the end the count says there is no page (DRF's pagination); a page without
    # stories, right at the end, has no criteria to read.
    assert len(own_queries(client, {"offset": 1000})) == 1
    assert len(own_queries(client, {"offset": len(varied["stories"])})) == 2
