"""Benchmark of a commission run in the app (not a test): prints its figures.

A synthetic network (default 1,000,000 members: wide first levels, a 60-deep chain, 3%
terminated, some sponsor moves, titles and last month's rank history) and its orders
(default 10,000,000, 20% ARO, 1% cancelled, 2% dated the month before, 1% returned) are
written straight into the database, then one month is run exactly as the task does:
``commission_run_start`` then ``commission_run_process``. Prints seconds per phase (read,
compute, build, adjustments, store), the total, CPU seconds and the peak RSS.

    .venv/bin/python bench/bench_comp_run.py                       # SQLite file, 1M / 10M
    .venv/bin/python bench/bench_comp_run.py --members 20000 --orders 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench \\
        .venv/bin/python bench/bench_comp_run.py --database postgres

The data is built once and kept (SQLite: ``--db``, default in /tmp; PostgreSQL: the
database of DATABASE_URL, which must exist and be empty or hold this bench's data);
``--rebuild`` starts afresh. Each ``--repeat`` is a new run of the same month (a re-run).
Target on 2 cores: DB to stored results ≤ 30 s at 1M / 10M on each database.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import gc
import io
import os
import resource
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEED = 20261001


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


def machine_s() -> float:
    """CPU seconds the whole machine has been busy (all processes, /proc/stat): minus
    this process's own, what the database server spent (the machine is otherwise idle)."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=10_000_000)
    ap.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    ap.add_argument("--db", default="", help="SQLite file (default in /tmp, kept)")
    ap.add_argument("--rebuild", action="store_true", help="regenerate the data")
    ap.add_argument("--repeat", type=int, default=1, help="runs of the month, one after another")
    ap.add_argument(
        "--runio", default="", help="run with this copy of services/runio.py (a before/after)"
    )
    args = ap.parse_args()

    if args.database == "postgres":
        if not os.environ.get("DATABASE_URL"):
            print("--database postgres needs DATABASE_URL", file=sys.stderr)
            return 2
    else:
        os.environ.pop("DATABASE_URL", None)
        db = args.db or f"/tmp/salesops-bench-comp-run-{args.members}-{args.orders}.sqlite3"
        os.environ["SALESOPS_SQLITE_PATH"] = db
        if args.rebuild:
            for suffix in ("", "-wal", "-shm"):
                Path(db + suffix).unlink(missing_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    if args.runio:
        _load_runio(Path(args.runio))
    call_command("migrate", verbosity=0, interactive=False)
    from salesops.org.models import Member

    today = timezone.localdate()
    period = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    have = Member.objects.count()
    if have and (have != args.members or args.rebuild):
        if connection.vendor == "sqlite":
            print(f"{os.environ['SALESOPS_SQLITE_PATH']} holds other data: use --rebuild")
        else:
            print("the PostgreSQL database holds other data: drop and create it again")
        return 2
    if not have:
        build(args.members, args.orders, period)

    print(
        f"{connection.vendor}: {args.members:,} members, {args.orders:,} orders, month "
        f"{period:%Y-%m}; load average {os.getloadavg()[0]:.1f}"
    )
    for k in range(args.repeat):
        run_once(period, k + 1)
    print(f"peak RSS {peak_mb():,.0f} MB")
    return 0


def _load_runio(path: Path) -> None:
    """Install ``path`` as salesops.compensation.services.runio before anything imports it."""
    import importlib.util

    name = "salesops.compensation.services.runio"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    if not hasattr(module, "store_settings"):  # copies older than the store settings
        module.store_settings = lambda: None  # type: ignore[attr-defined]
    print(f"runio from {path}")


# --------------------------------------------------------------------------- data


def build(n: int, m: int, period: dt.date) -> None:
    from django.db import connection, transaction

    from salesops.org.models import Member, MemberStatus
    from salesops.org.services import members
    from salesops.org.services.members import MemberSeed

    rng = np.random.default_rng(SEED)
    t0 = time.perf_counter()
    # A few founders with very wide first levels, a 60-deep chain, then a random recursive
    # tree biased towards recent joiners (depth grows like a few × ln n).
    idx = np.arange(n, dtype=np.int64)
    sponsor = (rng.random(n) ** 0.5 * idx).astype(np.int64)
    wide = min(n, 2000)
    sponsor[:wide] = rng.integers(0, 5, wide)
    chain = min(60, n)
    sponsor[5 : 5 + chain] = np.arange(4, 4 + chain)[: max(0, min(chain, n - 5))]
    sponsor[:5] = -1
    roots = rng.random(n) < 0.0002
    sponsor[roots] = -1
    terminated = rng.random(n) < 0.03
    titles = np.array(["", "", "", "", "", "SR", "SR", "SE", "SM"])[rng.integers(0, 9, n)]
    joined = dt.date(2024, 1, 1)
    seeds = [
        MemberSeed(
            member_no=f"M{i:08d}",
            name=f"会员{i}",
            joined_on=joined,
            sponsor_no=f"M{s:08d}" if s >= 0 else "",
            status=MemberStatus.TERMINATED if t else MemberStatus.ACTIVE,
            title=str(title),
        )
        for i, (s, t, title) in enumerate(
            zip(sponsor.tolist(), terminated.tolist(), titles.tolist(), strict=True)
        )
    ]
    members.members_bulk_create(actor=None, seeds=seeds, batch_size=20000)
    del seeds
    t1 = time.perf_counter()
    ids = np.array(Member.objects.order_by("id").values_list("id", flat=True), dtype=np.int64)
    sp_ids = np.array(
        Member.objects.order_by("id").values_list("sponsor_id", flat=True), dtype=object
    )
    now = timezone_now()
    last_day = (period + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    prev = (period - dt.timedelta(days=1)).replace(day=1)

    # Sponsor moves: 1% of members moved to their current sponsor on the 1st of the month
    # before; until then their sponsor was their sponsor's sponsor.
    has_sp = np.array([s is not None for s in sp_ids], dtype=np.bool_)
    sp_arr = np.where(has_sp, sp_ids, 0).astype(np.int64)
    grand = np.zeros(n, dtype=np.int64)
    pos = np.searchsorted(ids, sp_arr)
    pos_c = np.minimum(pos, n - 1)
    grand_obj = sp_ids[pos_c]
    has_grand = has_sp & np.array([g is not None for g in grand_obj], dtype=np.bool_)
    grand[has_grand] = grand_obj[has_grand].astype(np.int64)
    moved = has_grand & (rng.random(n) < 0.01)
    moved_ids = ids[moved]
    # Rank history: 40% of members have a row for the month before.
    ranked = rng.random(n) < 0.4
    codes = np.array(["SR", "SE", "SM"])
    rank_rows = pl.DataFrame(
        {
            "member_id": ids[ranked],
            "period": prev.isoformat(),
            "paid_as": codes[rng.integers(0, 3, int(ranked.sum()))],
            "title": codes[rng.integers(0, 3, int(ranked.sum()))],
        }
    )
    orders, returns = _orders(rng, ids, m, period, last_day, prev)
    t2 = time.perf_counter()

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("CREATE TEMPORARY TABLE bench_moved (id BIGINT PRIMARY KEY)")
            load("bench_moved", pl.DataFrame({"id": moved_ids}))
            cur.execute(
                "UPDATE org_sponsorhistory SET valid_from = %s "
                "WHERE member_id IN (SELECT id FROM bench_moved)",
                [prev],
            )
            cur.execute("DROP TABLE bench_moved")
        history = pl.DataFrame(
            {
                "member_id": moved_ids,
                "sponsor_id": grand[moved],
                "valid_from": joined.isoformat(),
                "valid_to": prev.isoformat(),
                "recorded_at": now,
                "reason": "bench",
            }
        )
        load("org_sponsorhistory", history)
        load("org_rankhistory", rank_rows)
        load("sales_order", orders)
        load("sales_return", returns)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    t3 = time.perf_counter()
    print(
        f"built in {t3 - t0:.0f} s: members {t1 - t0:.0f} s, generate {t2 - t1:.0f} s, "
        f"insert {t3 - t2:.0f} s"
    )


def timezone_now() -> str:
    """Now as the column text each database reads back as an aware UTC datetime."""
    from django.db import connection

    offset = "+00:00" if connection.vendor == "postgresql" else ""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S") + offset


def _orders(
    rng: np.random.Generator,
    ids: np.ndarray,
    m: int,
    period: dt.date,
    last_day: dt.date,
    prev: dt.date,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    n_ret = m // 100
    k = m - n_ret
    # A third of members buy most: skewed so about 30% reach the SR threshold.
    buyer = np.where(
        rng.random(k) < 0.7,
        rng.integers(0, max(1, ids.size // 3), k),
        rng.integers(0, ids.size, k),
    )
    fen = rng.integers(10_000, 300_000, k)
    days = last_day.day
    in_prev = rng.random(k) < 0.02
    day = np.where(in_prev, rng.integers(1, 28, k), rng.integers(1, days + 1, k))
    base = np.where(in_prev, np.datetime64(prev), np.datetime64(period))
    dates = (base + (day - 1).astype("timedelta64[D]")).astype("datetime64[D]")
    kind = np.where(rng.random(k) < 0.2, "aro", "regular")
    status = np.where(rng.random(k) < 0.01, "cancelled", "confirmed")
    now = timezone_now()
    orders = pl.DataFrame(
        {
            "order_no": pl.Series(np.arange(1, k + 1)).cast(pl.String).str.zfill(9),
            "order_date": pl.Series(dates).cast(pl.Date).cast(pl.String),
            "kind": kind,
            "status": status,
            "credited_member_id": ids[buyer],
            "total_amount": _dec(fen),
            "returned_amount": "0",
            "created_at": now,
        }
    ).with_columns(pl.concat_str(pl.lit("SO"), pl.col("order_no")).alias("order_no"))
    of = rng.choice(k, n_ret, replace=False)
    ret_fen = np.minimum(fen[of], rng.integers(100, 100_000, n_ret))
    ret_day = rng.integers(1, days + 1, n_ret)
    ret_dates = (np.datetime64(period) + (ret_day - 1).astype("timedelta64[D]")).astype(
        "datetime64[D]"
    )
    returns = pl.DataFrame(
        {
            "return_no": pl.Series(np.arange(1, n_ret + 1)).cast(pl.String).str.zfill(9),
            # Order ids are assigned 1..k in insert order on a fresh table.
            "original_order_id": of.astype(np.int64) + 1,
            "return_date": pl.Series(ret_dates).cast(pl.Date).cast(pl.String),
            "reason": "",
            "total_amount": _dec(ret_fen),
            "created_at": now,
        }
    ).with_columns(pl.concat_str(pl.lit("RT"), pl.col("return_no")).alias("return_no"))
    return orders, returns


def _dec(fen: np.ndarray) -> pl.Series:
    f = pl.col("fen")
    text = pl.format("{}.{}", (f // 100).cast(pl.String), (f % 100).cast(pl.String).str.zfill(2))
    return pl.DataFrame({"fen": fen}).select(text.alias("amount")).to_series()


def load(table: str, frame: pl.DataFrame) -> None:
    """Rows straight into ``table``: COPY on PostgreSQL, one executemany on SQLite, with
    the table's secondary indexes dropped and built again afterwards (much faster)."""
    from django.db import connection

    cols = ", ".join(frame.columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # Check foreign keys at the end of the COPY rather than at the commit: pending
            # deferred checks would forbid the CREATE INDEX below.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND "
                "indexname NOT IN (SELECT conname FROM pg_constraint)",
                [table],
            )
            indexes = cur.fetchall()
            for name, _sql in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            step = 1_000_000
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
                for start in range(0, frame.height, step):
                    buf = io.BytesIO()
                    frame.slice(start, step).write_csv(buf, include_header=False)
                    copy.write(buf.getvalue())
            for _name, sql in indexes:
                cur.execute(sql)
        else:
            cur.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
                "AND sql IS NOT NULL",
                [table],
            )
            indexes = cur.fetchall()
            for name, _sql in indexes:
                cur.execute(f'DROP INDEX "{name}"')
            cur.execute("PRAGMA cache_size = -1048576")
            raw = cur.cursor  # the sqlite3 cursor: no %s rewriting per batch
            marks = ", ".join("?" * len(frame.columns))
            step = 500_000
            for start in range(0, frame.height, step):
                raw.executemany(
                    f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                    frame.slice(start, step).rows(),
                )
            for _name, sql in indexes:
                cur.execute(sql)


# --------------------------------------------------------------------------- the run


def run_once(period: dt.date, k: int) -> None:
    from django.db import DEFAULT_DB_ALIAS, connections

    from salesops.compensation.models import (
        CommissionLine,
        CommissionResult,
        CommissionRun,
        RunStatus,
    )
    from salesops.compensation.services import runs
    from salesops.core.models import Role, RoleCode, User

    role, _ = Role.objects.get_or_create(
        code=RoleCode.ADMIN, defaults={"name": "admin", "data_scope": "all"}
    )
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": role})
    times: dict[str, float] = {}
    cpus: dict[str, float] = {}
    others: dict[str, float] = {}

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **kw: Any) -> Any:
            t, c, m = time.perf_counter(), cpu_s(), machine_s()
            try:
                return fn(*a, **kw)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - t
                mine = cpu_s() - c
                cpus[name] = cpus.get(name, 0.0) + mine
                others[name] = others.get(name, 0.0) + max(0.0, machine_s() - m - mine)

        return wrapper

    originals = {
        name: getattr(runs, name)
        for name in (
            "read_period_input", "compute_period", "build_rows", "adjustments_for_run", "_store"
        )
    }  # fmt: skip
    labels = {
        "read_period_input": "read",
        "compute_period": "compute",
        "build_rows": "build",
        "adjustments_for_run": "adjustments",
        "_store": "store",
    }
    for name, fn in originals.items():
        setattr(runs, name, timed(labels[name], fn))
    # Before the store's transaction, SQLite writes the rows into scratch files and
    # PostgreSQL into the run's own partitions (then results/lines are only their attach).
    stage = runs.staged

    @contextlib.contextmanager
    def staged(*tables: Any) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            timed("  stage", stack.enter_context)(stage(*tables))
            yield

    runs.staged = staged  # type: ignore[assignment]
    # The store in parts: each table's insert and the commit (where PostgreSQL checks
    # deferred constraints and SQLite writes the WAL).
    insert = runs.bulk_insert

    def bulk_insert(model: Any, *a: Any, **kw: Any) -> None:
        label = {CommissionResult: "  results", CommissionLine: "  lines"}.get(model, "  other")
        timed(label, insert)(model, *a, **kw)

    runs.bulk_insert = bulk_insert  # type: ignore[assignment]
    # SQLite copies staged rows in committed ranges instead (issue 11).
    chunked = runs.staged_copy_in_chunks

    def staged_copy_in_chunks(model: Any, *a: Any, **kw: Any) -> int:
        label = {CommissionResult: "  results", CommissionLine: "  lines"}.get(model, "  other")
        ranges: int = timed(label, chunked)(model, *a, **kw)
        if ranges:
            print(f"  {label.strip()}: {ranges} committed ranges")
        return ranges

    runs.staged_copy_in_chunks = staged_copy_in_chunks  # type: ignore[assignment]
    wrapper = connections[DEFAULT_DB_ALIAS]
    commit = wrapper.commit

    def store_commit() -> None:  # only the store's commit, not the start's
        if "  lines" in times and "  commit" not in times:
            timed("  commit", commit)()
        else:
            commit()

    wrapper.commit = store_commit  # type: ignore[method-assign]
    gc.collect()
    try:
        cpu0, t0, machine0 = cpu_s(), time.perf_counter(), machine_s()
        run = runs.commission_run_start(actor=admin, period=period)
        status = runs.commission_run_process(run_id=run.pk)
        wall = time.perf_counter() - t0
        cpu = cpu_s() - cpu0
        server = max(0.0, machine_s() - machine0 - cpu)
    finally:
        for name, fn in originals.items():
            setattr(runs, name, fn)
        runs.staged = stage  # type: ignore[assignment]
        runs.bulk_insert = insert  # type: ignore[assignment]
        runs.staged_copy_in_chunks = chunked  # type: ignore[assignment]
        del wrapper.commit
    run = CommissionRun.objects.get(pk=run.pk)
    lines = CommissionLine.objects.filter(run=run).count()
    print(
        f"run {k}: {status}{' ' + run.error[:200] if status != RunStatus.DONE else ''}; "
        f"{run.members_count:,} results, {lines:,} lines, total ¥{run.total:,}"
    )
    order = [
        "read", "compute", "build", "adjustments", "store", "  stage", "  results", "  lines",
        "  commit",
    ]  # fmt: skip
    print(
        "  wall (CPU here + elsewhere) per phase: "
        + ", ".join(
            f"{name.strip()} {times.get(name, 0.0):.1f} "
            f"({cpus.get(name, 0.0):.1f} + {others.get(name, 0.0):.1f}) s"
            for name in order
        )
    )
    print(
        f"  total {wall:.1f} s (target ≤ 30 s), CPU {cpu:.1f} s here + {server:.1f} s "
        f"elsewhere (the database server); peak RSS so far "
        f"{peak_mb():,.0f} MB; load average {os.getloadavg()[0]:.1f}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
