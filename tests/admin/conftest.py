"""Two Flow Teams with one row of every admin-registered model each, and staff people."""

import datetime
from types import SimpleNamespace

import pytest
from django.contrib import admin

from backlog.models import StateChange
from events.models import CalendarFeed, Event
from flow.models import FlowSprint, MetricSnapshot
from teams.models import Membership, RoleAssignment, User
from tests.backlog.factories import (
    AcceptanceCriterionFactory,
    BlockerFactory,
    DependencyFactory,
    DependencyStepFactory,
    EpicFactory,
    MilestoneFactory,
    ProductGoalFactory,
    RoadmapChangeFactory,
    StoryFactory,
    TaskFactory,
)
from tests.events.factories import (
    ActionItemFactory,
    CalendarFeedFactory,
    DailyScrumNoteFactory,
    EventFactory,
    RetroCardFactory,
    RetrospectiveFactory,
    ReviewFeedbackFactory,
    ScrumOfScrumsReportFactory,
    TeamEventFactory,
)
from tests.flow.factories import (
    FlowSprintFactory,
    MetricSnapshotFactory,
    RiskFactory,
    SprintCommitmentFactory,
    TeamSprintFactory,
)

STAFF_ROLES = ["cpo", "csm", "architect"]
# Models of the installation's libraries: their admins answer to Django's model permissions,
# which no role grants.
LIBRARY_APPS = {"auth", "axes"}


def project_models():
    return [m for m in admin.site._registry if m._meta.app_label not in LIBRARY_APPS]


# The foreign samples' texts start with this. Not a plain word: Faker's sentences (the
# factories' titles) draw from a word list holding "foreign", and a sentence of ours that
# began with it once made the matrix report a leak that was not one.
THEIRS = "Foreign-team"


def build_samples(ns, label: str) -> dict:
    """One row of every registered model in ``ns``'s Flow Team; texts start with ``label``."""
    team = ns.scrum_teams[0]
    flow_team = ns.flow_team
    s = {}
    s["productgoal"] = ProductGoalFactory(
        flow_team=flow_team,
        statement=f"{label} goal statement",
        # One active goal per Flow Team: later rounds add achieved ones.
        status="active" if label in ("Mine", THEIRS) else "achieved",
    )
    s["milestone"] = MilestoneFactory(flow_team=flow_team, name=f"{label} milestone")
    s["epic"] = EpicFactory(flow_team=flow_team, title=f"{label} epic")
    s["story"] = StoryFactory(
        scrum_team=team, title=f"{label} story", epic=s["epic"], assignee=ns.dev1
    )
    s["acceptancecriterion"] = AcceptanceCriterionFactory(story=s["story"], text=f"{label} crit")
    s["task"] = TaskFactory(story=s["story"], title=f"{label} task")
    s["blocker"] = BlockerFactory(
        story=StoryFactory(scrum_team=team, title=f"{label} blocked story"),
        reason=f"{label} blocker",
        raised_by=ns.dev1,
    )
    s["dependency"] = DependencyFactory(
        from_story=s["story"], to_story=None, to_epic=s["epic"], description=f"{label} dep"
    )
    s["dependencystep"] = DependencyStepFactory(
        dependency=s["dependency"], note=f"{label} step", by=ns.po1
    )
    s["statechange"] = StateChange.objects.create(
        flow_team=flow_team, story=s["story"], from_state="backlog", to_state="ready",
        at="2026-01-06T10:00:00Z", by=ns.dev1,
    )  # fmt: skip
    s["roadmapchange"] = RoadmapChangeFactory(epic=s["epic"], by=ns.cpo)
    sprint = FlowSprintFactory(flow_team=flow_team, goal=f"{label} sprint goal")
    s["flowsprint"] = sprint
    s["teamsprint"] = TeamSprintFactory(
        flow_sprint=sprint, scrum_team=team, goal=f"{label} team goal"
    )
    s["sprintcommitment"] = SprintCommitmentFactory(team_sprint=s["teamsprint"], story=s["story"])
    s["risk"] = RiskFactory(flow_team=flow_team, scrum_team=team, title=f"{label} risk")
    taken = MetricSnapshot.objects.filter(flow_team=flow_team).count()  # one per day
    s["metricsnapshot"] = MetricSnapshotFactory(
        flow_team=flow_team, as_of=datetime.date(2026, 1, 1) + datetime.timedelta(days=taken)
    )
    s["event"] = EventFactory(flow_sprint=sprint, inputs=f"{label} event inputs")
    s["scrumofscrumsreport"] = ScrumOfScrumsReportFactory(
        event=s["event"], scrum_team=team, done_since_last=f"{label} sos"
    )
    s["actionitem"] = ActionItemFactory(event=s["event"], text=f"{label} action")
    s["dailyscrumnote"] = DailyScrumNoteFactory(
        event=TeamEventFactory(flow_sprint=sprint, scrum_team=team),
        person=ns.dev1,
        today=f"{label} note",
    )
    s["retrospective"] = RetrospectiveFactory(
        event=EventFactory(flow_sprint=sprint, kind=Event.Kind.FLOW_RETRO)
    )
    s["retrocard"] = RetroCardFactory(
        retrospective=s["retrospective"], text=f"{label} card", author=ns.dev1
    )
    s["reviewfeedback"] = ReviewFeedbackFactory(
        event=EventFactory(flow_sprint=sprint, kind=Event.Kind.REVIEW),
        text=f"{label} feedback",
        author=ns.dev1,
    )
    feeds = CalendarFeed.objects.filter(flow_team=flow_team).count()  # one per person and scope
    s["calendarfeed"] = CalendarFeedFactory(
        user=list(ns.users.values())[feeds], flow_team=flow_team
    )
    s["flowteam"] = flow_team
    s["scrumteam"] = team
    s["membership"] = Membership.objects.get(flow_team=flow_team, user=ns.cpo)
    s["roleassignment"] = RoleAssignment.objects.get(flow_team=flow_team, role="cpo")
    s["user"] = User.objects.get(pk=ns.cpo.pk)
    return s


@pytest.fixture
def world(flow, foreign):
    for ns in (flow, foreign):
        for key in STAFF_ROLES:
            ns.users[key].is_staff = True
            ns.users[key].save(update_fields=["is_staff"])
    return SimpleNamespace(
        flow=flow,
        foreign=foreign,
        mine=build_samples(flow, "Mine"),
        theirs=build_samples(foreign, THEIRS),
    )


def foreign_marks(world) -> list[str]:
    """Strings that appear on no page of ``flow``'s people: the foreign Flow Team's name,
    its people's addresses, and every foreign sample's text."""
    return [
        world.foreign.flow_team.name,
        "othercpo@example.com",
        "otherdev1@example.com",
        f"{THEIRS} ",
    ]


def closed(sprint: FlowSprint) -> FlowSprint:
    FlowSprint.objects.filter(pk=sprint.pk).update(
        state=FlowSprint.State.CLOSED, figures={"1": {"committed_points": 8, "done_points": 5}}
    )
    sprint.refresh_from_db()
    return sprint
