"""Flow Sprint Planning 2 on its event's screen (domain.md, "Events"), live.

Each Scrum Team's sprint goal, planned stories and load against capacity; the open
dependencies with their mitigation plans (risks linked to them) and the risk register; the
CPO drafts the Flow Sprint Goal and the CSM confirms it, which closes the event and records
its outputs. Before the confirmation the screen says plainly what still stands: a red
dependency, an unmitigated high risk; the confirmation records that it was made despite them.

Regions: #p2-goal, #p2-warnings, #p2-teams and #p2-dependencies are shared by every viewer
and rendered once per version; #p2-confirm is the viewer's own (the CSM's button, with
the warnings it acknowledges). The CPO's draft (#p2-draft) is never swapped by the poll.
"""

from functools import cache

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_POST

from backlog.services import roadmap_live_key
from events import services
from events.models import Event
from events.risk_views import risk_list_oob, writable_teams
from events.screens import OVER, event_or_404, fragment_wanted, live_for, next_poll, poll_actor
from flow import selectors as flow_selectors
from flow import services as flow_services
from flow.models import FlowSprint
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import (
    live_fragment,
    live_oob,
    live_poll,
    live_versions,
)
from teams.context_processors import current_actor
from teams.permissions import can_confirm_flow_sprint_goal, can_draft_flow_sprint_goal

P2_SCREEN = "planning-2"
SHARED = ("p2-goal", "p2-warnings", "p2-teams", "p2-dependencies")
TEMPLATE = "events/planning2/board.html"


def _planning_2(actor, pk: int) -> Event:
    event = event_or_404(actor, pk)
    if event.kind != Event.Kind.PLANNING_2:
        raise Http404("this event is not a Flow Sprint Planning 2")
    return event


def live_keys(event: Event) -> list[str]:
    """What the screen shows: the goal, the register, the dependencies (the roadmap's
    topic), the sprint's plans and the event's own state."""
    return [
        flow_services.flow_sprint_goal_live_key(event.flow_sprint_id),
        flow_services.risk_live_key(event.flow_team_id),
        roadmap_live_key(event.flow_team_id),
        flow_services.commitments_live_key(event.flow_sprint_id),
        services.event_live_key(event.pk),
    ]


def _reader(actor, event: Event):
    """The board's data, read once and only if a region is not cached yet."""

    @cache
    def read() -> dict:
        sprint = FlowSprint.objects.select_related("goal_drafted_by", "goal_confirmed_by").get(
            pk=event.flow_sprint_id
        )
        risks = flow_selectors.risk_register(flow_team=actor.flow_team)
        dependencies = flow_selectors.dependency_plans(flow_team=actor.flow_team, risks=risks)
        return {
            "event": event,
            "sprint": sprint,
            "teams": flow_selectors.planning_2_teams(flow_sprint=sprint),
            "dependencies": dependencies,
            "warnings": flow_selectors.warnings_of(dependencies, risks),
        }

    return read


def _shared(actor, event: Event, versions: dict, read) -> dict[str, str]:
    """The shared regions, each rendered once per version of everything the screen shows."""
    version = ".".join(str(versions[k]) for k in live_keys(event))
    writes = "w" if writable_teams(actor) != "none" else "r"
    return {
        region: live_fragment(
            f"planning-2:{event.pk}",
            version,
            f"{region}:{writes}",
            lambda r=region: render_to_string(
                f"{TEMPLATE}#{r}", {**read(), "may_write_register": writes == "w"}
            ),
        )
        for region in SHARED
    }


def _confirm_html(request, actor, event: Event, read, notice=None) -> str:
    return render_to_string(
        f"{TEMPLATE}#p2-confirm",
        {
            **read(),
            "event": event,
            "may_confirm": can_confirm_flow_sprint_goal(actor),
            "notice": notice,
        },
        request=request,
    )


def _draft_context(actor, sprint: FlowSprint, *, text=None, version=None, notice=None) -> dict:
    return {
        "may_draft": can_draft_flow_sprint_goal(actor) and sprint.goal_confirmed_at is None,
        "draft": {
            "text": sprint.goal_draft if text is None else text,
            "version": sprint.goal_version if version is None else version,
        },
        "draft_notice": notice,
    }


def _board_context(request, actor, event: Event, *, draft=None) -> dict:
    keys = live_keys(event)
    versions = live_versions(keys)  # before the data (sem.live.live_fragment)
    read = _reader(actor, event)
    live = live_for(
        request,
        actor,
        event,
        screen=P2_SCREEN,
        url_name="planning-2-live",
        keys=keys,
        versions=versions,
        poll_id="p2-poll",
    )
    regions = _shared(actor, event, versions, read)
    sprint = read()["sprint"]
    return {
        "event": event,
        "regions": {k.replace("-", "_"): v for k, v in regions.items()},
        "confirm_html": _confirm_html(request, actor, event, read),
        **(draft or _draft_context(actor, sprint)),
        "live": live,
        # This screen's poll watches the register's topic (live_keys): the embedded
        # register needs no poll of its own.
        "register_polled_by_host": live is not None,
    }


@login_required
def board(request, pk: int):
    """GET: the Planning 2 board; the fragment when the event screen loads it, else a page
    of its own."""
    actor = current_actor(request)
    event = _planning_2(actor, pk)
    context = _board_context(request, actor, event)
    if fragment_wanted(request):
        return render(request, f"{TEMPLATE}#p2-board", context)
    return render(request, "events/planning2/page.html", context)


def _after_write(request, actor, event: Event, main: str, status: int):
    keys = live_keys(event)
    versions = live_versions(keys)
    event = _planning_2(actor, event.pk)
    read = _reader(actor, event)
    oob = [live_oob(r, html) for r, html in _shared(actor, event, versions, read).items()]
    if main != "p2-confirm":
        oob.append(live_oob("p2-confirm", _confirm_html(request, actor, event, read)))
    return oob, read


def _last_draft(actor, event: Event):
    """The draft as it stands, who saved it and when (local time): a stale save names them."""
    sprint = FlowSprint.objects.select_related("goal_drafted_by").get(pk=event.flow_sprint_id)
    who = sprint.goal_drafted_by.display_name if sprint.goal_drafted_by else "someone"
    return sprint, who, timezone.localtime(sprint.goal_drafted_at, actor.flow_team.tzinfo)


def _writer(request, pk: int, may, why: str):
    """The Planning 2 a write is for (404 when not the actor's) and whether they may (403)."""
    actor = current_actor(request)
    event = _planning_2(actor, pk)
    if not may(actor):
        raise PermissionDenied(why)
    return actor, event


@require_POST
@login_required
def goal_draft(request, pk: int):
    """POST: the CPO's draft of the Flow Sprint Goal, at the version their form read."""
    actor, event = _writer(request, pk, can_draft_flow_sprint_goal, "the CPO drafts the goal")
    text, read = request.POST.get("goal", ""), request.POST.get("version", "")
    status = 200
    try:
        if not read.isdigit() or len(read) > 9:
            raise RuleViolation("the form's version is missing; reload the page", field="goal")
        sprint = flow_services.flow_sprint_goal_draft(
            actor=actor, flow_sprint=event.flow_sprint, text=text, expected_version=int(read)
        )
        draft = _draft_context(actor, sprint, notice={"level": "success", "text": "Draft saved."})
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except VersionConflict:
        sprint, who, at = _last_draft(actor, event)
        draft = _draft_context(
            actor,
            sprint,
            text=text,
            notice={
                "level": "warning",
                "text": f"{who} saved a draft at {at:%H:%M} while you were writing: "
                f"“{sprint.goal_draft}”. Yours is kept below; save again to replace it.",
            },
        )
        status = 409
    except RuleViolation as refusal:
        sprint = event.flow_sprint
        draft = _draft_context(
            actor,
            sprint,
            text=text,
            version=int(read) if read.isdigit() and len(read) <= 9 else None,
            notice={"level": "error", "errors": refusal.detail},
        )
        status = 400
    if not fragment_wanted(request):
        if status == 200:
            return redirect("event-detail", pk=pk)
        context = _board_context(request, actor, event, draft=draft)
        return render(request, "events/planning2/page.html", context, status=status)
    main = render_to_string(f"{TEMPLATE}#p2-draft", {"event": event, **draft}, request=request)
    oob, _read = _after_write(request, actor, event, "p2-draft", status)
    return HttpResponse(main + "".join(oob), status=status)


@require_POST
@login_required
def goal_confirm(request, pk: int):
    """POST: the CSM confirms the draft as the Flow Sprint Goal, acknowledging what still
    stands (``acknowledged``: the warnings their screen showed); Planning 2 closes."""
    actor, event = _writer(request, pk, can_confirm_flow_sprint_goal, "the CSM confirms the goal")
    read = request.POST.get("version", "")
    notice, status = None, 200
    try:
        if not read.isdigit() or len(read) > 9:
            raise RuleViolation("the form's version is missing; reload the page", field="confirm")
        event = services.planning_2_confirm(
            actor=actor,
            event=event,
            expected_version=int(read),
            acknowledged=set(request.POST.getlist("acknowledged")),
        )
        notice = {"level": "success", "text": "Flow Sprint Goal confirmed; Planning 2 is done."}
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except VersionConflict:
        sprint, who, at = _last_draft(actor, event)
        notice = {
            "level": "warning",
            "text": f"{who} changed the draft at {at:%H:%M}: “{sprint.goal_draft}”. "
            "Read it, then confirm again.",
        }
        status = 409
    except RuleViolation as refusal:
        notice = {
            "level": "error",
            "text": " ".join(m for ms in refusal.detail.values() for m in ms),
        }
        status = 400
    if not fragment_wanted(request):
        if status == 200:
            return redirect("event-detail", pk=pk)
        context = _board_context(request, actor, event)
        context["confirm_html"] = _confirm_html(
            request, actor, event, _reader(actor, event), notice
        )
        return render(request, "events/planning2/page.html", context, status=status)
    oob, read_board = _after_write(request, actor, event, "p2-confirm", status)
    event = _planning_2(actor, pk)
    main = _confirm_html(request, actor, event, read_board, notice)
    return HttpResponse(main + "".join(oob), status=status)


def planning_2_live(request, pk: int):
    """The board's poll: 204 after one query when nothing changed; the changed regions and
    the viewer's own confirm controls when something did; stops once the event is done."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _planning_2(actor, pk)
        read = _reader(actor, event)
        regions = [live_oob(r, html) for r, html in _shared(actor, event, versions, read).items()]
        regions.append(live_oob("p2-confirm", _confirm_html(request, actor, event, read)))
        risks = flow_services.risk_live_key(actor.flow_team_id)
        if versions[risks] != poll.seen.get(risks):
            # The embedded register has no poll of its own: this one swaps its list.
            regions.append(risk_list_oob(actor, event, versions[risks]))
        return regions, event.state in OVER, next_poll(request, poll, versions, "p2-poll")

    return live_poll(request, screen=P2_SCREEN, scope=pk, on_change=on_change)
