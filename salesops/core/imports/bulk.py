"""Raw bulk writes for the large imports, inside the caller's transaction: new ids are
reserved up front, then whole frames go in as plain tuples with one ``executemany`` per
batch (SQLite) or as CSV through ``COPY … FROM STDIN`` (PostgreSQL). No model instance is
built per row; the values the ORM would have filled in (defaults, ``auto_now_add``) are
computed once per insert by the model's own fields."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import polars as pl
from django.db import connection, models

from salesops.core.sqlitedb import pragma

BATCH = 50_000
# SQLite page cache while a bulk write runs (KiB). The default 2 MB makes every insert
# into the indexes of a large table go to disk once the index outgrows it.
SQLITE_CACHE_KIB = 256 * 1024


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@contextmanager
def bulk_write(model: type[models.Model]) -> Iterator[None]:
    """Set the current transaction up for a bulk write into ``model``'s table and the
    tables that hang off it.

    SQLite: take the write lock now (a transaction that reads first and writes later
    fails if another writer got in between; holding it also keeps the ids read by
    ``reserve_ids`` ours), and a page cache large enough for the indexes.
    PostgreSQL: foreign keys checked at the end of each statement instead of all at
    commit, so the server's queue of pending checks stays one batch long."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        yield
        # back to how Django declares its foreign keys, should the transaction go on (after
        # an error there is nothing to restore: the transaction is rolled back)
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL DEFERRED")
        return
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cur:
        # a write that changes nothing still takes the lock
        cur.execute(f"UPDATE {_table(model)} SET id = id WHERE 0 = 1")  # noqa: S608
    with pragma("cache_size", -SQLITE_CACHE_KIB):
        yield


def reserve_ids(model: type[models.Model], count: int) -> pl.Series:
    """``count`` new primary keys for ``model`` (inside ``bulk_write``)."""
    if count == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    table = model._meta.db_table
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Taken from the table's own sequence: concurrent inserts never collide.
            cur.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
                [table, count],
            )
            return pl.Series("id", [r[0] for r in cur.fetchall()], dtype=pl.Int64)
        cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_table(model)}")  # noqa: S608
        (top,) = cur.fetchone()
        if connection.vendor == "sqlite":
            # AUTOINCREMENT never hands out an id again, not even a deleted row's: neither do we.
            cur.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table]
            )
            (seq,) = cur.fetchone()
            top = max(int(top), int(seq))
    start = int(top) + 1
    return pl.Series("id", range(start, start + count), dtype=pl.Int64)


def defaults(model: type[models.Model], given: set[str]) -> dict[str, Any]:
    """Database values of every concrete column not in ``given`` (nor the primary key,
    nor a generated column), as the ORM would store them for a new row."""
    proto = model()
    out: dict[str, Any] = {}
    for field in model._meta.concrete_fields:
        column = field.column
        if field.primary_key or field.generated or column is None or column in given:
            continue  # a generated column is the database's to fill
        out[column] = field.get_db_prep_save(field.pre_save(proto, add=True), connection)
    return out


def insert_frame(
    model: type[models.Model], frame: pl.DataFrame, constants: dict[str, Any] | None = None
) -> int:
    """Insert every row of ``frame`` (columns named as the table's, values ready for the
    database: text for decimals and dates, integers for ids, null for NULL), each with
    ``constants`` as well. Returns the number of rows."""
    constants = constants or {}
    columns = [*frame.columns, *constants]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    if connection.vendor == "postgresql":
        extra = [pl.lit(_copy_text(v), dtype=pl.String).alias(k) for k, v in constants.items()]
        sql = f"COPY {_table(model)} ({names}) FROM STDIN (FORMAT csv)"
        with connection.cursor() as cur:
            for start in range(0, frame.height, BATCH):
                part = frame.slice(start, BATCH).with_columns(extra)
                # one statement a batch: its foreign keys are checked as it ends
                with cur.cursor.copy(sql) as copy:
                    copy.write(part.write_csv(include_header=False, null_value=""))
        return frame.height
    marks = ", ".join(["%s"] * len(columns))
    sql = f"INSERT INTO {_table(model)} ({names}) VALUES ({marks})"  # noqa: S608
    with connection.cursor() as cur:
        for start in range(0, frame.height, BATCH):
            part = frame.slice(start, BATCH)
            values: list[Iterable[Any]] = [part[c].to_list() for c in part.columns]
            values += [itertools.repeat(v) for v in constants.values()]
            cur.executemany(sql, list(zip(*values)))  # noqa: B905 - repeat() is endless
    return frame.height


def _copy_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)
