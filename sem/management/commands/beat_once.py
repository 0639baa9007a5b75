from django.core.management.base import BaseCommand

from sem.celery import app


class Command(BaseCommand):
    help = (
        "Run every task of the beat schedule once, now. The embedded default (make run) has "
        "no beat process, so it runs this on start to bring sprints, calendars and metrics "
        "up to today; every task is idempotent, so a run with nothing to do writes nothing."
    )

    def handle(self, *args, **options):
        app.loader.import_default_modules()  # autodiscovery is lazy: load every tasks.py
        for name, entry in app.conf.beat_schedule.items():
            # apply() runs in this process; what the task enqueues follows the settings
            # (in-process when tasks run eagerly, to the broker otherwise).
            result = app.tasks[entry["task"]].apply(throw=True)
            self.stdout.write(f"{name}: {entry['task']} -> {result.result}")
