"""Team Sprint Planning's writes: members' available days, the capacity, the team sprint
goal, planning a story up to the capacity, and tasks for members of the team. Each checks
the roles (teams/permissions.py), raises sem.errors and bumps the Team Sprint's live key;
planning goes on through flow.services.story_plan (its Definition of Ready check), tasks
through backlog.services."""

from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from backlog import services as backlog_services
from backlog.models import Story, Task
from flow import services as flow_services
from flow.capacity.selectors import sprint_working_days, team_members, team_sprint_live_key
from flow.models import FlowSprint, MemberAvailability, SprintCommitment, TeamSprint
from flow.roadmap import PLANNED_OUTCOMES
from sem.errors import PermissionRefused, RuleViolation, VersionConflict
from sem.live import live_bump
from teams.permissions import Actor, can_plan_team_sprint, can_work_story

GOAL_MAX_CHARS = 1000


def team_sprint_ensure(*, flow_sprint_id: int, scrum_team_id: int) -> TeamSprint:
    """The Team Sprint of a team in a Flow Sprint (the cadence job makes them; an event
    older than the job still finds its own)."""
    team_sprint, _ = TeamSprint.objects.select_related(
        "flow_sprint__flow_team", "scrum_team", "goal_set_by", "capacity_set_by"
    ).get_or_create(flow_sprint_id=flow_sprint_id, scrum_team_id=scrum_team_id)
    return team_sprint


def _locked(actor: Actor, team_sprint: TeamSprint) -> TeamSprint:
    """The Team Sprint, locked, once the actor may set its plan and its sprint is open."""
    locked = (
        TeamSprint.objects.select_for_update()
        .select_related("flow_sprint__flow_team")
        .get(pk=team_sprint.pk)
    )
    if locked.flow_sprint.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the Team Sprint is not in this Flow Team", field="team_sprint")
    if not can_plan_team_sprint(actor, locked.scrum_team_id):
        raise PermissionRefused("the team's PO or SM sets its sprint goal, capacity and days")
    if locked.flow_sprint.state == FlowSprint.State.CLOSED:
        raise RuleViolation("this Flow Sprint is closed", field="team_sprint")
    return locked


def _decimal(raw, field: str) -> Decimal:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError) as bad:
        raise RuleViolation("a number of days like 7 or 4.5", field=field) from bad
    if not value.is_finite():
        raise RuleViolation("a number of days like 7 or 4.5", field=field)
    return value


@transaction.atomic
def availability_set(*, actor: Actor, team_sprint: TeamSprint, user_id: int, days) -> Decimal:
    """One member's available days in the Team Sprint (0 up to the sprint's working days,
    in half days); the Team Sprint's capacity in person-days follows."""
    team_sprint = _locked(actor, team_sprint)
    members = team_members(team_sprint.scrum_team_id)
    if user_id not in {m.pk for m in members}:
        raise RuleViolation("this person is not a member of the Scrum Team", field="user")
    days = _decimal(days, "days")
    most = sprint_working_days(team_sprint)
    if days < 0 or days > most:
        raise RuleViolation(f"between 0 and {most} days (the sprint's working days)", field="days")
    if days * 2 != int(days * 2):
        raise RuleViolation("whole or half days, like 4 or 4.5", field="days")
    MemberAvailability.objects.update_or_create(
        team_sprint=team_sprint, user_id=user_id, defaults={"days": days}
    )
    # Present members only, as the screen counts them: the days of someone who has left
    # the team stay on record but are no longer the team's capacity.
    given = MemberAvailability.objects.filter(team_sprint=team_sprint, user__in=members).aggregate(
        days=Sum("days"), set_for=Count("pk")
    )
    team_sprint.capacity_days = given["days"] + most * (len(members) - given["set_for"])
    team_sprint.save(update_fields=["capacity_days"])
    live_bump(team_sprint_live_key(team_sprint.pk))
    return days


@transaction.atomic
def capacity_set(*, actor: Actor, team_sprint: TeamSprint, points) -> TeamSprint:
    """The PO's or SM's capacity in points (empty: none set, the load is not limited)."""
    team_sprint = _locked(actor, team_sprint)
    raw = str(points if points is not None else "").strip()
    if raw == "":
        value = None
    elif not (raw.isascii() and raw.isdigit()) or len(raw) > 4:
        raise RuleViolation("a whole number of points, 0 to 9999", field="capacity_points")
    else:
        value = int(raw)
    team_sprint.capacity_points, team_sprint.capacity_set_by = value, actor.user
    team_sprint.save(update_fields=["capacity_points", "capacity_set_by"])
    live_bump(team_sprint_live_key(team_sprint.pk))
    return team_sprint


@transaction.atomic
def team_sprint_goal_set(
    *, actor: Actor, team_sprint: TeamSprint, text: str, expected_version: int
) -> TeamSprint:
    """The team sprint goal. ``expected_version`` is the goal the person read: a goal saved
    meanwhile is a VersionConflict and nothing is written."""
    team_sprint = _locked(actor, team_sprint)
    text = flow_services.goal_text(text, name="the team sprint goal", limit=GOAL_MAX_CHARS)
    if team_sprint.goal_version != expected_version:
        raise VersionConflict(team_sprint.goal_version)
    team_sprint.goal, team_sprint.goal_set_by = text, actor.user
    team_sprint.goal_set_at = timezone.now()
    team_sprint.goal_version += 1
    team_sprint.save(update_fields=["goal", "goal_set_by", "goal_set_at", "goal_version"])
    live_bump(team_sprint_live_key(team_sprint.pk))
    return team_sprint


@transaction.atomic
def team_story_plan(
    *, actor: Actor, team_sprint: TeamSprint, story: Story, into: bool
) -> SprintCommitment | None:
    """Plan a story of the team into its Team Sprint (``into``) or take it back into the
    backlog. Planning in is refused when it would take the planned points past the set
    capacity; flow.services.story_plan checks the roles and the Definition of Ready."""
    if story.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the story is not in this Flow Team", field="story")
    if story.scrum_team_id != team_sprint.scrum_team_id:
        raise RuleViolation("plan a story into its own team's sprint", field="story")
    if not into:
        return flow_services.story_plan(actor=actor, story=story, team_sprint=None)
    # Plans of one Team Sprint queue up on its row, so two at once cannot both fit.
    locked = TeamSprint.objects.select_for_update().get(pk=team_sprint.pk)
    capacity = locked.capacity_points
    if (
        capacity is not None
        and story.points is not None
        and can_work_story(actor, story.scrum_team_id)
    ):
        load = (
            Story.objects.filter(
                commitments__team_sprint=locked, commitments__outcome__in=PLANNED_OUTCOMES
            )
            .exclude(pk=story.pk)
            .aggregate(points=Sum("points"))["points"]
            or 0
        )
        if load + story.points > capacity:
            raise RuleViolation(
                f"“{story.title}” ({story.points} points) would take the sprint to "
                f"{load + story.points} points, past its capacity of {capacity} points",
                field="capacity",
            )
    commitment = flow_services.story_plan(actor=actor, story=story, team_sprint=locked)
    live_bump(team_sprint_live_key(locked.pk))
    return commitment


def _team_member(team_sprint: TeamSprint, assignee_id: int | None):
    if assignee_id is None:
        return None
    for member in team_members(team_sprint.scrum_team_id):
        if member.pk == assignee_id:
            return member
    raise RuleViolation("the assignee must be a member of the Scrum Team", field="assignee")


@transaction.atomic
def team_task_add(
    *, actor: Actor, team_sprint: TeamSprint, story: Story, title: str, assignee_id: int | None
) -> Task:
    """A task of a story planned into the Team Sprint, for a member of the team."""
    if story.flow_team_id != actor.flow_team_id:
        raise RuleViolation("the story is not in this Flow Team", field="story")
    if story.scrum_team_id != team_sprint.scrum_team_id:
        raise RuleViolation("the story is not this team's", field="story")
    if len(title or "") > 200:
        raise RuleViolation("at most 200 characters", field="title")
    assignee = _team_member(team_sprint, assignee_id)
    task = backlog_services.task_create(actor=actor, story=story, title=title, assignee=assignee)
    live_bump(team_sprint_live_key(team_sprint.pk))
    return task


@transaction.atomic
def team_task_update(*, actor: Actor, team_sprint: TeamSprint, task: Task, data: dict) -> Task:
    """Tick a task done (or not), or hand it to another member of the team."""
    if task.story.scrum_team_id != team_sprint.scrum_team_id:
        raise RuleViolation("the task is not this team's", field="task")
    if "assignee" in data:
        data = {**data, "assignee": _team_member(team_sprint, data["assignee"])}
    task = backlog_services.task_update(actor=actor, task=task, data=data)
    live_bump(team_sprint_live_key(team_sprint.pk))
    return task
