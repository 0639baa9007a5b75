import datetime

import pytest
from django.db import IntegrityError, transaction

from backlog.models import Story
from flow import services
from flow.models import FlowSprint, Risk, SprintCommitment
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_versions
from tests.backlog.factories import DependencyFactory
from tests.flow.factories import FlowSprintFactory, SprintCommitmentFactory, TeamSprintFactory

pytestmark = pytest.mark.django_db


# --- Risks: a PO or SM keeps only their own team's register ----------------------------


def test_a_po_cannot_record_a_risk_in_another_teams_register(flow):
    one, two, _ = flow.scrum_teams
    message = "only the CPO, CSM, Architect, or a team's PO and SM record risks"
    with pytest.raises(PermissionRefused, match=f"^{message}$"):
        services.risk_create(actor=flow.actor("po1"), title="Vendor late", scrum_team=two)
    with pytest.raises(PermissionRefused, match=f"^{message}$"):
        services.risk_create(actor=flow.actor("po1"), title="Vendor late")  # the Flow register
    risk = services.risk_create(actor=flow.actor("po1"), title="Vendor late", scrum_team=one)
    assert risk.scrum_team == one


@pytest.mark.parametrize("who", ["po1", "sm1"])
@pytest.mark.parametrize("target", [1, None])
def test_a_po_or_sm_cannot_move_a_risk_out_of_their_register(flow, who, target):
    one, two, _ = flow.scrum_teams
    risk = services.risk_create(actor=flow.actor(who), title="Vendor late", scrum_team=one)
    to = flow.scrum_teams[target] if target is not None else None
    with pytest.raises(RuleViolation) as refusal:
        services.risk_update(actor=flow.actor(who), risk=risk, data={"scrum_team": to})
    assert refusal.value.detail == {
        "scrum_team": ["you may only move a risk into a register you keep (your own team's)"]
    }
    fresh = Risk.objects.get(pk=risk.pk)
    assert (fresh.scrum_team, fresh.version) == (one, 1)


def test_the_csm_moves_a_risk_between_registers(flow):
    one, two, _ = flow.scrum_teams
    risk = services.risk_create(actor=flow.actor("po1"), title="Vendor late", scrum_team=one)
    moved = services.risk_update(
        actor=flow.actor("csm"), risk=risk, data={"scrum_team": two}, expected_version=1
    )
    assert (moved.scrum_team, moved.version) == (two, 2)
    # The same PO keeps editing within their own register.
    services.risk_update(actor=flow.actor("po2"), risk=moved, data={"roam": "owned"})
    with pytest.raises(PermissionRefused) as refused:
        services.risk_update(actor=flow.actor("po1"), risk=moved, data={"roam": "accepted"})
    assert str(refused.value) == "only the CPO, CSM, Architect, or the team's PO and SM edit it"
    assert Risk.objects.get(pk=risk.pk).roam == "owned"


def test_a_new_risk_is_trimmed_signed_and_shown_and_names_a_field_it_may_not_set(flow):
    cpo = flow.actor("cpo")
    key = services.risk_live_key(flow.flow_team.pk)
    before = live_versions([key])[key]
    with pytest.raises(RuleViolation) as refused:
        services.risk_create(actor=cpo, title="Vendor late", version=9, created_at=None)
    assert refused.value.detail == {"created_at": ["unknown or read-only field"]}
    assert not Risk.objects.exists()
    risk = services.risk_create(actor=cpo, title="  Vendor late \n", impact="high")
    fresh = Risk.objects.get()
    assert (fresh.pk, fresh.flow_team, fresh.title, fresh.impact, fresh.updated_by) == (
        risk.pk,
        flow.flow_team,
        "Vendor late",
        "high",
        flow.cpo,
    )
    assert live_versions([key])[key] == before + 1


def test_a_risk_write_names_the_first_field_it_may_not_write_and_writes_nothing(flow):
    risk = services.risk_create(actor=flow.actor("cpo"), title="Vendor late")
    with pytest.raises(RuleViolation) as refused:
        services.risk_update(
            actor=flow.actor("cpo"),
            risk=risk,
            data={"version": 9, "created_at": None, "title": "Vendor very late"},
        )
    assert refused.value.detail == {"created_at": ["unknown or read-only field"]}
    fresh = Risk.objects.get(pk=risk.pk)
    assert (fresh.title, fresh.version) == ("Vendor late", 1)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": "  \t"}, "title", "give the risk a title"),
        ({"title": ""}, "title", "give the risk a title"),
        ({"impact": "enormous"}, "impact", "impact is low, medium, high or critical"),
        ({"impact": ""}, "impact", "impact is low, medium, high or critical"),
        ({"impact": None}, "impact", "impact is low, medium, high or critical"),
        (
            {"roam": None},
            "roam",
            "ROAM state is open, resolved, owned, accepted or mitigated",
        ),
        (
            {"roam": "ignored"},
            "roam",
            "ROAM state is open, resolved, owned, accepted or mitigated",
        ),
        ({"roam": "mitigated"}, "mitigation", "a mitigated risk has a mitigation plan"),
        (
            {"roam": "mitigated", "mitigation": " \n "},
            "mitigation",
            "a mitigated risk has a mitigation plan",
        ),
    ],
)
def test_a_risk_write_is_refused_word_for_word_and_writes_nothing(flow, data, field, message):
    cpo = flow.actor("cpo")
    with pytest.raises(RuleViolation) as refused:
        services.risk_create(actor=cpo, **{"title": "Vendor late", **data})
    assert refused.value.detail == {field: [message]}
    assert not Risk.objects.exists()
    risk = services.risk_create(actor=cpo, title="Vendor late")
    with pytest.raises(RuleViolation) as refused:
        services.risk_update(actor=cpo, risk=risk, data=data)
    assert refused.value.detail == {field: [message]}
    fresh = Risk.objects.get()
    assert (fresh.title, fresh.impact, fresh.roam, fresh.version) == (
        "Vendor late",
        risk.impact,
        risk.roam,
        risk.version,
    )


def test_a_risk_owned_by_a_member_of_the_flow_team_is_taken(flow):
    cpo = flow.actor("cpo")
    risk = services.risk_create(actor=cpo, title="Vendor late", owner=flow.sm2)
    risk = services.risk_update(actor=cpo, risk=risk, data={"owner": flow.dev1})
    assert Risk.objects.get().owner == flow.dev1


def test_a_risk_named_without_impact_or_roam_keeps_their_defaults(flow):
    risk = services.risk_create(actor=flow.actor("cpo"), title="Vendor late")
    assert (risk.impact, risk.roam) == ("medium", "open")


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("owner", "the owner is not a member of the Flow Team"),
        ("dependency", "the dependency is not in this Flow Team"),
        ("scrum_team", "the scrum team is not in this Flow Team"),
    ],
)
def test_a_risk_naming_another_flow_teams_member_dependency_or_team_is_refused(
    flow, foreign, field, message
):
    theirs = {
        "owner": lambda: foreign.sm1,
        "dependency": lambda: DependencyFactory(
            from_story__scrum_team=foreign.scrum_teams[0],
            to_story__scrum_team=foreign.scrum_teams[1],
        ),
        "scrum_team": lambda: foreign.scrum_teams[0],
    }[field]()
    cpo = flow.actor("cpo")
    with pytest.raises(RuleViolation) as refused:
        services.risk_create(actor=cpo, title="Vendor late", **{field: theirs})
    assert refused.value.detail == {field: [message]}
    risk = services.risk_create(actor=cpo, title="Vendor late")
    with pytest.raises(RuleViolation) as refused:
        services.risk_update(actor=cpo, risk=risk, data={field: theirs})
    assert refused.value.detail == {field: [message]}
    assert list(Risk.objects.values_list("title", field)) == [("Vendor late", None)]


def test_a_risk_with_a_plan_is_mitigated_without_writing_the_plan_again(flow):
    cpo = flow.actor("cpo")
    planned = services.risk_create(actor=cpo, title="Vendor late", mitigation="Second vendor")
    done = services.risk_update(actor=cpo, risk=planned, data={"roam": "mitigated"})
    assert (done.roam, done.mitigation) == ("mitigated", "Second vendor")
    unplanned = services.risk_create(actor=cpo, title="Key person leaves")
    with pytest.raises(RuleViolation) as refused:
        services.risk_update(actor=cpo, risk=unplanned, data={"roam": "mitigated"})
    assert refused.value.detail == {"mitigation": ["a mitigated risk has a mitigation plan"]}
    assert Risk.objects.get(pk=unplanned.pk).roam == "open"


def test_a_goal_is_trimmed_and_holds_up_to_its_limit():
    assert services.goal_text(" " + "g" * 2000 + "\n", name="the goal") == "g" * 2000
    with pytest.raises(RuleViolation) as refused:
        services.goal_text("g" * 2001, name="the goal")
    assert refused.value.detail == {"goal": ["at most 2000 characters (this has 2001)"]}
    with pytest.raises(RuleViolation) as refused:
        services.goal_text(" \t", name="the goal")
    assert refused.value.detail == {"goal": ["write the goal"]}


def test_a_stale_risk_write_is_a_conflict(flow):
    risk = services.risk_create(actor=flow.actor("cpo"), title="Vendor late")
    services.risk_update(actor=flow.actor("cpo"), risk=risk, data={"impact": "high"})
    with pytest.raises(VersionConflict) as conflict:
        services.risk_update(
            actor=flow.actor("cpo"), risk=risk, data={"impact": "low"}, expected_version=1
        )
    assert conflict.value.current_version == 2
    assert Risk.objects.get(pk=risk.pk).impact == "high"


# --- A closed Flow Sprint's frozen figures -------------------------------------------


@pytest.fixture
def closed_sprint(flow):
    sprint = FlowSprintFactory(
        flow_team=flow.flow_team,
        number=1,
        start=datetime.date(2026, 3, 2),
        end=datetime.date(2026, 3, 15),
        state=FlowSprint.State.ACTIVE,
    )
    team_sprint = TeamSprintFactory(flow_sprint=sprint, scrum_team=flow.scrum_teams[0])
    SprintCommitmentFactory(team_sprint=team_sprint, story__points=5)
    return services.flow_sprint_close(flow_sprint=sprint)


def test_closing_settles_this_sprints_open_commitments_and_freezes_each_teams_points(flow):
    one, two, _ = flow.scrum_teams
    sprint = FlowSprintFactory(flow_team=flow.flow_team, number=1, state=FlowSprint.State.ACTIVE)
    following = FlowSprintFactory(flow_team=flow.flow_team, number=2)
    ts_one, ts_two = (TeamSprintFactory(flow_sprint=sprint, scrum_team=t) for t in (one, two))

    def commit(team_sprint, title, points, done=False, **kwargs):
        commitment = SprintCommitmentFactory(
            team_sprint=team_sprint, story__title=title, story__points=points, **kwargs
        )
        if done:
            Story.objects.filter(pk=commitment.story_id).update(state=Story.State.DONE)
        return commitment

    # Team one: two done stories add up, one done without points counts none, one not done
    # is carried over, a story added mid-sprint (not planned) counts in no figure.
    commit(ts_one, "done 3", 3, done=True)
    commit(ts_one, "done 5", 5, done=True)
    commit(ts_one, "done unestimated", None, done=True)
    commit(ts_one, "open 8", 8)
    commit(ts_one, "added done 2", 2, done=True, planned=False)
    # Team two: a planned story without points, and one dropped before the close.
    commit(ts_two, "open unestimated", None)
    commit(ts_two, "dropped", 13, outcome=SprintCommitment.Outcome.DROPPED)
    # The next sprint's commitment is not this close's to settle.
    commit(TeamSprintFactory(flow_sprint=following, scrum_team=one), "next sprint", 5)

    closed = services.flow_sprint_close(flow_sprint=sprint)

    outcomes = dict(SprintCommitment.objects.values_list("story__title", "outcome"))
    assert outcomes == {
        "done 3": "done",
        "done 5": "done",
        "done unestimated": "done",
        "open 8": "carried_over",
        "added done 2": "done",
        "open unestimated": "carried_over",
        "dropped": "dropped",
        "next sprint": "open",
    }
    assert FlowSprint.objects.get(pk=closed.pk).figures == {
        str(one.pk): {"committed_points": 16, "done_points": 8},
        str(two.pk): {"committed_points": 13, "done_points": 0},
    }


def test_closing_again_leaves_the_frozen_figures(flow, closed_sprint):
    frozen = closed_sprint.figures
    assert frozen == {str(flow.scrum_teams[0].pk): {"committed_points": 5, "done_points": 0}}
    # More work committed afterwards (by any path) does not change what the sprint achieved.
    SprintCommitmentFactory(
        team_sprint=closed_sprint.team_sprints.get(), story__points=8, planned=True
    )
    again = services.flow_sprint_close(flow_sprint=closed_sprint)
    assert FlowSprint.objects.get(pk=again.pk).figures == frozen


@pytest.mark.parametrize(
    "change",
    [
        {"figures": {"1": {"committed_points": 99, "done_points": 99}}},
        {"figures": None},
        {"state": "active"},
        {"closed_at": None},
    ],
)
def test_the_database_refuses_to_rewrite_a_closed_sprint(closed_sprint, change):
    # Whatever path writes (admin form, shell, raw update), the row keeps its figures.
    with pytest.raises(IntegrityError), transaction.atomic():
        FlowSprint.objects.filter(pk=closed_sprint.pk).update(**change)
    fresh = FlowSprint.objects.get(pk=closed_sprint.pk)
    assert (fresh.state, fresh.figures, fresh.closed_at) == (
        "closed",
        closed_sprint.figures,
        closed_sprint.closed_at,
    )


def test_a_closed_sprint_still_takes_a_goal_and_a_full_save(closed_sprint):
    closed_sprint.goal = "Invoices out of the door"
    closed_sprint.save()  # every column written, the frozen ones unchanged: allowed
    assert FlowSprint.objects.get(pk=closed_sprint.pk).goal == "Invoices out of the door"
