from django.utils import timezone
from rest_framework import serializers

from backlog.models import (
    STORY_POINTS,
    WSJF_SCALE,
    AcceptanceCriterion,
    Dependency,
    DependencyStep,
    Epic,
    Milestone,
    ProductGoal,
    RoadmapChange,
    Story,
    Task,
)
from sem.api import StrictFieldsMixin
from sem.api_fields import ScopedPrimaryKeyRelatedField
from teams.models import ScrumTeam, User


def _scope(model, **lookup):
    def scope(actor):
        if actor is None:
            return model.objects.none()
        return model.objects.filter(**{k: v(actor) for k, v in lookup.items()})

    return scope


epics_of = _scope(Epic, flow_team=lambda a: a.flow_team)
stories_of = _scope(Story, flow_team=lambda a: a.flow_team)
scrum_teams_of = _scope(ScrumTeam, flow_team=lambda a: a.flow_team)
members_of = _scope(User, memberships__flow_team=lambda a: a.flow_team)
milestones_of = _scope(Milestone, flow_team=lambda a: a.flow_team)
# The flow layer's model, reached through the string foreign key (backlog imports no flow).
flow_sprints_of = _scope(
    Dependency._meta.get_field("needed_by").related_model, flow_team=lambda a: a.flow_team
)


class CriterionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """An acceptance criterion of a story, in the story's order. Adding or checking one
    changes the story's version (and ETag)."""

    story = ScopedPrimaryKeyRelatedField(scope=stories_of)

    class Meta:
        model = AcceptanceCriterion
        fields = ["id", "story", "position", "text", "checked", "checked_by", "checked_at"]
        read_only_fields = ["position", "checked_by", "checked_at"]


class CriterionCheckSerializer(StrictFieldsMixin, serializers.Serializer):
    """Check or uncheck a criterion."""

    checked = serializers.BooleanField()

    read_only_names = ("id", "story", "position", "text", "checked_by", "checked_at")


def _datetime(value, tz):
    """A date-time as DRF writes it: ISO 8601 in the current time zone ``tz``, UTC as ``Z``."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# A story's and a criterion's JSON, written out from their columns: the same JSON as the
# serializer fields would give (tests compare them on every kind of story) in a few
# microseconds instead of about a millisecond a row. Each key is the JSON name of a column;
# the date-times come last, written as DRF writes them.
STORY_JSON = {
    "id": "id",
    "scrum_team": "scrum_team_id",
    "epic": "epic_id",
    "title": "title",
    "as_a": "as_a",
    "i_want": "i_want",
    "so_that": "so_that",
    "kind": "kind",
    "points": "points",
    "rank": "rank",
    "assignee": "assignee_id",
    "state": "state",
    "blocked": "blocked",
    "blocked_reason": "blocked_reason",
    "version": "version",
}
CRITERION_JSON = {
    "id": "id",
    "story": "story_id",
    "position": "position",
    "text": "text",
    "checked": "checked",
    "checked_by": "checked_by_id",
}
# The columns story_json and criterion_json take, in order.
STORY_JSON_COLUMNS = (*STORY_JSON.values(), "created_at", "updated_at")
CRITERION_JSON_COLUMNS = (*CRITERION_JSON.values(), "checked_at")


def criterion_json(row: tuple, tz) -> dict:
    """A criterion's JSON from its ``CRITERION_JSON_COLUMNS``."""
    body = dict(zip(CRITERION_JSON, row, strict=False))  # checked_at follows
    body["checked_at"] = _datetime(row[-1], tz)
    return body


def story_json(row: tuple, criteria: list[dict], tz) -> dict:
    """A story's JSON from its ``STORY_JSON_COLUMNS`` and its criteria's JSON, in order."""
    body = dict(zip(STORY_JSON, row, strict=False))  # the date-times follow
    body["criteria"] = criteria
    body["created_at"] = _datetime(row[-2], tz)
    body["updated_at"] = _datetime(row[-1], tz)
    return body


def stories_json(rows, criteria: dict[int, list[tuple]]) -> list[dict]:
    """A page of stories' JSON from their ``STORY_JSON_COLUMNS`` and, by story id, their
    criteria's ``CRITERION_JSON_COLUMNS`` in order."""
    tz = timezone.get_current_timezone()
    return [
        story_json(row, [criterion_json(c, tz) for c in criteria.get(row[0], ())], tz)
        for row in rows
    ]


def _columns(instance, names: tuple) -> tuple:
    return tuple(getattr(instance, name) for name in names)


class StorySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A story. On create, `acceptance_criteria` takes the criteria texts in order."""

    def to_representation(self, instance):
        """Written out (``story_json``): a single story, such as the PATCH's answer."""
        tz = timezone.get_current_timezone()
        criteria = [
            criterion_json(_columns(c, CRITERION_JSON_COLUMNS), tz) for c in instance.criteria.all()
        ]
        return story_json(_columns(instance, STORY_JSON_COLUMNS), criteria, tz)

    scrum_team = ScopedPrimaryKeyRelatedField(scope=scrum_teams_of)
    epic = ScopedPrimaryKeyRelatedField(scope=epics_of, allow_null=True, required=False)
    assignee = ScopedPrimaryKeyRelatedField(scope=members_of, allow_null=True, required=False)
    points = serializers.ChoiceField(
        choices=STORY_POINTS,
        allow_null=True,
        required=False,
        help_text="Story points on the scale " + ", ".join(map(str, STORY_POINTS)),
    )
    criteria = CriterionSerializer(many=True, read_only=True)
    acceptance_criteria = serializers.ListField(
        child=serializers.CharField(max_length=500),
        write_only=True,
        required=False,
        max_length=50,
    )

    class Meta:
        model = Story
        fields = [
            "id",
            "scrum_team",
            "epic",
            "title",
            "as_a",
            "i_want",
            "so_that",
            "kind",
            "points",
            "rank",
            "assignee",
            "state",
            "blocked",
            "blocked_reason",
            "version",
            "criteria",
            "acceptance_criteria",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "rank",
            "state",
            "blocked",
            "blocked_reason",
            "version",
            "created_at",
            "updated_at",
        ]


class StoryUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Fields a PATCH may send; `state` moves the story through its workflow."""

    title = serializers.CharField(max_length=200, required=False)
    as_a = serializers.CharField(max_length=200, required=False, allow_blank=True)
    i_want = serializers.CharField(required=False, allow_blank=True)
    so_that = serializers.CharField(required=False, allow_blank=True)
    kind = serializers.ChoiceField(choices=Story.Kind.choices, required=False)
    points = serializers.ChoiceField(choices=STORY_POINTS, allow_null=True, required=False)
    epic = ScopedPrimaryKeyRelatedField(scope=epics_of, allow_null=True, required=False)
    assignee = ScopedPrimaryKeyRelatedField(scope=members_of, allow_null=True, required=False)
    state = serializers.ChoiceField(choices=Story.State.choices, required=False)

    read_only_names = (
        "id",
        "scrum_team",
        "rank",
        "blocked",
        "blocked_reason",
        "version",
        "criteria",
        "acceptance_criteria",
        "created_at",
        "updated_at",
    )


class RankSerializer(StrictFieldsMixin, serializers.Serializer):
    """Where to put the item: right after `after`, right before `before`, or at the top."""

    after = serializers.IntegerField(required=False, allow_null=True)
    before = serializers.IntegerField(required=False, allow_null=True)

    def validate(self, attrs):
        if attrs.get("after") is not None and attrs.get("before") is not None:
            raise serializers.ValidationError({"before": ["send either after or before, not both"]})
        return attrs


class BlockSerializer(StrictFieldsMixin, serializers.Serializer):
    """What blocks the story."""

    reason = serializers.CharField(max_length=300)


class TaskSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A task of a story. Adding one changes the story's version (and ETag)."""

    story = ScopedPrimaryKeyRelatedField(scope=stories_of)
    assignee = ScopedPrimaryKeyRelatedField(scope=members_of, allow_null=True, required=False)

    class Meta:
        model = Task
        fields = ["id", "story", "title", "assignee", "done", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class TaskUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Fields a task's PATCH may send."""

    title = serializers.CharField(max_length=200, required=False)
    assignee = ScopedPrimaryKeyRelatedField(scope=members_of, allow_null=True, required=False)
    done = serializers.BooleanField(required=False)

    read_only_names = ("id", "story", "created_at", "updated_at")


# Named once in the schema (sem/settings.py ENUM_NAME_OVERRIDES: WsjfScaleEnum).
WSJF_CHOICES = [(value, str(value)) for value in WSJF_SCALE]


def _wsjf_input(what: str):
    """A WSJF input on its scale: the schema lists the values a client may send."""
    return serializers.ChoiceField(
        choices=WSJF_CHOICES,
        required=False,
        help_text=f"{what}, on the scale " + ", ".join(map(str, WSJF_SCALE)),
    )


class WsjfInputsSerializer(serializers.Serializer):
    """The four WSJF inputs, declared once for creating and for editing an epic."""

    business_value = _wsjf_input("Business value")
    time_criticality = _wsjf_input("Time criticality")
    risk_reduction = _wsjf_input("Risk reduction / opportunity enablement")
    job_size = _wsjf_input("Job size")


class EpicSerializer(StrictFieldsMixin, WsjfInputsSerializer, serializers.ModelSerializer):
    """An epic on the roadmap, ranked, with its WSJF score
    (`cost_of_delay` / `job_size`)."""

    milestone = ScopedPrimaryKeyRelatedField(scope=milestones_of, allow_null=True, required=False)
    wsjf = serializers.FloatField(read_only=True)
    cost_of_delay = serializers.IntegerField(read_only=True)

    class Meta:
        model = Epic
        fields = [
            "id",
            "title",
            "description",
            "acceptance_conditions",
            "milestone",
            "rank",
            "business_value",
            "time_criticality",
            "risk_reduction",
            "job_size",
            "cost_of_delay",
            "wsjf",
            "state",
            "feasibility",
            "feasibility_note",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["rank", "state", "version", "created_at", "updated_at"]


class EpicUpdateSerializer(StrictFieldsMixin, WsjfInputsSerializer):
    """Fields an epic's PATCH may send; `state` moves it through its workflow."""

    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    acceptance_conditions = serializers.CharField(required=False, allow_blank=True)
    milestone = ScopedPrimaryKeyRelatedField(scope=milestones_of, allow_null=True, required=False)
    feasibility = serializers.ChoiceField(choices=Epic.Feasibility.choices, required=False)
    feasibility_note = serializers.CharField(required=False, allow_blank=True)
    state = serializers.ChoiceField(choices=Epic.State.choices, required=False)

    read_only_names = ("id", "rank", "cost_of_delay", "wsjf", "version", "created_at", "updated_at")


class DependencyStepSerializer(serializers.ModelSerializer):
    """One step of a dependency's contract, oldest first; ``flow_sprint`` is the sprint
    needed by (raised, renegotiated), committed to, proposed or accepted."""

    class Meta:
        model = DependencyStep
        fields = ["id", "kind", "flow_sprint", "note", "at", "by"]
        read_only_fields = fields


class DependencySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A dependency: `from_*` needs `to_*` (name one story or epic on each side), with
    its contract: `contract` is requested, committed, countered or accepted;
    `committed_sprint` the providing team's promise, `proposed_sprint` its
    counter-proposal; `steps` who did what and when."""

    from_story = ScopedPrimaryKeyRelatedField(scope=stories_of, allow_null=True, required=False)
    from_epic = ScopedPrimaryKeyRelatedField(scope=epics_of, allow_null=True, required=False)
    to_story = ScopedPrimaryKeyRelatedField(scope=stories_of, allow_null=True, required=False)
    to_epic = ScopedPrimaryKeyRelatedField(scope=epics_of, allow_null=True, required=False)
    needed_by = ScopedPrimaryKeyRelatedField(scope=flow_sprints_of, allow_null=True, required=False)
    steps = DependencyStepSerializer(many=True, read_only=True)

    class Meta:
        model = Dependency
        fields = [
            "id",
            "from_story",
            "from_epic",
            "to_story",
            "to_epic",
            "needed_by",
            "description",
            "state",
            "contract",
            "committed_sprint",
            "proposed_sprint",
            "steps",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "state",
            "contract",
            "committed_sprint",
            "proposed_sprint",
            "version",
            "created_at",
            "updated_at",
        ]

    def validate(self, attrs):
        errors = {}
        if bool(attrs.get("from_story")) == bool(attrs.get("from_epic")):
            errors["from_story"] = ["name exactly one of from_story and from_epic"]
        if bool(attrs.get("to_story")) == bool(attrs.get("to_epic")):
            errors["to_story"] = ["name exactly one of to_story and to_epic"]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class DependencyUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Fields a dependency's PATCH may send."""

    state = serializers.ChoiceField(choices=Dependency.State.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)

    read_only_names = (
        "id",
        "from_story",
        "from_epic",
        "to_story",
        "to_epic",
        "needed_by",
        "contract",
        "committed_sprint",
        "proposed_sprint",
        "steps",
        "version",
        "created_at",
        "updated_at",
    )


class DependencyPromiseSerializer(StrictFieldsMixin, serializers.Serializer):
    """The providing team's answer: the Flow Sprint it commits to, or proposes instead."""

    flow_sprint = ScopedPrimaryKeyRelatedField(scope=flow_sprints_of)
    note = serializers.CharField(required=False, allow_blank=True)


class DependencyAcceptSerializer(StrictFieldsMixin, serializers.Serializer):
    """The requesting team takes the counter-proposal as it stands."""

    note = serializers.CharField(required=False, allow_blank=True)


class DependencyRenegotiateSerializer(StrictFieldsMixin, serializers.Serializer):
    """The requesting team asks for the item by another Flow Sprint."""

    needed_by = ScopedPrimaryKeyRelatedField(scope=flow_sprints_of)
    note = serializers.CharField(required=False, allow_blank=True)


class ProductGoalSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A Product Goal. Created active (one active goal per Flow Team); `status` changes
    through PATCH."""

    class Meta:
        model = ProductGoal
        fields = ["id", "statement", "target_date", "status", "created_at", "updated_at"]
        read_only_fields = ["status", "created_at", "updated_at"]


class ProductGoalUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Fields a PATCH may send: the CPO edits the goal, or marks it achieved or abandoned."""

    statement = serializers.CharField(required=False)
    target_date = serializers.DateField(required=False, allow_null=True)
    status = serializers.ChoiceField(choices=ProductGoal.Status.choices, required=False)

    read_only_names = ("id", "created_at", "updated_at")


class MilestoneSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A milestone with its progress: points and stories of its epics (cancelled epics left
    out) done over total. Created at the end of the timeline."""

    span_warning = serializers.CharField(read_only=True)
    points_done = serializers.IntegerField(read_only=True)
    points_total = serializers.IntegerField(read_only=True)
    stories_done = serializers.IntegerField(read_only=True)
    stories_total = serializers.IntegerField(read_only=True)

    class Meta:
        model = Milestone
        fields = [
            "id",
            "name",
            "objective",
            "start",
            "end",
            "order",
            "span_warning",
            "closed_at",
            "points_done",
            "points_total",
            "stories_done",
            "stories_total",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["order", "closed_at", "version", "created_at", "updated_at"]


class MilestoneUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Fields a milestone's PATCH may send; the end stays after the start."""

    name = serializers.CharField(max_length=120, required=False)
    objective = serializers.CharField(required=False)
    start = serializers.DateField(required=False)
    end = serializers.DateField(required=False)

    # The representation's other fields are named read-only, not unknown.
    read_only_names = tuple(MilestoneSerializer.Meta.fields)


class EpicRankSerializer(RankSerializer):
    """Where to put the epic, and optionally into which milestone's lane (null: the
    unscheduled lane; left out: it stays where it is)."""

    milestone = ScopedPrimaryKeyRelatedField(scope=milestones_of, allow_null=True, required=False)


class WsjfProposalItemSerializer(StrictFieldsMixin, serializers.Serializer):
    """One epic of the proposal: send it back as it was shown to apply the order."""

    id = serializers.IntegerField(help_text="The epic's id")
    version = serializers.IntegerField(help_text="The epic's version when the proposal was made")
    title = serializers.CharField(read_only=True)
    state = serializers.CharField(read_only=True)
    wsjf = serializers.FloatField(read_only=True)
    current_position = serializers.IntegerField(read_only=True, help_text="1-based, today")

    def to_internal_value(self, data):
        # The proposal goes back as it was shown: what the GET added to each id and
        # version is read and set aside, not refused.
        if isinstance(data, dict):
            shown = {name for name, field in self.fields.items() if field.read_only}
            data = {k: v for k, v in data.items() if k not in shown}
        return super().to_internal_value(data)


class WsjfProposalSerializer(StrictFieldsMixin, serializers.Serializer):
    """Every epic of the Flow Team in the order "rank by WSJF" proposes: open epics by WSJF,
    highest first (ties keep their current order), then done and cancelled ones."""

    proposal = WsjfProposalItemSerializer(many=True, max_length=5000)


class RoadmapChangeSerializer(serializers.ModelSerializer):
    """One recorded change to an epic or milestone: what it was `before` and `after`,
    when and by whom."""

    before = serializers.DictField(
        read_only=True, help_text="The fields that changed, as they were (empty on creation)."
    )
    after = serializers.DictField(read_only=True, help_text="The same fields as they are now.")

    class Meta:
        model = RoadmapChange
        fields = ["id", "kind", "epic", "milestone", "before", "after", "at", "by"]


class WsjfAppliedSerializer(serializers.Serializer):
    """The epics in their new order, each with its new rank and version."""

    epics = EpicSerializer(many=True, read_only=True)
