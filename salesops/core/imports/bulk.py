"""Raw bulk writes for the large imports: new ids are reserved up front (committed, so
that other writers never take them), then whole frames go in as plain tuples with one
``executemany`` per batch (SQLite) or as CSV through ``COPY … FROM STDIN`` (PostgreSQL).
No model instance is built per row; the values the ORM would have filled in (defaults,
``auto_now_add``) are computed once per insert by the model's own fields.

``write_in_chunks`` cuts a long write into short transactions (issue 11): SQLite has one
write lock for the whole database, and a 240,000-row import held it for 11 s — longer
than the busy timeout, so every login and API call behind it failed."""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from typing import Any

import polars as pl
from django.conf import settings
from django.db import connection, models, transaction

from salesops.core.sqlitedb import checkpoint_after, pragma

logger = logging.getLogger(__name__)

BATCH = 50_000
# SQLite page cache while a bulk write runs (KiB). The default 2 MB makes every insert
# into the indexes of a large table go to disk once the index outgrows it.
SQLITE_CACHE_KIB = 256 * 1024


def _table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


@contextmanager
def bulk_write(model: type[models.Model], *, cache: bool = True) -> Iterator[None]:
    """Set the current transaction up for a bulk write into ``model``'s table and the
    tables that hang off it.

    SQLite: take the write lock now (a transaction that reads first and writes later
    fails if another writer got in between), and (``cache``) a page cache large enough
    for the indexes — a caller writing many transactions holds ``sqlite_cache`` around
    them all instead: shrinking the cache after each one would drop the pages.
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
    with sqlite_cache() if cache else nullcontext():
        yield


@contextmanager
def sqlite_cache() -> Iterator[None]:
    """SQLite: the bulk write's page cache on Django's connection for the block (a
    per-connection setting, kept across transactions); elsewhere nothing."""
    if connection.vendor != "sqlite":
        yield
        return
    with pragma("cache_size", -SQLITE_CACHE_KIB):
        yield


@contextmanager
def long_write() -> Iterator[None]:
    """Around all the transactions of one chunked write (``write_in_chunks``), SQLite: the
    bulk page cache kept across them (``sqlite_cache``) and no WAL checkpoint until the
    end (``checkpoint_after``) — 240,000 order lines went in in 5.6 s instead of 9.5 s.
    Elsewhere nothing."""
    with sqlite_cache(), checkpoint_after():
        yield


def reserve_ids(model: type[models.Model], count: int) -> pl.Series:
    """``count`` new primary keys for ``model``, reserved in a short transaction of their
    own (or the caller's): a row inserted by anyone else afterwards gets a higher id, so
    the block stays ours across the many transactions of ``write_in_chunks``."""
    if count == 0:
        return pl.Series("id", [], dtype=pl.Int64)
    table = model._meta.db_table
    with transaction.atomic(), connection.cursor() as cur:
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
            # AUTOINCREMENT never hands out an id again, not even a deleted row's: neither do
            # we. Moving its counter past the block makes the block ours (Django declares
            # every SQLite id AUTOINCREMENT; the table's row exists after its first insert).
            cur.execute(
                "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table]
            )
            (seq,) = cur.fetchone()
            top = max(int(top), int(seq))
            end = top + count
            cur.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = %s", [end, table])
            if cur.rowcount == 0:
                cur.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, end])
    start = int(top) + 1
    return pl.Series("id", range(start, start + count), dtype=pl.Int64)


def write_in_chunks(
    total: int,
    write: Callable[[int, int], None],
    *,
    first: int,
    least: int = 100,
    most: int = 1_000_000,
    last: Callable[[], None] | None = None,
    done: list[tuple[int, int]] | None = None,
    target: float | None = None,
) -> list[tuple[int, int]]:
    """Call ``write(start, stop)`` for consecutive ranges covering ``0..total``, each in a
    transaction of its own, sized so that each holds the write lock for about ``target``
    seconds, by default ``SALESOPS_WRITE_CHUNK_SECONDS`` (the next range grows or shrinks
    by how long the last one took, between ``least`` and ``most`` units, starting at
    ``first``). ``last`` runs
    inside the final transaction (the import's audit row). On SQLite the connection then
    waits ``SALESOPS_WRITE_PAUSE_SECONDS`` before it takes the lock again: a writer
    waiting in its busy handler retries only every few dozen milliseconds, and would
    never get in if the lock were taken again at once.

    Returns the committed ranges, also appended to ``done`` as each commits: when a range
    fails, the error propagates and the ranges in ``done`` are the caller's to remove
    (see ``delete_ids``)."""
    if target is None:
        target = float(settings.SALESOPS_WRITE_CHUNK_SECONDS)
    pause = float(settings.SALESOPS_WRITE_PAUSE_SECONDS) if connection.vendor == "sqlite" else 0.0
    # inside an outer transaction (tests, a caller's atomic) there is no lock to give up
    pause = 0.0 if connection.in_atomic_block else pause
    done = [] if done is None else done
    start, size = 0, max(least, min(first, most))
    while start < total or (total == 0 and not done and last is not None):
        stop = min(total, start + size)
        began = time.perf_counter()
        with transaction.atomic():
            if stop > start:
                write(start, stop)
            if stop >= total and last is not None:
                last()
        took = time.perf_counter() - began
        done.append((start, stop))
        if took > 2 * target:
            logger.info("a write chunk of %s held the lock %.2fs", stop - start, took)
        if stop >= total:
            break
        # aim the next chunk at the target, never more than doubling it
        scale = min(2.0, target / took) if took > 0 else 2.0
        size = int(max(least, min(most, size * scale)))
        start = stop
        if pause:
            time.sleep(pause)
    return done


def delete_ids(model: type[models.Model], column: str, ids: list[int]) -> None:
    """Delete the rows of ``model`` whose ``column`` is in ``ids``, in short transactions
    of ``BATCH_DELETE`` ids (what a failed chunked write undoes)."""
    qn = connection.ops.quote_name
    for start in range(0, len(ids), BATCH_DELETE):
        part = ids[start : start + BATCH_DELETE]
        marks = ", ".join(["%s"] * len(part))
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(
                f"DELETE FROM {_table(model)} WHERE {qn(column)} IN ({marks})",  # noqa: S608
                part,
            )


BATCH_DELETE = 900  # under every database's parameter limit


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
