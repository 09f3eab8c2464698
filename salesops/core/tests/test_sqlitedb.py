"""core/sqlitedb.py: a pragma for a block, and the database's file."""

from __future__ import annotations

import pytest
from django.db import connection

from salesops.core.sqlitedb import database_file, pragma

pytestmark = pytest.mark.django_db


def _cache_size() -> int:
    with connection.cursor() as cur:
        cur.execute("PRAGMA cache_size")
        return int(cur.fetchone()[0])


def test_a_pragma_holds_for_the_block_and_is_set_back_even_on_error() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    before = _cache_size()
    with pytest.raises(RuntimeError), pragma("cache_size", -4321):
        assert _cache_size() == -4321
        raise RuntimeError
    assert _cache_size() == before
    with pytest.raises(ValueError), pragma("cache_size; DROP TABLE x", 1):
        pass


def test_the_database_file_is_none_in_memory_or_on_postgresql() -> None:
    # The test database is SQLite in memory, or PostgreSQL.
    assert database_file() is None
