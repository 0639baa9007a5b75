"""Webhook endpoints of a Flow Team and their deliveries. Rules live in teams.webhooks."""

from django.db.models import Count, Q
from django_filters import rest_framework as filters
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.response import Response

from sem.api import READ_ERRORS, WRITE_ERRORS, IdFilterSet, StrictFieldsMixin
from teams import webhooks
from teams.api.scope import ActorMixin
from teams.models import WebhookDelivery, WebhookEndpoint

EVENTS_HELP = "Families of changes to receive: " + ", ".join(
    f"`{family}` ({', '.join(changes)})" for family, changes in webhooks.EVENTS.items()
)


class WebhookEndpointSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """Where the Flow Team's changes are POSTed, and how its deliveries went."""

    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEndpoint.EventType.choices),
        min_length=1,
        help_text=EVENTS_HELP,
    )
    delivered = serializers.IntegerField(read_only=True, help_text="Deliveries that arrived")
    failed = serializers.IntegerField(read_only=True, help_text="Deliveries that gave up")
    pending = serializers.IntegerField(read_only=True, help_text="Deliveries still being tried")

    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "event_types",
            "active",
            "created_by",
            "created_at",
            "delivered",
            "failed",
            "pending",
        ]
        read_only_fields = ["created_by", "created_at"]
        # The service checks the scheme and host (HTTPS, public); a plain string here.
        extra_kwargs = {"url": {"validators": []}}


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    """A new webhook endpoint, with its signing secret (shown only here)."""

    secret = serializers.CharField(
        read_only=True,
        help_text="Signing secret, shown only in this response: verify `X-SEM-Signature: "
        "sha256=<hex HMAC-SHA256 of the raw body>` with it.",
    )

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]


class WebhookEndpointUpdateSerializer(StrictFieldsMixin, serializers.Serializer):
    """Fields a webhook endpoint's PATCH may send."""

    url = serializers.URLField(max_length=500, required=False)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEndpoint.EventType.choices),
        min_length=1,
        required=False,
    )
    active = serializers.BooleanField(required=False)

    read_only_names = ("id", "created_by", "created_at", "delivered", "failed", "pending")


def _endpoints_of(actor):
    if actor is None:
        return WebhookEndpoint.objects.none()
    return WebhookEndpoint.objects.filter(flow_team_id=actor.flow_team_id)


class WebhookPayloadSerializer(serializers.Serializer):
    """The JSON body POSTed to the endpoint."""

    event = serializers.ChoiceField(choices=[(name, name) for name in webhooks.EVENT_NAMES])
    flow_team = serializers.IntegerField(help_text="Your Flow Team's id.")
    occurred_at = serializers.DateTimeField()
    data = serializers.DictField(
        help_text="The changed story, epic or dependency as it is after the change."
    )


@extend_schema_field(WebhookPayloadSerializer)
class PayloadField(serializers.JSONField):
    """The stored body as it was sent, documented by WebhookPayloadSerializer."""


class WebhookDeliverySerializer(serializers.ModelSerializer):
    """One change sent to an endpoint: its payload and how the attempts went."""

    payload = PayloadField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint",
            "event",
            "payload",
            "status",
            "attempts",
            "last_status_code",
            "last_error",
            "next_attempt_at",
            "delivered_at",
            "created_at",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        summary="Webhook endpoints of your Flow Team",
        description="With how many deliveries arrived, failed or are still being tried.",
        responses={200: WebhookEndpointSerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A webhook endpoint", responses={200: WebhookEndpointSerializer, **READ_ERRORS}
    ),
    create=extend_schema(
        summary="Register a webhook endpoint (CPO, CSM)",
        description="HTTPS to a public host. The response carries the signing `secret`, "
        "shown only once. Each change is POSTed as JSON with `X-SEM-Event`, "
        "`X-SEM-Delivery` and `X-SEM-Signature`; any answer but 2xx is retried with "
        "exponential backoff.",
        request=WebhookEndpointSerializer,
        responses={201: WebhookEndpointCreatedSerializer, **WRITE_ERRORS},
    ),
    partial_update=extend_schema(
        summary="Change or pause a webhook endpoint (CPO, CSM)",
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointSerializer, **WRITE_ERRORS},
    ),
    destroy=extend_schema(
        summary="Remove a webhook endpoint and its delivery log (CPO, CSM)",
        responses={204: OpenApiResponse(description="Removed"), **WRITE_ERRORS},
    ),
)
class WebhookEndpointViewSet(
    ActorMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    model = WebhookEndpoint
    serializer_class = WebhookEndpointSerializer
    filterset_fields = ["active"]
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def scoped_queryset(self):
        outcome = WebhookDelivery.Status
        return _endpoints_of(self.actor).annotate(
            delivered=Count("deliveries", filter=Q(deliveries__status=outcome.DELIVERED)),
            failed=Count("deliveries", filter=Q(deliveries__status=outcome.FAILED)),
            pending=Count("deliveries", filter=Q(deliveries__status=outcome.PENDING)),
        )

    def _answer(self, endpoint, serializer_class=WebhookEndpointSerializer, code=200):
        fresh = self.scoped_queryset().get(pk=endpoint.pk)
        fresh.secret = endpoint.secret
        return Response(serializer_class(fresh).data, status=code)

    def create(self, request, *args, **kwargs):
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_create(actor=self.actor, **body.validated_data)
        return self._answer(endpoint, WebhookEndpointCreatedSerializer, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        endpoint = self.get_object()
        body = WebhookEndpointUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        endpoint = webhooks.webhook_endpoint_update(
            actor=self.actor, endpoint=endpoint, data=dict(body.validated_data)
        )
        return self._answer(endpoint)

    def perform_destroy(self, instance):
        webhooks.webhook_endpoint_delete(actor=self.actor, endpoint=instance)


class WebhookDeliveryFilter(IdFilterSet):
    event = filters.ChoiceFilter(choices=[(name, name) for name in webhooks.EVENT_NAMES])

    class Meta:
        model = WebhookDelivery
        fields = ["endpoint", "status", "event"]


@extend_schema_view(
    list=extend_schema(
        summary="Webhook deliveries, newest first, with their outcome",
        responses={200: WebhookDeliverySerializer, **READ_ERRORS},
    ),
    retrieve=extend_schema(
        summary="A webhook delivery", responses={200: WebhookDeliverySerializer, **READ_ERRORS}
    ),
)
class WebhookDeliveryViewSet(ActorMixin, viewsets.ReadOnlyModelViewSet):
    model = WebhookDelivery
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def scoped_queryset(self):
        return WebhookDelivery.objects.filter(endpoint__flow_team_id=self.actor.flow_team_id)
