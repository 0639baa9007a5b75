"""What the live screens of the events app share (the roadmap, the Planning 1 board):
a service's refusal shown as the page's own, and the viewer behind a live poll."""

from datetime import timedelta
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from sem.errors import PermissionRefused, RuleViolation
from sem.live import LivePoll, live_poll_context, live_token
from teams.context_processors import current_actor


def refused_is_403(view):
    """A service's own role check answers like the page's (rules change under a session)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionRefused as refused:
            raise PermissionDenied(str(refused)) from refused

    return wrapped


def refusal_to_form(form, refusal: RuleViolation) -> None:
    """A service's refusal on the form's fields (or above them when it names another)."""
    for field, problems in refusal.detail.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


def poll_actor(request, poll: LivePoll):
    """The viewer of a poll that found a change: the full check runs now (the session is
    the token's person, still in the token's Flow Team)."""
    if not request.user.is_authenticated or request.user.pk != poll.user_id:
        raise PermissionDenied("this live token belongs to someone else")
    actor = current_actor(request)
    if actor is None or actor.flow_team_id != poll.flow_team_id:
        raise Http404("not in this Flow Team any more")
    return actor


def screen_live(
    request, *, screen: str, actor, scope: int, key: str, version: int, url: str, params, hours
) -> dict:
    """The poll element's context for one viewer of a screen: a token for ``hours``."""
    token = live_token(
        screen=screen,
        user_id=request.user.pk,
        flow_team_id=actor.flow_team_id,
        scope=scope,
        keys=[key],
        expires_at=timezone.now() + timedelta(hours=hours),
    )
    return live_poll_context(
        url=url, token=token, versions={key: version}, keys=[key], params=params
    )
