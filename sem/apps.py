from django.apps import AppConfig


class SemConfig(AppConfig):
    name = "sem"
    verbose_name = "SEM Flow"
