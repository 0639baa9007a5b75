"""Team Sprint Planning (/events/<pk>/team-planning/): one Scrum Team plans its Team Sprint.

The members' available days give the capacity's proposal (the team's velocity scaled by
them); the team's PO or SM sets the capacity and the team sprint goal; the team drags its
ready stories into the sprint (static/js/team_planning.js, vendored SortableJS) or moves
them with each card's button, up to the capacity; a story failing the Definition of Ready
is refused and its card says why; planned stories are broken into tasks for members of
the team. The writes are flow/capacity/services.py's, the reads its selectors'.

Regions swapped by the poll (shared by every viewer with the same controls, rendered once
per version): #tp-summary (load bar, capacity, goal), #tp-people, #tp-sprint, #tp-backlog.
The forms people type in sit in #tp-forms, which only the person's own posts redraw. Keys:
the Flow Team's planning key (stories, tasks: backlog.services) and the Team Sprint's own.
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.timezone import localtime
from django.views.decorators.http import require_POST

from backlog.models import Story, Task
from backlog.services import planning_live_key
from events.models import Event
from events.screens import OVER, event_or_404, live_for, next_poll, poll_actor
from flow.capacity import selectors as plan_read
from flow.capacity import services as capacity
from flow.models import TeamSprint
from flow.roadmap import PLANNED_OUTCOMES
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_fragment, live_oob, live_poll, live_versions
from teams.context_processors import current_actor
from teams.permissions import can_plan_team_sprint, can_see_events, can_work_story

SCREEN = "team_planning"
TEMPLATE = "events/team_planning/board.html"
SHARED = ("tp-summary", "tp-people", "tp-sprint", "tp-backlog")


def _event(actor, pk: int) -> Event:
    """The Team Sprint Planning event; any other kind, another Flow Team's, or a
    stakeholder's view of it is 404."""
    event = event_or_404(actor, pk)
    if event.kind != Event.Kind.TEAM_PLANNING or event.scrum_team_id is None:
        raise Http404("this event is no Team Sprint Planning")
    if not can_see_events(actor):
        raise Http404("no such Team Sprint Planning in your Flow Team")
    return event


def _team_sprint(event: Event) -> TeamSprint:
    return capacity.team_sprint_ensure(
        flow_sprint_id=event.flow_sprint_id, scrum_team_id=event.scrum_team_id
    )


def _keys(actor, team_sprint: TeamSprint) -> list[str]:
    return [planning_live_key(actor.flow_team_id), plan_read.team_sprint_live_key(team_sprint.pk)]


def _id(raw) -> int | None:
    raw = str(raw or "").strip()
    if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) > 0:
        return int(raw)
    return None


def _shared(actor, event, team_sprint, versions) -> dict[str, str]:
    """The shared regions' HTML, rendered once per version and kind of viewer."""
    plans = can_work_story(actor, team_sprint.scrum_team_id)
    variant = f"w{int(plans)}"
    version = ".".join(str(v) for v in versions.values())
    data = {}

    def context():
        if not data:
            data.update(
                {
                    "event": event,
                    "team_sprint": team_sprint,
                    "plans": plans,
                    **plan_read.team_planning(actor=actor, team_sprint=team_sprint),
                }
            )
        return data

    return {
        region: live_fragment(
            f"tp:{event.pk}:{team_sprint.pk}:{region}",
            version,
            variant,
            lambda region=region: render_to_string(f"{TEMPLATE}#{region}", context()),
        )
        for region in SHARED
    }


def _forms_context(actor, team_sprint, *, typed=None, errors=None) -> dict:
    planned = list(
        Story.objects.filter(
            commitments__team_sprint=team_sprint,
            commitments__outcome__in=PLANNED_OUTCOMES,
        )
        .order_by("rank")
        .only("pk", "title")
    )
    return {
        "sets": can_plan_team_sprint(actor, team_sprint.scrum_team_id),
        "plans": can_work_story(actor, team_sprint.scrum_team_id),
        "members": plan_read.team_members(team_sprint.scrum_team_id),
        "planned_choices": planned,
        "typed": typed or {},
        "errors": errors or {},
        "days_full": plan_read.sprint_working_days(team_sprint),
    }


def _page_context(request, actor, event, *, typed=None, errors=None, notice=None) -> dict:
    team_sprint = _team_sprint(event)
    keys = _keys(actor, team_sprint)
    versions = live_versions(keys)  # before the data (sem.live.live_fragment)
    return {
        "event": event,
        "team_sprint": team_sprint,
        "regions": {
            region.replace("-", "_"): html
            for region, html in _shared(actor, event, team_sprint, versions).items()
        },
        "notice": notice,
        "live": live_for(
            request,
            actor,
            event,
            screen=SCREEN,
            url_name="team-planning-live",
            keys=keys,
            versions=versions,
            poll_id="tp-poll",
        ),
        **_forms_context(actor, team_sprint, typed=typed, errors=errors),
    }


@login_required
def board(request, pk: int):
    actor = current_actor(request)
    event = _event(actor, pk)
    return render(request, TEMPLATE, _page_context(request, actor, event))


def _write(request, pk: int, do):
    """Run one write (``do(actor, event, team_sprint)`` calls a flow.capacity service) and
    answer with the notice, the shared regions and the person's own forms. A refusal is a
    400 (a stale goal a 409) naming the field, with the typed text kept."""
    actor = current_actor(request)
    event = _event(actor, pk)
    team_sprint = _team_sprint(event)
    notice, errors, status, typed = None, {}, 200, None
    try:
        notice = {"level": "success", "text": do(actor, event, team_sprint), "field": ""}
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except VersionConflict:
        team_sprint = _team_sprint(event)
        who = team_sprint.goal_set_by.display_name if team_sprint.goal_set_by else "someone"
        at = localtime(team_sprint.goal_set_at, event.flow_team.tzinfo)
        notice = {
            "level": "warning",
            "field": "goal",
            "text": f"{who} changed the team sprint goal at {at:%H:%M} while you were "
            f"writing: “{team_sprint.goal}”. Yours is kept below; save again to replace it.",
        }
        status, typed = 409, {**request.POST.dict(), "goal_version": team_sprint.goal_version}
    except RuleViolation as refusal:
        errors = refusal.detail
        field = next(iter(errors))
        notice = {
            "level": "error",
            "field": field,
            "text": " ".join(m for ms in errors.values() for m in ms),
        }
        status, typed = 400, request.POST.dict()
    if not request.htmx and status == 200:
        return redirect("team-planning", pk=pk)
    context = _page_context(request, actor, event, typed=typed, errors=errors, notice=notice)
    if not request.htmx:
        return render(request, TEMPLATE, context, status=status)
    parts = [render_to_string(f"{TEMPLATE}#tp-notice", context, request=request)]
    regions = context["regions"].items()
    parts += [live_oob(region.replace("_", "-"), html) for region, html in regions]
    parts.append(live_oob("tp-forms", render_to_string(f"{TEMPLATE}#tp-forms", context, request)))
    return HttpResponse("".join(parts), status=status)


def _story(actor, team_sprint, raw) -> Story:
    pk = _id(raw)
    story = Story.objects.filter(flow_team_id=actor.flow_team_id, pk=pk).first() if pk else None
    if story is None:
        raise RuleViolation("choose one of the team's stories", field="story")
    return story


@require_POST
@login_required
def plan(request, pk: int):
    """Plan a story into the Team Sprint (``into=1``) or take it back (``into=0``)."""

    def do(actor, event, team_sprint):
        story = _story(actor, team_sprint, request.POST.get("story"))
        into = request.POST.get("into")
        if into not in ("0", "1"):
            raise RuleViolation("into the sprint (1) or back to the backlog (0)", field="into")
        capacity.team_story_plan(
            actor=actor, team_sprint=team_sprint, story=story, into=into == "1"
        )
        where = "into the sprint" if into == "1" else "back to the backlog"
        return f"“{story.title}” moved {where}."

    return _write(request, pk, do)


@require_POST
@login_required
def availability(request, pk: int):
    def do(actor, event, team_sprint):
        user_id = _id(request.POST.get("user"))
        if user_id is None:
            raise RuleViolation("choose a member of the team", field="user")
        days = capacity.availability_set(
            actor=actor, team_sprint=team_sprint, user_id=user_id, days=request.POST.get("days")
        )
        return f"Available days saved ({days})."

    return _write(request, pk, do)


@require_POST
@login_required
def capacity_points(request, pk: int):
    def do(actor, event, team_sprint):
        capacity.capacity_set(
            actor=actor, team_sprint=team_sprint, points=request.POST.get("capacity_points")
        )
        return "Capacity saved."

    return _write(request, pk, do)


@require_POST
@login_required
def goal(request, pk: int):
    def do(actor, event, team_sprint):
        version = _id(request.POST.get("goal_version"))
        if version is None and request.POST.get("goal_version") != "0":
            raise RuleViolation("reload the page and write the goal again", field="goal_version")
        capacity.team_sprint_goal_set(
            actor=actor,
            team_sprint=team_sprint,
            text=request.POST.get("goal", ""),
            expected_version=version or 0,
        )
        return "Team sprint goal saved."

    return _write(request, pk, do)


@require_POST
@login_required
def task_add(request, pk: int):
    def do(actor, event, team_sprint):
        story = _story(actor, team_sprint, request.POST.get("story"))
        raw = request.POST.get("assignee", "")
        assignee = _id(raw)
        if raw and assignee is None:
            raise RuleViolation("choose a member of the team", field="assignee")
        task = capacity.team_task_add(
            actor=actor,
            team_sprint=team_sprint,
            story=story,
            title=request.POST.get("title", ""),
            assignee_id=assignee,
        )
        return f"Task “{task.title}” added to “{story.title}”."

    return _write(request, pk, do)


@require_POST
@login_required
def task_done(request, pk: int, task_id: int):
    def do(actor, event, team_sprint):
        task = (
            Task.objects.filter(story__flow_team_id=actor.flow_team_id, pk=task_id)
            .select_related("story")
            .first()
        )
        if task is None:
            raise Http404("no such task in your Flow Team")
        done = request.POST.get("done")
        if done not in ("0", "1"):
            raise RuleViolation("done (1) or not done (0)", field="done")
        capacity.team_task_update(
            actor=actor, team_sprint=team_sprint, task=task, data={"done": done == "1"}
        )
        return f"Task “{task.title}” {'done' if done == '1' else 'open again'}."

    return _write(request, pk, do)


def team_planning_live(request, pk: int):
    """The screen's poll: 204 when nothing changed, else the shared regions."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _event(actor, pk)
        team_sprint = _team_sprint(event)
        regions = _shared(actor, event, team_sprint, versions)
        oob = [live_oob(region, html) for region, html in regions.items()]
        return oob, event.state in OVER, next_poll(request, poll, versions, "tp-poll")

    return live_poll(request, screen=SCREEN, scope=pk, on_change=on_change)
