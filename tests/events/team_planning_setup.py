"""A Team Sprint Planning of team 1 on a coming Flow Sprint, with three closed sprints of
figures behind it (team 1 did 18, 21 and 24 points: velocity 21) and team 1's backlog:
two ready stories, one without acceptance criteria and one without an estimate."""

import datetime

from django.utils import timezone

from backlog import services as backlog_services
from events.models import Event
from flow.models import FlowSprint, TeamSprint
from tests.events.factories import TeamEventFactory
from tests.flow.factories import FlowSprintFactory


def team_planning_setup(ns, *, stories: int = 2):
    team = ns.scrum_teams[0]
    anchor = ns.flow_team.cadence_anchor
    for number, done in ((1, 18), (2, 21), (3, 24)):
        FlowSprintFactory(
            flow_team=ns.flow_team,
            number=number,
            state=FlowSprint.State.CLOSED,
            closed_at=timezone.now(),
            figures={str(team.pk): {"done_points": done, "committed_points": done}},
        )
    # A sprint still to come: a story taken out again leaves no commitment behind.
    start = max(anchor + datetime.timedelta(weeks=6), ns.flow_team.today())
    start += datetime.timedelta(days=7 - start.weekday())
    sprint = FlowSprintFactory(flow_team=ns.flow_team, number=4, start=start)
    team_sprint = TeamSprint.objects.create(flow_sprint=sprint, scrum_team=team)
    event = TeamEventFactory(
        flow_sprint=sprint,
        scrum_team=team,
        kind=Event.Kind.TEAM_PLANNING,
        starts_at=timezone.now(),
        duration_minutes=120,
    )
    po = ns.actor("po1")
    ready = [
        backlog_services.story_create(
            actor=po, scrum_team=team, title=f"Ready {n}", points=5, criteria=[f"works {n}"]
        )
        for n in range(1, stories + 1)
    ]
    no_criteria = backlog_services.story_create(
        actor=po, scrum_team=team, title="No criteria", points=3
    )
    no_estimate = backlog_services.story_create(
        actor=po, scrum_team=team, title="No estimate", criteria=["c"]
    )
    ns.sprint, ns.team_sprint, ns.event, ns.team = sprint, team_sprint, event, team
    ns.ready, ns.no_criteria, ns.no_estimate = ready, no_criteria, no_estimate
    ns.url = f"/events/{event.pk}/team-planning/"
    return ns
