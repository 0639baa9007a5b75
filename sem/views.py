from django.db import connection
from django.http import JsonResponse


def healthz(request):
    """Is the database reachable, and the broker? 503 when the database is not."""
    from django.conf import settings

    database = _database_ok()
    broker = _broker_ok(settings.CELERY_BROKER_URL)
    status = 200 if database else 503
    return JsonResponse(
        {"status": "ok" if database else "unavailable", "database": database, "broker": broker},
        status=status,
    )


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure here means "not reachable"
        return False


def _broker_ok(url: str) -> bool:
    if url.startswith("memory://"):
        return True  # the embedded default runs tasks in-process
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except Exception:
        return False
