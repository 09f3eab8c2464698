"""Benchmark: the orders and customers list pages (HTML, through the full view and
template) at 1,000,000 orders and 1,000,000 customers, in a throw-away SQLite database, or
in a throw-away database on the PostgreSQL server given by ``--database-url``. Not a test;
prints its figures.

    .venv/bin/python bench/bench_list_pages.py [--orders N] [--customers N] [--seed S]
        [--keep] [--database-url postgres://user@host:port/any]

Data: a company with 10 departments of 30 employees (a manager, 20 reps who are credited
with the orders, so each rep owns ~0.5 % of them, and 9 assistants) and a director at head
office; 5,000 of the customers buy the orders. Each page is requested once to warm up,
then 5 times; the median wall time and the number of queries are printed, with the plan
(SQLite: EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN) of the page's slowest query so a
missing index shows. Target on 2 cores: each page ≤ 300 ms. Wall time depends on what
else the machine runs, so the load average is printed too.
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

TARGET_MS = 300
RUNS = 5
N_DEPTS, N_REPS, N_ASSISTANTS, N_BUYERS = 10, 20, 9, 5_000
BATCH = 10_000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    args = parser.parse_args()
    # A kill still drops the throw-away database and removes the temp directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    tmp = Path(tempfile.mkdtemp(prefix="salesops-bench-lists-"))
    os.environ["SALESOPS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["SALESOPS_VAR_DIR"] = str(tmp / "var")
    os.environ["SALESOPS_DEBUG"] = "0"
    pg_db = ""
    if args.database_url:
        pg_db = f"salesops_bench_lists_{os.getpid()}"
        _pg_admin(args.database_url, f"CREATE DATABASE {pg_db}")
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
        if pg_db:
            _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {pg_db}")
        if not args.keep:
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
    return 0


def _run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0, interactive=False)
    t0 = time.perf_counter()
    users = _build(args)
    print(
        f"built {args.orders:,} orders and {args.customers:,} customers "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    else:
        with connection.cursor() as cur:
            cur.execute("ANALYZE")

    load = os.getloadavg()[0]
    print(f"database: {connection.vendor}; load average {load:.1f} on {os.cpu_count()} cores")
    pages = [
        ("orders, admin, page 1", "admin", "/sales/orders/", {}),
        ("orders, rep, page 1", "rep", "/sales/orders/", {}),
        ("orders, manager, page 1", "manager", "/sales/orders/", {}),
        (
            "orders, admin, one month",
            "admin",
            "/sales/orders/",
            {"order_date_from": "2026-06-01", "order_date_to": "2026-06-30"},
        ),
        ("orders, admin, search", "admin", "/sales/orders/", {"q": "SO0012345"}),
        ("orders, admin, page 500", "admin", "/sales/orders/", {"page": "500"}),
        ("orders, admin, by amount", "admin", "/sales/orders/", {"sort": "-total_amount"}),
        ("customers, director, page 1", "director", "/sales/customers/", {}),
        ("customers, rep, page 1", "rep", "/sales/customers/", {}),
        (
            "customers, director, phone",
            "director",
            "/sales/customers/",
            {"q": _phone(args.customers // 2)},
        ),
    ]
    results = []
    for label, who, url, params in pages:
        results.append(_measure(label, users[who], url, params))
        print(f"  {label}: {results[-1][1]:.0f} ms, {results[-1][2]} queries", flush=True)
    print()
    print(f"{'page':<30} {'median ms':>10} {'queries':>8}  target ≤{TARGET_MS} ms")
    for label, ms, n, _plan in results:
        print(f"{label:<30} {ms:>10.0f} {n:>8}  {'met' if ms <= TARGET_MS else 'NOT met'}")
    print()
    for label, _ms, _n, plan in results:
        print(f"--- {label}: slowest query\n{plan}\n")
    print(f"load average now {os.getloadavg()[0]:.1f}")
    ok = all(ms <= TARGET_MS for _l, ms, _n, _p in results)
    print(f"target (each page ≤ {TARGET_MS} ms): {'met' if ok else 'NOT met'}")


def _phone(i: int) -> str:
    return f"138{i:08d}"


def _build(args: argparse.Namespace) -> dict[str, Any]:
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
                        created_at=now - datetime.timedelta(minutes=args.customers - i),
                        updated_at=now,
                    )
                )
            Customer.objects.bulk_create(batch)
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
    return users


def _measure(
    label: str, user: Any, url: str, params: dict[str, str]
) -> tuple[str, float, int, str]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    client.force_login(user)
    resp = client.get(url, params)  # warm-up
    if resp.status_code != 200:
        raise SystemExit(f"{label}: HTTP {resp.status_code}")
    times, captured = [], []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            client.get(url, params)
            times.append((time.perf_counter() - t0) * 1000)
        captured = ctx.captured_queries
    slowest = max(captured, key=lambda q: float(q["time"]))
    return label, statistics.median(times), len(captured), _explain(slowest)


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
