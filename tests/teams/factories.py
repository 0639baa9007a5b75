import datetime

import factory
from factory.django import DjangoModelFactory

from teams.models import (
    ApiToken,
    FlowTeam,
    Membership,
    Role,
    RoleAssignment,
    ScrumTeam,
    User,
    WebhookDelivery,
    WebhookEndpoint,
)
from teams.webhooks import webhook_subscriptions_changed


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password("demo")


class FlowTeamFactory(DjangoModelFactory):
    class Meta:
        model = FlowTeam

    name = factory.Sequence(lambda n: f"Flow Team {n}")
    slug = factory.Sequence(lambda n: f"flow-team-{n}")
    sprint_length_weeks = 2
    cadence_anchor = datetime.date(2026, 1, 5)
    timezone = "Europe/Berlin"


class ScrumTeamFactory(DjangoModelFactory):
    class Meta:
        model = ScrumTeam

    flow_team = factory.SubFactory(FlowTeamFactory)
    number = factory.Sequence(lambda n: n % 15 + 1)
    name = factory.LazyAttribute(lambda o: f"Team {o.number}")


class MembershipFactory(DjangoModelFactory):
    class Meta:
        model = Membership

    flow_team = factory.SubFactory(FlowTeamFactory)
    user = factory.SubFactory(UserFactory)
    seat = factory.Sequence(lambda n: n % 150 + 1)


class RoleAssignmentFactory(DjangoModelFactory):
    class Meta:
        model = RoleAssignment

    membership = factory.SubFactory(MembershipFactory)
    flow_team = factory.SelfAttribute("membership.flow_team")
    role = Role.DEVELOPER
    scrum_team = factory.LazyAttribute(
        lambda o: (
            ScrumTeamFactory(flow_team=o.membership.flow_team)
            if o.role in ("po", "sm", "developer")
            else None
        )
    )


class ApiTokenFactory(DjangoModelFactory):
    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    name = "script"
    prefix = factory.Sequence(lambda n: f"sf_{n:07d}")
    token_hash = factory.Sequence(lambda n: f"{n:064x}")


class WebhookEndpointFactory(DjangoModelFactory):
    class Meta:
        model = WebhookEndpoint
        skip_postgeneration_save = True

    flow_team = factory.SubFactory(FlowTeamFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example.com/sem/{n}")
    secret = factory.Sequence(lambda n: f"{n:064x}")
    event_types = factory.LazyFunction(lambda: ["story", "epic", "dependency"])

    @factory.post_generation
    def subscriptions_changed(obj, create, extracted, **kwargs):
        # Written past the services: drop the Flow Team's cached subscriptions as they do.
        webhook_subscriptions_changed(obj.flow_team_id)


class WebhookDeliveryFactory(DjangoModelFactory):
    class Meta:
        model = WebhookDelivery

    endpoint = factory.SubFactory(WebhookEndpointFactory)
    event = "story.updated"
    payload = factory.LazyFunction(lambda: {"event": "story.updated", "data": {"id": 1}})
