"""PerClientThrottle's Redis window: the Retry-After it answers from the script's reply.

The Lua script itself needs a Redis server; here it is replaced by its reply
{allowed, count, oldest}, so the arithmetic holds without one."""

import pytest
from django.core.cache.backends.redis import RedisCache

from sem import throttling
from sem.throttling import PerClientThrottle

NOW = 1_000.0


@pytest.fixture
def window(monkeypatch):
    """A throttle of 3 requests a minute on a Redis cache whose window script answers
    ``reply`` (set by the test)."""
    reply = {}
    redis = RedisCache("redis://localhost:6379/0", {})  # never connected
    monkeypatch.setattr(throttling, "caches", {"default": redis})
    monkeypatch.setattr(
        throttling, "_window_script", lambda cache: lambda keys, args: reply["value"]
    )
    monkeypatch.setattr(
        PerClientThrottle, "THROTTLE_RATES", {**PerClientThrottle.THROTTLE_RATES, "client": "3/min"}
    )
    throttle = PerClientThrottle()
    throttle.timer = lambda: NOW

    def refused(count: int, oldest: float) -> PerClientThrottle:
        reply["value"] = [0, count, str(oldest)]
        assert throttle.allows_token("ab" * 32) is False
        return throttle

    return refused


def test_a_full_window_waits_until_its_oldest_request_leaves_it(window):
    # the oldest of 3 came 20 s ago: it leaves the 60-second window in 40 s
    assert window(count=3, oldest=NOW - 20).wait() == 40.0


def test_a_window_over_the_limit_promises_no_retry_after(window):
    # the rate was lowered to 3 while 4 or more requests are in the window: the oldest
    # leaving frees no request, so there is no time to promise (as DRF's own window)
    assert window(count=4, oldest=NOW - 20).wait() is None
    assert window(count=6, oldest=NOW - 20).wait() is None


def test_a_scope_without_a_rate_lets_every_token_through(monkeypatch):
    # No rate set for the API (THROTTLE_RATES "client": None): nothing is counted, and the
    # lean PATCH by token goes through as every other request does.
    monkeypatch.setattr(
        PerClientThrottle, "THROTTLE_RATES", {**PerClientThrottle.THROTTLE_RATES, "client": None}
    )
    assert PerClientThrottle().allows_token("ab" * 32) is True
