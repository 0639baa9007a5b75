"""Cadence and planning: Flow Sprints, Team Sprints, commitments, risks, metric snapshots."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from backlog.models import Dependency, Epic, Story
from sem.models import TimeStampedModel
from teams.models import FlowTeam, ScrumTeam


class FlowSprint(TimeStampedModel):
    """One synchronized sprint: every Scrum Team of the Flow Team shares its dates."""

    class State(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        CLOSED = "closed", "Closed"

    class GoalOutcome(models.TextChoices):
        MET = "met", "Met"
        PARTLY = "partly", "Partly met"
        NOT_MET = "not_met", "Not met"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="flow_sprints")
    number = models.PositiveIntegerField()
    start = models.DateField()
    end = models.DateField(help_text="Last day of the sprint (inclusive).")
    goal = models.TextField("Flow Sprint Goal", blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PLANNED)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Frozen at closing: committed and done points per team, so later edits cannot
    # rewrite what the sprint achieved.
    figures = models.JSONField(null=True, blank=True)
    # The Flow Sprint Goal's way in (domain.md): the CPO drafts it, the CSM confirms it at
    # Flow Sprint Planning 2, which copies the draft into ``goal``. ``goal_version`` counts
    # drafts, so a stale draft is told who changed it and when.
    goal_draft = models.TextField("draft Flow Sprint Goal", blank=True)
    goal_version = models.PositiveIntegerField(default=0)
    goal_drafted_at = models.DateTimeField(null=True, blank=True)
    goal_drafted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    goal_confirmed_at = models.DateTimeField(null=True, blank=True)
    goal_confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # What still stood when the CSM confirmed: red dependencies and unmitigated high risks,
    # each {"kind", "id", "title", "reason"}; an empty list when nothing did.
    confirmed_despite = models.JSONField(null=True, blank=True)
    # Whether the goal was met, as the CSM records it at the Flow Sprint Review (the last
    # day, when the cadence job may already have closed the sprint: these fields are not
    # among the closed sprint's frozen ones, flow/migrations/0005).
    goal_outcome = models.CharField(
        "Flow Sprint Goal met?", max_length=7, choices=GoalOutcome.choices, blank=True
    )
    goal_outcome_note = models.TextField(blank=True)
    goal_outcome_at = models.DateTimeField(null=True, blank=True)
    goal_outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["flow_team", "number"]
        constraints = [
            models.CheckConstraint(
                condition=Q(goal_outcome__in=["", "met", "partly", "not_met"]),
                name="flowsprint_goal_outcome_choices",
            ),
            # Partly or not met says why.
            models.CheckConstraint(
                condition=Q(goal_outcome__in=["", "met"]) | ~Q(goal_outcome_note=""),
                name="flowsprint_goal_missed_has_note",
            ),
            models.UniqueConstraint(
                fields=["flow_team", "number"], name="flowsprint_number_unique"
            ),
            models.UniqueConstraint(fields=["flow_team", "start"], name="flowsprint_start_unique"),
            models.UniqueConstraint(
                fields=["flow_team"], condition=Q(state="active"), name="one_active_flow_sprint"
            ),
            models.CheckConstraint(
                condition=Q(end__gte=F("start")), name="flowsprint_end_after_start"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="flowsprint_number_positive"),
        ]

    def __str__(self):
        return f"Flow Sprint {self.number}"

    @property
    def length_days(self) -> int:
        return (self.end - self.start).days + 1

    def day_of(self, day) -> int:
        """1-based calendar day of ``day`` within the sprint."""
        return (day - self.start).days + 1


class TeamSprint(models.Model):
    """A Scrum Team's slice of a Flow Sprint."""

    flow_sprint = models.ForeignKey(
        FlowSprint, on_delete=models.CASCADE, related_name="team_sprints"
    )
    scrum_team = models.ForeignKey(ScrumTeam, on_delete=models.CASCADE, related_name="team_sprints")
    goal = models.TextField("Team Sprint Goal", blank=True)
    capacity_days = models.DecimalField(
        "capacity (person-days)", max_digits=6, decimal_places=1, null=True, blank=True
    )
    capacity_points = models.PositiveIntegerField(null=True, blank=True)
    stories = models.ManyToManyField(Story, through="SprintCommitment", related_name="team_sprints")
    # Team Sprint Planning: the goal's saves are counted, so a stale save is told who
    # changed it and when; the capacity shows who set it last.
    goal_version = models.PositiveIntegerField(default=0)
    goal_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    goal_set_at = models.DateTimeField(null=True, blank=True)
    capacity_set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["flow_sprint", "scrum_team"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow_sprint", "scrum_team"], name="teamsprint_once_per_team"
            )
        ]

    def __str__(self):
        return f"{self.scrum_team} in {self.flow_sprint}"


class MemberAvailability(models.Model):
    """How many days one member of the Scrum Team can give to a Team Sprint (Team Sprint
    Planning). A member without a row gives every working day of the sprint."""

    team_sprint = models.ForeignKey(
        TeamSprint, on_delete=models.CASCADE, related_name="availabilities"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    days = models.DecimalField(max_digits=4, decimal_places=1)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["team_sprint", "user"]
        constraints = [
            models.UniqueConstraint(
                fields=["team_sprint", "user"], name="availability_once_per_member"
            ),
            models.CheckConstraint(condition=Q(days__gte=0), name="availability_days_not_negative"),
        ]

    def __str__(self):
        return f"{self.user} in {self.team_sprint}: {self.days} days"


class EpicClaim(models.Model):
    """Flow Sprint Planning 1: a Scrum Team claims an epic for a Flow Sprint. Several
    teams may claim one epic; a team claims an epic once per sprint."""

    epic = models.ForeignKey(Epic, on_delete=models.CASCADE, related_name="claims")
    scrum_team = models.ForeignKey(ScrumTeam, on_delete=models.CASCADE, related_name="epic_claims")
    flow_sprint = models.ForeignKey(
        FlowSprint, on_delete=models.CASCADE, related_name="epic_claims"
    )
    claimed_at = models.DateTimeField()
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["flow_sprint", "scrum_team", "claimed_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["epic", "scrum_team", "flow_sprint"], name="epicclaim_once"
            )
        ]

    def __str__(self):
        return f"{self.scrum_team} claims {self.epic} for {self.flow_sprint}"


class SprintCommitment(models.Model):
    """A story a team planned into a Team Sprint, and how it ended."""

    class Outcome(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CARRIED_OVER = "carried_over", "Carried over"
        DROPPED = "dropped", "Dropped"

    team_sprint = models.ForeignKey(
        TeamSprint, on_delete=models.CASCADE, related_name="commitments"
    )
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="commitments")
    # Points as estimated at planning: predictability compares against these.
    points_at_planning = models.PositiveSmallIntegerField(null=True, blank=True)
    # False for stories pulled in after planning: they count as done, not as committed.
    planned = models.BooleanField(default=True)
    outcome = models.CharField(max_length=14, choices=Outcome.choices, default=Outcome.OPEN)
    committed_at = models.DateTimeField()
    committed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["team_sprint", "committed_at"]
        constraints = [
            models.UniqueConstraint(fields=["team_sprint", "story"], name="commitment_once")
        ]

    def __str__(self):
        return f"{self.story} ({self.get_outcome_display()})"


class Risk(TimeStampedModel):
    """An entry of the risk register, handled the ROAM way."""

    class Roam(models.TextChoices):
        OPEN = "open", "Open (not yet ROAMed)"
        RESOLVED = "resolved", "Resolved"
        OWNED = "owned", "Owned"
        ACCEPTED = "accepted", "Accepted"
        MITIGATED = "mitigated", "Mitigated"

    class Impact(models.TextChoices):
        LOW = "low", "Low"
        MEDIUM = "medium", "Medium"
        HIGH = "high", "High"
        CRITICAL = "critical", "Critical"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="risks")
    scrum_team = models.ForeignKey(
        ScrumTeam, on_delete=models.SET_NULL, null=True, blank=True, related_name="risks"
    )
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    impact = models.CharField(max_length=8, choices=Impact.choices, default=Impact.MEDIUM)
    roam = models.CharField("ROAM", max_length=10, choices=Roam.choices, default=Roam.OPEN)
    mitigation = models.TextField("mitigation plan", blank=True)
    dependency = models.ForeignKey(
        Dependency, on_delete=models.SET_NULL, null=True, blank=True, related_name="risks"
    )
    version = models.PositiveIntegerField(default=1)
    # Who saved the current version: a stale save names them.
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["flow_team", "-created_at"]

    def __str__(self):
        return self.title

    @property
    def unmitigated_high(self) -> bool:
        """Planning 2's warning: impact high or critical, not resolved or mitigated, and no
        mitigation plan."""
        return (
            self.impact in (self.Impact.HIGH, self.Impact.CRITICAL)
            and self.roam not in (self.Roam.RESOLVED, self.Roam.MITIGATED)
            and not self.mitigation.strip()
        )


class MetricSnapshot(models.Model):
    """Flow metrics computed by a Celery job; pages and the API only read these."""

    flow_team = models.ForeignKey(
        FlowTeam, on_delete=models.CASCADE, related_name="metric_snapshots"
    )
    # Null = the whole Flow Team.
    scrum_team = models.ForeignKey(
        ScrumTeam, on_delete=models.CASCADE, null=True, blank=True, related_name="metric_snapshots"
    )
    as_of = models.DateField()
    computed_at = models.DateTimeField()
    data = models.JSONField()

    class Meta:
        ordering = ["flow_team", "-as_of"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow_team", "as_of"],
                condition=Q(scrum_team__isnull=True),
                name="snapshot_once_per_flow_team_day",
            ),
            models.UniqueConstraint(
                fields=["flow_team", "scrum_team", "as_of"],
                condition=Q(scrum_team__isnull=False),
                name="snapshot_once_per_scrum_team_day",
            ),
        ]

    def __str__(self):
        return f"metrics {self.as_of}"
