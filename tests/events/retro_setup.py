"""Retrospectives ready to run: the calendar of a Flow Team (its Flow Sprint 1 and 2 retros)
and clients for its people (used by the retro tests and the browser journey)."""

import datetime

import pytest
import time_machine
from django.test import Client

from events.models import Event
from events.retro import services as retro
from events.services import cadence_roll
from flow.models import FlowSprint

# Monday 5 January 2026, 10:00 UTC: day 1 of Flow Sprint 1 (the cadence anchor).
NOW = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)
HX = {"HTTP_HX_REQUEST": "true"}


def retro_events(ns, number: int = 1) -> tuple[Event, Event]:
    """Team 1's Team Sprint Retrospective and the Flow Sprint Retrospective of Flow Sprint
    ``number``."""
    cadence_roll(flow_team=ns.flow_team, today=NOW.date())
    sprint = FlowSprint.objects.get(flow_team=ns.flow_team, number=number)
    team = Event.objects.get(flow_sprint=sprint, kind="team_retro", scrum_team=ns.scrum_teams[0])
    flow = Event.objects.get(flow_sprint=sprint, kind="flow_retro")
    return team, flow


def to_phase(ns, event, phase):
    """Move a retro to ``phase`` as its facilitator (Team 1's SM, or the CSM)."""
    facilitator = ns.actor("sm1" if event.scrum_team_id else "csm")
    for step in retro.PHASES[1 : retro.PHASES.index(phase) + 1]:
        retro.retro_phase(actor=facilitator, event=event, to=step)


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# Fixtures the retro tests import: the clock at NOW and the two retros of Flow Sprint 1.
@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def retros(flow, clock):
    return retro_events(flow)
