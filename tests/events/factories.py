import datetime

import factory
from factory.django import DjangoModelFactory

from events.models import (
    ActionItem,
    CalendarFeed,
    DailyScrumNote,
    Event,
    PokerRound,
    PokerVote,
    RetroCard,
    Retrospective,
    RetroVote,
    ReviewDemoSlot,
    ReviewFeedback,
    ScrumOfScrumsReport,
)
from tests.flow.factories import FlowSprintFactory
from tests.teams.factories import ScrumTeamFactory, UserFactory


class EventFactory(DjangoModelFactory):
    class Meta:
        model = Event

    flow_sprint = factory.SubFactory(FlowSprintFactory)
    flow_team = factory.SelfAttribute("flow_sprint.flow_team")
    kind = Event.Kind.SCRUM_OF_SCRUMS
    level = Event.Level.FLOW
    occurrence = factory.Sequence(lambda n: n + 1)
    starts_at = factory.LazyAttribute(
        lambda o: datetime.datetime.combine(o.flow_sprint.start, datetime.time(9), datetime.UTC)
    )
    duration_minutes = 45


class TeamEventFactory(EventFactory):
    kind = Event.Kind.DAILY_SCRUM
    level = Event.Level.TEAM
    scrum_team = factory.SubFactory(
        ScrumTeamFactory, flow_team=factory.SelfAttribute("..flow_sprint.flow_team")
    )
    duration_minutes = 15


class ScrumOfScrumsReportFactory(DjangoModelFactory):
    class Meta:
        model = ScrumOfScrumsReport

    event = factory.SubFactory(EventFactory)
    scrum_team = factory.SubFactory(
        ScrumTeamFactory, flow_team=factory.SelfAttribute("..event.flow_team")
    )
    done_since_last = factory.Faker("sentence")


class ActionItemFactory(DjangoModelFactory):
    class Meta:
        model = ActionItem

    event = factory.SubFactory(EventFactory)
    text = factory.Faker("sentence")


class DailyScrumNoteFactory(DjangoModelFactory):
    class Meta:
        model = DailyScrumNote

    event = factory.SubFactory(TeamEventFactory)
    person = factory.SubFactory(UserFactory)
    today = factory.Faker("sentence")


class RetrospectiveFactory(DjangoModelFactory):
    class Meta:
        model = Retrospective

    event = factory.SubFactory(EventFactory, kind=Event.Kind.FLOW_RETRO)


class RetroCardFactory(DjangoModelFactory):
    class Meta:
        model = RetroCard

    retrospective = factory.SubFactory(RetrospectiveFactory)
    column = 0
    text = factory.Faker("sentence")
    author = factory.SubFactory(UserFactory)


class RetroVoteFactory(DjangoModelFactory):
    class Meta:
        model = RetroVote

    card = factory.SubFactory(RetroCardFactory)
    voter = factory.SubFactory(UserFactory)


class ReviewFeedbackFactory(DjangoModelFactory):
    class Meta:
        model = ReviewFeedback

    event = factory.SubFactory(EventFactory, kind=Event.Kind.REVIEW)
    text = factory.Faker("sentence")
    author = factory.SubFactory(UserFactory)


class ReviewDemoSlotFactory(DjangoModelFactory):
    class Meta:
        model = ReviewDemoSlot

    event = factory.SubFactory(EventFactory, kind=Event.Kind.REVIEW)
    scrum_team = factory.SubFactory(
        ScrumTeamFactory, flow_team=factory.SelfAttribute("..event.flow_team")
    )
    position = factory.Sequence(lambda n: n + 1)


class CalendarFeedFactory(DjangoModelFactory):
    class Meta:
        model = CalendarFeed

    user = factory.SubFactory(UserFactory)
    flow_team = factory.SubFactory("tests.teams.factories.FlowTeamFactory")
    scope = CalendarFeed.Scope.FLOW
    token_hash = factory.Sequence(lambda n: f"{n:064x}")


class PokerRoundFactory(DjangoModelFactory):
    class Meta:
        model = PokerRound

    event = factory.SubFactory(
        TeamEventFactory, kind=Event.Kind.BACKLOG_REFINEMENT, duration_minutes=90
    )
    story = factory.SubFactory(
        "tests.backlog.factories.StoryFactory",
        scrum_team=factory.SelfAttribute("..event.scrum_team"),
    )
    opened_at = factory.LazyFunction(lambda: datetime.datetime.now(datetime.UTC))


class PokerVoteFactory(DjangoModelFactory):
    class Meta:
        model = PokerVote

    round = factory.SubFactory(PokerRoundFactory)
    voter = factory.SubFactory(UserFactory)
    value = "5"
