"""`mutmut`, letting it mutate the services decorated with ``@transaction.atomic``.

mutmut 3 leaves every decorated function alone (a decorator may run side effects when the
function is copied for its trampoline, or cache, or be a property). That silently left out
of the mutation score nearly every service that writes: 89 of them carry
``@transaction.atomic``, which has none of those hazards, since the trampoline and each
copy keep the decorator and a nested atomic block is a savepoint. Functions decorated by
``transaction.atomic`` alone are mutated here; every other decorator is skipped as before.

Each mutant's pytest session copies its in-memory test database from a template built by
the first session instead of migrating (``tests/template_db.py``): 5.8 s of setup saved per
mutant.

Run as mutmut itself: ``uv run python -m tests.mutation_run run [MUTANTS]`` (``make
mutation``)."""

import os
import sys
from pathlib import Path

import libcst as cst
from mutmut.__main__ import cli
from mutmut.mutation.file_mutation import MutationVisitor

from tests import template_db


def _is_transaction_atomic(decorator: cst.BaseExpression) -> bool:
    return (
        isinstance(decorator, cst.Attribute)
        and isinstance(decorator.value, cst.Name)
        and decorator.value.value == "transaction"
        and decorator.attr.value == "atomic"
    )


def mutate_atomic_functions() -> None:
    skip = MutationVisitor._skip_node_and_children

    def skip_unless_atomic(self, node: cst.CSTNode) -> bool:
        if not (
            isinstance(node, cst.FunctionDef)
            and node.decorators
            and all(_is_transaction_atomic(d.decorator) for d in node.decorators)
        ):
            return skip(self, node)
        # mutmut's other checks (pragmas, names it never mutates) still apply: run them on
        # the same node (its position metadata is keyed by identity) without decorators.
        decorators = node.decorators
        object.__setattr__(node, "decorators", ())
        try:
            return skip(self, node)
        finally:
            object.__setattr__(node, "decorators", decorators)

    MutationVisitor._skip_node_and_children = skip_unless_atomic


if __name__ == "__main__":
    mutate_atomic_functions()
    template = template_db.template_path(Path("mutants").resolve())
    os.environ.setdefault(template_db.ENV, str(template))
    sys.exit(cli())
