"""The Flow Team, its Scrum Teams and members, read-only through the API."""

from django_filters import rest_framework as filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from sem.api import READ_ERRORS, IdFilterSet
from teams.api.scope import ActorMixin
from teams.models import FlowTeam, Membership, Role, RoleAssignment, ScrumTeam


class FlowTeamSerializer(serializers.ModelSerializer):
    """Your Flow Team and its cadence: Flow Sprints of `sprint_length_weeks` weeks from
    `cadence_anchor`, days counted in `timezone`."""

    working_weekdays = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6),
        read_only=True,
        help_text="Days worked, 0 = Monday … 6 = Sunday.",
    )
    # A plain string: an enum of some 600 zone names helps no client.
    timezone = serializers.CharField(read_only=True, help_text="IANA time zone name.")

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
    """A Scrum Team of your Flow Team."""

    class Meta:
        model = ScrumTeam
        fields = ["id", "flow_team", "number", "name"]


class RoleSerializer(serializers.ModelSerializer):
    """A role a member holds: in the Flow Team (`scrum_team` null) or in a Scrum Team."""

    class Meta:
        model = RoleAssignment
        fields = ["role", "scrum_team"]


class MemberSerializer(serializers.ModelSerializer):
    """A person of your Flow Team, their seat and their roles."""

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
    role = filters.ChoiceFilter(field_name="roles__role", choices=Role.choices)
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
