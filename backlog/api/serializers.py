from django.utils import timezone
from rest_framework import serializers

from backlog.models import (
    STORY_POINTS,
    AcceptanceCriterion,
    Dependency,
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


class CriterionSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    story = ScopedPrimaryKeyRelatedField(scope=stories_of)

    class Meta:
        model = AcceptanceCriterion
        fields = ["id", "story", "position", "text", "checked", "checked_by", "checked_at"]
        read_only_fields = ["position", "checked_by", "checked_at"]


class CriterionCheckSerializer(StrictFieldsMixin, serializers.Serializer):
    checked = serializers.BooleanField()

    read_only_names = ("id", "story", "position", "text", "checked_by", "checked_at")


def _datetime(value, tz):
    """A date-time as DRF writes it: ISO 8601 in the current time zone ``tz``, UTC as ``Z``."""
    if value is None:
        return None
    text = value.astimezone(tz).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _criterion(c: AcceptanceCriterion, tz) -> dict:
    return {
        "id": c.pk,
        "story": c.story_id,
        "position": c.position,
        "text": c.text,
        "checked": c.checked,
        "checked_by": c.checked_by_id,
        "checked_at": _datetime(c.checked_at, tz),
    }


class StorySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A story. On create, `acceptance_criteria` takes the criteria texts in order."""

    def to_representation(self, instance):
        """Written out: the same JSON as the fields below would give (a test compares them
        on every kind of story) in a few microseconds instead of about a millisecond, for
        the PATCH's answer and for each row of a list."""
        story, tz = instance, timezone.get_current_timezone()
        return {
            "id": story.pk,
            "scrum_team": story.scrum_team_id,
            "epic": story.epic_id,
            "title": story.title,
            "as_a": story.as_a,
            "i_want": story.i_want,
            "so_that": story.so_that,
            "kind": story.kind,
            "points": story.points,
            "rank": story.rank,
            "assignee": story.assignee_id,
            "state": story.state,
            "blocked": story.blocked,
            "blocked_reason": story.blocked_reason,
            "version": story.version,
            "criteria": [_criterion(c, tz) for c in story.criteria.all()],
            "created_at": _datetime(story.created_at, tz),
            "updated_at": _datetime(story.updated_at, tz),
        }

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
    reason = serializers.CharField(max_length=300)


class TaskSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    story = ScopedPrimaryKeyRelatedField(scope=stories_of)
    assignee = ScopedPrimaryKeyRelatedField(scope=members_of, allow_null=True, required=False)

    class Meta:
        model = Task
        fields = ["id", "story", "title", "assignee", "done", "created_at", "updated_at"]
        read_only_fields = ["created_at", "updated_at"]


class TaskUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    assignee = ScopedPrimaryKeyRelatedField(scope=members_of, allow_null=True, required=False)
    done = serializers.BooleanField(required=False)

    read_only_names = ("id", "story", "created_at", "updated_at")


class EpicSerializer(StrictFieldsMixin, serializers.ModelSerializer):
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


class EpicUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    title = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    acceptance_conditions = serializers.CharField(required=False, allow_blank=True)
    milestone = ScopedPrimaryKeyRelatedField(scope=milestones_of, allow_null=True, required=False)
    business_value = serializers.IntegerField(required=False)
    time_criticality = serializers.IntegerField(required=False)
    risk_reduction = serializers.IntegerField(required=False)
    job_size = serializers.IntegerField(required=False)
    feasibility = serializers.ChoiceField(choices=Epic.Feasibility.choices, required=False)
    feasibility_note = serializers.CharField(required=False, allow_blank=True)
    state = serializers.ChoiceField(choices=Epic.State.choices, required=False)

    read_only_names = ("id", "rank", "cost_of_delay", "wsjf", "version", "created_at", "updated_at")


class DependencySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    from_story = ScopedPrimaryKeyRelatedField(scope=stories_of, allow_null=True, required=False)
    from_epic = ScopedPrimaryKeyRelatedField(scope=epics_of, allow_null=True, required=False)
    to_story = ScopedPrimaryKeyRelatedField(scope=stories_of, allow_null=True, required=False)
    to_epic = ScopedPrimaryKeyRelatedField(scope=epics_of, allow_null=True, required=False)

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
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["needed_by", "state", "version", "created_at", "updated_at"]

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
    state = serializers.ChoiceField(choices=Dependency.State.choices, required=False)
    description = serializers.CharField(required=False, allow_blank=True)

    read_only_names = (
        "id",
        "from_story",
        "from_epic",
        "to_story",
        "to_epic",
        "needed_by",
        "version",
        "created_at",
        "updated_at",
    )


class ProductGoalSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductGoal
        fields = ["id", "statement", "target_date", "status", "created_at"]


class MilestoneSerializer(serializers.ModelSerializer):
    span_warning = serializers.CharField(read_only=True)

    class Meta:
        model = Milestone
        fields = ["id", "name", "objective", "start", "end", "order", "span_warning"]


class RoadmapChangeSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoadmapChange
        fields = ["id", "kind", "epic", "milestone", "before", "after", "at", "by"]
