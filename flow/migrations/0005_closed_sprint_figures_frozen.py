"""A closed Flow Sprint's frozen figures cannot be rewritten, whatever writes the row.

A CHECK constraint sees only the new row, so "closed stays closed with the same figures"
needs a trigger comparing OLD and NEW. It is a few lines on both supported databases
(SQLite and PostgreSQL); the services never attempt such a write, so the trigger only
ever stops a path that bypasses them (the admin's form, a shell, a raw UPDATE).
"""

from django.db import migrations

MESSAGE = (
    "flowsprint_closed_is_frozen: a closed Flow Sprint keeps its state, closing time and figures"
)

CHANGED = (
    "NEW.state IS NOT OLD.state OR NEW.closed_at IS NOT OLD.closed_at"
    " OR NEW.figures IS NOT OLD.figures"
)

SQLITE = [
    f"""
    CREATE TRIGGER flowsprint_closed_is_frozen
    BEFORE UPDATE ON flow_flowsprint
    FOR EACH ROW WHEN OLD.state = 'closed' AND ({CHANGED})
    BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END
    """,
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS flowsprint_closed_is_frozen"]

POSTGRESQL = [
    f"""
    CREATE FUNCTION flowsprint_closed_is_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF OLD.state = 'closed' AND ({CHANGED.replace("IS NOT", "IS DISTINCT FROM")}) THEN
            RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = '{MESSAGE}';
        END IF;
        RETURN NEW;
    END $$
    """,
    """
    CREATE TRIGGER flowsprint_closed_is_frozen
    BEFORE UPDATE ON flow_flowsprint
    FOR EACH ROW EXECUTE FUNCTION flowsprint_closed_is_frozen()
    """,
]
POSTGRESQL_DROP = [
    "DROP TRIGGER IF EXISTS flowsprint_closed_is_frozen ON flow_flowsprint",
    "DROP FUNCTION IF EXISTS flowsprint_closed_is_frozen()",
]


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements[schema_editor.connection.vendor]:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("flow", "0004_sprint_figures"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}),
        ),
    ]
