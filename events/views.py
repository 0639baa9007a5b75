from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from backlog.selectors import product_goal_active, story_counts
from events import kinds, services
from events.feeds import calendar_feed_events, calendar_feed_rotate, calendar_render
from events.forms import EventChangeForm
from events.models import CalendarFeed, Event
from events.screens import event_or_404 as _event_of
from events.screens import poll_actor
from events.selectors import (
    event_participants,
    events_on_day,
    events_upcoming,
    events_visible,
    sos_due_for,
)
from flow.selectors import flow_sprint_current
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import (
    live_fragment,
    live_oob,
    live_poll,
    live_poll_context,
    live_token,
    live_versions,
)
from teams.context_processors import current_actor, member_actor
from teams.permissions import (
    STAKEHOLDER_EVENT_KINDS,
    can_facilitate,
    can_run_event,
    can_see_events,
)


@login_required
def home(request):
    actor = current_actor(request)
    if actor is None:
        return render(request, "events/no_flow_team.html")
    today = actor.flow_team.today()
    sprint = flow_sprint_current(flow_team=actor.flow_team, today=today)
    my_teams = actor.scrum_team_ids or None
    context = {
        "today": today,
        "sprint": sprint,
        "sprint_day": sprint.day_of(today) if sprint else None,
        "sprint_progress": (
            round(10 * sprint.day_of(today) / sprint.length_days) * 10 if sprint else 0
        ),
        "events_today": list(events_on_day(actor=actor, day=today)),
        "product_goal": product_goal_active(actor=actor),
        "counts": story_counts(actor=actor, scrum_team_ids=my_teams),
        "counts_scope": "your Scrum Teams" if my_teams else "the Flow Team",
        "sos_due": sos_due_for(actor=actor, now=timezone.now()),
    }
    return render(request, "events/home.html", context)


@login_required
def calendar_page(request):
    """The Flow Sprint calendar: the next four weeks, the person's or the whole Flow Team's.
    The CSM moves and cancels events here; everyone gets iCalendar subscription URLs."""
    actor = member_actor(request)
    scope = "flow" if request.GET.get("scope") == "flow" else "mine"
    feed_url, errors = None, {}
    if request.method == "POST":
        try:
            feed_url = _calendar_post(request, actor)
        except (RuleViolation, PermissionRefused, ValueError, Event.DoesNotExist) as refusal:
            errors = getattr(refusal, "detail", {"event": [str(refusal) or "not allowed"]})
        if feed_url is None and not errors:
            return redirect(f"{request.path}?scope={scope}")
    events = list(events_upcoming(actor=actor, scope=scope))
    days = {}
    for event in events:
        days.setdefault(
            timezone.localtime(event.starts_at, actor.flow_team.tzinfo).date(), []
        ).append(event)
    return render(
        request,
        "events/calendar.html",
        {
            "days": days,
            "scope": scope,
            "feed_url": feed_url,
            "errors": errors,
            "can_facilitate": can_facilitate(actor),
            # Without a Scrum Team there is no team feed to offer.
            "feed_scopes": [
                (value, label)
                for value, label in CalendarFeed.Scope.choices
                if value != CalendarFeed.Scope.TEAM or actor.scrum_team_ids
            ],
            "sees_all_events": can_see_events(actor),
            "own_event_kinds": [
                label for value, label in Event.Kind.choices if value in STAKEHOLDER_EVENT_KINDS
            ],
        },
    )


def _calendar_post(request, actor):
    if "feed" in request.POST:
        token = calendar_feed_rotate(actor=actor, scope=request.POST["feed"])
        return request.build_absolute_uri(reverse("calendar-feed", args=[token]))
    form = EventChangeForm(request.POST)
    if not form.is_valid():
        field, problems = next(iter(form.errors.items()))
        raise RuleViolation(problems[0], field=field)
    change = form.cleaned_data
    event = events_visible(actor=actor).get(pk=change["event"])
    if change["cancel"]:
        services.event_cancel(actor=actor, event=event)
        messages.success(request, f"Cancelled {event}.")
    else:
        starts_at = change["starts_at"].replace(tzinfo=actor.flow_team.tzinfo)
        services.event_move(actor=actor, event=event, starts_at=starts_at)
        messages.success(request, f"Moved {event}; the cadence job will leave it there.")
    return None


def calendar_feed(request, token):
    """GET /calendar/<secret>.ics: no login (calendar programs cannot sign in); 404 unknown."""
    found = calendar_feed_events(token=token)
    if found is None:
        raise Http404("unknown calendar feed")
    feed, events = found
    return HttpResponse(
        calendar_render(feed=feed, events=events), content_type="text/calendar; charset=utf-8"
    )


# --- One screen per event ------------------------------------------------------------

EVENT_SCREEN = "event"
# Regions every viewer shares, rendered once per version (sem/live.py).
EVENT_REGIONS = ("event-state", "event-outputs")
EVENT_OVER = (Event.State.DONE, Event.State.CANCELLED)


def _region_html(event: Event, region: str) -> str:
    return render_to_string(f"events/event_detail.html#{region}", {"event": event})


def _regions(event: Event, version: int) -> dict[str, str]:
    key = services.event_live_key(event.pk)
    return {
        region: live_fragment(key, version, region, lambda r=region: _region_html(event, r))
        for region in EVENT_REGIONS
    }


def _may_run(actor, event: Event) -> bool:
    return can_run_event(
        actor, facilitator_id=event.facilitator_id, scrum_team_id=event.scrum_team_id
    )


def _outputs_form(event: Event, values: dict | None = None, read_version: int | None = None):
    values = event.recorded_outputs if values is None else values
    return {
        "fields": [
            {"slug": slug, "label": label, "value": values.get(slug, "")}
            for slug, label in kinds.OUTPUTS[event.kind]
        ],
        "read_version": event.outputs_version if read_version is None else read_version,
    }


@login_required
def event_detail(request, pk: int):
    """The screen of one event: what it is, who takes part, what it needs and produces,
    and its state, live. Its facilitator starts and ends it and records its outputs here
    (POST ``action`` = start | end | outputs)."""
    actor = current_actor(request)
    key = services.event_live_key(pk)
    # The version first, then the data (see sem.live.live_fragment).
    version = live_versions([key])[key]
    event = _event_of(actor, pk)
    may_run = _may_run(actor, event)
    form, notice, status = _outputs_form(event), None, 200
    if request.method == "POST":
        if not may_run:
            raise PermissionDenied("the event's facilitator starts and ends it")
        action = request.POST.get("action")
        try:
            if action == "start":
                event = services.event_start(actor=actor, event=event)
            elif action == "end":
                event = services.event_end(actor=actor, event=event)
            elif action == "outputs":
                form, notice = _outputs_post(request, actor, event)
                if notice["level"] == "warning":
                    status = 409
            else:
                raise RuleViolation("choose start, end or outputs", field="action")
        except PermissionRefused as refused:
            raise PermissionDenied(str(refused)) from refused
        except RuleViolation as refusal:
            errors = refusal.detail
            slugs = {slug for slug, _label in kinds.OUTPUTS[event.kind]}
            notice = {
                "level": "error",
                "errors": errors,
                # Shown where the person acted: by the buttons, or atop the outputs form
                # (an output's own error also sits under its field).
                "where": "record" if action == "outputs" else "controls",
                "general": [m for f, msgs in errors.items() if f not in slugs for m in msgs],
            }
            status = 400
            if action == "outputs":
                # Their text comes back intact with the version they had read.
                read = request.POST.get("read_version", "")
                form = _outputs_form(
                    event,
                    values=_posted_outputs(request, event),
                    read_version=int(read) if read.isdigit() else event.outputs_version,
                )
        # Again the version before the data it labels.
        version = live_versions([key])[key]
        event = _event_of(actor, pk)
        if request.htmx:
            return _event_post_fragment(request, event, action, form, notice, version, status)
        if status == 200 and action != "outputs":
            return redirect("event-detail", pk=event.pk)
    context = _event_context(request, actor, event, version)
    context.update(form=form, notice=notice)
    return render(request, "events/event_detail.html", context, status=status)


def _read(request) -> int:
    try:
        return int(request.POST.get("read_version", ""))
    except ValueError:
        raise RuleViolation(
            "the form's version is missing; reload the page", field="read_version"
        ) from None


def _posted_outputs(request, event: Event) -> dict[str, str]:
    return {
        slug: request.POST.get(f"output-{slug}", "")
        for slug, _label in kinds.OUTPUTS[event.kind]
        if f"output-{slug}" in request.POST
    }


def _outputs_post(request, actor, event: Event):
    posted = _posted_outputs(request, event)
    read_version = _read(request)
    try:
        event = services.event_outputs_record(
            actor=actor, event=event, outputs=posted, read_version=read_version
        )
    except VersionConflict:
        event.refresh_from_db()
        who = event.outputs_recorded_by.display_name if event.outputs_recorded_by else "someone"
        at = timezone.localtime(event.outputs_recorded_at, event.flow_team.tzinfo)
        # Their text stays in the form; the form now carries the current version, so
        # saving again replaces what the other person recorded, knowingly.
        return _outputs_form(event, values=posted), {
            "level": "warning",
            "text": f"{who} recorded the outputs at {at:%H:%M} while you were writing. "
            "Their version is shown above; yours is kept below. Save again to replace theirs.",
        }
    return _outputs_form(event), {"level": "success", "text": "Outputs recorded."}


def _event_post_fragment(request, event, action, form, notice, version, status):
    """The facilitator's own htmx post: their controls (or form) and the shared regions."""
    regions = _regions(event, version)
    oob = [live_oob(region, html) for region, html in regions.items()]
    context = {"event": event, "may_run": True, "form": form, "notice": notice}
    if action == "outputs":
        main = render_to_string("events/event_detail.html#event-record", context, request=request)
    else:
        main = render_to_string("events/event_detail.html#event-controls", context, request)
        if action == "start" and event.state == Event.State.RUNNING:
            # The record region held only a hint until now (no field anyone typed in).
            record = render_to_string("events/event_detail.html#event-record", context, request)
            oob.append(live_oob("event-record", record))
    # A 400 or 409 is swapped too (static/js/refusals.js): the refusal shows where they acted.
    return HttpResponse(main + "".join(oob), status=status)


def _event_context(request, actor, event: Event, version: int) -> dict:
    key = services.event_live_key(event.pk)
    live = None
    if event.state not in EVENT_OVER:
        now = timezone.now()
        token = live_token(
            screen=EVENT_SCREEN,
            user_id=request.user.pk,
            flow_team_id=actor.flow_team_id,
            scope=event.pk,
            keys=[key],
            # Valid through the meeting and an hour of overrun, from whenever it was opened.
            expires_at=max(event.ends_at, now) + timedelta(hours=1),
        )
        live = live_poll_context(
            url=reverse("event-live", args=[event.pk]),
            token=token,
            versions={key: version},
            keys=[key],
        )
    return {
        "event": event,
        **dict(zip(("state_html", "outputs_html"), _regions(event, version).values(), strict=True)),
        "may_run": _may_run(actor, event),
        "participants": event_participants(event=event),
        "inputs": kinds.INPUTS[event.kind],
        "live": live,
    }


def event_live(request, pk: int):
    """The event screen's poll: 204 after one query when nothing changed (no session work:
    the viewer is the signed token's); the changed regions when something did."""

    def on_change(poll, versions):
        # Something changed: now the full check, as for the page itself.
        actor = poll_actor(request, poll)
        event = _event_of(actor, pk)
        key = services.event_live_key(pk)
        regions = _regions(event, versions[key])
        oob = [live_oob(region, html) for region, html in regions.items()]
        controls = render_to_string(
            "events/event_detail.html#event-controls",
            {"event": event, "may_run": _may_run(actor, event)},
            request,
        )
        oob.append(live_oob("event-controls", controls))
        next_poll = live_poll_context(
            url=request.path, token=request.GET.get("t", ""), versions=versions, keys=poll.keys
        )
        return oob, event.state in EVENT_OVER, next_poll

    return live_poll(request, screen=EVENT_SCREEN, scope=pk, on_change=on_change)
