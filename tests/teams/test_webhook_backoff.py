"""How long a failed webhook delivery waits before its next try: doubling, capped at 1 h."""

from teams.webhooks import backoff_seconds


def test_the_wait_doubles_from_the_base_after_each_failure(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    assert [backoff_seconds(n) for n in range(1, 8)] == [30, 60, 120, 240, 480, 960, 1920]


def test_the_wait_is_capped_at_one_hour(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 30
    assert backoff_seconds(8) == 3600  # 3,840 s uncapped
    assert backoff_seconds(30) == 3600


def test_the_base_comes_from_the_settings(settings):
    settings.WEBHOOK_RETRY_BASE_SECONDS = 2
    assert [backoff_seconds(n) for n in (1, 2, 3)] == [2, 4, 8]
