"""Flow Sprint Planning 1's writes: teams claim epics for a Flow Sprint (several teams may
claim one epic) and plan their stories into sprints, move them, take them back; the
Definition of Ready holds; each write bumps the board's live version."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from backlog import services as backlog_services
from backlog.services import planning_live_key
from flow import services
from flow.models import EpicClaim, FlowSprint, SprintCommitment, TeamSprint
from sem.errors import PermissionRefused, RuleViolation
from sem.live import live_versions
from tests.events.planning_fixtures import planning_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def planning(flow):
    return planning_setup(flow)


def version(ns) -> int:
    key = planning_live_key(ns.flow_team.pk)
    return live_versions([key])[key]


def plans(story) -> list[tuple[int, str]]:
    return list(
        SprintCommitment.objects.filter(story=story)
        .order_by("team_sprint__flow_sprint__number")
        .values_list("team_sprint__flow_sprint__number", "outcome")
    )


# --- Epic claims ----------------------------------------------------------------------


def test_teams_claim_an_epic_for_a_sprint_and_several_teams_may_claim_it(planning):
    before = version(planning)
    sprint = planning.sprints[1]
    one = services.epic_claim(
        actor=planning.actor("po1"),
        epic=planning.epic,
        scrum_team=planning.scrum_teams[0],
        flow_sprint=sprint,
    )
    assert (one.claimed_by, one.flow_sprint) == (planning.po1, sprint)
    assert version(planning) == before + 1
    services.epic_claim(
        actor=planning.actor("sm2"),
        epic=planning.epic,
        scrum_team=planning.scrum_teams[1],
        flow_sprint=sprint,
    )
    assert EpicClaim.objects.filter(epic=planning.epic, flow_sprint=sprint).count() == 2
    with pytest.raises(RuleViolation) as refused:
        services.epic_claim(
            actor=planning.actor("csm"),
            epic=planning.epic,
            scrum_team=planning.scrum_teams[0],
            flow_sprint=sprint,
        )
    assert refused.value.detail == {
        "epic": [f"Team 1 has claimed “Invoicing” for Flow Sprint {sprint.number} already"]
    }
    assert EpicClaim.objects.count() == 2
    # The same team: another epic for that sprint, and that epic for the next sprint.
    billing = backlog_services.epic_create(actor=planning.actor("cpo"), title="Billing")
    claim = {"actor": planning.actor("po1"), "scrum_team": planning.scrum_teams[0]}
    services.epic_claim(**claim, epic=billing, flow_sprint=sprint)
    services.epic_claim(**claim, epic=planning.epic, flow_sprint=planning.sprints[2])
    assert EpicClaim.objects.filter(scrum_team=planning.scrum_teams[0]).count() == 3


@pytest.mark.parametrize(
    ("who", "allowed"),
    [
        ("cpo", True),
        ("csm", True),
        ("po1", True),
        ("sm1", True),
        ("po2", False),  # another team's PO
        ("dev1", False),
        ("architect", False),
        ("stakeholder", False),
    ],
)
def test_who_claims_for_team_1(planning, who, allowed):
    claim = {
        "epic": planning.epic,
        "scrum_team": planning.scrum_teams[0],
        "flow_sprint": planning.sprints[0],
    }
    if allowed:
        services.epic_claim(actor=planning.actor(who), **claim)
        assert EpicClaim.objects.count() == 1
    else:
        with pytest.raises(PermissionRefused) as forbidden:
            services.epic_claim(actor=planning.actor(who), **claim)
        assert str(forbidden.value) == "only the team's PO and SM, the CPO or the CSM claim epics"
        assert EpicClaim.objects.count() == 0


def test_claims_refuse_foreign_epics_closed_sprints_and_finished_epics(planning, foreign):
    po1 = planning.actor("po1")
    team = planning.scrum_teams[0]
    other = backlog_services.epic_create(actor=foreign.actor("cpo"), title="Theirs")
    ours = {"epic": planning.epic, "scrum_team": team, "flow_sprint": planning.sprints[0]}
    theirs = {
        "epic": other,
        "scrum_team": foreign.scrum_teams[0],
        "flow_sprint": FlowSprint(flow_team=foreign.flow_team, number=1),
    }
    for field, name in (
        ("epic", "epic"),
        ("scrum_team", "scrum team"),
        ("flow_sprint", "flow sprint"),
    ):
        with pytest.raises(RuleViolation) as refused:
            services.epic_claim(actor=po1, **{**ours, field: theirs[field]})
        assert refused.value.detail == {field: [f"the {name} is not in this Flow Team"]}
    closed = FlowSprint.objects.filter(flow_team=planning.flow_team, state="closed").first()
    with pytest.raises(RuleViolation) as refused:
        services.epic_claim(actor=po1, epic=planning.epic, scrum_team=team, flow_sprint=closed)
    assert refused.value.detail == {"flow_sprint": [f"Flow Sprint {closed.number} is closed"]}
    backlog_services.epic_change(
        actor=planning.actor("cpo"), epic=planning.epic, data={}, to_state="cancelled"
    )
    planning.epic.refresh_from_db()
    with pytest.raises(RuleViolation) as refused:
        services.epic_claim(
            actor=po1, epic=planning.epic, scrum_team=team, flow_sprint=planning.sprints[0]
        )
    assert refused.value.detail["epic"] == ["the epic is cancelled"]
    assert not EpicClaim.objects.exists()


def test_the_team_releases_a_claim_and_nobody_else_does(planning):
    claim = services.epic_claim(
        actor=planning.actor("sm1"),
        epic=planning.epic,
        scrum_team=planning.scrum_teams[0],
        flow_sprint=planning.sprints[0],
    )
    with pytest.raises(PermissionRefused):
        services.epic_unclaim(actor=planning.actor("po2"), claim=claim)
    assert EpicClaim.objects.filter(pk=claim.pk).exists()
    before = version(planning)
    services.epic_unclaim(actor=planning.actor("po1"), claim=claim)
    assert not EpicClaim.objects.exists()
    assert version(planning) == before + 1


def test_releasing_is_refused_word_for_word_and_releases_nothing(planning, foreign):
    claim = services.epic_claim(
        actor=planning.actor("po1"),
        epic=planning.epic,
        scrum_team=planning.scrum_teams[0],
        flow_sprint=planning.sprints[0],
    )
    before = version(planning)
    with pytest.raises(RuleViolation) as refused:  # another Flow Team's CPO
        services.epic_unclaim(actor=foreign.actor("cpo"), claim=claim)
    assert refused.value.detail == {"claim": ["the claim is not in this Flow Team"]}
    with pytest.raises(PermissionRefused) as forbidden:
        services.epic_unclaim(actor=planning.actor("sm2"), claim=claim)
    assert str(forbidden.value) == ("only the team's PO and SM, the CPO or the CSM release a claim")
    sprint = claim.flow_sprint
    FlowSprint.objects.filter(pk=sprint.pk).update(state=FlowSprint.State.CLOSED)
    claim = EpicClaim.objects.get(pk=claim.pk)
    with pytest.raises(RuleViolation) as refused:
        services.epic_unclaim(actor=planning.actor("po1"), claim=claim)
    assert refused.value.detail == {"flow_sprint": [f"Flow Sprint {sprint.number} is closed"]}
    assert EpicClaim.objects.filter(pk=claim.pk).exists()
    assert version(planning) == before


# --- Planning stories -------------------------------------------------------------------


def test_a_story_is_planned_moved_and_taken_back_before_the_sprint_starts(planning):
    sm1, story = planning.actor("sm1"), planning.stories[(1, 1)]
    n1, n2 = planning.sprints[1].number, planning.sprints[2].number
    before = version(planning)
    commitment = services.story_plan(actor=sm1, story=story, team_sprint=planning.team_sprint(1, 1))
    assert commitment.planned and commitment.points_at_planning == 3
    assert plans(story) == [(n1, "open")]
    assert version(planning) == before + 1
    services.story_plan(actor=sm1, story=story, team_sprint=planning.team_sprint(1, 2))
    assert plans(story) == [(n2, "open")]  # a plan only: the earlier one is gone
    with pytest.raises(RuleViolation) as refused:
        services.story_plan(actor=sm1, story=story, team_sprint=planning.team_sprint(1, 2))
    assert refused.value.detail == {
        "team_sprint": [f"the story is already planned into Flow Sprint {n2}"]
    }
    before = version(planning)
    services.story_plan(actor=sm1, story=story, team_sprint=None)
    assert plans(story) == []
    assert version(planning) == before + 1
    with pytest.raises(RuleViolation) as refused:
        services.story_plan(actor=sm1, story=story, team_sprint=None)
    assert refused.value.detail == {"story": ["the story is not planned into a Flow Sprint"]}


def test_a_claim_of_a_story_refuses_and_says_why_word_for_word(planning, foreign):
    po1 = planning.actor("po1")
    story = planning.stories[(1, 1)]
    ours, theirs = planning.team_sprint(1, 0), planning.team_sprint(2, 0)

    def refused(story, team_sprint, field, message):
        with pytest.raises(RuleViolation) as refusal:
            services.story_claim(actor=po1, team_sprint=team_sprint, story=story)
        assert refusal.value.detail == {field: [message]}

    refused(story, theirs, "team_sprint", "claim a story into its own team's sprint")
    with pytest.raises(RuleViolation) as refusal:
        services.story_claim(actor=foreign.actor("po1"), team_sprint=ours, story=story)
    assert refusal.value.detail == {"story": ["the story is not in this Flow Team"]}
    with pytest.raises(PermissionRefused) as refusal:
        services.story_claim(actor=planning.actor("po2"), team_sprint=theirs, story=story)
    assert str(refusal.value) == "only the owning team claims its stories"
    unestimated = backlog_services.story_create(
        actor=po1, scrum_team=planning.scrum_teams[0], title="Guess", criteria=["c"]
    )
    refused(unestimated, ours, "story", "estimate the story before claiming it")
    services.story_claim(actor=po1, team_sprint=ours, story=story)
    refused(story, ours, "story", "the story is already in this Team Sprint")
    done = backlog_services.story_transition(actor=po1, story=story, to_state="in_progress")
    backlog_services.criterion_check(actor=po1, criterion=done.criteria.get(), checked=True)
    done = backlog_services.story_transition(actor=po1, story=done, to_state="done")
    refused(done, planning.team_sprint(1, 1), "story", "the story is already done")
    assert plans(story) == [(planning.sprints[0].number, "open")]
    assert plans(unestimated) == []


def test_a_claim_records_who_when_and_the_points_and_tells_that_sprints_screens(planning):
    po1, story = planning.actor("po1"), planning.stories[(1, 2)]
    team_sprint = planning.team_sprint(1, 1)
    keys = [
        planning_live_key(planning.flow_team.pk),
        services.commitments_live_key(team_sprint.flow_sprint_id),
        services.commitments_live_key(planning.sprints[2].pk),
    ]
    before = live_versions(keys)
    at = timezone.now() + dt.timedelta(minutes=5)
    with time_machine.travel(at, tick=False):
        services.story_claim(actor=po1, team_sprint=team_sprint, story=story)
    claimed = SprintCommitment.objects.get(story=story)
    assert (
        claimed.team_sprint_id,
        claimed.points_at_planning,
        claimed.planned,
        claimed.outcome,
        claimed.committed_at,
        claimed.committed_by,
    ) == (team_sprint.pk, 3, True, "open", at, po1.user)
    assert [live_versions(keys)[k] - before[k] for k in keys] == [1, 1, 0]


def test_moving_a_planned_story_reads_its_plan_with_its_sprint_at_once(
    planning, django_assert_num_queries
):
    sm1, story = planning.actor("sm1"), planning.stories[(1, 1)]
    services.story_plan(actor=sm1, story=story, team_sprint=planning.team_sprint(1, 1))
    later = planning.team_sprint(1, 2)
    later.flow_sprint  # noqa: B018 (read before counting: the caller's view has it)
    # Savepoint, the story locked, its open commitment with the Team Sprint and Flow Sprint
    # in one read, its criteria counted; the old plan's live bump and deletion; the dropped
    # one looked for; the claim (savepoint, the story locked, the duplicate check, two live
    # bumps, the insert, release); release.
    with django_assert_num_queries(15):
        services.story_plan(actor=sm1, story=story, team_sprint=later)


def test_out_of_a_running_sprint_a_story_is_dropped_and_planned_again_reopens(planning):
    dev1, story = planning.actor("dev1"), planning.stories[(1, 2)]
    running = planning.sprints[0]
    assert running.state == "active"
    services.story_plan(actor=dev1, story=story, team_sprint=planning.team_sprint(1, 0))
    services.story_plan(actor=dev1, story=story, team_sprint=None)
    assert plans(story) == [(running.number, "dropped")]  # predictability stays honest
    keys = [planning_live_key(planning.flow_team.pk), services.commitments_live_key(running.pk)]
    before = live_versions(keys)
    sm1, later = planning.actor("sm1"), timezone.now() + dt.timedelta(hours=2)
    with time_machine.travel(later, tick=False):
        services.story_plan(actor=sm1, story=story, team_sprint=planning.team_sprint(1, 0))
    assert plans(story) == [(running.number, "open")]
    # The same commitment, now the SM's, from the moment they planned it again.
    again = SprintCommitment.objects.get(story=story)
    assert (again.committed_by, again.committed_at) == (sm1.user, later)
    assert live_versions(keys) == {key: before[key] + 1 for key in keys}


def test_a_story_dropped_from_the_running_sprint_is_planned_into_the_next_as_new(planning):
    dev1, story = planning.actor("dev1"), planning.stories[(1, 2)]
    services.story_plan(actor=dev1, story=story, team_sprint=planning.team_sprint(1, 0))
    services.story_plan(actor=dev1, story=story, team_sprint=None)
    services.story_plan(actor=dev1, story=story, team_sprint=planning.team_sprint(1, 1))
    running, following = planning.sprints[0].number, planning.sprints[1].number
    assert plans(story) == [(running, "dropped"), (following, "open")]


def test_a_story_dropped_from_a_sprint_since_closed_is_not_planned_back_into_it(planning):
    dev1, story = planning.actor("dev1"), planning.stories[(1, 2)]
    running = planning.sprints[0]
    services.story_plan(actor=dev1, story=story, team_sprint=planning.team_sprint(1, 0))
    services.story_plan(actor=dev1, story=story, team_sprint=None)
    services.flow_sprint_close(flow_sprint=running)
    closed = TeamSprint.objects.select_related("flow_sprint").get(pk=planning.team_sprint(1, 0).pk)
    with pytest.raises(RuleViolation) as refused:
        services.story_plan(actor=dev1, story=story, team_sprint=closed)
    assert refused.value.detail == {"team_sprint": ["this Flow Sprint is closed"]}
    assert plans(story) == [(running.number, "dropped")]


def test_the_definition_of_ready_refuses_and_names_what_is_missing(planning):
    sm1 = planning.actor("sm1")
    bare = planning.stories[(1, "bare")]
    with pytest.raises(RuleViolation) as refused:
        services.story_plan(actor=sm1, story=bare, team_sprint=planning.team_sprint(1, 1))
    assert refused.value.detail == {"criteria": ["ready needs at least one acceptance criterion"]}
    unestimated = backlog_services.story_create(
        actor=sm1, scrum_team=planning.scrum_teams[0], title="Guess", criteria=["c"]
    )
    with pytest.raises(RuleViolation) as refused:
        services.story_plan(actor=sm1, story=unestimated, team_sprint=planning.team_sprint(1, 1))
    assert refused.value.detail == {"points": ["ready needs an estimate (story points)"]}
    assert not SprintCommitment.objects.exists()
    backlog_services.criterion_add(actor=sm1, story=bare, text="Now it is clear")
    services.story_plan(actor=sm1, story=bare, team_sprint=planning.team_sprint(1, 1))
    assert plans(bare) == [(planning.sprints[1].number, "open")]


def test_a_po_plans_only_their_own_teams_stories_into_their_teams_sprints(planning, foreign):
    story = planning.stories[(1, 1)]
    for who in ("po2", "sm2", "cpo", "csm", "stakeholder"):
        with pytest.raises(PermissionRefused) as refused:
            services.story_plan(
                actor=planning.actor(who), story=story, team_sprint=planning.team_sprint(1, 1)
            )
        assert str(refused.value) == "only the owning team's PO, SM and developers plan its stories"
    with pytest.raises(RuleViolation) as refused:
        services.story_plan(
            actor=foreign.actor("po1"), story=story, team_sprint=planning.team_sprint(1, 1)
        )
    assert refused.value.detail == {"story": ["the story is not in this Flow Team"]}
    services.flow_sprints_roll(flow_team=foreign.flow_team)
    theirs = TeamSprint.objects.filter(flow_sprint__flow_team=foreign.flow_team).first()
    with pytest.raises(RuleViolation) as refused:  # into another Flow Team's sprint
        services.story_plan(actor=planning.actor("po1"), story=story, team_sprint=theirs)
    assert refused.value.detail == {"team_sprint": ["the Team Sprint is not in this Flow Team"]}
    with pytest.raises(RuleViolation) as refused:  # into another team's sprint
        services.story_plan(
            actor=planning.actor("po1"), story=story, team_sprint=planning.team_sprint(2, 1)
        )
    assert refused.value.detail == {"team_sprint": ["claim a story into its own team's sprint"]}
    assert not SprintCommitment.objects.exists()


# --- What else moves the board ------------------------------------------------------------


def test_story_criteria_and_dependency_changes_bump_the_board(planning):
    sm1, story = planning.actor("sm1"), planning.stories[(1, 1)]
    steps = [
        lambda: backlog_services.story_update(actor=sm1, story=story, data={"points": 5}),
        lambda: backlog_services.story_transition(actor=sm1, story=story, to_state="ready"),
        lambda: backlog_services.criterion_add(actor=sm1, story=story, text="Another"),
        lambda: backlog_services.blocker_raise(actor=sm1, story=story, reason="waiting"),
        lambda: backlog_services.dependency_create(
            actor=sm1,
            source=story,
            target=planning.stories[(2, 1)],
            needed_by=planning.sprints[1],
        ),
        lambda: services.story_claim(
            actor=sm1, team_sprint=planning.team_sprint(1, 1), story=story
        ),
    ]
    for step in steps:
        before = version(planning)
        step()
        story.refresh_from_db()
        assert version(planning) == before + 1, step


def test_a_past_planning_still_shows_its_own_closed_sprint(planning):
    from flow.planning import planning_sprints

    first = FlowSprint.objects.filter(flow_team=planning.flow_team, state="closed").first()
    shown = planning_sprints(actor=planning.actor("csm"), flow_sprint=first)
    assert shown[0] == first
    assert all(s.state != "closed" for s in shown[1:]) and len(shown) == 4
    assert first.end < dt.date.today()


def test_a_planned_sprint_starting_today_keeps_a_story_taken_out_as_dropped(planning):
    # The cadence job may not have started it yet: from its first day a plan is a
    # commitment, and the sprint's screen is told.
    sm1, story = planning.actor("sm1"), planning.stories[(1, 1)]
    sprint = planning.sprints[1]
    FlowSprint.objects.filter(pk=sprint.pk).update(start=planning.flow_team.today())
    assert FlowSprint.objects.get(pk=sprint.pk).state == FlowSprint.State.PLANNED
    services.story_plan(actor=sm1, story=story, team_sprint=planning.team_sprint(1, 1))
    key = services.commitments_live_key(sprint.pk)
    before = live_versions([key])[key]
    services.story_plan(actor=sm1, story=story, team_sprint=None)
    assert plans(story) == [(sprint.number, "dropped")]
    assert live_versions([key])[key] == before + 1
