"""The Scrum of Scrums screen (/events/<pk>/sos/) and the record of past ones
(/events/scrum-of-scrums/).

One card per Scrum Team with its answers to the five questions, prefilled with a draft of
what happened since the last Scrum of Scrums when the screen is first opened
(events/sos.py, ``services.sos_reports_ensure``); the team's PO or SM (or the CSM) edit
them. Beside them the action items: open ones from every earlier Scrum of Scrums with
their age, and those closed since the last one.

Live (sem/live.py): every open screen polls three keys (the event's state, this Scrum of
Scrums' answers and items, the Flow Team's action items). The regions the poll swaps are
read-only and shared (#sos-state, #sos-team-<team>, #sos-actions); the forms people type
in (#sos-edit-<team>, #sos-add) are only swapped by the person's own requests.
static/js/sos.js copies a newly saved answer into a form field the person is not
typing in; a field they changed stays as it is, and saving it then shows both versions.
"""

from datetime import timedelta

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from events import services
from events.forms import SOS_QUESTIONS, SosActionForm, SosAnswersForm, SosSearchForm
from events.improvements.services import sos_actions_live_key
from events.models import ActionItem, Event
from events.screens import poll_actor
from events.selectors import (
    sos_action_items,
    sos_event_for,
    sos_record,
    sos_record_details,
    sos_reports,
)
from events.sos import sos_previous, sos_since
from sem.errors import NotFound, PermissionRefused, RuleViolation, VersionConflict
from sem.live import (
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
from teams.models import Membership, ScrumTeam
from teams.permissions import can_manage_sos_actions, can_see_events, can_write_sos_report

SOS_SCREEN = "sos"
RECORD_PAGE_SIZE = 10


def _sos_of(actor, pk: int) -> Event:
    try:
        return sos_event_for(actor=actor, pk=pk)
    except NotFound as missing:
        raise Http404(str(missing)) from missing


def sos_live_keys(event: Event) -> list[str]:
    return [
        services.event_live_key(event.pk),
        services.sos_live_key(event.pk),
        sos_actions_live_key(event.flow_team_id),
    ]


def _over(event: Event) -> bool:
    return event.state in services.SOS_OVER


def _may_write(actor, event: Event, team_id: int) -> bool:
    return not _over(event) and can_write_sos_report(actor, team_id)


def _may_manage(actor, event: Event) -> bool:
    return event.state != Event.State.CANCELLED and can_manage_sos_actions(actor)


class _Sos:
    """What one Scrum of Scrums shows, read lazily: only what a region missing from the
    cache needs, and at most once per request."""

    def __init__(self, actor, event: Event):
        self.actor, self.event = actor, event
        self._reports = self._since = self._actions = None

    @property
    def reports(self) -> list:
        if self._reports is None:
            self._reports = sos_reports(event=self.event)
        return self._reports

    @property
    def since(self):
        if self._since is None:
            self._since = sos_since(event=self.event, previous=sos_previous(event=self.event))
        return self._since

    @property
    def actions(self) -> list:
        if self._actions is None:
            today = self.actor.flow_team.today()
            tz = self.actor.flow_team.tzinfo
            self._actions = []
            for item in sos_action_items(event=self.event, since=self.since):
                until = timezone.localtime(item.done_at, tz).date() if item.done else today
                item.age_days = (until - timezone.localtime(item.created_at, tz).date()).days
                item.overdue = not item.done and item.due_date is not None and item.due_date < today
                self._actions.append(item)
        return self._actions


class _Shown:
    """The shared regions at one set of versions, each rendered once per version and
    variant (sem.live): the state line, the action items, and the team cards as parts
    (one element per team, each with a digest), so that a save sends only the card that
    changed."""

    def __init__(self, actor, event: Event, versions: dict[str, int], data: _Sos):
        self.actor, self.event, self.data = actor, event, data
        state_key, sos_key, actions_key = sos_live_keys(event)
        tz = actor.flow_team.timezone
        self.state = live_fragment(
            state_key,
            versions[state_key],
            "sos-state",
            lambda: render_to_string(
                "events/sos/screen.html#sos-state",
                {"event": event, "since": data.since, "tz": tz},
            ),
        )
        # One card per team, the same for every viewer (sos.js fills the forms from it).

        def teams():
            return [
                (
                    f"sos-team-{report.scrum_team_id}",
                    render_to_string(
                        "events/sos/screen.html#sos-team",
                        {"report": report, "questions": _answers(report), "tz": tz},
                    ),
                )
                for report in data.reports
            ]

        self.teams = live_parts(sos_key, versions[sos_key], "teams", teams)
        manage = "manage" if _may_manage(actor, event) else "read"
        today = actor.flow_team.today().isoformat()
        self.actions = live_fragment(
            actions_key,
            versions[actions_key],
            f"{event.pk}-{manage}-{today}",
            lambda: render_to_string(
                "events/sos/screen.html#sos-actions",
                {
                    "items": data.actions,
                    "manage": manage == "manage",
                    "event": event,
                    "tz": tz,
                },
            ),
        )

    def team_ids(self) -> list[int]:
        return [int(part_id.rsplit("-", 1)[1]) for part_id, _html, _digest in self.teams]

    def seen(self) -> str:
        return live_parts_seen(self.teams)

    def oob(self, changed_keys=None, seen: str | None = None) -> list:
        """The regions to swap: all of them, or (on a poll) those whose key moved, and of
        the team cards only those that differ from what the viewer shows."""
        state_key, sos_key, actions_key = sos_live_keys(self.event)
        changed_keys = set(sos_live_keys(self.event)) if changed_keys is None else changed_keys
        found = []
        if state_key in changed_keys:
            found.append(live_oob("sos-state", self.state))
        if sos_key in changed_keys:
            parts = live_parts_changed(self.teams, seen) if seen is not None else None
            found.extend(
                live_oob_element(html)
                for part_id, html, _digest in self.teams
                if parts is None or part_id in parts
            )
        if actions_key in changed_keys:
            found.append(live_oob("sos-actions", self.actions))
        return found


def _answers(report) -> list[dict]:
    return [
        {"slug": slug, "label": label, "text": getattr(report, slug)}
        for slug, label in SOS_QUESTIONS
    ]


def _live(request, actor, event: Event, versions: dict[str, int], seen: str) -> dict | None:
    if _over(event):
        return None
    keys = sos_live_keys(event)
    token = live_token(
        screen=SOS_SCREEN,
        user_id=request.user.pk,
        flow_team_id=actor.flow_team_id,
        scope=event.pk,
        keys=keys,
        # Through the meeting and an hour of overrun, from whenever it was opened (people
        # fill in their drafts in the days before).
        expires_at=max(event.ends_at, timezone.now()) + timedelta(hours=1),
    )
    return live_poll_context(
        url=reverse("sos-live", args=[event.pk]),
        token=token,
        versions=versions,
        keys=keys,
        params={"p": seen},
    )


def _edit_form(report, *, values: dict | None = None, read_version=None, notice=None) -> dict:
    values = values if values is not None else {s: getattr(report, s) for s, _ in SOS_QUESTIONS}
    return {
        "team_id": report.scrum_team_id,
        "team_name": report.scrum_team.name,
        "read_version": report.version if read_version is None else read_version,
        "fields": [
            {"slug": slug, "label": label, "value": values.get(slug, "")}
            for slug, label in SOS_QUESTIONS
        ],
        "notice": notice,
    }


def _people_and_teams(actor) -> tuple[list, list]:
    people = [
        (m.user_id, m.user.display_name)
        for m in Membership.objects.filter(flow_team=actor.flow_team)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ]
    teams = list(
        ScrumTeam.objects.filter(flow_team=actor.flow_team)
        .order_by("number")
        .values_list("pk", "name")
    )
    return people, teams


def _add_form(actor, data=None) -> SosActionForm:
    people, teams = _people_and_teams(actor)
    return SosActionForm(data, people=people, teams=teams)


def _screen(request, actor, event: Event, *, bound=None, add_form=None, status=200):
    """The whole screen; ``bound`` = {team id: edit form} the person's own request left
    (their text and a refusal or conflict), ``add_form`` likewise."""
    keys = sos_live_keys(event)
    # The versions first, then the data they label (sem.live.live_fragment).
    versions = live_versions(keys)
    data = _Sos(actor, event)
    shown = _Shown(actor, event, versions, data)
    bound = bound or {}
    cards = []
    for (_part_id, html, _digest), team_id in zip(shown.teams, shown.team_ids(), strict=True):
        form = None
        if _may_write(actor, event, team_id):
            report = next(r for r in data.reports if r.scrum_team_id == team_id)
            form = bound.get(team_id) or _edit_form(report)
        cards.append({"id": team_id, "html": mark_safe(html), "form": form})  # noqa: S308
    may_manage = _may_manage(actor, event)
    context = {
        "event": event,
        "state_html": shown.state,
        "cards": cards,
        "actions_html": shown.actions,
        "may_manage": may_manage,
        "add_form": (add_form or _add_form(actor)) if may_manage else None,
        "live": _live(request, actor, event, versions, shown.seen()),
        "tz": actor.flow_team.timezone,
        "over": _over(event),
    }
    return render(request, "events/sos/screen.html", context, status=status)


@login_required
@require_http_methods(["GET", "HEAD"])
def sos_screen(request, pk: int):
    """The Scrum of Scrums: first opened, it gives each team its prefilled draft."""
    actor = member_actor(request)
    event = _sos_of(actor, pk)
    if not _over(event):
        services.sos_reports_ensure(actor=actor, event=event)
    return _screen(request, actor, event)


def _after_write(request, actor, event: Event, main: str, status: int = 200) -> HttpResponse:
    """A person's own htmx write: their form (or region) and every shared region at the new
    versions, with their poll moved on so it does not fetch the same again."""
    keys = sos_live_keys(event)
    versions = live_versions(keys)
    event = _sos_of(actor, event.pk)
    shown = _Shown(actor, event, versions, _Sos(actor, event))
    oob = shown.oob()
    live = _live(request, actor, event, versions, shown.seen())
    if live:
        oob.append(render_to_string("includes/live_poll.html", {"live": {**live, "oob": True}}))
    # A 400 or 409 is swapped too (static/js/refusals.js).
    return HttpResponse(main + "".join(oob), status=status)


def _report_of(event: Event, team_id: int, reports: list):
    report = next((r for r in reports if r.scrum_team_id == team_id), None)
    if report is None:
        raise Http404("no report of that Scrum Team at this Scrum of Scrums")
    return report


def _conflict_notice(report, posted: dict) -> dict:
    who = report.submitted_by.display_name if report.submitted_by else "someone"
    at = timezone.localtime(report.updated_at, report.event.flow_team.tzinfo)
    theirs = [
        {"label": label, "text": getattr(report, slug)}
        for slug, label in SOS_QUESTIONS
        if slug in posted and posted[slug].strip() != getattr(report, slug)
    ]
    return {
        "level": "warning",
        "text": f"{who} saved version {report.version} of these answers at {at:%H:%M} while "
        "you were writing. Theirs is shown by each answer that differs; yours is kept in "
        "the field. Save again to replace theirs.",
        "theirs": theirs,
        "who": who,
    }


@login_required
@require_POST
def sos_answer(request, pk: int, team_id: int):
    """POST a team's five answers with the version the person read."""
    actor = member_actor(request)
    event = _sos_of(actor, pk)
    report = _report_of(event, team_id, sos_reports(event=event))
    if not can_write_sos_report(actor, report.scrum_team_id):
        raise PermissionDenied("the CSM, or the team's PO or SM, answer for the team")
    form = SosAnswersForm(request.POST)
    posted = {s: request.POST.get(s, "") for s, _ in SOS_QUESTIONS if s in request.POST}
    raw_version = request.POST.get("read_version", "")
    read = int(raw_version) if raw_version.isascii() and raw_version.isdigit() else None
    status, notice = 200, None
    if not form.is_valid():
        status = 400
        notice = {"level": "error", "errors": {f: list(e) for f, e in form.errors.items()}}
    else:
        data = {s: form.cleaned_data[s] for s in posted}
        try:
            report = services.sos_report_update(
                actor=actor,
                report=report,
                data=data,
                expected_version=form.cleaned_data["read_version"],
            )
            notice = {"level": "success", "text": "Answers saved."}
            posted, read = None, None
        except PermissionRefused as refused:
            raise PermissionDenied(str(refused)) from refused
        except VersionConflict:
            report = _report_of(event, team_id, sos_reports(event=event))
            report.event = event
            status, notice = 409, _conflict_notice(report, posted)
            read = report.version  # saving again knowingly replaces theirs
        except RuleViolation as refusal:
            status, notice = 400, {"level": "error", "errors": refusal.detail}
    form_context = _edit_form(report, values=posted, read_version=read, notice=notice)
    if not request.htmx:
        if status == 200:
            return redirect("sos-screen", pk=event.pk)
        return _screen(request, actor, event, bound={team_id: form_context}, status=status)
    main = render_to_string(
        "events/sos/screen.html#sos-edit", {"form": form_context, "event": event}, request
    )
    return _after_write(request, actor, event, main, status)


@login_required
@require_POST
def sos_action_add(request, pk: int):
    """POST a new action item (text, owner, due date, optional Scrum Team)."""
    actor = member_actor(request)
    event = _sos_of(actor, pk)
    if not can_manage_sos_actions(actor):
        raise PermissionDenied("the CSM, the POs and the SMs plan actions")
    form = _add_form(actor, request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        owner = Membership.objects.select_related("user").get(
            flow_team=actor.flow_team, user_id=data["owner"]
        )
        team = (
            ScrumTeam.objects.get(flow_team=actor.flow_team, pk=data["scrum_team"])
            if data["scrum_team"]
            else None
        )
        try:
            services.action_item_add(
                actor=actor,
                event=event,
                text=data["text"],
                owner=owner.user,
                due_date=data["due_date"],
                scrum_team=team,
                metric=data["metric"],
            )
            status, form = 200, _add_form(actor)
        except PermissionRefused as refused:
            raise PermissionDenied(str(refused)) from refused
        except RuleViolation as refusal:
            for field, problems in refusal.detail.items():
                for problem in problems:
                    form.add_error(field if field in form.fields else None, problem)
    if not request.htmx:
        if status == 200:
            return redirect("sos-screen", pk=event.pk)
        return _screen(request, actor, event, add_form=form, status=status)
    main = render_to_string(
        "events/sos/screen.html#sos-add",
        {"add_form": form, "event": event, "added": status == 200},
        request,
    )
    return _after_write(request, actor, event, main, status)


@login_required
@require_POST
def sos_action_close(request, pk: int, item_pk: int):
    """POST: close one action item (of this or an earlier Scrum of Scrums)."""
    actor = member_actor(request)
    event = _sos_of(actor, pk)
    item = (
        ActionItem.objects.filter(
            pk=item_pk,
            event__flow_team=actor.flow_team,
            event__kind=Event.Kind.SCRUM_OF_SCRUMS,
        )
        .select_related("event")
        .first()
    )
    if item is None:
        raise Http404("no such action item in your Flow Team")
    status, problem = 200, ""
    try:
        services.action_item_close(actor=actor, item=item)
    except PermissionRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except RuleViolation as refusal:
        status, problem = 400, " ".join(m for msgs in refusal.detail.values() for m in msgs)
    if not request.htmx:
        if status == 200:
            return redirect("sos-screen", pk=event.pk)
        return HttpResponse(f"done: {problem}", status=status, content_type="text/plain")
    main = render_to_string(
        "events/sos/screen.html#sos-action-status", {"problem": problem}, request
    )
    return _after_write(request, actor, event, main, status)


def sos_live(request, pk: int):
    """The screen's poll: 204 after one query when nothing changed; the shared regions
    when something did (sem/live.py)."""

    def on_change(poll, versions):
        actor = poll_actor(request, poll)
        event = _sos_of(actor, pk)
        shown = _Shown(actor, event, versions, _Sos(actor, event))
        next_poll = live_poll_context(
            url=request.path,
            token=request.GET.get("t", ""),
            versions=versions,
            keys=poll.keys,
            params={"p": shown.seen()},
        )
        return shown.oob(poll.changed(versions), request.GET.get("p", "")), _over(event), next_poll

    return live_poll(request, screen=SOS_SCREEN, scope=pk, on_change=on_change)


@login_required
@require_http_methods(["GET", "HEAD"])
def sos_record_page(request):
    """Every past Scrum of Scrums with its answers and action items, newest first, ten a
    page; searchable over the answers and the action items."""
    actor = member_actor(request)
    if not can_see_events(actor):
        raise Http404("no Scrum of Scrums for stakeholders")
    form = SosSearchForm(request.GET)
    valid = form.is_valid()
    query = form.cleaned_data.get("q") or ""
    page = Paginator(sos_record(actor=actor, query=query), RECORD_PAGE_SIZE).get_page(
        form.cleaned_data.get("page") or 1
    )
    details = sos_record_details(events=list(page.object_list))
    status = 200 if valid else 400
    return render(
        request,
        "events/sos/record.html",
        {
            "form": form,
            "query": query,
            "page": page,
            "meetings": [
                {"event": e, **details[e.pk], "questions": SOS_QUESTIONS} for e in page.object_list
            ],
            "tz": actor.flow_team.timezone,
        },
        status=status,
    )
