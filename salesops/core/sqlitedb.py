"""Small helpers for Django's connection when it is SQLite."""

from __future__ import annotations

import contextlib
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

logger = logging.getLogger(__name__)


@contextmanager
def pragma(name: str, value: int) -> Iterator[None]:
    """``PRAGMA name = value`` on Django's SQLite connection for the block, then back to
    what it was (a per-connection setting such as ``cache_size``; allowed inside a
    transaction)."""
    if not re.fullmatch(r"[a-z_]+", name):
        raise ValueError(f"not a pragma name: {name!r}")
    with connection.cursor() as cur:
        cur.execute(f"PRAGMA {name}")
        (before,) = cur.fetchone()
        cur.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA {name} = {int(before)}")


def database_file() -> str | None:
    """The file of Django's database when it is SQLite, None for any other database or
    an SQLite database in memory."""
    if connection.vendor != "sqlite":
        return None
    name = str(connection.settings_dict["NAME"])
    if not name or name == ":memory:" or "mode=memory" in name:
        return None
    return name


@contextmanager
def checkpoint_after() -> Iterator[None]:
    """SQLite file: no automatic WAL checkpoint inside the block (``wal_autocheckpoint``
    back to what it was after it), then a PASSIVE checkpoint on a connection and a thread
    of their own.

    In WAL mode the connection that commits copies the WAL into the database file itself
    whenever the WAL passes 1,000 pages: a long write of many short transactions (an
    import) stops every few chunks for that copy — the rows are committed and durable in
    the WAL, so nothing needs it then. A PASSIVE checkpoint waits for no one and blocks
    no one. Elsewhere (PostgreSQL, SQLite in memory) this does nothing."""
    path = database_file()
    if path is None:
        yield
        return
    try:
        with pragma("wal_autocheckpoint", 0):
            yield
    finally:
        threading.Thread(
            target=wal_checkpoint, args=(path,), name="wal-checkpoint", daemon=True
        ).start()


def wal_checkpoint(path: str) -> tuple[int, int, int] | None:
    """``PRAGMA wal_checkpoint(PASSIVE)`` on a new connection to the SQLite file ``path``:
    (busy, WAL frames, frames copied), or None when it failed (logged)."""
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as conn:
            row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return (int(row[0]), int(row[1]), int(row[2]))
    except sqlite3.Error:
        logger.warning("WAL checkpoint of %s failed", path, exc_info=True)
        return None
