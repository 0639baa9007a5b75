import datetime

import factory
from factory.django import DjangoModelFactory

from backlog.models import (
    AcceptanceCriterion,
    Blocker,
    Dependency,
    DependencyStep,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    StateChange,
    Story,
    Task,
)
from backlog.ranking import GAP
from tests.teams.factories import FlowTeamFactory, ScrumTeamFactory, UserFactory


class ProductGoalFactory(DjangoModelFactory):
    class Meta:
        model = ProductGoal

    flow_team = factory.SubFactory(FlowTeamFactory)
    statement = factory.Faker("sentence")


class MilestoneFactory(DjangoModelFactory):
    class Meta:
        model = Milestone

    flow_team = factory.SubFactory(FlowTeamFactory)
    name = factory.Sequence(lambda n: f"Milestone {n}")
    objective = factory.Faker("sentence")
    start = factory.Faker("date_between", start_date="-30d", end_date="today")
    end = factory.LazyAttribute(lambda o: o.start + datetime.timedelta(weeks=9))
    order = factory.Sequence(lambda n: n + 1)


class EpicFactory(DjangoModelFactory):
    class Meta:
        model = Epic

    flow_team = factory.SubFactory(FlowTeamFactory)
    title = factory.Faker("catch_phrase")
    rank = factory.Sequence(lambda n: (n + 1) * GAP)
    business_value = 5
    time_criticality = 3
    risk_reduction = 2
    job_size = 5


class StoryFactory(DjangoModelFactory):
    class Meta:
        model = Story

    scrum_team = factory.SubFactory(ScrumTeamFactory)
    flow_team = factory.SelfAttribute("scrum_team.flow_team")
    title = factory.Faker("sentence", nb_words=5)
    as_a = "product manager"
    i_want = factory.Faker("sentence")
    rank = factory.Sequence(lambda n: (n + 1) * GAP)
    points = 3


class AcceptanceCriterionFactory(DjangoModelFactory):
    class Meta:
        model = AcceptanceCriterion

    story = factory.SubFactory(StoryFactory)
    position = factory.Sequence(lambda n: n + 1)
    text = factory.Faker("sentence")


class TaskFactory(DjangoModelFactory):
    class Meta:
        model = Task

    story = factory.SubFactory(StoryFactory)
    title = factory.Faker("sentence", nb_words=4)


class BlockerFactory(DjangoModelFactory):
    class Meta:
        model = Blocker

    story = factory.SubFactory(StoryFactory, blocked=True, blocked_reason="waiting")
    reason = "waiting"
    raised_at = factory.Faker("date_time_this_month", tzinfo=datetime.UTC)
    raised_by = factory.SubFactory(UserFactory)


class DependencyFactory(DjangoModelFactory):
    class Meta:
        model = Dependency

    from_story = factory.SubFactory(StoryFactory)
    flow_team = factory.SelfAttribute("from_story.flow_team")
    to_story = factory.SubFactory(
        StoryFactory, scrum_team__flow_team=factory.SelfAttribute("...flow_team")
    )


class DependencyStepFactory(DjangoModelFactory):
    class Meta:
        model = DependencyStep

    dependency = factory.SubFactory(DependencyFactory)
    kind = "raised"
    at = factory.Faker("date_time_this_month", tzinfo=datetime.UTC)


class RoadmapChangeFactory(DjangoModelFactory):
    class Meta:
        model = RoadmapChange

    epic = factory.SubFactory(EpicFactory)
    flow_team = factory.SelfAttribute("epic.flow_team")
    kind = "rescored"
    before = factory.LazyFunction(lambda: {"job_size": 5})
    after = factory.LazyFunction(lambda: {"job_size": 3})
    at = factory.Faker("date_time_this_month", tzinfo=datetime.UTC)


class StateChangeFactory(DjangoModelFactory):
    class Meta:
        model = StateChange

    story = factory.SubFactory(StoryFactory)
    flow_team = factory.SelfAttribute("story.flow_team")
    from_state = "backlog"
    to_state = "ready"
    at = factory.Faker("date_time_this_month", tzinfo=datetime.UTC)


def roadmap_milestones(actor, numbers, start=datetime.date(2026, 1, 5)) -> list[Milestone]:
    """Milestones "M<n>" of nine weeks each, one after another, through the service (so
    the roadmap's change log and live version see them, as on a real roadmap)."""
    from backlog.services import milestone_create

    return [
        milestone_create(
            actor=actor,
            name=f"M{n}",
            objective=f"objective {n}",
            start=start + datetime.timedelta(weeks=9 * n),
            end=start + datetime.timedelta(weeks=9 * n + 9),
        )
        for n in numbers
    ]
