import pytest

from teams import services
from teams.models import Role
from teams.selectors import scrum_team_people
from tests.teams.factories import FlowTeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _person(flow_team, email, name, *roles, team):
    user = UserFactory(email=email, full_name=name, password=None)
    membership = services.member_add(flow_team=flow_team, user=user)
    for role in roles:
        services.role_assign(
            membership=membership, role=role, scrum_team=None if role == Role.CPO else team
        )
    return user


def test_a_scrum_teams_people_are_listed_once_by_name_then_email_with_their_team_roles_in_order(
    django_assert_num_queries,
):
    flow_team = FlowTeamFactory()
    team = services.scrum_team_create(flow_team=flow_team, name="Alpha")
    other = services.scrum_team_create(flow_team=flow_team, name="Beta")
    # Roles assigned developer first: the listing names them PO, SM, developer all the same.
    both = _person(flow_team, "b@example.com", "Ann", Role.DEVELOPER, Role.SM, team=team)
    first = _person(flow_team, "a@example.com", "Ann", Role.DEVELOPER, team=team)
    owner = _person(flow_team, "z@example.com", "Zoe", Role.PO, team=team)
    _person(flow_team, "c@example.com", "Carl", Role.DEVELOPER, team=other)
    # A CPO (a Flow role) is in no Scrum Team's list.
    _person(flow_team, "cpo@example.com", "Ada", Role.CPO, team=team)

    with django_assert_num_queries(1):
        people = scrum_team_people(scrum_team_id=team.pk)

    assert [(p.user, p.roles) for p in people] == [
        (first, (Role.DEVELOPER,)),
        (both, (Role.SM, Role.DEVELOPER)),
        (owner, (Role.PO,)),
    ]
    assert people[1].role_labels == ["Scrum Master", "Developer"]
