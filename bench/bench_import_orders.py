"""Benchmark: dry run and apply of a large orders CSV (default 1,000,000 rows) against a
synthetic catalogue in a throw-away SQLite database, or in a throw-away database on the
PostgreSQL server given by ``--database-url``. Not a test; prints its figures.

    .venv/bin/python bench/bench_import_orders.py [--rows N] [--seed S] [--keep]
        [--database-url postgres://user@host:port/any]

Targets on 2 cores: each of dry run and apply ≤ 60 s, peak memory ≤ 1 GB. Wall time
depends on what else the machine runs, so CPU seconds and the load average are printed too.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="salesops-bench-import-"))
    os.environ["SALESOPS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["SALESOPS_VAR_DIR"] = str(tmp / "var")
    pg_db = ""
    if args.database_url:
        pg_db = f"salesops_bench_import_{os.getpid()}"
        _pg_admin(args.database_url, f"CREATE DATABASE {pg_db}")
        os.environ["DATABASE_URL"] = _with_db(args.database_url, pg_db)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from salesops.core.imports.engine import run_import
    from salesops.org.models import Department, Employee, Member
    from salesops.sales.importers.orders import OrderImporter
    from salesops.sales.models import Customer, Order, OrderLine, Product

    rng = random.Random(args.seed)
    n_products, n_customers, n_employees, n_members = 500, 20_000, 200, 20_000
    dept = Department.objects.create(name="总部", code="HQ", kind="company", path="0000001")
    Employee.objects.bulk_create(
        Employee(employee_no=f"E{i:05d}", name=f"员工{i}", department=dept)
        for i in range(n_employees)
    )
    emp_ids = list(Employee.objects.values_list("pk", flat=True))
    Customer.objects.bulk_create(
        (
            Customer(
                code=f"C{i:06d}",
                name=f"客户{i}",
                owner_id=emp_ids[i % n_employees],
                department=dept,
            )
            for i in range(n_customers)
        ),
        batch_size=5000,
    )
    Member.objects.bulk_create(
        (
            Member(member_no=f"M{i:07d}", name=f"会员{i}", joined_on="2026-01-01")
            for i in range(n_members)
        ),
        batch_size=5000,
    )
    Product.objects.bulk_create(
        Product(sku=f"SKU{i:04d}", name=f"商品{i}") for i in range(n_products)
    )

    csv_path = tmp / "orders.csv"
    t0 = time.perf_counter()
    with csv_path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("订单号,下单日期,订单类型,客户编号,购买会员编号,业绩归属工号,商品编码,数量,单价\n")
        row = order = 0
        while row < args.rows:
            order += 1
            day = f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if rng.random() < 0.5:
                buyer = f"C{rng.randrange(n_customers):06d},,E{rng.randrange(n_employees):05d}"
            else:
                buyer = f",M{rng.randrange(n_members):07d},"
            kind = "regular" if rng.random() < 0.8 else "aro"
            for _ in range(min(rng.randint(1, 5), args.rows - row)):
                qty = rng.randint(1, 10)
                price = f"{rng.randint(100, 99999) / 100:.2f}"
                fh.write(
                    f"SO{order:08d},{day},{kind},{buyer},SKU{rng.randrange(n_products):04d},"
                    f"{qty},{price}\n"
                )
                row += 1
    size_mb = csv_path.stat().st_size / 1e6
    print(
        f"generated {args.rows:,} rows / {order:,} orders, {size_mb:.1f} MB "
        f"in {time.perf_counter() - t0:.1f}s"
    )

    from django.db import connection

    load = os.getloadavg()[0]
    print(f"database: {connection.vendor}; load average {load:.1f} on {os.cpu_count()} cores")
    t0, c0 = time.perf_counter(), time.process_time()
    report = run_import(importer=OrderImporter(), path=csv_path, actor=None, write=False)
    dry, dry_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"dry run: {dry:.1f}s (cpu {dry_cpu:.1f}s), errors={report.error_count}, "
        f"orders={report.created:,}, peak={peak_mb():.0f} MB"
    )

    t0, c0 = time.perf_counter(), time.process_time()
    report = run_import(importer=OrderImporter(), path=csv_path, actor=None, write=True)
    apply, apply_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(
        f"apply:   {apply:.1f}s (cpu {apply_cpu:.1f}s), applied={report.applied}, "
        f"orders={Order.objects.count():,}, lines={OrderLine.objects.count():,}, "
        f"peak={peak_mb():.0f} MB"
    )
    print(f"load average now {os.getloadavg()[0]:.1f}")
    ok = report.applied and dry <= 60 and apply <= 60 and peak_mb() <= 1024
    print(f"targets (≤60 s each, ≤1 GB): {'met' if ok else 'NOT met'}")
    if pg_db:
        connection.close()
        _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {pg_db}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    return 0


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
