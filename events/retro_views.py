"""The retrospective board (Team Sprint and Flow Sprint Retrospective) on its event's screen.

Regions (templates/events/retro/board.html), all rendered for the viewer, since before the
reveal each person sees only their own cards and afterwards their own dots:

- #retro-phase: the phases, the settings as they stand, the facilitator's buttons;
- #retro-previous: the earlier retros' open actions, reviewed first;
- #retro-cards: the board (own cards and the others' counts before the reveal);
- #retro-actions: this retro's action items;
- #retro-compose: the person's own form (a card while collecting, the facilitator's settings,
  an action item while discussing). The poll swaps it only when the phase changed (``ph`` in
  the poll URL), so nobody's typing is lost; otherwise only the person's own posts do.

The writes are events/retro/services.py's. A refusal comes back in #retro-notice (or in the
form with the typed text), 400; a forbidden write 403; another Flow Team's 404.
"""

import datetime
from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from events.models import Event, Retrospective
from events.retro import selectors as retro_selectors
from events.retro import services as retro
from events.screens import (
    OVER,
    event_or_404,
    fragment_wanted,
    poll_actor,
    posted_int,
    write_outcome,
)
from flow.metrics.improvement import CHOICES as IMPROVEMENT_METRICS
from sem.errors import RuleViolation
from sem.live import live_oob, live_poll, live_poll_context, live_token, live_versions
from teams.context_processors import current_actor
from teams.selectors import membership_list

RETRO_SCREEN = "retro"
TEMPLATE = "events/retro/board.html"
REGIONS = ("retro-phase", "retro-previous", "retro-cards", "retro-actions")


def _retro_event(actor, pk: int) -> Event:
    event = event_or_404(actor, pk)
    if event.kind not in retro.RETRO_KINDS:
        raise Http404("this event is not a retrospective")
    return event


def _joined(actor, pk: int) -> Event:
    event = _retro_event(actor, pk)
    if not retro.may_join(actor, event):
        raise PermissionDenied("only the retro's participants see its board")
    return event


def _compose_values(retro_row: Retrospective, post=None) -> dict:
    post = post or {}
    return {
        "card": post.get("card", ""),
        "column": post.get("column", "0"),
        "text": post.get("text", ""),
        "owner": post.get("owner", ""),
        "due_date": post.get("due_date", ""),
        "metric": post.get("metric", ""),
        "format": post.get("format", retro_row.format),
        "votes_per_person": post.get("votes_per_person", str(retro_row.votes_per_person)),
        "anonymous": ("anonymous" in post) if post else retro_row.anonymous,
    }


def _context(actor, event: Event, retro_row: Retrospective, *, compose=None, errors=None):
    revealed = retro_row.phase != Retrospective.Phase.COLLECT
    viewer_key = retro.author_key(retro_row.pk, actor.user.pk)
    board = retro_selectors.board_data(retro_row, viewer_key=viewer_key, revealed=revealed)
    mine = retro_selectors.dots_used(retro_row, actor.user.pk)
    for group in board["ranked"]:
        group["my_dots"] = mine.get(group["root"].pk, 0)
    phase_index = retro.PHASES.index(retro_row.phase)
    return {
        "event": event,
        "retro": retro_row,
        "revealed": revealed,
        "phases": [
            {"value": v, "label": label, "done": i < phase_index, "now": i == phase_index}
            for i, (v, label) in enumerate(Retrospective.Phase.choices)
        ],
        "next_phase": retro.PHASES[phase_index + 1] if phase_index + 1 < len(retro.PHASES) else "",
        "back_phase": retro.PHASES[phase_index - 1] if phase_index > 1 else "",
        "may_facilitate": retro.may_facilitate(actor, event),
        "board": board,
        "dots_left": retro_row.votes_per_person - sum(mine.values()),
        "previous": retro_selectors.previous_actions(event),
        "themes": (
            retro_selectors.team_themes(event) if event.kind == Event.Kind.FLOW_RETRO else None
        ),
        "actions": retro_selectors.retro_actions(event),
        "members": [m.user for m in membership_list(actor=actor).order_by("user__full_name")],
        "formats": Retrospective.Format.choices,
        "improvement_metrics": IMPROVEMENT_METRICS,
        "compose": compose or _compose_values(retro_row),
        "errors": errors or {},
        "today": timezone.localdate().isoformat(),
    }


def _region(request, context, region: str) -> str:
    return render_to_string(f"{TEMPLATE}#{region}", context, request=request)


def _live(request, actor, event: Event, retro_row: Retrospective, versions) -> dict | None:
    """The poll element, carrying the phase the viewer's form was drawn for: the poll swaps
    the form when the phase moved."""
    if event.state in OVER:
        return None
    keys = retro_selectors.live_keys(event)
    token = live_token(
        screen=RETRO_SCREEN,
        user_id=request.user.pk,
        flow_team_id=actor.flow_team_id,
        scope=event.pk,
        keys=keys,
        expires_at=max(event.ends_at, timezone.now()) + timedelta(hours=1),
    )
    url = reverse("retro-live", args=[event.pk])
    return _poll_element(url, token, versions, keys, retro_row)


def _poll_element(url: str, token: str, versions, keys, retro_row: Retrospective) -> dict:
    context = live_poll_context(
        url=url, token=token, versions=versions, keys=keys, params={"ph": retro_row.phase}
    )
    return {**context, "id": "retro-poll"}


def _regions(event: Event) -> tuple[str, ...]:
    """The flow retro also shows the team retros' themes, which move with their boards."""
    return (*REGIONS, "retro-themes") if event.kind == Event.Kind.FLOW_RETRO else REGIONS


def _page_context(request, actor, event: Event, *, compose=None, errors=None, notice=None):
    # Versions before the data (sem.live.live_fragment).
    versions = live_versions(retro_selectors.live_keys(event))
    retro_row = retro.retro_ensure(event=event)
    context = _context(actor, event, retro_row, compose=compose, errors=errors)
    context["live"] = _live(request, actor, event, retro_row, versions)
    context["notice"] = notice
    return context


@login_required
def board(request, pk: int):
    """GET: the board; the fragment when the event screen loads it, else a page."""
    actor = current_actor(request)
    event = _retro_event(actor, pk)
    if not retro.may_join(actor, event) and fragment_wanted(request):
        # On the event's screen: say whose retro it is, show nothing of it.
        return render(request, f"{TEMPLATE}#retro-not-yours", {"event": event})
    event = _joined(actor, pk)
    context = _page_context(request, actor, event)
    if fragment_wanted(request):
        return render(request, f"{TEMPLATE}#retro-board", context)
    return render(request, "events/retro/page.html", context)


def _date(raw: str) -> datetime.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return datetime.date.fromisoformat(raw)
    except ValueError as bad:
        raise RuleViolation("a date like 2026-02-01", field="due_date") from bad


def _write(request, pk: int, do, *, compose: bool = False):
    """Run one write for the board: ``do(actor, event)`` calls the service. The answer is
    the notice (main target) and every region out of band; a compose write also returns its
    form (emptied when saved, the typed text and the reason when refused)."""
    actor = current_actor(request)
    event = _retro_event(actor, pk)
    notice, errors, status = write_outcome(lambda: do(actor, event))
    kept = None
    if status != 200 and compose:
        kept = _compose_values(retro.retro_ensure(event=event), request.POST)
    if not fragment_wanted(request):
        if status == 200:
            return redirect("event-detail", pk=pk)
        context = _page_context(request, actor, event, compose=kept, errors=errors, notice=notice)
        return render(request, "events/retro/page.html", context, status=status)
    context = _page_context(request, actor, event, compose=kept, errors=errors, notice=notice)
    parts = [_region(request, context, "retro-notice")]
    # The person's own form is redrawn only by its own post, or when the phase moved.
    moved = context["retro"].phase != request.POST.get("shown_phase", context["retro"].phase)
    regions = [*_regions(event), "retro-compose"] if compose or moved else list(_regions(event))
    for region in regions:
        parts.append(live_oob(region, _region(request, context, region)))
    if context["live"] and "retro-compose" in regions:
        # The poll now knows the phase the form shows; otherwise it keeps the old one, and
        # its next answer brings the form if the phase moved meanwhile.
        parts.append(
            render_to_string("includes/live_poll.html", {"live": {**context["live"], "oob": True}})
        )
    return HttpResponse("".join(parts), status=status)


@require_POST
@login_required
def retro_settings(request, pk: int):
    def do(actor, event):
        retro.retro_configure(
            actor=actor,
            event=event,
            format=request.POST.get("format", ""),
            votes_per_person=posted_int(
                request.POST.get("votes_per_person", ""), "votes_per_person"
            ),
            anonymous="anonymous" in request.POST,
        )

    return _write(request, pk, do, compose=True)


@require_POST
@login_required
def retro_phase(request, pk: int):
    def do(actor, event):
        retro.retro_phase(actor=actor, event=event, to=request.POST.get("phase", ""))

    return _write(request, pk, do)


@require_POST
@login_required
def card_save(request, pk: int):
    """A new card, or (``card`` given) the author's own card changed."""

    def do(actor, event):
        column = posted_int(request.POST.get("column", ""), "column")
        card_id = posted_int(request.POST.get("card", ""), "card", optional=True)
        text = request.POST.get("text", "")
        if len(text) > retro.CARD_MAX:
            raise RuleViolation(f"at most {retro.CARD_MAX} characters", field="text")
        if card_id is None:
            retro.card_add(actor=actor, event=event, column=column, text=text)
        else:
            retro.card_edit(actor=actor, event=event, card_id=card_id, column=column, text=text)

    return _write(request, pk, do, compose=True)


@login_required
def card_edit_form(request, pk: int, card_id: int):
    """GET: the author's own card in the compose form (only their own: another's is 404)."""
    actor = current_actor(request)
    event = _joined(actor, pk)
    retro_row = retro.retro_ensure(event=event)
    card = retro_row.cards.filter(
        pk=card_id, author_key=retro.author_key(retro_row.pk, actor.user.pk)
    ).first()
    if card is None:
        raise Http404("no such card of yours")
    compose = {
        **_compose_values(retro_row),
        "card": str(card.pk),
        "column": str(card.column),
        "text": card.text,
    }
    context = _context(actor, event, retro_row, compose=compose)
    return render(request, f"{TEMPLATE}#retro-compose", context)


@require_POST
@login_required
def card_delete(request, pk: int, card_id: int):
    def do(actor, event):
        retro.card_delete(actor=actor, event=event, card_id=card_id)

    return _write(request, pk, do)


@require_POST
@login_required
def card_group(request, pk: int, card_id: int):
    def do(actor, event):
        onto = posted_int(request.POST.get("onto", ""), "onto", optional=True)
        retro.card_group(actor=actor, event=event, card_id=card_id, onto_id=onto)

    return _write(request, pk, do)


@require_POST
@login_required
def card_vote(request, pk: int, card_id: int):
    def do(actor, event):
        action = request.POST.get("action", "")
        if action not in ("add", "remove"):
            raise RuleViolation("add a dot or take one back", field="action")
        if action == "remove":
            retro.vote_take_back(actor=actor, event=event, card_id=card_id)
        else:
            retro.vote_cast(actor=actor, event=event, card_id=card_id)

    return _write(request, pk, do)


@require_POST
@login_required
def action_new(request, pk: int):
    def do(actor, event):
        text = request.POST.get("text", "")
        if len(text) > retro.ACTION_MAX:
            raise RuleViolation(f"at most {retro.ACTION_MAX} characters", field="text")
        retro.action_add(
            actor=actor,
            event=event,
            text=text,
            owner_id=posted_int(request.POST.get("owner", ""), "owner", optional=True),
            due_date=_date(request.POST.get("due_date", "")),
            metric=request.POST.get("metric", ""),
        )

    return _write(request, pk, do, compose=True)


@require_POST
@login_required
def action_done(request, pk: int, action_id: int):
    def do(actor, event):
        retro.action_done(actor=actor, event=event, action_id=action_id)

    return _write(request, pk, do)


def retro_live(request, pk: int):
    """The board's poll: 204 when nothing changed; the viewer's regions when something did
    (their own cards only, before the reveal); the form too when the phase moved."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _joined(actor, pk)
        retro_row = retro.retro_ensure(event=event)
        context = _context(actor, event, retro_row)
        regions = [live_oob(r, _region(request, context, r)) for r in _regions(event)]
        if request.GET.get("ph") != retro_row.phase:
            regions.append(live_oob("retro-compose", _region(request, context, "retro-compose")))
        token = request.GET.get("t", "")
        following = _poll_element(request.path, token, versions, poll.keys, retro_row)
        return regions, event.state in OVER, following

    return live_poll(request, screen=RETRO_SCREEN, scope=pk, on_change=on_change)
