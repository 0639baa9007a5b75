"""Live screens: how a change reaches every open screen (design: live.md).

One version per live topic in the database (``LiveVersion``). Services call
``live_bump`` inside their transaction, so the version and the data commit
together. An open screen carries a small poll element (``includes/live_poll.html``)
that asks its screen's poll view every second with the versions it shows; the
poll view answers through ``live_poll``:

- nothing changed: 204, after one query and no session work (the viewer is
  identified by a signed token issued with the page);
- changed: 200 with ``hx-swap-oob`` regions and a new poll element;
- the meeting is over: ``HttpResponseStopPolling`` (286) with the last regions.

Read-only regions every viewer shares are rendered once per version
(``live_fragment``). Screens only know this module, so a push transport could
replace the poll later without touching the services.
"""

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django_htmx.http import HttpResponseStopPolling

from sem.models import LiveVersion

# Long enough for any meeting screen, short enough that dead versions leave the cache.
FRAGMENT_TIMEOUT_SECONDS = 6 * 3600


def live_bump(*keys: str) -> None:
    """Add one to each key's version (a missing key starts at 1), in the caller's transaction.

    One upsert statement, so concurrent bumps of the same key never lose an increment
    and never collide on the insert. Keys are sorted so two writers bumping the same
    keys lock them in the same order (no deadlock)."""
    unique = sorted(set(keys))
    if not unique:
        return
    rows = ", ".join(["(%s, 1)"] * len(unique))
    with connection.cursor() as cursor:
        cursor.execute(live_bump_sql(f"VALUES {rows}"), unique)


def live_bump_sql(rows: str) -> str:
    """The upsert of ``live_bump`` over ``rows`` (``VALUES (…, 1)`` or a ``SELECT key, 1
    FROM …``), for a service that folds the bump into a statement of its own (one round
    trip: the story PATCH's ``WITH changed AS (UPDATE …)``)."""
    table = connection.ops.quote_name(LiveVersion._meta.db_table)
    key = connection.ops.quote_name("key")
    version = connection.ops.quote_name("version")
    # ON CONFLICT … DO UPDATE is the same statement on PostgreSQL and SQLite (>= 3.24).
    return (
        f"INSERT INTO {table} ({key}, {version}) {rows} "
        f"ON CONFLICT ({key}) DO UPDATE SET {version} = {table}.{version} + 1"
    )


def live_versions(keys: Iterable[str]) -> dict[str, int]:
    """Each key's current version in one query; a key never bumped is at 0."""
    keys = list(keys)
    found = dict(LiveVersion.objects.filter(key__in=keys).values_list("key", "version"))
    return {k: found.get(k, 0) for k in keys}


# --- The viewer's token ------------------------------------------------------------


class LiveTokenInvalid(Exception):
    """The token was forged, belongs to another screen, or is unreadable."""


class LiveTokenExpired(Exception):
    """The meeting the token was issued for is long over."""


@dataclass(frozen=True)
class LivePoll:
    """Who polls which topics of which screen object, and the versions they show."""

    user_id: int
    flow_team_id: int
    scope: int
    keys: tuple[str, ...]
    seen: dict[str, int]

    def changed(self, versions: dict[str, int]) -> set[str]:
        """The keys whose version is not the one shown; ``versions`` is ``live_versions``
        of these keys, which has every key (0 for one never bumped)."""
        return {k for k in self.keys if versions[k] != self.seen.get(k)}


def _salt(screen: str) -> str:
    return f"sem.live.{screen}"


def live_token(
    *, screen: str, user_id: int, flow_team_id: int, scope: int, keys, expires_at: datetime
) -> str:
    """A signed token for one viewer of one screen object; salted per screen, so a token
    of one screen is worthless on another. It expires with the meeting (``expires_at``)."""
    payload = {
        "u": user_id,
        "f": flow_team_id,
        "s": scope,
        "k": list(keys),
        "x": int(expires_at.timestamp()),
    }
    return signing.dumps(payload, salt=_salt(screen), compress=True)


def live_poll_read(request, *, screen: str) -> LivePoll:
    """The poll request's token and versions (``?t=…&v=3.7``: one version per key, in the
    token's key order). No database and no session: this runs on every poll."""
    try:
        payload = signing.loads(request.GET.get("t", ""), salt=_salt(screen))
        keys = tuple(str(k) for k in payload["k"])
        user_id, flow_team_id, scope = int(payload["u"]), int(payload["f"]), int(payload["s"])
        expires = int(payload["x"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as bad:
        raise LiveTokenInvalid from bad
    if timezone.now().timestamp() > expires:
        raise LiveTokenExpired
    # Versions that do not parse or do not match the keys count as "seen nothing":
    # the viewer then gets every region, which repairs the screen.
    try:
        numbers = (int(n) for n in request.GET.get("v", "").split("."))
        seen = dict(zip(keys, numbers, strict=True))
    except ValueError:
        seen = {}
    return LivePoll(user_id=user_id, flow_team_id=flow_team_id, scope=scope, keys=keys, seen=seen)


# --- Fragments and the answer ------------------------------------------------------


def live_fragment(key: str, version: int, variant: str, render: Callable[[], str]) -> SafeString:
    """A read-only region every viewer shares, rendered once per (key, version, variant).

    Read the version *before* the data the fragment shows: a write landing in between
    then only makes the cached fragment newer than its version, and the next poll
    fetches the next version; the other order would cache old data under a new version."""
    cache_key = f"live:{key}:{version}:{variant}"
    html = cache.get(cache_key)
    if html is None:
        html = str(render())
        cache.set(cache_key, html, FRAGMENT_TIMEOUT_SECONDS)
    return mark_safe(html)  # noqa: S308 (rendered by our own templates, escaped there)


# --- Regions made of parts --------------------------------------------------------
#
# A large region (the roadmap's lanes, a planning board's rows) is cut into parts, each an
# element with an id. The poll URL carries what the viewer shows, part by part ("p"): on a
# change only the parts whose HTML differs are sent, each replacing its namesake; when the
# parts themselves differ (one added, removed or reordered) the whole region is.


def live_digest(html: str) -> str:
    return hashlib.blake2b(html.encode(), digest_size=5).hexdigest()


def live_parts(
    key: str, version: int, variant: str, render: Callable[[], list[tuple[str, str]]]
) -> list[tuple[str, str, str]]:
    """The parts (element id, html, digest) of a shared region, rendered once per
    (key, version, variant) like ``live_fragment``."""
    cache_key = f"live:{key}:{version}:{variant}:parts"
    parts = cache.get(cache_key)
    if parts is None:
        parts = [(part_id, str(html), live_digest(str(html))) for part_id, html in render()]
        cache.set(cache_key, parts, FRAGMENT_TIMEOUT_SECONDS)
    return parts


def live_parts_seen(parts) -> str:
    """What the viewer shows after this answer, for the next poll's ``p``."""
    return ".".join(f"{part_id}:{digest}" for part_id, _html, digest in parts)


def live_parts_changed(parts, seen: str) -> list[str] | None:
    """The ids of the parts that differ from what the viewer shows (``seen`` from the poll
    URL); None when the parts themselves differ, or ``seen`` does not parse: then the whole
    region goes, which also repairs a screen in any state."""
    try:
        shown = dict(item.split(":", 1) for item in seen.split(".")) if seen else {}
    except ValueError:
        return None
    if list(shown) != [part_id for part_id, _html, _digest in parts]:
        return None
    return [part_id for part_id, _html, digest in parts if shown[part_id] != digest]


def live_oob_element(html: str) -> SafeString:
    """A part that replaces the element of the same id (its first tag gets the oob mark)."""
    head, sep, rest = html.lstrip().partition(" ")
    return mark_safe(f'{head} hx-swap-oob="true"{sep}{rest}')  # noqa: S308 (our own HTML)


def live_poll_context(
    *, url: str, token: str, versions: dict[str, int], keys, params: dict | None = None
) -> dict:
    """What ``includes/live_poll.html`` needs: the poll URL with token and versions, and
    the screen's own ``params`` (what the viewer chose to see, e.g. a date)."""
    query = urlencode(
        {
            **(params or {}),
            "t": token,
            "v": ".".join(str(versions.get(k, 0)) for k in keys),
        }
    )
    return {"url": f"{url}?{query}", "active": True}


def live_oob(region_id: str, html: str) -> SafeString:
    """One region as an out-of-band swap of its container's content."""
    return format_html('<div id="{}" hx-swap-oob="innerHTML">{}</div>', region_id, html)


def live_poll(
    request,
    *,
    screen: str,
    scope: int,
    on_change: Callable[[LivePoll, dict[str, int]], tuple[list[SafeString], bool, dict]],
) -> HttpResponse:
    """Answer one poll of ``screen``'s object ``scope``.

    ``on_change(poll, versions)`` runs only when a version moved: it does the full
    permission check (session, actor, object) and returns the oob regions, whether
    the meeting is over, and the context of the next poll element. A forged token is
    403, a token for another object 404, an expired one stops the polling."""
    try:
        poll = live_poll_read(request, screen=screen)
    except LiveTokenInvalid:
        return HttpResponse("live token not valid for this screen", status=403)
    except LiveTokenExpired:
        return HttpResponseStopPolling(
            render_to_string("includes/live_poll.html", {"live": {"active": False}})
        )
    if poll.scope != scope:
        return HttpResponse("not found", status=404)
    versions = live_versions(poll.keys)
    if not poll.changed(versions):
        return HttpResponse(status=204)
    regions, over, next_poll = on_change(poll, versions)
    element = render_to_string(
        "includes/live_poll.html", {"live": {**next_poll, "active": not over}}
    )
    body = element + "".join(regions)
    return HttpResponseStopPolling(body) if over else HttpResponse(body)
