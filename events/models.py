"""Events of a Flow Sprint and what each must produce."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from backlog.models import STORY_POINTS, Epic, Story
from events.kinds import OUTPUTS
from flow.metrics.improvement import CHOICES as IMPROVEMENT_METRICS
from flow.models import FlowSprint
from sem.models import TimeStampedModel
from teams.models import FlowTeam, ScrumTeam


class Event(TimeStampedModel):
    class Kind(models.TextChoices):
        PLANNING_1 = "planning_1", "Flow Sprint Planning 1"
        TEAM_PLANNING = "team_planning", "Team Sprint Planning"
        PLANNING_2 = "planning_2", "Flow Sprint Planning 2"
        DAILY_SCRUM = "daily_scrum", "Daily Scrum"
        SCRUM_OF_SCRUMS = "scrum_of_scrums", "Scrum of Scrums"
        BACKLOG_REFINEMENT = "backlog_refinement", "Product Backlog Refinement"
        ROADMAP_REFINEMENT = "roadmap_refinement", "Product Roadmap Refinement"
        REVIEW = "review", "Flow Sprint Review"
        TEAM_RETRO = "team_retro", "Team Sprint Retrospective"
        FLOW_RETRO = "flow_retro", "Flow Sprint Retrospective"

    class Level(models.TextChoices):
        FLOW = "flow", "Flow"
        TEAM = "team", "Team"

    class State(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="events")
    flow_sprint = models.ForeignKey(FlowSprint, on_delete=models.CASCADE, related_name="events")
    scrum_team = models.ForeignKey(
        ScrumTeam, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.CharField(max_length=4, choices=Level.choices)
    # Which occurrence of this kind within the sprint (Daily Scrum 1..n, weekly
    # SoS 1..k); with kind, sprint and team it makes the schedule idempotent.
    occurrence = models.PositiveSmallIntegerField(default=1)
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField()
    facilitator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    participant_roles = models.JSONField(default=list, blank=True)
    inputs = models.TextField(blank=True)
    outputs = models.TextField(blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.SCHEDULED)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # What the facilitator recorded, per expected output of the kind (events/kinds.py):
    # {slug: text}. ``outputs_version`` lets a second writer's stale form come back intact.
    recorded_outputs = models.JSONField(default=dict, blank=True)
    outputs_version = models.PositiveIntegerField(default=0)
    outputs_recorded_at = models.DateTimeField(null=True, blank=True)
    outputs_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Set when the CSM moved or cancelled it: the cadence job leaves it alone.
    rescheduled_by_hand = models.BooleanField(default=False)

    class Meta:
        ordering = ["starts_at", "kind"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow_sprint", "kind", "occurrence"],
                condition=Q(scrum_team__isnull=True),
                name="flow_event_once",
            ),
            models.UniqueConstraint(
                fields=["flow_sprint", "kind", "scrum_team", "occurrence"],
                condition=Q(scrum_team__isnull=False),
                name="team_event_once",
            ),
            models.CheckConstraint(
                condition=Q(level="flow", scrum_team__isnull=True)
                | Q(level="team", scrum_team__isnull=False),
                name="team_events_name_their_team",
            ),
            models.CheckConstraint(condition=Q(duration_minutes__gte=5), name="event_duration_min"),
            models.CheckConstraint(
                condition=~Q(state="running") | Q(started_at__isnull=False),
                name="running_event_has_started",
            ),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True)
                | (Q(started_at__isnull=False) & Q(ended_at__gte=models.F("started_at"))),
                name="event_ends_after_it_started",
            ),
        ]
        indexes = [models.Index(fields=["flow_team", "starts_at"])]

    def __str__(self):
        team = f" ({self.scrum_team})" if self.scrum_team_id else ""
        return f"{self.get_kind_display()}{team}"

    @property
    def expected_outputs(self) -> list[dict]:
        """What this kind of event must produce, each with what was recorded for it."""
        recorded = self.recorded_outputs or {}
        return [
            {"slug": slug, "label": label, "text": recorded.get(slug, "")}
            for slug, label in OUTPUTS.get(self.kind, [])
        ]

    @property
    def ends_at(self):
        from datetime import timedelta

        return self.starts_at + timedelta(minutes=self.duration_minutes)


class ScrumOfScrumsReport(TimeStampedModel):
    """One team's answers to the five Scrum of Scrums questions at one meeting."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sos_reports")
    scrum_team = models.ForeignKey(ScrumTeam, on_delete=models.CASCADE, related_name="sos_reports")
    done_since_last = models.TextField(
        "done since we last met that could affect other teams", blank=True
    )
    next_until_next = models.TextField("will do before we meet again", blank=True)
    impediments = models.TextField("impediments that may stop the Sprint Goal", blank=True)
    in_others_way = models.TextField("about to put something in another team's way", blank=True)
    dependencies = models.TextField("new dependencies found, or a way to resolve one", blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)
    # When the draft was prefilled from what happened since the last Scrum of Scrums
    # (events/sos.py); the answers stay a draft until the team's PO or SM (or the CSM)
    # saves them (``submitted_by``).
    drafted_at = models.DateTimeField(null=True, blank=True)

    ANSWERS = (
        "done_since_last",
        "next_until_next",
        "impediments",
        "in_others_way",
        "dependencies",
    )

    class Meta:
        ordering = ["event", "scrum_team"]
        constraints = [
            models.UniqueConstraint(fields=["event", "scrum_team"], name="sos_report_once_per_team")
        ]

    def __str__(self):
        return f"{self.scrum_team} at {self.event}"


class ActionItem(TimeStampedModel):
    """An action plan from a Scrum of Scrums or a retrospective: an improvement item, with
    owner and due date, open until done (when and by whom), of a Scrum Team or Flow-level."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="action_items")
    text = models.CharField(max_length=300)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    done = models.BooleanField(default=False)
    # When it was closed, and by whom: the age of a closed item stops there.
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The Scrum Team it is for; none = a Flow-level item.
    scrum_team = models.ForeignKey(
        ScrumTeam, on_delete=models.SET_NULL, null=True, blank=True, related_name="action_items"
    )
    # Every action item is an improvement item (domain.md): a Flow-level one is listed in
    # the Flow Backlog, a team's in its team's backlog, in this order (1 first).
    priority = models.PositiveIntegerField(default=1)
    # The flow metric it should move, and its value when the item was raised (from the
    # newest metric snapshot of the item's scope then): the item shows it beside today's.
    metric = models.CharField(max_length=20, choices=IMPROVEMENT_METRICS, blank=True, default="")
    metric_before = models.FloatField(null=True, blank=True)
    metric_before_as_of = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["event", "done", "due_date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(done=False, done_at__isnull=True) | Q(done=True, done_at__isnull=False),
                name="action_item_done_when_closed",
            ),
            # A value "before" belongs to a named metric, and has the day it was read.
            models.CheckConstraint(
                condition=Q(metric_before__isnull=True)
                | (~Q(metric="") & Q(metric_before_as_of__isnull=False)),
                name="action_item_metric_before_named",
            ),
            models.CheckConstraint(
                condition=Q(metric="") | Q(metric__in=[key for key, _ in IMPROVEMENT_METRICS]),
                name="action_item_metric_known",
            ),
        ]
        indexes = [
            models.Index(fields=["event", "done"]),
            models.Index(fields=["done", "scrum_team", "priority"], name="improvement_backlog"),
        ]

    def __str__(self):
        return self.text


class DailyScrumNote(TimeStampedModel):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="daily_notes")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    yesterday = models.TextField("done yesterday", blank=True)
    today = models.TextField("doing today", blank=True)
    impediments = models.TextField(blank=True)

    class Meta:
        ordering = ["event", "person"]
        constraints = [
            models.UniqueConstraint(fields=["event", "person"], name="daily_note_once_per_person")
        ]


class Retrospective(TimeStampedModel):
    class Format(models.TextChoices):
        START_STOP_CONTINUE = "ssc", "Start / Stop / Continue"
        FOUR_LS = "4ls", "4Ls (Liked, Learned, Lacked, Longed for)"
        MAD_SAD_GLAD = "msg", "Mad / Sad / Glad"

    class Phase(models.TextChoices):
        COLLECT = "collect", "Collect cards"
        GROUP = "group", "Group"
        VOTE = "vote", "Vote"
        DISCUSS = "discuss", "Discuss and act"
        CLOSED = "closed", "Closed"

    COLUMNS = {
        "ssc": ["Start", "Stop", "Continue"],
        "4ls": ["Liked", "Learned", "Lacked", "Longed for"],
        "msg": ["Mad", "Sad", "Glad"],
    }

    event = models.OneToOneField(Event, on_delete=models.CASCADE, related_name="retrospective")
    format = models.CharField(
        max_length=3, choices=Format.choices, default=Format.START_STOP_CONTINUE
    )
    votes_per_person = models.PositiveSmallIntegerField(default=3)
    phase = models.CharField(max_length=8, choices=Phase.choices, default=Phase.COLLECT)
    # Anonymous: a card keeps no author, only ``RetroCard.author_key`` (a keyed hash the
    # server compares to keep "my own cards" editable); no page shows who wrote it.
    anonymous = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(votes_per_person__gte=1, votes_per_person__lte=20),
                name="retro_votes_1_20",
            )
        ]

    def __str__(self):
        return f"Retro of {self.event}"

    @property
    def columns(self) -> list[str]:
        return self.COLUMNS[self.format]


class RetroCard(TimeStampedModel):
    retrospective = models.ForeignKey(Retrospective, on_delete=models.CASCADE, related_name="cards")
    column = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=500)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # HMAC of (retro, person) with the secret key: compared server-side only, never shown.
    author_key = models.CharField(max_length=64, blank=True, default="")
    # Cards grouped together point at the group's first card.
    group = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="grouped"
    )

    class Meta:
        ordering = ["retrospective", "column", "created_at"]

    def __str__(self):
        return self.text


class RetroVote(models.Model):
    """One dot. A person may put several dots on a card, up to the retro's limit in all."""

    card = models.ForeignKey(RetroCard, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cast_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["card", "cast_at"]

    def __str__(self):
        return f"vote on {self.card_id}"


class ReviewFeedback(TimeStampedModel):
    """Feedback at a Flow Sprint Review, possibly turned into a backlog item."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="feedback")
    story = models.ForeignKey(
        Story, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    epic = models.ForeignKey(
        Epic, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    backlog_story = models.ForeignKey(
        Story,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The backlog item this feedback was turned into.",
    )

    class Meta:
        ordering = ["event", "created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(story__isnull=True) | Q(epic__isnull=True),
                name="review_feedback_on_story_or_epic",
            )
        ]

    def __str__(self):
        return self.text[:80]


class ReviewDemoSlot(models.Model):
    """The order in which the Scrum Teams show their done stories at a Flow Sprint Review:
    position 1 shows first. Set by the CSM; teams without a slot follow by number."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="demo_slots")
    scrum_team = models.ForeignKey(ScrumTeam, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["event", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "scrum_team"], name="review_slot_once_per_team"
            ),
            models.UniqueConstraint(fields=["event", "position"], name="review_slot_position_once"),
            models.CheckConstraint(condition=Q(position__gte=1), name="review_slot_position_min"),
        ]

    def __str__(self):
        return f"{self.position}. {self.scrum_team_id} at {self.event_id}"


class CalendarFeed(models.Model):
    """A secret iCalendar feed URL a person subscribes to in their calendar program."""

    class Scope(models.TextChoices):
        PERSONAL = "personal", "My events"
        TEAM = "team", "My Scrum Team"
        FLOW = "flow", "Whole Flow Team"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    flow_team = models.ForeignKey(FlowTeam, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=8, choices=Scope.choices)
    scrum_team = models.ForeignKey(
        ScrumTeam, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "flow_team", "scope"], name="calendar_feed_once"
            )
        ]

    def __str__(self):
        return f"{self.get_scope_display()} feed of {self.user}"


# --- Planning poker (Product Backlog Refinement) ------------------------------------

# The cards of planning poker: the story point scale, and "?" for "I cannot estimate it yet".
POKER_VALUES = [*(str(p) for p in STORY_POINTS), "?"]


class PokerRound(TimeStampedModel):
    """One estimation of one story at a Product Backlog Refinement: the team votes
    privately, the votes are revealed together, the team agrees a value (saved on the
    story). A re-vote closes the round and opens the next one on the same story."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="poker_rounds")
    story = models.ForeignKey(Story, on_delete=models.CASCADE, related_name="+")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    opened_at = models.DateTimeField()
    revealed_at = models.DateTimeField(null=True, blank=True)
    agreed_points = models.PositiveSmallIntegerField(null=True, blank=True)
    agreed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed = models.BooleanField(default=False)

    class Meta:
        ordering = ["event", "opened_at", "pk"]
        constraints = [
            # The room estimates one story at a time.
            models.UniqueConstraint(
                fields=["event"], condition=Q(closed=False), name="poker_one_open_round"
            ),
            models.CheckConstraint(
                condition=Q(agreed_points__isnull=True) | Q(agreed_points__in=STORY_POINTS),
                name="poker_agreed_on_scale",
            ),
            # A value is agreed only on revealed votes.
            models.CheckConstraint(
                condition=Q(agreed_points__isnull=True) | Q(revealed_at__isnull=False),
                name="poker_agreed_after_reveal",
            ),
        ]

    def __str__(self):
        return f"Poker on {self.story_id} at {self.event_id}"


class PokerVote(models.Model):
    """One person's card in a round; changed freely until the reveal, never after."""

    round = models.ForeignKey(PokerRound, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    value = models.CharField(max_length=3)
    cast_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["round", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["round", "voter"], name="poker_vote_once"),
            models.CheckConstraint(condition=Q(value__in=POKER_VALUES), name="poker_vote_on_scale"),
        ]

    def __str__(self):
        return f"Vote in round {self.round_id}"
