"""A Flow Team in the week of a Scrum of Scrums, for the tests/events/test_sos_*.py files.

Clock: Wednesday 14 January 2026, 09:00 in Berlin. The previous Scrum of Scrums ran on
Wednesday 7 January at 10:00 (done); this week's is at 10:00 today (scheduled)."""

import datetime

from django.test import Client

from events.models import Event
from tests.events.factories import EventFactory
from tests.flow.factories import FlowSprintFactory

NOW = datetime.datetime(2026, 1, 14, 8, 0, tzinfo=datetime.UTC)
PREVIOUS_START = datetime.datetime(2026, 1, 7, 9, 0, tzinfo=datetime.UTC)


def sos_week(ns) -> object:
    """Flow Sprints 1 and 2, the previous (done) and this week's Scrum of Scrums."""
    ns.sprint1 = FlowSprintFactory(flow_team=ns.flow_team, number=1, state="active")
    ns.sprint2 = FlowSprintFactory(flow_team=ns.flow_team, number=2)
    ns.previous = EventFactory(
        flow_sprint=ns.sprint1,
        occurrence=1,
        starts_at=PREVIOUS_START,
        started_at=PREVIOUS_START,
        ended_at=PREVIOUS_START + datetime.timedelta(minutes=40),
        state=Event.State.DONE,
    )
    ns.sos = EventFactory(
        flow_sprint=ns.sprint1,
        occurrence=2,
        starts_at=datetime.datetime(2026, 1, 14, 9, 0, tzinfo=datetime.UTC),
    )
    return ns


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
