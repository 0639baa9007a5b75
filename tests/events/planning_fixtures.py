"""A Flow Sprint Planning 1 ready to run: sprints scheduled (the current one active), an
event of kind planning_1 on the current sprint, stories per team (ready ones with an
estimate and a criterion, and one without criteria), an epic to claim."""

import datetime
from types import SimpleNamespace

from backlog import services as backlog_services
from events.models import Event
from flow import services as flow_services
from flow.models import FlowSprint, TeamSprint


def planning_setup(ns: SimpleNamespace, stories_per_team: int = 2) -> SimpleNamespace:
    flow_services.flow_sprints_roll(flow_team=ns.flow_team)
    ns.sprints = list(
        FlowSprint.objects.filter(flow_team=ns.flow_team)
        .exclude(state=FlowSprint.State.CLOSED)
        .order_by("number")
    )
    # Not EventFactory: its sequences would shift the occurrences other tests expect.
    ns.event = Event.objects.create(
        flow_team=ns.flow_team,
        flow_sprint=ns.sprints[0],
        kind=Event.Kind.PLANNING_1,
        level=Event.Level.FLOW,
        occurrence=1,
        starts_at=datetime.datetime.combine(ns.sprints[0].start, datetime.time(9), datetime.UTC),
        duration_minutes=120,
    )
    # Capacities set for the first two sprints; the later ones have none (the board says so).
    TeamSprint.objects.filter(flow_sprint__in=ns.sprints[:2]).update(capacity_points=10)
    cpo = ns.actor("cpo")
    ns.epic = backlog_services.epic_create(actor=cpo, title="Invoicing")
    ns.stories = {}
    for n, team in enumerate(ns.scrum_teams, start=1):
        for k in range(1, stories_per_team + 1):
            ns.stories[(n, k)] = backlog_services.story_create(
                actor=cpo,
                scrum_team=team,
                title=f"T{n} story {k}",
                points=3,
                epic=ns.epic,
                criteria=["It works"],
            )
        ns.stories[(n, "bare")] = backlog_services.story_create(
            actor=cpo, scrum_team=team, title=f"T{n} no criteria", points=5
        )
    ns.team_sprint = lambda team_no, sprint_no: TeamSprint.objects.get(
        scrum_team=ns.scrum_teams[team_no - 1], flow_sprint=ns.sprints[sprint_no]
    )
    ns.url = f"/events/{ns.event.pk}/planning-1/"
    return ns
