from django.apps import AppConfig


class FlowConfig(AppConfig):
    name = "flow"
    default_auto_field = "django.db.models.BigAutoField"
