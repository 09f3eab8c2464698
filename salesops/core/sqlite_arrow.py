"""One SQLite query answered as an Arrow table, for a child process (no Django here).

Why a child process: ADBC's SQLite driver carries its own copy of the SQLite library.
Two copies in one process do not see each other's POSIX locks (those are per process),
so a connection of one copy can take itself for the only user of the database and
truncate the WAL index (``-shm``) that the other copy — Django's connection — has
mapped into memory: the process then dies of SIGBUS, and the database risks corruption
(sqlite.org, "How To Corrupt An SQLite Database File", §2.2.1). In another process the
locks work as designed, as for any two programs sharing the file.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

# The web's busy timeout (settings.SALESOPS_SQLITE_BUSY_MS; no Django here): a WAL reader
# is rarely refused (while another connection recovers or restarts the WAL), but then it
# waits instead of failing the run.
BUSY_MS = 10_000


def query(path: str, sql: str, params: list[Any]) -> pa.Table:
    import adbc_driver_sqlite.dbapi as sqlite_dbapi

    # Autocommit: the read transaction ends with the statement, so an idle worker never
    # holds back a checkpoint.
    with sqlite_dbapi.connect(path, autocommit=True) as conn, conn.cursor() as cur:
        cur.execute(f"PRAGMA busy_timeout = {int(BUSY_MS)}")
        cur.execute(sql, params or None)
        table: pa.Table = cur.fetch_arrow_table()
    return table
