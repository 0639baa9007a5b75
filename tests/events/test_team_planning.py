"""Team Sprint Planning (/events/<pk>/team-planning/, flow/capacity/): who sees and who
sets what, members' available days and the capacity proposed from them, planning up to
the capacity and the Definition of Ready, tasks for members of the team, the goal's stale
save, the live poll, and query counts that do not grow with the data."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from backlog.models import Task
from flow.capacity import selectors as plan_read
from flow.capacity import services as capacity
from flow.models import MemberAvailability, SprintCommitment, TeamSprint
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from tests.api.test_hostile_input import snapshot
from tests.conftest import build_flow_team
from tests.events.team_planning_setup import team_planning_setup
from tests.events.test_planning_1_board import client_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def tp(flow):
    return team_planning_setup(flow)


HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tp-notice"}


def team_sprint(tp) -> TeamSprint:
    return TeamSprint.objects.get(pk=tp.team_sprint.pk)


def planned(tp) -> set[str]:
    return set(
        SprintCommitment.objects.filter(
            team_sprint=tp.team_sprint, outcome__in=("open", "done")
        ).values_list("story__title", flat=True)
    )


def story_of(ns, team_index: int):
    from backlog.services import story_create

    n = team_index + 1
    return story_create(
        actor=ns.actor(f"po{n}"), scrum_team=ns.scrum_teams[team_index], title="Theirs", points=3
    )


# --- Who sees it, who sets it ---------------------------------------------------------


@pytest.mark.parametrize("who", ["cpo", "csm", "architect", "po1", "sm1", "dev1", "po2"])
def test_the_flow_team_reads_the_screen_linked_from_the_event(tp, who):
    client = client_of(tp.users[who])
    assert f'href="{tp.url}"' in client.get(f"/events/{tp.event.pk}/").content.decode()
    html = client.get(tp.url).content.decode()
    assert "Ready 1" in html and "Proposed capacity" in html
    sets = who in ("po1", "sm1")
    assert ('name="capacity_points"' in html) is sets
    assert ('name="goal"' in html) is sets
    assert ("Break a story into tasks" in html) is (who in ("po1", "sm1", "dev1"))


def test_a_stakeholder_and_another_flow_team_get_404(tp, foreign):
    assert client_of(tp.stakeholder).get(tp.url).status_code == 404
    assert client_of(foreign.csm).get(tp.url).status_code == 404
    before = snapshot()
    response = client_of(foreign.po1).post(f"{tp.url}plan/", {"story": tp.ready[0].pk, "into": "1"})
    assert response.status_code == 404 and snapshot() == before


def test_another_event_kind_is_404_here(tp):
    from tests.events.factories import EventFactory

    other = EventFactory(flow_sprint=tp.sprint)
    assert client_of(tp.csm).get(f"/events/{other.pk}/team-planning/").status_code == 404


@pytest.mark.parametrize("who", ["cpo", "csm", "architect", "dev1", "po2", "sm2"])
def test_only_the_teams_po_and_sm_set_days_capacity_and_goal(tp, who):
    actor = tp.actor(who)
    for write in (
        lambda: capacity.availability_set(
            actor=actor, team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days="5"
        ),
        lambda: capacity.capacity_set(actor=actor, team_sprint=tp.team_sprint, points="10"),
        lambda: capacity.team_sprint_goal_set(
            actor=actor, team_sprint=tp.team_sprint, text="Ship it", expected_version=0
        ),
    ):
        with pytest.raises(PermissionRefused):
            write()
    ts = team_sprint(tp)
    assert ts.capacity_points is None and ts.goal == "" and not MemberAvailability.objects.exists()
    before = snapshot()
    response = client_of(tp.users[who]).post(f"{tp.url}capacity/", {"capacity_points": "9"})
    assert response.status_code == 403 and snapshot() == before


def test_a_foreign_actor_cannot_reach_the_team_sprint(tp, foreign):
    with pytest.raises(RuleViolation) as refusal:
        capacity.capacity_set(actor=foreign.actor("po1"), team_sprint=tp.team_sprint, points="9")
    assert refusal.value.detail == {"team_sprint": ["the Team Sprint is not in this Flow Team"]}


# --- Available days and the proposed capacity ----------------------------------------


def test_members_default_to_every_working_day_and_the_proposal_follows_their_days(tp):
    data = plan_read.team_planning(actor=tp.actor("po1"), team_sprint=tp.team_sprint)
    assert data["days_full"] == 10 and [p["days"] for p in data["people"]] == [10, 10, 10]
    assert data["velocity"] == 21 and data["proposed"] == 21
    capacity.availability_set(
        actor=tp.actor("sm1"), team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days="4"
    )
    data = plan_read.team_planning(actor=tp.actor("po1"), team_sprint=tp.team_sprint)
    # 21 points × 24 of 30 person-days
    assert data["available"] == 24 and data["proposed"] == round(21 * 24 / 30)
    assert team_sprint(tp).capacity_days == Decimal("24")


@pytest.mark.parametrize(
    ("days", "reason"),
    [
        ("-1", "between 0 and 10"),
        ("10.5", "between 0 and 10"),
        ("x", "a number of days"),
        ("NaN", "a number of days"),
        ("2.25", "half days"),
        ("", "a number of days"),
    ],
)
def test_available_days_out_of_bounds_are_a_400_naming_days(tp, days, reason):
    before = snapshot()
    response = client_of(tp.po1).post(f"{tp.url}days/", {"user": tp.dev1.pk, "days": days}, **HTMX)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-field="days"' in html and reason in html
    assert snapshot() == before


def test_days_for_someone_outside_the_team_are_refused(tp):
    with pytest.raises(RuleViolation) as refusal:
        capacity.availability_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, user_id=tp.dev2.pk, days="3"
        )
    assert refusal.value.detail == {"user": ["this person is not a member of the Scrum Team"]}


# --- Planning up to the capacity, the Definition of Ready -----------------------------


def test_a_story_past_the_capacity_is_refused_naming_the_capacity(tp):
    capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points="8")
    client = client_of(tp.dev1)
    assert (
        client.post(f"{tp.url}plan/", {"story": tp.ready[0].pk, "into": "1"}, **HTMX).status_code
        == 200
    )
    before = snapshot()
    response = client.post(f"{tp.url}plan/", {"story": tp.ready[1].pk, "into": "1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 400 and snapshot() == before
    assert "10 points, past its capacity of 8 points" in html and 'data-field="capacity"' in html
    assert planned(tp) == {"Ready 1"}


def test_without_a_capacity_the_plan_is_not_limited_and_the_bar_says_so(tp):
    for story in tp.ready:
        capacity.team_story_plan(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=story, into=True
        )
    assert planned(tp) == {"Ready 1", "Ready 2"}
    html = client_of(tp.dev1).get(tp.url).content.decode()
    assert "10 points planned" in html and "no capacity set yet" in html


def test_over_capacity_is_shown_in_red_and_said(tp):
    for story in tp.ready:
        capacity.team_story_plan(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=story, into=True
        )
    capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points="6")
    html = client_of(tp.dev1).get(tp.url).content.decode()
    assert "10 of 6 points planned" in html and "over capacity by 4 points" in html
    assert "bar-100 bar-over" in html


@pytest.mark.parametrize(
    ("story", "says", "field"),
    [("no_criteria", "acceptance criterion", "criteria"), ("no_estimate", "estimate", "points")],
)
def test_a_story_failing_the_definition_of_ready_is_refused_and_its_card_says_why(
    tp, story, says, field
):
    story = getattr(tp, story)
    client = client_of(tp.po1)
    page = client.get(tp.url).content.decode()
    assert f"Not ready: needs an {says}" in page or f"Not ready: needs {says}" in page
    before = snapshot()
    response = client.post(f"{tp.url}plan/", {"story": story.pk, "into": "1"}, **HTMX)
    assert response.status_code == 400 and snapshot() == before
    assert f'data-field="{field}"' in response.content.decode()


def test_another_teams_story_cannot_be_planned_here(tp):
    theirs = story_of(tp, 1)
    with pytest.raises(RuleViolation) as refusal:
        capacity.team_story_plan(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=theirs, into=True
        )
    assert refusal.value.detail == {"story": ["plan a story into its own team's sprint"]}
    with pytest.raises(PermissionRefused):
        capacity.team_story_plan(
            actor=tp.actor("po2"), team_sprint=tp.team_sprint, story=tp.ready[0], into=True
        )
    assert planned(tp) == set()


def test_a_story_goes_back_to_the_backlog(tp):
    capacity.team_story_plan(
        actor=tp.actor("dev1"), team_sprint=tp.team_sprint, story=tp.ready[0], into=True
    )
    response = client_of(tp.dev1).post(
        f"{tp.url}plan/", {"story": tp.ready[0].pk, "into": "0"}, **HTMX
    )
    assert response.status_code == 200 and planned(tp) == set()


# --- Tasks ----------------------------------------------------------------------------


def test_tasks_go_to_members_of_the_team_and_are_ticked_done(tp):
    story = tp.ready[0]
    capacity.team_story_plan(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=story, into=True
    )
    client = client_of(tp.dev1)
    response = client.post(
        f"{tp.url}tasks/",
        {"story": story.pk, "title": "Write the migration", "assignee": tp.sm1.pk},
        **HTMX,
    )
    assert response.status_code == 200
    task = Task.objects.get(title="Write the migration")
    assert task.assignee == tp.sm1
    before = snapshot()
    response = client.post(
        f"{tp.url}tasks/",
        {"story": story.pk, "title": "Not theirs", "assignee": tp.dev2.pk},
        **HTMX,
    )
    assert response.status_code == 400 and 'data-field="assignee"' in response.content.decode()
    assert snapshot() == before
    assert client.post(f"{tp.url}tasks/{task.pk}/done/", {"done": "1"}, **HTMX).status_code == 200
    assert Task.objects.get(pk=task.pk).done
    html = client.get(tp.url).content.decode()
    assert "1 of 1 task done" in html and "Write the migration" in html


def test_another_team_cannot_add_tasks_here(tp):
    with pytest.raises(PermissionRefused):
        capacity.team_task_add(
            actor=tp.actor("dev2"),
            team_sprint=tp.team_sprint,
            story=tp.ready[0],
            title="t",
            assignee_id=None,
        )


# --- The goal -------------------------------------------------------------------------


def test_a_stale_goal_save_says_who_changed_it_and_keeps_the_text(tp):
    capacity.team_sprint_goal_set(
        actor=tp.actor("sm1"), team_sprint=tp.team_sprint, text="Checkout works", expected_version=0
    )
    with pytest.raises(VersionConflict):
        capacity.team_sprint_goal_set(
            actor=tp.actor("po1"), team_sprint=tp.team_sprint, text="Mine", expected_version=0
        )
    before = snapshot()
    response = client_of(tp.po1).post(
        f"{tp.url}goal/", {"goal": "My own goal", "goal_version": "0"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 409 and snapshot() == before
    assert tp.sm1.display_name in html and "Checkout works" in html and "My own goal" in html
    assert team_sprint(tp).goal == "Checkout works"


def test_an_empty_or_long_goal_is_refused_naming_goal(tp):
    for text in ("  ", "x" * 1001):
        response = client_of(tp.po1).post(
            f"{tp.url}goal/", {"goal": text, "goal_version": "0"}, **HTMX
        )
        assert response.status_code == 400 and 'data-field="goal"' in response.content.decode()


# --- Live -----------------------------------------------------------------------------


def poll_url(html: str) -> str:
    return re.search(r'id="tp-poll"[^>]*hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_the_poll_brings_another_persons_plan_and_is_204_otherwise(tp):
    viewer = client_of(tp.dev1)
    url = poll_url(viewer.get(tp.url).content.decode())
    with CaptureQueriesContext(connection) as ctx:
        assert viewer.get(url).status_code == 204
    assert len(ctx) <= 2
    capacity.availability_set(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, user_id=tp.dev1.pk, days="2"
    )
    capacity.team_story_plan(
        actor=tp.actor("po1"), team_sprint=tp.team_sprint, story=tp.ready[0], into=True
    )
    response = viewer.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and 'id="tp-sprint"' in html and "Ready 1" in html
    assert 'id="tp-forms"' not in html  # nobody's typing is replaced
    assert viewer.get(poll_url(html)).status_code == 204


def test_a_foreign_poll_token_is_refused(tp, foreign):
    url = poll_url(client_of(tp.dev1).get(tp.url).content.decode())
    capacity.capacity_set(actor=tp.actor("po1"), team_sprint=tp.team_sprint, points="9")
    assert client_of(foreign.dev1).get(url).status_code in (403, 404)


# --- Query counts ---------------------------------------------------------------------


def test_the_screen_runs_the_same_queries_small_and_large():
    counts = []
    for prefix, teams, stories in (("S", 3, 2), ("L", 12, 30)):
        ns = team_planning_setup(build_flow_team(prefix=prefix, teams=teams), stories=stories)
        for story in ns.ready[:3]:
            capacity.team_story_plan(
                actor=ns.actor("po1"), team_sprint=ns.team_sprint, story=story, into=True
            )
            capacity.team_task_add(
                actor=ns.actor("po1"),
                team_sprint=ns.team_sprint,
                story=story,
                title="t",
                assignee_id=ns.dev1.pk,
            )
        for n in range(teams):
            story_of(ns, n)
        client = client_of(ns.po1)
        from django.core.cache import cache

        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(ns.url)
        assert response.status_code == 200
        counts.append(len(ctx))
    assert counts[0] == counts[1]


def test_closed_sprints_without_frozen_figures_count_their_done_commitments(flow):
    """The demo's history is loaded closed, without figures: the velocity then counts the
    stories planned and done in each of the last three closed sprints."""
    from django.utils import timezone

    from flow.planning import team_velocity
    from tests.flow.factories import FlowSprintFactory, SprintCommitmentFactory

    team = flow.scrum_teams[0]
    for number, points in ((1, [8]), (2, [3, 5, 5]), (3, [2]), (4, [5, 8])):
        sprint = FlowSprintFactory(
            flow_team=flow.flow_team, number=number, state="closed", closed_at=timezone.now()
        )
        ts = TeamSprint.objects.create(flow_sprint=sprint, scrum_team=team)
        for p in points:
            SprintCommitmentFactory(team_sprint=ts, story__points=p, outcome="done")
        SprintCommitmentFactory(team_sprint=ts, story__points=13, outcome="carried_over")
        SprintCommitmentFactory(team_sprint=ts, story__points=13, outcome="done", planned=False)
    # Sprints 2, 3 and 4: 13, 2 and 13 points.
    assert team_velocity(flow.flow_team) == {team.pk: round((13 + 2 + 13) / 3)}
