from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers


@extend_schema_field(OpenApiTypes.INT)
class ScopedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A related id that must belong to the caller's Flow Team (else: "does not exist").

    ``scope`` takes the actor and returns the queryset of allowed objects.
    """

    def __init__(self, *, scope, **kwargs):
        self.scope = scope
        super().__init__(**kwargs)

    def get_queryset(self):
        view = self.context.get("view")
        if view is None or getattr(view, "swagger_fake_view", False):
            return self.scope(None)
        return self.scope(view.actor)
