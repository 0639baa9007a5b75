"""What every benchmark does first: Django on a PostgreSQL database holding a data set.

Each data set of ``manage.py seed`` lives in its own database on the same server,
created, migrated and seeded on first use and reused afterwards:

    max    semflow_bench          (1 Flow Team, 6,000 stories)
    fleet  semflow_bench_fleet    (10 Flow Teams, 60,000 stories)

The server is ``BENCH_POSTGRES`` (default ``postgres://postgres@127.0.0.1:5432``).
Loading ``fleet`` takes under a minute on PostgreSQL. A data set cut off half-way (fewer Flow
Teams than it should have) is rebuilt with ``seed --reset``.

    uv run python -m tests.bench.datasets max fleet    # load them ahead of a benchmark
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432").rstrip("/")
DATABASE_NAMES = {"max": "semflow_bench", "fleet": "semflow_bench_fleet"}


def database_url(size: str) -> str:
    return f"{SERVER}/{DATABASE_NAMES[size]}"


def setup_django(database_url: str) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.bench.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def ensure_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[1]
    admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def use(size: str, url: str | None = None) -> None:
    """Point Django at the data set's database (created if missing), migrate it and load
    the data set unless it is there whole. Sets Django up on the first call."""
    from django.apps import apps

    url = url or database_url(size)
    ensure_database(url)
    if not apps.ready:
        setup_django(url)
    else:
        import environ
        from django.db import connection

        connection.close()
        connection.settings_dict.update(environ.Env.db_url_config(url))
    seed(size)


def seed(size: str) -> None:
    """Migrate and load ``size`` into the current database; rebuild it when cut off half-way."""
    from django.core.management import call_command

    from events import seeding
    from teams.models import FlowTeam

    call_command("migrate", verbosity=0, interactive=False)
    loaded = FlowTeam.objects.filter(slug__in=seeding.slugs_for(size)).count()
    whole = loaded == seeding.SIZES[size].flow_teams
    call_command("seed", size=size, reset=bool(loaded) and not whole)
    analyze()


def analyze() -> None:
    """Give the planner the tables' statistics, as autovacuum would after a load: a server
    running without it (as this machine's does) would otherwise plan every query on empty
    estimates (the stories list sorted all 6,000 stories for a page of 200)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


if __name__ == "__main__":
    for name in sys.argv[1:] or ["max", "fleet"]:
        use(name)
