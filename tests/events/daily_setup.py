"""A Daily Scrum ready to run: team 1's board in the Flow Sprint around ``now`` (a ready
story, three started ones of different ages, one of them blocked, one in review with an
unchecked criterion, a done one), the team's cycle-time percentiles, and clients. Used by
the Daily Scrum tests and the browser journey (which runs on the real clock)."""

import datetime
from types import SimpleNamespace

from django.db.models import Max
from django.test import Client

from backlog.models import Story
from events.models import Event
from flow.models import FlowSprint, MetricSnapshot, TeamSprint
from tests.backlog.factories import AcceptanceCriterionFactory, StateChangeFactory, StoryFactory
from tests.events.factories import TeamEventFactory
from tests.flow.factories import (
    FlowSprintFactory,
    MetricSnapshotFactory,
    SprintCommitmentFactory,
    TeamSprintFactory,
)

HX = {"HTTP_HX_REQUEST": "true"}
# Team 1's cycle time: half its finished items took ≤ 2 days, 85 % ≤ 6, 95 % ≤ 9.
PERCENTILES = {"50": 2, "70": 4, "85": 6, "95": 9}


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _story(ns, team_sprint, title, state, *, started_days_ago=None, now, **fields):
    # Ranked after the team's other stories (some made through the services).
    last = Story.objects.filter(scrum_team=team_sprint.scrum_team).aggregate(Max("rank"))
    story = StoryFactory(
        scrum_team=team_sprint.scrum_team,
        title=title,
        state=state,
        points=3,
        rank=(last["rank__max"] or 0) + 1024,
        **fields,
    )
    AcceptanceCriterionFactory(story=story, checked=state == Story.State.DONE)
    SprintCommitmentFactory(team_sprint=team_sprint, story=story)
    if started_days_ago is not None:
        StateChangeFactory(
            story=story,
            from_state="ready",
            to_state="in_progress",
            at=now - datetime.timedelta(days=started_days_ago),
        )
    return story


def daily_board(ns, *, now: datetime.datetime, team: int = 0, extra: int = 0):
    """Team ``team``'s Daily Scrum today (15 minutes, scheduled) with its board. ``extra``
    more in-progress stories make a large board for the query-count test."""
    today = now.date()
    sprint = FlowSprint.objects.filter(
        flow_team=ns.flow_team, number=1
    ).first() or FlowSprintFactory(
        flow_team=ns.flow_team,
        number=1,
        start=today - datetime.timedelta(days=3),
        end=today + datetime.timedelta(days=10),
    )
    scrum_team = ns.scrum_teams[team]
    event = TeamEventFactory(
        flow_sprint=sprint,
        scrum_team=scrum_team,
        kind=Event.Kind.DAILY_SCRUM,
        occurrence=Event.objects.filter(flow_sprint=sprint, scrum_team=scrum_team).count() + 1,
        starts_at=now,
        duration_minutes=15,
    )
    team_sprint = TeamSprint.objects.filter(
        flow_sprint=sprint, scrum_team=scrum_team
    ).first() or TeamSprintFactory(flow_sprint=sprint, scrum_team=scrum_team)
    if not MetricSnapshot.objects.filter(scrum_team=scrum_team).exists():
        MetricSnapshotFactory(
            flow_team=ns.flow_team,
            scrum_team=scrum_team,
            as_of=today - datetime.timedelta(days=1),
            data={"cycle_time": PERCENTILES},
        )
    s = SimpleNamespace(event=event, sprint=sprint, team_sprint=team_sprint)
    s.ready = _story(ns, team_sprint, "Export the invoices", "ready", now=now)
    # Started today (1 day old), 4 days ago (5 days: past the 70th), 9 days ago (10 days:
    # past the 95th), the last one blocked.
    s.young = _story(
        ns, team_sprint, "Search by customer", "in_progress", started_days_ago=0, now=now
    )
    s.older = _story(ns, team_sprint, "Pay by card", "in_progress", started_days_ago=4, now=now)
    s.oldest = _story(
        ns,
        team_sprint,
        "Import the old orders",
        "in_progress",
        started_days_ago=9,
        now=now,
        blocked=True,
        blocked_reason="waiting for the legacy database export",
    )
    s.review = _story(ns, team_sprint, "Send the receipt", "in_review", started_days_ago=1, now=now)
    s.done = _story(ns, team_sprint, "Log in with SSO", "done", now=now)
    for n in range(extra):
        _story(ns, team_sprint, f"More work {n}", "in_progress", started_days_ago=n % 12, now=now)
    return s
