"""The mutation run's verdicts, kept in git so the next run goes on where the last stopped.

A run over every rule module takes hours on a small machine, longer than one sitting, and
mutmut keeps its verdicts only in ``mutants/`` (ignored by git). ``save`` writes each
mutated function's source hash and its mutants' verdicts to ``tests/mutation_results.json``;
``restore`` writes them back as mutmut's ``.meta`` files into a ``mutants/`` that has none.
mutmut then keeps a verdict only while its function's hash is unchanged (a changed
function's mutants run again) and runs what has no verdict yet. A survivor whose new test
should kill it is run again by naming it (``make mutation MUTANTS=...``)."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "tests" / "mutation_results.json"
MARK = "__mutmut_"


def _module(source: str) -> str:
    return source.removesuffix(".py").replace("/", ".")


def snapshot(mutants: Path) -> dict:
    """source path -> function -> {"hash", "verdicts": {mutant number: mutmut exit code}};
    a mutant not run yet has none (null), so the report can count what is left."""
    found = {}
    for meta_path in sorted(mutants.rglob("*.py.meta")):
        source = meta_path.relative_to(mutants).as_posix().removesuffix(".meta")
        meta = json.loads(meta_path.read_text())
        functions = {
            name: {"hash": digest, "verdicts": {}}
            for name, digest in sorted(meta["hash_by_function_name"].items())
        }
        prefix = _module(source) + "."
        for key, code in meta["exit_code_by_key"].items():
            function, _, number = key.removeprefix(prefix).rpartition(MARK)
            if function in functions:
                functions[function]["verdicts"][number] = code
        found[source] = functions
    return found


def save(mutants: Path, results: Path = RESULTS) -> None:
    """One line per function, so a later run's change reads as a diff of its functions."""
    lines = []
    for source, functions in snapshot(mutants).items():
        rows = [f"  {json.dumps(f)}: {json.dumps(saved)}" for f, saved in functions.items()]
        lines.append(f" {json.dumps(source)}: {{\n" + ",\n".join(rows) + "\n }")
    results.write_text("{\n" + ",\n".join(lines) + "\n}\n")


def restore(mutants: Path, results: Path = RESULTS) -> list[str]:
    """Write the saved verdicts as mutmut's meta files where ``mutants`` has none; returns
    the source paths restored."""
    if not results.exists():
        return []
    restored = []
    for source, functions in json.loads(results.read_text()).items():
        meta_path = mutants / f"{source}.meta"
        if meta_path.exists():
            continue
        prefix = _module(source) + "."
        meta_path.parent.mkdir(parents=True, exist_ok=True)
        meta_path.write_text(
            json.dumps(
                {
                    "exit_code_by_key": {
                        f"{prefix}{function}{MARK}{number}": code
                        for function, saved in functions.items()
                        for number, code in saved["verdicts"].items()
                    },
                    "hash_by_function_name": {f: saved["hash"] for f, saved in functions.items()},
                    "type_check_error_by_key": {},
                    "durations_by_key": {},
                    "estimated_durations_by_key": {},
                }
            )
        )
        restored.append(source)
    return restored


if __name__ == "__main__":
    # `uv run python -m tests.mutation_results`: save what mutants/ holds (make mutation does).
    save(Path("mutants"))
