"""The shapes of the metrics report and of a chart's table, as the API documents them.

``flow.metrics.report`` builds plain dicts; these serializers only describe them (the
schema, and so every generated client, has a type for each part). The schemathesis run
validates real reports against them, so a shape changed in ``flow.metrics`` and not here
fails the suite."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backlog.models import Story
from flow.metrics import report
from flow.metrics.figures import PERCENTILES
from flow.metrics.items import STATES

QUESTION_KINDS = ("when", "how_many")


def _keyed(name: str, doc: str, keys, field) -> type[serializers.Serializer]:
    """A serializer whose properties are data keys ("50", "feature", "backlog" …)."""
    fields = {key: field() for key in keys}
    return type(name, (serializers.Serializer,), {"__doc__": doc, "__module__": __name__, **fields})


def _days():
    return serializers.ListField(child=serializers.DateField())


def _counts():
    return serializers.ListField(child=serializers.IntegerField())


def _by_percentile(name: str, doc: str, field=None) -> type[serializers.Serializer]:
    """Keyed by confidence p (50, 70, 85, 95); a whole number, or null, by default."""
    return _keyed(name, doc, map(str, PERCENTILES), field or _maybe_number)


def _maybe_number():
    return serializers.IntegerField(allow_null=True)


Percentiles = _by_percentile(
    "MetricsPercentiles",
    "Nearest-rank percentiles in days, keyed by p; null with no items. "
    "The 85th is the service level expectation.",
)
WhenDone = _by_percentile(
    "MetricsWhenDone",
    "Days from `as_of` (1 = the day after) by which the items are done, at each "
    "confidence p; null past the forecast's horizon.",
)
WhenDates = _by_percentile(
    "MetricsWhenDates",
    "The same answers as calendar dates; null past the forecast's horizon.",
    lambda: serializers.DateField(allow_null=True),
)
HowMany = _by_percentile(
    "MetricsHowMany",
    "How many stories are finished by the date, at each confidence p (the higher p, the "
    "safer and smaller the number); null past the forecast's horizon.",
)
HowManyTable = _by_percentile(
    "MetricsHowManyTable",
    "For each confidence p, the stories finished by each day of the horizon (day 1 first).",
    _counts,
)
KindCounts = _keyed(
    "MetricsKindCounts", "Finished stories per kind.", Story.Kind.values, serializers.IntegerField
)
StateCounts = _keyed(
    "MetricsStateCounts", "Stories in each state on each day of `dates`.", STATES, _counts
)


class MetricsRangeSerializer(serializers.Serializer):
    """The range the figures cover, cut to the history the snapshot holds."""

    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField(
        help_text="Days of history in the range; 0: every series is empty."
    )
    first_day = serializers.DateField(help_text="First day of the stored history.")


class FinishedItemSerializer(serializers.Serializer):
    """A story finished in the range."""

    story = serializers.IntegerField(help_text="The story's id.")
    title = serializers.CharField()
    team = serializers.IntegerField(help_text="Scrum Team number.")
    kind = serializers.ChoiceField(choices=Story.Kind.choices)
    points = serializers.IntegerField(allow_null=True)
    started = serializers.DateField()
    finished = serializers.DateField()
    cycle_time = serializers.IntegerField(help_text="Days, start to finish, both counted.")
    lead_time = serializers.IntegerField(help_text="Days, creation to finish, both counted.")
    active_hours = serializers.FloatField(help_text="Hours in progress or review, not blocked.")
    span_hours = serializers.FloatField(help_text="Hours from start to finish.")


class CycleTimeSerializer(serializers.Serializer):
    """Cycle and lead times of the stories finished in the range."""

    items = FinishedItemSerializer(many=True)
    percentiles = Percentiles(help_text="Cycle time percentiles.")
    lead_time_percentiles = Percentiles()


class WeeklyThroughputSerializer(serializers.Serializer):
    """Stories finished in one week."""

    week = serializers.DateField(
        help_text="The week's Monday (the range's first day for the first)."
    )
    throughput = serializers.IntegerField()


class ThroughputSerializer(serializers.Serializer):
    """Stories finished per day and per week."""

    dates = _days()
    daily = _counts()
    weekly = WeeklyThroughputSerializer(many=True)
    total = serializers.IntegerField()


class WipSerializer(serializers.Serializer):
    """Work in progress (started, unfinished stories) at the end of each day."""

    dates = _days()
    daily = _counts()


class CumulativeFlowSerializer(serializers.Serializer):
    """Stories per state at the end of each day."""

    dates = _days()
    states = StateCounts()


class AgingItemSerializer(serializers.Serializer):
    """A started, unfinished story and its age."""

    story = serializers.IntegerField(help_text="The story's id.")
    title = serializers.CharField()
    team = serializers.IntegerField(help_text="Scrum Team number.")
    kind = serializers.ChoiceField(choices=Story.Kind.choices)
    state = serializers.ChoiceField(choices=Story.State.choices)
    started = serializers.DateField()
    age = serializers.IntegerField(help_text="Days since it started, both counted.")
    blocked = serializers.BooleanField()


class AgingSerializer(serializers.Serializer):
    """Work item age of what is in progress, beside the cycle time percentiles."""

    items = AgingItemSerializer(many=True)
    percentiles = Percentiles(help_text="Cycle time percentiles, to compare ages with.")


class FlowEfficiencySerializer(serializers.Serializer):
    """Active time over elapsed time of the stories finished in the range."""

    ratio = serializers.FloatField(allow_null=True, help_text="null when nothing was timed.")
    active_hours = serializers.FloatField()
    span_hours = serializers.FloatField()
    items = serializers.IntegerField(help_text="Stories counted.")


class SprintDistributionSerializer(KindCounts):
    """Stories of each kind finished in one Flow Sprint."""

    number = serializers.IntegerField(help_text="Flow Sprint number.")


class DistributionSerializer(serializers.Serializer):
    """Flow distribution: finished stories per kind, in the range and per Flow Sprint."""

    total = KindCounts()
    sprints = SprintDistributionSerializer(many=True)


class TeamPredictabilitySerializer(serializers.Serializer):
    """Points a Scrum Team committed to at planning and finished."""

    committed = serializers.IntegerField()
    done = serializers.IntegerField()
    ratio = serializers.FloatField(allow_null=True, help_text="done / committed; null: none.")


class SprintPredictabilitySerializer(TeamPredictabilitySerializer):
    """Predictability of the Flow Sprint, overall and per Scrum Team number."""

    teams = serializers.DictField(child=TeamPredictabilitySerializer())


class SprintFiguresSerializer(serializers.Serializer):
    """One Flow Sprint's figures."""

    number = serializers.IntegerField()
    start = serializers.DateField()
    end = serializers.DateField()
    state = serializers.CharField(help_text="planned, active or closed.")
    throughput = serializers.IntegerField()
    distribution = KindCounts()
    velocity = serializers.DictField(
        child=serializers.IntegerField(), help_text="Points finished per Scrum Team number."
    )
    predictability = SprintPredictabilitySerializer()
    predictable = serializers.BooleanField(
        allow_null=True, help_text="Inside `predictability_band`; null when nothing was committed."
    )


class PredictabilityBandSerializer(serializers.Serializer):
    """The healthy band of flow predictability."""

    low = serializers.FloatField()
    high = serializers.FloatField()


class ForecastWindowSerializer(serializers.Serializer):
    """The finished days of history the forecast resamples."""

    start = serializers.DateField()
    end = serializers.DateField()
    days = serializers.IntegerField()
    finished = serializers.IntegerField(help_text="Stories finished in the window.")
    usual_days = serializers.IntegerField()
    short = serializers.BooleanField(help_text="The history was shorter than `usual_days`.")


class ForecastQuestionSerializer(serializers.Serializer):
    """A question the forecast answers by itself: `when` (the Flow Sprint's committed
    stories: `items`, `days`, `dates`) or `how_many` (by the end of a Flow Sprint: `date`,
    `counts`)."""

    kind = serializers.ChoiceField(choices=QUESTION_KINDS)
    label = serializers.CharField()
    items = serializers.IntegerField(required=False)
    days = WhenDone(required=False)
    dates = WhenDates(required=False)
    date = serializers.DateField(required=False)
    counts = HowMany(required=False)


class MilestoneChanceSerializer(serializers.Serializer):
    """The chance that a milestone's unfinished stories are done by its end."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    end = serializers.DateField()
    remaining = serializers.IntegerField()
    epics = serializers.IntegerField()
    epics_without_stories = serializers.IntegerField()
    chance = serializers.FloatField(help_text="0 to 1.")


class ForecastSerializer(serializers.Serializer):
    """Monte Carlo forecast from the daily throughput of `window`."""

    window = ForecastWindowSerializer()
    trials = serializers.IntegerField()
    seed = serializers.IntegerField()
    horizon_days = serializers.IntegerField()
    reliable = serializers.BooleanField(help_text="Enough stories finished in the window.")
    how_many = HowManyTable(allow_null=True, help_text="null when nothing finished.")
    questions = ForecastQuestionSerializer(many=True)
    milestones = MilestoneChanceSerializer(many=True)


class WhenAnswerSerializer(serializers.Serializer):
    """When `items` stories will be done."""

    items = serializers.IntegerField()
    dates = WhenDates()


class HowManyAnswerSerializer(serializers.Serializer):
    """How many stories will be done by `date`."""

    date = serializers.DateField()
    counts = HowMany()


class AnswersSerializer(serializers.Serializer):
    """Answers to the `items` and `by` query parameters; each only when asked (and when
    the forecast has a table)."""

    when = WhenAnswerSerializer(required=False)
    how_many = HowManyAnswerSerializer(required=False)


class MetricsReportSerializer(serializers.Serializer):
    """A flow metrics report; every figure follows metrics.md (see `conventions`)."""

    as_of = serializers.DateField(help_text="Figures count up to the end of this day.")
    timezone = serializers.CharField(help_text="The Flow Team's timezone: days are its days.")
    team = serializers.IntegerField(allow_null=True, help_text="Scrum Team number, or null.")
    computed_at = serializers.DateTimeField()
    range = MetricsRangeSerializer()
    cycle_time = CycleTimeSerializer()
    throughput = ThroughputSerializer()
    wip = WipSerializer()
    cumulative_flow = CumulativeFlowSerializer()
    aging = AgingSerializer()
    flow_efficiency = FlowEfficiencySerializer()
    distribution = DistributionSerializer()
    sprints = SprintFiguresSerializer(many=True)
    predictability_band = PredictabilityBandSerializer()
    forecast = ForecastSerializer()
    answers = AnswersSerializer()
    conventions = serializers.DictField(
        child=serializers.CharField(), help_text="How each figure is counted, by name."
    )


@extend_schema_field(
    {
        "oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}],
        "nullable": True,
        "description": "A cell: text, a date, a number, true or false, or null.",
    }
)
class CellField(serializers.Field):
    pass


class MetricsTableSerializer(serializers.Serializer):
    """The numbers behind one chart, as the metrics page's CSV has them."""

    chart = serializers.ChoiceField(choices=report.CHARTS)
    team = serializers.IntegerField(allow_null=True, help_text="Scrum Team number, or null.")
    as_of = serializers.DateField()
    range = MetricsRangeSerializer()
    columns = serializers.ListField(child=serializers.CharField())
    rows = serializers.ListField(
        child=serializers.ListField(child=CellField()), help_text="One value per column."
    )
