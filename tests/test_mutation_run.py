"""The mutation run mutates the ``@transaction.atomic`` services that mutmut alone skips,
keeps their decorator on the trampoline, and still skips every other decorator."""

import os

import pytest
from mutmut.mutation import file_mutation
from mutmut.mutation.file_mutation import MutationVisitor, mutate_file_contents
from mutmut.runners.harness import PytestRunner
from mutmut.state import state as mutmut_state
from mutmut.workers.isolation import ForkRunner

from tests.mutation_run import (
    clean_run_forked,
    closest_first,
    mutate_atomic_functions,
    run_in_stages,
    stats_time_setup,
)

SOURCE = """
import functools
from django.db import transaction


@transaction.atomic
def close(x):
    return x + 1


@functools.cache
def cached(x):
    return x + 1


@transaction.atomic
@functools.cache
def both(x):
    return x + 1


@transaction.atomic
def left_alone(x):  # pragma: no mutate block
    return x + 1


def plain(x):
    return x + 1
"""


def mutated_functions() -> set[str]:
    names = mutate_file_contents("rules.py", SOURCE).mutant_names
    return {name.split("__mutmut")[0].removeprefix("x_") for name in names}


@pytest.fixture
def atomic_mutated(monkeypatch):
    monkeypatch.setattr(
        MutationVisitor, "_skip_node_and_children", MutationVisitor._skip_node_and_children
    )
    monkeypatch.setattr(
        file_mutation,
        "function_trampoline_arrangement",
        file_mutation.function_trampoline_arrangement,
    )
    mutate_atomic_functions()


def test_mutmut_alone_skips_the_atomic_services():
    assert mutated_functions() == {"plain"}


def test_the_atomic_services_are_mutated_and_every_other_decorator_still_skipped(
    atomic_mutated,
):
    assert mutated_functions() == {"plain", "close"}


def test_the_trampoline_keeps_the_transaction(atomic_mutated):
    code = mutate_file_contents("rules.py", SOURCE).code
    trampoline = code[: code.index("def close(")].rsplit("\n\n\n", 1)[-1]
    assert trampoline.lstrip().startswith("@transaction.atomic\n@_mutmut_mutated(")


def test_an_atomic_service_runs_in_one_atomic_block_its_trampolines(atomic_mutated):
    # Kept on the copies too, each call would open a savepoint in a savepoint: two more
    # queries per service call, failing every exact query count under the mutation run.
    code = mutate_file_contents("rules.py", SOURCE).code
    assert "@transaction.atomic\n@_mutmut_mutated(mutants_x_close__mutmut)\ndef close(" in code
    for copy in ("x_close__mutmut_orig", "x_close__mutmut_1"):
        assert f"\n\n\ndef {copy}(x):" in code
    # the trampoline's, and the two functions left unmutated
    assert code.count("@transaction.atomic\n") == 3


@pytest.fixture
def sessions(monkeypatch):
    """The pytest sessions a mutant's run opens (each a list of tests), failing the ones
    that hold a test named "fails"."""
    opened = []

    def run_tests(self, *, mutant_name, tests):
        opened.append(list(tests))
        return 1 if "fails" in tests else 0

    monkeypatch.setattr(PytestRunner, "run_tests", run_tests)
    run_in_stages()
    return opened


def test_a_mutants_tests_run_in_growing_sessions_until_one_fails(sessions):
    tests = [f"t{n}" for n in range(300)]
    assert PytestRunner.run_tests(None, mutant_name="m", tests=tests) == 0
    assert sessions == [tests[:25], tests[25:250], tests[250:]]

    sessions.clear()
    tests[30] = "fails"
    assert PytestRunner.run_tests(None, mutant_name="m", tests=tests) == 1
    assert sessions == [tests[:25], tests[25:250]]


def test_a_few_tests_are_one_session_and_the_clean_run_is_left_whole(sessions):
    assert PytestRunner.run_tests(None, mutant_name="m", tests=["a", "fails"]) == 1
    assert PytestRunner.run_tests(None, mutant_name=None, tests=[f"t{n}" for n in range(30)]) == 0
    assert sessions == [["a", "fails"], [f"t{n}" for n in range(30)]]
    sessions.clear()
    assert PytestRunner.run_tests(None, mutant_name="m", tests=[f"t{n}" for n in range(25)]) == 0
    assert sessions == [[f"t{n}" for n in range(25)]]


def test_a_mutants_tests_about_its_function_run_first():
    # mutmut's order, fastest first, within each distance; these files are the suite's own:
    # test_roadmap_services.py calls role_assign, test_views.py and test_stories.py do not.
    other_app = "tests/api/test_stories.py::test_a"
    own_app = "tests/teams/test_views.py::test_b"
    mentions = "tests/backlog/test_roadmap_services.py::test_c"
    named = "tests/events/test_x.py::test_role_assign_refuses[a-b]"
    later_other_app = "tests/api/test_stories.py::test_d"
    tests = [other_app, own_app, mentions, named, later_other_app]
    assert closest_first("teams.services.x_role_assign__mutmut_7", tests) == [
        named,
        mentions,
        own_app,
        other_app,
        later_other_app,
    ]
    # a method is named by its own name and mentioned by its class's
    method = "sem.middleware.xǁControlCharacterMiddlewareǁ_first_refused__mutmut_2"
    assert closest_first(method, ["tests/x.py::test_y", "tests/x.py::test_first_refused"]) == [
        "tests/x.py::test_first_refused",
        "tests/x.py::test_y",
    ]


def test_the_sessions_take_the_closest_tests_first(sessions):
    tests = [f"tests/api/test_stories.py::test_{n}" for n in range(30)]
    tests[27] = "tests/teams/test_services.py::test_role_assign_is_idempotent"
    PytestRunner.run_tests(None, mutant_name="teams.services.x_role_assign__mutmut_1", tests=tests)
    assert sessions[0][0] == tests[27]
    assert sessions[0][1:] == tests[:24]


def test_the_stats_pass_times_a_tests_setup_and_teardown_too(monkeypatch):
    """mutmut hands a mutant its tests by the time its stats pass gave them; a fixture that
    starts a server is time the test costs every mutant it runs for."""

    class StatsCollector:  # mutmut's own plugin, by its name
        pass

    given = []
    monkeypatch.setattr(
        PytestRunner, "execute_pytest", lambda self, params, **kwargs: given.append(kwargs)
    )
    stats_time_setup()
    PytestRunner.execute_pytest(None, ["-x"])
    PytestRunner.execute_pytest(None, ["-x"], plugins=[collector := StatsCollector()])
    assert given[0] == {}
    assert given[1]["plugins"][0] is collector
    setup_time = given[1]["plugins"][1]

    durations = {"tests/t.py::test_slow_fixture": 0.25}
    monkeypatch.setattr(mutmut_state(), "duration_by_test", durations)
    item = type("Item", (), {"nodeid": "tests/t.py::test_slow_fixture"})
    for when, took in (("setup", 40.0), ("call", 9.0), ("teardown", 0.5)):
        setup_time.pytest_runtest_makereport(
            item, type("Call", (), {"when": when, "duration": took})
        )
    assert durations == {"tests/t.py::test_slow_fixture": 40.75}


def test_the_clean_run_runs_every_test_in_two_forked_children(monkeypatch, tmp_path):
    """Each child writes down its process and its tests; a test named "fails" fails."""

    class Runner:
        def run_tests(self, *, mutant_name, tests):
            (tmp_path / str(os.getpid())).write_text("\n".join(tests))
            return 1 if "fails" in tests else 0

    monkeypatch.setattr(mutmut_state(), "duration_by_test", {f"t{n}": 0.1 for n in range(5)})
    clean_run_forked()
    runner = type("ForkRunner", (), {"test_runner": Runner()})()

    assert ForkRunner.run_clean_tests(runner, []) == 0  # none given: the whole suite
    shares = {int(f.name): f.read_text().split("\n") for f in tmp_path.iterdir()}
    assert os.getpid() not in shares and len(shares) == 2
    assert sorted(t for share in shares.values() for t in share) == [f"t{n}" for n in range(5)]

    assert ForkRunner.run_clean_tests(runner, ["a", "fails", "b"]) == 1
    assert ForkRunner.run_clean_tests(runner, ["a"]) == 0
