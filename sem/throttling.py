# Kept apart from sem.api: DRF's APIView reads the throttle setting at import
# time, and sem.api imports rest_framework.views.
from rest_framework.throttling import SimpleRateThrottle


class PerClientThrottle(SimpleRateThrottle):
    """Requests per token (or per signed-in person for browser sessions)."""

    scope = "client"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        auth = getattr(request, "auth", None)
        ident = f"token-{auth.pk}" if hasattr(auth, "token_hash") else f"user-{request.user.pk}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
