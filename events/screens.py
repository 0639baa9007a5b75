"""Pieces every live screen of an event shares (the event's own, Planning 2, the risk
register): finding the event, the viewer's poll element, and the poll's full check."""

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from events.selectors import event_for
from sem.errors import NotFound
from sem.live import live_poll_context, live_token
from teams.context_processors import current_actor

OVER = (Event.State.DONE, Event.State.CANCELLED)


def event_or_404(actor, pk: int) -> Event:
    """One event the actor may see; another Flow Team's (or none) is a 404."""
    if actor is None:
        raise Http404("not a member of any Flow Team")
    try:
        return event_for(actor=actor, pk=pk)
    except NotFound as missing:
        raise Http404(str(missing)) from missing


def fragment_wanted(request) -> bool:
    """htmx asks for the fragment; its history restore (and a plain request) wants the page."""
    return bool(request.htmx) and not request.htmx.history_restore_request


def live_for(request, actor, event: Event, *, screen: str, url_name: str, keys, versions, poll_id):
    """The poll element's context of one viewer of one event's screen, or None once the
    event is over. The token lasts through the meeting and an hour of overrun."""
    if event.state in OVER:
        return None
    token = live_token(
        screen=screen,
        user_id=request.user.pk,
        flow_team_id=actor.flow_team_id,
        scope=event.pk,
        keys=keys,
        expires_at=max(event.ends_at, timezone.now()) + timedelta(hours=1),
    )
    context = live_poll_context(
        url=reverse(url_name, args=[event.pk]), token=token, versions=versions, keys=keys
    )
    return {**context, "id": poll_id}


def poll_actor(request, poll):
    """The poll's full check once something changed: the token's viewer, still a member of
    the token's Flow Team (a session that changed hands is refused)."""
    if not request.user.is_authenticated or request.user.pk != poll.user_id:
        raise PermissionDenied("this live token belongs to someone else")
    actor = current_actor(request)
    if actor is None or actor.flow_team_id != poll.flow_team_id:
        raise Http404("no such event in your Flow Team")
    return actor


def next_poll(request, poll, versions, poll_id: str) -> dict:
    """The poll element that follows a changed answer: same token, the new versions."""
    context = live_poll_context(
        url=request.path, token=request.GET.get("t", ""), versions=versions, keys=poll.keys
    )
    return {**context, "id": poll_id}
