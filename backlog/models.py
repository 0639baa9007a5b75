"""The Flow Backlog: Product Goal, milestones, epics, stories and their history."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from sem.models import TimeStampedModel
from teams.models import FlowTeam, ScrumTeam

# Relative sizing scale of WSJF inputs (modified Fibonacci, as SAFe uses it).
WSJF_SCALE = [1, 2, 3, 5, 8, 13, 20]
STORY_POINTS = [0, 1, 2, 3, 5, 8, 13, 20, 40, 100]


class ProductGoal(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        ACHIEVED = "achieved", "Achieved"
        ABANDONED = "abandoned", "Abandoned"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="product_goals")
    statement = models.TextField()
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow_team"], condition=Q(status="active"), name="one_active_product_goal"
            )
        ]

    def __str__(self):
        return self.statement[:80]


class Milestone(TimeStampedModel):
    """A bimonthly roadmap checkpoint with a measurable objective."""

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="milestones")
    name = models.CharField(max_length=120)
    objective = models.TextField(help_text="What must be measurably true at the end date.")
    start = models.DateField()
    end = models.DateField()
    # Gap-based like epic ranks (backlog/ranking.py): a reorder writes one row.
    order = models.PositiveIntegerField()
    # A closed milestone stays on the roadmap with its epics (what was planned and what was
    # missed stays visible at the refinement); no epic moves into it any more.
    closed_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["flow_team", "order"]
        constraints = [
            models.UniqueConstraint(fields=["flow_team", "order"], name="milestone_order_unique"),
            models.CheckConstraint(
                condition=Q(end__gt=F("start")), name="milestone_ends_after_start"
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def span_weeks(self) -> float:
        return (self.end - self.start).days / 7

    @property
    def span_warning(self) -> str:
        """Bimonthly is the recommendation (8-10 weeks); outside it is allowed but flagged."""
        if not 8 <= self.span_weeks <= 10:
            return f"spans {self.span_weeks:.1f} weeks; 8-10 weeks (bimonthly) is recommended"
        return ""


class Epic(TimeStampedModel):
    class State(models.TextChoices):
        FUNNEL = "funnel", "Funnel"
        READY = "ready", "Ready"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    class Feasibility(models.TextChoices):
        UNASSESSED = "unassessed", "Unassessed"
        FEASIBLE = "feasible", "Feasible"
        CONCERNS = "concerns", "Concerns"
        INFEASIBLE = "infeasible", "Infeasible"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="epics")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    acceptance_conditions = models.TextField(blank=True)
    milestone = models.ForeignKey(
        Milestone, on_delete=models.SET_NULL, null=True, blank=True, related_name="epics"
    )
    # Total order within the Flow Team; gaps let one move write one row.
    rank = models.BigIntegerField()
    business_value = models.PositiveSmallIntegerField(default=1)
    time_criticality = models.PositiveSmallIntegerField(default=1)
    risk_reduction = models.PositiveSmallIntegerField(
        default=1, help_text="Risk reduction / opportunity enablement."
    )
    job_size = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(max_length=12, choices=State.choices, default=State.FUNNEL)
    feasibility = models.CharField(
        max_length=12, choices=Feasibility.choices, default=Feasibility.UNASSESSED
    )
    feasibility_note = models.TextField(blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["flow_team", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["flow_team", "rank"], name="epic_rank_unique"),
            models.CheckConstraint(
                condition=Q(
                    business_value__in=WSJF_SCALE,
                    time_criticality__in=WSJF_SCALE,
                    risk_reduction__in=WSJF_SCALE,
                    job_size__in=WSJF_SCALE,
                ),
                name="epic_wsjf_on_scale",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def cost_of_delay(self) -> int:
        return self.business_value + self.time_criticality + self.risk_reduction

    @property
    def wsjf(self) -> float:
        return round(self.cost_of_delay / self.job_size, 2)


class Story(TimeStampedModel):
    class State(models.TextChoices):
        BACKLOG = "backlog", "Backlog"
        READY = "ready", "Ready"
        IN_PROGRESS = "in_progress", "In progress"
        IN_REVIEW = "in_review", "In review"
        DONE = "done", "Done"

    class Kind(models.TextChoices):
        FEATURE = "feature", "Feature"
        DEFECT = "defect", "Defect"
        DEBT = "debt", "Debt"
        RISK = "risk", "Risk"

    # Denormalized from scrum_team so every query scopes by Flow Team first.
    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="stories")
    scrum_team = models.ForeignKey(ScrumTeam, on_delete=models.PROTECT, related_name="stories")
    epic = models.ForeignKey(
        Epic, on_delete=models.SET_NULL, null=True, blank=True, related_name="stories"
    )
    title = models.CharField(max_length=200)
    as_a = models.CharField("as a", max_length=200, blank=True)
    i_want = models.TextField("I want", blank=True)
    so_that = models.TextField("so that", blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.FEATURE)
    points = models.PositiveSmallIntegerField(null=True, blank=True)
    rank = models.BigIntegerField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_stories",
    )
    state = models.CharField(max_length=12, choices=State.choices, default=State.BACKLOG)
    blocked = models.BooleanField(default=False)
    blocked_reason = models.CharField(max_length=300, blank=True)
    # Bumped by every write; the API's ETag and If-Match compare against it.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["scrum_team", "rank"]
        verbose_name_plural = "stories"
        constraints = [
            models.UniqueConstraint(fields=["scrum_team", "rank"], name="story_rank_unique"),
            models.CheckConstraint(
                condition=Q(points__isnull=True) | Q(points__in=STORY_POINTS),
                name="story_points_on_scale",
            ),
            models.CheckConstraint(
                condition=Q(blocked=False) | ~Q(blocked_reason=""),
                name="blocked_story_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["flow_team", "state"]),
            models.Index(fields=["flow_team", "updated_at"]),
            # The API's list order: a page of 200 is read in order, not sorted from 6,000.
            models.Index(fields=["flow_team", "scrum_team", "rank"]),
        ]

    def __str__(self):
        return self.title

    STARTED_STATES = frozenset({State.IN_PROGRESS, State.IN_REVIEW, State.DONE})

    @property
    def narrative(self) -> str:
        if not (self.as_a or self.i_want):
            return ""
        text = f"As {self.as_a}, I want {self.i_want}"
        return f"{text} so that {self.so_that}" if self.so_that else text


class AcceptanceCriterion(models.Model):
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="criteria")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=500)
    checked = models.BooleanField(default=False)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    checked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["story", "position"]
        verbose_name_plural = "acceptance criteria"
        constraints = [
            models.UniqueConstraint(fields=["story", "position"], name="criterion_position_unique")
        ]

    def __str__(self):
        return self.text


class Task(TimeStampedModel):
    """A piece of a story, taken at Team Sprint Planning."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(max_length=200)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["story", "created_at", "id"]

    def __str__(self):
        return self.title


class Blocker(models.Model):
    """A period during which a story was blocked; flow efficiency subtracts these."""

    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="blockers")
    reason = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    raised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["story", "raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["story"], condition=Q(cleared_at__isnull=True), name="one_open_blocker"
            ),
            models.CheckConstraint(
                condition=Q(cleared_at__isnull=True) | Q(cleared_at__gte=F("raised_at")),
                name="blocker_cleared_after_raised",
            ),
        ]

    def __str__(self):
        return self.reason


class Dependency(TimeStampedModel):
    """One item needs another, usually across Scrum Teams."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        BROKEN = "broken", "Broken"

    class Contract(models.TextChoices):
        REQUESTED = "requested", "Requested"
        COMMITTED = "committed", "Committed"
        COUNTERED = "countered", "Counter-proposed"
        ACCEPTED = "accepted", "Counter-proposal accepted"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="dependencies")
    from_story = models.ForeignKey(
        Story, on_delete=models.CASCADE, null=True, blank=True, related_name="dependencies_out"
    )
    from_epic = models.ForeignKey(
        Epic, on_delete=models.CASCADE, null=True, blank=True, related_name="dependencies_out"
    )
    to_story = models.ForeignKey(
        Story, on_delete=models.CASCADE, null=True, blank=True, related_name="dependencies_in"
    )
    to_epic = models.ForeignKey(
        Epic, on_delete=models.CASCADE, null=True, blank=True, related_name="dependencies_in"
    )
    # Points up to the flow layer by string reference only (no import).
    needed_by = models.ForeignKey(
        "flow.FlowSprint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    description = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    # The contract between the requesting and the providing team (DependencyStep holds
    # each step): the provider commits to a Flow Sprint or counter-proposes one, the
    # requester accepts the counter-proposal or re-negotiates (a new needed-by sprint).
    contract = models.CharField(max_length=10, choices=Contract.choices, default=Contract.REQUESTED)
    # The providing team's promise (committed, or a counter-proposal accepted).
    committed_sprint = models.ForeignKey(
        "flow.FlowSprint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The provider's counter-proposal, waiting for the requester.
    proposed_sprint = models.ForeignKey(
        "flow.FlowSprint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["flow_team", "-created_at"]
        verbose_name_plural = "dependencies"
        constraints = [
            models.CheckConstraint(
                condition=Q(contract__in=["requested", "committed", "countered", "accepted"]),
                name="dependency_contract_known",
            ),
            models.CheckConstraint(
                condition=(
                    Q(from_story__isnull=False, from_epic__isnull=True)
                    | Q(from_story__isnull=True, from_epic__isnull=False)
                ),
                name="dependency_one_source",
            ),
            models.CheckConstraint(
                condition=(
                    Q(to_story__isnull=False, to_epic__isnull=True)
                    | Q(to_story__isnull=True, to_epic__isnull=False)
                ),
                name="dependency_one_target",
            ),
        ]

    def __str__(self):
        return f"{self.source} → {self.target}"

    @property
    def source(self):
        return self.from_story or self.from_epic

    @property
    def target(self):
        return self.to_story or self.to_epic


class DependencyStep(models.Model):
    """Append-only record of a dependency's contract: who did what, when, with which
    Flow Sprint and an optional note. Never edited."""

    class Kind(models.TextChoices):
        RAISED = "raised", "Raised"
        COMMITTED = "committed", "Committed"
        COUNTERED = "countered", "Counter-proposed"
        ACCEPTED = "accepted", "Accepted"
        RENEGOTIATED = "renegotiated", "Re-negotiated"

    dependency = models.ForeignKey(Dependency, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    # Raised or re-negotiated: the needed-by sprint; committed, countered, accepted: the
    # sprint committed to, proposed or accepted.
    flow_sprint = models.ForeignKey(
        "flow.FlowSprint", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.TextField(blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind__in=["raised", "committed", "countered", "accepted", "renegotiated"]
                ),
                name="dependencystep_kind_known",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.at:%Y-%m-%d %H:%M}"


class StateChange(models.Model):
    """Append-only history of state changes of stories and epics. Never edited.

    Cycle time, lead time and cumulative flow are computed from it.
    """

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="state_changes")
    story = models.ForeignKey(
        Story, on_delete=models.CASCADE, null=True, blank=True, related_name="history"
    )
    epic = models.ForeignKey(
        Epic, on_delete=models.CASCADE, null=True, blank=True, related_name="history"
    )
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(story__isnull=False, epic__isnull=True)
                    | Q(story__isnull=True, epic__isnull=False)
                ),
                name="statechange_one_item",
            )
        ]
        indexes = [models.Index(fields=["flow_team", "at"])]

    def __str__(self):
        return f"{self.from_state or '∅'} → {self.to_state}"


class RoadmapChange(models.Model):
    """Append-only record of every epic and milestone change. Never edited.

    The roadmap's "changes since the last refinement" reads it. ``before`` and
    ``after`` hold only the fields the change touched."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        RANKED = "ranked", "Ranked"
        MOVED = "moved", "Moved between milestones"
        RESCORED = "rescored", "Re-scored"
        FEASIBILITY = "feasibility", "Feasibility"
        STATE = "state", "State"
        CLOSED = "closed", "Closed"
        EDITED = "edited", "Edited"

    flow_team = models.ForeignKey(
        FlowTeam, on_delete=models.CASCADE, related_name="roadmap_changes"
    )
    epic = models.ForeignKey(
        Epic, on_delete=models.CASCADE, null=True, blank=True, related_name="roadmap_changes"
    )
    milestone = models.ForeignKey(
        Milestone, on_delete=models.CASCADE, null=True, blank=True, related_name="roadmap_changes"
    )
    kind = models.CharField(max_length=12, choices=Kind.choices)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(epic__isnull=False, milestone__isnull=True)
                    | Q(epic__isnull=True, milestone__isnull=False)
                ),
                name="roadmapchange_one_item",
            ),
            models.CheckConstraint(
                condition=Q(
                    kind__in=[
                        "created",
                        "ranked",
                        "moved",
                        "rescored",
                        "feasibility",
                        "state",
                        "closed",
                        "edited",
                    ]
                ),
                name="roadmapchange_kind_known",
            ),
        ]
        indexes = [models.Index(fields=["flow_team", "at"])]

    def __str__(self):
        return f"{self.get_kind_display()}: {self.epic or self.milestone}"
