import functools
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Prefetch, QuerySet

from sem.raw_rows import ModelColumns, fetch_rows
from teams.models import (
    ApiToken,
    FlowTeam,
    Membership,
    Role,
    RoleAssignment,
    ScrumTeam,
    User,
)
from teams.permissions import Actor


def flow_teams_of(*, user: User) -> QuerySet[FlowTeam]:
    """The Flow Teams a person belongs to; nothing else is ever visible to them."""
    if not user.is_authenticated:
        return FlowTeam.objects.none()
    return FlowTeam.objects.filter(memberships__user=user).order_by("name")


def actor_for(*, user: User, flow_team: FlowTeam | int | None = None) -> Actor | None:
    """The person as seen inside one Flow Team (their first one if none is named).

    None when they are not a member: callers answer 404.
    """
    if not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("flow_team")
    if flow_team is not None:
        memberships = memberships.filter(flow_team=flow_team)
    membership = memberships.order_by("flow_team__name").first()
    if membership is None:
        return None
    flow_roles = set()
    team_roles = defaultdict(set)
    for role, scrum_team_id in RoleAssignment.objects.filter(membership=membership).values_list(
        "role", "scrum_team_id"
    ):
        if scrum_team_id is None:
            flow_roles.add(role)
        else:
            team_roles[scrum_team_id].add(role)
    return Actor(
        user=user,
        flow_team=membership.flow_team,
        flow_roles=frozenset(flow_roles),
        team_roles={k: frozenset(v) for k, v in team_roles.items()},
    )


_TOKEN_USER = ModelColumns(User, "u")
_TOKEN_FLOW_TEAM = ModelColumns(FlowTeam, "f")
_LAST_USED = ModelColumns(ApiToken, "t", only=("last_used_at",))


@functools.cache
def _token_actor_sql() -> str:
    # Written once, by hand: the ORM's build of this join cost more than the query itself.
    meta = {m: m._meta.db_table for m in (ApiToken, User, Membership, FlowTeam, RoleAssignment)}
    return (
        f"SELECT t.id, t.last_used_at, m.id, r.role, r.scrum_team_id, "
        f"{_TOKEN_USER.select}, {_TOKEN_FLOW_TEAM.select} "
        f'FROM "{meta[ApiToken]}" t '
        f'JOIN "{meta[User]}" u ON u.id = t.user_id '
        f'JOIN "{meta[Membership]}" m ON m.user_id = u.id '
        f'JOIN "{meta[FlowTeam]}" f ON f.id = m.flow_team_id '
        f'LEFT JOIN "{meta[RoleAssignment]}" r ON r.membership_id = m.id '
        "WHERE t.token_hash = %s AND t.revoked_at IS NULL AND u.is_active = %s "
        "ORDER BY f.name, m.id"
    )


def token_actor_ctes() -> str:
    """``token_actor``'s read as CTEs of a PostgreSQL statement (the same joins and
    conditions, the same first Flow Team by name): ``actor`` (token_id, user_id,
    membership_id, flow_team_id; at most one row) and ``work_teams`` (scrum_team_id of
    each team role in ``%(work_roles)s``); ``%(token_hash)s`` names the token."""
    meta = {m: m._meta.db_table for m in (ApiToken, User, Membership, FlowTeam, RoleAssignment)}
    return (
        "actor AS (SELECT t.id AS token_id, u.id AS user_id, m.id AS membership_id, "
        f'm.flow_team_id FROM "{meta[ApiToken]}" t '
        f'JOIN "{meta[User]}" u ON u.id = t.user_id '
        f'JOIN "{meta[Membership]}" m ON m.user_id = u.id '
        f'JOIN "{meta[FlowTeam]}" f ON f.id = m.flow_team_id '
        "WHERE t.token_hash = %(token_hash)s AND t.revoked_at IS NULL AND u.is_active "
        "ORDER BY f.name, m.id LIMIT 1), "
        f'work_teams AS (SELECT r.scrum_team_id FROM "{meta[RoleAssignment]}" r '
        "JOIN actor a ON r.membership_id = a.membership_id "
        "WHERE r.scrum_team_id IS NOT NULL AND r.role = ANY(%(work_roles)s))"
    )


def token_actor(*, token_hash: str) -> tuple[ApiToken, Actor] | None:
    """The live token with this hash and its person as seen in their first Flow Team, read in
    one query, or None (unknown or revoked token, deactivated person, member of no Flow Team).

    One row per role the person holds there (or one row with no role): the token, the
    person, the membership and its Flow Team come with each. Nothing is cached, so a
    revocation, a deactivation or a role change holds from the next request on. The SQL
    is written by hand (sem.raw_rows): it runs on every API request.
    """
    rows = fetch_rows(_token_actor_sql(), [token_hash, True])
    if not rows:
        return None
    first = rows[0]
    token_id, last_used_at, membership_id = first[0], first[1], first[2]
    flow_roles = set()
    team_roles = defaultdict(set)
    for row in rows:
        if row[2] != membership_id or row[3] is None:
            continue  # another Flow Team's membership, or no role at all
        if row[4] is None:
            flow_roles.add(row[3])
        else:
            team_roles[row[4]].add(row[3])
    user = _TOKEN_USER.instance(first, 5)
    flow_team = _TOKEN_FLOW_TEAM.instance(first, 5 + _TOKEN_USER.width)
    # The last use as the ORM would give it (SQLite: text made an aware datetime).
    (last_used_at,) = _LAST_USED.values([last_used_at])
    token = ApiToken(pk=token_id, user=user, token_hash=token_hash, last_used_at=last_used_at)
    actor = Actor(
        user=user,
        flow_team=flow_team,
        flow_roles=frozenset(flow_roles),
        team_roles={k: frozenset(v) for k, v in team_roles.items()},
    )
    return token, actor


def scrum_team_list(*, actor: Actor) -> QuerySet[ScrumTeam]:
    return ScrumTeam.objects.filter(flow_team=actor.flow_team).annotate(
        member_count=Count("role_assignments__membership", distinct=True)
    )


def membership_list(*, actor: Actor) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(flow_team=actor.flow_team)
        .select_related("user")
        .prefetch_related(
            Prefetch("roles", queryset=RoleAssignment.objects.select_related("scrum_team"))
        )
    )


# A Scrum Team's roles in the order the screens name them: who orders the backlog, who
# serves the team, who builds.
TEAM_ROLE_ORDER = (Role.PO, Role.SM, Role.DEVELOPER)


@dataclass(frozen=True)
class TeamPerson:
    """One person of a Scrum Team with every team role they hold there, in TEAM_ROLE_ORDER."""

    user: User
    roles: tuple[Role, ...]

    @property
    def role_labels(self) -> list[str]:
        return [role.label for role in self.roles]


def scrum_team_people(*, scrum_team_id: int) -> list[TeamPerson]:
    """The Scrum Team's people (its PO, SM and developers), each once, by name then email:
    one query. Capacity, Team Sprint Planning, planning poker and the Daily Scrum all list
    the team from here, so they agree on who is in it and in what order."""
    roles_of: dict[int, set[Role]] = {}
    users: dict[int, User] = {}
    # Only the team roles name a Scrum Team (a check constraint of RoleAssignment).
    for assignment in (
        RoleAssignment.objects.filter(scrum_team_id=scrum_team_id)
        .select_related("membership__user")
        .order_by("membership__user__full_name", "membership__user__email")
    ):
        user = assignment.membership.user
        users.setdefault(user.pk, user)
        roles_of.setdefault(user.pk, set()).add(Role(assignment.role))
    return [
        TeamPerson(user=user, roles=tuple(r for r in TEAM_ROLE_ORDER if r in roles_of[pk]))
        for pk, user in users.items()
    ]


def flow_team_overview(*, actor: Actor) -> dict:
    """Scrum Teams with their people by role, and the Flow roles: three queries in all."""
    assignments = list(
        RoleAssignment.objects.filter(flow_team=actor.flow_team)
        .select_related("membership__user")
        .order_by("role", "membership__user__full_name")
    )
    teams = list(ScrumTeam.objects.filter(flow_team=actor.flow_team).order_by("number"))
    by_team = {team.pk: {"team": team, "po": None, "sm": None, "developers": []} for team in teams}
    flow_roles = defaultdict(list)
    for a in assignments:
        user = a.membership.user
        if a.scrum_team_id is None:
            flow_roles[a.role].append(user)
        elif a.role == "developer":
            by_team[a.scrum_team_id]["developers"].append(user)
        else:
            by_team[a.scrum_team_id][a.role] = user
    return {
        "flow_team": actor.flow_team,
        "scrum_teams": list(by_team.values()),
        "cpo": flow_roles["cpo"][:1],
        "csm": flow_roles["csm"][:1],
        "architects": flow_roles["architect"],
        "stakeholders": flow_roles["stakeholder"],
        "member_count": Membership.objects.filter(flow_team=actor.flow_team).count(),
    }


def api_token_list(*, user: User):
    from teams.models import ApiToken

    return ApiToken.objects.filter(user=user).order_by("revoked_at", "-created_at")
