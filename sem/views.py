from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect
from django.templatetags.static import static

BROKER_TIMEOUT_SECONDS = 1


def healthz(request):
    """Is the database reachable, and the broker? 503 when the database is not; a broker that
    does not answer leaves pages working but queues nothing, so it only marks "degraded"."""
    database = _database_ok()
    broker = _broker_state(settings.CELERY_BROKER_URL)
    if not database:
        status, code = "unavailable", 503
    elif broker == "unreachable":
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return JsonResponse({"status": status, "database": database, "broker": broker}, status=code)


def favicon(request):
    """Browsers ask for /favicon.ico on pages that name no icon (the admin's): the app's own,
    instead of a 404 in every first admin visit's console."""
    return redirect(static("img/favicon.svg"), permanent=True)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:  # any failure here means "not reachable"
        return False


def _broker_state(url: str) -> str:
    """ "in-process" without a broker (the embedded default runs tasks eagerly), else whether
    the Redis broker answers a PING within a second: "ok" or "unreachable"."""
    if url.startswith("memory://"):
        return "in-process"
    try:
        import redis

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=BROKER_TIMEOUT_SECONDS,
            socket_timeout=BROKER_TIMEOUT_SECONDS,
        )
        try:
            return "ok" if client.ping() else "unreachable"
        finally:
            client.close()
    except Exception:  # refused, timed out, bad credentials: the broker cannot take a task
        return "unreachable"
