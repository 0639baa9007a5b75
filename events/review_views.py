"""The Flow Sprint Review screen (/events/<pk>/review/), live.

Regions (templates/events/review/page.html), drawn for the viewer and swapped by the poll:
#review-goal (the Flow Sprint Goal and its outcome), #review-demo (the teams in showing
order with their done stories; the CSM's ↑/↓ and drag), #review-feedback (every note and
what it became, the buttons that turn one into a story), #review-roadmap (the top epics
with their feedback) and #review-run (the facilitator's outputs and end buttons).

Outside them, never swapped by the poll: #review-compose (the feedback someone is typing)
and #review-outcome (the CSM's outcome form); only the person's own posts redraw them.
The writes are events/review/services.py's: a refusal comes back in #review-notice (and
in the form, with the typed text), 400; a forbidden write 403; another Flow Team's 404.
"""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_POST

from backlog.models import Epic
from events import services as event_services
from events.models import Event
from events.review import selectors
from events.review import services as review
from events.screens import (
    OVER,
    event_or_404,
    fragment_wanted,
    live_for,
    next_poll,
    poll_actor,
    posted_int,
    write_outcome,
)
from flow.models import FlowSprint
from sem.errors import RuleViolation
from sem.live import live_oob, live_poll, live_versions
from teams.context_processors import current_actor
from teams.permissions import can_edit_story

REVIEW_SCREEN = "review"
TEMPLATE = "events/review/page.html"
REGIONS = ("review-goal", "review-demo", "review-feedback", "review-roadmap", "review-run")
# The forms people type in: redrawn by their own posts, and by anything once the review
# ended (they are gone then: a finished review is a record).
FORMS = ("review-compose", "review-outcome")


def _review_event(actor, pk: int) -> Event:
    event = event_or_404(actor, pk)
    if event.kind != Event.Kind.REVIEW:
        raise Http404("this event is not a Flow Sprint Review")
    return event


def live_keys(event: Event) -> list[str]:
    """The review's own topic and the event's (started, ended, outputs recorded)."""
    return [review.review_live_key(event.pk), event_services.event_live_key(event.pk)]


def _compose_values(post=None) -> dict:
    post = post or {}
    return {"text": post.get("text", ""), "about": post.get("about", "")}


def _outcome_values(sprint: FlowSprint, post=None) -> dict:
    if post:
        return {"outcome": post.get("outcome", ""), "note": post.get("note", "")}
    return {"outcome": sprint.goal_outcome, "note": sprint.goal_outcome_note}


def _context(actor, event: Event, *, compose=None, outcome=None, errors=None, notice=None):
    sprint = FlowSprint.objects.select_related("goal_outcome_by").get(pk=event.flow_sprint_id)
    demo = selectors.demo_list(event)
    feedback = selectors.review_feedback(event)
    teams = [row["team"] for row in demo]
    for item in feedback:
        team_id = item.story.scrum_team_id if item.story else None
        # Who may click: people who may create stories in that team (for an epic: in any).
        item.may_convert = (
            can_edit_story(actor, team_id)
            if team_id
            else any(can_edit_story(actor, t.pk) for t in teams)
        )
        item.convert_teams = (
            [t for t in teams if can_edit_story(actor, t.pk)] if not team_id else []
        )
    epics = list(
        Epic.objects.filter(flow_team_id=event.flow_team_id)
        .exclude(state__in=[Epic.State.DONE, Epic.State.CANCELLED])
        .order_by("rank")
        .only("pk", "title")
    )
    # The compose form's choices: a demoed story or an open epic.
    for row in demo:
        for story in row["stories"]:
            story.about = f"story:{story.pk}"
    for epic in epics:
        epic.about = f"epic:{epic.pk}"
    return {
        "event": event,
        "sprint": sprint,
        "demo": demo,
        "demo_count": sum(len(row["stories"]) for row in demo),
        "feedback": feedback,
        "top_epics": selectors.top_epics(event, feedback),
        "epics": epics,
        "may_facilitate": review.may_facilitate(actor, event),
        "is_open": event.state not in OVER,
        "outcomes": FlowSprint.GoalOutcome.choices,
        "compose": compose or _compose_values(),
        "outcome": outcome or _outcome_values(sprint),
        "errors": errors or {},
        "notice": notice,
    }


def _page_context(request, actor, event: Event, **kwargs) -> dict:
    keys = live_keys(event)
    versions = live_versions(keys)  # before the data (sem.live.live_fragment)
    event = _review_event(actor, event.pk)  # its state as of now
    context = _context(actor, event, **kwargs)
    context["live"] = live_for(
        request,
        actor,
        event,
        screen=REVIEW_SCREEN,
        url_name="review-live",
        keys=keys,
        versions=versions,
        poll_id="live-poll",
    )
    return context


@login_required
def review_page(request, pk: int):
    """GET: the review's screen, for everyone who sees the event (stakeholders included)."""
    actor = current_actor(request)
    event = _review_event(actor, pk)
    return render(request, TEMPLATE, _page_context(request, actor, event))


def _region(request, context, region: str) -> str:
    return render_to_string(f"{TEMPLATE}#{region}", context, request=request)


def _write(request, pk: int, do, *, form: str | None = None):
    """Run one write: ``do(actor, event)`` calls the service. The answer is the notice (main
    target) and every region out of band; a form's own write also returns that form
    (emptied when saved, the typed text and the reason when refused)."""
    actor = current_actor(request)
    event = _review_event(actor, pk)
    kept = {}
    notice, errors, status = write_outcome(lambda: do(actor, event))
    if status != 200:
        if form == "review-compose":
            kept["compose"] = _compose_values(request.POST)
        elif form == "review-outcome":
            kept["outcome"] = {
                "outcome": request.POST.get("outcome", ""),
                "note": request.POST.get("note", ""),
            }
    context = _page_context(request, actor, event, errors=errors, notice=notice, **kept)
    if not fragment_wanted(request):
        if status == 200:
            return redirect("review-page", pk=pk)
        return render(request, TEMPLATE, context, status=status)
    parts = [_region(request, context, "review-notice")]
    forms = FORMS if event.state not in OVER and context["event"].state in OVER else ()
    for region in (*REGIONS, *([form] if form else []), *[f for f in forms if f != form]):
        parts.append(live_oob(region, _region(request, context, region)))
    return HttpResponse("".join(parts), status=status)


@require_POST
@login_required
def feedback_new(request, pk: int):
    """A feedback note; ``about`` is ``story:<id>`` or ``epic:<id>``."""

    def do(actor, event):
        kind, _, raw = request.POST.get("about", "").partition(":")
        if kind not in ("story", "epic"):
            raise RuleViolation("choose the story or the epic it is about", field="about")
        about = posted_int(raw, "about")
        if len(request.POST.get("text", "")) > review.FEEDBACK_MAX:
            raise RuleViolation(f"at most {review.FEEDBACK_MAX} characters", field="text")
        review.feedback_add(
            actor=actor,
            event=event,
            text=request.POST.get("text", ""),
            story_id=about if kind == "story" else None,
            epic_id=about if kind == "epic" else None,
        )

    return _write(request, pk, do, form="review-compose")


@require_POST
@login_required
def feedback_to_story(request, pk: int, feedback_id: int):
    def do(actor, event):
        review.feedback_to_story(
            actor=actor,
            event=event,
            feedback_id=feedback_id,
            scrum_team_id=posted_int(request.POST.get("scrum_team"), "scrum_team", optional=True),
        )

    return _write(request, pk, do)


@require_POST
@login_required
def demo_order(request, pk: int):
    """The CSM's order of the teams: one team a step (``team``, ``step``: the ↑/↓ buttons)
    or the whole order at once (``order``: team ids, comma-separated, from a drag)."""

    def do(actor, event):
        if "order" in request.POST:
            raw = [p for p in request.POST["order"].split(",") if p.strip()]
            order = [posted_int(p, "order") for p in raw]
            review.demo_order_set(actor=actor, event=event, team_ids=order)
        else:
            review.demo_order_step(
                actor=actor,
                event=event,
                scrum_team_id=posted_int(request.POST.get("team"), "team"),
                step=request.POST.get("step", ""),
            )

    return _write(request, pk, do)


@require_POST
@login_required
def goal_outcome(request, pk: int):
    def do(actor, event):
        if len(request.POST.get("note", "")) > review.NOTE_MAX:
            raise RuleViolation(f"at most {review.NOTE_MAX} characters", field="note")
        review.goal_outcome_record(
            actor=actor,
            event=event,
            outcome=request.POST.get("outcome", ""),
            note=request.POST.get("note", ""),
        )

    return _write(request, pk, do, form="review-outcome")


@require_POST
@login_required
def outputs(request, pk: int):
    """Record the outputs from what happened; ``end`` ends the review too."""

    def do(actor, event):
        review.review_outputs_record(actor=actor, event=event, end="end" in request.POST)

    return _write(request, pk, do)


def review_live(request, pk: int):
    """The screen's poll: 204 when nothing changed; the viewer's regions when it did."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _review_event(actor, pk)
        context = _context(actor, event)
        over = event.state in OVER
        shown = (*REGIONS, *FORMS) if over else REGIONS
        regions = [live_oob(r, _region(request, context, r)) for r in shown]
        return regions, over, next_poll(request, poll, versions, "live-poll")

    return live_poll(request, screen=REVIEW_SCREEN, scope=pk, on_change=on_change)
