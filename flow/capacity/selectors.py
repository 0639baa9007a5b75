"""Team Sprint Planning's reads: the sprint's working days, the team's members, the
capacity proposed from the velocity, and the whole screen in a fixed number of queries."""

from decimal import Decimal

from django.db.models import Exists, OuterRef

from backlog.models import AcceptanceCriterion, Story, Task
from flow.cadence import working_days
from flow.models import FlowSprint, MemberAvailability, TeamSprint
from flow.planning import backlog_waiting, definition_of_ready_gap, team_velocity
from flow.roadmap import PLANNED_OUTCOMES
from teams.models import User
from teams.permissions import Actor
from teams.selectors import scrum_team_people

# The team's backlog as the planning screen lists it; the rest is on the backlog page.
BACKLOG_SHOWN = 40


def team_sprint_live_key(team_sprint_id: int) -> str:
    """The live topic of one Team Sprint's plan: available days, capacity, goal."""
    return f"team-sprint:{team_sprint_id}"


def sprint_working_days(team_sprint: TeamSprint) -> int:
    """The Flow Sprint's working days by the Flow Team's working weekdays."""
    sprint = team_sprint.flow_sprint
    return len(working_days(sprint.start, sprint.end, sprint.flow_team.working_weekdays))


def team_members(scrum_team_id: int) -> list[User]:
    """The people holding a PO, SM or developer role in the Scrum Team, by name."""
    return [person.user for person in scrum_team_people(scrum_team_id=scrum_team_id)]


def proposed_capacity(velocity: int | None, available: Decimal, full: Decimal) -> int | None:
    """The team's velocity scaled by the days its members give against a full sprint's."""
    if velocity is None or not full:
        return None
    return round(velocity * available / full)


def team_planning(*, actor: Actor, team_sprint: TeamSprint) -> dict:
    """Everything the Team Sprint Planning screen shows, in a fixed number of queries: the
    members' days, the capacity and its proposal, the planned stories with their tasks,
    and the top of the team's backlog with why a story is not ready yet."""
    team_id = team_sprint.scrum_team_id
    days_full = Decimal(sprint_working_days(team_sprint))
    members = team_members(team_id)
    given = dict(
        MemberAvailability.objects.filter(team_sprint=team_sprint).values_list("user_id", "days")
    )
    people = [
        {"user": m, "days": given.get(m.pk, days_full), "set": m.pk in given} for m in members
    ]
    available = sum((p["days"] for p in people), Decimal(0))
    full = days_full * len(members)
    velocity = team_velocity(team_sprint.flow_sprint.flow_team).get(team_id)
    criteria = Exists(AcceptanceCriterion.objects.filter(story=OuterRef("pk")))
    planned = list(
        Story.objects.filter(
            commitments__team_sprint=team_sprint, commitments__outcome__in=PLANNED_OUTCOMES
        )
        .annotate(has_criteria=criteria)
        .order_by("rank")
    )
    tasks: dict[int, list[Task]] = {}
    for task in (
        Task.objects.filter(story__in=[s.pk for s in planned])
        .select_related("assignee")
        .order_by("created_at", "pk")
    ):
        tasks.setdefault(task.story_id, []).append(task)
    for story in planned:
        story.task_list = tasks.get(story.pk, [])
        story.tasks_done = sum(t.done for t in story.task_list)
    waiting = backlog_waiting(team_sprint.flow_sprint.flow_team).filter(scrum_team_id=team_id)
    backlog = list(waiting.annotate(has_criteria=criteria).order_by("rank")[:BACKLOG_SHOWN])
    for story in backlog:
        story.not_ready = definition_of_ready_gap(story.points, story.has_criteria)
    load = sum(s.points or 0 for s in planned)
    capacity = team_sprint.capacity_points
    return {
        "people": people,
        "days_full": days_full,
        "available": available,
        "full": full,
        "velocity": velocity,
        "proposed": proposed_capacity(velocity, available, full),
        "capacity": capacity,
        "load": load,
        "over": capacity is not None and load > capacity,
        "over_by": load - capacity if capacity is not None else 0,
        "percent": min(100, round(100 * load / capacity)) if capacity else 0,
        "planned": planned,
        "backlog": backlog,
        "backlog_total": waiting.count(),
        "members": members,
        "closed": team_sprint.flow_sprint.state == FlowSprint.State.CLOSED,
    }
