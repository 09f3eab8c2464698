"""Writes that must never wait for a lock: bookkeeping done on a read path."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError, connection, transaction
from django.utils.translation import gettext as _

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


# PostgreSQL's "lock_not_available" (``lock_timeout``) and "deadlock_detected".
_PG_LOCK_STATES = frozenset({"55P03", "40P01"})
# How long a client is asked to wait before it tries again (``Retry-After``, seconds).
BUSY_RETRY_AFTER = 5


def is_lock_error(exc: BaseException | None) -> bool:
    """True when ``exc`` (or what it wraps) says the database refused a write because
    another transaction holds the lock: SQLite's "database is locked" once the busy
    timeout ran out, PostgreSQL's lock timeout or a deadlock. Such a request is answered
    503 "系统繁忙" with a ``Retry-After``, never a 500: nothing is wrong but the moment."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OperationalError | sqlite3.OperationalError):
            text = str(exc).lower()
            if "database is locked" in text or "database table is locked" in text:
                return True
        if getattr(exc, "sqlstate", None) in _PG_LOCK_STATES:
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def busy_message() -> str:
    return _("系统繁忙，请稍后再试")
