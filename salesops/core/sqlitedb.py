"""Small helpers for Django's connection when it is SQLite."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


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
