"""Every predicate of teams/permissions.py against every role of domain.md's table, and the
edges: people holding two roles, a stakeholder who is also in a Scrum Team, no role."""

from types import SimpleNamespace

import pytest

from teams import permissions as p
from teams.models import Role

TEAM, OTHER = 1, 2
ME = SimpleNamespace(pk=7)


def actor(flow=(), team=(), team_id=TEAM):
    return p.Actor(
        user=ME,
        flow_team=SimpleNamespace(pk=1),
        flow_roles=frozenset(flow),
        team_roles={team_id: frozenset(team)} if team else {},
    )


PEOPLE = {
    "cpo": actor(flow={Role.CPO}),
    "csm": actor(flow={Role.CSM}),
    "architect": actor(flow={Role.ARCHITECT}),
    "stakeholder": actor(flow={Role.STAKEHOLDER}),
    "po": actor(team={Role.PO}),
    "sm": actor(team={Role.SM}),
    "developer": actor(team={Role.DEVELOPER}),
    "stakeholder+developer": actor(flow={Role.STAKEHOLDER}, team={Role.DEVELOPER}),
    "architect+po": actor(flow={Role.ARCHITECT}, team={Role.PO}),
    "nobody": actor(),
}

# predicate -> who may (for team-scoped predicates: for their own team TEAM)
EXPECTED = {
    "can_manage_roadmap": {"cpo"},
    "can_assess_feasibility": {"architect", "architect+po"},
    "can_facilitate": {"csm"},
    "can_manage_webhooks": {"cpo", "csm"},
    "can_draft_flow_sprint_goal": {"cpo"},
    "can_confirm_flow_sprint_goal": {"csm"},
    "can_see_events": set(PEOPLE) - {"stakeholder", "nobody"},
    "can_refresh_metrics": set(PEOPLE) - {"stakeholder", "nobody"},
    "can_manage_sos_actions": {"csm", "po", "sm", "architect+po"},
}
EXPECTED_FOR_TEAM = {
    "can_write_register": {"cpo", "csm", "architect", "po", "sm", "architect+po"},
    "can_edit_story": {"cpo", "po", "sm", "developer", "stakeholder+developer", "architect+po"},
    "can_work_story": {"po", "sm", "developer", "stakeholder+developer", "architect+po"},
    "can_write_sos_report": {"csm", "po", "sm", "architect+po"},
    "can_claim_epic": {"cpo", "csm", "po", "sm", "architect+po"},
    "can_plan_team_sprint": {"po", "sm", "architect+po"},
    "can_prioritise_improvements": {"po", "sm", "architect+po"},
}
# Of another team, a team role gives nothing.
EXPECTED_FOR_OTHER_TEAM = {
    "can_write_register": {"cpo", "csm", "architect", "architect+po"},
    "can_edit_story": {"cpo"},
    "can_work_story": set(),
    "can_write_sos_report": {"csm"},
    "can_claim_epic": {"cpo", "csm"},
    "can_plan_team_sprint": set(),
    "can_prioritise_improvements": set(),
}


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("predicate", list(EXPECTED))
def test_flow_wide_predicates(person, predicate):
    assert getattr(p, predicate)(PEOPLE[person]) is (person in EXPECTED[predicate])


@pytest.mark.parametrize("person", list(PEOPLE))
@pytest.mark.parametrize("predicate", list(EXPECTED_FOR_TEAM))
def test_team_predicates_for_ones_own_and_another_team(person, predicate):
    check = getattr(p, predicate)
    assert check(PEOPLE[person], TEAM) is (person in EXPECTED_FOR_TEAM[predicate])
    assert check(PEOPLE[person], OTHER) is (person in EXPECTED_FOR_OTHER_TEAM[predicate])


def test_the_register_without_a_team_is_the_flow_roles():
    allowed = {name for name, who in PEOPLE.items() if p.can_write_register(who, None)}
    assert allowed == {"cpo", "csm", "architect", "architect+po"}


def test_the_flow_backlogs_improvements_are_ordered_by_the_csm_and_the_cpo():
    allowed = {name for name, who in PEOPLE.items() if p.can_prioritise_improvements(who, None)}
    assert allowed == {"cpo", "csm"}


@pytest.mark.parametrize("scrum_team_id", [None, TEAM])
def test_an_improvement_is_closed_by_its_owner_or_whoever_orders_its_backlog(scrum_team_id):
    orders = {n for n, who in PEOPLE.items() if p.can_prioritise_improvements(who, scrum_team_id)}
    assert orders == ({"cpo", "csm"} if scrum_team_id is None else {"po", "sm", "architect+po"})
    for owner_id, allowed in ((ME.pk, set(PEOPLE)), (99, orders), (None, orders)):
        closes = {
            name
            for name, who in PEOPLE.items()
            if p.can_close_improvement(who, owner_id=owner_id, scrum_team_id=scrum_team_id)
        }
        assert closes == allowed, owner_id


def test_a_stakeholder_in_a_scrum_team_sees_every_event():
    both = PEOPLE["stakeholder+developer"]
    assert not both.is_stakeholder_only
    assert p.event_kinds_visible(both) is None
    assert p.event_kinds_visible(PEOPLE["stakeholder"]) == p.STAKEHOLDER_EVENT_KINDS
    assert p.event_kinds_visible(PEOPLE["nobody"]) == p.STAKEHOLDER_EVENT_KINDS


@pytest.mark.parametrize(
    "person, facilitator_id, scrum_team_id, allowed",
    [
        ("csm", None, None, True),
        ("csm", None, TEAM, True),
        ("cpo", ME.pk, None, True),  # the named facilitator (the CPO at roadmap refinement)
        ("cpo", 99, None, False),
        ("cpo", None, None, False),
        ("sm", None, TEAM, True),  # a team event's SM
        ("sm", None, OTHER, False),
        ("sm", None, None, False),
        ("po", None, TEAM, False),
        ("developer", None, TEAM, False),
        ("developer", ME.pk, TEAM, True),
    ],
)
def test_who_runs_an_event(person, facilitator_id, scrum_team_id, allowed):
    assert (
        p.can_run_event(PEOPLE[person], facilitator_id=facilitator_id, scrum_team_id=scrum_team_id)
        is allowed
    )


def test_holds_a_role_anywhere_or_in_one_team():
    po = PEOPLE["architect+po"]
    assert po.holds(Role.PO) and po.holds(Role.ARCHITECT)
    assert po.holds(Role.PO, TEAM) and not po.holds(Role.PO, OTHER)
    assert not po.holds(Role.SM)
    assert po.all_roles == {Role.PO, Role.ARCHITECT}
    assert po.scrum_team_ids == {TEAM}


FLOW_RETRO = {"cpo", "csm", "architect", "po", "sm", "architect+po"}
TEAM_RETRO = {"po", "sm", "developer", "stakeholder+developer", "architect+po"}


@pytest.mark.parametrize("person", list(PEOPLE))
def test_who_joins_which_retro(person):
    who = PEOPLE[person]
    assert p.can_join_retro(who, flow_level=True, scrum_team_id=None) is (person in FLOW_RETRO)
    assert p.can_join_retro(who, flow_level=False, scrum_team_id=TEAM) is (person in TEAM_RETRO)
    assert p.can_join_retro(who, flow_level=False, scrum_team_id=OTHER) is False
    assert p.can_join_retro(who, flow_level=False, scrum_team_id=None) is False
