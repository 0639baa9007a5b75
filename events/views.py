from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from backlog.selectors import product_goal_active, story_counts
from events.selectors import events_on_day
from flow.selectors import flow_sprint_current
from teams.context_processors import current_actor


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
