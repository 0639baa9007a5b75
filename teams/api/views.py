"""The Flow Team, its Scrum Teams and members, read-only through the API."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from sem.api import READ_ERRORS, IdFilterSet
from teams.api.scope import ActorMixin
from teams.models import FlowTeam, Membership, RoleAssignment, ScrumTeam


class FlowTeamSerializer(serializers.ModelSerializer):
    working_weekdays = serializers.ListField(child=serializers.IntegerField(), read_only=True)

    class Meta:
        model = FlowTeam
        fields = [
            "id",
            "name",
            "slug",
            "sprint_length_weeks",
            "cadence_anchor",
            "timezone",
            "working_weekdays",
        ]


class ScrumTeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = ScrumTeam
        fields = ["id", "flow_team", "number", "name"]


class RoleSerializer(serializers.ModelSerializer):
    class Meta:
        model = RoleAssignment
        fields = ["role", "scrum_team"]


class MemberSerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email")
    full_name = serializers.CharField(source="user.full_name")
    user_id = serializers.IntegerField(source="user.pk")
    roles = RoleSerializer(many=True)

    class Meta:
        model = Membership
        fields = ["id", "user_id", "email", "full_name", "seat", "roles"]


@extend_schema_view(
    list=extend_schema(
        summary="Your Flow Team", responses={200: FlowTeamSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A Flow Team you belong to", responses={200: FlowTeamSerializer, **READ_ERRORS}
    ),
)
class FlowTeamViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = FlowTeam
    serializer_class = FlowTeamSerializer
    ordering_fields = ["name"]

    def scoped_queryset(self):
        return FlowTeam.objects.filter(pk=self.actor.flow_team_id)


@extend_schema_view(
    list=extend_schema(
        summary="Scrum Teams of your Flow Team", responses={200: ScrumTeamSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(
        summary="A Scrum Team", responses={200: ScrumTeamSerializer, **READ_ERRORS}
    ),
)
class ScrumTeamViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = ScrumTeam
    serializer_class = ScrumTeamSerializer
    ordering_fields = ["number", "name"]

    def scoped_queryset(self):
        return ScrumTeam.objects.filter(flow_team=self.actor.flow_team).order_by("number")


class MemberFilter(IdFilterSet):
    role = filters.CharFilter(field_name="roles__role")
    scrum_team = filters.NumberFilter(field_name="roles__scrum_team")

    class Meta:
        model = Membership
        fields = ["role", "scrum_team"]


@extend_schema_view(
    list=extend_schema(
        summary="People of your Flow Team and their roles",
        responses={200: MemberSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(summary="A member", responses={200: MemberSerializer, **READ_ERRORS}),
)
class MemberViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = Membership
    serializer_class = MemberSerializer
    filterset_class = MemberFilter
    ordering_fields = ["seat"]

    def scoped_queryset(self):
        return (
            Membership.objects.filter(flow_team=self.actor.flow_team)
            .select_related("user")
            .prefetch_related("roles")
            .order_by("seat")
            .distinct()
        )
