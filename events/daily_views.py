"""The Daily Scrum screen (/events/<pk>/daily/): the Scrum Team's board, each person's
yesterday / today / impediments, and the 15-minute timer.

Regions (templates/events/daily/screen.html):

- #daily-timer: the event's state and, once the SM started it, the time left, counted by
  static/js/daily.js from the server's ``started_at`` (every screen shows the same);
- #daily-board: the stories of the team's Team Sprint by state, blocked ones with their
  reason, started ones with their age against the team's cycle-time percentiles, and the
  move and clear buttons (no typing field: a poll may swap it any time);
- #daily-notes: everyone's notes and who has not spoken yet;
- #daily-mine and #daily-blocker: the person's own note and the "raise a blocker" form.
  Only the person's own posts swap them, so nobody's typing is lost.

Live (sem/live.py): the poll watches the event (timer), the Flow Team's planning key
(story moves and blockers, bumped by backlog/services.py) and this Daily Scrum's notes.
The writes are events/daily/services.py's; a refusal comes back in #daily-notice with the
rule (400); a forbidden write 403; another Flow Team's 404.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from backlog.services import planning_live_key
from events import services as event_services
from events.daily import selectors as daily_selectors
from events.daily import services as daily
from events.models import Event
from events.screens import (
    OVER,
    event_or_404,
    live_for,
    next_poll,
    poll_actor,
    posted_int,
    write_outcome,
)
from sem.errors import RuleViolation
from sem.live import live_oob, live_poll, live_versions
from teams.context_processors import current_actor
from teams.permissions import can_run_event

DAILY_SCREEN = "daily"
TEMPLATE = "events/daily/screen.html"
REGIONS = ("daily-timer", "daily-board", "daily-notes")
POLL_ID = "live-poll"  # static/js/boards.js holds this poll while a card is dragged


def daily_live_keys(event: Event) -> list[str]:
    return [
        event_services.event_live_key(event.pk),
        planning_live_key(event.flow_team_id),
        daily.daily_live_key(event.pk),
    ]


def _daily_event(actor, pk: int) -> Event:
    event = event_or_404(actor, pk)
    if event.kind != Event.Kind.DAILY_SCRUM:
        raise Http404("this event is not a Daily Scrum")
    return event


def _mine(people, actor, post=None) -> dict:
    """The person's own form: what they posted (kept when refused), else their saved note."""
    if post is not None:
        return {name: post.get(name, "") for name in daily.NOTE_FIELDS}
    note = next((p["note"] for p in people if p["user"].pk == actor.user.pk), None)
    return {name: getattr(note, name, "") if note else "" for name in daily.NOTE_FIELDS}


def _context(request, actor, event: Event, *, mine=None, blocker=None, errors=None, notice=None):
    keys = daily_live_keys(event)
    versions = live_versions(keys)  # before the data (sem.live.live_fragment)
    today = event.flow_team.today()
    board = daily_selectors.daily_board(event=event, today=today)
    people = daily_selectors.daily_people(event=event)
    may_write = daily.may_write(actor, event) and event.state not in OVER
    return {
        "event": event,
        "board": board,
        "legend": daily_selectors.percentile_legend(board.percentiles),
        "people": people,
        "silent": [p for p in people if not p["spoken"]],
        "next_speaker": daily_selectors.next_speaker(people),
        "may_write": may_write,
        "may_run": can_run_event(
            actor, facilitator_id=event.facilitator_id, scrum_team_id=event.scrum_team_id
        ),
        "me": actor.user.pk,
        "mine": _mine(people, actor, mine),
        "blocker": blocker or {"story": "", "reason": ""},
        "blockable": [s for s in board.stories if not s.blocked and s.state != "done"],
        "errors": errors or {},
        "notice": notice,
        "server_now": timezone.now(),
        "live": live_for(
            request,
            actor,
            event,
            screen=DAILY_SCREEN,
            url_name="daily-live",
            keys=keys,
            versions=versions,
            poll_id=POLL_ID,
        ),
    }


def _region(request, context, region: str) -> str:
    return render_to_string(f"{TEMPLATE}#{region}", context, request=request)


@login_required
def daily_screen(request, pk: int):
    actor = current_actor(request)
    event = _daily_event(actor, pk)
    return render(request, "events/daily/page.html", _context(request, actor, event))


def _write(request, pk: int, do, *, form: str | None = None):
    """Run one write: ``do(actor, event)`` calls the service. The answer is the notice (the
    main target) and every shared region out of band; a form's own post also returns the
    form (emptied or saved, or with the typed text and the reason when refused)."""
    actor = current_actor(request)
    event = _daily_event(actor, pk)
    notice, errors, status = write_outcome(lambda: do(actor, event))
    refused = status != 200
    kept = {
        "mine": request.POST if form == "daily-mine" and refused else None,
        "blocker": (
            {"story": request.POST.get("story", ""), "reason": request.POST.get("reason", "")}
            if form == "daily-blocker" and refused
            else None
        ),
    }
    event.refresh_from_db(fields=["state", "started_at", "ended_at"])
    context = _context(
        request,
        actor,
        event,
        mine=kept["mine"],
        blocker=kept["blocker"],
        errors=errors,
        notice=notice,
    )
    if not request.htmx:
        if not refused:
            return redirect("daily-screen", pk=pk)
        return render(request, "events/daily/page.html", context, status=status)
    parts = [_region(request, context, "daily-notice")]
    regions = [*REGIONS, form] if form else list(REGIONS)
    parts += [live_oob(region, _region(request, context, region)) for region in regions]
    return HttpResponse("".join(parts), status=status)


@require_POST
@login_required
def note_save(request, pk: int):
    """The person's own note; a ``person`` naming someone else is refused (403)."""

    def do(actor, event):
        person = request.POST.get("person")
        daily.daily_note_save(
            actor=actor,
            event=event,
            person_id=posted_int(person, "person") if person is not None else None,
            **{name: request.POST.get(name, "") for name in daily.NOTE_FIELDS},
        )

    return _write(request, pk, do, form="daily-mine")


@require_POST
@login_required
def story_move(request, pk: int, story_id: int):
    def do(actor, event):
        daily.daily_story_move(
            actor=actor,
            event=event,
            story_id=story_id,
            to_state=request.POST.get("to_state", ""),
            expected_version=posted_int(request.POST.get("version"), "version"),
        )

    return _write(request, pk, do)


@require_POST
@login_required
def blocker_raise(request, pk: int):
    def do(actor, event):
        daily.daily_blocker_raise(
            actor=actor,
            event=event,
            story_id=posted_int(request.POST.get("story"), "story"),
            reason=request.POST.get("reason", ""),
        )

    return _write(request, pk, do, form="daily-blocker")


@require_POST
@login_required
def blocker_clear(request, pk: int, story_id: int):
    def do(actor, event):
        daily.daily_blocker_clear(actor=actor, event=event, story_id=story_id)

    return _write(request, pk, do)


@require_POST
@login_required
def timer(request, pk: int):
    """The SM starts the Daily Scrum (the timer runs from then) or ends it."""

    def do(actor, event):
        action = request.POST.get("action", "")
        if action == "start":
            event_services.event_start(actor=actor, event=event)
        elif action == "end":
            event_services.event_end(actor=actor, event=event)
        else:
            raise RuleViolation("start or end", field="action")

    return _write(request, pk, do)


def daily_live(request, pk: int):
    """The poll: 204 when nothing changed; the shared regions when something did."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _daily_event(actor, pk)
        context = _context(request, actor, event)
        regions = [live_oob(r, _region(request, context, r)) for r in REGIONS]
        return regions, event.state in OVER, next_poll(request, poll, versions, POLL_ID)

    return live_poll(request, screen=DAILY_SCREEN, scope=pk, on_change=on_change)
