from django.http import Http404

from teams.models import Role
from teams.navigation import nav_for
from teams.selectors import actor_for


def current_actor(request):
    """The signed-in person as seen in their Flow Team, resolved once per request."""
    if not hasattr(request, "_sem_actor"):
        user = getattr(request, "user", None)
        request._sem_actor = actor_for(user=user) if user and user.is_authenticated else None
    return request._sem_actor


def member_actor(request):
    """``current_actor`` for pages only members reach: 404 for anyone outside a Flow Team."""
    actor = current_actor(request)
    if actor is None:
        raise Http404("not a member of any Flow Team")
    return actor


def flow_team(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    actor = current_actor(request)
    labels = dict(Role.choices)
    return {
        "actor": actor,
        "flow_team": actor.flow_team if actor else None,
        "role_labels": sorted(labels[r] for r in actor.all_roles) if actor else [],
        "nav_items": nav_for(actor, user, request.path),
    }
