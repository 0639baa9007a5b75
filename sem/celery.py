"""The Celery application and its one beat schedule."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sem.settings")

app = Celery("sem")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The one beat schedule; each entry says why it runs when it does.
app.conf.beat_schedule = {
    # Keep every Flow Team's sprints and event calendars scheduled ahead, activate the
    # current sprint and close the finished one. Every 15 minutes, so a sprint flips
    # shortly after local midnight in any timezone; a run with nothing to do writes nothing.
    "cadence-tick": {"task": "events.tasks.cadence_tick", "schedule": 15 * 60},
    # Flow metrics of each finished day, once it has ended in the Flow Team's timezone.
    # Hourly, so every timezone's midnight is followed within the hour; a Flow Team whose
    # yesterday is already computed is skipped.
    "metrics-tick": {"task": "flow.tasks.metrics_tick", "schedule": crontab(minute=15)},
}
