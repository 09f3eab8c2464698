"""Writes that must never wait for a lock: bookkeeping done on a read path."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

from salesops.core.sqlitedb import pragma

# PostgreSQL: how long a no-wait write may wait for a row lock.
PG_LOCK_TIMEOUT_MS = 100


@contextmanager
def no_lock_wait() -> Iterator[None]:
    """A transaction (a savepoint inside one) whose writes fail at once with
    ``OperationalError`` instead of waiting for a lock another writer holds: SQLite's
    busy timeout is 0 for the block (so ``BEGIN IMMEDIATE`` itself fails when a long
    write holds the database's lock), PostgreSQL's ``lock_timeout`` is a few milliseconds.
    For writes that may be skipped (e.g. a token's "last used"), never for data."""
    if connection.vendor == "sqlite":
        with pragma("busy_timeout", 0), transaction.atomic():
            yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cur:
                cur.execute(f"SET LOCAL lock_timeout = {int(PG_LOCK_TIMEOUT_MS)}")
        yield
