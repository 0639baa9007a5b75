"""The mutation report over the rule modules (`make mutation`, README "Mutation score").

Reads what `mutmut run` left in ``mutants/`` and prints, per module, how many mutants the
suite killed and which survived. A survivor judged equivalent or harmless is explained in
``tests/mutation_survivors.toml`` (mutant name = "why"; a function's name = "why" covers its
mutants that no rule test reaches); the report lists every other one as unexplained and
exits non-zero while any is, while any mutant has not run, or while the score is under the
goal.
"""

import json
import sys
import tomllib
from collections import Counter
from pathlib import Path

from tests import mutation_results

GOAL = 0.90
ROOT = Path(__file__).resolve().parent.parent
EXPLAINED = ROOT / "tests" / "mutation_survivors.toml"
# mutmut's exit codes (mutmut/stats.py): 1 and 3 are kills, 0 a survivor. A timeout is
# mutmut's SIGXCPU, sent at a CPU limit and at a wall-clock limit (15 x the mutant's tests'
# time in the stats pass plus ``timeout_constant``): the tests did not finish under the
# mutant (an endless loop, or Hypothesis shrinking a failure), so it counts as detected,
# in its own column. The limit is generous (pyproject.toml) so that load does not cause it.
STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", None: "not run"}
STATUS |= dict.fromkeys((36, 24, -24, 152, 255), "timeout")
DETECTED = ("killed", "timeout")


def results(mutants: Path, saved: Path = mutation_results.RESULTS) -> dict[str, dict[str, str]]:
    """module path -> {mutant name: status}: what mutmut left in ``mutants/``, or on a clone
    where it has run nothing yet, the verdicts saved from the last run."""
    found = {}
    for meta in sorted(mutants.rglob("*.py.meta")):
        module = str(meta.relative_to(mutants))[: -len(".meta")]
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        found[module] = {name: STATUS.get(code, "timeout or crash") for name, code in codes.items()}
    if found or not saved.exists():
        return found
    for module, functions in json.loads(saved.read_text()).items():
        prefix = module.removesuffix(".py").replace("/", ".")
        found[module] = {
            f"{prefix}.{function}{mutation_results.MARK}{number}": STATUS.get(code, "crash")
            for function, kept in functions.items()
            for number, code in kept["verdicts"].items()
        }
    return found


def explanation(explained: dict[str, str], name: str, status: str) -> str | None:
    """Why a mutant that was not detected is harmless: its own entry, or, for a mutant no
    rule test reaches, its function's entry (code only PostgreSQL runs, say: the mutation
    run is on SQLite, and CI tests that code on PostgreSQL)."""
    if name in explained:
        return explained[name]
    if status == "no tests":
        return explained.get(name.rsplit("__mutmut_", 1)[0])
    return None


def main(
    mutants: Path = ROOT / "mutants",
    explanations: Path = EXPLAINED,
    saved: Path = mutation_results.RESULTS,
) -> int:
    found = results(mutants, saved)
    if not found:
        print("no mutation results: run `make mutation` first", file=sys.stderr)
        return 2
    explained = tomllib.loads(explanations.read_text()) if explanations.exists() else {}
    total = Counter()
    unexplained = []
    print(
        f"{'module':40} {'mutants':>8} {'not run':>8} {'killed':>8} {'timeout':>8} "
        f"{'survived':>9} {'other':>6} {'score':>7}"
    )
    for module, mutants in found.items():
        counts = Counter(mutants.values())
        run = len(mutants) - counts["not run"]
        detected = counts["killed"] + counts["timeout"]
        score = f"{detected / run:7.1%}" if run else "    -  "
        other = run - detected - counts["survived"]
        print(
            f"{module:40} {len(mutants):8} {counts['not run']:8} {counts['killed']:8} "
            f"{counts['timeout']:8} {counts['survived']:9} {other:6} {score}"
        )
        total.update(counts)
        for name, status in sorted(mutants.items()):
            if status not in (*DETECTED, "not run"):
                reason = explanation(explained, name, status)
                if reason is None:
                    unexplained.append((name, status))
                else:
                    print(f"    {name}: {status}: {reason}")
    run = sum(total.values()) - total["not run"]
    detected = total["killed"] + total["timeout"]
    score = detected / run if run else 0.0
    print(
        f"\nin all: {detected} of {run} mutants run killed or timed out "
        f"({score:.1%}; goal {GOAL:.0%})"
    )
    if total["not run"]:
        print(f"{total['not run']} mutants not run yet: this report is partial")
    for name, status in unexplained:
        print(f"UNEXPLAINED {status}: {name}  (mutmut show {name})")
    return 0 if score >= GOAL and not unexplained and not total["not run"] else 1


if __name__ == "__main__":
    sys.exit(main())
