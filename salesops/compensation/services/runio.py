"""Database I/O of commission runs: read a period's network and orders into the engine's
arrays, turn the engine's result into rows, and insert rows in bulk.

Built for a million members and ten million orders (bench/bench_comp_run.py):

* Reads go straight into Arrow columns through ADBC (``adbc-driver-sqlite`` /
  ``adbc-driver-postgresql``) on a second connection to the database Django uses. That
  connection cannot see the uncommitted work of Django's own connection, nor an in-memory
  SQLite database, so inside a transaction (every test) and whenever a driver is missing
  the same SQL runs through Django's cursor instead; both give identical arrays.
* Rows are built column-wise with polars: money is exact decimal text from integer fen,
  and each statement line's name, formula and inputs JSON come from templates that the
  real ``explain.py`` helpers produce with placeholder values, so the text stays
  byte-identical to ``PeriodResult.lines_for`` without a Python loop per member.
* Inserts are COPY on PostgreSQL, inside the caller's single transaction (PostgreSQL's
  row locks let every other writer go on meanwhile). On SQLite, whose one write lock
  would stop every login for the whole store, staged rows are copied in time-bounded
  ranges, each committed on its own (``staged_copy_in_chunks``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import itertools
import json
import logging
import multiprocessing
import queue
import re
import shutil
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
from django.conf import settings
from django.db import connection, models, transaction
from django.utils.translation import gettext as _

from salesops.compensation.engine import explain as ex
from salesops.compensation.engine.money import from_fen
from salesops.compensation.engine.network import PeriodInput, find_cycles, tree_levels
from salesops.compensation.engine.plan import RankPlan
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import PeriodResult
from salesops.compensation.errors import RunInputError
from salesops.compensation.models import (
    ACTIVE_RUN_STATUSES,
    CommissionLine,
    CommissionResult,
    CommissionRun,
)
from salesops.core import pgpartition, sqlite_arrow
from salesops.core.imports.bulk import write_in_chunks
from salesops.core.pgcopy import Kind, binary_copy_chunks
from salesops.core.selectors import import_jobs_running_ids
from salesops.core.sqlitedb import database_file, pragma
from salesops.org.models import Member, MemberStatus, RankHistory
from salesops.org.selectors import sorted_edges, sponsor_edges_query
from salesops.sales.models import Order, OrderKind, OrderStatus, Return

logger = logging.getLogger(__name__)

SQLITE_BATCH = 100_000
_LIBPQ_OPTIONS = frozenset(
    ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout",
     "application_name", "options", "target_session_attrs", "service", "passfile")
)  # fmt: skip
COPY_CHUNK = 500_000


# --------------------------------------------------------------------------- reading

# Queries of one read that run at once, each on its own ADBC connection (two cores).
READ_CONNECTIONS = 2


def _adbc_connect() -> Any | None:
    """A DB-API connection (ADBC) to the PostgreSQL database Django uses, or None when it
    could not see what Django's connection sees (inside a transaction), no driver is
    installed, or the database is SQLite (read in child processes: ``_sqlite_file``)."""
    opened = _adbc_open(1)
    return opened[0] if opened else None


def _adbc_open(count: int) -> list[Any]:
    """``count`` ADBC connections to the PostgreSQL database Django uses (see
    ``_adbc_connect``), made from this thread's Django connection settings; none when
    unusable."""
    if connection.in_atomic_block or connection.vendor != "postgresql":
        return []
    conf = connection.settings_dict
    params = {
        "dbname": conf["NAME"],
        "user": conf.get("USER") or None,
        "password": conf.get("PASSWORD") or None,
        "host": conf.get("HOST") or None,
        "port": conf.get("PORT") or None,
    }
    # Connection options that are libpq's own (TLS and the like) apply here too.
    extra = conf.get("OPTIONS") or {}
    params.update({k: str(v) for k, v in extra.items() if k in _LIBPQ_OPTIONS})
    opened: list[Any] = []
    try:
        import adbc_driver_postgresql.dbapi as pg_dbapi
        from psycopg.conninfo import make_conninfo

        conninfo = make_conninfo(**{k: v for k, v in params.items() if v})
        for _k in range(count):
            opened.append(pg_dbapi.connect(conninfo))
            with opened[-1].cursor() as cur:
                # These scans are costed high enough for JIT to optimise their
                # expressions, which takes longer than it saves (a second on the
                # returns' lookups).
                cur.execute("SET jit = off")
    except ImportError:
        return []
    except Exception:  # e.g. connection options ADBC does not take: the cursor path works
        logger.warning("ADBC connection failed; reading through Django's cursor", exc_info=True)
        for conn in opened:
            conn.close()
        return []
    return opened


class _Reader:
    """Runs the period's queries several at once (``submit``) through ADBC — on the
    given PostgreSQL connections, or in child processes on the SQLite file — else one
    after another through Django's cursor; each query answers a polars frame with the
    given column names and dtypes."""

    def __init__(self, connections: Sequence[Any] = (), *, sqlite_path: str | None = None) -> None:
        self.connections = list(connections)
        # SQLite: each query runs through ADBC in a child process (see sqlite_arrow).
        self.sqlite_path = sqlite_path
        # How many queries run at once (0: one after another on Django's cursor).
        self.width = len(self.connections) or (READ_CONNECTIONS if sqlite_path else 0)
        self._idle: queue.SimpleQueue[Any] = queue.SimpleQueue()
        for conn in self.connections:
            self._idle.put(conn)
        self._pool = (
            ThreadPoolExecutor(self.width, thread_name_prefix="comp-read") if self.width else None
        )

    def submit(self, sql: str, params: list[Any], schema: dict[str, Any]) -> Future[pl.DataFrame]:
        """The frame of ``sql``, computed on an idle ADBC connection in a worker thread
        (already computed when reading through Django's cursor)."""
        if self._pool is not None:
            return self._pool.submit(self._adbc_frame, sql, params, schema)
        done: Future[pl.DataFrame] = Future()
        done.set_result(self._cursor_frame(sql, params, schema))
        return done

    def frame(self, sql: str, params: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
        return self.submit(sql, params, schema).result()

    def _adbc_frame(self, sql: str, params: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
        if self.sqlite_path is not None:
            native = sql.replace("%s", "?").replace("%%", "%")
            args = [p.isoformat() if isinstance(p, dt.date) else p for p in params]
            table = _in_child(self.sqlite_path, native, args)
        else:  # PostgreSQL, whose ADBC driver takes $1, $2 … for %s
            marks = iter(range(1, len(params) + 1))
            native = re.sub("%s", lambda _m: f"${next(marks)}", sql).replace("%%", "%")
            args = list(params)
            conn = self._idle.get()
            try:
                with conn.cursor() as cur:
                    cur.execute(native, args or None)
                    table = cur.fetch_arrow_table()
            finally:
                self._idle.put(conn)
        got = pl.from_arrow(table)
        assert isinstance(got, pl.DataFrame)
        got.columns = list(schema)
        return got.cast(schema)  # type: ignore[arg-type]

    @staticmethod
    def _cursor_frame(sql: str, params: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
        with connection.cursor() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        got = pl.DataFrame(rows, schema=list(schema), orient="row", infer_schema_length=None)
        return got.cast(schema)  # type: ignore[arg-type]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
        for conn in self.connections:
            conn.close()


def _reader(fast: bool) -> _Reader:
    if not fast:
        return _Reader()
    if connection.vendor == "sqlite":
        path = _sqlite_file()
        return _Reader(sqlite_path=path) if path else _Reader()
    return _Reader(_adbc_open(READ_CONNECTIONS))


def _sqlite_file() -> str | None:
    """The SQLite database file Django uses, when child processes can read what its
    connection sees (not inside a transaction, not in memory) and the driver is there."""
    if connection.in_atomic_block:
        return None
    name = database_file()
    if name is None:
        return None
    try:
        import adbc_driver_sqlite  # noqa: F401
    except ImportError:
        return None
    return name


_children: ProcessPoolExecutor | None = None
_children_lock = threading.Lock()


def _in_child(path: str, sql: str, params: list[Any]) -> Any:
    """``sqlite_arrow.query`` in the pool of child processes (started on first use with
    "spawn", kept for the next runs; a broken pool is dropped and the run fails)."""
    global _children
    with _children_lock:
        if _children is None:
            _children = ProcessPoolExecutor(
                READ_CONNECTIONS, mp_context=multiprocessing.get_context("spawn")
            )
        pool = _children
    try:
        return pool.submit(sqlite_arrow.query, path, sql, params).result()
    except BrokenProcessPool:
        with _children_lock:
            if _children is pool:
                _children = None
        raise


def _day_index(column: str, first: dt.date) -> tuple[str, list[Any]]:
    """SQL, with its parameters, for the day of the month of ``column``, a date in the
    month starting on ``first``, counted from 0."""
    if connection.vendor == "sqlite":
        # Django stores dates as ISO text: the day is characters 9-10.
        return f"(CAST(substr({column}, 9, 2) AS INTEGER) - 1)", []
    # Date minus date is whole days: far cheaper than EXTRACT, which computes a numeric.
    return f"({column} - CAST(%s AS date))", [first]


def _fen(column: str) -> str:
    """SQL for ``column`` (a decimal amount) in whole fen."""
    if connection.vendor == "sqlite":
        return f"CAST(ROUND({column} * 100) AS BIGINT)"  # stored as REAL: round, not truncate
    return f"CAST({column} * 100 AS BIGINT)"  # exact: numeric with two decimals


# An order or return as the engine needs it, in two integer columns: "key" packs the
# member id, the day of the month and whether it is an ARO order (member * 64 + day
# index * 2 + aro; a day index is 0..30), "fen" is its amount. Each column a query sends
# costs the server and the reader about a second per ten million rows.
_MOVES = {"key": pl.Int64, "fen": pl.Int64}


def _materialized() -> str:
    """The hint that has a CTE computed once, in its own order; SQLite knows it from 3.35
    on (Django takes 3.31: there the returns may be looked up in any order, slower from
    a cold cache, same result)."""
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 35):
        return ""
    return "MATERIALIZED "


def _move_key(member: str, date: str, kind: str, first: dt.date) -> tuple[str, list[Any]]:
    """SQL, with its parameters, for the packed key (see ``_MOVES``) of a row."""
    day, params = _day_index(date, first)
    return (
        f"({member} * 64 + {day} * 2 + CASE WHEN {kind} = %s THEN 1 ELSE 0 END)",
        [*params, str(OrderKind.ARO)],
    )


def index_of(keys: npt.NDArray[np.int64], values: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Position of each of ``values`` in the sorted, distinct ``keys``; -1 where absent.
    Keys are primary keys, about as many as the largest: a table indexed by key answers
    ten million lookups in a fraction of the time a binary search takes."""
    if not keys.size or not values.size:
        return np.full(values.size, -1, dtype=np.int64)
    top = int(keys[-1])
    if int(keys[0]) >= 0 and top <= 4 * keys.size + 1_000_000:
        # int32 positions: half the table, more of it in the cache.
        table = np.full(top + 2, -1, dtype=np.int32 if keys.size < 2**31 else np.int64)
        table[keys] = np.arange(keys.size)
        # Values outside 0..top look up the table's last slot, which holds -1.
        clipped = (
            values
            if int(values.min()) >= 0 and int(values.max()) <= top
            else (np.where((values >= 0) & (values <= top), values, top + 1))
        )
        return table[clipped].astype(np.int64)
    pos = np.minimum(np.searchsorted(keys, values), keys.size - 1)
    return np.where(keys[pos] == values, pos, -1)


def read_period_input(
    plan: RankPlan, period: Period, *, fast: bool = True
) -> tuple[PeriodInput, npt.NDArray[np.int64], list[str]]:
    """The network as of the period's last day and the period's orders and returns, as the
    engine's arrays. Also returns the member primary keys and numbers in engine order.

    ``fast=False`` forces Django's cursor (the tests compare both paths)."""
    reader = _reader(fast)
    try:
        return _read(reader, plan, period)
    finally:
        reader.close()


_SPAN = {"lo": pl.Int64, "hi": pl.Int64}


def _order_span(reader: _Reader, period: Period) -> Future[pl.DataFrame] | None:
    """The (lowest, highest) order id to scan for the period, queued; None to scan the
    period through the database's own plan in one query."""
    orders = connection.ops.quote_name(Order._meta.db_table)
    if connection.vendor == "sqlite":
        # SQLite keeps no histogram: it would look up every order of the month through
        # the date index, one random row read each (minutes at ten million). Scan the id
        # range that holds the month's orders instead: the date index gives the range
        # without touching the table, and ids follow entry order, so the range is about
        # the month's size.
        return reader.submit(
            f"SELECT MIN(id), MAX(id) FROM {orders} "  # noqa: S608
            "WHERE order_date >= %s AND order_date <= %s",
            [period.first, period.last],
            _SPAN,
        )
    if reader.width:  # the whole table's ids, cut in parts read side by side
        return reader.submit(f"SELECT MIN(id), MAX(id) FROM {orders}", [], _SPAN)  # noqa: S608
    return None


def _order_parts(
    reader: _Reader, period: Period, span: Future[pl.DataFrame] | None
) -> list[tuple[str, list[Any]]]:
    """The WHERE clause (with its parameters) of each part of the period's order scan:
    id ranges of ``span`` read at once on the reader's connections, or one part."""
    month = (
        "status = %s AND credited_member_id IS NOT NULL AND order_date >= %s AND order_date <= %s"
    )
    params: list[Any] = [str(OrderStatus.CONFIRMED), period.first, period.last]
    running = import_jobs_running_ids()
    if running:
        # an import still applying commits its orders chunk by chunk: not counted until
        # it is done, as every list hides them (sales.selectors.not_importing_q)
        marks = ", ".join(["%s"] * len(running))
        month += f" AND (import_job_id IS NULL OR import_job_id NOT IN ({marks}))"
        params += running
    lo, hi = span.result().row(0) if span is not None else (None, None)
    if lo is None or hi is None:
        return [(month, params)]
    # Twice as many parts as connections: a connection done early takes another.
    count = max(1, 2 * reader.width)
    bounds = np.linspace(lo, hi + 1, count + 1).astype(np.int64)
    return [
        (f"id >= %s AND id < %s AND {month}", [int(a), int(b), *params])
        for a, b in itertools.pairwise(bounds.tolist())
        if b > a
    ]


def _read(
    reader: _Reader, plan: RankPlan, period: Period
) -> tuple[PeriodInput, npt.NDArray[np.int64], list[str]]:
    q = connection.ops.quote_name
    orders = q(Order._meta.db_table)
    returns = q(Return._meta.db_table)
    scan = " NOT INDEXED" if connection.vendor == "sqlite" else ""
    # Every query is queued at once: on ADBC connections they run side by side.
    span = _order_span(reader, period)
    edges_job = reader.submit(
        *sponsor_edges_query(period.last), {"member": pl.Int64, "sponsor": pl.Int64}
    )
    members_job = reader.submit(
        f"SELECT id, member_no, status, title FROM {q(Member._meta.db_table)} "  # noqa: S608
        "ORDER BY id",
        [],
        {"id": pl.Int64, "member_no": pl.String, "status": pl.String, "title": pl.String},
    )
    # The title held before the period: the latest rank history row before it, else the
    # member's title.
    history_job = reader.submit(
        f"SELECT member_id, period, title FROM {q(RankHistory._meta.db_table)} "  # noqa: S608
        "WHERE period < %s",
        [period.first],
        {"member_id": pl.Int64, "period": pl.String, "title": pl.String},
    )
    parts = _order_parts(reader, period, span)
    # total_fen: the amount in fen, stored by the database beside total_amount.
    okey, okey_params = _move_key("credited_member_id", "order_date", "kind", period.first)
    sales_jobs = [
        reader.submit(
            f"SELECT {okey} AS key, total_fen AS fen "  # noqa: S608
            f"FROM {orders}{scan} WHERE {where}",
            [*okey_params, *params],
            _MOVES,
        )
        for where, params in parts
    ]
    # Each return's order by its primary key, in key order and queued after the month's
    # orders: most returns are of recent orders, whose pages the scan has just read, and
    # the rest are looked up in the order they lie on disk (from a cold cache, in random
    # order, a hundred thousand lookups took SQLite 11 s instead of 0.5). PostgreSQL would
    # rather hash the whole orders table: LATERAL … LIMIT 1 keeps the lookups.
    rkey, rkey_params = _move_key("o.credited_member_id", "r.return_date", "o.kind", period.first)
    if connection.vendor == "postgresql":
        join = (
            f"CROSS JOIN LATERAL (SELECT credited_member_id, kind FROM {orders} "  # noqa: S608
            "WHERE id = r.original_order_id LIMIT 1) o"
        )
    else:  # SQLite: CROSS JOIN keeps the returns as the outer loop
        join = f"CROSS JOIN {orders} o ON o.id = r.original_order_id"
    back_job = reader.submit(
        f"WITH r AS {_materialized()}(SELECT original_order_id, return_date, total_amount "  # noqa: S608
        f"FROM {returns} WHERE return_date >= %s AND return_date <= %s "
        "ORDER BY original_order_id) "
        f"SELECT {rkey} AS key, -{_fen('r.total_amount')} AS fen FROM r {join} "
        "WHERE o.credited_member_id IS NOT NULL",
        [period.first, period.last, *rkey_params],
        _MOVES,
    )
    edges = edges_job.result()
    pks, sponsors = sorted_edges(edges["member"].to_numpy(), edges["sponsor"].to_numpy())
    n = int(pks.size)

    members = members_job.result()
    pos = index_of(members["id"].to_numpy(), pks)
    if (pos < 0).any():
        raise RunInputError(_("推荐关系引用了不存在的会员"))
    net = members[pos]
    member_nos: list[str] = net["member_no"].to_list()
    terminated = (net["status"] == str(MemberStatus.TERMINATED)).to_numpy()

    latest = (
        history_job.result()
        .sort("member_id", "period")
        .unique("member_id", keep="last", maintain_order=True)
        .select(pl.col("member_id").alias("id"), pl.col("title").alias("before"))
    )
    titles = (
        net.select("id", "title")
        .join(latest, on="id", how="left", maintain_order="left")
        .select(pl.coalesce("before", "title").alias("title"))
        .to_series()
    )
    codes = plan.rank_codes
    prev = titles.replace_strict(
        {c: i for i, c in enumerate(codes)} | {"": -1}, default=-2, return_dtype=pl.Int8
    ).to_numpy()
    bad = np.flatnonzero(prev == -2)
    if bad.size:
        i = int(bad[0])
        raise RunInputError(
            _("会员 %(no)s 的职级 %(title)s 不在方案中") % {"no": member_nos[i], "title": titles[i]}
        )
    prev_title = prev.astype(np.int8)

    sponsor_idx = np.full(n, -1, dtype=np.int64)
    has = sponsors >= 0
    spos = index_of(pks, sponsors[has])
    if (spos < 0).any():
        raise RunInputError(_("推荐人不在该月份的网络中"))
    sponsor_idx[has] = spos
    tree = tree_levels(sponsor_idx)
    if tree.unreached.size:
        cycles = find_cycles(sponsor_idx, tree.unreached)
        shown = "; ".join(" → ".join(member_nos[i] for i in c) for c in cycles[:5])
        raise RunInputError(_("推荐关系存在循环：%(cycles)s") % {"cycles": shown})

    moves = pl.concat([job.result() for job in [*sales_jobs, back_job]], how="vertical")
    packed = moves["key"].to_numpy()
    opos = index_of(pks, packed >> 6)
    if (opos < 0).any():
        raise RunInputError(_("有订单归属的会员不在该月份的网络中"))
    inp = PeriodInput(
        member_ids=member_nos,
        sponsor=sponsor_idx,
        terminated=terminated,
        prev_title=prev_title,
        order_member=opos,
        order_fen=moves["fen"].to_numpy().astype(np.int64, copy=False),
        order_day=(((packed >> 1) & 31) + period.day_number(period.first)).astype(np.int32),
        order_aro=(packed & 1).astype(np.bool_),
    )
    return inp, pks, member_nos


# --------------------------------------------------------------------------- rows


RESULT_COLUMNS = (
    "run_id", "member_id", "paid_as", "title", "pv", "pv_by_cutoff", "sr_count", "sr_volume",
    "sales_bonus", "morning_star", "open_star", "override", "total",
)  # fmt: skip
LINE_COLUMNS = (
    "run_id", "member_id", "seq", "rule", "name", "amount", "formula", "inputs",
    "source_member_id", "generation",
)  # fmt: skip
MONEY_RESULT_COLUMNS = (
    "pv", "pv_by_cutoff", "sr_volume", "sales_bonus", "morning_star", "open_star", "override",
    "total",
)  # fmt: skip


class Rows(Sequence[tuple[Any, ...]]):
    """Rows held column-wise in a polars frame (columns in insert order). Reads as a
    sequence of tuples for callers that look at single rows; ``bulk_insert`` streams the
    columns without building a tuple per row on PostgreSQL.

    The frame may still be in the making on another thread (a future): the first use
    waits for it."""

    def __init__(self, frame: pl.DataFrame | Future[pl.DataFrame]) -> None:
        self._frame = frame
        # The attached scratch database holding a copy of the frame (SQLite), or the
        # partition value of the finished partition table holding it (PostgreSQL); see
        # ``staged``.
        self.staged_as: str | None = None
        self.partition: int | None = None

    @property
    def frame(self) -> pl.DataFrame:
        if isinstance(self._frame, Future):
            self._frame = self._frame.result()
        return self._frame

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Any, ...]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.frame.row(index)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for start in range(0, self.frame.height, SQLITE_BATCH):
            yield from _tuples(self.frame.slice(start, SQLITE_BATCH))

    def column(self, name: str) -> npt.NDArray[Any]:
        return self.frame[name].to_numpy()


def _tuples(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Row tuples of ``frame`` (zip over whole columns: far faster than row by row)."""
    return zip(*(s.to_list() for s in frame.iter_columns()), strict=True)


MONEY = pl.Decimal(18, 2)


def money_decimal(fen: npt.NDArray[np.int64]) -> pl.Series:
    """Integer fen → a polars Decimal(18, 2) column of the same amounts (exact: a decimal
    column stores its values as integers in units of its scale, here fen). Rows hand
    these to the database as they are: COPY encodes them without text, and Python sees
    ``Decimal`` values."""
    fen = np.ascontiguousarray(fen, dtype=np.int64)
    if fen.size and (int(fen.min()) <= -(10**18) or int(fen.max()) >= 10**18):
        raise ValueError(_("金额超出 16 位整数"))
    # Arrow's decimal128: each value a little-endian 128-bit integer (low word, then
    # the high word that extends the sign).
    words = np.empty((fen.size, 2), dtype=np.int64)
    words[:, 0] = fen
    words[:, 1] = fen >> 63
    array = pa.Array.from_buffers(pa.decimal128(18, 2), fen.size, [None, pa.py_buffer(words)])
    got = pl.from_arrow(array)
    assert isinstance(got, pl.Series)
    return got


def money_text(fen: pl.Expr) -> pl.Expr:
    """Integer fen → the exact decimal text ``str(from_fen(fen))`` gives, vectorised."""
    a = fen.abs()
    return pl.concat_str(
        pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 100).cast(pl.String),
        pl.lit("."),
        (a % 100).cast(pl.String).str.zfill(2),
    )


def _json_str(values: pl.Series) -> pl.Series:
    """The inside of a JSON string literal (``json.dumps(s, ensure_ascii=False)[1:-1]``);
    only the rare values that need escaping go through Python."""
    needs = values.str.contains(r'[\x00-\x1f"\\]')
    if not needs.any():
        return values
    escaped = [
        json.dumps(s, ensure_ascii=False)[1:-1] if flag else s
        for s, flag in zip(values.to_list(), needs.to_list(), strict=True)
    ]
    return pl.Series(values.name, escaped, dtype=pl.String)


# Placeholder values fed to the explain.py helpers: each prints as a token found nowhere
# else in a line, and the token is then replaced by the per-row column.
_SLOTS = {
    "pv": Decimal("987654321.01"),
    "amount": Decimal("987654321.02"),
    "volume": Decimal("987654321.03"),
}
_SOURCE = "\ue000source\ue000"


@dataclass(frozen=True)
class _Template:
    rule: str
    name: str
    formula: list[str | pl.Expr]
    inputs: list[str | pl.Expr]


def _split(text: str, slots: dict[str, pl.Expr]) -> list[str | pl.Expr]:
    """``text`` cut at the placeholder tokens, each replaced by its column expression."""
    tokens = {ex.money(v): slots[k] for k, v in _SLOTS.items() if k in slots}
    if "source" in slots:
        tokens[_SOURCE] = slots["source"]
    if not tokens:
        return [text]
    pattern = "(" + "|".join(re.escape(t) for t in tokens) + ")"
    out: list[str | pl.Expr] = []
    for part in re.split(pattern, text):
        if part in tokens:
            out.append(tokens[part])
        elif part:
            out.append(part)
    return out


def _template(
    item: ex.LineItem, slots: dict[str, pl.Expr], json_slots: dict[str, pl.Expr]
) -> _Template:
    inputs = json.dumps(dict(item.inputs), ensure_ascii=False, sort_keys=True)
    return _Template(item.rule, item.name, _split(item.formula, slots), _split(inputs, json_slots))


def _fill(parts: list[str | pl.Expr]) -> pl.Expr:
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def _line_frame(rows: pl.DataFrame, tpl: _Template, key: int) -> pl.DataFrame:
    """Line rows for ``rows`` (columns member, order, amount_fen, and the slot columns)."""
    return rows.select(
        pl.col("member"),
        pl.lit(key, dtype=pl.Int8).alias("key"),
        pl.col("order"),
        pl.lit(tpl.rule).alias("rule"),
        pl.lit(tpl.name).alias("name"),
        pl.col("amount_fen"),
        _fill(tpl.formula).alias("formula"),
        _fill(tpl.inputs).alias("inputs"),
        pl.col("source").alias("source"),
        pl.col("generation").alias("generation"),
    )


def _slot_columns() -> tuple[dict[str, pl.Expr], dict[str, pl.Expr]]:
    plain = {
        "pv": money_text(pl.col("pv_fen")),
        "amount": money_text(pl.col("amount_fen")),
        "volume": money_text(pl.col("volume_fen")),
        "source": pl.col("source_no"),
    }
    return plain, {**plain, "source": pl.col("source_json")}


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "member": pl.Int64, "key": pl.Int8, "order": pl.Int64, "rule": pl.String,
            "name": pl.String, "amount_fen": pl.Int64, "formula": pl.String, "inputs": pl.String,
            "source": pl.Int64, "generation": pl.Int64,
        }
    )  # fmt: skip


def _lines(
    res: PeriodResult, has_lines: npt.NDArray[np.bool_], member_nos: list[str]
) -> pl.DataFrame:
    """Every statement line of the members in ``has_lines``, in member then ``lines_for``
    order, with the member and source as member numbers (indices)."""
    plan = res.plan
    plain, json_slots = _slot_columns()
    frames: list[pl.DataFrame] = [_empty_lines()]
    paid = res.paid_as.astype(np.int64)
    none = pl.lit(None, dtype=pl.Int64)

    # Sales bonus: one template per tier.
    tier = res.sales_rate_tier.astype(np.int64)
    for t, spec in enumerate(plan.sales_bonus.tiers):
        who = np.flatnonzero(has_lines & (tier == t))
        if not who.size:
            continue
        item = ex.sales_line(plan, _SLOTS["pv"], spec.min_pv, spec.rate, _SLOTS["amount"])
        rows = pl.DataFrame(
            {"member": who, "order": np.zeros(who.size, np.int64), "pv_fen": res.pv[who],
             "amount_fen": res.sales_bonus[who]}
        ).with_columns(source=none, generation=none)  # fmt: skip
        frames.append(_line_frame(rows, _template(item, plain, json_slots), 0))

    # Morning star and open star: one template per paid-as rank with a group.
    for key, rule, bonus, arr in (
        (1, ex.RULE_MORNING, plan.morning_star, res.morning_star),
        (2, ex.RULE_OPEN, plan.open_star, res.open_star),
    ):
        volume = res.pv if bonus.basis == "pv" else res.pv_by_cutoff
        for r, rank in enumerate(plan.ranks):
            group = bonus.group_for(rank.code)
            if group is None:
                continue
            who = np.flatnonzero(has_lines & (paid == r) & (arr > 0))
            if not who.size:
                continue
            item = ex.threshold_line(
                plan, rule, rank.code, _SLOTS["volume"], group.min, _SLOTS["amount"]
            )
            rows = pl.DataFrame(
                {"member": who, "order": np.zeros(who.size, np.int64),
                 "volume_fen": volume[who], "amount_fen": arr[who]}
            ).with_columns(source=none, generation=none)  # fmt: skip
            frames.append(_line_frame(rows, _template(item, plain, json_slots), key))

    # Override and leadership lines, in lines_for's order: generation, then source.
    mine = has_lines[res.line_earner] if res.line_earner.size else np.zeros(0, np.bool_)
    sel = np.flatnonzero(mine)
    earner = res.line_earner[sel]
    source = res.line_source[sel]
    gen = res.line_generation[sel]
    amount = res.line_amount[sel]
    # Each line's position among its earner's lines: by generation, then source, ties in
    # engine order (what lines_for's stable lexsort gives).
    ordinal = np.empty(sel.size, dtype=np.int64)
    ordinal[np.lexsort((sel, source, gen, earner))] = np.arange(sel.size)
    lead = source < 0
    for r, rank in enumerate(plan.ranks):
        who = np.flatnonzero(lead & (paid[earner] == r))
        if not who.size:
            continue
        item = ex.leadership_line(plan, rank.code, rank.leadership, _SLOTS["amount"])
        rows = pl.DataFrame(
            {"member": earner[who], "order": ordinal[who], "amount_fen": amount[who]}
        ).with_columns(source=none, generation=none)
        frames.append(_line_frame(rows, _template(item, plain, json_slots), 3))
    nos = pl.Series("no", member_nos, dtype=pl.String)
    for g in np.unique(gen[~lead]).tolist():
        who = np.flatnonzero(~lead & (gen == g))
        item = ex.override_line(
            plan, _SOURCE, int(g), _SLOTS["pv"], plan.override.rate_for(int(g)), _SLOTS["amount"]
        )
        src = source[who]
        src_no = nos.gather(src)
        rows = pl.DataFrame(
            {"member": earner[who], "order": ordinal[who], "pv_fen": res.pv[src],
             "amount_fen": amount[who], "source": src, "generation": gen[who],
             "source_no": src_no, "source_json": _json_str(src_no)}
        )  # fmt: skip
        frames.append(_line_frame(rows, _template(item, plain, json_slots), 3))
    return pl.concat(frames, how="vertical").sort("member", "key", "order")


def build_rows(
    run: CommissionRun,
    res: PeriodResult,
    pks: npt.NDArray[np.int64],
    member_nos: list[str],
) -> tuple[Rows, Rows, Decimal]:
    """Rows (RESULT_COLUMNS / LINE_COLUMNS) of the members with any volume, rank or bonus
    and of their lines, in member order — identical inputs give identical rows — and the
    run's total. Column-wise: no Python loop over members."""
    keep = (res.pv != 0) | (res.total != 0) | (res.paid_as >= 0) | (res.sr_count > 0)
    idx = np.flatnonzero(keep)
    codes = pl.Series("codes", ["", *(r.code for r in res.plan.ranks)], dtype=pl.String)
    run_id = int(run.pk)
    base = pl.DataFrame(
        {
            "member_id": pks[idx],
            "paid_as": codes.gather(res.paid_as[idx].astype(np.int64) + 1),
            "title": codes.gather(res.title[idx].astype(np.int64) + 1),
            "sr_count": res.sr_count[idx].astype(np.int64),
            **{c: money_decimal(getattr(res, c)[idx]) for c in MONEY_RESULT_COLUMNS},
        }
    )
    results = base.select(pl.lit(run_id, dtype=pl.Int64).alias("run_id"), *RESULT_COLUMNS[1:])
    # The lines take most of the build: they are made on a worker thread (polars and
    # NumPy release the GIL) while the caller goes on, e.g. to COPY the results.
    worker = ThreadPoolExecutor(1, thread_name_prefix="comp-lines")
    lines = worker.submit(_line_rows, res, keep & (res.total != 0), pks, member_nos, run_id)
    worker.shutdown(wait=False)
    total_fen = int(res.total[idx].sum())
    return Rows(results), Rows(lines), from_fen(total_fen)


def _line_rows(
    res: PeriodResult,
    has_lines: npt.NDArray[np.bool_],
    pks: npt.NDArray[np.int64],
    member_nos: list[str],
    run_id: int,
) -> pl.DataFrame:
    lines = _lines(res, has_lines, member_nos)
    return lines.select(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        pl.Series("member_id", pks[lines["member"].to_numpy()], dtype=pl.Int64),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("member").alias("seq"),
        "rule",
        "name",
        money_decimal(lines["amount_fen"].to_numpy()).alias("amount"),
        "formula",
        "inputs",
        _gather_nullable(pks, lines["source"]).alias("source_member_id"),
        "generation",
    )


def _gather_nullable(values: npt.NDArray[np.int64], index: pl.Series) -> pl.Series:
    """``values[index]`` keeping the index's nulls."""
    pos = index.fill_null(0).to_numpy()
    picked = pl.Series(values[pos] if values.size else np.zeros(pos.size, np.int64))
    return pl.select(pl.when(index.is_null()).then(None).otherwise(picked)).to_series()


# --------------------------------------------------------------------------- inserting


def bulk_insert(
    model: type[models.Model], columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (a :class:`Rows` frame or tuples) into ``model``'s table on Django's
    connection, so inside the caller's transaction: COPY on PostgreSQL, ``executemany`` in
    large batches elsewhere. No model instance per row."""
    if not len(rows):
        return
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    cols = ", ".join(q(c) for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            if isinstance(rows, Rows) and rows.partition is not None:
                pgpartition.attach(cur, model._meta.db_table, rows.partition)
                return
            kinds = _binary_kinds(model, columns) if isinstance(rows, Rows) else None
            if isinstance(rows, Rows) and kinds is not None:
                _copy_binary(cur.cursor, table, columns, rows.frame, kinds)
                return
            statement = f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)"
            with cur.cursor.copy(statement, writer=QueuedLibpqWriter(cur.cursor)) as copy:
                for chunk in _csv_chunks(rows, columns):
                    copy.write(chunk)
            return
        if connection.vendor == "sqlite":
            # Up to 1 GiB of page cache for this connection: indexes of a million-row
            # insert stay in memory until the commit.
            with pragma("cache_size", -1048576):
                if isinstance(rows, Rows) and rows.staged_as:
                    cur.execute(
                        f"INSERT INTO {table} ({cols}) "  # noqa: S608
                        f"SELECT {cols} FROM {rows.staged_as}.{_STAGE_TABLE}"
                    )
                    return
                # The sqlite3 cursor itself: Django's wrapper adds nothing to plain
                # values but a pass over each batch.
                marks = ", ".join(["?"] * len(columns))
                sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
                for batch in _batches(rows):
                    cur.cursor.executemany(sql, batch)
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
        for batch in _batches(rows):
            cur.executemany(sql, batch)


def staged_copy_in_chunks(
    model: type[models.Model],
    columns: tuple[str, ...],
    rows: Sequence[tuple[Any, ...]],
    *,
    check: Callable[[], None],
) -> int:
    """SQLite, rows staged in an attached scratch file (``staged``): copy them into
    ``model``'s table in consecutive rowid ranges, each committed on its own and holding
    the write lock about ``SALESOPS_RUN_WRITE_CHUNK_SECONDS`` (``write_in_chunks``), so
    that logins and other short writers get in between. ``check`` runs in each range's
    transaction first (the run still running, the month still open) and raises to stop.

    Returns the number of ranges committed; 0, copying nothing, where the rows are not
    staged or a transaction is open (the caller's one-transaction ``bulk_insert``
    applies). The rows a failure
    leaves committed are the caller's to remove (``run_rows_delete``); until the run is
    done nobody reads them (``selectors.results_for``, statements: done runs only)."""
    if not (isinstance(rows, Rows) and rows.staged_as) or connection.in_atomic_block:
        return 0
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    cols = ", ".join(q(c) for c in columns)
    source = f"{rows.staged_as}.{_STAGE_TABLE}"
    sql = (
        f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {source} "  # noqa: S608
        "WHERE rowid > %s AND rowid <= %s ORDER BY rowid"
    )

    def write(start: int, stop: int) -> None:
        check()
        with connection.cursor() as cur:
            # the scratch table's rowids are 1..n, in the frame's order
            cur.execute(sql, [start, stop])

    # Up to 1 GiB of page cache for this connection, kept across the ranges.
    with pragma("cache_size", -1048576):
        ranges = write_in_chunks(
            len(rows),
            write,
            first=STORE_FIRST_CHUNK,
            least=1_000,
            most=len(rows),
            target=float(settings.SALESOPS_RUN_WRITE_CHUNK_SECONDS),
        )
    return len(ranges)


# The first range of a chunked store; the next ones are sized by the time it took.
STORE_FIRST_CHUNK = 10_000
# Rows of a failed run removed per transaction (``run_rows_delete``).
DELETE_CHUNK = 20_000


def run_rows_delete(run_id: int) -> int:
    """Remove every result and line of run ``run_id`` (a run that failed part-way
    through a chunked store), ``DELETE_CHUNK`` rows per short transaction through the
    tables' run indexes. Returns the number removed; 0 at once for a run without rows."""
    q = connection.ops.quote_name
    removed = 0
    for model in (CommissionLine, CommissionResult):
        table = q(model._meta.db_table)
        pk, run = q(str(model._meta.pk.column)), q("run_id")
        sql = (
            f"DELETE FROM {table} WHERE {pk} IN "  # noqa: S608
            f"(SELECT {pk} FROM {table} WHERE {run} = %s LIMIT {DELETE_CHUNK})"
        )
        while True:
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute(sql, [run_id])
                count = cur.rowcount
            removed += max(count, 0)
            if count < DELETE_CHUNK:
                break
    return removed


def _copy_binary(
    cursor: Any,
    table: str,
    columns: tuple[str, ...],
    frame: pl.DataFrame,
    kinds: list[Kind],
    *,
    freeze: bool = False,
) -> None:
    """COPY ``frame``'s ``columns`` into ``table`` (quoted) on the psycopg ``cursor``,
    binary: the server parses no numbers or quoted text. A queued writer sends on its own
    thread while the next chunk is encoded here. ``freeze``: rows written frozen and the
    pages marked all-visible (only into a table created in the same transaction), so
    neither the first reader nor vacuum has to write the table again."""
    from psycopg.copy import QueuedLibpqWriter

    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    options = "FORMAT binary, FREEZE" if freeze else "FORMAT binary"
    statement = f"COPY {table} ({cols}) FROM STDIN WITH ({options})"
    with cursor.copy(statement, writer=QueuedLibpqWriter(cursor)) as copy:
        for chunk in binary_copy_chunks(frame.select(columns), kinds):
            copy.write(chunk)


_STAGE_TABLE = "staged_rows"


Table = tuple[type[models.Model], tuple[str, ...], Sequence[tuple[Any, ...]]]


@contextlib.contextmanager
def staged(run_id: int, *tables: Table) -> Iterator[None]:
    """The store's inserts of ``tables`` — each (model, columns, rows) of run ``run_id`` —
    prepared before its transaction, so that inside it ``bulk_insert`` has little left
    to do. Only rows that are :class:`Rows`, outside any transaction.

    * PostgreSQL, tables partitioned by run (migration 0005): each frame is copied into
      the run's own partition table on a connection of its own, the tables side by side,
      then indexed (see ``core/pgpartition.py``); ``bulk_insert`` attaches it.
    * SQLite: the sqlite3 module binds every value from Python, one row after another:
      thirty million values of a million-member run take most of half a minute. So each
      frame is first written by ADBC (Arrow arrays bound in C, the frames side by side on
      their own threads) into a scratch SQLite file, with no journal, and the files are
      attached to Django's connection; ``bulk_insert`` copies each with one
      ``INSERT … SELECT``. ADBC's SQLite is a second copy of the library (see
      ``core/sqlite_arrow.py``): the scratch files are closed by it before Django's
      connection opens them, never shared.

    Either way the run's rows become the table's in the store's one transaction, and on
    leaving whatever was not used is removed. Elsewhere (inside a transaction, no driver,
    a write failing) this does nothing and ``bulk_insert`` inserts the rows itself.
    """
    todo = [t for t in tables if isinstance(t[2], Rows)] if not connection.in_atomic_block else []
    if connection.vendor == "postgresql" and todo:
        with _partitions(run_id, todo):
            yield
        return
    # Only SQLite looks at the rows: elsewhere a frame still in the making stays so.
    sqlite = connection.vendor == "sqlite"
    frames = [t[2] for t in todo if isinstance(t[2], Rows) and len(t[2])] if sqlite else []
    if not frames:
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="salesops-stage-"))
    attached: list[Rows] = []
    try:
        try:
            files = [folder / f"{k}.sqlite3" for k in range(len(frames))]
            with ThreadPoolExecutor(len(frames), thread_name_prefix="comp-stage") as pool:
                list(pool.map(_stage_write, files, [t.frame for t in frames]))
            with connection.cursor() as cur:
                for k, (rows, path) in enumerate(zip(frames, files, strict=True)):
                    name = f"salesops_stage_{k}"
                    cur.execute(f"ATTACH DATABASE %s AS {name}", [str(path)])
                    rows.staged_as = name
                    attached.append(rows)
        except Exception:
            logger.warning("staging rows failed; inserting them from Python", exc_info=True)
            _detach(attached)
        yield
    finally:
        _detach(attached)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _partitions(run_id: int, tables: list[Table]) -> Iterator[None]:
    """PostgreSQL part of ``staged``: run ``run_id``'s partition of each table, filled and
    indexed on connections of its own, ready for ``bulk_insert`` to attach."""
    todo: list[tuple[str, str, tuple[str, Kind] | None, tuple[str, ...], Rows, list[Kind]]] = []
    with connection.cursor() as cur:
        for model, columns, rows in tables:
            table = model._meta.db_table
            key = getattr(model, "PARTITION_KEY", None)
            kinds = _binary_kinds(model, columns)
            assert isinstance(rows, Rows)
            if not key or kinds is None or not pgpartition.is_partitioned(cur, table):
                continue
            _drop_abandoned(cur, table)
            found = pgpartition.attached_partition(cur, table, run_id)
            if found == (True, True):
                continue  # rows of this run already there (ids reused): insert beside them
            if found is not None:  # an empty partition of an earlier life of this id
                pgpartition.drop(cur, table, run_id)
            pk = str(model._meta.pk.column)
            pk_kind = _binary_kinds(model, (pk,)) if pk not in columns else None
            todo.append((table, key, (pk, pk_kind[0]) if pk_kind else None, columns, rows, kinds))
    params = connection.get_connection_params()
    conns = [connection.get_new_connection(params) for _t in todo]
    try:
        with ThreadPoolExecutor(max(1, len(todo)), thread_name_prefix="comp-part") as pool:
            jobs = [
                pool.submit(_fill_partition, conn, run_id, *job)
                for conn, job in zip(conns, todo, strict=True)
            ]
            for job, (*_spec, rows, _kinds) in zip(jobs, todo, strict=True):
                try:
                    job.result()
                    rows.partition = run_id
                except Exception:
                    logger.warning(
                        "writing a run's partition failed; copying instead", exc_info=True
                    )
    finally:
        for conn in conns:
            conn.close()
    try:
        yield
    finally:
        for *_spec, rows, _kinds in todo:
            rows.partition = None
        try:
            with connection.cursor() as cur:
                for table, *_rest in todo:
                    pgpartition.drop_unattached(cur, table, run_id)
        except Exception:  # e.g. the connection is gone: the next store drops it
            logger.warning("could not drop run %s's unattached partitions", run_id, exc_info=True)


def _fill_partition(
    conn: Any,
    run_id: int,
    table: str,
    key: str,
    pk: tuple[str, Kind] | None,
    columns: tuple[str, ...],
    rows: Rows,
    kinds: list[Kind],
) -> None:
    """Create run ``run_id``'s partition table of ``table``, copy ``rows`` into it and
    index it, in one transaction on ``conn`` (a psycopg connection of its own). The rows'
    primary keys (``pk``: column and kind, when not among ``columns``) are a block taken
    from the table's sequence beforehand, in a transaction of their own, when it can be."""
    conn.autocommit = True
    frame = rows.frame
    first = None
    if pk is not None:
        try:
            with conn.transaction(), conn.cursor() as cur:
                block = pgpartition.reserve_ids(cur, table, pk[0], frame.height)
        except Exception:  # e.g. not the sequence's owner: each row draws its own
            logger.warning("could not reserve ids of %s", table, exc_info=True)
        else:  # committed: the block is ours
            first = block
    if pk is not None and first is not None:
        frame = frame.with_columns(
            pl.int_range(first, first + frame.height, dtype=pl.Int64).alias(pk[0])
        )
        columns, kinds = (pk[0], *columns), [pk[1], *kinds]
    with conn.transaction(), conn.cursor() as cur:
        # Same reasoning as store_settings; the sorts of the index builds in memory.
        cur.execute("SET LOCAL synchronous_commit = off")
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        name = pgpartition.create_unattached(cur, table, run_id)
        _copy_binary(cur, name, columns, frame, kinds, freeze=True)
        pgpartition.finish_unattached(cur, table, key, run_id)


def _drop_abandoned(cur: Any, table: str) -> None:
    """Drop the unattached partition tables of runs no longer queued or running (a
    process that died between writing and attaching them)."""
    values = pgpartition.unattached_values(cur, table)
    if not values:
        return
    alive = set(
        CommissionRun.objects.filter(pk__in=values, status__in=ACTIVE_RUN_STATUSES).values_list(
            "pk", flat=True
        )
    )
    for value in values:
        if value not in alive:
            pgpartition.drop(cur, table, value)


def _stage_write(path: Path, frame: pl.DataFrame) -> None:
    import adbc_driver_sqlite.dbapi as sqlite_dbapi

    with sqlite_dbapi.connect(str(path), autocommit=True) as conn, conn.cursor() as cur:
        # A scratch file, deleted after the store: no journal, no syncing.
        cur.execute("PRAGMA journal_mode = OFF")
        cur.execute("PRAGMA synchronous = OFF")
        # ADBC's SQLite takes no decimals: amounts go as their exact text, which the
        # table's NUMERIC column converts as it would a bound Decimal (Django binds text).
        money = [c for c, t in frame.schema.items() if isinstance(t, pl.Decimal)]
        text = frame.with_columns(pl.col(money).cast(pl.String)) if money else frame
        cur.adbc_ingest(_STAGE_TABLE, text.to_arrow(), mode="create")


def _detach(attached: list[Rows]) -> None:
    while attached:
        rows = attached.pop()
        name, rows.staged_as = rows.staged_as, None
        try:
            with connection.cursor() as cur:
                cur.execute(f"DETACH DATABASE {name}")
        except Exception:  # still attached: the next store stages nothing and binds rows
            logger.warning("could not detach %s", name, exc_info=True)


def _binary_kinds(model: type[models.Model], columns: tuple[str, ...]) -> list[Kind] | None:
    """The binary COPY encoding of each column, from its PostgreSQL type; None when one
    has no encoding here (the CSV path takes any)."""
    fields = {f.column: f for f in model._meta.concrete_fields}
    kinds: list[Kind] = []
    for name in columns:
        db_type = str(fields[name].db_type(connection))
        if db_type == "bigint":
            kinds.append("int8")
        elif db_type == "integer":
            kinds.append("int4")
        elif db_type == "smallint":
            kinds.append("int2")
        elif db_type == "text" or db_type.startswith("varchar("):
            kinds.append("text")
        elif db_type == "jsonb":
            kinds.append("jsonb")
        elif re.fullmatch(r"numeric\(\d+, ?2\)", db_type):
            kinds.append("money")
        else:
            return None
    return kinds


def store_settings() -> None:
    """Settings for the store's transaction, on Django's connection, that change only
    speed. PostgreSQL: ``synchronous_commit = off`` for this transaction only — the commit
    returns before its WAL reaches the disk, so a server crash in the next few hundred
    milliseconds may lose this run's commit, as a whole (never part of it: the previous
    results stay current and the run is simply not done); it never affects consistency."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")


def _batches(rows: Sequence[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    if isinstance(rows, Rows):
        for start in range(0, len(rows), SQLITE_BATCH):
            yield list(_tuples(rows.frame.slice(start, SQLITE_BATCH)))
        return
    for start in range(0, len(rows), SQLITE_BATCH):
        yield list(rows[start : start + SQLITE_BATCH])


def _csv_chunks(rows: Sequence[tuple[Any, ...]], columns: tuple[str, ...]) -> Iterator[bytes]:
    """CSV for COPY: an empty field is NULL, a quoted empty field is ''."""
    if isinstance(rows, Rows):
        frame = rows.frame
    else:
        frame = pl.DataFrame(
            list(rows), schema=list(columns), orient="row", infer_schema_length=None
        )
    for start in range(0, frame.height, COPY_CHUNK):
        buf = io.BytesIO()
        _as_text(frame.slice(start, COPY_CHUNK)).write_csv(buf, include_header=False)
        yield buf.getvalue()


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as the text PostgreSQL parses (dates ISO, decimals exact)."""
    out: list[pl.Expr | pl.Series] = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Object:
            out.append(
                pl.Series(name, [None if v is None else str(v) for v in frame[name].to_list()])
            )
        else:
            out.append(pl.col(name))
    return frame.select(out)
