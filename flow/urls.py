from django.urls import path

from flow import views

app_name = "flow"

urlpatterns = [
    path("metrics/", views.metrics_page, name="metrics"),
    path("metrics/refresh/", views.metrics_refresh, name="metrics-refresh"),
    path("metrics/<slug:chart>.csv", views.metrics_csv, name="metrics-csv"),
]
