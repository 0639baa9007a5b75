"""The risk register (ROAM) as a live component of an event's screen.

``templates/events/risks/_register.html`` is what another screen includes (with ``event``
in its context): it loads ``risks-register`` into itself. The component is two parts:

- ``#risk-list``: the register itself, shared by every viewer and swapped by the poll
  (``risks-live``); rendered once per version and per what the viewer may edit;
- ``#risk-editor``: the person's own form (new risk, or editing one), never touched by
  the poll, so nobody's typing is lost. A stale save (someone saved the risk meanwhile)
  comes back with the person's text, the other version, and who saved it when.

The writes are flow.services.risk_create / risk_update (role rules, versions, live bump).
"""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils import timezone

from backlog.models import Dependency
from events.models import Event
from events.screens import OVER, event_or_404, fragment_wanted, live_for, next_poll, poll_actor
from flow import selectors as flow_selectors
from flow import services as flow_services
from flow.models import Risk
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import (
    live_fragment,
    live_oob,
    live_poll,
    live_versions,
)
from teams.context_processors import current_actor
from teams.permissions import can_write_register
from teams.selectors import membership_list, scrum_team_list

RISK_SCREEN = "risks"
FIELDS = ("title", "owner", "impact", "roam", "mitigation", "dependency", "scrum_team")
TEXT_MAX = {"title": 200, "mitigation": 5000}
CHOOSE = {
    "owner": "choose an owner from the Flow Team's members",
    "dependency": "choose one of the Flow Team's dependencies",
    "scrum_team": "choose a register you keep from the list",
}


def writable_teams(actor) -> str:
    """What the viewer may edit, as the shared list's cache variant: every entry ("all"),
    their own teams' ("t3-5"), or nothing ("none")."""
    if can_write_register(actor, None):
        return "all"
    own = sorted(t for t in actor.scrum_team_ids if can_write_register(actor, t))
    return "t" + "-".join(map(str, own)) if own else "none"


def _may_edit(actor, risk: Risk) -> bool:
    return can_write_register(actor, risk.scrum_team_id)


def _list_html(actor, event: Event, version: int) -> str:
    """The shared register, read after its version (sem.live.live_fragment)."""
    key = flow_services.risk_live_key(actor.flow_team_id)

    def render_list():
        rows = [
            {"risk": r, "editable": _may_edit(actor, r)}
            for r in flow_selectors.risk_register(flow_team=actor.flow_team)
        ]
        return render_to_string("events/risks/panel.html#risk-list", {"rows": rows, "event": event})

    # The links in the list point at this event's routes: the event is part of the variant.
    return live_fragment(key, version, f"{event.pk}:{writable_teams(actor)}", render_list)


def _choices(actor, linked_dependency: int | None) -> dict:
    teams = [
        t
        for t in scrum_team_list(actor=actor).order_by("number")
        if can_write_register(actor, t.pk)
    ]
    return {
        "members": [m.user for m in membership_list(actor=actor).order_by("user__full_name")],
        "teams": teams,
        "flow_level": can_write_register(actor, None),
        "dependencies": flow_selectors.dependency_choices(
            flow_team=actor.flow_team, also=linked_dependency
        ),
        "impacts": Risk.Impact.choices,
        "roams": Risk.Roam.choices,
    }


def risk_form_values(risk: Risk) -> dict[str, str]:
    return {
        "title": risk.title,
        "owner": str(risk.owner_id or ""),
        "impact": risk.impact,
        "roam": risk.roam,
        "mitigation": risk.mitigation,
        "dependency": str(risk.dependency_id or ""),
        "scrum_team": str(risk.scrum_team_id or ""),
    }


def _new_values(actor, dependency_id: str = "") -> dict[str, str]:
    """A new risk's form: the person's own team (a PO's or SM's only register), and the
    dependency it is opened for (a red dependency's offer) with its description."""
    own = sorted(t for t in actor.scrum_team_ids if can_write_register(actor, t))
    values = {
        "title": "",
        "owner": str(actor.user.pk),
        "impact": Risk.Impact.HIGH if dependency_id else Risk.Impact.MEDIUM,
        "roam": Risk.Roam.OPEN,
        "mitigation": "",
        "dependency": "",
        "scrum_team": str(own[0]) if own else "",
    }
    if dependency_id.isdigit():
        dependency = (
            Dependency.objects.filter(flow_team=actor.flow_team, pk=int(dependency_id))
            .select_related("from_story", "from_epic")
            .first()
        )
        if dependency is not None:
            values["dependency"] = str(dependency.pk)
            needing = dependency.from_story or dependency.from_epic
            values["title"] = f"{needing.title} may come late"[: TEXT_MAX["title"]]
            if dependency.from_story and (
                not values["scrum_team"] or dependency.from_story.scrum_team_id in own
            ):
                values["scrum_team"] = str(dependency.from_story.scrum_team_id)
    return values


def _form(actor, event, *, risk=None, values=None, notice=None, read_version=None) -> dict:
    return {
        "event": event,
        "risk": risk,
        "values": values if values is not None else risk_form_values(risk),
        "read_version": read_version if read_version is not None else (risk.version if risk else 0),
        "notice": notice or {},
        **_choices(actor, risk.dependency_id if risk else None),
    }


def _parse(actor, post) -> dict:
    """The posted fields as the service takes them; a field that does not parse or names
    something outside the Flow Team is a RuleViolation naming it (nothing is written)."""
    data = {}
    for field in ("title", "mitigation"):
        text = post.get(field, "")
        if len(text) > TEXT_MAX[field]:
            raise RuleViolation(
                f"at most {TEXT_MAX[field]} characters (this has {len(text)})", field=field
            )
        data[field] = text.strip()
    for field in ("impact", "roam"):
        data[field] = post.get(field, "")
    lookups = {
        "owner": lambda pk: membership_list(actor=actor).filter(user_id=pk).first(),
        "dependency": lambda pk: Dependency.objects.filter(
            flow_team=actor.flow_team, pk=pk
        ).first(),
        "scrum_team": lambda pk: scrum_team_list(actor=actor).filter(pk=pk).first(),
    }
    for field, lookup in lookups.items():
        raw = post.get(field, "").strip()
        if not raw:
            data[field] = None
            continue
        found = lookup(int(raw)) if raw.isdigit() and len(raw) < 12 else None
        if found is None:
            raise RuleViolation(CHOOSE[field], field=field)
        data[field] = found.user if field == "owner" else found
    return data


def _posted_values(post) -> dict[str, str]:
    return {field: post.get(field, "") for field in FIELDS}


def risk_list_oob(actor, event: Event, version: int):
    """The shared list as an out-of-band swap, for a host screen's poll."""
    return live_oob("risk-list", _list_html(actor, event, version))


def _panel_context(request, actor, event: Event, *, form=None, embedded=False) -> dict:
    key = flow_services.risk_live_key(actor.flow_team_id)
    version = live_versions([key])[key]  # before the data (sem.live.live_fragment)
    live = (
        None
        if embedded
        else live_for(
            request,
            actor,
            event,
            screen=RISK_SCREEN,
            url_name="risks-live",
            keys=[key],
            versions={key: version},
            poll_id="risk-poll",
        )
    )
    return {
        "event": event,
        "list_html": _list_html(actor, event, version),
        "may_write": writable_teams(actor) != "none",
        "form": form,
        "live": live,
    }


def _screen(request, pk: int):
    actor = current_actor(request)
    return actor, event_or_404(actor, pk)


@login_required
def register(request, pk: int):
    """GET: the register of the event's Flow Team; the component when htmx asks (another
    screen includes it), else a page of its own. ``?risk_for_dependency=<id>`` opens the
    new-risk form linked to that dependency."""
    actor, event = _screen(request, pk)
    form = None
    dependency_id = request.GET.get("risk_for_dependency", "")
    if dependency_id and writable_teams(actor) != "none":
        form = _form(actor, event, values=_new_values(actor, dependency_id))
    if fragment_wanted(request):
        # Embedded in a screen whose poll watches the register (?embedded=1): no own poll.
        embedded = request.GET.get("embedded") == "1"
        context = _panel_context(request, actor, event, form=form, embedded=embedded)
        return render(request, "events/risks/panel.html#risk-panel", context)
    context = _panel_context(request, actor, event, form=form)
    return render(request, "events/risks/page.html", context)


def _editor_answer(request, actor, event, form, status=200, saved=None):
    """The person's own editor after a write: htmx gets the editor and the fresh list
    (out of band); a plain form post goes back to the register page."""
    if not fragment_wanted(request):
        if status == 200:
            return redirect("risks-register", pk=event.pk)
        context = _panel_context(request, actor, event, form=form)
        return render(request, "events/risks/page.html", context, status=status)
    editor = render_to_string(
        "events/risks/panel.html#risk-editor",
        {"form": form, "saved": saved, "event": event},
        request=request,
    )
    key = flow_services.risk_live_key(actor.flow_team_id)
    version = live_versions([key])[key]
    return HttpResponse(editor + risk_list_oob(actor, event, version), status=status)


def _form_answer(request, actor, event, form):
    """A form asked for: into the editor (htmx), or the register page holding it."""
    if fragment_wanted(request):
        return _editor_answer(request, actor, event, form)
    context = _panel_context(request, actor, event, form=form)
    return render(request, "events/risks/page.html", context)


@login_required
def risk_new(request, pk: int):
    """GET: the new-risk form (into the editor). POST: record the risk."""
    actor, event = _screen(request, pk)
    if writable_teams(actor) == "none":
        raise PermissionDenied(
            "you read the register; the CPO, CSM, Architect, POs and SMs write it"
        )
    if request.method != "POST":
        form = _form(actor, event, values=_new_values(actor, request.GET.get("dependency", "")))
        return _form_answer(request, actor, event, form)
    try:
        data = _parse(actor, request.POST)
        risk = flow_services.risk_create(actor=actor, title=data.pop("title"), **data)
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except RuleViolation as refusal:
        form = _form(
            actor,
            event,
            values=_posted_values(request.POST),
            notice={"level": "error", "errors": refusal.detail},
        )
        return _editor_answer(request, actor, event, form, status=400)
    return _editor_answer(request, actor, event, None, saved=risk)


def _risk_of(actor, risk_id: int) -> Risk:
    risk = (
        Risk.objects.filter(flow_team=actor.flow_team, pk=risk_id)
        .select_related("updated_by", "owner", "scrum_team", "dependency")
        .first()
    )
    if risk is None:
        raise Http404("no such risk in your Flow Team")
    return risk


@login_required
def risk_edit(request, pk: int, risk_id: int):
    """GET: the risk's form (into the editor). POST: save it at the version it was read."""
    actor, event = _screen(request, pk)
    risk = _risk_of(actor, risk_id)
    if not _may_edit(actor, risk):
        raise PermissionDenied("a PO or SM edits only their own team's risks")
    if request.method != "POST":
        return _form_answer(request, actor, event, _form(actor, event, risk=risk))
    read = request.POST.get("read_version", "")
    try:
        if not read.isdigit() or len(read) > 9:
            raise RuleViolation(
                "the form's version is missing; reload the page", field="read_version"
            )
        risk = flow_services.risk_update(
            actor=actor, risk=risk, data=_parse(actor, request.POST), expected_version=int(read)
        )
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except VersionConflict:
        theirs = _risk_of(actor, risk_id)
        at = timezone.localtime(theirs.updated_at, actor.flow_team.tzinfo)
        who = theirs.updated_by.display_name if theirs.updated_by else "someone"
        form = _form(
            actor,
            event,
            risk=theirs,
            values=_posted_values(request.POST),
            read_version=theirs.version,
            notice={
                "level": "warning",
                "text": f"{who} saved this risk at {at:%H:%M} while you were editing. "
                "Their version is shown here; yours is kept in the form. "
                "Save again to replace theirs.",
                "theirs": theirs,
            },
        )
        return _editor_answer(request, actor, event, form, status=409)
    except RuleViolation as refusal:
        form = _form(
            actor,
            event,
            risk=risk,
            values=_posted_values(request.POST),
            read_version=int(read) if read.isdigit() and len(read) <= 9 else risk.version,
            notice={"level": "error", "errors": refusal.detail},
        )
        return _editor_answer(request, actor, event, form, status=400)
    return _editor_answer(request, actor, event, None, saved=risk)


def risks_live(request, pk: int):
    """The register's poll: 204 after one query when nothing changed; the list when it did."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = event_or_404(actor, pk)
        key = flow_services.risk_live_key(actor.flow_team_id)
        regions = [risk_list_oob(actor, event, versions[key])]
        return regions, event.state in OVER, next_poll(request, poll, versions, "risk-poll")

    return live_poll(request, screen=RISK_SCREEN, scope=pk, on_change=on_change)
