# Kept apart from sem.api: DRF's APIView reads the throttle setting at import
# time, and sem.api imports rest_framework.views.
import functools
import os

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from rest_framework.throttling import SimpleRateThrottle

# The sliding window of DRF's SimpleRateThrottle (a request counts for `window` seconds;
# at `limit` requests in the window the next is refused) in one Redis round trip instead
# of a GET and a SET, and atomic: two workers can no longer both read 1199 and let 1201
# through. The window is a sorted set of request times; answers {allowed, count, oldest}.
SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return {0, count, oldest[2]}
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('EXPIRE', key, math.ceil(window))
return {1, count + 1, '0'}
"""

# Set on a request whose window was already counted (the lean story PATCH, which then
# handed it to the full path): DRF's throttle must not count it twice.
COUNTED = "_sem_window_counted"


@functools.cache
def _window_script(cache: RedisCache):
    # One client per process (Django's cache builds a new one, with its ~170 response
    # callbacks, on every call); redis-py's pool reconnects after a fork.
    return cache._cache.get_client(None, write=True).register_script(SLIDING_WINDOW)


def token_ident(token_hash: str) -> str:
    # By the token's stored hash, not its id: a caller that has not read the token yet
    # (the lean story PATCH, whose one statement reads it) knows the window's key.
    return f"token-{token_hash[:32]}"


class PerClientThrottle(SimpleRateThrottle):
    """Requests per token (or per signed-in person for browser sessions)."""

    scope = "client"

    def get_cache_key(self, request, view):
        if not request.user or not request.user.is_authenticated:
            return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
        auth = getattr(request, "auth", None)
        ident = (
            token_ident(auth.token_hash)
            if hasattr(auth, "token_hash")
            else f"user-{request.user.pk}"
        )
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request, view):
        if getattr(request, COUNTED, False):
            return True
        if self.rate is None:
            return True
        return self._allow(self.get_cache_key(request, view))

    def allows_token(self, token_hash: str) -> bool:
        """Counts one request of the token with this hash, as ``allow_request`` would
        for it once authenticated: True when the window lets it through."""
        if self.rate is None:
            return True
        ident = token_ident(token_hash)
        return self._allow(self.cache_format % {"scope": self.scope, "ident": ident})

    def _allow(self, key: str) -> bool:
        self.key = key
        self.redis = caches["default"]  # the backend itself (DRF holds the cache's proxy)
        self.now = self.timer()
        if not isinstance(self.redis, RedisCache):
            # DRF's own window in the cache (the in-memory cache of tests)
            self.history = self.cache.get(self.key, [])
            while self.history and self.history[-1] <= self.now - self.duration:
                self.history.pop()
            if len(self.history) >= self.num_requests:
                return self.throttle_failure()
            return self.throttle_success()
        allowed, count, oldest = _window_script(self.redis)(
            keys=[self.redis.make_key(f"window:{self.key}")],
            args=[
                repr(self.now),
                self.duration,
                self.num_requests,
                f"{self.now}:{os.urandom(4).hex()}",
            ],
        )
        self.count, self.oldest = int(count), float(oldest)
        return bool(allowed)

    def wait(self):
        if not isinstance(self.redis, RedisCache):
            return super().wait()
        # As SimpleRateThrottle.wait: the time until the oldest request leaves the window,
        # spread over the requests that will then be free.
        remaining = self.duration - (self.now - self.oldest)
        available = self.num_requests - self.count + 1
        return remaining / float(available) if available > 0 else None
