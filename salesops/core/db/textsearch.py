"""Substring search served by an index: "the rows whose name, code or phone contains
this text" without reading a million-row table.

``LIKE '%…%'`` cannot use a b-tree, so a list's search box read every row of its table
(the customers' 1.5 s, the orders' 3.7 s at a million rows: docs/performance.md, "List
pages"). A ``TrigramIndex`` names a table and the text columns searched on it:

* on SQLite, an FTS5 table with the ``trigram`` tokenizer (SQLite ≥ 3.34) over those
  columns, with the table itself as its external content, kept in step by triggers on
  insert, update of the columns and delete — so bulk inserts, raw deletes and imports are
  covered, whoever writes. A phrase query on it is a substring match of three or more
  characters, case-folded as ``LIKE`` is for ASCII;
* on PostgreSQL, one ``pg_trgm`` GIN index per column on ``UPPER(column::text)``, the
  very expression Django's ``icontains`` compares, so the query stays ``icontains``
  (same rows by construction) and the planner turns it into a bitmap index scan.

A term shorter than three characters has no trigram: ``q`` answers None and the caller
falls back to ``icontains`` (a scan, but one that stops at the first page when the term
is common, as two-character Chinese names are: 客户, 张伟).

``ensure`` creates what is missing and is idempotent; the migration that introduces an
index calls it, and so does ``post_migrate`` (core's ``apps.py``), because SQLite drops
a table's triggers when a later migration rebuilds the table to alter a column: the FTS
content is then rebuilt from the table.
"""

# ruff: noqa: S608, S611 - the SQL here is built from identifiers declared in code
# (tables, columns); every user-typed value is a bound parameter.
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.models import Q
from django.db.models.expressions import RawSQL

logger = logging.getLogger(__name__)

TRIGRAM = 3  # the shortest term an index can answer

_INDEXES: list[TrigramIndex] = []


@dataclass(frozen=True)
class TrigramIndex:
    table: str
    columns: tuple[str, ...]
    pk: str = "id"

    def __post_init__(self) -> None:
        if self not in _INDEXES:
            _INDEXES.append(self)

    @property
    def fts(self) -> str:
        return f"{self.table}_fts"

    def _trigger(self, what: str) -> str:
        return f"{self.table}_fts_{what}"

    # ------------------------------------------------------------------ queries

    def q(self, text: str, columns: tuple[str, ...] | list[str], *, prefix: str = "") -> Q | None:
        """Rows where any of ``columns`` contains ``text`` (``icontains``), through the
        index; None when the term is too short for trigrams (fall back to icontains).
        ``prefix``: the lookup path from the queried model to this table's rows (e.g.
        ``customer__`` on orders)."""
        unknown = set(columns) - set(self.columns)
        if unknown:
            raise ValueError(f"{self.table}: no trigram index on {sorted(unknown)}")
        if len(text) < TRIGRAM or not columns:
            return None
        vendor = connections["default"].vendor
        if vendor == "sqlite":
            # A phrase of the whole text: quotes doubled, so nothing in it is syntax.
            phrase = '"' + text.replace('"', '""') + '"'
            match = "{" + " ".join(columns) + "} : " + phrase
            sub = RawSQL(f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s", (match,))
            return Q(**{f"{prefix}pk__in": sub})
        if not prefix:
            cond = Q()
            for col in columns:
                cond |= Q(**{f"{prefix}{col}__icontains": text})
            return cond
        # Through a relation: the matching rows' ids as a subquery of their own table (its
        # indexes), not a join that would put the test behind the other table's scan.
        conn = connections["default"]
        pattern = "%" + conn.ops.prep_for_like_query(text) + "%"
        tests = " OR ".join(f'UPPER("{c}"::text) LIKE UPPER(%s)' for c in columns)
        sub = RawSQL(
            f'SELECT "{self.pk}" FROM {self.table} WHERE {tests}', (pattern,) * len(columns)
        )
        return Q(**{f"{prefix}pk__in": sub})

    # ------------------------------------------------------------------ schema

    def ensure(self, connection: Any) -> bool:
        """Create the FTS table / trigram indexes and triggers that are missing; True when
        something was created (SQLite: the FTS content is then rebuilt from the table)."""
        if connection.vendor == "sqlite":
            return self._ensure_sqlite(connection)
        if connection.vendor == "postgresql":
            return self._ensure_postgresql(connection)
        return False

    def drop(self, connection: Any) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                for what in ("ai", "ad", "au"):
                    cur.execute(f"DROP TRIGGER IF EXISTS {self._trigger(what)}")
                cur.execute(f"DROP TABLE IF EXISTS {self.fts}")
            elif connection.vendor == "postgresql":
                for col in self.columns:
                    cur.execute(f"DROP INDEX IF EXISTS {self.table}_{col}_trgm")

    def _ensure_sqlite(self, connection: Any) -> bool:
        cols = ", ".join(self.columns)
        new = ", ".join(f"new.{c}" for c in self.columns)
        old = ", ".join(f"old.{c}" for c in self.columns)
        delete = (
            f"INSERT INTO {self.fts}({self.fts}, rowid, {cols}) "
            f"VALUES ('delete', old.{self.pk}, {old});"
        )
        insert = f"INSERT INTO {self.fts}(rowid, {cols}) VALUES (new.{self.pk}, {new});"
        triggers = {
            self._trigger("ai"): f"AFTER INSERT ON {self.table} BEGIN {insert} END",
            self._trigger("ad"): f"AFTER DELETE ON {self.table} BEGIN {delete} END",
            self._trigger("au"): (
                f"AFTER UPDATE OF {cols} ON {self.table} BEGIN {delete} {insert} END"
            ),
        }
        with connection.cursor() as cur:
            cur.execute(
                "SELECT type, name FROM sqlite_master WHERE name = %s OR tbl_name = %s",
                (self.fts, self.table),
            )
            have = {name for _type, name in cur.fetchall()}
            created = False
            if self.fts not in have:
                cur.execute(
                    f"CREATE VIRTUAL TABLE {self.fts} USING fts5({cols}, "
                    f"content='{self.table}', content_rowid='{self.pk}', tokenize='trigram')"
                )
                created = True
            for name, body in triggers.items():
                if name not in have:
                    cur.execute(f"CREATE TRIGGER {name} {body}")
                    created = True
            if created:
                # The index as the table is now (rows written while a trigger was missing
                # included): FTS5 reads the content table again.
                cur.execute(f"INSERT INTO {self.fts}({self.fts}) VALUES ('rebuild')")
        return created

    def _ensure_postgresql(self, connection: Any) -> bool:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
            if cur.fetchone() is None:
                try:
                    with connection.cursor() as c2, _savepoint(connection):
                        c2.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                except Exception:  # no right to create it: search still works, without the index
                    logger.warning(
                        "pg_trgm could not be created: %s is searched without an index",
                        self.table,
                    )
                    return False
            created = False
            for col in self.columns:
                name = f"{self.table}_{col}_trgm"
                cur.execute("SELECT 1 FROM pg_class WHERE relname = %s", (name,))
                if cur.fetchone() is None:
                    cur.execute(
                        f'CREATE INDEX {name} ON {self.table} USING gin (UPPER("{col}"::text) '
                        "gin_trgm_ops)"
                    )
                    created = True
        return created


def _savepoint(connection: Any) -> Any:
    from django.db import transaction

    return transaction.atomic(using=connection.alias)


def ensure_all(connection: Any) -> None:
    """Every registered index whose table exists (``post_migrate``)."""
    tables = set(connection.introspection.table_names())
    for index in _INDEXES:
        if index.table in tables and index.ensure(connection):
            logger.info("trigram search index of %s (re)created", index.table)


def migration_operations(index: TrigramIndex) -> list[Any]:
    """The migration step that creates ``index`` (and drops it when reversed)."""
    from django.db import migrations

    def forwards(apps: Any, schema_editor: Any) -> None:
        index.ensure(schema_editor.connection)

    def backwards(apps: Any, schema_editor: Any) -> None:
        index.drop(schema_editor.connection)

    return [migrations.RunPython(forwards, backwards, elidable=False)]
