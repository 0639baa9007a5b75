"""The mutation report (tests/mutation_report.py): what counts as detected, that every
survivor must be explained, that a function's entry covers only its mutants no test
reaches, and that a partial run or a score under the goal fails."""

import json

from tests.mutation_report import main


def run(tmp_path, codes: dict[str, int | None], explained: str = "") -> int:
    module = tmp_path / "mutants" / "rules"
    module.mkdir(parents=True, exist_ok=True)
    (module / "services.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    (tmp_path / "explained.toml").write_text(explained)
    return main(tmp_path / "mutants", tmp_path / "explained.toml", tmp_path / "none.json")


KILLED = {f"rules.services.x_close__mutmut_{n}": 1 for n in range(1, 19)}


def test_every_mutant_killed_or_timed_out_passes(tmp_path, capsys):
    assert run(tmp_path, KILLED | {"rules.services.x_close__mutmut_19": 36}) == 0
    assert "in all: 19 of 19 mutants run killed or timed out (100.0%; goal 90%)" in (
        capsys.readouterr().out
    )


def test_a_survivor_fails_the_report_until_it_is_explained(tmp_path, capsys):
    codes = KILLED | {"rules.services.x_close__mutmut_19": 0}
    assert run(tmp_path, codes) == 1
    assert "UNEXPLAINED survived: rules.services.x_close__mutmut_19" in capsys.readouterr().out
    explained = '"rules.services.x_close__mutmut_19" = "equivalent: same order"\n'
    assert run(tmp_path, codes, explained) == 0
    assert "x_close__mutmut_19: survived: equivalent: same order" in capsys.readouterr().out


def test_a_functions_entry_covers_its_mutants_no_test_reaches_not_its_survivors(tmp_path):
    explained = '"rules.services.x_pg_only" = "PostgreSQL only: tested there in CI"\n'
    unreached = {"rules.services.x_pg_only__mutmut_1": 33}
    assert run(tmp_path, KILLED | unreached, explained) == 0
    survivor = {"rules.services.x_pg_only__mutmut_2": 0}
    assert run(tmp_path, KILLED | unreached | survivor, explained) == 1


def test_a_partial_run_or_a_score_under_the_goal_fails(tmp_path, capsys):
    assert run(tmp_path, KILLED | {"rules.services.x_close__mutmut_19": None}) == 1
    assert "1 mutants not run yet: this report is partial" in capsys.readouterr().out
    survivors = {f"rules.services.x_open__mutmut_{n}": 0 for n in range(1, 4)}
    explained = "".join(f'"{name}" = "harmless"\n' for name in survivors)
    # 18 of 21 detected: 85.7 %
    assert run(tmp_path, KILLED | survivors, explained) == 1


def test_a_clone_that_has_run_nothing_reports_the_saved_verdicts(tmp_path, capsys):
    saved = tmp_path / "mutation_results.json"
    verdicts = {"1": 1, "2": 36, "3": 0, "4": None}
    saved.write_text(
        json.dumps({"rules/services.py": {"x_close": {"hash": "a", "verdicts": verdicts}}})
    )
    (tmp_path / "explained.toml").write_text("")
    assert main(tmp_path / "mutants", tmp_path / "explained.toml", saved) == 1
    out = capsys.readouterr().out
    assert "in all: 2 of 3 mutants run killed or timed out (66.7%; goal 90%)" in out
    assert "1 mutants not run yet: this report is partial" in out
    assert "UNEXPLAINED survived: rules.services.x_close__mutmut_3" in out
