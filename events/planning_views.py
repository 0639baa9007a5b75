"""Flow Sprint Planning 1 (/events/<pk>/planning-1/): the board of the meeting.

Rows are the Scrum Teams, columns each team's backlog and the coming Flow Sprints
(flow/planning.py reads it). Teams claim epics for a Flow Sprint and plan their stories
into sprints by dragging (static/js/planning.js, vendored SortableJS) or by the card's
arrows and its "Plan…" panel; a story failing the Definition of Ready is refused and its
card says why. Dependencies are marked on the cards and listed beside the board, with
their contract (raise, commit, counter-propose, accept, re-negotiate). Every open board of
the Flow Team follows within 2 s (sem/live.py, key ``planning:<flow team>``), whether the
change came from the board or the REST API.

Regions swapped by the poll (shared, rendered once per version and variant): the team
rows and the dependency list. Every form anyone types in sits in the side panel
(``#planning-panel``), which only the person's own requests swap.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_http_methods

from backlog import services as backlog_services
from backlog.models import Dependency, Epic, Story
from backlog.services import planning_live_key
from events import forms
from events.models import Event
from events.screens import poll_actor, refusal_to_form, refused_is_403, screen_live
from events.selectors import event_for
from flow import services as flow_services
from flow.models import EpicClaim, FlowSprint, TeamSprint
from flow.planning import (
    definition_of_ready_gap,
    dependency_shown,
    dependency_targets,
    epics_claimable,
    planning_board,
    planning_sprints,
)
from sem.errors import NotFound, RuleViolation, VersionConflict
from sem.live import (
    live_oob,
    live_oob_element,
    live_parts,
    live_parts_changed,
    live_parts_seen,
    live_poll,
    live_poll_context,
    live_versions,
)
from teams.context_processors import member_actor
from teams.models import ScrumTeam
from teams.permissions import can_claim_epic, can_work_story, can_write_register

PLANNING_SCREEN = "planning_1"
# A viewer's token lasts the meeting day; an open board then stops polling and says so.
LIVE_HOURS = 12
BOARD = "events/planning/board.html"


# --- Finding what a request names -----------------------------------------------------


def _event(actor, pk: int) -> Event:
    """The Planning 1 event; any other event, another Flow Team's, or one a stakeholder
    does not take part in is 404."""
    try:
        event = event_for(actor=actor, pk=pk)
    except NotFound:
        raise Http404("no such Flow Sprint Planning 1 in your Flow Team") from None
    if event.kind != Event.Kind.PLANNING_1:
        raise Http404("this event is no Flow Sprint Planning 1")
    return event


def _id(raw) -> int | None:
    raw = str(raw or "")
    if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) > 0:
        return int(raw)
    return None


def _story(actor, pk) -> Story:
    story = (
        Story.objects.filter(flow_team_id=actor.flow_team_id, pk=pk)
        .select_related("scrum_team", "epic")
        .first()
        if pk
        else None
    )
    if story is None:
        raise Http404("no such story in your Flow Team")
    return story


def _dependency(actor, pk) -> Dependency:
    dependency = (
        Dependency.objects.filter(flow_team_id=actor.flow_team_id, pk=pk)
        .select_related(
            "from_story__scrum_team",
            "to_story__scrum_team",
            "from_epic",
            "to_epic",
            "needed_by",
            "committed_sprint",
            "proposed_sprint",
        )
        .first()
        if pk
        else None
    )
    if dependency is None:
        raise Http404("no such dependency in your Flow Team")
    return dependency


def _open_sprints(actor, event) -> list[FlowSprint]:
    """The board's Flow Sprints a story may still be planned into."""
    return [
        s
        for s in planning_sprints(actor=actor, flow_sprint=event.flow_sprint)
        if s.state != FlowSprint.State.CLOSED
    ]


def _sprint_of(sprints, pk) -> FlowSprint | None:
    return next((s for s in sprints if s.pk == pk), None)


# --- Who sees which controls -----------------------------------------------------------


def _plan_teams(actor) -> list[int]:
    return sorted(t for t in actor.scrum_team_ids if can_work_story(actor, t))


def _claim_teams(actor, team_ids) -> list[int]:
    return [t for t in team_ids if can_claim_epic(actor, t)]


def _variant(actor, team_ids) -> str:
    """The rows differ by the teams whose stories the viewer plans and claims for."""
    plan = ",".join(map(str, _plan_teams(actor)))
    claim = ",".join(map(str, _claim_teams(actor, team_ids)))
    return f"p{plan}-c{claim}"


# --- Regions every viewer shares -------------------------------------------------------


class _Board:
    """The board's data, read once per request and only when a region that needs it is
    not in the cache yet."""

    def __init__(self, actor, event):
        self.actor, self.event = actor, event
        self._data = None

    @property
    def data(self) -> dict:
        if self._data is None:
            self._data = planning_board(actor=self.actor, flow_sprint=self.event.flow_sprint)
        return self._data


class _Shown:
    """What the board shows every viewer at one version: one part per team row and the
    dependency list, each an element with its id and a digest (sem.live: a change sends
    only the parts that differ from what a viewer shows)."""

    def __init__(self, actor, event, board: _Board, version: int):
        key = planning_live_key(actor.flow_team_id)
        team_ids = list(
            ScrumTeam.objects.filter(flow_team=actor.flow_team).values_list("pk", flat=True)
        )
        plan, claim = set(_plan_teams(actor)), set(_claim_teams(actor, team_ids))

        def parts():
            data = board.data
            url = reverse("planning-1-board", args=[event.pk])
            rendered = [
                (
                    "plan-sprints",
                    render_to_string(f"{BOARD}#sprints", {"sprints": data["sprints"]}),
                )
            ]
            for row in data["rows"]:
                team_id = row["team"].pk
                context = {
                    "row": row,
                    "plan": team_id in plan,
                    "claim": team_id in claim,
                    "url": url,
                }
                rendered.append((f"plan-team-{team_id}", render_to_string(f"{BOARD}#row", context)))
            deps = render_to_string(
                f"{BOARD}#dependencies",
                {
                    "dependencies": data["dependencies"],
                    "total": data["dependencies_total"],
                    "url": url,
                    "tz": actor.flow_team.timezone,
                },
            )
            rendered.append(("planning-deps", deps))
            return rendered

        self.parts = live_parts(key, version, _variant(actor, team_ids), parts)

    def board_html(self) -> SafeString:
        rows = [html for pid, html, _ in self.parts if pid != "planning-deps"]
        return format_html(
            '<div class="plan-board" role="table" aria-label="Planning board: Scrum Teams by '
            'Flow Sprint">{}</div>',
            mark_safe("".join(rows)),  # noqa: S308 (rendered by our own templates)
        )

    def deps_html(self) -> SafeString:
        return mark_safe(next(h for pid, h, _ in self.parts if pid == "planning-deps"))  # noqa: S308

    def all_oob(self) -> list[SafeString]:
        return [
            live_oob("planning-board", self.board_html()),
            live_oob("planning-deps", self.deps_html()),
        ]

    def changed_oob(self, seen: str) -> list[SafeString]:
        changed = live_parts_changed(self.parts, seen)
        if changed is None:
            return self.all_oob()
        return [
            live_oob(pid, html) if pid == "planning-deps" else live_oob_element(html)
            for pid, html, _digest in self.parts
            if pid in changed
        ]

    def seen(self) -> str:
        return live_parts_seen(self.parts)


def _live(request, actor, event, version: int, shown: _Shown) -> dict:
    return screen_live(
        request,
        screen=PLANNING_SCREEN,
        actor=actor,
        scope=event.pk,
        key=planning_live_key(actor.flow_team_id),
        version=version,
        url=reverse("planning-1-live", args=[event.pk]),
        params={"p": shown.seen()},
        hours=LIVE_HOURS,
    )


# --- The side panel: every form of the page --------------------------------------------


def _planned_in(story: Story) -> FlowSprint | None:
    """The open Flow Sprint the story is planned into now (or was done in), if any."""
    commitment = (
        story.commitments.filter(outcome__in=["open", "done"])
        .exclude(team_sprint__flow_sprint__state=FlowSprint.State.CLOSED)
        .select_related("team_sprint__flow_sprint")
        .order_by("-committed_at")
        .first()
    )
    return commitment.team_sprint.flow_sprint if commitment else None


def _story_panel(actor, event, story: Story, *, form=None, notice=None) -> dict:
    sprints = planning_sprints(actor=actor, flow_sprint=event.flow_sprint)
    may_raise = can_write_register(actor, story.scrum_team_id)
    return {
        "kind": "story",
        "story": story,
        "sprints": [s for s in sprints if s.state != FlowSprint.State.CLOSED],
        "planned_in": _planned_in(story),
        "not_ready": definition_of_ready_gap(story.points, story.criteria.exists()),
        "may_plan": can_work_story(actor, story.scrum_team_id),
        "may_raise": may_raise,
        "needs": list(
            story.dependencies_out.filter(state=Dependency.State.OPEN).select_related(
                "to_story", "to_epic", "needed_by"
            )
        ),
        "form": form
        or (
            forms.DependencyRaiseForm(
                targets=dependency_targets(
                    actor=actor, sprints=sprints, scrum_team_id=story.scrum_team_id
                ),
                sprints=sprints,
            )
            if may_raise
            else None
        ),
        "notice": notice,
    }


def _dependency_panel(actor, event, dependency: Dependency, *, form=None, notice=None) -> dict:
    sprints = _open_sprints(actor, event)
    source_team = dependency.from_story.scrum_team_id if dependency.from_story_id else None
    target_team = dependency.to_story.scrum_team_id if dependency.to_story_id else None
    is_open = dependency.state == Dependency.State.OPEN
    shown = dependency_shown(actor=actor, dependency_id=dependency.pk)
    return {
        "kind": "dependency",
        "dependency": dependency,
        "shown": shown,
        "steps": list(dependency.steps.select_related("by", "flow_sprint")),
        "provider": is_open and can_write_register(actor, target_team),
        "requester": is_open and can_write_register(actor, source_team),
        "form": form
        or forms.ContractForm(initial={"version": dependency.version}, sprints=sprints),
        "notice": notice,
        "tz": actor.flow_team.timezone,
        "event": event,
    }


def _claim_panel(actor, event, team: ScrumTeam, *, form=None, notice=None) -> dict:
    sprints = _open_sprints(actor, event)
    return {
        "kind": "claim",
        "team": team,
        "may_claim": can_claim_epic(actor, team.pk),
        "claims": list(
            EpicClaim.objects.filter(scrum_team=team, flow_sprint__in=sprints)
            .select_related("epic", "flow_sprint", "claimed_by")
            .order_by("flow_sprint__number", "epic__rank")
        ),
        "form": form
        or forms.ClaimForm(
            initial={"scrum_team": team.pk},
            epics=epics_claimable(actor=actor),
            sprints=sprints,
        ),
        "notice": notice,
        "tz": actor.flow_team.timezone,
    }


def _team(actor, pk) -> ScrumTeam:
    team = ScrumTeam.objects.filter(flow_team=actor.flow_team, pk=pk).first() if pk else None
    if team is None:
        raise Http404("no such Scrum Team in your Flow Team")
    return team


def _panel_for(request, actor, event) -> dict | None:
    if "story" in request.GET:
        return _story_panel(actor, event, _story(actor, _id(request.GET["story"])))
    if "dependency" in request.GET:
        return _dependency_panel(actor, event, _dependency(actor, _id(request.GET["dependency"])))
    if "claim" in request.GET:
        return _claim_panel(actor, event, _team(actor, _id(request.GET["claim"])))
    return None


# --- The page ------------------------------------------------------------------------


def _page_context(request, actor, event, panel=None) -> dict:
    key = planning_live_key(actor.flow_team_id)
    version = live_versions([key])[key]  # the version first, then the data it labels
    shown = _Shown(actor, event, _Board(actor, event), version)
    return {
        "event": event,
        "board_html": shown.board_html(),
        "deps_html": shown.deps_html(),
        "live": _live(request, actor, event, version, shown),
        "panel": panel,
        "url": reverse("planning-1-board", args=[event.pk]),
        "may_plan": bool(_plan_teams(actor)),
    }


def _render_page(request, actor, event, panel=None, status=200):
    response = render(request, BOARD, _page_context(request, actor, event, panel), status=status)
    patch_vary_headers(response, ["HX-Request", "HX-Target"])
    return response


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
@refused_is_403
def planning_board_page(request, pk: int):
    """GET: the board, with a panel when the query string asks for one (``?story=``,
    ``?dependency=``, ``?claim=<team>``); htmx asking for the panel alone gets only it.
    POST ``action`` = claim | unclaim | raise."""
    actor = member_actor(request)
    event = _event(actor, pk)
    if request.method == "POST":
        return _board_post(request, actor, event)
    panel_only = (
        request.htmx
        and request.htmx.target == "planning-panel"
        and not request.htmx.history_restore_request
    )
    if panel_only:
        response = render(
            request,
            f"{BOARD}#panel",
            {"panel": _panel_for(request, actor, event), "url": request.path},
        )
        patch_vary_headers(response, ["HX-Request", "HX-Target"])
        return response
    return _render_page(request, actor, event, panel=_panel_for(request, actor, event))


def _answer(request, actor, event, panel, *, status=200, announce="", focus=""):
    """The answer to a write: htmx gets the panel (or the announcement) and the board at
    its new version; a plain form post is redirected back on success, or gets the page
    with the panel (and the person's text) on a refusal."""
    if not request.htmx:
        if status == 200:
            messages.success(request, announce)
            return redirect(reverse("planning-1-board", args=[event.pk]))
        return _render_page(request, actor, event, panel=panel, status=status)
    key = planning_live_key(actor.flow_team_id)
    version = live_versions([key])[key]
    shown = _Shown(actor, event, _Board(actor, event), version)
    oob = shown.all_oob()
    # The writer's poll moves to the new version too, so it does not fetch again what
    # this answer already shows (and swap the board away from under their focus).
    poll = {**_live(request, actor, event, version, shown), "oob": True}
    oob.append(render_to_string("includes/live_poll.html", {"live": poll}))
    body = render_to_string(
        f"{BOARD}#answer",
        {
            "panel": panel,
            "in_panel": request.htmx.target == "planning-panel",
            "announce": announce,
            "level": "success" if status == 200 else "warning" if status == 409 else "error",
            "url": reverse("planning-1-board", args=[event.pk]),
        },
        request,
    )
    response = HttpResponse(body + "".join(oob), status=status)
    if focus:
        response["X-Planning-Focus"] = focus
    return response


def _first(refusal: RuleViolation) -> str:
    return refusal.messages[0]


def _first_error(form) -> str:
    field, problems = next(iter(form.errors.items()))
    return problems[0] if field == "__all__" else f"{field.replace('_', ' ')}: {problems[0]}"


def _board_post(request, actor, event):
    action = request.POST.get("action")
    if action in ("claim", "unclaim"):
        return _claim_post(request, actor, event, action)
    if action == "raise":
        return _raise_post(request, actor, event)
    return HttpResponse("action: choose claim, unclaim or raise", status=400)


def _claim_post(request, actor, event, action):
    if action == "unclaim":
        form = forms.UnclaimForm(request.POST)
        if not form.is_valid():
            return _answer(request, actor, event, None, status=400, announce=_first_error(form))
        claim = (
            EpicClaim.objects.filter(
                pk=form.cleaned_data["claim"], scrum_team__flow_team=actor.flow_team
            )
            .select_related("epic", "scrum_team", "flow_sprint")
            .first()
        )
        if claim is None:
            raise Http404("no such claim in your Flow Team")
        if not can_claim_epic(actor, claim.scrum_team_id):
            raise PermissionDenied("only the team's PO and SM, the CPO or the CSM release a claim")
        try:
            flow_services.epic_unclaim(actor=actor, claim=claim)
        except RuleViolation as refusal:
            return _answer(request, actor, event, None, status=400, announce=_first(refusal))
        text = (
            f"{claim.scrum_team.name} released “{claim.epic.title}” for Flow Sprint "
            f"{claim.flow_sprint.number}."
        )
        panel = _claim_panel(
            actor, event, claim.scrum_team, notice={"level": "success", "text": text}
        )
        return _answer(request, actor, event, panel, announce=text)
    team = _team(actor, _id(request.POST.get("scrum_team")))
    if not can_claim_epic(actor, team.pk):
        raise PermissionDenied("only the team's PO and SM, the CPO or the CSM claim epics")
    panel = _claim_panel(actor, event, team)
    form = forms.ClaimForm(
        request.POST, epics=epics_claimable(actor=actor), sprints=_open_sprints(actor, event)
    )
    panel["form"] = form
    if not form.is_valid():
        return _answer(request, actor, event, panel, status=400, announce=_first_error(form))
    epic = Epic.objects.get(pk=form.cleaned_data["epic"])
    sprint = FlowSprint.objects.get(pk=form.cleaned_data["flow_sprint"])
    try:
        flow_services.epic_claim(actor=actor, epic=epic, scrum_team=team, flow_sprint=sprint)
    except RuleViolation as refusal:
        refusal_to_form(form, refusal)
        return _answer(request, actor, event, panel, status=400, announce=_first(refusal))
    text = f"{team.name} claimed “{epic.title}” for Flow Sprint {sprint.number}."
    panel = _claim_panel(actor, event, team, notice={"level": "success", "text": text})
    return _answer(request, actor, event, panel, announce=text)


def _raise_post(request, actor, event):
    story = _story(actor, _id(request.POST.get("story")))
    if not can_write_register(actor, story.scrum_team_id):
        raise PermissionDenied("only the team's PO and SM (or the CPO, CSM, Architect) raise it")
    sprints = planning_sprints(actor=actor, flow_sprint=event.flow_sprint)
    form = forms.DependencyRaiseForm(
        request.POST,
        targets=dependency_targets(actor=actor, sprints=sprints, scrum_team_id=story.scrum_team_id),
        sprints=sprints,
    )
    panel = _story_panel(actor, event, story, form=form)
    if not form.is_valid():
        return _answer(request, actor, event, panel, status=400, announce=_first_error(form))
    kind, _, raw = form.cleaned_data["target"].partition(":")
    model = Story if kind == "s" else Epic
    target = model.objects.filter(flow_team_id=actor.flow_team_id, pk=_id(raw)).first()
    try:
        dependency = backlog_services.dependency_create(
            actor=actor,
            source=story,
            target=target,
            needed_by=_sprint_of(sprints, form.cleaned_data["needed_by"]),
            description=form.cleaned_data["description"],
        )
    except RuleViolation as refusal:
        refusal_to_form(form, refusal)
        return _answer(request, actor, event, panel, status=400, announce=_first(refusal))
    text = f"Raised: “{story.title}” needs “{dependency.target}”."
    panel = _story_panel(actor, event, story, notice={"level": "success", "text": text})
    return _answer(request, actor, event, panel, announce=text)


# --- Planning a story ------------------------------------------------------------------


def _step(sprints, current: FlowSprint | None, direction: str):
    """The column one step earlier or later than where the story is ("backlog" first)."""
    columns = [None, *[s for s in sprints if s.state != FlowSprint.State.CLOSED]]
    at = next((n for n, s in enumerate(columns) if s == current), 0)
    to = at - 1 if direction == "earlier" else at + 1
    if not 0 <= to < len(columns):
        where = "in the backlog" if to < 0 else "in the last Flow Sprint shown"
        raise RuleViolation(f"the story is already {where}", field="direction")
    return columns[to]


@login_required
@require_http_methods(["POST"])
@refused_is_403
def planning_story(request, pk: int, story_pk: int):
    """Plan one story: ``sprint`` = a Flow Sprint's id or "backlog", or ``direction`` =
    earlier | later (the card's arrows)."""
    actor = member_actor(request)
    event = _event(actor, pk)
    story = _story(actor, story_pk)
    if not can_work_story(actor, story.scrum_team_id):
        raise PermissionDenied("only the owning team's PO, SM and developers plan its stories")
    form = forms.PlanForm(request.POST)
    if not form.is_valid():
        return _answer(request, actor, event, None, status=400, announce=_first_error(form))
    sprints = planning_sprints(actor=actor, flow_sprint=event.flow_sprint)
    direction = form.cleaned_data["direction"]
    try:
        if direction:
            target = _step(sprints, _planned_in(story), direction)
        elif form.cleaned_data["sprint"] == "backlog":
            target = None
        else:
            target = _sprint_of(sprints, int(form.cleaned_data["sprint"]))
            if target is None:
                raise RuleViolation("that Flow Sprint is not on this board", field="sprint")
        team_sprint = (
            TeamSprint.objects.filter(flow_sprint=target, scrum_team_id=story.scrum_team_id)
            .select_related("flow_sprint")
            .first()
            if target
            else None
        )
        if target is not None and team_sprint is None:
            raise RuleViolation(
                f"{story.scrum_team.name} has no Team Sprint in Flow Sprint {target.number}",
                field="sprint",
            )
        flow_services.story_plan(actor=actor, story=story, team_sprint=team_sprint)
    except RuleViolation as refusal:
        text = f"“{story.title}” was not planned: {_first(refusal)}."
        panel = _story_panel(actor, event, story, notice={"level": "error", "text": text})
        in_panel = request.htmx and request.htmx.target == "planning-panel"
        return _answer(
            request,
            actor,
            event,
            panel if in_panel else None,
            status=400,
            announce=text,
            focus=f"{story.pk}:{direction or 'title'}",
        )
    where = f"Flow Sprint {target.number}" if target else "the backlog"
    text = (
        f"Planned “{story.title}” into {where}."
        if target
        else f"Moved “{story.title}” back to the backlog."
    )
    in_panel = request.htmx and request.htmx.target == "planning-panel"
    panel = (
        _story_panel(actor, event, story, notice={"level": "success", "text": text})
        if in_panel
        else None
    )
    return _answer(
        request, actor, event, panel, announce=text, focus=f"{story.pk}:{direction or 'title'}"
    )


# --- The dependency contract -----------------------------------------------------------

CONTRACT_ACTIONS = ("commit", "counter", "accept", "renegotiate")


@login_required
@require_http_methods(["POST"])
@refused_is_403
def planning_dependency(request, pk: int, dependency_pk: int):
    """One step of a dependency's contract: ``action`` = commit | counter (the providing
    team) or accept | renegotiate (the requesting team)."""
    actor = member_actor(request)
    event = _event(actor, pk)
    dependency = _dependency(actor, dependency_pk)
    action = request.POST.get("action")
    if action not in CONTRACT_ACTIONS:
        return HttpResponse("action: choose commit, counter, accept or renegotiate", status=400)
    sprints = _open_sprints(actor, event)
    form = forms.ContractForm(request.POST, sprints=sprints)
    panel = _dependency_panel(actor, event, dependency, form=form)
    if not form.is_valid():
        return _answer(request, actor, event, panel, status=400, announce=_first_error(form))
    data = form.cleaned_data
    sprint = _sprint_of(sprints, data["sprint"]) if data["sprint"] else None
    common = {
        "actor": actor,
        "dependency": dependency,
        "note": data["note"],
        "expected_version": data["version"],
    }
    try:
        if action == "commit":
            backlog_services.dependency_commit(flow_sprint=sprint, **common)
            text = f"Committed to Flow Sprint {sprint.number}."
        elif action == "counter":
            backlog_services.dependency_counter(flow_sprint=sprint, **common)
            text = f"Counter-proposed Flow Sprint {sprint.number}."
        elif action == "accept":
            backlog_services.dependency_accept(**common)
            text = "Accepted the counter-proposal."
        else:
            backlog_services.dependency_renegotiate(needed_by=sprint, **common)
            text = f"Asked again: needed by Flow Sprint {sprint.number}."
    except RuleViolation as refusal:
        refusal_to_form(form, refusal)
        return _answer(request, actor, event, panel, status=400, announce=_first(refusal))
    except VersionConflict:
        fresh = _dependency(actor, dependency.pk)
        posted = request.POST.copy()
        posted["version"] = str(fresh.version)
        kept = forms.ContractForm(posted, sprints=sprints)
        kept.is_valid()
        last = fresh.steps.select_related("by").order_by("-at", "-pk").first()
        who = last.by.display_name if last and last.by else "Someone"
        text = (
            f"{who} answered first ({last.get_kind_display().lower() if last else 'changed it'}); "
            "the contract below is current. Your note is kept: send it again if it still holds."
        )
        notice = {"level": "warning", "text": text}
        return _answer(
            request,
            actor,
            event,
            _dependency_panel(actor, event, fresh, form=kept, notice=notice),
            status=409,
            announce=text,
        )
    fresh = _dependency(actor, dependency.pk)
    panel = _dependency_panel(actor, event, fresh, notice={"level": "success", "text": text})
    return _answer(request, actor, event, panel, announce=text)


# --- The poll ------------------------------------------------------------------------


def planning_live(request, pk: int):
    """The board's poll: 204 after one query when nothing changed (the viewer is the
    signed token's, no session work); the changed rows when something did."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _event(actor, pk)
        key = planning_live_key(actor.flow_team_id)
        shown = _Shown(actor, event, _Board(actor, event), versions[key])
        oob = shown.changed_oob(request.GET.get("p", ""))
        next_poll = live_poll_context(
            url=request.path,
            token=request.GET.get("t", ""),
            versions=versions,
            keys=poll.keys,
            params={"p": shown.seen()},
        )
        return oob, False, next_poll

    return live_poll(request, screen=PLANNING_SCREEN, scope=pk, on_change=on_change)
