"""Hand-written SELECTs for the hottest reads (issue 17), with rows turned into model
instances exactly as the ORM would turn them.

Building a query through the ORM costs about a millisecond of Python per request
(lookups, joins, the compiler); a request path that runs on every API call (the token's
person) or on every story PATCH writes its SQL once, by hand, and uses this module to
read the columns back: the backend's and the fields' converters are applied as the
ORM's compiler applies them (SQLite's booleans and datetimes, time zones), and
``Model.from_db`` builds the instance, so the result is the same object a queryset
would give.
"""

import contextlib
import functools

from django.db import connection
from django.db.models.expressions import Col


class ModelColumns:
    """Every concrete column of ``model`` (or the ``only`` ones) under the table alias
    ``alias``: ``select`` is the SQL list, ``values(row, start)`` the converted values of
    ``row[start:]``, ``instance(row, start)`` the model built from them."""

    def __init__(self, model, alias: str, only: tuple[str, ...] = ()):
        self.model, self.alias = model, alias
        fields = model._meta.concrete_fields
        self.fields = [model._meta.get_field(name) for name in only] if only else list(fields)
        self.names = [f.attname for f in self.fields]
        self.select = ", ".join(f'{alias}."{f.column}"' for f in self.fields)
        self.width = len(self.fields)
        self._converters: dict[str, list] = {}

    def converters(self) -> list:
        """(index, converters, expression) for the columns that need converting, once per
        database vendor, as ``SQLCompiler.get_converters`` computes them."""
        vendor = connection.vendor
        if vendor not in self._converters:
            found = []
            for i, field in enumerate(self.fields):
                column = Col(self.alias, field)
                convert = connection.ops.get_db_converters(column) + field.get_db_converters(
                    connection
                )
                if convert:
                    found.append((i, convert, column))
            self._converters[vendor] = found
        return self._converters[vendor]

    def values(self, row, start: int = 0) -> list:
        values = list(row[start : start + self.width])
        for i, convert, column in self.converters():
            value = values[i]
            for converter in convert:
                value = converter(value, column, connection)
            values[i] = value
        return values

    def instance(self, row, start: int = 0):
        return self.model.from_db(connection.alias, self.names, self.values(row, start))


def fetch_rows(sql: str, params: list) -> list[tuple]:
    """The rows of a hand-written SELECT (reads only: the callers are selectors)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _prepared_cursor_classes():
    """psycopg's cursor that binds on the server and Django's debug wrapper for it
    (imported late: the PostgreSQL backend is only loaded where it is used)."""
    from django.db.backends.postgresql.base import ServerBindingCursor
    from django.db.backends.utils import CursorDebugWrapper

    class PreparedDebugCursor(CursorDebugWrapper):
        # Django logs the text psycopg last sent, which a prepared statement does not
        # keep; log the statement with its parameters inlined, as for any other query.
        @contextlib.contextmanager
        def debug_sql(self, sql=None, params=None, use_last_executed_query=False, many=False):
            with super().debug_sql(self.db.ops.compose_sql(sql, params), many=many):
                yield

    return ServerBindingCursor, PreparedDebugCursor


def fetch_rows_prepared(sql: str, params: dict) -> list[tuple]:
    """The rows of a hot PostgreSQL statement, planned once per connection.

    Django binds parameters on the client, so PostgreSQL plans every statement afresh:
    the story move by token plans in 1.2 ms and runs in 0.4 ms (EXPLAIN ANALYZE), and
    planning it once per connection took the story PATCH from about 380 to 660 a second
    on the 2-core machine (README, "Story PATCH through the REST API"). This binds on the
    server, where psycopg prepares a statement on its first run (``prepare_threshold`` 0,
    sem/settings.py) and keeps it per connection, by its text and parameter types; a new
    connection prepares it again. Wrapped as Django wraps its own cursors: errors
    translated, logged with its text, seen by the query-count tests.
    PostgreSQL only; the statement may write (its callers are services)."""
    server_binding_cursor, debug_cursor = _prepared_cursor_classes()
    connection.ensure_connection()
    raw = server_binding_cursor(connection.connection)
    wrapped = (
        debug_cursor(raw, connection) if connection.queries_logged else connection.make_cursor(raw)
    )
    with wrapped as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()
