"""Benchmark: the orders and customers list pages (HTML, through the full view and
template) at 1,000,000 orders and 1,000,000 customers, in a throw-away SQLite database, or
in a throw-away database on the PostgreSQL server given by ``--database-url``. Not a test;
prints its figures.

    .venv/bin/python bench/bench_list_pages.py [--orders N] [--customers N] [--seed S]
        [--runs N] [--only customers|orders] [--keep] [--reuse DIR]
        [--database-url postgres://user@host:port/any [--pg-db NAME]]

Data: a company with 10 departments of 30 employees (a manager, 20 reps who are credited
with the orders and own the customers, so each rep owns ~0.5 % of them, and 9 assistants)
and a director at head office; 5,000 of the customers buy the orders.

Customers (issue 12's target): as admin, director, manager and rep, the first page, page
500, a name fragment, a 2-character name term (many rows / none), a full code, a full
phone, each filter (department, source, created date range) and each sortable column.
Each page is requested once to warm up, then ``--runs`` times; the median and p95
(nearest rank) wall time and the number of queries are printed, with the plan (SQLite:
EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN) of the slowest query of each page over target.
Target on 2 cores: p95 ≤ 100 ms and ≤ 12 queries per customer page (orders: ≤ 300 ms).
Wall time depends on what else the machine runs, so the load average is printed too.

``--keep`` keeps the data (the temp directory, or the PostgreSQL database, printed at the
end); ``--reuse DIR`` (SQLite) or ``--pg-db NAME`` (PostgreSQL) measures kept data again
after migrating it, without building.
"""

from __future__ import annotations

import argparse
import datetime
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 300  # orders pages
CUSTOMER_TARGET_MS = 100  # customer pages, p95
CUSTOMER_MAX_QUERIES = 12
N_DEPTS, N_REPS, N_ASSISTANTS, N_BUYERS = 10, 20, 9, 5_000
BATCH = 10_000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--runs", type=int, default=8, help="timed requests per page")
    parser.add_argument("--only", choices=("customers", "orders"), default="")
    parser.add_argument("--keep", action="store_true", help="keep the data")
    parser.add_argument("--reuse", default="", help="SQLite: a kept temp directory")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--pg-db", default="", help="PostgreSQL: a kept database to reuse")
    args = parser.parse_args()
    # A kill still drops the throw-away database and removes the temp directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    args.build = not (args.reuse or args.pg_db)
    tmp = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="salesops-bench-lists-"))
    if args.reuse:
        args.keep = True
    os.environ["SALESOPS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["SALESOPS_VAR_DIR"] = str(tmp / "var")
    os.environ["SALESOPS_DEBUG"] = "0"
    pg_db = ""
    if args.database_url:
        pg_db = args.pg_db or f"salesops_bench_lists_{os.getpid()}"
        if args.build:
            _pg_admin(args.database_url, f"CREATE DATABASE {pg_db}")
        else:
            args.keep = True
        os.environ["DATABASE_URL"] = _with_db(args.database_url, pg_db)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from django.db import connection

    try:
        _run(args)
    finally:
        connection.close()
        if pg_db and not args.keep:
            _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {pg_db}")
        elif pg_db:
            print(f"kept PostgreSQL database {pg_db} (--pg-db {pg_db})")
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        elif not pg_db:
            print(f"kept {tmp} (--reuse {tmp})")
    return 0


def _run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from salesops.core.models import User

    # Pages render as served (DEBUG off): the hashed static files must exist.
    call_command("collectstatic", verbosity=0, interactive=False)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrated in {time.perf_counter() - t0:.1f}s", flush=True)
    if args.build:
        t0 = time.perf_counter()
        _build(args)
        print(
            f"built {args.orders:,} orders and {args.customers:,} customers "
            f"in {time.perf_counter() - t0:.1f}s",
            flush=True,
        )
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    users = {u.username: u for u in User.objects.filter(username__in=ROLES)}
    n_customers = _count_customers()

    load = os.getloadavg()[0]
    print(f"database: {connection.vendor}; load average {load:.1f} on {os.cpu_count()} cores")
    pages: list[tuple[str, str, str, dict[str, str], int]] = []
    if args.only != "orders":
        pages += _customer_pages(n_customers)
    if args.only != "customers":
        pages += _order_pages()
    results = []
    for label, who, url, params, target in pages:
        res = _measure(label, users[who], url, params, args.runs)
        results.append((*res, target))
        print(
            f"  {label}: median {res[1]:.0f} ms, p95 {res[2]:.0f} ms, {res[3]} queries, {res[5]}",
            flush=True,
        )
    print()
    print(
        f"{'page':<44} {'median':>7} {'p95 ms':>7} {'queries':>7}  "
        f"target p95 ≤{CUSTOMER_TARGET_MS} ms (customers) / ≤{TARGET_MS} ms (orders)"
    )
    missed = []
    for label, med, p95, n, plan, _shown, target in results:
        max_q = CUSTOMER_MAX_QUERIES if label.startswith("customers") else 99
        ok = p95 <= target and n <= max_q
        if not ok:
            missed.append((label, plan))
        print(f"{label:<44} {med:>7.0f} {p95:>7.0f} {n:>7}  {'met' if ok else 'NOT met'}")
    print()
    for label, plan in missed:
        print(f"--- {label}: slowest query\n{plan}\n")
    print(f"load average now {os.getloadavg()[0]:.1f}")
    print(f"target: {'met' if not missed else f'NOT met on {len(missed)} pages'}")


ROLES = ("admin", "director", "manager", "rep")


def _count_customers() -> int:
    from salesops.sales.models import Customer

    return Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _customer_pages(n: int) -> list[tuple[str, str, str, dict[str, str], int]]:
    from salesops.org.models import Department

    dept = str(Department.objects.get(code="D00").pk)
    mid = n // 2
    cases: list[tuple[str, dict[str, str]]] = [
        ("page 1", {}),
        ("page 500", {"page": "500"}),
        ("name fragment", {"q": f"户{mid // 10}"}),
        ("2-char name, many", {"q": "客户"}),
        ("2-char name, none", {"q": "无此"}),
        ("full code", {"q": f"C{mid:07d}"}),
        ("full phone", {"q": _phone(mid)}),
        ("filter department", {"department": dept}),
        ("filter source", {"source": "网络"}),
        ("filter created", {"created_from": "2026-01-01", "created_to": "2026-01-31"}),
    ]
    for key in ("code", "name", "owner", "department", "source", "created_at"):
        cases.append((f"sort {key}", {"sort": key}))
    cases.append(("sort -created_at", {"sort": "-created_at"}))
    return [
        (f"customers, {who}, {label}", who, "/sales/customers/", params, CUSTOMER_TARGET_MS)
        for who in ROLES
        for label, params in cases
    ]


def _order_pages() -> list[tuple[str, str, str, dict[str, str], int]]:
    month = {"order_date_from": "2026-06-01", "order_date_to": "2026-06-30"}
    return [
        (f"orders, {label}", who, "/sales/orders/", params, TARGET_MS)
        for label, who, params in [
            ("admin, page 1", "admin", {}),
            ("rep, page 1", "rep", {}),
            ("manager, page 1", "manager", {}),
            ("admin, one month", "admin", month),
            ("admin, search SO0012345", "admin", {"q": "SO0012345"}),
            ("admin, page 500", "admin", {"page": "500"}),
            ("admin, by amount", "admin", {"sort": "-total_amount"}),
        ]
    ]


def _phone(i: int) -> str:
    return f"138{i:08d}"


def _build(args: argparse.Namespace) -> None:
    from django.db import transaction

    from salesops.core.models import RoleCode, User
    from salesops.factories import role
    from salesops.org.services.departments import department_create
    from salesops.org.services.employees import employee_create
    from salesops.sales.models import Customer, Order, OrderKind, OrderStatus

    rng = random.Random(args.seed)
    users: dict[str, Any] = {
        "admin": User.objects.create(username="admin", is_superuser=True, is_staff=True),
    }
    for code in (RoleCode.DIRECTOR, RoleCode.MANAGER, RoleCode.REP):
        users[str(code)] = User.objects.create(username=str(code), role=role(code))
    hq = department_create(actor=None, name="总部", code="HQ", kind="company")
    employee_create(
        actor=None, employee_no="E00000", name="总监", department=hq, user=users["director"]
    )
    reps: list[tuple[int, int]] = []  # (employee id, department id) of the credited reps
    n = 0
    for d in range(N_DEPTS):
        dept = department_create(actor=None, name=f"销售{d + 1}部", code=f"D{d:02d}", parent=hq)
        n += 1
        mgr = employee_create(
            actor=None,
            employee_no=f"E{n:05d}",
            name=f"经理{d + 1}",
            department=dept,
            user=users["manager"] if d == 0 else None,
        )
        for i in range(N_REPS + N_ASSISTANTS):
            n += 1
            emp = employee_create(
                actor=None,
                employee_no=f"E{n:05d}",
                name=f"员工{n}",
                department=dept,
                manager=mgr,
                user=users["rep"] if d == 0 and i == 0 else None,
            )
            if i < N_REPS:
                reps.append((emp.pk, dept.pk))

    now = datetime.datetime.now(tz=datetime.UTC)
    # created_at is auto_now_add: bulk_create stamped every row with the build time, so the
    # created filter (January 2026) matched no row and the created sort compared equal
    # values. The field keeps the times set below while the customers are built.
    created_field = Customer._meta.get_field("created_at")
    created_field.auto_now_add = False  # type: ignore[attr-defined]
    with transaction.atomic():
        for start in range(0, args.customers, BATCH):
            batch = []
            for i in range(start, min(start + BATCH, args.customers)):
                owner, dept_id = reps[rng.randrange(len(reps))]
                batch.append(
                    Customer(
                        code=f"C{i:07d}",
                        name=f"客户{i}",
                        phone=_phone(i),
                        source=("门店", "网络", "转介绍")[i % 3],
                        owner_id=owner,
                        department_id=dept_id,
                        # one a minute, the newest now: 1M span ~2 years
                        created_at=now - datetime.timedelta(minutes=args.customers - i),
                        updated_at=now,
                    )
                )
            for c in batch:
                c.set_keys()
            Customer.objects.bulk_create(batch)
    created_field.auto_now_add = True  # type: ignore[attr-defined]
    buyers = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[:N_BUYERS])
    first_day = datetime.date(2025, 1, 1)
    days = (datetime.date(2026, 12, 1) - first_day).days
    kinds = [OrderKind.REGULAR] * 4 + [k for k in OrderKind.values if k != OrderKind.REGULAR]
    with transaction.atomic():
        for start in range(0, args.orders, BATCH):
            batch = []
            for i in range(start, min(start + BATCH, args.orders)):
                emp, dept_id = reps[rng.randrange(len(reps))]
                batch.append(
                    Order(
                        order_no=f"SO{i:08d}",
                        order_date=first_day + datetime.timedelta(days=rng.randrange(days)),
                        kind=rng.choice(kinds),
                        status=OrderStatus.CONFIRMED,
                        customer_id=buyers[rng.randrange(len(buyers))],
                        credited_employee_id=emp,
                        department_id=dept_id,
                        total_amount=rng.randint(100, 9_999_999) / 100,
                    )
                )
            Order.objects.bulk_create(batch)


def _measure(
    label: str, user: Any, url: str, params: dict[str, str], runs: int
) -> tuple[str, float, float, int, str, str]:
    """(label, median ms, p95 ms, queries, plan of the slowest query, what the page showed)."""
    import math
    import re

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    resp = client.get(url, params)  # warm-up
    if resp.status_code != 200:
        raise SystemExit(f"{label}: HTTP {resp.status_code}")
    found = re.search(r'id="list-count">([^<]*)', resp.content.decode())
    shown = " ".join(found.group(1).split()) if found else "?"
    times, captured = [], []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        captured = ctx.captured_queries
    slowest = max(captured, key=lambda q: float(q["time"]))
    p95 = sorted(times)[max(0, math.ceil(0.95 * len(times)) - 1)]
    return label, statistics.median(times), p95, len(captured), _explain(slowest), shown


def _explain(query: dict[str, str]) -> str:
    from django.db import connection

    sql = query["sql"]
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    with connection.cursor() as cur:
        cur.execute(prefix + sql)
        rows = cur.fetchall()
    plan = "\n".join("  " + " ".join(str(c) for c in row[-1:]) for row in rows)
    return f"  ({float(query['time']) * 1000:.0f} ms) {sql[:300]}\n{plan}"


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url)._replace(path=f"/{name}").geturl()


def _pg_admin(url: str, sql: str) -> None:
    """Run one statement on the server's ``postgres`` database (outside a transaction)."""
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
