"""The database itself refuses what it can hold: these bypass the services."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from backlog.models import Dependency, ProductGoal, Story
from flow.models import FlowSprint
from teams.models import Membership, RoleAssignment, ScrumTeam
from tests.backlog.factories import EpicFactory, StoryFactory
from tests.flow.factories import FlowSprintFactory
from tests.teams.factories import FlowTeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def role(flow, key):
    return Membership.objects.get(flow_team=flow.flow_team, user=flow.users[key])


def test_second_cpo_and_csm_refused(flow):
    for r in ("cpo", "csm"):
        refused(
            lambda r=r: RoleAssignment.objects.create(
                membership=role(flow, "dev1"), flow_team=flow.flow_team, role=r
            )
        )


def test_second_po_and_sm_of_a_scrum_team_refused(flow):
    for r in ("po", "sm"):
        refused(
            lambda r=r: RoleAssignment.objects.create(
                membership=role(flow, "dev1"),
                flow_team=flow.flow_team,
                role=r,
                scrum_team=flow.scrum_teams[0],
            )
        )


def test_team_role_needs_its_scrum_team_and_flow_role_none(flow):
    refused(
        lambda: RoleAssignment.objects.create(
            membership=role(flow, "dev1"), flow_team=flow.flow_team, role="developer"
        )
    )
    refused(
        lambda: RoleAssignment.objects.create(
            membership=role(flow, "dev1"),
            flow_team=flow.flow_team,
            role="architect",
            scrum_team=flow.scrum_teams[0],
        )
    )


def test_sixteenth_scrum_team_refused():
    flow_team = FlowTeamFactory()
    for n in range(1, 16):
        ScrumTeam.objects.create(flow_team=flow_team, number=n, name=f"T{n}")
    refused(lambda: ScrumTeam.objects.create(flow_team=flow_team, number=16, name="T16"))
    refused(lambda: ScrumTeam.objects.create(flow_team=flow_team, number=3, name="again"))


def test_hundred_fifty_first_member_refused():
    flow_team = FlowTeamFactory()
    users = [UserFactory(password=None) for _ in range(151)]
    Membership.objects.bulk_create(
        Membership(flow_team=flow_team, user=u, seat=i) for i, u in enumerate(users[:150], 1)
    )
    refused(lambda: Membership.objects.create(flow_team=flow_team, user=users[150], seat=151))
    refused(lambda: Membership.objects.create(flow_team=flow_team, user=users[150], seat=7))
    refused(lambda: Membership.objects.create(flow_team=flow_team, user=users[0], seat=0))


def test_duplicate_flow_sprint_number_and_second_active_sprint_refused():
    sprint = FlowSprintFactory(number=1, state="active")
    refused(
        lambda: FlowSprint.objects.create(
            flow_team=sprint.flow_team,
            number=1,
            start=datetime.date(2030, 1, 1),
            end=datetime.date(2030, 1, 14),
        )
    )
    refused(
        lambda: FlowSprint.objects.create(
            flow_team=sprint.flow_team,
            number=2,
            start=datetime.date(2030, 1, 1),
            end=datetime.date(2030, 1, 14),
            state="active",
        )
    )


def test_second_active_product_goal_refused():
    flow_team = FlowTeamFactory()
    ProductGoal.objects.create(flow_team=flow_team, statement="one")
    ProductGoal.objects.create(flow_team=flow_team, statement="old", status="achieved")
    refused(lambda: ProductGoal.objects.create(flow_team=flow_team, statement="two"))


def test_story_rank_points_and_blocker_rules():
    story = StoryFactory(rank=100)
    refused(lambda: StoryFactory(scrum_team=story.scrum_team, rank=100))
    refused(lambda: StoryFactory(scrum_team=story.scrum_team, points=4))
    refused(lambda: Story.objects.filter(pk=story.pk).update(blocked=True, blocked_reason=""))


def test_epic_wsjf_on_scale_and_rank_unique():
    epic = EpicFactory(rank=10)
    refused(lambda: EpicFactory(flow_team=epic.flow_team, rank=10))
    refused(lambda: EpicFactory(flow_team=epic.flow_team, job_size=4))


def test_dependency_has_exactly_one_source():
    story = StoryFactory()
    epic = EpicFactory(flow_team=story.flow_team)
    refused(
        lambda: Dependency.objects.create(
            flow_team=story.flow_team, from_story=story, from_epic=epic, to_epic=epic
        )
    )
