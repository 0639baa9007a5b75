from django.http import Http404
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from sem.api import KnownQueryParametersMixin
from sem.errors import PermissionRefused
from teams.selectors import actor_for


class ActorMixin(KnownQueryParametersMixin):
    """Resolve the caller's Actor once per request and scope every queryset with it.

    Views define ``model`` and ``scoped_queryset()``; a person in no Flow Team
    gets 404 on every route.
    """

    request: Request
    model = None

    @property
    def actor(self):
        request = self.request
        if not hasattr(request, "_sem_actor"):
            request._sem_actor = actor_for(user=request.user)
        if request._sem_actor is None:
            raise Http404("not a member of any Flow Team")
        return request._sem_actor

    def filter_queryset(self, queryset):
        # Filters and ordering shape lists; a single object is found by its id alone
        # (building a FilterSet on every detail request costs more than the query).
        if self.detail:
            return queryset
        return super().filter_queryset(queryset)

    def check_object_permissions(self, request, obj):
        # get_object() asks this before a view reads If-Match: a caller who may not make
        # the change at all hears 403, not 428 or 412 (a precondition would be moot).
        super().check_object_permissions(request, obj)
        if request.method not in SAFE_METHODS:
            refusal = self.write_refusal(obj)
            if refusal:
                raise PermissionRefused(refusal)

    def write_refusal(self, obj) -> str | None:
        """Why the actor may not make this write to ``obj`` whatever it sends, or None.
        Views whose writes are conditional name it; the service checks in full."""
        return None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no caller
            return self.model.objects.none()
        return self.scoped_queryset()
