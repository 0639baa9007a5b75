from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backlog.models import Dependency, Story
from flow import selectors, services
from flow.api.metrics_serializers import MetricsReportSerializer, MetricsTableSerializer
from flow.metrics import CONVENTIONS, report
from flow.models import FlowSprint, Risk, SprintCommitment, TeamSprint
from sem.api import (
    READ_ERRORS,
    VERSIONED_WRITE_ERRORS,
    WRITE_ERRORS,
    IdFilterSet,
    StrictFieldsMixin,
    VersionedObjectMixin,
    expected_version,
)
from sem.api_fields import ScopedPrimaryKeyRelatedField
from sem.errors import NotFound
from teams.api.scope import ActorMixin
from teams.models import ScrumTeam, User
from teams.permissions import can_write_register


def _in_flow_team(model, path="flow_team"):
    return lambda actor: (
        model.objects.none() if actor is None else model.objects.filter(**{path: actor.flow_team})
    )


class FlowSprintSerializer(serializers.ModelSerializer):
    """A Flow Sprint: the Flow Team's synchronized sprint."""

    length_days = serializers.IntegerField(read_only=True)

    class Meta:
        model = FlowSprint
        fields = ["id", "number", "start", "end", "length_days", "goal", "state", "closed_at"]


class CommitmentSerializer(serializers.ModelSerializer):
    """A story a Scrum Team committed to in a Team Sprint, and how it ended."""

    class Meta:
        model = SprintCommitment
        fields = ["id", "story", "points_at_planning", "planned", "outcome", "committed_at"]


class TeamSprintSerializer(serializers.ModelSerializer):
    """One Scrum Team's part of a Flow Sprint: its goal, capacity and commitments."""

    commitments = CommitmentSerializer(many=True, read_only=True)

    class Meta:
        model = TeamSprint
        fields = [
            "id",
            "flow_sprint",
            "scrum_team",
            "goal",
            "capacity_days",
            "capacity_points",
            "commitments",
        ]


class ClaimSerializer(StrictFieldsMixin, serializers.Serializer):
    """The story to commit to."""

    story = ScopedPrimaryKeyRelatedField(scope=_in_flow_team(Story))


class RiskSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A risk of the register, ROAMed: resolved, owned, accepted or mitigated."""

    owner = ScopedPrimaryKeyRelatedField(
        scope=_in_flow_team(User, "memberships__flow_team"), allow_null=True, required=False
    )
    scrum_team = ScopedPrimaryKeyRelatedField(
        scope=_in_flow_team(ScrumTeam), allow_null=True, required=False
    )
    dependency = ScopedPrimaryKeyRelatedField(
        scope=_in_flow_team(Dependency), allow_null=True, required=False
    )

    class Meta:
        model = Risk
        fields = [
            "id",
            "title",
            "description",
            "owner",
            "scrum_team",
            "impact",
            "roam",
            "mitigation",
            "dependency",
            "version",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["version", "created_at", "updated_at"]


class RiskUpdateSerializer(RiskSerializer):
    """Fields a risk's PATCH may send."""

    title = serializers.CharField(max_length=200, required=False)

    class Meta(RiskSerializer.Meta):
        extra_kwargs = {"title": {"required": False}}


@extend_schema_view(
    list=extend_schema(
        summary="Flow Sprints: the synchronized cadence",
        responses={200: FlowSprintSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A Flow Sprint", responses={200: FlowSprintSerializer, **READ_ERRORS}
    ),
)
class FlowSprintViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = FlowSprint
    serializer_class = FlowSprintSerializer
    filterset_fields = ["state", "number"]
    ordering = ["number"]

    def scoped_queryset(self):
        return FlowSprint.objects.filter(flow_team=self.actor.flow_team)


class TeamSprintFilter(IdFilterSet):
    class Meta:
        model = TeamSprint
        fields = ["flow_sprint", "scrum_team"]


@extend_schema_view(
    list=extend_schema(
        summary="Team Sprints with their committed stories",
        responses={200: TeamSprintSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A Team Sprint", responses={200: TeamSprintSerializer, **READ_ERRORS}
    ),
)
class TeamSprintViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = TeamSprint
    serializer_class = TeamSprintSerializer
    filterset_class = TeamSprintFilter
    ordering = ["flow_sprint__number", "scrum_team__number"]

    def scoped_queryset(self):
        return TeamSprint.objects.filter(
            flow_sprint__flow_team=self.actor.flow_team
        ).prefetch_related("commitments")

    @extend_schema(
        summary="Claim a story into this Team Sprint",
        request=ClaimSerializer,
        responses={201: CommitmentSerializer, **WRITE_ERRORS},
    )
    @action(detail=True, methods=["post"])
    def claim(self, request, pk=None):
        team_sprint = self.get_object()
        body = ClaimSerializer(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        commitment = services.story_claim(
            actor=self.actor, team_sprint=team_sprint, story=body.validated_data["story"]
        )
        return Response(CommitmentSerializer(commitment).data, status=201)


@extend_schema_view(
    list=extend_schema(
        summary="The risk register (ROAM)", responses={200: RiskSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A risk (with its ETag)", responses={200: RiskSerializer, **READ_ERRORS}
    ),
    create=extend_schema(summary="Record a risk", responses={201: RiskSerializer, **WRITE_ERRORS}),
    partial_update=extend_schema(
        summary="ROAM or edit a risk",
        request=RiskUpdateSerializer,
        responses={200: RiskSerializer, **VERSIONED_WRITE_ERRORS},
    ),
)
class RiskViewSet(
    ActorMixin,
    VersionedObjectMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    model = Risk
    serializer_class = RiskSerializer
    filterset_fields = ["roam", "impact", "scrum_team", "owner"]
    ordering = ["-created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def scoped_queryset(self):
        return Risk.objects.filter(flow_team=self.actor.flow_team)

    def write_refusal(self, risk):
        if can_write_register(self.actor, risk.scrum_team_id):
            return None
        return "only the CPO, CSM, Architect, or the team's PO and SM edit it"

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        risk = services.risk_create(actor=self.actor, **serializer.validated_data)
        return self.versioned(risk, status_code=201)

    def partial_update(self, request, *args, **kwargs):
        risk = self.get_object()
        version = expected_version(request, risk.version)
        body = RiskUpdateSerializer(
            data=request.data, partial=True, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        risk = services.risk_update(
            actor=self.actor, risk=risk, data=dict(body.validated_data), expected_version=version
        )
        return self.versioned(risk)


class MetricsQuerySerializer(serializers.Serializer):
    scrum_team = serializers.IntegerField(
        required=False, min_value=1, help_text="A Scrum Team's id; without it, the Flow Team."
    )
    start = serializers.DateField(
        required=False, help_text="First day (default: 90 days before as_of)."
    )
    end = serializers.DateField(required=False, help_text="Last day (default: as_of).")
    items = serializers.IntegerField(
        required=False, min_value=1, max_value=100_000, help_text="When will this many be done?"
    )
    by = serializers.DateField(required=False, help_text="How many will be done by this date?")

    def validate(self, data):
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise serializers.ValidationError({"end": ["must be on or after start"]})
        return data


METRICS_PARAMETERS = [MetricsQuerySerializer]


class MetricsRefreshSerializer(serializers.Serializer):
    """The metrics job was asked to run; read the report again in a moment."""

    detail = serializers.CharField()


class MetricsViewSet(ActorMixin, viewsets.ViewSet):
    """Flow metrics read from the stored snapshots (never computed in the request)."""

    lookup_field = "chart"
    lookup_value_regex = "|".join(report.CHARTS)
    query_parameters = (MetricsQuerySerializer,)

    def _report(self, request):
        # A plain dict: from a QueryDict, DRF would read "?start=" as "not sent".
        query = MetricsQuerySerializer(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        params = query.validated_data
        try:
            found = selectors.metrics_report(
                actor=self.actor,
                team_id=params.get("scrum_team"),
                start=params.get("start"),
                end=params.get("end"),
            )
        except NotFound as missing:
            # A filter naming a team the caller cannot see is bad input, like any other.
            raise serializers.ValidationError({"scrum_team": [str(missing)]}) from missing
        if found is None:
            raise NotFound(selectors.NOT_COMPUTED)
        return found, params

    @extend_schema(
        operation_id="v1_metrics_report",
        summary="Flow metrics of the Flow Team or one Scrum Team over a date range",
        description="Cycle and lead time with percentiles (the 85th is the SLE), throughput, "
        "WIP, cumulative flow, aging work in progress, flow efficiency, flow distribution, "
        "velocity and predictability per Flow Sprint, and Monte Carlo forecasts, from the "
        "newest snapshot the metrics job stored. 404 until the job has run once.",
        parameters=METRICS_PARAMETERS,
        responses={200: MetricsReportSerializer, **READ_ERRORS},
    )
    def list(self, request):
        found, params = self._report(request)
        answers = report.answer(found, items=params.get("items"), by=params.get("by"))
        return Response(found | {"answers": answers, "conventions": dict(CONVENTIONS)})

    @extend_schema(
        operation_id="v1_metrics_chart",
        summary="The numbers behind one chart, as columns and rows (as the page's CSV)",
        parameters=[
            OpenApiParameter("chart", str, OpenApiParameter.PATH, enum=[*report.CHARTS]),
            *METRICS_PARAMETERS,
        ],
        responses={200: MetricsTableSerializer, **READ_ERRORS},
    )
    def retrieve(self, request, chart=None):
        found, _ = self._report(request)
        columns, rows = report.table(found, chart)
        return Response(
            {
                "chart": chart,
                "team": found["team"],
                "as_of": found["as_of"],
                "range": found["range"],
                "columns": columns,
                "rows": rows,
            }
        )

    @extend_schema(
        summary="Ask the metrics job to compute today's figures now",
        request=None,
        responses={
            202: MetricsRefreshSerializer,
            **WRITE_ERRORS,
        },
    )
    @action(detail=False, methods=["post"])
    def refresh(self, request):
        services.metrics_refresh_request(actor=self.actor)
        return Response({"detail": "the metrics job is computing today's figures"}, status=202)
