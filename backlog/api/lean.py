"""The story PATCH that scripts and CI bots send, answered before DRF (issue 17).

A PATCH of ``{"state": …}`` alone, by API token (``Authorization: Bearer``), with one
strong ``If-Match`` tag, JSON in and out and no query string, is recognised here, in
front of DRF's request wrapping, negotiation, authentication and throttling, and made
ONE PostgreSQL statement (``services.story_move_by_token``: the token's person, their
Flow Team and roles, every rule of the move, the write, its history row, the live bump
and the story read back) after the rate limit's one Redis script. The answer is the
full path's, byte for byte: the same JSON, ``ETag`` and headers (a test compares them).

Everything else, and every request the statement cannot decide (an unknown or revoked
token, no such story, a refused rule, a stale version, a listening webhook, SQLite),
goes to DRF's full path, which answers as it always has: 401, 404, 403 before 428 and
412, the rule refused naming it, 429. Browser PATCHes (session and CSRF) never come
here: they send no bearer token.
"""

import functools
import json

from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from backlog import services
from backlog.api.serializers import StorySerializer
from sem.api import BIGGEST_NUMBER, WHOLE_NUMBER, etag_for, single_version
from sem.throttling import COUNTED, PerClientThrottle
from teams.authentication import TOKEN68
from teams.services import api_token_hash

# Set on a request the lean entry tried and handed on: the full path does not run the
# same statement again before reading why it matched nothing.
TRIED = "_sem_lean_move_tried"
ACCEPTED = ("*/*", "application/json", "application/*")


def lean_story_patch(view, allowed_methods: str):
    """``view`` (the story detail route's) with the lean PATCH in front of it.
    ``allowed_methods`` is the ``Allow`` header DRF gives the route."""

    @functools.wraps(view)  # keeps csrf_exempt and the attributes DRF's tools read
    def entry(request, *args, **kwargs):
        if request.method == "PATCH":
            answer = _lean_move(request, kwargs, allowed_methods)
            if answer is not None:
                return answer
        return view(request, *args, **kwargs)

    return entry


def _lean_move(request, kwargs: dict, allowed_methods: str) -> HttpResponse | None:
    meta = request.META
    if list(kwargs) != ["pk"] or meta.get("QUERY_STRING") or "HTTP_IF_NONE_MATCH" in meta:
        return None
    if meta.get("CONTENT_TYPE") != "application/json":
        return None
    if meta.get("HTTP_ACCEPT", "*/*") not in ACCEPTED:
        return None
    secret = _bearer_secret(meta.get("HTTP_AUTHORIZATION", ""))
    pk, version = kwargs["pk"], single_version(request)
    if secret is None or version is None or not WHOLE_NUMBER.fullmatch(pk):
        return None
    to_state = _state_alone(request.body)
    if to_state is None or int(pk) > BIGGEST_NUMBER:
        return None
    token_hash = api_token_hash(secret)
    # Counted before the write, as DRF's throttle counts before the view: a refused
    # window goes to the full path, whose throttle (counting nothing for a refused
    # request) answers 429 after the authentication's 401.
    if not PerClientThrottle().allows_token(token_hash):
        return None
    setattr(request, COUNTED, True)
    story = services.story_move_by_token(
        token_hash=token_hash, story_id=int(pk), to_state=to_state, expected_version=version
    )
    if story is None:
        setattr(request, TRIED, True)
        return None
    return _answer(story, allowed_methods)


def _bearer_secret(header: str) -> str | None:
    """The token of ``Bearer <token>`` as ``BearerTokenAuthentication`` accepts it."""
    parts = header.split()
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    if len(parts[1]) > 200 or not TOKEN68.fullmatch(parts[1]):
        return None
    return parts[1]


def _state_alone(body: bytes) -> str | None:
    """The ``state`` of a JSON object holding it alone, as DRF's parser reads the body
    (UTF-8, strict), else None (anything else is the full path's to parse or refuse)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # too deep: the full path's parser names the limit
        return None
    if not isinstance(data, dict) or list(data) != ["state"]:
        return None
    state = data["state"]
    return state if isinstance(state, str) else None


_RENDERER = JSONRenderer()


def _answer(story, allowed_methods: str) -> HttpResponse:
    """What DRF's ``versioned`` answer gives: JSONRenderer's bytes, its content type,
    the ``ETag`` and ``Allow``."""
    data = StorySerializer().to_representation(story)
    response = HttpResponse(
        _RENDERER.render(data, _RENDERER.media_type, {}), content_type=_RENDERER.media_type
    )
    response["ETag"] = etag_for(story.version)
    response["Allow"] = allowed_methods
    return response
