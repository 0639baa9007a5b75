"""Feedback turned into a backlog item by several clicks at once (issue 16): eight
threads, each its own PostgreSQL connection, click together; exactly one story is made
and the other seven are told what the feedback already became."""

import pytest
import time_machine

from backlog.models import Story
from events.review import services as review
from tests.conftest import build_flow_team
from tests.events.concurrency import at_once
from tests.events.review_setup import NOW, review_event, sprint_story

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLICKS = 8


def test_eight_concurrent_clicks_make_one_story():
    with time_machine.travel(NOW, tick=False):
        ns = build_flow_team()
        event = review_event(ns)
        story = sprint_story(event, ns.scrum_teams[0], "Pay by card")
        note = review.feedback_add(
            actor=ns.actor("stakeholder"), event=event, text="Split payments", story_id=story.pk
        )
    actors = [ns.actor(key) for key in ("cpo", "po1", "sm1", "dev1")] * 2
    outcomes = at_once(
        [
            lambda a=a: review.feedback_to_story(actor=a, event=event, feedback_id=note.pk)
            for a in actors
        ],
        field="feedback",
        accepted="made",
    )
    assert outcomes.count("made") == 1
    refusals = [o for o in outcomes if o != "made"]
    assert len(refusals) == 7 and all("already turned into" in r for r in refusals)
    assert Story.objects.filter(title="Split payments").count() == 1
