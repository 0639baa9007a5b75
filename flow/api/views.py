from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from backlog.models import Dependency, Story
from flow import services
from flow.models import FlowSprint, Risk, SprintCommitment, TeamSprint
from sem.api import (
    READ_ERRORS,
    VERSIONED_WRITE_ERRORS,
    WRITE_ERRORS,
    StrictFieldsMixin,
    VersionedObjectMixin,
    expected_version,
)
from sem.api_fields import ScopedPrimaryKeyRelatedField
from teams.api.scope import ActorMixin
from teams.models import ScrumTeam, User


def _in_flow_team(model, path="flow_team"):
    return lambda actor: (
        model.objects.none() if actor is None else model.objects.filter(**{path: actor.flow_team})
    )


class FlowSprintSerializer(serializers.ModelSerializer):
    length_days = serializers.IntegerField(read_only=True)

    class Meta:
        model = FlowSprint
        fields = ["id", "number", "start", "end", "length_days", "goal", "state", "closed_at"]


class CommitmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = SprintCommitment
        fields = ["id", "story", "points_at_planning", "planned", "outcome", "committed_at"]


class TeamSprintSerializer(serializers.ModelSerializer):
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
    story = ScopedPrimaryKeyRelatedField(scope=_in_flow_team(Story))


class RiskSerializer(StrictFieldsMixin, serializers.ModelSerializer):
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


class TeamSprintFilter(filters.FilterSet):
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

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        risk = services.risk_create(actor=self.actor, **serializer.validated_data)
        return self.versioned(risk, status_code=201)

    def partial_update(self, request, *args, **kwargs):
        risk = self.get_object()
        version = expected_version(request)
        body = RiskUpdateSerializer(
            data=request.data, partial=True, context=self.get_serializer_context()
        )
        body.is_valid(raise_exception=True)
        risk = services.risk_update(
            actor=self.actor, risk=risk, data=dict(body.validated_data), expected_version=version
        )
        return self.versioned(risk)
