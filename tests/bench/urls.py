"""The product's URLs plus the baseline a benchmark compares the API with."""

from django.db import connection
from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def bare_update(request, pk):
    """One UPDATE of one story row and a small JSON answer: no auth, no ORM, no rules.

    It touches ``updated_at`` only, so it never changes a version the API clients hold.
    """
    with connection.cursor() as cursor:
        cursor.execute("UPDATE backlog_story SET updated_at = now() WHERE id = %s", [pk])
        updated = cursor.rowcount
    return JsonResponse({"updated": updated})


urlpatterns = [
    path("bench/bare-update/<int:pk>/", bare_update),
    path("", include("sem.urls")),
]
