"""core/sqlitedb.py: a pragma for a block, the database's file, the deferred WAL checkpoint."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from django.db import connection

from salesops.core.sqlitedb import checkpoint_after, database_file, pragma, wal_checkpoint

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


def test_a_passive_checkpoint_copies_the_whole_wal_of_a_file(tmp_path: Path) -> None:
    # given a WAL that nobody checkpointed (as after checkpoint_after's block)
    path = tmp_path / "wal.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE t (v TEXT)")
        conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(5000)])
        conn.commit()
        # when it is checkpointed on a connection of its own
        result = wal_checkpoint(str(path))
        # then every frame is copied, none was busy
        assert result is not None
        busy, frames, copied = result
        assert (busy, copied) == (0, frames)
        assert frames > 600
        assert conn.execute("SELECT COUNT(*) FROM t").fetchone() == (5000,)


def test_a_checkpoint_of_no_database_is_logged_not_raised(tmp_path: Path) -> None:
    assert wal_checkpoint(str(tmp_path / "missing" / "x.sqlite3")) is None


def test_checkpoint_after_does_nothing_without_a_database_file() -> None:
    # in memory (tests) or PostgreSQL: the block runs, no pragma is touched
    with checkpoint_after(), connection.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
