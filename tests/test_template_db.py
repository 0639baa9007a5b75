"""The mutation run's template test database (tests/template_db.py): the first session
migrates and saves it, a later one copies it, and the copy holds what only the migrations
make (the trigger that keeps a closed Flow Sprint's figures frozen)."""

import os
import subprocess
import sys

from tests.template_db import ENV, ROOT, template_path

FROZEN = "tests/flow/test_services.py::test_the_database_refuses_to_rewrite_a_closed_sprint"


def session(template, *args):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {ENV: str(template)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-s", "-v", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_first_session_migrates_and_saves_the_template_a_later_one_copies_it(tmp_path):
    template = template_path(tmp_path)

    first = session(template, FROZEN)
    assert first.returncode == 0, first.stdout + first.stderr
    assert template.exists()
    assert "Copying test database" not in first.stderr

    again = session(template, FROZEN)
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Copying test database for alias 'default' from {template}" in again.stderr
    assert "4 passed" in again.stdout


def test_a_changed_or_added_migration_names_another_template(tmp_path):
    app = tmp_path / "project" / "flow" / "migrations"
    app.mkdir(parents=True)
    (app / "0001_initial.py").write_text("operations = []\n")
    names = [template_path(tmp_path, tmp_path / "project")]
    (app / "0001_initial.py").write_text("operations = [1]\n")
    names.append(template_path(tmp_path, tmp_path / "project"))
    (app / "0002_more.py").write_text("")
    names.append(template_path(tmp_path, tmp_path / "project"))
    assert len(set(names)) == 3
    assert template_path(tmp_path) == template_path(tmp_path)
