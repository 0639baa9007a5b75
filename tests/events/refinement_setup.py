"""A Product Backlog Refinement ready to run: team 1's refinement of Flow Sprint 1 with an
epic holding two of its stories (one not estimated, no criteria), used by the refinement
tests and the browser journey."""

import datetime
from types import SimpleNamespace

from backlog import services as backlog_services
from events.models import Event
from events.services import cadence_roll
from flow.models import FlowSprint

# Monday 5 January 2026, 10:00 UTC: day 1 of Flow Sprint 1 (the cadence anchor).
NOW = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)
HX = {"HTTP_HX_REQUEST": "true"}


def refinement_of(ns, team_index: int = 0) -> SimpleNamespace:
    cadence_roll(flow_team=ns.flow_team, today=NOW.date())
    sprint = FlowSprint.objects.get(flow_team=ns.flow_team, number=1)
    event = Event.objects.get(
        flow_sprint=sprint,
        kind=Event.Kind.BACKLOG_REFINEMENT,
        scrum_team=ns.scrum_teams[team_index],
        occurrence=1,
    )
    cpo = ns.actor("cpo")
    epic = backlog_services.epic_create(actor=cpo, title="Online payments")
    po = ns.actor(f"po{team_index + 1}")
    team = ns.scrum_teams[team_index]
    estimated = backlog_services.story_create(
        actor=po, scrum_team=team, title="Pay by card", epic=epic, points=3, criteria=["Visa"]
    )
    open_story = backlog_services.story_create(
        actor=po, scrum_team=team, title="Pay by invoice", epic=epic
    )
    return SimpleNamespace(event=event, epic=epic, estimated=estimated, story=open_story)
