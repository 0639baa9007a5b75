"""The Celery application and its one beat schedule."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sem.settings")

app = Celery("sem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one beat schedule; each entry says why it runs when it does.
app.conf.beat_schedule = {}
