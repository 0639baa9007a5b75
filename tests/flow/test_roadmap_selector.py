"""The roadmap selector: progress, chances, lanes, dependency colours, fixed queries."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog import services
from backlog.models import Epic, Story
from flow.models import TeamSprint
from flow.roadmap import GREEN, ORANGE, RED, dependency_colour, roadmap_for
from tests.backlog.factories import (
    DependencyFactory,
    EpicFactory,
    MilestoneFactory,
    ProductGoalFactory,
    StoryFactory,
)
from tests.flow.factories import (
    FlowSprintFactory,
    MetricSnapshotFactory,
    SprintCommitmentFactory,
)

pytestmark = pytest.mark.django_db

# Flow Sprints 1..6 start 2026-01-05, two weeks each: the 4th of February is in sprint 3,
# so the current and next Flow Sprints are 3 and 4.
TODAY = datetime.date(2026, 2, 4)
SOON = {3, 4}


@pytest.mark.parametrize(
    ("needed_by", "planned", "provided", "colour"),
    [
        (4, 5, False, RED),  # planned after the needed-by sprint
        (4, 4, False, ORANGE),  # same sprint
        (4, 3, False, GREEN),  # before
        (3, None, False, RED),  # not planned, due in the current sprint
        (4, None, False, RED),  # not planned, due in the next sprint
        (2, None, False, RED),  # not planned, already overdue
        (5, None, False, None),  # not planned, not due soon: nothing to say yet
        (None, 4, False, None),  # no needed-by sprint
        (3, 6, True, GREEN),  # already provided
    ],
)
def test_dependency_colour_at_each_edge(needed_by, planned, provided, colour):
    assert (
        dependency_colour(needed_by=needed_by, planned=planned, provided=provided, soon=SOON)
        == colour
    )


@pytest.fixture
def sprints(flow):
    return {n: FlowSprintFactory(flow_team=flow.flow_team, number=n) for n in range(1, 7)}


def plan(sprints, story, number, outcome="open"):
    team_sprint, _ = TeamSprint.objects.get_or_create(
        flow_sprint=sprints[number], scrum_team=story.scrum_team
    )
    SprintCommitmentFactory(team_sprint=team_sprint, story=story, outcome=outcome)


def test_roadmap_lanes_progress_chance_and_teams(flow, foreign):
    t1, t2 = flow.scrum_teams[0], flow.scrum_teams[1]
    goal = ProductGoalFactory(flow_team=flow.flow_team, statement="Grow")
    ProductGoalFactory(flow_team=flow.flow_team, statement="Old", status="achieved")
    MilestoneFactory(flow_team=flow.flow_team, order=20, name="Later", start=TODAY)
    m1 = MilestoneFactory(
        flow_team=flow.flow_team,
        order=10,
        name="First",
        start=TODAY,
        end=TODAY + datetime.timedelta(weeks=12),
    )
    e1 = EpicFactory(flow_team=flow.flow_team, milestone=m1, rank=3, title="E1")
    e2 = EpicFactory(flow_team=flow.flow_team, milestone=m1, rank=2, state="cancelled")
    e3 = EpicFactory(flow_team=flow.flow_team, milestone=m1, rank=1, title="E3")
    EpicFactory(flow_team=flow.flow_team, rank=4, title="Loose", job_size=2)
    EpicFactory(flow_team=foreign.flow_team, milestone=None)
    StoryFactory(scrum_team=t1, epic=e1, points=3, state="done")
    StoryFactory(scrum_team=t2, epic=e1, points=5, state="in_progress")
    StoryFactory(scrum_team=t2, epic=e1, points=None, state="done")
    StoryFactory(scrum_team=t1, epic=e2, points=8, state="done")  # cancelled: not counted
    StoryFactory(scrum_team=t2, epic=e3, points=2, state="done")
    StoryFactory(scrum_team=t2, epic=None, points=13, state="done")  # no epic
    # The newest Flow Team snapshot holds the chance; older ones and team ones do not count.
    forecast = {"forecast": {"milestones": [{"id": m1.pk, "chance": 0.42}]}}
    stale = {"forecast": {"milestones": [{"id": m1.pk, "chance": 0.9}]}}
    MetricSnapshotFactory(flow_team=flow.flow_team, as_of=TODAY, data=forecast)
    MetricSnapshotFactory(
        flow_team=flow.flow_team, as_of=TODAY - datetime.timedelta(days=1), data=stale
    )
    MetricSnapshotFactory(flow_team=flow.flow_team, scrum_team=t1, as_of=TODAY, data=stale)

    roadmap = roadmap_for(actor=flow.actor("stakeholder"), today=TODAY)

    assert roadmap["product_goal"] == goal
    first, later = roadmap["milestones"]
    assert (first["name"], later["name"]) == ("First", "Later")
    assert [e["title"] for e in first["epics"]] == ["E3", e2.title, "E1"]
    assert later["epics"] == []
    assert [e["title"] for e in roadmap["unscheduled"]] == ["Loose"]
    assert roadmap["unscheduled"][0]["wsjf"] == 5.0  # (5 + 3 + 2) / 2
    # Hand-checked: E1 3 + 5 + 0 points (3 and 0 done), E3 2 done; E2 is cancelled.
    assert (first["points_done"], first["points_total"]) == (5, 10)
    assert (first["stories_done"], first["stories_total"]) == (3, 4)
    assert (first["chance"], later["chance"]) == (0.42, None)
    assert "12.0 weeks" in first["span_warning"] and later["span_warning"] == ""
    by_title = {e["title"]: e for e in first["epics"]}
    assert by_title["E1"]["teams"] == ["Team 1", "Team 2"]
    assert by_title["E3"]["teams"] == ["Team 2"]


def test_roadmap_without_goal_snapshot_or_milestones(flow):
    roadmap = roadmap_for(actor=flow.actor("cpo"), today=TODAY)
    assert roadmap == {"product_goal": None, "milestones": [], "unscheduled": []}


def test_dependency_colours_from_sprint_plans(flow, sprints):
    t1, t2 = flow.scrum_teams[0], flow.scrum_teams[1]
    needing = EpicFactory(flow_team=flow.flow_team, title="Needs")
    story = StoryFactory(scrum_team=t1, epic=needing)

    def depends(provider, needed_by, **kw):
        target = (
            {"to_epic": provider, "to_story": None}
            if isinstance(provider, Epic)
            else {"to_story": provider}
        )
        return DependencyFactory(
            flow_team=flow.flow_team,
            from_story=story,
            needed_by=sprints[needed_by] if needed_by else None,
            description=kw.pop("description"),
            **target,
            **kw,
        )

    in4 = StoryFactory(scrum_team=t2)
    plan(sprints, in4, 4)
    carried = StoryFactory(scrum_team=t2)
    plan(sprints, carried, 3, outcome="carried_over")  # no longer says when: unplanned
    done = StoryFactory(scrum_team=t2, state="done")
    provider_epic = EpicFactory(flow_team=flow.flow_team, title="Provider")
    a, b = (
        StoryFactory(scrum_team=t2, epic=provider_epic),
        StoryFactory(scrum_team=t2, epic=provider_epic),
    )
    StoryFactory(scrum_team=t2, epic=provider_epic, state="done")  # done: not waited for
    plan(sprints, a, 3)
    plan(sprints, b, 5)
    half_planned = EpicFactory(flow_team=flow.flow_team, title="Half planned")
    plan(sprints, StoryFactory(scrum_team=t2, epic=half_planned), 3)
    StoryFactory(scrum_team=t2, epic=half_planned)

    depends(in4, 3, description="after")
    depends(in4, 4, description="same")
    depends(in4, 5, description="before")
    depends(carried, 4, description="unplanned next")
    depends(carried, 6, description="unplanned later")
    depends(done, 2, description="provided")
    depends(provider_epic, 5, description="epic same")
    depends(provider_epic, 4, description="epic after")
    depends(half_planned, 3, description="epic unplanned")
    depends(in4, 4, description="resolved", state="resolved")
    # The epic's own dependency counts too.
    DependencyFactory(
        flow_team=flow.flow_team,
        from_story=None,
        from_epic=needing,
        to_story=in4,
        needed_by=sprints[6],
        description="own",
    )

    roadmap = roadmap_for(actor=flow.actor("cpo"), today=TODAY)
    card = next(e for e in roadmap["unscheduled"] if e["title"] == "Needs")
    colours = {d["description"]: (d["colour"], d["planned"]) for d in card["dependencies"]}
    assert colours == {
        "after": (RED, 4),
        "same": (ORANGE, 4),
        "before": (GREEN, 4),
        "unplanned next": (RED, None),
        "unplanned later": (None, None),
        "provided": (GREEN, None),
        "epic same": (ORANGE, 5),
        "epic after": (RED, 5),
        "epic unplanned": (RED, None),
        "own": (GREEN, 4),
    }
    assert {d["providing_team"] for d in card["dependencies"] if d["description"] == "same"} == {
        "Team 2"
    }


def test_a_commitment_colours_over_the_sprint_plans(flow, sprints):
    """The providing team's promise says when; a counter-proposal promises nothing until
    the requester accepts it; without a commitment the plans speak, as before."""
    t1, t2 = flow.scrum_teams[0], flow.scrum_teams[1]
    po1, po2, cpo = flow.actor("po1"), flow.actor("po2"), flow.actor("cpo")
    needing = EpicFactory(flow_team=flow.flow_team, title="Needs")
    story = StoryFactory(scrum_team=t1, epic=needing)

    def raise_on(provider, needed_by, description):
        return services.dependency_create(
            actor=po1,
            source=story,
            target=provider,
            needed_by=sprints[needed_by],
            description=description,
        )

    in4 = StoryFactory(scrum_team=t2)
    plan(sprints, in4, 4)
    unplanned = StoryFactory(scrum_team=t2)
    late = raise_on(in4, 3, "committed earlier than planned")
    services.dependency_commit(actor=po2, dependency=late, flow_sprint=sprints[3])
    soon = raise_on(unplanned, 4, "committed, not planned")
    services.dependency_commit(actor=po2, dependency=soon, flow_sprint=sprints[2])
    countered = raise_on(in4, 4, "countered")
    services.dependency_counter(actor=po2, dependency=countered, flow_sprint=sprints[6])
    accepted = raise_on(unplanned, 3, "accepted")
    services.dependency_counter(actor=po2, dependency=accepted, flow_sprint=sprints[5])
    services.dependency_accept(actor=po1, dependency=accepted)
    provider_epic = EpicFactory(flow_team=flow.flow_team, title="Provider")
    plan(sprints, StoryFactory(scrum_team=t2, epic=provider_epic), 5)
    epic = raise_on(provider_epic, 5, "epic committed")
    services.dependency_commit(actor=cpo, dependency=epic, flow_sprint=sprints[4])
    raise_on(in4, 3, "plans only")

    roadmap = roadmap_for(actor=cpo, today=TODAY)
    card = next(e for e in roadmap["unscheduled"] if e["title"] == "Needs")
    found = {
        d["description"]: (d["colour"], d["planned"], d["contract"]) for d in card["dependencies"]
    }
    assert found == {
        "committed earlier than planned": (ORANGE, 3, "committed"),
        "committed, not planned": (GREEN, 2, "committed"),
        "countered": (ORANGE, 4, "countered"),  # the plans speak: sprint 4, needed by 4
        "accepted": (ORANGE, 5, "accepted"),  # needed by 5 now, committed to 5
        "epic committed": (GREEN, 4, "committed"),
        "plans only": (RED, 4, "requested"),
    }


def build(flow, sprints, epics: int):
    milestones = list(flow.flow_team.milestones.all()) or [
        MilestoneFactory(flow_team=flow.flow_team, order=n) for n in (1, 2, 3)
    ]
    teams = flow.scrum_teams
    for n in range(epics):
        epic = EpicFactory(
            flow_team=flow.flow_team, milestone=milestones[n % 4 - 1] if n % 4 else None
        )
        story = StoryFactory(scrum_team=teams[n % 3], epic=epic, state="done" if n % 2 else "ready")
        provider = StoryFactory(scrum_team=teams[(n + 1) % 3])
        if n % 3:
            plan(sprints, provider, 3 + n % 3)
        DependencyFactory(
            flow_team=flow.flow_team, from_story=story, to_story=provider, needed_by=sprints[4]
        )
        DependencyFactory(
            flow_team=flow.flow_team,
            from_story=None,
            from_epic=epic,
            to_story=None,
            to_epic=epic,
            needed_by=sprints[5],
        )
    if not flow.flow_team.product_goals.exists():
        MetricSnapshotFactory(
            flow_team=flow.flow_team,
            data={"forecast": {"milestones": [{"id": m.pk, "chance": 0.5} for m in milestones]}},
        )
        ProductGoalFactory(flow_team=flow.flow_team)


def count_queries(flow):
    actor = flow.actor("cpo")
    with CaptureQueriesContext(connection) as ctx:
        roadmap = roadmap_for(actor=actor, today=TODAY)
    return len(ctx.captured_queries), roadmap


def test_query_count_is_the_same_at_10_and_300_epics(flow, sprints, foreign):
    build(flow, sprints, 10)
    small, roadmap = count_queries(flow)
    assert sum(len(m["epics"]) for m in roadmap["milestones"]) + len(roadmap["unscheduled"]) == 10
    build(flow, sprints, 290)
    large, roadmap = count_queries(flow)
    assert sum(len(m["epics"]) for m in roadmap["milestones"]) + len(roadmap["unscheduled"]) == 300
    assert Story.objects.filter(flow_team=flow.flow_team).count() >= 600
    # Goal, milestones, epics with progress, teams, chances, dependencies, providing
    # epics' stories, commitments, current and next Flow Sprint.
    assert small == large == 9
