"""The database itself refuses what it can hold: these bypass the services."""

import datetime

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction

from backlog.models import Dependency, ProductGoal, Story
from flow.models import FlowSprint
from teams.models import Membership, RoleAssignment, ScrumTeam
from tests.backlog.factories import EpicFactory, StoryFactory
from tests.flow.factories import FlowSprintFactory
from tests.teams.factories import FlowTeamFactory, UserFactory

pytestmark = pytest.mark.django_db


def _constraint(name: str):
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if constraint.name == name:
                return model, constraint
    raise LookupError(f"no constraint named {name}")


def refused(create, name: str):
    """``create`` is refused by the database, by the constraint ``name`` and no other.
    PostgreSQL names the constraint; SQLite names a CHECK, and a UNIQUE by its columns."""
    model, constraint = _constraint(name)
    with pytest.raises(IntegrityError) as refusal, transaction.atomic():
        create()
    message = str(refusal.value)
    if connection.vendor == "postgresql":
        assert f'"{name}"' in message, message
    elif isinstance(constraint, models.CheckConstraint):
        assert f"CHECK constraint failed: {name}" in message, message
    else:
        table = model._meta.db_table
        columns = [model._meta.get_field(field).column for field in constraint.fields]
        assert message.endswith(", ".join(f"{table}.{column}" for column in columns)), message


def role(flow, key):
    return Membership.objects.get(flow_team=flow.flow_team, user=flow.users[key])


def test_second_cpo_and_csm_refused(flow):
    for r in ("cpo", "csm"):
        refused(
            lambda r=r: RoleAssignment.objects.create(
                membership=role(flow, "dev1"), flow_team=flow.flow_team, role=r
            ),
            f"one_{r}_per_flow_team",
        )


def test_second_po_and_sm_of_a_scrum_team_refused(flow):
    for r in ("po", "sm"):
        refused(
            lambda r=r: RoleAssignment.objects.create(
                membership=role(flow, "dev1"),
                flow_team=flow.flow_team,
                role=r,
                scrum_team=flow.scrum_teams[0],
            ),
            f"one_{r}_per_scrum_team",
        )


def test_same_role_twice_refused(flow):
    refused(
        lambda: RoleAssignment.objects.create(
            membership=role(flow, "architect"), flow_team=flow.flow_team, role="architect"
        ),
        "flow_role_once_per_member",
    )
    refused(
        lambda: RoleAssignment.objects.create(
            membership=role(flow, "dev1"),
            flow_team=flow.flow_team,
            role="developer",
            scrum_team=flow.scrum_teams[0],
        ),
        "team_role_once_per_member",
    )


def test_team_role_needs_its_scrum_team_and_flow_role_none(flow):
    refused(
        lambda: RoleAssignment.objects.create(
            membership=role(flow, "dev1"), flow_team=flow.flow_team, role="developer"
        ),
        "team_roles_name_their_scrum_team",
    )
    refused(
        lambda: RoleAssignment.objects.create(
            membership=role(flow, "dev1"),
            flow_team=flow.flow_team,
            role="architect",
            scrum_team=flow.scrum_teams[0],
        ),
        "team_roles_name_their_scrum_team",
    )


def test_sixteenth_scrum_team_refused():
    flow_team = FlowTeamFactory()
    for n in range(1, 16):
        ScrumTeam.objects.create(flow_team=flow_team, number=n, name=f"T{n}")
    refused(
        lambda: ScrumTeam.objects.create(flow_team=flow_team, number=16, name="T16"),
        "scrumteam_at_most_15_per_flow_team",
    )
    refused(
        lambda: ScrumTeam.objects.create(flow_team=flow_team, number=3, name="again"),
        "scrumteam_number_unique",
    )
    refused(
        lambda: ScrumTeam.objects.create(flow_team=FlowTeamFactory(), number=0, name="T0"),
        "scrumteam_at_most_15_per_flow_team",
    )


def test_hundred_fifty_first_member_refused():
    flow_team = FlowTeamFactory()
    users = [UserFactory(password=None) for _ in range(151)]
    Membership.objects.bulk_create(
        Membership(flow_team=flow_team, user=u, seat=i) for i, u in enumerate(users[:150], 1)
    )
    refused(
        lambda: Membership.objects.create(flow_team=flow_team, user=users[150], seat=151),
        "membership_at_most_150_per_flow_team",
    )
    refused(
        lambda: Membership.objects.create(flow_team=flow_team, user=users[150], seat=0),
        "membership_at_most_150_per_flow_team",
    )
    refused(
        lambda: Membership.objects.create(flow_team=flow_team, user=users[150], seat=7),
        "membership_seat_unique",
    )


def test_member_once_per_flow_team():
    flow_team = FlowTeamFactory()
    user = UserFactory(password=None)
    Membership.objects.create(flow_team=flow_team, user=user, seat=1)
    refused(
        lambda: Membership.objects.create(flow_team=flow_team, user=user, seat=2),
        "membership_user_once",
    )


def test_duplicate_flow_sprint_number_and_second_active_sprint_refused():
    sprint = FlowSprintFactory(number=1, state="active")
    refused(
        lambda: FlowSprint.objects.create(
            flow_team=sprint.flow_team,
            number=1,
            start=datetime.date(2030, 1, 1),
            end=datetime.date(2030, 1, 14),
        ),
        "flowsprint_number_unique",
    )
    refused(
        lambda: FlowSprint.objects.create(
            flow_team=sprint.flow_team,
            number=2,
            start=datetime.date(2030, 1, 1),
            end=datetime.date(2030, 1, 14),
            state="active",
        ),
        "one_active_flow_sprint",
    )
    refused(
        lambda: FlowSprint.objects.create(
            flow_team=sprint.flow_team,
            number=2,
            start=datetime.date(2030, 1, 14),
            end=datetime.date(2030, 1, 13),
        ),
        "flowsprint_end_after_start",
    )


def test_second_active_product_goal_refused():
    flow_team = FlowTeamFactory()
    ProductGoal.objects.create(flow_team=flow_team, statement="one")
    ProductGoal.objects.create(flow_team=flow_team, statement="old", status="achieved")
    refused(
        lambda: ProductGoal.objects.create(flow_team=flow_team, statement="two"),
        "one_active_product_goal",
    )


def test_story_rank_points_and_blocker_rules():
    story = StoryFactory(rank=100)
    refused(lambda: StoryFactory(scrum_team=story.scrum_team, rank=100), "story_rank_unique")
    refused(lambda: StoryFactory(scrum_team=story.scrum_team, points=4), "story_points_on_scale")
    refused(
        lambda: Story.objects.filter(pk=story.pk).update(blocked=True, blocked_reason=""),
        "blocked_story_has_reason",
    )


def test_epic_wsjf_on_scale_and_rank_unique():
    epic = EpicFactory(rank=10)
    refused(lambda: EpicFactory(flow_team=epic.flow_team, rank=10), "epic_rank_unique")
    refused(lambda: EpicFactory(flow_team=epic.flow_team, job_size=4), "epic_wsjf_on_scale")


def test_dependency_has_exactly_one_source_and_one_target():
    story = StoryFactory()
    epic = EpicFactory(flow_team=story.flow_team)
    refused(
        lambda: Dependency.objects.create(
            flow_team=story.flow_team, from_story=story, from_epic=epic, to_epic=epic
        ),
        "dependency_one_source",
    )
    refused(
        lambda: Dependency.objects.create(
            flow_team=story.flow_team, from_story=story, to_story=story, to_epic=epic
        ),
        "dependency_one_target",
    )


def test_planning_poker_one_open_round_votes_once_and_on_the_scale():
    from events.models import PokerRound, PokerVote
    from tests.events.factories import PokerRoundFactory

    first = PokerRoundFactory()
    now = first.opened_at
    refused(
        lambda: PokerRound.objects.create(event=first.event, story=first.story, opened_at=now),
        "poker_one_open_round",
    )
    refused(
        lambda: PokerRound.objects.create(
            event=first.event,
            story=first.story,
            opened_at=now,
            revealed_at=now,
            closed=True,
            agreed_points=4,
        ),
        "poker_agreed_on_scale",
    )
    refused(
        lambda: PokerRound.objects.create(
            event=first.event, story=first.story, opened_at=now, closed=True, agreed_points=5
        ),
        "poker_agreed_after_reveal",
    )
    voter = UserFactory()
    PokerVote.objects.create(round=first, voter=voter, value="?")
    refused(
        lambda: PokerVote.objects.create(round=first, voter=voter, value="5"), "poker_vote_once"
    )
    refused(
        lambda: PokerVote.objects.create(round=first, voter=UserFactory(), value="4"),
        "poker_vote_on_scale",
    )


def test_flow_sprint_goal_outcome_on_its_scale_and_a_miss_has_a_note():
    sprint = FlowSprintFactory()
    refused(
        lambda: FlowSprint.objects.filter(pk=sprint.pk).update(
            goal_outcome="maybe", goal_outcome_note="a note"
        ),
        "flowsprint_goal_outcome_choices",
    )
    refused(
        lambda: FlowSprint.objects.filter(pk=sprint.pk).update(
            goal_outcome="not_met", goal_outcome_note=""
        ),
        "flowsprint_goal_missed_has_note",
    )
    FlowSprint.objects.filter(pk=sprint.pk).update(goal_outcome="met")


def test_review_slots_once_per_team_and_position_and_feedback_on_one_thing():
    from events.models import ReviewFeedback
    from tests.events.factories import ReviewDemoSlotFactory, ReviewFeedbackFactory

    slot = ReviewDemoSlotFactory(position=1)
    refused(
        lambda: ReviewDemoSlotFactory(event=slot.event, scrum_team=slot.scrum_team, position=2),
        "review_slot_once_per_team",
    )
    other = ScrumTeam.objects.create(flow_team=slot.event.flow_team, number=14, name="Other")
    refused(
        lambda: ReviewDemoSlotFactory(event=slot.event, scrum_team=other, position=1),
        "review_slot_position_once",
    )
    refused(
        lambda: ReviewDemoSlotFactory(event=slot.event, scrum_team=other, position=0),
        "review_slot_position_min",
    )
    story = StoryFactory(scrum_team=other)
    epic = EpicFactory(flow_team=story.flow_team)
    feedback = ReviewFeedbackFactory(event=slot.event, story=story)
    refused(
        lambda: ReviewFeedback.objects.filter(pk=feedback.pk).update(epic=epic),
        "review_feedback_on_story_or_epic",
    )


def test_available_days_once_per_member_and_never_negative():
    from tests.flow.factories import MemberAvailabilityFactory

    given = MemberAvailabilityFactory()
    refused(
        lambda: MemberAvailabilityFactory(team_sprint=given.team_sprint, user=given.user),
        "availability_once_per_member",
    )
    refused(
        lambda: MemberAvailabilityFactory(team_sprint=given.team_sprint, days=-1),
        "availability_days_not_negative",
    )
