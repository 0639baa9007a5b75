"""Improvement items: the Flow Backlog (/improvements/) and each Scrum Team's improvement
items (/improvements/?team=<id>, also shown on the team's backlog page).

Every item is an action of a retrospective or a Scrum of Scrums (events/improvements/):
open ones in priority order with their age, owner, due date, the meeting they came from and
the flow metric they should move (then → now); the ones done lately below. Whoever orders a
backlog moves items up, down or to the top; the owner or they mark an item done.

Live: the page polls ``improvements:<Flow Team>``; the list holds buttons but no field
anyone types in, so the poll swaps it whole.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from events.improvements import services
from events.improvements.selectors import improvement_backlog, open_counts
from events.screens import fragment_wanted, poll_actor, screen_live, write_outcome
from sem.live import live_oob, live_poll, live_poll_context, live_versions
from teams.context_processors import member_actor
from teams.permissions import can_close_improvement, can_prioritise_improvements, can_see_events
from teams.selectors import scrum_team_list

SCREEN = "improvements"
TEMPLATE = "events/improvements/page.html"
LIVE_HOURS = 12
FLOW_BACKLOG = 0  # the live scope of the Flow Backlog; a team's is its id


def _actor(request):
    actor = member_actor(request)
    if not can_see_events(actor):
        raise Http404("improvement items are the Scrum Teams' and the Flow Team's")
    return actor


def _team_id(actor, raw: str | None) -> int | None:
    """The backlog asked for: None for the Flow Backlog; another Flow Team's or no such
    team is a 404, a malformed one too."""
    if raw in (None, "", "flow"):
        return None
    try:
        team_id = int(raw)
    except (TypeError, ValueError) as bad:
        raise Http404("no such Scrum Team") from bad
    if not scrum_team_list(actor=actor).filter(pk=team_id).exists():
        raise Http404("no such Scrum Team in your Flow Team")
    return team_id


def _list_context(actor, team_id: int | None, *, tabs: bool = True) -> dict:
    """The list of one backlog, and (on its page) the tabs with each backlog's open count."""
    backlog = improvement_backlog(flow_team_id=actor.flow_team_id, scrum_team_id=team_id)
    may_order = can_prioritise_improvements(actor, team_id)
    for item in backlog["open"]:
        item.may_close = can_close_improvement(actor, owner_id=item.owner_id, scrum_team_id=team_id)
    context = {"backlog": backlog, "may_order": may_order, "team_id": team_id}
    if tabs:
        teams = list(scrum_team_list(actor=actor).order_by("number"))
        counts = open_counts(flow_team_id=actor.flow_team_id)
        context["team"] = next((t for t in teams if t.pk == team_id), None)
        context["tabs"] = [{"team": None, "open": counts.get(None, 0)}] + [
            {"team": t, "open": counts.get(t.pk, 0)} for t in teams
        ]
    return context


def _render_list(request, context) -> str:
    return render_to_string(f"{TEMPLATE}#improvements-list", context, request=request)


def _live(request, actor, team_id: int | None) -> dict:
    key = services.improvements_live_key(actor.flow_team_id)
    scope = team_id or FLOW_BACKLOG
    return screen_live(
        request,
        screen=SCREEN,
        actor=actor,
        scope=scope,
        key=key,
        version=live_versions([key])[key],
        url=reverse("improvements-live", args=[scope]),
        params=None,
        hours=LIVE_HOURS,
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def improvements_page(request):
    actor = _actor(request)
    team_id = _team_id(actor, request.GET.get("team"))
    live = _live(request, actor, team_id)
    return render(request, TEMPLATE, {**_list_context(actor, team_id), "live": live})


@login_required
@require_http_methods(["GET", "HEAD"])
def team_panel(request, team_id: int):
    """A team's open improvement items, for its backlog page (loaded there by htmx)."""
    actor = _actor(request)
    team_id = _team_id(actor, str(team_id))
    context = _list_context(actor, team_id, tabs=False)
    return render(request, "events/improvements/team_panel.html", context)


def _write(request, do):
    """Run one write; the list (or the page) answers, a refusal above it."""
    actor = _actor(request)
    team_id = _team_id(actor, request.POST.get("team"))
    problem, _errors, status = write_outcome(lambda: do(actor))
    if not fragment_wanted(request):
        if status == 200:
            url = reverse("improvements")
            return redirect(f"{url}?team={team_id}" if team_id else url)
        return HttpResponse(problem, status=status, content_type="text/plain; charset=utf-8")
    context = {**_list_context(actor, team_id), "problem": problem}
    return HttpResponse(_render_list(request, context), status=status)


@require_POST
@login_required
def item_move(request, item_id: int):
    move = request.POST.get("move", "")
    return _write(
        request,
        lambda actor: services.improvement_item_move(actor=actor, item_id=item_id, move=move),
    )


@require_POST
@login_required
def item_done(request, item_id: int):
    return _write(
        request, lambda actor: services.improvement_item_close(actor=actor, item_id=item_id)
    )


def improvements_live(request, scope: int):
    """The page's poll: 204 after one query when nothing changed; the list when it did."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        if not can_see_events(actor):
            raise Http404("improvement items are the Scrum Teams' and the Flow Team's")
        team_id = _team_id(actor, str(scope) if scope else None)
        html = _render_list(request, _list_context(actor, team_id))
        next_poll = live_poll_context(
            url=request.path, token=request.GET.get("t", ""), versions=versions, keys=poll.keys
        )
        return [live_oob("improvements-list", html)], False, next_poll

    return live_poll(request, screen=SCREEN, scope=scope, on_change=on_change)
