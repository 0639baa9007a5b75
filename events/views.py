from datetime import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from backlog.selectors import product_goal_active, story_counts
from events import services
from events.feeds import calendar_feed_events, calendar_feed_rotate, calendar_render
from events.models import CalendarFeed, Event
from events.selectors import events_on_day, events_upcoming, events_visible
from flow.selectors import flow_sprint_current
from sem.errors import PermissionRefused, RuleViolation
from teams.context_processors import current_actor
from teams.permissions import STAKEHOLDER_EVENT_KINDS, can_facilitate, can_see_events


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
    }
    return render(request, "events/home.html", context)


@login_required
def calendar_page(request):
    """The Flow Sprint calendar: the next four weeks, the person's or the whole Flow Team's.
    The CSM moves and cancels events here; everyone gets iCalendar subscription URLs."""
    actor = current_actor(request)
    if actor is None:
        raise Http404("not a member of any Flow Team")
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
    event = events_visible(actor=actor).get(pk=int(request.POST.get("event", 0)))
    if "cancel" in request.POST:
        services.event_cancel(actor=actor, event=event)
        messages.success(request, f"Cancelled {event}.")
    else:
        local = datetime.fromisoformat(request.POST["starts_at"])
        starts_at = local.replace(tzinfo=actor.flow_team.tzinfo)
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
