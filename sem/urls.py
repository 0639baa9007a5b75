from django.contrib import admin
from django.urls import include, path

from sem import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("", include("teams.urls")),
    path("", include("events.urls")),
]
