"""Genealogy query benchmark on a synthetic member network (not a test).

    .venv/bin/python bench/bench_member_tree.py                 # 1,000,000 members
    .venv/bin/python bench/bench_member_tree.py --members 20000 # quick run

Builds the network once in a throw-away SQLite file (SALESOPS_SQLITE_PATH, default
/tmp/bench_member_tree.sqlite3) with the bulk path ``members_bulk_create``, then prints the
median milliseconds of each genealogy query and SQLite's query plan for it. The target is
≤ 50 ms per query on 1,000,000 members.
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

    from salesops.org.models import Member

    call_command("migrate", verbosity=0)
    if args.rebuild or Member.objects.count() != args.members:
        build(args.members, args.seed)
    run(args.repeat, args.seed)


def build(n: int, seed: int) -> None:
    import numpy as np
    from django.db import connection

    from salesops.org.models import Member, SponsorHistory
    from salesops.org.services.members import MemberSeed, members_bulk_create

    with connection.cursor() as cur:
        cur.execute("PRAGMA foreign_keys=OFF")
    SponsorHistory.objects.all().delete()
    Member.objects.update(sponsor=None)
    Member.objects.all().delete()
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
    members_bulk_create(actor=None, seeds=seeds, batch_size=20000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE")
    print(f"built {n:,} members in {time.perf_counter() - start:.1f} s")


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
        member_children,
        member_downline,
        member_downline_count,
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
            "whole downline of the root: page 500",
            lambda: list(member_downline(viewer, root)[10000:10020]),
            member_downline(viewer, root)[10000:10020],
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
    print(f"{top_n:,} members, median of {repeat} runs")
    for label, fn, qs in cases:
        ms = timed(fn, repeat)
        sql, params = qs.query.sql_with_params()  # type: ignore[attr-defined]
        print(f"{ms:9.2f} ms  {label}")
        print(f"             plan: {plan(sql, params)}")
    t = time.perf_counter()
    members, _sponsors = sponsor_edges_as_of(datetime.date(2025, 1, 1))
    print(
        f"{(time.perf_counter() - t) * 1000:9.2f} ms  sponsor_edges_as_of "
        f"({members.size:,} edges, for commission runs; not an interactive query)"
    )


if __name__ == "__main__":
    main()
