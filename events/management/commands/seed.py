from django.core.management.base import BaseCommand

from events import seeding


class Command(BaseCommand):
    help = "Load a demo or benchmark data set (demo, max, fleet); deterministic for --seed."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=sorted(seeding.SIZES), default="demo")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument(
            "--reset", action="store_true", help="drop this data set's Flow Teams and rebuild"
        )

    def handle(self, *args, size, seed, reset, **options):
        if reset:
            seeding.reset(size)
        elif seeding.is_loaded(size):
            self.stdout.write(f"The {size} data set is already loaded; nothing to do.")
            return
        counts = seeding.build(size, seed=seed)
        summary = ", ".join(f"{v} {k}" for k, v in counts.items() if k != "seconds")
        self.stdout.write(self.style.SUCCESS(f"Loaded {size}: {summary} in {counts['seconds']} s"))
