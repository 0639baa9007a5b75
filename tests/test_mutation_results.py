"""The mutation run's verdicts survive a fresh clone: saved from mutmut's meta files to
git, written back as meta files where none are, with the mutants not run yet."""

import json

from tests.mutation_results import restore, save, snapshot

META = {
    "exit_code_by_key": {
        "backlog.services.x_story_create__mutmut_1": 1,
        "backlog.services.x_story_create__mutmut_2": 0,
        "backlog.services.x_story_create__mutmut_3": None,
        "backlog.services.xǁThingǁrun__mutmut_1": -24,
    },
    "hash_by_function_name": {"x_story_create": "aaa", "xǁThingǁrun": "bbb"},
    "type_check_error_by_key": {},
    "durations_by_key": {"backlog.services.x_story_create__mutmut_1": 0.5},
    "estimated_durations_by_key": {},
}


def mutants_with_meta(root):
    (root / "backlog").mkdir(parents=True)
    (root / "backlog" / "services.py.meta").write_text(json.dumps(META))
    return root


def test_a_snapshot_keeps_each_functions_hash_and_the_verdicts_given(tmp_path):
    found = snapshot(mutants_with_meta(tmp_path / "mutants"))
    assert found == {
        "backlog/services.py": {
            "x_story_create": {"hash": "aaa", "verdicts": {"1": 1, "2": 0, "3": None}},
            "xǁThingǁrun": {"hash": "bbb", "verdicts": {"1": -24}},
        }
    }


def test_saved_verdicts_come_back_as_meta_files_where_none_are(tmp_path):
    results = tmp_path / "mutation_results.json"
    save(mutants_with_meta(tmp_path / "before"), results)
    assert json.loads(results.read_text()) == snapshot(tmp_path / "before")

    fresh = tmp_path / "after"
    assert restore(fresh, results) == ["backlog/services.py"]
    meta = json.loads((fresh / "backlog" / "services.py.meta").read_text())
    assert meta["hash_by_function_name"] == META["hash_by_function_name"]
    assert meta["exit_code_by_key"] == META["exit_code_by_key"]
    # mutmut's own meta, once there, is the newer: it is never overwritten.
    (fresh / "backlog" / "services.py.meta").write_text("{}")
    assert restore(fresh, results) == []
    assert (fresh / "backlog" / "services.py.meta").read_text() == "{}"


def test_nothing_is_restored_without_saved_results(tmp_path):
    assert restore(tmp_path / "mutants", tmp_path / "none.json") == []
