"""The mutation run mutates the ``@transaction.atomic`` services that mutmut alone skips,
keeps their decorator on the trampoline, and still skips every other decorator."""

import pytest
from mutmut.mutation import file_mutation
from mutmut.mutation.file_mutation import MutationVisitor, mutate_file_contents

from tests.mutation_run import mutate_atomic_functions

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
