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

A term shorter than three characters has no trigram: ``q`` answers None. One or two
characters — a Chinese short name, 华为, 张伟 — are answered by a ``GramIndex`` over the
same columns (every one- and two-character substring of each value, indexed): the rows
containing the term when they are few; when the term is common (公司, 客户: more than
``GRAM_RARE`` rows) it answers None too and the caller's ``icontains`` stops at the first
page.

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

TRIGRAM = 3  # the shortest term a trigram index can answer
# A term of one or two characters in at most this many rows of the table is searched
# through its GramIndex; a more common one by ``icontains``, whose scan finds a page and
# the capped count (core.listing.COUNT_CAP) of such a term without reading much of it.
# (setting ``SALESOPS_GRAM_RARE``).
GRAM_RARE = 10_000


def gram_rare() -> int:
    from django.conf import settings

    return int(getattr(settings, "SALESOPS_GRAM_RARE", GRAM_RARE))


# Rows found through a relation's index (orders by customer or member name) are written
# into the query as ids up to this many.
ID_LIST_MAX = 10_000

_INDEXES: list[TrigramIndex | GramIndex] = []


class _PerVendor:
    """``ensure``: create what is missing of an index (FTS table or trigram / gram
    indexes, and the triggers); True when something was created (SQLite: its content is
    then written again from the table). Each index says how per database."""

    def ensure(self, connection: Any) -> bool:
        if connection.vendor == "sqlite":
            return self._ensure_sqlite(connection)
        if connection.vendor == "postgresql":
            return self._ensure_postgresql(connection)
        return False

    def _ensure_sqlite(self, connection: Any) -> bool:
        raise NotImplementedError

    def _ensure_postgresql(self, connection: Any) -> bool:
        raise NotImplementedError


@dataclass(frozen=True)
class TrigramIndex(_PerVendor):
    table: str
    columns: tuple[str, ...]
    pk: str = "id"

    def __post_init__(self) -> None:
        if self not in _INDEXES:
            _INDEXES.append(self)

    def answers(self, text: str) -> bool:
        """Whether the index can answer ``text`` (three characters or more)."""
        return len(text) >= TRIGRAM

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
        # Through a relation: the matching rows' ids, read first from their own table (its
        # indexes) and written as a list — a join would put the test behind the other
        # table's scan, and as a subquery the planner guessed 100 matching customers (of
        # none) and hashed every order against them (1.4 s); a list too long stays a
        # subquery.
        conn = connections["default"]
        pattern = "%" + conn.ops.prep_for_like_query(text) + "%"
        tests = " OR ".join(f'UPPER("{c}"::text) LIKE UPPER(%s)' for c in columns)
        sql = f'SELECT "{self.pk}" FROM {self.table} WHERE {tests}'
        params = (pattern,) * len(columns)
        with conn.cursor() as cur:
            cur.execute(f"{sql} LIMIT {ID_LIST_MAX + 1}", params)
            ids = [row[0] for row in cur.fetchall()]
        if len(ids) <= ID_LIST_MAX:
            return Q(**{f"{prefix}pk__in": ids})
        return Q(**{f"{prefix}pk__in": RawSQL(sql, params)})

    # ------------------------------------------------------------------ schema

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


# ------------------------------------------------------------------ short terms

# SQLite: the positions 1..GRAM_POSITIONS a value's grams are taken from (a trigger
# cannot use a recursive CTE, so it reads this table of numbers). Longer values are
# indexed on their first GRAM_POSITIONS characters (names are at most 200).
GRAM_POSITIONS = 1000
GRAM_NUMBERS = "core_gram_positions"
# PostgreSQL: the value's distinct one- and two-character substrings, as an array.
GRAMS_FUNCTION = "salesops_grams"
_GRAMS_SQL = f"""
CREATE OR REPLACE FUNCTION {GRAMS_FUNCTION}(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT coalesce(array_agg(DISTINCT g), '{{}}') FROM (
    SELECT substr(t, i, 1) AS g FROM generate_series(1, length(t)) AS i
    UNION ALL
    SELECT substr(t, i, 2) FROM generate_series(1, length(t) - 1) AS i
  ) AS grams
$$
"""


def _ascii_lower(text: str) -> str:
    """Lower case as SQLite's ``lower()`` and ``LIKE`` fold it: ASCII letters only."""
    return "".join(c.lower() if c.isascii() else c for c in text)


@dataclass(frozen=True)
class GramIndex(_PerVendor):
    """Whether a value contains a one- or two-character term, through an index: every one-
    and two-character substring of the columns' values, case-folded as ``icontains`` is.

    * SQLite: a contentless FTS5 table ``<table>_grams`` (``detail=column``: no
      positions) whose tokens are the grams written in hex (so that no tokenizer splits
      or folds them), filled by insert / update-of-columns / delete triggers from the
      numbers table ``core_gram_positions`` — every writer kept in step, as for ``TrigramIndex``;
    * PostgreSQL: per column a stored generated column ``<column>_grams`` (the array
      ``salesops_grams(UPPER(column::text))``, computed by the database on every write;
      the models do not know it) with a GIN index; the term is looked up with ``@>``.
      A column rather than an expression index because a common term's probe is then a
      sequential scan that stops after ``GRAM_RARE`` rows at the cost of an array test
      per row, not of computing the grams of each (0.3 s at 1,000,000 customers).

    ``q`` reads the ids of the matching rows, at most ``GRAM_RARE + 1`` (one query): when
    there are no more than ``GRAM_RARE``, it answers them (SQLite: as the index's
    subquery; PostgreSQL: as a list, so that the planner knows how few they are — with the
    subquery it walked the primary key testing each customer, a minute for no match);
    otherwise None, and the caller's ``icontains`` finds a page of the common term.
    """

    table: str
    columns: tuple[str, ...]
    pk: str = "id"

    def __post_init__(self) -> None:
        if self not in _INDEXES:
            _INDEXES.append(self)

    def answers(self, text: str) -> bool:
        return 0 < len(text) < TRIGRAM

    @property
    def fts(self) -> str:
        return f"{self.table}_grams"

    def _trigger(self, what: str) -> str:
        return f"{self.table}_grams_{what}"

    def _index(self, col: str) -> str:
        return f"{self.table}_{col}_grams_gin"

    # ------------------------------------------------------------------ queries

    def q(self, text: str, columns: tuple[str, ...] | list[str], *, prefix: str = "") -> Q | None:
        """Rows where any of ``columns`` contains ``text`` (as ``icontains``): their ids,
        read from the index; None when the index does not answer ``text`` or more than
        ``GRAM_RARE`` rows contain it (``icontains`` is then quick to find a page)."""
        unknown = set(columns) - set(self.columns)
        if unknown:
            raise ValueError(f"{self.table}: no gram index on {sorted(unknown)}")
        if not self.answers(text) or not columns:
            return None
        conn = connections["default"]
        rare = gram_rare()
        if conn.vendor == "sqlite":
            token = _ascii_lower(text).encode("utf-8").hex().upper()
            match = "{" + " ".join(columns) + '} : "' + token + '"'
            sql = f"SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH %s"
            with conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM ({sql} LIMIT {rare + 1}) AS probe", (match,))
                (found,) = cur.fetchone()
            if found > rare:
                return None
            return Q(**{f"{prefix}pk__in": RawSQL(sql, (match,))})
        if conn.vendor != "postgresql":
            return None
        tests = " OR ".join(f'"{c}_grams" @> ARRAY[UPPER(%s)]::text[]' for c in columns)
        with conn.cursor() as cur:
            cur.execute(
                f'SELECT "{self.pk}" FROM {self.table} WHERE {tests} LIMIT {rare + 1}',
                (text,) * len(columns),
            )
            ids = [row[0] for row in cur.fetchall()]
        if len(ids) > rare:
            return None
        return Q(**{f"{prefix}pk__in": ids})

    # ------------------------------------------------------------------ schema

    def drop(self, connection: Any) -> None:
        with connection.cursor() as cur:
            if connection.vendor == "sqlite":
                for what in ("ai", "ad", "au"):
                    cur.execute(f"DROP TRIGGER IF EXISTS {self._trigger(what)}")
                cur.execute(f"DROP TABLE IF EXISTS {self.fts}")
            elif connection.vendor == "postgresql":
                for col in self.columns:
                    cur.execute(f"DROP INDEX IF EXISTS {self._index(col)}")
                    cur.execute(f'ALTER TABLE {self.table} DROP COLUMN IF EXISTS "{col}_grams"')

    def _grams_sql(self, row: str, col: str) -> str:
        """SQLite: the value's grams as space-separated hex tokens (the one-character
        substring at each position and the two-character one starting there)."""
        value = f"{row}.{col}"
        return (
            f"(SELECT group_concat(hex(lower(substr({value}, n, 1))) || ' ' || "
            f"hex(lower(substr({value}, n, 2))), ' ') FROM {GRAM_NUMBERS} "
            f"WHERE n <= length({value}))"
        )

    def _ensure_sqlite(self, connection: Any) -> bool:
        cols = ", ".join(self.columns)
        new = ", ".join(self._grams_sql("new", c) for c in self.columns)
        old = ", ".join(self._grams_sql("old", c) for c in self.columns)
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
                "SELECT name FROM sqlite_master WHERE name IN (%s, %s) OR tbl_name = %s",
                (self.fts, GRAM_NUMBERS, self.table),
            )
            have = {name for (name,) in cur.fetchall()}
            if GRAM_NUMBERS not in have:
                cur.execute(f"CREATE TABLE IF NOT EXISTS {GRAM_NUMBERS} (n INTEGER PRIMARY KEY)")
                cur.execute(
                    f"INSERT OR IGNORE INTO {GRAM_NUMBERS}(n) WITH RECURSIVE r(n) AS "
                    f"(SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < {GRAM_POSITIONS}) "
                    "SELECT n FROM r"
                )
            created = False
            if self.fts not in have:
                cur.execute(
                    f"CREATE VIRTUAL TABLE {self.fts} USING fts5({cols}, content='', "
                    "detail=column, tokenize='ascii')"
                )
                created = True
            for name, body in triggers.items():
                if name not in have:
                    cur.execute(f"CREATE TRIGGER {name} {body}")
                    created = True
            if created:
                # The grams as the table is now (rows written while a trigger was missing
                # included): a contentless table cannot re-read its content, so all again.
                cur.execute(f"INSERT INTO {self.fts}({self.fts}) VALUES ('delete-all')")
                grams = ", ".join(self._grams_sql(self.table, c) for c in self.columns)
                cur.execute(
                    f"INSERT INTO {self.fts}(rowid, {cols}) "
                    f"SELECT {self.pk}, {grams} FROM {self.table}"
                )
        return created

    def _ensure_postgresql(self, connection: Any) -> bool:
        with connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_proc WHERE proname = %s", (GRAMS_FUNCTION,))
            if cur.fetchone() is None:
                cur.execute(_GRAMS_SQL)
            created = False
            for col in self.columns:
                cur.execute(
                    "SELECT 1 FROM information_schema.columns "
                    "WHERE table_name = %s AND column_name = %s",
                    (self.table, f"{col}_grams"),
                )
                if cur.fetchone() is None:
                    cur.execute(
                        f'ALTER TABLE {self.table} ADD COLUMN "{col}_grams" text[] '
                        f'GENERATED ALWAYS AS ({GRAMS_FUNCTION}(UPPER("{col}"::text))) STORED'
                    )
                    created = True
                cur.execute("SELECT 1 FROM pg_class WHERE relname = %s", (self._index(col),))
                if cur.fetchone() is None:
                    cur.execute(
                        f'CREATE INDEX {self._index(col)} ON {self.table} USING gin ("{col}_grams")'
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


def migration_operations(index: TrigramIndex | GramIndex) -> list[Any]:
    """The migration step that creates ``index`` (and drops it when reversed)."""
    from django.db import migrations

    def forwards(apps: Any, schema_editor: Any) -> None:
        index.ensure(schema_editor.connection)

    def backwards(apps: Any, schema_editor: Any) -> None:
        index.drop(schema_editor.connection)

    return [migrations.RunPython(forwards, backwards, elidable=False)]
