"""The roadmap (/roadmap/): the CPO's working screen and the Product Roadmap Refinement's.

Product Goal on top, milestones side by side in order with their epics in rank order,
an unscheduled lane, and the changes since the last refinement. The CPO drags epics
(static/js/roadmap.js, vendored SortableJS) or moves them with buttons, re-scores WSJF,
ranks by WSJF on confirm, plans milestones and epics; the Architect records feasibility;
everyone else reads. Every open roadmap follows within 2 s (sem/live.py, key
``roadmap:<flow team>``).

It lives in events because the refinement is an event: "changes since" starts at the
last Product Roadmap Refinement, and the page reads sprint plans (flow/roadmap.py).

Regions swapped by the poll (shared, rendered once per version and variant): the Product
Goal, the lanes, the changes. Every form anyone types in sits in the side panel
(``#roadmap-panel``), which only the person's own requests swap.
"""

from datetime import datetime, time, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from backlog import selectors as backlog_selectors
from backlog import services as backlog_services
from backlog.models import Epic, ProductGoal, RoadmapChange
from backlog.services import UNCHANGED, roadmap_live_key
from events import forms
from events.models import Event
from events.screens import poll_actor, refusal_to_form, refused_is_403
from events.selectors import event_for, roadmap_refinement_before
from flow.roadmap import roadmap_for
from sem.errors import NotFound, RuleViolation, VersionConflict
from sem.live import (
    live_digest,
    live_fragment,
    live_oob,
    live_oob_element,
    live_parts,
    live_parts_changed,
    live_parts_seen,
    live_poll,
    live_poll_context,
    live_token,
    live_versions,
)
from teams.context_processors import member_actor
from teams.permissions import can_assess_feasibility, can_manage_roadmap

ROADMAP_SCREEN = "roadmap"
# The roadmap is no meeting with an end: a viewer's token lasts a working day; an open
# screen then stops polling and says so.
LIVE_HOURS = 12
# Without any refinement yet, "changes since" looks back one month (refinements are monthly).
DEFAULT_LOOKBACK_DAYS = 30
CHANGES_SHOWN = 150
FIELD_LABELS = {
    "business_value": "business value",
    "time_criticality": "time criticality",
    "risk_reduction": "risk reduction / opportunity enablement",
    "job_size": "job size",
    "feasibility_note": "feasibility note",
    "acceptance_conditions": "acceptance conditions",
    "target_date": "target date",
    "closed_at": "closed",
}


# --- Reading the page's parameters -------------------------------------------------


def _id(raw: str | None) -> int | None:
    """A positive id from the query string; anything else is not an id (None)."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) > 0:
        return int(raw)
    return None


def _refinement(request, actor) -> Event | None:
    """The Product Roadmap Refinement the roadmap is open for (``?refinement=<event>``)."""
    raw = request.GET.get("refinement")
    if raw is None:
        return None
    pk = _id(raw)
    try:
        event = event_for(actor=actor, pk=pk) if pk else None
    except NotFound:
        event = None
    if event is None or event.kind != Event.Kind.ROADMAP_REFINEMENT:
        raise Http404("no such Product Roadmap Refinement in your Flow Team")
    return event


def _since(request, actor, refinement) -> tuple[forms.RoadmapSinceForm, datetime, str]:
    """Where "changes since" starts: the date asked for, else the last Product Roadmap
    Refinement (before the one the page is open for), else a month ago."""
    form = forms.RoadmapSinceForm(request.GET if "since" in request.GET else None)
    tz = actor.flow_team.tzinfo
    if form.is_bound and form.is_valid() and form.cleaned_data["since"]:
        day = form.cleaned_data["since"]
        return form, datetime.combine(day, time.min, tzinfo=tz), "the date you chose"
    moment = timezone.now()
    if refinement is not None:
        moment = refinement.started_at or refinement.starts_at
    last = roadmap_refinement_before(actor=actor, moment=moment)
    if last is not None:
        return form, last, "the last Product Roadmap Refinement"
    start = datetime.combine(
        actor.flow_team.today() - timedelta(days=DEFAULT_LOOKBACK_DAYS), time.min, tzinfo=tz
    )
    return form, start, "a month ago (no Product Roadmap Refinement yet)"


# --- Regions every viewer shares ---------------------------------------------------


def _variant(actor) -> str:
    """The lanes differ by role only: the CPO's carry handles and move buttons."""
    return "edit" if can_manage_roadmap(actor) else "read"


def _describe(change: RoadmapChange, milestone_names: dict[int, str]) -> list[str]:
    """What one logged change did, field by field, in the roadmap's words."""

    def shown(field, value):
        if value is None or value == "":
            return "none" if field != "milestone" else "unscheduled"
        if field == "milestone":
            return milestone_names.get(value, "a milestone")
        return str(value)

    if change.kind == RoadmapChange.Kind.CREATED:
        return []
    if change.kind == RoadmapChange.Kind.RANKED:
        before, after = change.before.get("position"), change.after.get("position")
        how = " by WSJF" if change.after.get("by") == "wsjf" else ""
        if before and after:
            return [f"from position {before} to {after}{how}"]
        return [f"new place in the rank order{how}"]
    parts = []
    for field, old in change.before.items():
        if field in ("rank", "order"):
            continue
        new = change.after.get(field)
        if new == old:
            continue
        label = FIELD_LABELS.get(field, field.replace("_", " "))
        if field in ("description", "acceptance_conditions", "objective", "feasibility_note"):
            parts.append(f"{label} rewritten")
        else:
            parts.append(f"{label}: {shown(field, old)} → {shown(field, new)}")
    return parts


def _changes(actor, since: datetime, milestones: list[dict]) -> dict:
    changes = backlog_selectors.roadmap_changes_since(actor=actor, since=since)
    total = changes.count()
    # The newest ones when there are many; shown oldest first, as the meeting reads them.
    rows = list(changes.reverse()[:CHANGES_SHOWN])[::-1]
    names = {m["id"]: m["name"] for m in milestones}
    return {
        "total": total,
        "hidden": max(0, total - len(rows)),
        "rows": [{"change": c, "parts": _describe(c, names)} for c in rows],
        "epics": sum(1 for c in rows if c.epic_id),
    }


class _Roadmap:
    """The roadmap's data, read at most once per request and only when a region that
    needs it is not in the cache yet."""

    def __init__(self, actor):
        self.actor = actor
        self._data = None

    @property
    def data(self) -> dict:
        if self._data is None:
            self._data = roadmap_for(actor=self.actor)
        return self._data

    @property
    def goal(self):
        if self._data is not None:
            return self._data["product_goal"]
        return backlog_selectors.product_goal_active(actor=self.actor)

    @property
    def milestones(self) -> list[dict]:
        """The milestones alone (for a form's choices): one query unless the whole
        roadmap was read anyway."""
        if self._data is not None:
            return self._data["milestones"]
        return [
            {"id": m.pk, "name": m.name, "closed": m.closed_at is not None}
            for m in backlog_selectors.milestones_of_flow_team(actor=self.actor)
        ]


class _Shown:
    """What the roadmap shows every viewer at one version: the Product Goal, the lanes
    (one part per milestone and the unscheduled one) and the changes, each part an
    element with its id and a digest (sem.live: a change sends only the parts that
    differ from what a viewer shows)."""

    def __init__(self, actor, roadmap: _Roadmap, version: int, since: datetime):
        key = roadmap_live_key(actor.flow_team_id)
        editable = _variant(actor) == "edit"

        def goal():
            return render_to_string(
                "events/roadmap.html#goal", {"goal": roadmap.data["product_goal"]}
            )

        def lanes():
            data, lane = roadmap.data, "events/roadmap.html#lane"
            count = len(data["milestones"])
            parts = [
                (
                    f"lane-{m['id']}",
                    render_to_string(
                        lane,
                        {"m": m, "first": n == 0, "last": n == count - 1, "editable": editable},
                    ),
                )
                for n, m in enumerate(data["milestones"])
            ]
            context = {"m": None, "unscheduled": data["unscheduled"], "editable": editable}
            return [*parts, ("lane-none", render_to_string(lane, context))]

        def changes():
            found = _changes(actor, since, roadmap.milestones)
            return render_to_string(
                "events/roadmap.html#changes",
                {"changes": found, "since": since, "tz": actor.flow_team.timezone},
            )

        goal_html = live_fragment(key, version, "goal", goal)
        changes_html = live_fragment(key, version, f"changes-{since.isoformat()}", changes)
        self.lanes = live_parts(key, version, f"lanes-{_variant(actor)}", lanes)
        self.editable = editable
        self.parts = [
            ("roadmap-goal", goal_html, live_digest(goal_html)),
            *self.lanes,
            ("roadmap-changes", changes_html, live_digest(changes_html)),
        ]

    def html(self, part_id: str) -> SafeString:
        return mark_safe(next(html for pid, html, _ in self.parts if pid == part_id))  # noqa: S308

    def lanes_html(self) -> SafeString:
        return format_html(
            '<div class="lanes" data-editable="{}">{}</div>',
            "true" if self.editable else "false",
            mark_safe("".join(html for _pid, html, _digest in self.lanes)),  # noqa: S308
        )

    def all_oob(self) -> list[SafeString]:
        """Every region, for a viewer whose screen may be in any state."""
        return [
            live_oob("roadmap-goal", self.html("roadmap-goal")),
            live_oob("roadmap-lanes", self.lanes_html()),
            live_oob("roadmap-changes", self.html("roadmap-changes")),
        ]

    def changed_oob(self, seen: str) -> list[SafeString]:
        """Only what differs from what the viewer shows (``p`` of their poll URL)."""
        changed = live_parts_changed(self.parts, seen)
        if changed is None:
            return self.all_oob()
        return [
            live_oob(pid, html) if pid.startswith("roadmap-") else live_oob_element(html)
            for pid, html, _digest in self.parts
            if pid in changed
        ]

    def seen(self) -> str:
        return live_parts_seen(self.parts)


def _live(request, actor, version: int, since: datetime, shown: "_Shown") -> dict:
    key = roadmap_live_key(actor.flow_team_id)
    token = live_token(
        screen=ROADMAP_SCREEN,
        user_id=request.user.pk,
        flow_team_id=actor.flow_team_id,
        scope=actor.flow_team_id,
        keys=[key],
        expires_at=timezone.now() + timedelta(hours=LIVE_HOURS),
    )
    return live_poll_context(
        url=reverse("roadmap-live", args=[actor.flow_team_id]),
        token=token,
        versions={key: version},
        keys=[key],
        params={"since": since.isoformat(), "p": shown.seen()},
    )


# --- The side panel: every form of the page ----------------------------------------


def _panel_for(request, actor, roadmap: _Roadmap) -> dict | None:
    """Which panel the query string opens (``?epic=``, ``?milestone=``, ``?new=epic``,
    ``?new=milestone``, ``?goal=edit``, ``?wsjf=propose``); None for none."""
    if "epic" in request.GET:
        panel = _epic_panel(actor, roadmap, _epic(actor, _id(request.GET["epic"])))
        panel["focus_move"] = request.GET.get("move") == "1"
        return panel
    if "milestone" in request.GET:
        return _milestone_panel(actor, _milestone(actor, _id(request.GET["milestone"])))
    new = request.GET.get("new")
    if new == "epic" and can_manage_roadmap(actor):
        return {
            "kind": "new-epic",
            "form": forms.EpicForm(milestones=roadmap.milestones),
        }
    if new == "milestone" and can_manage_roadmap(actor):
        return {"kind": "new-milestone", "form": forms.MilestoneForm()}
    if request.GET.get("goal") == "edit" and can_manage_roadmap(actor):
        return _goal_panel(roadmap)
    if request.GET.get("wsjf") == "propose" and can_manage_roadmap(actor):
        return _wsjf_panel(actor)
    return None


def _epic(actor, pk: int | None) -> Epic:
    epic = backlog_selectors.epic_of_flow_team(actor=actor, epic_id=pk) if pk else None
    if epic is None:
        raise Http404("no such epic in your Flow Team")
    return epic


def _milestone(actor, pk: int | None):
    milestone = (
        backlog_selectors.milestone_of_flow_team(actor=actor, milestone_id=pk) if pk else None
    )
    if milestone is None:
        raise Http404("no such milestone in your Flow Team")
    return milestone


def _epic_panel(actor, roadmap: _Roadmap, epic: Epic, **bound) -> dict:
    milestones = roadmap.milestones
    initial = {
        "title": epic.title,
        "description": epic.description,
        "acceptance_conditions": epic.acceptance_conditions,
        "milestone": epic.milestone_id or "",
        "state": epic.state,
        "version": epic.version,
    }
    wsjf_initial = {f: getattr(epic, f) for f in forms.WSJF_FIELDS} | {"version": epic.version}
    feasibility_initial = {
        "feasibility": epic.feasibility,
        "feasibility_note": epic.feasibility_note,
        "version": epic.version,
    }
    return {
        "kind": "epic",
        "epic": epic,
        "milestones": milestones,
        "milestone_name": next((m["name"] for m in milestones if m["id"] == epic.milestone_id), ""),
        "may_edit": can_manage_roadmap(actor),
        "may_assess": can_assess_feasibility(actor),
        "form": bound.get("form")
        or forms.EpicEditForm(
            initial=initial, milestones=milestones, current_milestone=epic.milestone_id
        ),
        "wsjf_form": bound.get("wsjf_form") or forms.WsjfForm(initial=wsjf_initial),
        "feasibility_form": bound.get("feasibility_form")
        or forms.FeasibilityForm(initial=feasibility_initial),
        "notice": bound.get("notice"),
    }


def _milestone_panel(actor, milestone, form=None, notice=None) -> dict:
    return {
        "kind": "milestone",
        "milestone": milestone,
        "may_edit": can_manage_roadmap(actor),
        "form": form
        or forms.MilestoneEditForm(
            initial={
                "name": milestone.name,
                "objective": milestone.objective,
                "start": milestone.start,
                "end": milestone.end,
                "version": milestone.version,
            }
        ),
        "notice": notice,
    }


def _goal_panel(roadmap: _Roadmap, form=None, notice=None) -> dict:
    goal = roadmap.goal
    initial = (
        {"statement": goal.statement, "target_date": goal.target_date, "status": goal.status}
        if goal
        else {"status": ProductGoal.Status.ACTIVE}
    )
    return {
        "kind": "goal",
        "goal": goal,
        "form": form or forms.ProductGoalForm(initial=initial),
        "notice": notice,
    }


def _wsjf_panel(actor, notice=None) -> dict:
    proposal = backlog_selectors.wsjf_proposal(actor=actor)
    rows = [
        {"epic": e, "position": n, "shift": e.current_position - n}
        for n, e in enumerate(proposal, start=1)
    ]
    return {
        "kind": "wsjf",
        "rows": rows,
        "changed": sum(1 for r in rows if r["shift"]),
        "proposal": ",".join(f"{e.pk}:{e.version}" for e in proposal),
        "notice": notice,
    }


# --- The page ----------------------------------------------------------------------


def _persistent_query(request) -> str:
    """The parameters that stay while the person works (refinement, since)."""
    kept = QueryDict(mutable=True)
    for name in ("refinement", "since"):
        if request.GET.get(name):
            kept[name] = request.GET[name]
    return kept.urlencode()


def _page_context(request, actor, panel=None) -> dict:
    key = roadmap_live_key(actor.flow_team_id)
    # The version first, then the data it labels (sem.live.live_fragment).
    version = live_versions([key])[key]
    refinement = _refinement(request, actor)
    since_form, since, since_reason = _since(request, actor, refinement)
    roadmap = _Roadmap(actor)
    if panel is None:
        panel = _panel_for(request, actor, roadmap)
    shown = _Shown(actor, roadmap, version, since)
    return {
        "goal_html": shown.html("roadmap-goal"),
        "lanes_html": shown.lanes_html(),
        "changes_html": shown.html("roadmap-changes"),
        "live": _live(request, actor, version, since, shown),
        "refinement": refinement,
        "since_form": since_form,
        "since": since,
        "since_reason": since_reason,
        "panel": panel,
        "may_manage": can_manage_roadmap(actor),
        "query": _persistent_query(request),
    }


def _render_page(request, actor, panel=None, status=200):
    response = render(
        request, "events/roadmap.html", _page_context(request, actor, panel), status=status
    )
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


def _render_panel(request, actor, panel, status=200):
    return render(
        request,
        "events/roadmap.html#panel",
        {
            "panel": panel,
            "may_manage": can_manage_roadmap(actor),
            "query": _persistent_query(request),
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def roadmap_page(request):
    """GET: the roadmap, with a panel when the query string asks for one (htmx asking for
    the panel alone gets only the panel). POST ``action`` = goal | milestone-create |
    epic-create | rank-by-wsjf."""
    actor = member_actor(request)
    if request.method == "POST":
        return _roadmap_post(request, actor)
    panel_only = (
        request.htmx
        and request.htmx.target == "roadmap-panel"
        and not request.htmx.history_restore_request
    )
    if panel_only:
        response = _render_panel(request, actor, _panel_for(request, actor, _Roadmap(actor)))
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response
    return _render_page(request, actor)


# --- Writes ------------------------------------------------------------------------


_refused_is_403 = refused_is_403


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


_refusal_to_form = refusal_to_form


def _last_change_by(epic=None, milestone=None) -> str:
    """Who changed the object last and when, for a conflict notice (one query)."""
    change = (
        RoadmapChange.objects.filter(epic=epic, milestone=milestone)
        .select_related("by", "flow_team")
        .order_by("-at", "-id")
        .first()
    )
    if change is None:
        return "Someone changed it"
    who = change.by.display_name if change.by else "A former member"
    at = timezone.localtime(change.at, change.flow_team.tzinfo)
    return f"{who} changed it at {at:%H:%M}"


def _answer(request, actor, panel, *, status=200, announce="", success=""):
    """The answer to a write: htmx gets the panel (or the announcement) and the shared
    regions at their new version; a plain form post is redirected back to the roadmap
    on success, or gets the page with the panel (and the person's text) on a refusal."""
    if not request.htmx:
        if status == 200:
            messages.success(request, success or announce)
            query = _persistent_query(request)
            return redirect(reverse("roadmap") + (f"?{query}" if query else ""))
        return _render_page(request, actor, panel=panel, status=status)
    key = roadmap_live_key(actor.flow_team_id)
    version = live_versions([key])[key]
    refinement = _refinement(request, actor)
    _form, since, _reason = _since(request, actor, refinement)
    shown = _Shown(actor, _Roadmap(actor), version, since)
    oob = shown.all_oob()
    # The writer's poll moves to the new version too, so it does not fetch again what
    # this answer already shows (and swap the lanes away from under their focus).
    poll = {**_live(request, actor, version, since, shown), "oob": True}
    oob.append(render_to_string("includes/live_poll.html", {"live": poll}))
    body = render_to_string(
        "events/roadmap.html#answer",
        {
            "panel": panel,
            "in_panel": request.htmx.target == "roadmap-panel",
            "announce": announce or success,
            "level": "success" if status == 200 else "warning" if status == 409 else "error",
            "may_manage": can_manage_roadmap(actor),
            "query": _persistent_query(request),
        },
        request,
    )
    return HttpResponse(body + "".join(oob), status=status)


@_refused_is_403
def _roadmap_post(request, actor):
    action = request.POST.get("action")
    roadmap = _Roadmap(actor)
    if action == "goal":
        _require(can_manage_roadmap(actor), "only the CPO sets the Product Goal")
        return _goal_post(request, actor, roadmap)
    if action == "milestone-create":
        _require(can_manage_roadmap(actor), "only the CPO plans milestones")
        form = forms.MilestoneForm(request.POST)
        panel = {"kind": "new-milestone", "form": form}
        if not form.is_valid():
            return _answer(request, actor, panel, status=400)
        try:
            milestone = backlog_services.milestone_create(actor=actor, **form.cleaned_data)
        except RuleViolation as refusal:
            _refusal_to_form(form, refusal)
            return _answer(request, actor, panel, status=400)
        return _answer(request, actor, None, success=f"Added the milestone “{milestone.name}”.")
    if action == "epic-create":
        _require(can_manage_roadmap(actor), "only the CPO creates epics")
        form = forms.EpicForm(request.POST, milestones=roadmap.milestones)
        panel = {"kind": "new-epic", "form": form}
        if not form.is_valid():
            return _answer(request, actor, panel, status=400)
        data = dict(form.cleaned_data)
        data["milestone"] = (
            _milestone(actor, data["milestone"]) if data["milestone"] is not None else None
        )
        try:
            epic = backlog_services.epic_create(actor=actor, **data)
        except RuleViolation as refusal:
            _refusal_to_form(form, refusal)
            return _answer(request, actor, panel, status=400)
        where = data["milestone"].name if data["milestone"] else "the unscheduled lane"
        return _answer(request, actor, None, success=f"Added the epic “{epic.title}” to {where}.")
    if action == "rank-by-wsjf":
        _require(can_manage_roadmap(actor), "only the CPO ranks epics")
        return _wsjf_apply_post(request, actor)
    return HttpResponse("action: choose one of the roadmap's actions", status=400)


def _goal_post(request, actor, roadmap):
    form = forms.ProductGoalForm(request.POST)
    panel = _goal_panel(roadmap, form=form)
    if not form.is_valid():
        return _answer(request, actor, panel, status=400)
    goal = roadmap.goal
    data = form.cleaned_data
    try:
        if goal is None:
            backlog_services.product_goal_create(
                actor=actor, statement=data["statement"], target_date=data["target_date"]
            )
        else:
            backlog_services.product_goal_update(
                actor=actor,
                goal=goal,
                data={k: v for k, v in data.items() if k != "status" or v},
            )
    except RuleViolation as refusal:
        _refusal_to_form(form, refusal)
        return _answer(request, actor, panel, status=400)
    return _answer(request, actor, None, success="Saved the Product Goal.")


def _wsjf_apply_post(request, actor):
    form = forms.WsjfApplyForm(request.POST)
    if not form.is_valid():
        panel = _wsjf_panel(actor, notice={"level": "error", "text": form.errors["proposal"][0]})
        return _answer(request, actor, panel, status=400)
    try:
        backlog_services.epic_wsjf_rank_apply(actor=actor, proposal=form.cleaned_data["proposal"])
    except (VersionConflict, RuleViolation) as refused:
        text = refused.messages[0] if isinstance(refused, RuleViolation) else str(refused)
        notice = {"level": "warning", "text": f"Nothing was applied: {text}. Here is a new one."}
        return _answer(request, actor, _wsjf_panel(actor, notice=notice), status=409)
    return _answer(request, actor, None, success="Ranked the epics by WSJF.")


def _posted_version(form) -> int | None:
    return form.cleaned_data.get("version") if form.is_valid() else None


@login_required
@require_http_methods(["POST"])
@_refused_is_403
def roadmap_epic(request, pk: int):
    """Writes on one epic: ``action`` = edit | wsjf | feasibility | move."""
    actor = member_actor(request)
    epic = _epic(actor, pk)
    action = request.POST.get("action")
    roadmap = _Roadmap(actor)
    if action == "feasibility":
        _require(can_assess_feasibility(actor), "only the Architect records feasibility")
    elif action in ("edit", "wsjf", "move"):
        _require(can_manage_roadmap(actor), "only the CPO edits, re-scores and ranks epics")
    else:
        return HttpResponse("action: choose edit, wsjf, feasibility or move", status=400)
    if action == "move":
        return _epic_move(request, actor, epic, roadmap)
    form_class, panel_key, fields = {
        "edit": (forms.EpicEditForm, "form", None),
        "wsjf": (forms.WsjfForm, "wsjf_form", forms.WSJF_FIELDS),
        "feasibility": (forms.FeasibilityForm, "feasibility_form", None),
    }[action]
    kwargs = (
        {"milestones": roadmap.milestones, "current_milestone": epic.milestone_id}
        if action == "edit"
        else {}
    )
    form = form_class(request.POST, **kwargs)
    if not form.is_valid():
        panel = _epic_panel(actor, roadmap, epic, **{panel_key: form})
        return _answer(request, actor, panel, status=400)
    data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
    to_state = data.pop("state", None)
    if to_state == epic.state:
        to_state = None
    if "milestone" in data:
        data["milestone"] = (
            _milestone(actor, data["milestone"]) if data["milestone"] is not None else None
        )
    try:
        epic = backlog_services.epic_change(
            actor=actor,
            epic=epic,
            data=data,
            to_state=to_state,
            expected_version=form.cleaned_data["version"],
        )
    except RuleViolation as refusal:
        _refusal_to_form(form, refusal)
        return _answer(
            request, actor, _epic_panel(actor, roadmap, epic, **{panel_key: form}), status=400
        )
    except VersionConflict as conflict:
        # Their text stays; the form now carries the current version, so saving again
        # replaces the other person's change knowingly.
        posted = request.POST.copy()
        posted["version"] = str(conflict.current_version)
        kept = form_class(posted, **kwargs)
        kept.is_valid()
        notice = {
            "level": "warning",
            "text": f"{_last_change_by(epic=epic)} while you were editing; the roadmap shows "
            "their version. Yours is kept here: save again to replace theirs.",
        }
        panel = _epic_panel(
            actor, roadmap, _epic(actor, epic.pk), **{panel_key: kept, "notice": notice}
        )
        return _answer(request, actor, panel, status=409)
    saved = {
        "edit": f"Saved “{epic.title}”.",
        "wsjf": f"Re-scored “{epic.title}”: WSJF {epic.wsjf}.",
        "feasibility": f"Recorded the feasibility of “{epic.title}”: "
        f"{epic.get_feasibility_display().lower()}.",
    }[action]
    notice = {"level": "success", "text": saved}
    panel = _epic_panel(actor, _Roadmap(actor), epic, notice=notice)
    return _answer(request, actor, panel, success=saved)


def _lane_of(request, actor, form):
    lane = form.cleaned_data["lane"]
    if not lane:
        return UNCHANGED
    if lane == "none":
        return None
    milestone = backlog_selectors.milestone_of_flow_team(actor=actor, milestone_id=int(lane))
    if milestone is None:
        raise RuleViolation("no such milestone in your Flow Team", field="lane")
    return milestone


def _neighbour(actor, form, field):
    pk = form.cleaned_data[field]
    if pk is None:
        return None
    epic = backlog_selectors.epic_of_flow_team(actor=actor, epic_id=pk)
    if epic is None:
        raise RuleViolation("no such epic in your Flow Team", field=field)
    return epic


def _where(roadmap: dict, epic_id: int) -> str:
    """Where an epic now stands, for the screen reader's announcement."""
    lanes = [(m["name"], m["epics"]) for m in roadmap["milestones"]]
    lanes.append(("Unscheduled", roadmap["unscheduled"]))
    for name, cards in lanes:
        for n, card in enumerate(cards, start=1):
            if card["id"] == epic_id:
                return f"position {n} of {len(cards)} in {name}"
    return "its new place"


def _epic_move(request, actor, epic: Epic, roadmap: _Roadmap):
    form = forms.EpicMoveForm(request.POST)
    if not form.is_valid():
        field, problems = next(iter(form.errors.items()))
        return _move_refused(request, actor, f"{field}: {problems[0]}", status=400)
    direction = form.cleaned_data["direction"]
    try:
        milestone = _lane_of(request, actor, form)
        after, before = _neighbour(actor, form, "after"), _neighbour(actor, form, "before")
        if direction:
            after, before = backlog_selectors.epic_lane_step(epic=epic, direction=direction)
            if after is None and before is None:
                end = "first" if direction == "up" else "last"
                raise RuleViolation(
                    f"“{epic.title}” is already {end} in its lane", field="direction"
                )
        elif after is None and before is None and milestone is not UNCHANGED:
            after, before = backlog_selectors.epic_lane_end(epic=epic, milestone=milestone)
        elif after is None and before is None:
            raise RuleViolation("say where the epic goes", field="direction")
        epic = backlog_services.epic_rank_move(
            actor=actor,
            epic=epic,
            after=after,
            before=before,
            milestone=milestone,
            expected_version=form.cleaned_data["version"],
        )
    except RuleViolation as refusal:
        field, problems = next(iter(refusal.detail.items()))
        return _move_refused(request, actor, problems[0], status=400)
    except VersionConflict:
        text = (
            f"Not moved: {_last_change_by(epic=epic)} since you loaded the roadmap. "
            "The current order is shown; move it again if you still want to."
        )
        return _move_refused(request, actor, text, status=409)
    announce = f"Moved “{epic.title}” to {_where(_Roadmap(actor).data, epic.pk)}."
    response = _answer(request, actor, None, announce=announce)
    response["X-Roadmap-Focus"] = f"{epic.pk}:{direction or 'drop'}"
    return response


def _move_refused(request, actor, text: str, *, status: int):
    if not request.htmx:
        messages.error(request, text)
        return _render_page(request, actor, status=status)
    return _answer(request, actor, None, status=status, announce=text)


@login_required
@require_http_methods(["POST"])
@_refused_is_403
def roadmap_milestone(request, pk: int):
    """Writes on one milestone: ``action`` = edit | move | close (the CPO's)."""
    actor = member_actor(request)
    milestone = _milestone(actor, pk)
    _require(can_manage_roadmap(actor), "only the CPO plans milestones")
    action = request.POST.get("action")
    if action not in ("edit", "move", "close"):
        return HttpResponse("action: choose edit, move or close", status=400)
    form_class = {
        "edit": forms.MilestoneEditForm,
        "move": forms.MilestoneMoveForm,
        "close": forms.VersionedForm,
    }[action]
    form = form_class(request.POST)
    panel = _milestone_panel(actor, milestone, form=form if action == "edit" else None)
    if not form.is_valid():
        if action != "edit":
            panel["notice"] = {"level": "error", "text": _first_error(form)}
        return _answer(request, actor, panel, status=400)
    version = form.cleaned_data["version"]
    try:
        if action == "edit":
            data = {k: v for k, v in form.cleaned_data.items() if k != "version"}
            milestone = backlog_services.milestone_update(
                actor=actor, milestone=milestone, data=data, expected_version=version
            )
            text = f"Saved the milestone “{milestone.name}”."
        elif action == "close":
            milestone = backlog_services.milestone_close(
                actor=actor, milestone=milestone, expected_version=version
            )
            text = f"Closed the milestone “{milestone.name}”; its epics stay on it."
        else:
            milestone, text = _milestone_move(actor, milestone, form, version)
    except RuleViolation as refusal:
        if action == "edit":
            _refusal_to_form(form, refusal)
        else:
            panel["notice"] = {"level": "error", "text": refusal.messages[0]}
        return _answer(request, actor, panel, status=400, announce=refusal.messages[0])
    except VersionConflict:
        text = (
            f"{_last_change_by(milestone=milestone)} while you were working; the roadmap "
            "shows the current milestone."
        )
        notice = {"level": "warning", "text": text}
        fresh = _milestone(actor, milestone.pk)
        kept = None
        if action == "edit":
            posted = request.POST.copy()
            posted["version"] = str(fresh.version)
            kept = forms.MilestoneEditForm(posted)
            kept.is_valid()
        return _answer(
            request,
            actor,
            _milestone_panel(actor, fresh, form=kept, notice=notice),
            status=409,
            announce=text,
        )
    panel = _milestone_panel(actor, milestone, notice={"level": "success", "text": text})
    return _answer(request, actor, panel if action != "move" else None, success=text)


def _first_error(form) -> str:
    field, problems = next(iter(form.errors.items()))
    return f"{field}: {problems[0]}"


def _milestone_move(actor, milestone, form, version):
    later = form.cleaned_data["direction"] == "later"
    neighbours = backlog_selectors.milestones_of_flow_team(actor=actor)
    ids = [m.pk for m in neighbours]
    at = ids.index(milestone.pk)
    target = at + 1 if later else at - 1
    if not 0 <= target < len(neighbours):
        raise RuleViolation(
            f"“{milestone.name}” is already the {'last' if later else 'first'} milestone",
            field="direction",
        )
    other = neighbours[target]
    milestone = backlog_services.milestone_move(
        actor=actor,
        milestone=milestone,
        after=other if later else None,
        before=None if later else other,
        expected_version=version,
    )
    return milestone, (
        f"Moved the milestone “{milestone.name}” to place {target + 1} of {len(neighbours)}."
    )


# --- The poll ----------------------------------------------------------------------


def roadmap_live(request, flow_team_id: int):
    """The roadmap's poll: 204 after one query when nothing changed (the viewer is the
    signed token's, no session work); the changed regions when something did."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        key = roadmap_live_key(actor.flow_team_id)
        since = _poll_since(request, actor)
        shown = _Shown(actor, _Roadmap(actor), versions[key], since)
        oob = shown.changed_oob(request.GET.get("p", ""))
        next_poll = live_poll_context(
            url=request.path,
            token=request.GET.get("t", ""),
            versions=versions,
            keys=poll.keys,
            params={"since": since.isoformat(), "p": shown.seen()},
        )
        return oob, False, next_poll

    return live_poll(request, screen=ROADMAP_SCREEN, scope=flow_team_id, on_change=on_change)


def _poll_since(request, actor) -> datetime:
    """The "since" the page chose, as the poll URL carries it; a bad one falls back."""
    try:
        since = datetime.fromisoformat(request.GET.get("since", ""))
    except ValueError:
        since = None
    if since is None or since.tzinfo is None or not 2000 <= since.year <= 2999:
        return _since(request, actor, None)[1]
    return since
