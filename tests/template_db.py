"""An in-memory SQLite test database copied from a template instead of migrated.

The mutation run starts one pytest session per mutant, and each session built its test
database by running every migration: 5.8 s of setup before tests that take 0.1 s. With
``SEMFLOW_TEST_DB_TEMPLATE`` naming a file, the first session migrates as usual and saves
the result there; every later session copies that file into its own in-memory database
(SQLite's backup API, schema, triggers and rows alike) and skips the migrations.

The template's name carries a digest of the migrations (``template_path``), so a changed
migration builds a new one. Only the mutation run sets the variable; the suite itself
always migrates.
"""

import hashlib
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from django.conf import settings
from django.db.backends.sqlite3.creation import DatabaseCreation

ENV = "SEMFLOW_TEST_DB_TEMPLATE"
ROOT = Path(__file__).resolve().parent.parent


def template_path(directory: Path, root: Path = ROOT) -> Path:
    digest = hashlib.sha256()
    for migration in sorted(root.glob("*/migrations/*.py")):
        digest.update(str(migration.relative_to(root)).encode())
        digest.update(migration.read_bytes())
    return directory / f"test-db-{digest.hexdigest()[:16]}.sqlite3"


def install(template: Path) -> None:
    migrate = DatabaseCreation.create_test_db

    def create_test_db(self, verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        name = self._get_test_db_name()
        if not self.is_in_memory_db(name):
            return migrate(self, verbosity, autoclobber, serialize, keepdb)
        if not template.exists():
            migrate(self, verbosity, autoclobber, serialize, keepdb)
            # Written aside and renamed: a session starting meanwhile sees no half a file.
            template.parent.mkdir(parents=True, exist_ok=True)
            partial = template.with_name(f"{template.name}.{os.getpid()}.part")
            with closing(sqlite3.connect(partial)) as copy:
                self.connection.connection.backup(copy)
            os.replace(partial, template)
            return name
        if verbosity >= 1:
            self.log(f"Copying test database for alias {self.connection.alias!r} from {template}")
        self.connection.close()
        settings.DATABASES[self.connection.alias]["NAME"] = name
        self.connection.settings_dict["NAME"] = name
        self.connection.ensure_connection()
        with closing(sqlite3.connect(template)) as source:
            source.backup(self.connection.connection)
        if serialize:
            self.connection._test_serialized_contents = self.serialize_db_to_string()
        return name

    DatabaseCreation.create_test_db = create_test_db
