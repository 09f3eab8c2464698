"""The site's URLs plus pages that fail, for the 500- and 503-page tests."""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
from pathlib import Path

from django.db import OperationalError
from django.http import HttpRequest, HttpResponse
from django.urls import path

from salesops.urls import handler400, handler403, handler404, handler500, urlpatterns

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


def real_lock_error() -> OperationalError:
    """SQLite's own "database is locked" (a second writer with no busy timeout while a
    first holds the lock), wrapped as Django's backend wraps it."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "locked.sqlite3"
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as first:
            first.execute("CREATE TABLE t (v)")
            first.execute("BEGIN IMMEDIATE")
            with contextlib.closing(sqlite3.connect(path, timeout=0)) as second:
                try:
                    second.execute("INSERT INTO t VALUES (1)")
                except sqlite3.OperationalError as exc:
                    wrapped = OperationalError(*exc.args)
                    wrapped.__cause__ = exc
                    return wrapped
    raise AssertionError("the second writer was not refused")


def locked(request: HttpRequest) -> HttpResponse:
    raise real_lock_error()


urlpatterns = [path("test-boom/", boom), path("test-locked/", locked), *urlpatterns]
