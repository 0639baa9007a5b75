"""What the live screens of the events app share (the event's own screen, the roadmap, the
Planning 1 and 2 boards, the risk register): finding the event, a service's refusal shown
as the page's own, the viewer's poll element, and the poll's full check."""

from datetime import timedelta
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from events.models import Event
from events.selectors import event_for
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import LivePoll, live_poll_context, live_token
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


def refused_is_403(view):
    """A service's own role check answers like the page's (rules change under a session)."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionRefused as refused:
            raise PermissionDenied(str(refused)) from refused

    return wrapped


def write_outcome(do) -> tuple[str | None, dict, int]:
    """Run one write of a screen (``do()`` calls the service): (notice, errors by field,
    status). A rule's refusal is a 400 naming its fields, a stale version a 409; a
    forbidden write raises 403 and another Flow Team's object 404, as the pages do."""
    try:
        do()
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except NotFound as missing:
        raise Http404(str(missing)) from missing
    except VersionConflict:
        return "Someone changed this meanwhile; the screen shows it now.", {}, 409
    except RuleViolation as refusal:
        errors = refusal.detail
        notice = " ".join(f"{field}: {' '.join(ms)}" for field, ms in errors.items())
        return notice, errors, 400
    return None, {}, 200


def posted_int(raw, field: str, *, optional: bool = False) -> int | None:
    """A number a screen's form posts (an id, a column, a count): digits only and short
    enough for the database, else a refusal naming the field."""
    raw = (raw or "").strip()
    if not raw and optional:
        return None
    if not raw.isdigit() or len(raw) > 9:
        raise RuleViolation("choose one of the values offered", field=field)
    return int(raw)


def refusal_to_form(form, refusal: RuleViolation) -> None:
    """A service's refusal on the form's fields (or above them when it names another)."""
    for field, problems in refusal.detail.items():
        for problem in problems:
            form.add_error(field if field in form.fields else None, problem)


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


def poll_actor(request, poll: LivePoll):
    """The viewer of a poll that found a change: the full check runs now (the session is
    the token's person, still in the token's Flow Team)."""
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
