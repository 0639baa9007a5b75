import pytest

from sem.errors import RuleViolation
from teams import services
from teams.models import Membership, RoleAssignment, ScrumTeam
from tests.teams.factories import FlowTeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_sixteenth_scrum_team_is_refused_with_a_message():
    flow_team = FlowTeamFactory()
    for n in range(15):
        services.scrum_team_create(flow_team=flow_team, name=f"T{n}")
    with pytest.raises(RuleViolation) as refusal:
        services.scrum_team_create(flow_team=flow_team, name="T15")
    assert refusal.value.detail == {"flow_team": ["a Flow Team has at most 15 Scrum Teams"]}
    assert ScrumTeam.objects.filter(flow_team=flow_team).count() == 15


def test_hundred_fifty_first_member_is_refused_with_a_message():
    flow_team = FlowTeamFactory()
    users = [UserFactory(password=None) for _ in range(151)]
    for user in users[:150]:
        services.member_add(flow_team=flow_team, user=user)
    with pytest.raises(RuleViolation) as refusal:
        services.member_add(flow_team=flow_team, user=users[150])
    assert refusal.value.field == "user"
    assert "at most 150 members" in refusal.value.detail["user"][0]
    assert Membership.objects.filter(flow_team=flow_team).count() == 150


def test_member_add_is_idempotent(flow):
    first = Membership.objects.get(user=flow.dev1)
    again = services.member_add(flow_team=flow.flow_team, user=flow.dev1)
    assert again.pk == first.pk and again.seat == first.seat


def test_second_cpo_is_refused_naming_the_role(flow):
    membership = Membership.objects.get(user=flow.dev1)
    with pytest.raises(RuleViolation) as refusal:
        services.role_assign(membership=membership, role="cpo")
    assert refusal.value.detail == {"role": ["this Flow Team already has a Chief Product Owner"]}
    assert not RoleAssignment.objects.filter(membership=membership, role="cpo").exists()


def test_second_po_of_a_team_is_refused(flow):
    membership = Membership.objects.get(user=flow.dev1)
    with pytest.raises(RuleViolation, match="already has a Product Owner"):
        services.role_assign(membership=membership, role="po", scrum_team=flow.scrum_teams[0])


def test_a_po_may_also_be_the_architect(flow):
    membership = Membership.objects.get(user=flow.po1)
    services.role_assign(membership=membership, role="architect")
    assert set(membership.roles.values_list("role", flat=True)) == {"po", "architect"}


def test_team_role_needs_a_team_of_the_same_flow_team(flow, foreign):
    membership = Membership.objects.get(user=flow.dev1)
    with pytest.raises(RuleViolation, match="names its Scrum Team"):
        services.role_assign(membership=membership, role="developer")
    with pytest.raises(RuleViolation, match="not in this Flow Team"):
        services.role_assign(
            membership=membership, role="developer", scrum_team=foreign.scrum_teams[0]
        )


def test_flow_team_create_validates_inputs():
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(
            name="X", slug="x", cadence_anchor="2026-01-05", sprint_length_weeks=5
        )
    assert refusal.value.field == "sprint_length_weeks"
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(
            name="X", slug="x", cadence_anchor="2026-01-05", timezone="Mars/Olympus"
        )
    assert refusal.value.field == "timezone"
