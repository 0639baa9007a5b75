from collections import defaultdict

from django.db.models import Count, F, Prefetch, QuerySet

from teams.models import ApiToken, FlowTeam, Membership, RoleAssignment, ScrumTeam, User
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


def token_actor(*, token_hash: str) -> tuple[ApiToken, Actor] | None:
    """The live token with this hash and its person as seen in their first Flow Team, read in
    one query, or None (unknown or revoked token, deactivated person, member of no Flow Team).

    One row per role the person holds there (or one row with no role): the token, the
    person, the membership and its Flow Team come with each. Nothing is cached, so a
    revocation, a deactivation or a role change holds from the next request on.
    """
    rows = list(
        Membership.objects.filter(
            user__api_tokens__token_hash=token_hash,
            user__api_tokens__revoked_at__isnull=True,
            user__is_active=True,
        )
        .select_related("user", "flow_team")
        .annotate(
            token_id=F("user__api_tokens__id"),
            token_last_used_at=F("user__api_tokens__last_used_at"),
            role_name=F("roles__role"),
            role_scrum_team_id=F("roles__scrum_team_id"),
        )
        .order_by("flow_team__name", "pk")
    )
    if not rows:
        return None
    first = rows[0]
    flow_roles = set()
    team_roles = defaultdict(set)
    for row in rows:
        if row.pk != first.pk or row.role_name is None:
            continue  # another Flow Team's membership, or no role at all
        if row.role_scrum_team_id is None:
            flow_roles.add(row.role_name)
        else:
            team_roles[row.role_scrum_team_id].add(row.role_name)
    token = ApiToken(
        pk=first.token_id,
        user=first.user,
        token_hash=token_hash,
        last_used_at=first.token_last_used_at,
    )
    actor = Actor(
        user=first.user,
        flow_team=first.flow_team,
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
