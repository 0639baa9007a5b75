from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from events.models import Event
from events.selectors import events_visible
from sem.api import READ_ERRORS
from teams.api.scope import ActorMixin
from teams.models import Role


class EventSerializer(serializers.ModelSerializer):
    """An event of a Flow Sprint: when, who facilitates, who takes part, what goes in
    and comes out."""

    ends_at = serializers.DateTimeField(read_only=True)
    participant_roles = serializers.ListField(
        child=serializers.ChoiceField(choices=Role.choices),
        read_only=True,
        help_text="The roles that take part.",
    )

    class Meta:
        model = Event
        fields = [
            "id",
            "kind",
            "level",
            "flow_sprint",
            "scrum_team",
            "occurrence",
            "starts_at",
            "ends_at",
            "duration_minutes",
            "facilitator",
            "participant_roles",
            "inputs",
            "outputs",
            "state",
        ]


@extend_schema_view(
    list=extend_schema(
        summary="Events of the Flow Sprints", responses={200: EventSerializer, **READ_ERRORS}
    ),
    retrieve=extend_schema(summary="An event", responses={200: EventSerializer, **READ_ERRORS}),
)
class EventViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = Event
    serializer_class = EventSerializer
    filterset_fields = {
        "kind": ["exact"],
        "flow_sprint": ["exact"],
        "scrum_team": ["exact"],
        "state": ["exact"],
        "starts_at": ["gte", "lt"],
    }
    ordering = ["starts_at"]

    def scoped_queryset(self):
        # A stakeholder's list holds only their events; any other id answers 404.
        return events_visible(actor=self.actor)
