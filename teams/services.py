"""Every write to people and structure.

The database holds the caps (numbered seats and teams, one CPO/CSM/PO/SM); these
services pick the next free number under a lock on the Flow Team row and turn
what the database would refuse into a message naming the field.
"""

import hashlib
import secrets
from datetime import date

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from sem.errors import PermissionRefused, RuleViolation
from teams.models import (
    FLOW_ROLES,
    MAX_MEMBERS,
    MAX_SCRUM_TEAMS,
    TEAM_ROLES,
    ApiToken,
    FlowTeam,
    Membership,
    Role,
    RoleAssignment,
    ScrumTeam,
    User,
    validate_timezone,
)
from teams.permissions import TEAM_WORK_ROLES, Actor, can_facilitate
from teams.selectors import token_actor, token_actor_ctes

UNIQUE_ROLE_MESSAGES = {
    "one_cpo_per_flow_team": ("role", "this Flow Team already has a Chief Product Owner"),
    "one_csm_per_flow_team": ("role", "this Flow Team already has a Chief Scrum Master"),
    "one_po_per_scrum_team": ("role", "this Scrum Team already has a Product Owner"),
    "one_sm_per_scrum_team": ("role", "this Scrum Team already has a Scrum Master"),
}


def user_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    # create_user stores the email normalized and lowercased; the check ignores case.
    if User.objects.filter(email__iexact=email).exists():
        raise RuleViolation("a person with this email already exists", field="email")
    return User.objects.create_user(email=email, password=password, full_name=full_name)


USER_FIELDS = {"email", "full_name", "is_active", "is_staff", "is_superuser"}


@transaction.atomic
def user_update(*, user: User, data: dict) -> User:
    """The installation's operators edit accounts (the admin's user pages)."""
    refused = sorted(set(data) - USER_FIELDS)
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    if "email" in data:
        data = {**data, "email": User.objects.normalize_email(data["email"]).lower()}
        if User.objects.filter(email__iexact=data["email"]).exclude(pk=user.pk).exists():
            raise RuleViolation("a person with this email already exists", field="email")
    for field, value in data.items():
        setattr(user, field, value)
    if data:
        user.save(update_fields=list(data))
    return user


def flow_team_create(
    *,
    name: str,
    slug: str,
    cadence_anchor: date,
    sprint_length_weeks: int = 2,
    timezone: str = "UTC",
    working_weekdays: list[int] | None = None,
) -> FlowTeam:
    if sprint_length_weeks not in (2, 3, 4):
        raise RuleViolation("a Flow Sprint lasts 2, 3 or 4 weeks", field="sprint_length_weeks")
    _check_timezone(timezone)
    weekdays = working_weekdays if working_weekdays is not None else [0, 1, 2, 3, 4]
    _check_weekdays(weekdays)
    if FlowTeam.objects.filter(slug=slug).exists():
        raise RuleViolation("this slug is taken", field="slug")
    return FlowTeam.objects.create(
        name=name,
        slug=slug,
        cadence_anchor=cadence_anchor,
        sprint_length_weeks=sprint_length_weeks,
        timezone=timezone,
        working_days_mask=sum(1 << d for d in set(weekdays)),
    )


def _check_timezone(value) -> None:
    try:
        validate_timezone(value)
    except ValidationError as invalid:
        raise RuleViolation(invalid.messages[0], field="timezone") from invalid


def _check_weekdays(weekdays) -> None:
    if not weekdays or any(d not in range(7) for d in weekdays):
        raise RuleViolation("name at least one weekday, 0 (Monday) to 6", field="working_days")


FLOW_TEAM_FIELDS = {"name", "description", "sprint_length_weeks", "timezone", "working_weekdays"}


@transaction.atomic
def flow_team_update(*, actor: Actor, flow_team: FlowTeam, data: dict) -> FlowTeam:
    """The CSM keeps the Flow Team's cadence settings. The anchor and slug stay: the
    scheduled Flow Sprints and every link hang off them."""
    if actor.flow_team_id != flow_team.pk:
        raise RuleViolation("not your Flow Team", field="flow_team")
    if not can_facilitate(actor):
        raise PermissionRefused("the CSM keeps the Flow Team's cadence settings")
    refused = sorted(set(data) - FLOW_TEAM_FIELDS)
    if refused:
        raise RuleViolation("unknown or read-only field", field=refused[0])
    if "name" in data and not str(data["name"]).strip():
        raise RuleViolation("name the Flow Team", field="name")
    if "sprint_length_weeks" in data and data["sprint_length_weeks"] not in (2, 3, 4):
        raise RuleViolation("a Flow Sprint lasts 2, 3 or 4 weeks", field="sprint_length_weeks")
    if "timezone" in data:
        _check_timezone(data["timezone"])
    values = dict(data)
    if "working_weekdays" in values:
        weekdays = values.pop("working_weekdays")
        _check_weekdays(weekdays)
        values["working_days_mask"] = sum(1 << d for d in set(weekdays))
    flow_team = _lock(flow_team)
    for field, value in values.items():
        setattr(flow_team, field, value)
    flow_team.save(update_fields=list(values))
    return flow_team


def _lock(flow_team: FlowTeam) -> FlowTeam:
    return FlowTeam.objects.select_for_update().get(pk=flow_team.pk)


@transaction.atomic
def scrum_team_create(*, flow_team: FlowTeam, name: str) -> ScrumTeam:
    _lock(flow_team)
    if ScrumTeam.objects.filter(flow_team=flow_team, name=name).exists():
        raise RuleViolation("a Scrum Team of this name exists in the Flow Team", field="name")
    taken = set(ScrumTeam.objects.filter(flow_team=flow_team).values_list("number", flat=True))
    free = [n for n in range(1, MAX_SCRUM_TEAMS + 1) if n not in taken]
    if not free:
        raise RuleViolation(
            f"a Flow Team has at most {MAX_SCRUM_TEAMS} Scrum Teams", field="flow_team"
        )
    return ScrumTeam.objects.create(flow_team=flow_team, number=free[0], name=name)


@transaction.atomic
def scrum_team_rename(*, scrum_team: ScrumTeam, name: str) -> ScrumTeam:
    """The installation's operators rename a Scrum Team (the admin's Scrum Team page)."""
    scrum_team = ScrumTeam.objects.select_for_update().get(pk=scrum_team.pk)
    name = name.strip()
    if not name:
        raise RuleViolation("give the Scrum Team a name", field="name")
    taken = ScrumTeam.objects.filter(flow_team_id=scrum_team.flow_team_id, name=name)
    if taken.exclude(pk=scrum_team.pk).exists():
        raise RuleViolation("a Scrum Team of this name exists in the Flow Team", field="name")
    scrum_team.name = name
    scrum_team.save(update_fields=["name"])
    return scrum_team


@transaction.atomic
def member_add(*, flow_team: FlowTeam, user: User) -> Membership:
    """Seat a person in the Flow Team (idempotent: an existing member keeps their seat)."""
    _lock(flow_team)
    existing = Membership.objects.filter(flow_team=flow_team, user=user).first()
    if existing:
        return existing
    taken = Membership.objects.filter(flow_team=flow_team).aggregate(m=Max("seat"))["m"] or 0
    if taken < MAX_MEMBERS:
        seat = taken + 1
    else:
        seats = set(Membership.objects.filter(flow_team=flow_team).values_list("seat", flat=True))
        free = [s for s in range(1, MAX_MEMBERS + 1) if s not in seats]
        if not free:
            raise RuleViolation(
                f"a Flow Team has at most {MAX_MEMBERS} members; remove someone first",
                field="user",
            )
        seat = free[0]
    return Membership.objects.create(flow_team=flow_team, user=user, seat=seat)


@transaction.atomic
def role_assign(
    *, membership: Membership, role: str, scrum_team: ScrumTeam | None = None
) -> RoleAssignment:
    if role not in Role.values:
        raise RuleViolation(f"unknown role {role!r}", field="role")
    if role in TEAM_ROLES and scrum_team is None:
        raise RuleViolation("a team role names its Scrum Team", field="scrum_team")
    if role in FLOW_ROLES and scrum_team is not None:
        raise RuleViolation("a Flow role belongs to no Scrum Team", field="scrum_team")
    if scrum_team is not None and scrum_team.flow_team_id != membership.flow_team_id:
        raise RuleViolation("the Scrum Team is not in this Flow Team", field="scrum_team")
    existing = RoleAssignment.objects.filter(
        membership=membership, role=role, scrum_team=scrum_team
    ).first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return RoleAssignment.objects.create(
                membership=membership,
                flow_team_id=membership.flow_team_id,
                role=role,
                scrum_team=scrum_team,
            )
    except IntegrityError as exc:
        for constraint, (field, message) in UNIQUE_ROLE_MESSAGES.items():
            if constraint in str(exc) or _role_taken(membership, role, scrum_team, constraint):
                raise RuleViolation(message, field=field) from exc
        raise


def _role_taken(membership, role, scrum_team, constraint) -> bool:
    # SQLite names the columns, not the constraint, in its message.
    expected_role = constraint.split("_")[1]
    if role != expected_role:
        return False
    if role in ("cpo", "csm"):
        return RoleAssignment.objects.filter(
            flow_team_id=membership.flow_team_id, role=role
        ).exists()
    return RoleAssignment.objects.filter(scrum_team=scrum_team, role=role).exists()


@transaction.atomic
def role_revoke(*, membership: Membership, role: str, scrum_team: ScrumTeam | None = None) -> int:
    deleted, _ = RoleAssignment.objects.filter(
        membership=membership, role=role, scrum_team=scrum_team
    ).delete()
    return deleted


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# A use is recorded at most once a minute: no write on every request.
LAST_USE_EVERY_SECONDS = 60


def api_token_statement_ctes() -> str:
    """``api_token_authenticate`` as CTEs at the head of a PostgreSQL statement that acts
    for the token's person, so that the authentication costs no round trip of its own:
    ``actor`` (token_id, user_id, membership_id, flow_team_id: at most one row, none for
    an unknown or revoked token or a deactivated person or one in no Flow Team),
    ``work_teams`` (the Scrum Teams whose stories they work: ``can_work_story``), and the
    token's use recorded as ``api_token_authenticate`` records it. Parameters:
    ``%(token_hash)s``, ``%(now)s``, ``%(work_roles)s`` (``api_token_statement_params``).
    Nothing is cached: revocation, deactivation and role changes hold at once."""
    token_table = ApiToken._meta.db_table
    return (
        f"{token_actor_ctes()}, "
        f'token_used AS (UPDATE "{token_table}" t SET last_used_at = %(now)s FROM actor a '
        "WHERE t.id = a.token_id AND (t.last_used_at IS NULL OR t.last_used_at < "
        f"%(now)s - interval '{LAST_USE_EVERY_SECONDS} seconds'))"
    )


def api_token_statement_params(*, token_hash: str, now) -> dict:
    return {"token_hash": token_hash, "now": now, "work_roles": list(TEAM_WORK_ROLES)}


def api_token_hash(secret: str) -> str:
    """What a token's secret is stored as (the secret itself never is)."""
    return _token_hash(secret)


def api_token_create(*, user: User, name: str) -> tuple["ApiToken", str]:
    """A new personal token; returns it with its secret, which is never stored or shown again."""
    name = name.strip()
    if not name:
        raise RuleViolation("name the token (what uses it)", field="name")
    if len(name) > 80:
        raise RuleViolation("at most 80 characters", field="name")
    secret = "sf_" + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user, name=name, prefix=secret[:10], token_hash=_token_hash(secret)
    )
    return token, secret


def api_token_revoke(*, user: User, token_id: int) -> "ApiToken":
    token = ApiToken.objects.filter(user=user, pk=token_id, revoked_at__isnull=True).first()
    if token is None:
        raise RuleViolation("no such active token", field="token")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    return token


def api_token_authenticate(*, secret: str) -> "ApiToken | None":
    """The live token of ``secret`` with its person's Actor as ``token.actor``, or None.

    A token dies with its person: deactivated, or a member of no Flow Team any more. The
    token, the person, their Flow Team and roles come in one query (``token_actor``)."""
    found = token_actor(token_hash=_token_hash(secret))
    if found is None:
        return None
    token, token.actor = found
    now = timezone.now()
    # Record use at most once a minute: no write on every request.
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > LAST_USE_EVERY_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
