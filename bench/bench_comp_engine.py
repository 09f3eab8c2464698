"""Benchmark of the compensation engine (not a test): prints its figures.

1. ``salesops comp compute`` on synthetic files (default 1,000,000 members and
   10,000,000 orders), run as a child process: wall seconds and peak RSS.
2. Vectorised vs reference engine on 100,000 members / 1,000,000 orders: seconds each,
   the speed-up, and a check that both give the same totals to the fen.

    python bench/bench_comp_engine.py                # full scale
    python bench/bench_comp_engine.py --scale 0.05   # everything ×0.05

Data is generated from a fixed seed: a random recursive sponsor tree (depth ~ e·ln n),
3% terminated members, some titles held before, ~10 orders a member with ~30% of members
qualifying as SR, 20% ARO, 1% returns and 2% of orders outside the period.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from salesops.compensation.engine.network import (  # noqa: E402
    MemberRecord,
    OrderRecord,
    input_from_records,
)
from salesops.compensation.engine.plan import load_rank_plan  # noqa: E402
from salesops.compensation.engine.reference import reference_compute  # noqa: E402
from salesops.compensation.engine.schedule import Period  # noqa: E402
from salesops.compensation.engine.vectorised import compute_period  # noqa: E402

PLAN = REPO / "plans" / "seed-rank-plan.toml"
PERIOD = "2026-10"


def generate(n: int, m: int, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Members and orders frames (all columns as the CSV contract writes them)."""
    rng = np.random.default_rng(seed)
    idx = np.arange(n, dtype=np.int64)
    sponsor = np.full(n, -1, dtype=np.int64)
    sponsor[1:] = (rng.random(n - 1) * idx[1:]).astype(np.int64)
    roots = rng.random(n) < 0.0005
    sponsor[roots] = -1
    sponsor[0] = -1
    status = np.where(rng.random(n) < 0.03, "terminated", "active")
    titles = np.array(["", "", "", "", "SR", "SE", "SM"])[rng.integers(0, 7, n)]
    members = pl.DataFrame(
        {
            "member_id": idx + 1,
            "sponsor_id": pl.Series(np.where(sponsor >= 0, sponsor + 1, 0)).cast(pl.String),
            "joined_on": "2024-01-01",
            "status": status,
            "title": titles,
        }
    ).with_columns(pl.col("sponsor_id").replace("0", ""))

    n_sales = m - m // 100
    who = rng.integers(0, n, n_sales)
    fen = rng.integers(10_000, 300_000, n_sales)
    day = rng.integers(1, 32, n_sales)
    month = np.where(rng.random(n_sales) < 0.02, 9, 10)
    day = np.where(month == 10, day, np.minimum(day, 30))
    kind = np.where(rng.random(n_sales) < 0.2, "aro", "regular")
    ret_of = rng.choice(n_sales, m - n_sales, replace=False)
    ret_fen = -np.minimum(fen[ret_of], rng.integers(100, 100_000, ret_of.size))
    all_member = np.concatenate([who, who[ret_of]]) + 1
    all_fen = np.concatenate([fen, ret_fen])
    all_day = np.concatenate([day, rng.integers(1, 32, ret_of.size)])
    all_month = np.concatenate([month, np.full(ret_of.size, 10)])
    orders = pl.DataFrame(
        {
            "order_id": np.arange(1, m + 1, dtype=np.int64),
            "member_id": all_member,
            "month": all_month,
            "day": all_day,
            "fen": all_fen,
            "kind": np.concatenate([kind, np.full(ret_of.size, "return")]),
            "orig": np.concatenate([np.zeros(n_sales, np.int64), ret_of + 1]),
        }
    )
    a = pl.col("fen").abs()
    orders = orders.select(
        "order_id",
        "member_id",
        pl.format(
            "2026-{}-{}",
            pl.col("month").cast(pl.String).str.zfill(2),
            pl.col("day").cast(pl.String).str.zfill(2),
        ).alias("order_date"),
        pl.format(
            "{}{}.{}",
            pl.when(pl.col("fen") < 0).then(pl.lit("-")).otherwise(pl.lit("")),
            (a // 100).cast(pl.String),
            (a % 100).cast(pl.String).str.zfill(2),
        ).alias("amount"),
        "kind",
        pl.when(pl.col("orig") > 0).then(pl.col("orig").cast(pl.String)).alias("original_order_id"),
    )
    return members, orders


# Runs the command and then reports its own peak RSS and CPU seconds on stderr.
_CHILD = """
import resource, sys
from salesops.compensation.cli import main
rc = main(sys.argv[1:])
u = resource.getrusage(resource.RUSAGE_SELF)
print(f"BENCH {u.ru_maxrss} {u.ru_utime + u.ru_stime:.2f}", file=sys.stderr)
sys.exit(rc)
"""


def write_files(n: int, m: int, work: Path) -> None:
    members, orders = generate(n, m, seed=20261001)
    members.write_csv(work / "members.csv")
    orders.write_csv(work / "orders.csv")


def bench_command(n: int, m: int, work: Path) -> None:
    # Generate in a child so this process stays small: a forked child's peak RSS would
    # otherwise include the parent's pages.
    subprocess.run(
        [sys.executable, __file__, "--write-files", str(work), "--n", str(n), "--m", str(m)],
        check=True,
    )
    mp, op = work / "members.csv", work / "orders.csv"
    out = work / "out.csv"
    cmd = [
        sys.executable, "-c",
        _CHILD,
        "compute", "--plan", str(PLAN), "--members", str(mp), "--orders", str(op),
        "--period", PERIOD,
    ]  # fmt: skip
    t0 = time.perf_counter()
    with out.open("w") as fh:
        proc = subprocess.run(cmd, cwd=REPO, stdout=fh, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    lines = proc.stderr.strip().splitlines()
    _, rss_kb, cpu = lines[-1].split()
    peak_mb = int(rss_kb) / 1024
    print(f"command: {n:,} members, {m:,} orders ({op.stat().st_size / 1e6:.0f} MB)")
    print(f"  exit {proc.returncode}; stderr: {' | '.join(lines[:-1])}")
    print(f"  CPU {cpu} s (user + system, 2 polars threads)")
    print(f"  wall {wall:.2f} s  (target ≤ 10 s); load average {os.getloadavg()[0]:.1f}")
    print(f"  peak RSS {peak_mb:,.0f} MB  (target ≤ 3072 MB)")


def _records(
    members: pl.DataFrame, orders: pl.DataFrame
) -> tuple[list[MemberRecord], list[OrderRecord]]:
    mrec = [
        MemberRecord(str(mid), sp or None, st, t or None)
        for mid, sp, st, t in members.select("member_id", "sponsor_id", "status", "title").rows()
    ]
    orec = [
        OrderRecord(str(oid), str(mid), dt.date.fromisoformat(d), Decimal(a), k, orig)
        for oid, mid, d, a, k, orig in orders.rows()
    ]
    return mrec, orec


def bench_speedup(n: int, m: int) -> None:
    plan = load_rank_plan(PLAN)
    period = Period.parse(PERIOD)
    members, orders = generate(n, m, seed=7)
    mrec, orec = _records(members, orders)
    inp = input_from_records(mrec, orec, plan.rank_codes)
    t0 = time.perf_counter()
    vec = compute_period(plan, inp, period)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    ref = reference_compute(plan, mrec, orec, period)
    t_ref = time.perf_counter() - t0
    vec_total = int(vec.total.sum())
    ref_total = int(sum(r.total for r in ref.members.values()) * 100)
    same = all(
        int(vec.total[i]) == int(ref.members[mid].total * 100)
        for i, mid in enumerate(vec.member_ids)
    )
    print(f"engines: {n:,} members, {m:,} orders")
    print(f"  vectorised {t_vec:.3f} s, reference {t_ref:.2f} s, speed-up {t_ref / t_vec:.0f}×"
          "  (target ≥ 50×)")  # fmt: skip
    print(f"  totals equal to the fen: {same} (Σ {vec_total / 100:,.2f} vs {ref_total / 100:,.2f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0, help="multiply every size by this")
    ap.add_argument("--skip-command", action="store_true")
    ap.add_argument("--skip-speedup", action="store_true")
    ap.add_argument("--write-files", metavar="DIR", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--m", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.write_files:
        write_files(args.n, args.m, Path(args.write_files))
        return
    s = args.scale
    if not args.skip_command:
        with tempfile.TemporaryDirectory(prefix="bench-comp-") as tmp:
            bench_command(max(10, int(1_000_000 * s)), max(100, int(10_000_000 * s)), Path(tmp))
    if not args.skip_speedup:
        bench_speedup(max(10, int(100_000 * s)), max(100, int(1_000_000 * s)))


if __name__ == "__main__":
    main()
