"""A Flow Sprint Planning 2 ready to run: the calendar of a Flow Team, each team's sprint
planned, a red dependency and the risk register (used by the Planning 2 and register tests
and the browser journey)."""

from types import SimpleNamespace

from backlog.models import Dependency
from events.models import Event
from events.services import cadence_roll
from flow.models import FlowSprint, Risk, TeamSprint
from flow.selectors import flow_sprint_current
from tests.backlog.factories import StoryFactory
from tests.flow.factories import SprintCommitmentFactory


def planning_2_of(ns, sprint: FlowSprint) -> Event:
    return Event.objects.get(flow_team=ns.flow_team, kind="planning_2", flow_sprint=sprint)


def build_planning_2(ns, *, today=None) -> SimpleNamespace:
    """The current Flow Sprint's Planning 2 of ``ns`` (tests.conftest.build_flow_team):
    every team has a capacity of 10 points and two 3-point stories planned in it; team 1
    needs a story of team 2 by this sprint that team 2 planned in the next one (red)."""
    cadence_roll(flow_team=ns.flow_team, today=today)
    s1 = flow_sprint_current(flow_team=ns.flow_team, today=today)
    s2 = FlowSprint.objects.get(flow_team=ns.flow_team, number=s1.number + 1)
    for number, team in enumerate(ns.scrum_teams, start=1):
        ts = TeamSprint.objects.get(flow_sprint=s1, scrum_team=team)
        TeamSprint.objects.filter(pk=ts.pk).update(capacity_points=10, goal=f"Goal of {team.name}")
        for k in range(2):
            SprintCommitmentFactory(
                team_sprint=ts,
                story=StoryFactory(scrum_team=team, title=f"Story {number}.{k}", points=3),
            )
    needing = StoryFactory(scrum_team=ns.scrum_teams[0], title="Checkout flow")
    providing = StoryFactory(scrum_team=ns.scrum_teams[1], title="Payment API")
    SprintCommitmentFactory(
        team_sprint=TeamSprint.objects.get(flow_sprint=s2, scrum_team=ns.scrum_teams[1]),
        story=providing,
    )
    red = Dependency.objects.create(
        flow_team=ns.flow_team, from_story=needing, to_story=providing, needed_by=s1
    )
    return SimpleNamespace(
        event=planning_2_of(ns, s1), sprint=s1, next_sprint=s2, red=red, needing=needing
    )


def high_risk(ns, **fields) -> Risk:
    """An unmitigated high risk of team 1's register (change ``fields`` to vary it)."""
    values = {
        "flow_team": ns.flow_team,
        "scrum_team": ns.scrum_teams[0],
        "title": "Load may exceed capacity",
        "impact": Risk.Impact.HIGH,
        "roam": Risk.Roam.OPEN,
        "mitigation": "",
        **fields,
    }
    return Risk.objects.create(**values)
