"""The event services' refusals, each with its exact reason (a person reads them), and the
conditional state move's bookkeeping. Found by the mutation report (tests/mutation_report.py)."""

import datetime

import pytest
import time_machine

from events import services
from events.models import Event
from events.services import cadence_roll
from sem.errors import NotFound, PermissionRefused, RuleViolation
from tests.events.test_event_screen import NOW, sos, team_event

pytestmark = pytest.mark.django_db


@pytest.fixture
def calendar(flow):
    """The Flow Team's calendar, on a clock stopped at NOW (``calendar.clock``)."""
    with time_machine.travel(NOW, tick=False) as clock:
        cadence_roll(flow_team=flow.flow_team)
        flow.clock = clock
        yield flow


def test_starting_twice_says_what_the_event_is(calendar):
    event = sos(calendar)
    services.event_start(actor=calendar.actor("csm"), event=event)
    with pytest.raises(RuleViolation) as refusal:
        services.event_start(actor=calendar.actor("csm"), event=event)
    assert refusal.value.detail == {
        "state": ["the event is running; only a scheduled event starts"]
    }


def test_an_event_deleted_meanwhile_is_gone(calendar):
    event = sos(calendar)
    Event.objects.filter(pk=event.pk).delete()
    with pytest.raises(RuleViolation) as refusal:
        services.event_start(actor=calendar.actor("csm"), event=event)
    assert refusal.value.detail == {"state": ["the event is gone; only a scheduled event starts"]}


def test_a_state_move_stamps_when_it_changed(calendar):
    event = sos(calendar)
    calendar.clock.shift(datetime.timedelta(minutes=5))
    started = services.event_start(actor=calendar.actor("csm"), event=event)
    later = NOW + datetime.timedelta(minutes=5)
    assert (started.started_at, started.updated_at) == (later, later)


def test_the_refusals_of_running_an_event_say_why(calendar, foreign):
    event = sos(calendar)
    with pytest.raises(NotFound) as missing:
        services.event_start(actor=foreign.actor("csm"), event=event)
    assert str(missing.value) == "no such event in your Flow Team"
    with pytest.raises(PermissionRefused) as refused:
        services.event_end(actor=calendar.actor("dev1"), event=event)
    assert str(refused.value) == "the event's facilitator starts and ends it"


def test_scrum_of_scrums_services_refuse_other_events_and_other_flow_teams(calendar, foreign):
    daily = team_event(calendar)
    action = {"text": "Book the room", "owner": calendar.csm, "due_date": NOW.date()}
    with pytest.raises(RuleViolation) as refusal:
        services.action_item_add(actor=calendar.actor("csm"), event=daily, **action)
    assert refusal.value.detail == {"event": ["this event is no Scrum of Scrums"]}
    with pytest.raises(NotFound) as missing:
        services.action_item_add(actor=foreign.actor("csm"), event=sos(calendar), **action)
    assert str(missing.value) == "no such Scrum of Scrums in your Flow Team"
