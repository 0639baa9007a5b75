"""`mutmut`, letting it mutate the services decorated with ``@transaction.atomic``.

mutmut 3 leaves every decorated function alone (a decorator may run side effects when the
function is copied for its trampoline, or cache, or be a property). That silently left out
of the mutation score nearly every service that writes: 89 of them carry
``@transaction.atomic``, which has none of those hazards. Functions decorated by
``transaction.atomic`` alone are mutated here, the trampoline keeping the decorator (so
the original and each mutant run in one atomic block, as the service does); every other
decorator is skipped as before.

Each mutant's pytest session copies its in-memory test database from a template built by
the first session instead of migrating (``tests/template_db.py``): 5.8 s of setup saved per
mutant.

Run as mutmut itself: ``uv run python -m tests.mutation_run run [MUTANTS]`` (``make
mutation``)."""

import functools
import os
import re
import sys
from pathlib import Path

import libcst as cst
from mutmut.__main__ import cli
from mutmut.mutation import file_mutation
from mutmut.mutation.file_mutation import MutationVisitor
from mutmut.runners.harness import PytestRunner
from mutmut.state import state as mutmut_state
from mutmut.workers.isolation import ForkRunner

from tests import mutation_results, template_db

ROOT = Path(__file__).resolve().parent.parent


def _is_transaction_atomic(decorator: cst.BaseExpression) -> bool:
    return (
        isinstance(decorator, cst.Attribute)
        and isinstance(decorator.value, cst.Name)
        and decorator.value.value == "transaction"
        and decorator.attr.value == "atomic"
    )


def _is_atomic_only(node: cst.CSTNode) -> bool:
    return (
        isinstance(node, cst.FunctionDef)
        and bool(node.decorators)
        and all(_is_transaction_atomic(d.decorator) for d in node.decorators)
    )


def mutate_atomic_functions() -> None:
    skip = MutationVisitor._skip_node_and_children
    arrange = file_mutation.function_trampoline_arrangement

    def skip_unless_atomic(self, node: cst.CSTNode) -> bool:
        if not _is_atomic_only(node):
            return skip(self, node)
        # mutmut's other checks (pragmas, names it never mutates) still apply: run them on
        # the same node (its position metadata is keyed by identity) without decorators.
        decorators = node.decorators
        object.__setattr__(node, "decorators", ())
        try:
            return skip(self, node)
        finally:
            object.__setattr__(node, "decorators", decorators)

    def one_atomic_block(function, mutants, class_name):
        """The trampoline keeps ``@transaction.atomic``; the original's copy and the
        mutants, which only the trampoline calls, drop it. Kept on both, every call would
        open a savepoint inside a savepoint: two more queries per service call, which
        fails every exact query count of the suite."""
        declarations, methods, assignments, names = arrange(function, mutants, class_name)
        if _is_atomic_only(function):
            methods = [methods[0], *(copy.with_changes(decorators=()) for copy in methods[1:])]
        return declarations, methods, assignments, names

    MutationVisitor._skip_node_and_children = skip_unless_atomic
    file_mutation.function_trampoline_arrangement = one_atomic_block


# A mutant's tests (mutmut hands them over fastest first) in sessions of these sizes, then
# the rest: most mutants fail one of the first few tests.
STAGES = (25, 250)


def _function_names(mutant_name: str) -> tuple[str, str]:
    """The mutated function's name and the name a test file would mention it by:
    ``backlog.services.x_story_create__mutmut_3`` -> (``story_create``, ``story_create``);
    a method, ``sem.middleware.xǁApiBodyLimitMiddlewareǁ__call__`` -> (``call``,
    ``ApiBodyLimitMiddleware``)."""
    mangled = mutant_name.rpartition("__mutmut_")[0].rpartition(".")[2]
    if "ǁ" in mangled:
        _, owner, method = mangled.split("ǁ")
        return method.strip("_"), owner
    name = mangled.removeprefix("x_")
    return name.strip("_"), name


@functools.cache
def _files_mentioning(name: str) -> frozenset[str]:
    return frozenset(
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "tests").rglob("test_*.py")
        if re.search(rf"\b{re.escape(name)}\b", path.read_text())
    )


def closest_first(mutant_name: str, tests: list[str]) -> list[str]:
    """A mutant's tests, those about its function first: the tests named after it, then
    the rest of the test files that mention it, then its app's other tests, then every
    other test that reaches it; within each, mutmut's order (fastest first).

    A service that fixtures call reaches far: ``role_assign`` is reached by 2,101 tests,
    and its 25 fastest, the first session, are in 8 files of which 3 tests are the teams
    app's; other apps' tests call it only to set up, and miss most of what a mutant
    breaks. The same tests still decide: only their order changes."""
    function, mentioned_as = _function_names(mutant_name)
    words = f"_{function}_"
    mentioning = _files_mentioning(mentioned_as)
    app_tests = f"tests/{mutant_name.split('.')[0]}/"

    def distance(test: str) -> int:
        if words in "_" + re.sub(r"[/.:\[\]-]", "_", test) + "_":
            return 0
        if test.partition("::")[0] in mentioning:
            return 1
        return 2 if test.startswith(app_tests) else 3

    return sorted(tests, key=distance)


def run_in_stages() -> None:
    """Run a mutant's tests in growing sessions, stopping at the first that fails.

    pytest collects every file a session names: a function that every fixture reaches
    (``role_assign``, the middleware) has about 2,000 tests in 62 files, 8.6 s of
    collection per mutant, while its fastest 25 tests are in 9 files (0.7 s). A mutant is
    still detected exactly when one of its tests fails: the sessions together run the
    same tests, each with ``-x``."""
    run_tests = PytestRunner.run_tests

    def in_stages(self, *, mutant_name, tests):
        tests = list(tests)
        if mutant_name is None or not tests:
            return run_tests(self, mutant_name=mutant_name, tests=tests)
        tests = closest_first(mutant_name, tests)
        bounds = [0, *(n for n in STAGES if n < len(tests)), len(tests)]
        for start, end in zip(bounds, bounds[1:], strict=False):
            exit_code = run_tests(self, mutant_name=mutant_name, tests=tests[start:end])
            if exit_code != 0:
                return exit_code
        return 0

    PytestRunner.run_tests = in_stages


class SetupTime:
    """Adds each test's setup and teardown to the time mutmut's stats pass gives it.

    mutmut times only a test's call, and hands a mutant its tests fastest first: a test
    whose fixtures start a live server or a webhook receiver went first for its short call
    (the generated client's story workflow: 1.2 s of call after 4.1 s of setup)."""

    def pytest_runtest_makereport(self, item, call):
        if call.when != "call":
            durations = mutmut_state().duration_by_test
            durations[item.nodeid] = durations.get(item.nodeid, 0) + call.duration


def stats_time_setup() -> None:
    """Give mutmut's stats pass the ``SetupTime`` plugin beside its own collector."""
    execute = PytestRunner.execute_pytest

    def execute_pytest(self, params, **kwargs):
        plugins = kwargs.get("plugins") or []
        if any(type(p).__name__ == "StatsCollector" for p in plugins):
            kwargs["plugins"] = [*plugins, SetupTime()]
        return execute(self, params, **kwargs)

    PytestRunner.execute_pytest = execute_pytest


def clean_run_forked() -> None:
    """mutmut's clean run, the whole suite unmutated, in forked children as every mutant's
    tests will run, split over two children (the machine's two cores).

    mutmut runs its stats pass, and its clean run, in its own process, then forks a child
    per mutant. What only a fork breaks passed both and failed under every mutant: the
    webhooks' background pool, started in the stats pass, had no threads in a child, and
    the slow-receiver test failed there after 30 s, a kill for every mutant it reached. A
    clean run in a fork fails the run before any mutant instead."""

    def clean_tests(self, tests):
        tests = sorted(tests or mutmut_state().duration_by_test)
        children = []
        for share in (tests[0::2], tests[1::2]):
            if not share:
                continue
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    code = self.test_runner.run_tests(mutant_name=None, tests=share)
                finally:
                    os._exit(code)
            children.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) for pid in children]
        return next((code for code in codes if code), 0)

    ForkRunner.run_clean_tests = clean_tests


if __name__ == "__main__":
    mutate_atomic_functions()
    run_in_stages()
    stats_time_setup()
    clean_run_forked()
    if sys.argv[1:2] == ["run"]:
        # The verdicts of the last run (tests/mutation_results.json), where mutants/ has none.
        mutation_results.restore(Path("mutants"))
    template = template_db.template_path(Path("mutants").resolve())
    os.environ.setdefault(template_db.ENV, str(template))
    # ``python -m tests.mutation_run`` imported this checkout's ``tests`` package; pytest,
    # run inside mutants/, must import the copy there (else ImportPathMismatchError).
    for name in [name for name in sys.modules if name.split(".")[0] == "tests"]:
        del sys.modules[name]
    sys.exit(cli())
