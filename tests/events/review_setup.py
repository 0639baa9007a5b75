"""A Flow Sprint Review ready to run: the calendar of a Flow Team, done stories in its
Flow Sprint 1 (used by the review tests and the browser journey)."""

import datetime

from django.utils import timezone

from backlog.models import Story
from events.models import Event
from events.services import cadence_roll
from flow.models import FlowSprint, SprintCommitment, TeamSprint
from tests.backlog.factories import AcceptanceCriterionFactory, EpicFactory, StoryFactory

# Monday 5 January 2026, 10:00 UTC: day 1 of Flow Sprint 1 (the cadence anchor).
NOW = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)
HX = {"HTTP_HX_REQUEST": "true"}


def review_event(ns, number: int = 1) -> Event:
    cadence_roll(flow_team=ns.flow_team, today=NOW.date())
    sprint = FlowSprint.objects.get(flow_team=ns.flow_team, number=number)
    return Event.objects.get(flow_sprint=sprint, kind=Event.Kind.REVIEW)


def sprint_story(
    event: Event,
    team,
    title: str,
    *,
    state: str = Story.State.DONE,
    checked: tuple[bool, ...] = (True,),
    epic=None,
    outcome: str = SprintCommitment.Outcome.OPEN,
) -> Story:
    """A story of ``team`` committed to the review's Flow Sprint, with one acceptance
    criterion per ``checked`` value."""
    story = StoryFactory(scrum_team=team, title=title, state=state, points=3, epic=epic)
    for position, done in enumerate(checked, start=1):
        AcceptanceCriterionFactory(story=story, position=position, checked=done)
    SprintCommitment.objects.create(
        team_sprint=TeamSprint.objects.get(flow_sprint=event.flow_sprint, scrum_team=team),
        story=story,
        points_at_planning=3,
        outcome=outcome,
        committed_at=timezone.now(),
    )
    return story


def an_epic(ns, title: str = "Pay invoices online"):
    return EpicFactory(flow_team=ns.flow_team, title=title, state="in_progress")
