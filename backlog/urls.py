from django.urls import path

from backlog import views

app_name = "backlog"

urlpatterns = [
    path("backlog/", views.backlog_page, name="backlog"),
    path("backlog/split/", views.story_split, name="split"),
]
