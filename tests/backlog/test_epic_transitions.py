"""An epic's own life cycle (domain.md): funnel → ready → in progress → done, or cancelled,
with the steps back the table allows. Every pair of states is tried."""

import itertools

import pytest

from backlog import services
from backlog.models import Epic, RoadmapChange
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from tests.backlog.factories import EpicFactory

pytestmark = pytest.mark.django_db

S = Epic.State
ALLOWED = {
    (S.FUNNEL, S.READY),
    (S.FUNNEL, S.CANCELLED),
    (S.READY, S.FUNNEL),
    (S.READY, S.IN_PROGRESS),
    (S.READY, S.CANCELLED),
    (S.IN_PROGRESS, S.READY),
    (S.IN_PROGRESS, S.DONE),
    (S.IN_PROGRESS, S.CANCELLED),
    (S.DONE, S.IN_PROGRESS),
    (S.CANCELLED, S.FUNNEL),
}


@pytest.mark.parametrize("from_state, to_state", list(itertools.permutations(S.values, 2)))
def test_every_move_between_two_states_follows_the_table(flow, from_state, to_state):
    epic = EpicFactory(flow_team=flow.flow_team, state=from_state, acceptance_conditions="ok")
    if (from_state, to_state) in ALLOWED:
        moved = services.epic_change(actor=flow.actor("cpo"), epic=epic, to_state=to_state)
        assert moved.state == to_state
        assert Epic.objects.get(pk=epic.pk).state == to_state
        assert RoadmapChange.objects.filter(epic=epic, kind="state").count() == 1
    else:
        with pytest.raises(RuleViolation) as refusal:
            services.epic_change(actor=flow.actor("cpo"), epic=epic, to_state=to_state)
        assert refusal.value.detail == {
            "state": [f"an epic cannot move from {S(from_state).label} to {S(to_state).label}"]
        }
        assert Epic.objects.get(pk=epic.pk).state == from_state
        assert not RoadmapChange.objects.filter(epic=epic).exists()


def test_a_ready_epic_needs_acceptance_conditions(flow):
    epic = EpicFactory(flow_team=flow.flow_team, state=S.FUNNEL, acceptance_conditions="  ")
    with pytest.raises(RuleViolation) as refusal:
        services.epic_change(actor=flow.actor("cpo"), epic=epic, to_state=S.READY)
    assert refusal.value.detail == {
        "acceptance_conditions": ["a ready epic has acceptance conditions"]
    }
    assert Epic.objects.get(pk=epic.pk).state == S.FUNNEL


def test_an_unknown_state_is_named(flow):
    epic = EpicFactory(flow_team=flow.flow_team, state=S.FUNNEL)
    with pytest.raises(RuleViolation) as refusal:
        services.epic_change(actor=flow.actor("cpo"), epic=epic, to_state="shipped")
    assert refusal.value.detail == {"state": ["unknown state 'shipped'"]}


@pytest.mark.parametrize("role", ["csm", "architect", "po1", "sm1", "dev1", "stakeholder"])
def test_only_the_cpo_moves_epics_saying_so(flow, role):
    epic = EpicFactory(flow_team=flow.flow_team, state=S.FUNNEL, acceptance_conditions="ok")
    with pytest.raises(PermissionRefused) as refused:
        services.epic_change(actor=flow.actor(role), epic=epic, to_state=S.READY)
    assert str(refused.value) == "only the CPO moves epics"
    assert Epic.objects.get(pk=epic.pk).state == S.FUNNEL


def test_a_move_lands_only_on_the_version_it_was_given(flow):
    epic = EpicFactory(flow_team=flow.flow_team, state=S.FUNNEL, acceptance_conditions="ok")
    cpo = flow.actor("cpo")
    services.epic_change(actor=cpo, epic=epic, to_state=S.READY, expected_version=1)
    with pytest.raises(VersionConflict) as conflict:
        services.epic_change(actor=cpo, epic=epic, to_state=S.FUNNEL, expected_version=1)
    assert conflict.value.current_version == 2
    assert Epic.objects.filter(pk=epic.pk).values_list("state", "version").get() == (S.READY, 2)
    assert RoadmapChange.objects.filter(epic=epic, kind="state").count() == 1
