"""The Product Backlog Refinement screen: the team's epics split into stories, acceptance
criteria written and checked, planning poker, and the readiness overview across teams.

Regions (templates/events/refinement/screen.html), each rendered for the viewer:

- #ref-poker: the poker table; the viewer's own card, the others' only as "has voted"
  until the reveal (events/poker/selectors.py never reads another value before it);
- #ref-backlog: the epics with their waiting stories, criteria and Definition of Ready;
- #ref-readiness: ready stories and points per Scrum Team against its next capacity
  (shared by every viewer: rendered once per version);
- #ref-compose: the person's own form (a new story under an epic, a new criterion). It is
  never swapped by the poll, so nobody's typing is lost; only the person's own posts
  redraw it.

The writes are events/poker/services.py's. A refusal comes back in #ref-notice (or in the
form with the typed text), 400; a forbidden write 403; another Flow Team's 404; a story
changed meanwhile 409, saying who agreed what.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from backlog.models import STORY_POINTS
from backlog.services import planning_live_key
from events.models import Event, PokerRound
from events.poker import selectors as poker_selectors
from events.poker import services as poker
from events.screens import (
    event_or_404,
    fragment_wanted,
    live_for,
    next_poll,
    poll_actor,
    posted_int,
)
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_fragment, live_oob, live_poll, live_versions
from teams.context_processors import current_actor
from teams.permissions import can_edit_story

SCREEN = "refinement"
TEMPLATE = "events/refinement/screen.html"
REGIONS = ("ref-poker", "ref-backlog", "ref-readiness")
POLL_ID = "ref-poll"


def _keys(event: Event) -> list[str]:
    return [poker.refinement_live_key(event.pk), planning_live_key(event.flow_team_id)]


def _refinement(actor, pk: int) -> Event:
    event = event_or_404(actor, pk)
    if event.kind != Event.Kind.BACKLOG_REFINEMENT:
        raise Http404("this event is not a Product Backlog Refinement")
    return event


def _compose(request_data, *, kind: str = "", epic=None, story=None) -> dict:
    data = request_data or {}
    return {
        "kind": data.get("compose", kind),
        "epic": str(data.get("epic", epic or "")),
        "story": str(data.get("story", story or "")),
        "title": data.get("title", ""),
        "text": data.get("text", ""),
    }


def _compose_target(event: Event, compose: dict, backlog: dict) -> dict:
    """What the compose form is about (the epic or story chosen), read from the backlog the
    page shows: an id not on it leaves the form closed."""
    target = {}
    if compose["kind"] == "story" and compose["epic"]:
        target["epic"] = next((e for e in backlog["epics"] if str(e.pk) == compose["epic"]), None)
    if compose["kind"] == "criterion" and compose["story"]:
        stories = [s for e in backlog["epics"] for s in e.waiting] + backlog["loose"]
        target["story"] = next((s for s in stories if str(s.pk) == compose["story"]), None)
    if compose["kind"] == "story" and not compose["epic"]:
        target["no_epic"] = True
    return target


def _readiness(event: Event, versions: dict[str, int]) -> str:
    key = planning_live_key(event.flow_team_id)

    def render_region():
        context = {"readiness": poker_selectors.readiness_overview(event), "event": event}
        return render_to_string(f"{TEMPLATE}#ref-readiness", context)

    return live_fragment(key, versions[key], f"refinement-readiness:{event.pk}", render_region)


def _context(request, actor, event: Event, versions, *, compose=None, errors=None, notice=None):
    backlog = poker_selectors.refinement_backlog(event)
    compose = compose or _compose({})
    may_edit = can_edit_story(actor, event.scrum_team_id) if event.scrum_team_id else False
    return {
        "event": event,
        "backlog": backlog,
        "table": poker_selectors.poker_table(event, viewer_id=actor.user.pk),
        "readiness_html": _readiness(event, versions),
        "may_vote": poker.may_vote(actor, event),
        "may_edit": may_edit,
        "values": poker.POKER_VALUES,
        "points": STORY_POINTS,
        "compose": compose,
        "target": _compose_target(event, compose, backlog),
        "errors": errors or {},
        "notice": notice,
        "live": live_for(
            request,
            actor,
            event,
            screen=SCREEN,
            url_name="refinement-live",
            keys=_keys(event),
            versions=versions,
            poll_id=POLL_ID,
        ),
    }


def _page_context(request, actor, event: Event, **kwargs) -> dict:
    versions = live_versions(_keys(event))  # before the data (sem.live.live_fragment)
    return _context(request, actor, event, versions, **kwargs)


def _region(request, context, region: str) -> str:
    return render_to_string(f"{TEMPLATE}#{region}", context, request=request)


@login_required
def screen(request, pk: int):
    """GET: the screen; ``?compose=story&epic=<id>`` or ``?compose=criterion&story=<id>``
    opens the person's form (as a fragment for htmx, in the page without it)."""
    actor = current_actor(request)
    event = _refinement(actor, pk)
    context = _page_context(request, actor, event, compose=_compose(request.GET))
    if fragment_wanted(request) and "compose" in request.GET:
        return render(request, f"{TEMPLATE}#ref-compose", context)
    return render(request, "events/refinement/page.html", context)


def _conflict_notice(round_id: int) -> str:
    """Who changed the story first, when a poker round agreed on it tells (one query)."""
    story_id = PokerRound.objects.filter(pk=round_id).values_list("story_id", flat=True).first()
    last = (
        PokerRound.objects.filter(story_id=story_id, agreed_points__isnull=False)
        .select_related("agreed_by")
        .order_by("-updated_at", "-pk")
        .first()
    )
    if last is None:
        return "Someone changed the story meanwhile; its estimate below is current. Agree again."
    who = last.agreed_by.display_name if last.agreed_by else "A former member"
    return (
        f"{who} saved {last.agreed_points} points on the story meanwhile; the estimate below "
        "is current. Agree again if the team still holds to yours."
    )


def _write(request, pk: int, do, *, compose: str = ""):
    """Run one write: ``do(actor, event)`` calls the service and returns the notice. The
    answer is the notice (main target) and every region out of band; a compose write also
    returns its form (emptied, still on its epic or story, when saved; the typed text and
    the reason when refused)."""
    actor = current_actor(request)
    event = _refinement(actor, pk)
    errors, status, kept = {}, 200, None
    try:
        notice = do(actor, event)
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except NotFound as missing:
        raise Http404(str(missing)) from missing
    except RuleViolation as refusal:
        errors = refusal.detail
        notice = " ".join(f"{field}: {m}" for field, ms in errors.items() for m in ms)
        status = 400
        kept = _compose(request.POST, kind=compose) if compose else None
    except VersionConflict:
        notice = _conflict_notice(request.resolver_match.kwargs["round_id"])
        status = 409
    if compose and status == 200:
        kept = {**_compose(request.POST, kind=compose), "title": "", "text": ""}
    if not fragment_wanted(request):
        if status == 200:
            return redirect("refinement-screen", pk=pk)
        context = _page_context(request, actor, event, compose=kept, errors=errors, notice=notice)
        return render(request, "events/refinement/page.html", context, status=status)
    context = _page_context(request, actor, event, compose=kept, errors=errors, notice=notice)
    context["notice_ok"] = status == 200
    parts = [_region(request, context, "ref-notice")]
    for region in [*REGIONS, "ref-compose"] if compose else REGIONS:
        html = context["readiness_html"] if region == "ref-readiness" else None
        parts.append(live_oob(region, html or _region(request, context, region)))
    return HttpResponse("".join(parts), status=status)


def _post_int(request, name: str, *, optional: bool = False):
    return posted_int(request.POST.get(name, ""), name, optional=optional)


@require_POST
@login_required
def story_add(request, pk: int):
    def do(actor, event):
        story = poker.refinement_story_add(
            actor=actor,
            event=event,
            epic_id=_post_int(request, "epic", optional=True),
            title=request.POST.get("title", ""),
        )
        return f"Added “{story.title}”."

    return _write(request, pk, do, compose="story")


@require_POST
@login_required
def criterion_add(request, pk: int):
    def do(actor, event):
        poker.refinement_criterion_add(
            actor=actor,
            event=event,
            story_id=_post_int(request, "story"),
            text=request.POST.get("text", ""),
        )
        return "Criterion added."

    return _write(request, pk, do, compose="criterion")


@require_POST
@login_required
def criterion_check(request, pk: int, criterion_id: int):
    def do(actor, event):
        checked = request.POST.get("checked", "")
        if checked not in ("0", "1"):
            raise RuleViolation("checked is 1 or 0", field="checked")
        poker.refinement_criterion_check(
            actor=actor, event=event, criterion_id=criterion_id, checked=checked == "1"
        )
        return "Criterion checked." if checked == "1" else "Criterion unchecked."

    return _write(request, pk, do)


@require_POST
@login_required
def criterion_delete(request, pk: int, criterion_id: int):
    def do(actor, event):
        poker.refinement_criterion_delete(actor=actor, event=event, criterion_id=criterion_id)
        return "Criterion removed."

    return _write(request, pk, do)


@require_POST
@login_required
def round_open(request, pk: int):
    def do(actor, event):
        found = poker.round_open(actor=actor, event=event, story_id=_post_int(request, "story"))
        return f"Estimating “{found.story.title}”: everyone votes."

    return _write(request, pk, do)


@require_POST
@login_required
def vote(request, pk: int, round_id: int):
    def do(actor, event):
        cast = poker.vote_cast(
            actor=actor, event=event, round_id=round_id, value=request.POST.get("value", "")
        )
        return f"Your vote: {cast.value}. Only you see it until the reveal."

    return _write(request, pk, do)


@require_POST
@login_required
def reveal(request, pk: int, round_id: int):
    def do(actor, event):
        poker.round_reveal(actor=actor, event=event, round_id=round_id)
        return "Votes revealed."

    return _write(request, pk, do)


@require_POST
@login_required
def agree(request, pk: int, round_id: int):
    def do(actor, event):
        found = poker.round_agree(
            actor=actor,
            event=event,
            round_id=round_id,
            points=_post_int(request, "points"),
            expected_version=_post_int(request, "version", optional=True),
        )
        return f"Saved {found.agreed_points} points on “{found.story.title}”."

    return _write(request, pk, do)


@require_POST
@login_required
def revote(request, pk: int, round_id: int):
    def do(actor, event):
        poker.round_revote(actor=actor, event=event, round_id=round_id)
        return "A new round: everyone votes again."

    return _write(request, pk, do)


def refinement_live(request, pk: int):
    """The screen's poll: 204 when nothing changed; the viewer's regions when something did
    (their own vote only, before the reveal). The compose form is never sent."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _refinement(actor, pk)
        context = _context(request, actor, event, versions)
        regions = [
            live_oob(
                r,
                context["readiness_html"] if r == "ref-readiness" else _region(request, context, r),
            )
            for r in REGIONS
        ]
        over = context["live"] is None
        return regions, over, next_poll(request, poll, versions, POLL_ID)

    return live_poll(request, screen=SCREEN, scope=pk, on_change=on_change)
