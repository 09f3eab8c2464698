"""Genealogy query benchmark on a synthetic member network (not a test).

    .venv/bin/python bench/bench_member_tree.py                 # 1,000,000 members
    .venv/bin/python bench/bench_member_tree.py --members 20000 # quick run

Builds the network once in a throw-away SQLite file (SALESOPS_SQLITE_PATH, default
/tmp/bench_member_tree.sqlite3; a fresh file on --rebuild or when the size differs) with
the bulk path ``members_bulk_create`` and prints how long that took, then prints the median
milliseconds of each genealogy query with SQLite's query plan, and the time to read the
whole tree as of a date. Targets on 1,000,000 members: build in tens of seconds, ≤ 50 ms
per query at any page depth, ≤ 1.5 s for ``sponsor_edges_as_of``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=1_000_000)
    parser.add_argument("--db", default="/tmp/bench_member_tree.sqlite3")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    os.environ["SALESOPS_SQLITE_PATH"] = args.db
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from salesops.org.models import Member

    call_command("migrate", verbosity=0)
    if args.rebuild or Member.objects.count() != args.members:
        # A fresh file: deleting a million rows through the ORM would take longer than
        # building them.
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
        call_command("migrate", verbosity=0)
        build(args.members, args.seed)
    run(args.repeat, args.seed)


def build(n: int, seed: int) -> None:
    import numpy as np
    from django.db import connection

    from salesops.org.services.members import MemberSeed, members_bulk_create

    rng = np.random.default_rng(seed)
    # Mostly a random recursive tree (recruits spread over everyone who joined before),
    # with a 60-deep chain at the start so deep uplines exist.
    chain = min(60, n)
    idx = np.arange(n)
    sponsors = (rng.random(n) ** 0.5 * idx).astype(np.int64)
    sponsors[1:chain] = np.arange(chain - 1)
    sponsors[0] = -1
    start = time.perf_counter()
    day = datetime.date(2024, 1, 1)
    seeds = [
        MemberSeed(
            member_no=f"M{i:08d}",
            name=f"会员{i}",
            joined_on=day,
            sponsor_no=f"M{s:08d}" if s >= 0 else "",
        )
        for i, s in enumerate(sponsors.tolist())
    ]
    prepared = time.perf_counter()
    cpu = time.process_time()
    members_bulk_create(actor=None, seeds=seeds, batch_size=20000)
    created = time.perf_counter()
    cpu = time.process_time() - cpu
    with connection.cursor() as cur:
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cur.execute("ANALYZE")
    print(
        f"built {n:,} members in {time.perf_counter() - start:.1f} s: seeds "
        f"{prepared - start:.1f} s, members_bulk_create (members + sponsor history, "
        f"committed) {created - prepared:.1f} s (CPU {cpu:.1f} s), checkpoint + ANALYZE "
        f"{time.perf_counter() - created:.1f} s"
    )


def timed(fn: Callable[[], object], repeat: int) -> float:
    fn()  # warm the page cache
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def plan(sql: str, params: Any) -> str:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "; ".join(row[-1] for row in cur.fetchall())


def run(repeat: int, seed: int) -> None:
    import random

    from salesops.core.access import viewer_for
    from salesops.core.models import Role, RoleCode, User
    from salesops.org.models import Member
    from salesops.org.selectors import (
        downline_as_of,
        member_children,
        member_downline,
        member_downline_count,
        member_downline_page,
        member_upline,
        sponsor_edges_as_of,
    )

    admin_role, _ = Role.objects.get_or_create(
        code=RoleCode.ADMIN, defaults={"name": "admin", "data_scope": "all"}
    )
    admin, _ = User.objects.get_or_create(username="bench-admin", defaults={"role": admin_role})
    viewer = viewer_for(admin)
    root = Member.objects.get(member_no="M00000000")
    deepest = Member.objects.order_by("-depth").first()
    assert deepest is not None
    mid = Member.objects.get(member_no="M00000500") if Member.objects.count() > 500 else root
    top_n = Member.objects.count()
    rnd = random.Random(seed)
    sample = [Member.objects.get(member_no=f"M{rnd.randrange(top_n):08d}") for _ in range(repeat)]

    member_user, _ = User.objects.get_or_create(username="bench-member")
    Member.objects.filter(pk=mid.pk).update(user=member_user)
    mrole, _ = Role.objects.get_or_create(
        code=RoleCode.MEMBER, defaults={"name": "member", "data_scope": "self"}
    )
    member_user.role = mrole
    member_user.save()
    member_viewer = viewer_for(member_user)

    def page(qs):  # type: ignore[no-untyped-def]
        return list(qs[:20])

    # Pages 500 and 5000 (20 a page) on a million; nearer pages on a small network.
    p_near = max(2, min(500, (top_n - 21) // 80))
    p_far = max(2, min(5000, (top_n - 21) // 20))
    whole = member_downline(viewer, root)
    # Keyset cursors: the path of the last row on the page before.
    after_near = whole.values_list("path", flat=True)[(p_near - 1) * 20 - 1]
    after_far = whole.values_list("path", flat=True)[(p_far - 1) * 20 - 1]

    cases: list[tuple[str, Callable[[], object], object]] = [
        (
            "whole downline of the root: count",
            lambda: member_downline_count(viewer, root),
            member_downline(viewer, root),
        ),
        (
            "whole downline of the root: first page (20)",
            lambda: page(member_downline(viewer, root)),
            member_downline(viewer, root)[:20],
        ),
        (
            f"whole downline of the root: page {p_near} by OFFSET (plain queryset slice)",
            lambda: list(whole[(p_near - 1) * 20 : p_near * 20]),
            whole[(p_near - 1) * 20 : p_near * 20],
        ),
        (
            f"whole downline of the root: page {p_near} by number (member_downline_page)",
            lambda: member_downline_page(viewer, root, page=p_near, page_size=20),
            whole.values_list("pk", flat=True)[(p_near - 1) * 20 : p_near * 20 + 1],
        ),
        (
            f"whole downline of the root: page {p_far} by number (member_downline_page)",
            lambda: member_downline_page(viewer, root, page=p_far, page_size=20),
            whole.values_list("pk", flat=True)[(p_far - 1) * 20 : p_far * 20 + 1],
        ),
        (
            f"whole downline of the root: page {p_near} by cursor (after=)",
            lambda: member_downline_page(viewer, root, after=after_near, page_size=20),
            member_downline(viewer, root, after=after_near)[:21],
        ),
        (
            f"whole downline of the root: page {p_far} by cursor (after=)",
            lambda: member_downline_page(viewer, root, after=after_far, page_size=20),
            member_downline(viewer, root, after=after_far)[:21],
        ),
        (
            "root downline to depth 3: count",
            lambda: member_downline_count(viewer, root, depth=3),
            member_downline(viewer, root, depth=3),
        ),
        (
            "root downline to depth 3: first page",
            lambda: page(member_downline(viewer, root, depth=3)),
            member_downline(viewer, root, depth=3)[:20],
        ),
        (
            "random members' downline: count + first page",
            lambda: [
                (member_downline_count(viewer, m), page(member_downline(viewer, m)))
                for m in sample[:1]
            ],
            member_downline(viewer, sample[0])[:20],
        ),
        (
            "random members' downline to depth 2: count",
            lambda: [member_downline(viewer, m, depth=2).count() for m in sample[:1]],
            member_downline(viewer, sample[0], depth=2),
        ),
        (
            f"path to root of the deepest member (depth {deepest.depth})",
            lambda: member_upline(viewer, deepest),
            Member.objects.filter(pk__in=[1, 2, 3]),
        ),
        (
            "direct children of the root with their counts",
            lambda: list(member_children(viewer, root)[:50]),
            member_children(viewer, root)[:50],
        ),
        (
            "member viewer (M00000500): own downline first page",
            lambda: page(member_downline(member_viewer, mid)),
            member_downline(member_viewer, mid)[:20],
        ),
    ]
    print(f"{top_n:,} members, median of {repeat} runs; load average {os.getloadavg()[0]:.1f}")
    for label, fn, qs in cases:
        ms = timed(fn, repeat)
        sql, params = qs.query.sql_with_params()  # type: ignore[attr-defined]
        print(f"{ms:9.2f} ms  {label}")
        print(f"             plan: {plan(sql, params)}")
    samples, cpu = [], []
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        members, _sponsors = sponsor_edges_as_of(datetime.date(2025, 1, 1))
        samples.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    print(
        f"{statistics.median(samples):9.2f} ms  sponsor_edges_as_of, median of 5 "
        f"(CPU {statistics.median(cpu):.0f} ms; polars may use a second core) "
        f"({members.size:,} edges, for commission runs; not an interactive query)"
    )
    t = time.perf_counter()
    below = downline_as_of(root, datetime.date(2025, 1, 1))
    print(
        f"{(time.perf_counter() - t) * 1000:9.2f} ms  downline_as_of the root "
        f"({len(below):,} members, edges read included)"
    )


if __name__ == "__main__":
    main()
