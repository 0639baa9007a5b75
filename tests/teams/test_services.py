from datetime import date, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.db import IntegrityError
from django.utils import timezone

from sem.errors import RuleViolation
from teams import services
from teams.models import ApiToken, FlowTeam, Membership, RoleAssignment, ScrumTeam, User
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


def test_a_scrum_team_takes_the_lowest_free_number_and_a_name_not_taken():
    flow_team = FlowTeamFactory()
    numbers = [services.scrum_team_create(flow_team=flow_team, name=n).number for n in "ABC"]
    assert numbers == [1, 2, 3]
    with pytest.raises(RuleViolation) as refusal:
        services.scrum_team_create(flow_team=flow_team, name="B")
    assert refusal.value.detail == {"name": ["a Scrum Team of this name exists in the Flow Team"]}
    ScrumTeam.objects.filter(flow_team=flow_team, name="B").delete()
    assert services.scrum_team_create(flow_team=flow_team, name="D").number == 2
    assert services.scrum_team_create(flow_team=flow_team, name="B").number == 4
    assert services.scrum_team_create(flow_team=FlowTeamFactory(), name="A").number == 1


def test_hundred_fifty_first_member_is_refused_with_a_message_until_a_seat_is_freed():
    flow_team = FlowTeamFactory()
    users = [UserFactory(password=None) for _ in range(153)]
    # Each takes the seat after the highest: 1 to 150 in turn.
    seated = [services.member_add(flow_team=flow_team, user=u).seat for u in users[:150]]
    assert seated == list(range(1, 151))
    full = {"user": ["a Flow Team has at most 150 members; remove someone first"]}
    with pytest.raises(RuleViolation) as refusal:
        services.member_add(flow_team=flow_team, user=users[150])
    assert refusal.value.detail == full
    assert Membership.objects.filter(flow_team=flow_team).count() == 150
    # Seats 1 and 149 freed (150 still taken): the next members get them, lowest first.
    Membership.objects.filter(flow_team=flow_team, seat__in=[1, 149]).delete()
    seats = [services.member_add(flow_team=flow_team, user=u).seat for u in users[150:152]]
    assert seats == [1, 149]
    with pytest.raises(RuleViolation) as refusal:
        services.member_add(flow_team=flow_team, user=users[152])
    assert refusal.value.detail == full


def test_member_add_is_idempotent(flow):
    first = Membership.objects.get(user=flow.dev1)
    again = services.member_add(flow_team=flow.flow_team, user=flow.dev1)
    assert again.pk == first.pk and again.seat == first.seat


@pytest.mark.parametrize(
    ("role", "team", "message"),
    [
        ("cpo", None, "this Flow Team already has a Chief Product Owner"),
        ("csm", None, "this Flow Team already has a Chief Scrum Master"),
        ("po", 0, "this Scrum Team already has a Product Owner"),
        ("sm", 1, "this Scrum Team already has a Scrum Master"),
    ],
)
def test_a_second_cpo_csm_po_or_sm_is_refused_naming_the_role(flow, role, team, message):
    membership = Membership.objects.get(user=flow.dev1)
    scrum_team = flow.scrum_teams[team] if team is not None else None
    with pytest.raises(RuleViolation) as refusal:
        services.role_assign(membership=membership, role=role, scrum_team=scrum_team)
    assert refusal.value.detail == {"role": [message]}
    assert not RoleAssignment.objects.filter(membership=membership, role=role).exists()


def test_a_po_may_also_be_the_architect(flow):
    membership = Membership.objects.get(user=flow.po1)
    services.role_assign(membership=membership, role="architect")
    assert set(membership.roles.values_list("role", flat=True)) == {"po", "architect"}


def test_team_role_needs_a_team_of_the_same_flow_team(flow, foreign):
    membership = Membership.objects.get(user=flow.dev1)
    before = set(membership.roles.values_list("role", "scrum_team"))
    with pytest.raises(RuleViolation) as refusal:
        services.role_assign(membership=membership, role="developer")
    assert refusal.value.detail == {"scrum_team": ["a team role names its Scrum Team"]}
    with pytest.raises(RuleViolation) as refusal:
        services.role_assign(
            membership=membership, role="developer", scrum_team=foreign.scrum_teams[0]
        )
    assert refusal.value.detail == {"scrum_team": ["the Scrum Team is not in this Flow Team"]}
    with pytest.raises(RuleViolation) as refusal:
        services.role_assign(
            membership=membership, role="architect", scrum_team=flow.scrum_teams[0]
        )
    assert refusal.value.detail == {"scrum_team": ["a Flow role belongs to no Scrum Team"]}
    with pytest.raises(RuleViolation) as refusal:
        services.role_assign(membership=membership, role="tester")
    assert refusal.value.detail == {"role": ["unknown role 'tester'"]}
    assert set(membership.roles.values_list("role", "scrum_team")) == before


def test_flow_team_create_defaults_to_two_week_sprints_in_utc_monday_to_friday():
    made = services.flow_team_create(name="X", slug="x", cadence_anchor=date(2026, 1, 5))
    fresh = FlowTeam.objects.get(pk=made.pk)
    assert (fresh.sprint_length_weeks, fresh.timezone, fresh.working_weekdays) == (
        2,
        "UTC",
        [0, 1, 2, 3, 4],
    )
    # 3 and 4 weeks are Flow Sprints too; a weekday named twice is one working day.
    for weeks in (3, 4):
        made = services.flow_team_create(
            name=f"Y{weeks}",
            slug=f"y{weeks}",
            cadence_anchor=date(2026, 1, 5),
            sprint_length_weeks=weeks,
            timezone="Asia/Tokyo",
            working_weekdays=[6, 0, 6],
        )
        fresh = FlowTeam.objects.get(pk=made.pk)
        assert (fresh.sprint_length_weeks, fresh.timezone, fresh.working_weekdays) == (
            weeks,
            "Asia/Tokyo",
            [0, 6],
        )


def test_flow_team_create_validates_inputs():
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(
            name="X", slug="x", cadence_anchor="2026-01-05", sprint_length_weeks=5
        )
    assert refusal.value.detail == {"sprint_length_weeks": ["a Flow Sprint lasts 2, 3 or 4 weeks"]}
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(
            name="X", slug="x", cadence_anchor="2026-01-05", timezone="Mars/Olympus"
        )
    assert refusal.value.detail == {"timezone": ["unknown timezone 'Mars/Olympus'"]}
    for weekdays in ([], [0, 7], [-1]):
        with pytest.raises(RuleViolation) as refusal:
            services.flow_team_create(
                name="X", slug="x", cadence_anchor="2026-01-05", working_weekdays=weekdays
            )
        assert refusal.value.detail == {
            "working_days": ["name at least one weekday, 0 (Monday) to 6"]
        }
    services.flow_team_create(name="X", slug="x", cadence_anchor="2026-01-05")
    with pytest.raises(RuleViolation) as refusal:
        services.flow_team_create(name="Y", slug="x", cadence_anchor="2026-01-05")
    assert refusal.value.detail == {"slug": ["this slug is taken"]}
    assert list(FlowTeam.objects.filter(slug="x").values_list("name", flat=True)) == ["X"]


def test_user_create_stores_the_email_lowercased_with_the_password_and_name():
    user = services.user_create(
        email="Ada.Lovelace@Example.COM", password="s3cret", full_name="Ada"
    )
    user.refresh_from_db()
    assert user.email == "ada.lovelace@example.com"
    assert user.check_password("s3cret") and user.full_name == "Ada"


def test_user_create_without_a_name_leaves_it_blank():
    user = services.user_create(email="nameless@example.com")
    user.refresh_from_db()
    assert user.full_name == "" and not user.has_usable_password()


def test_user_create_refuses_an_email_taken_in_any_case():
    services.user_create(email="ada@example.com")
    with pytest.raises(RuleViolation) as refusal:
        services.user_create(email="ADA@example.com", full_name="Impostor")
    assert refusal.value.detail == {"email": ["a person with this email already exists"]}
    assert User.objects.filter(email__iexact="ada@example.com").count() == 1


def test_user_update_refuses_the_first_unknown_or_read_only_field_and_writes_nothing():
    user = UserFactory(email="ada@example.com", full_name="Ada")
    with pytest.raises(RuleViolation) as refusal:
        services.user_update(
            user=user, data={"password": "x", "full_name": "Eve", "date_joined": None}
        )
    assert refusal.value.detail == {"date_joined": ["unknown or read-only field"]}
    user.refresh_from_db()
    assert user.full_name == "Ada"


def test_user_update_stores_a_new_email_lowercased():
    user = UserFactory(email="ada@example.com")
    services.user_update(user=user, data={"email": "Ada.King@Example.COM"})
    user.refresh_from_db()
    assert user.email == "ada.king@example.com"


def test_user_update_keeps_a_persons_own_email_in_another_case():
    user = UserFactory(email="ada@example.com")
    services.user_update(user=user, data={"email": "ADA@example.com"})
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_user_update_refuses_another_persons_email():
    UserFactory(email="eve@example.com")
    user = UserFactory(email="ada@example.com")
    with pytest.raises(RuleViolation) as refusal:
        services.user_update(user=user, data={"email": "Eve@example.com"})
    assert refusal.value.detail == {"email": ["a person with this email already exists"]}
    user.refresh_from_db()
    assert user.email == "ada@example.com"


def test_user_update_writes_only_the_fields_it_is_given():
    """The operator's form was read before; a sign-in meanwhile (last_login) or another
    operator's change of the name is not written back over."""
    user = UserFactory(email="ada@example.com", full_name="Ada")
    User.objects.filter(pk=user.pk).update(full_name="Ada King")
    services.user_update(user=user, data={"is_staff": True})
    user.refresh_from_db()
    assert user.is_staff and user.full_name == "Ada King"


def test_scrum_team_rename_strips_the_name(flow):
    renamed = services.scrum_team_rename(scrum_team=flow.scrum_teams[0], name="  Rockets  ")
    assert renamed.name == "Rockets"
    assert ScrumTeam.objects.get(pk=flow.scrum_teams[0].pk).name == "Rockets"


def test_scrum_team_rename_refuses_a_blank_name(flow):
    with pytest.raises(RuleViolation) as refusal:
        services.scrum_team_rename(scrum_team=flow.scrum_teams[0], name="   ")
    assert refusal.value.detail == {"name": ["give the Scrum Team a name"]}
    assert ScrumTeam.objects.get(pk=flow.scrum_teams[0].pk).name == "Team 1"


def test_scrum_team_rename_refuses_the_name_of_another_team_of_the_flow_team(flow):
    with pytest.raises(RuleViolation) as refusal:
        services.scrum_team_rename(scrum_team=flow.scrum_teams[0], name="Team 2")
    assert refusal.value.detail == {"name": ["a Scrum Team of this name exists in the Flow Team"]}
    assert ScrumTeam.objects.get(pk=flow.scrum_teams[0].pk).name == "Team 1"


def test_scrum_team_rename_may_take_a_name_used_in_another_flow_team(flow, foreign):
    services.scrum_team_rename(scrum_team=foreign.scrum_teams[0], name="Rockets")
    services.scrum_team_rename(scrum_team=flow.scrum_teams[0], name="Rockets")
    assert ScrumTeam.objects.get(pk=flow.scrum_teams[0].pk).name == "Rockets"


def test_scrum_team_rename_to_its_own_name_is_no_clash(flow):
    services.scrum_team_rename(scrum_team=flow.scrum_teams[0], name="Team 1")
    assert ScrumTeam.objects.get(pk=flow.scrum_teams[0].pk).name == "Team 1"


@pytest.mark.parametrize("role", ["cpo", "csm", "po", "sm"])
def test_an_integrity_error_while_the_roles_seat_is_free_is_not_reported_as_taken(
    flow, monkeypatch, role
):
    """Only a taken seat becomes "already has a …"; any other refusal of the database
    (a membership deleted meanwhile, say) is raised as it is. ``flow`` holds every
    role in other teams."""
    flow_team = FlowTeamFactory()
    team = services.scrum_team_create(flow_team=flow_team, name="Alone")
    developer = services.member_add(flow_team=flow_team, user=UserFactory())
    services.role_assign(membership=developer, role="developer", scrum_team=team)
    membership = services.member_add(flow_team=flow_team, user=UserFactory())

    def refused(**fields):
        raise IntegrityError("FOREIGN KEY constraint failed")

    monkeypatch.setattr(RoleAssignment.objects, "create", refused)
    scrum_team = team if role in ("po", "sm") else None
    with pytest.raises(IntegrityError):
        services.role_assign(membership=membership, role=role, scrum_team=scrum_team)


def test_role_revoke_removes_only_that_role_of_that_member_in_that_team(flow):
    team1, team2 = flow.scrum_teams[:2]
    dev1 = Membership.objects.get(user=flow.dev1)
    dev2 = Membership.objects.get(user=flow.dev2)
    services.role_assign(membership=dev1, role="developer", scrum_team=team2)
    services.role_assign(membership=dev2, role="developer", scrum_team=team1)
    po1 = Membership.objects.get(user=flow.po1)
    services.role_assign(membership=po1, role="developer", scrum_team=team1)

    assert services.role_revoke(membership=dev1, role="developer", scrum_team=team1) == 1
    assert services.role_revoke(membership=po1, role="developer", scrum_team=team1) == 1

    assert set(
        RoleAssignment.objects.filter(scrum_team=team1).values_list("membership", "role")
    ) == {
        (po1.pk, "po"),
        (Membership.objects.get(user=flow.sm1).pk, "sm"),
        (dev2.pk, "developer"),
    }
    assert RoleAssignment.objects.filter(membership=dev1, scrum_team=team2).exists()


def test_api_token_revoke_refuses_a_token_already_revoked(flow):
    token, _ = services.api_token_create(user=flow.dev1, name="CI")
    first = services.api_token_revoke(user=flow.dev1, token_id=token.pk).revoked_at
    with pytest.raises(RuleViolation) as refusal:
        services.api_token_revoke(user=flow.dev1, token_id=token.pk)
    assert refusal.value.detail == {"token": ["no such active token"]}
    token.refresh_from_db()
    assert token.revoked_at == first


def test_a_use_recorded_while_the_token_is_revoked_stays_its_last_use(flow, monkeypatch):
    """The token page shows "Last used", and after the revoke nothing writes it again: a
    script's request recorded between the revoke's read and its write must not be written
    back over (the revoke writes revoked_at alone)."""
    token, _ = services.api_token_create(user=flow.dev1, name="CI")
    used = timezone.now().replace(microsecond=0)

    def now_after_a_use():
        # The revoke asks the time between its read and its write: the use lands there, as
        # api_token_authenticate records it.
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=used)
        return used + timedelta(seconds=1)

    monkeypatch.setattr(services, "timezone", SimpleNamespace(now=now_after_a_use))
    services.api_token_revoke(user=flow.dev1, token_id=token.pk)
    token.refresh_from_db()
    assert (token.last_used_at, token.revoked_at) == (used, used + timedelta(seconds=1))


def test_a_token_is_named_in_1_to_80_characters_saying_so(flow):
    for name in ("", "   "):
        with pytest.raises(RuleViolation) as refusal:
            services.api_token_create(user=flow.dev1, name=name)
        assert refusal.value.detail == {"name": ["name the token (what uses it)"]}
    with pytest.raises(RuleViolation) as refusal:
        services.api_token_create(user=flow.dev1, name="x" * 81)
    assert refusal.value.detail == {"name": ["at most 80 characters"]}
    token, secret = services.api_token_create(user=flow.dev1, name=f" {'x' * 80} ")
    assert (token.name, token.prefix, secret[:3]) == ("x" * 80, secret[:10], "sf_")
    assert list(ApiToken.objects.filter(user=flow.dev1).values_list("name", flat=True)) == [
        "x" * 80
    ]


def test_a_tokens_use_is_recorded_once_a_minute_at_most(flow):
    token, secret = services.api_token_create(user=flow.dev1, name="CI")
    start = timezone.now()

    def use(after_seconds):
        with time_machine.travel(start + timedelta(seconds=after_seconds), tick=False):
            found = services.api_token_authenticate(secret=secret)
        assert found.pk == token.pk and found.actor.user == flow.dev1
        return ApiToken.objects.get(pk=token.pk).last_used_at

    assert use(0) == start  # the first use
    assert use(60) == start  # a minute later: not yet
    assert use(60.5) == start + timedelta(seconds=60.5)
    assert services.api_token_authenticate(secret=secret + "x") is None
    assert services.api_token_authenticate(secret="") is None
