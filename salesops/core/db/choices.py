"""Filter choices from a small table: the distinct values of a free-text column, kept in
``core.ChoiceValue`` by triggers on the column's table (insert, and update of the column),
so every writer — forms, bulk imports, PostgreSQL COPY — records a new value. A list then
offers them with one indexed read of a few rows (``choice_values``), never a ``SELECT
DISTINCT`` over the big table.
"""

# ruff: noqa: S608 - the SQL here is built from identifiers declared in code
# (tables, columns); every user-typed value is a bound parameter.
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from salesops.core.models import ChoiceValue

_TABLE = "core_choicevalue"
_SOURCES: list[ChoiceSource] = []


@dataclass(frozen=True)
class ChoiceSource:
    domain: str  # e.g. "sales.customer.source"
    table: str
    column: str

    def __post_init__(self) -> None:
        if self not in _SOURCES:
            _SOURCES.append(self)

    @property
    def _name(self) -> str:
        return f"{self.table}_{self.column}_choices"

    def ensure(self, connection: Any) -> bool:
        """Create the triggers when missing and then record the values the table holds
        (the one DISTINCT, at migration time); True when they were missing."""
        d, t, c = self.domain, self.table, self.column
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                cur.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name IN "
                    "(%s, %s)",
                    (f"{self._name}_ai", f"{self._name}_au"),
                )
                if cur.fetchone()[0] == 2:
                    return False
                record = (
                    f"INSERT OR IGNORE INTO {_TABLE}(domain, value) "
                    f"SELECT '{d}', new.{c} WHERE new.{c} <> '';"
                )
                cur.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {self._name}_ai AFTER INSERT ON {t} "
                    f"BEGIN {record} END"
                )
                cur.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {self._name}_au AFTER UPDATE OF {c} "
                    f"ON {t} BEGIN {record} END"
                )
                conflict = "INSERT OR IGNORE INTO"
                tail = ""
            else:
                cur.execute("SELECT 1 FROM pg_trigger WHERE tgname = %s", (self._name,))
                if cur.fetchone() is not None:
                    return False
                cur.execute(
                    f"CREATE OR REPLACE FUNCTION {self._name}() RETURNS trigger "
                    "LANGUAGE plpgsql AS $$ BEGIN "
                    f"IF NEW.{c} <> '' THEN INSERT INTO {_TABLE}(domain, value) "
                    f"VALUES ('{d}', NEW.{c}) ON CONFLICT DO NOTHING; END IF; "
                    "RETURN NULL; END $$"
                )
                cur.execute(f"DROP TRIGGER IF EXISTS {self._name} ON {t}")
                cur.execute(
                    f"CREATE TRIGGER {self._name} AFTER INSERT OR UPDATE OF {c} ON {t} "
                    f"FOR EACH ROW EXECUTE FUNCTION {self._name}()"
                )
                conflict = "INSERT INTO"
                tail = " ON CONFLICT DO NOTHING"
            cur.execute(
                f"{conflict} {_TABLE}(domain, value) SELECT DISTINCT '{d}', {c} FROM {t} "
                f"WHERE {c} <> ''{tail}"
            )
        return True

    def drop(self, connection: Any) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                cur.execute(f"DROP TRIGGER IF EXISTS {self._name}_ai")
                cur.execute(f"DROP TRIGGER IF EXISTS {self._name}_au")
            else:
                cur.execute(f"DROP TRIGGER IF EXISTS {self._name} ON {self.table}")
                cur.execute(f"DROP FUNCTION IF EXISTS {self._name}()")


def ensure_all(connection: Any) -> None:
    """Every registered source whose table exists (``post_migrate``: SQLite drops a
    table's triggers when a migration rebuilds it)."""
    tables = set(connection.introspection.table_names())
    for source in _SOURCES:
        if {source.table, _TABLE} <= tables:
            source.ensure(connection)


def choice_values(domain: str, limit: int) -> list[str]:
    """The recorded values of ``domain``, sorted (the unique index serves the read)."""
    return list(
        ChoiceValue.objects.filter(domain=domain)
        .order_by("value")
        .values_list("value", flat=True)[:limit]
    )


def migration_operations(source: ChoiceSource) -> list[Any]:
    from django.db import migrations

    def forwards(apps: Any, schema_editor: Any) -> None:
        source.ensure(schema_editor.connection)

    def backwards(apps: Any, schema_editor: Any) -> None:
        source.drop(schema_editor.connection)

    return [migrations.RunPython(forwards, backwards, elidable=False)]
