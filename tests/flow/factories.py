import datetime

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from flow.models import (
    EpicClaim,
    FlowSprint,
    MemberAvailability,
    MetricSnapshot,
    Risk,
    SprintCommitment,
    TeamSprint,
)
from tests.backlog.factories import EpicFactory, StoryFactory
from tests.teams.factories import FlowTeamFactory, ScrumTeamFactory, UserFactory


class FlowSprintFactory(DjangoModelFactory):
    class Meta:
        model = FlowSprint

    flow_team = factory.SubFactory(FlowTeamFactory)
    number = factory.Sequence(lambda n: n + 1)
    start = factory.LazyAttribute(
        lambda o: o.flow_team.cadence_anchor + datetime.timedelta(weeks=2 * (o.number - 1))
    )
    end = factory.LazyAttribute(lambda o: o.start + datetime.timedelta(days=13))


class TeamSprintFactory(DjangoModelFactory):
    class Meta:
        model = TeamSprint

    flow_sprint = factory.SubFactory(FlowSprintFactory)
    scrum_team = factory.SubFactory(
        ScrumTeamFactory, flow_team=factory.SelfAttribute("..flow_sprint.flow_team")
    )


class MemberAvailabilityFactory(DjangoModelFactory):
    class Meta:
        model = MemberAvailability

    team_sprint = factory.SubFactory(TeamSprintFactory)
    user = factory.SubFactory(UserFactory)
    days = 8


class SprintCommitmentFactory(DjangoModelFactory):
    class Meta:
        model = SprintCommitment

    team_sprint = factory.SubFactory(TeamSprintFactory)
    story = factory.SubFactory(
        StoryFactory, scrum_team=factory.SelfAttribute("..team_sprint.scrum_team")
    )
    points_at_planning = factory.SelfAttribute("story.points")
    committed_at = factory.LazyFunction(timezone.now)


class EpicClaimFactory(DjangoModelFactory):
    class Meta:
        model = EpicClaim

    flow_sprint = factory.SubFactory(FlowSprintFactory)
    scrum_team = factory.SubFactory(
        ScrumTeamFactory, flow_team=factory.SelfAttribute("..flow_sprint.flow_team")
    )
    epic = factory.SubFactory(
        EpicFactory, flow_team=factory.SelfAttribute("..flow_sprint.flow_team")
    )
    claimed_at = factory.LazyFunction(timezone.now)


class RiskFactory(DjangoModelFactory):
    class Meta:
        model = Risk

    flow_team = factory.SubFactory(FlowTeamFactory)
    title = factory.Faker("sentence", nb_words=5)


class MetricSnapshotFactory(DjangoModelFactory):
    class Meta:
        model = MetricSnapshot

    flow_team = factory.SubFactory(FlowTeamFactory)
    as_of = factory.LazyFunction(datetime.date.today)
    computed_at = factory.LazyFunction(timezone.now)
    data = factory.LazyFunction(lambda: {"throughput": []})
