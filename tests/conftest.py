"""Shared fixtures: a Flow Team with one person per role, and a foreign Flow Team."""

import datetime
import os
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connection
from django.test.testcases import LiveServerThread
from hypothesis import settings as hypothesis_settings

from sem.api import KnownQueryParametersMixin
from teams import services as team_services
from teams.models import Role
from teams.selectors import actor_for
from tests import template_db
from tests.teams.factories import FlowTeamFactory, UserFactory


def pytest_runtest_setup(item):
    """A test marked ``postgres`` needs PostgreSQL's row locks and real concurrent
    connections: elsewhere it is skipped, before its database is set up."""
    if item.get_closest_marker("postgres") and connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks and real concurrent connections (CI runs it)")


# CI draws the same examples every run (a red build is never a lucky draw) and keeps no
# example database; locally, Hypothesis explores and remembers failures in .hypothesis/.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "default")

# The mutation run (tests/mutation_run.py) copies its test database from a template.
if os.environ.get(template_db.ENV):
    template_db.install(Path(os.environ[template_db.ENV]))


class OneRequestAtATime(ThreadedWSGIServer):
    """The live server for an in-memory SQLite test database: its threads share the test's
    one connection (Django's documented caveat), and a live poll and a vote at the same
    moment then interleave their savepoints on it ("no such savepoint", a 500 seen on a
    loaded machine). Requests still get a thread each, so browsers keep their connections
    alive as on any threaded server, but the application runs for one request at a time,
    its response read and closed (which ends the request) before the next one starts."""

    lock = threading.Lock()

    def set_app(self, application):
        def one_at_a_time(environ, start_response):
            with self.lock:
                response = application(environ, start_response)
                try:
                    return list(response)
                finally:
                    if hasattr(response, "close"):
                        response.close()

        super().set_app(one_at_a_time)


# The test database of SQLite is in memory unless it is given a name.
if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3") and not settings.DATABASES[
    "default"
].get("TEST", {}).get("NAME"):
    LiveServerThread.server_class = OneRequestAtATime


def build_flow_team(prefix: str = "", teams: int = 3) -> SimpleNamespace:
    """A Flow Team with ``teams`` Scrum Teams, a CPO, CSM, Architect, stakeholder,
    and per team a PO, an SM and a developer. Emails: cpo@…, po1@…, dev2@…"""
    flow_team = FlowTeamFactory(
        name=f"{prefix}Atlas",
        slug=f"{prefix.lower()}atlas",
        cadence_anchor=datetime.date(2026, 1, 5),
    )
    ns = SimpleNamespace(flow_team=flow_team, scrum_teams=[], users={})

    def person(key: str, role: str, scrum_team=None):
        user = ns.users.get(key) or UserFactory(email=f"{prefix.lower()}{key}@example.com")
        ns.users[key] = user
        membership = team_services.member_add(flow_team=flow_team, user=user)
        team_services.role_assign(membership=membership, role=role, scrum_team=scrum_team)
        return user

    for n in range(1, teams + 1):
        ns.scrum_teams.append(
            team_services.scrum_team_create(flow_team=flow_team, name=f"Team {n}")
        )
    person("cpo", Role.CPO)
    person("csm", Role.CSM)
    person("architect", Role.ARCHITECT)
    person("stakeholder", Role.STAKEHOLDER)
    for n, scrum_team in enumerate(ns.scrum_teams, start=1):
        person(f"po{n}", Role.PO, scrum_team)
        person(f"sm{n}", Role.SM, scrum_team)
        person(f"dev{n}", Role.DEVELOPER, scrum_team)
    ns.actor = lambda key: actor_for(user=ns.users[key], flow_team=flow_team)
    for key, user in ns.users.items():
        setattr(ns, key, user)
    return ns


@pytest.fixture
def flow(db):
    return build_flow_team()


@pytest.fixture
def foreign(db):
    """Another Flow Team in the same installation: never visible to ``flow``'s people."""
    return build_flow_team(prefix="Other", teams=3)


@pytest.fixture(autouse=True)
def fast_password_hasher(settings):
    # PBKDF2's deliberate slowness buys nothing in tests; production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def fresh_cache():
    # Throttle counters live in the cache; ids repeat across tests, so start each clean.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def cold_process_caches():
    """Each test meets the API's per-process cache of known query parameters empty, as a
    new process does. Filled by an earlier test, it hid the code that fills it: the
    mutation run forks each mutant's tests from a process that had run the whole suite,
    and a mutant of that code changed nothing there."""
    KnownQueryParametersMixin._known_cache.clear()


@pytest.fixture
def metrics_history(flow, foreign):
    """``flow`` with the hand-computed story history of tests/flow/history.py and a foreign
    Flow Team's finished story, both computed by the metrics job on AS_OF; the clock stands
    at 15:00 that day."""
    import time_machine

    from tests.flow.history import compute_history, local

    compute_history(flow, foreign)
    with time_machine.travel(local("2026-03-10", 15), tick=False):
        yield flow
