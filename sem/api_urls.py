"""The /api/v1/ router. Names app view modules by string: sem imports no app."""

from django.urls import re_path
from django.utils.module_loading import import_string
from rest_framework.routers import DefaultRouter

ROUTES = [
    ("flow-teams", "teams.api.views.FlowTeamViewSet"),
    ("scrum-teams", "teams.api.views.ScrumTeamViewSet"),
    ("members", "teams.api.views.MemberViewSet"),
    ("product-goals", "backlog.api.views.ProductGoalViewSet"),
    ("milestones", "backlog.api.views.MilestoneViewSet"),
    ("epics", "backlog.api.views.EpicViewSet"),
    ("stories", "backlog.api.views.StoryViewSet"),
    ("tasks", "backlog.api.views.TaskViewSet"),
    ("acceptance-criteria", "backlog.api.views.CriterionViewSet"),
    ("dependencies", "backlog.api.views.DependencyViewSet"),
    ("roadmap-changes", "backlog.api.views.RoadmapChangeViewSet"),
    ("risks", "flow.api.views.RiskViewSet"),
    ("flow-sprints", "flow.api.views.FlowSprintViewSet"),
    ("team-sprints", "flow.api.views.TeamSprintViewSet"),
    ("metrics", "flow.api.views.MetricsViewSet"),
    ("events", "events.api.views.EventViewSet"),
    ("webhooks", "teams.api.webhooks.WebhookEndpointViewSet"),
    ("webhook-deliveries", "teams.api.webhooks.WebhookDeliveryViewSet"),
]

router = DefaultRouter()
for prefix, viewset in ROUTES:
    router.register(prefix, import_string(viewset), basename=prefix)

from sem.api import api_not_found  # noqa: E402

# [\s\S]: a path may hold an encoded line break, which "." would not match (an HTML 404).
urlpatterns = [*router.urls, re_path(r"^[\s\S]*$", api_not_found)]
