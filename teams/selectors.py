from collections import defaultdict

from django.db.models import Count, Prefetch, QuerySet

from teams.models import FlowTeam, Membership, RoleAssignment, ScrumTeam, User
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
