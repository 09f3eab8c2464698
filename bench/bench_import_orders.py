"""Benchmark: dry run and apply of a large orders CSV (default 1,000,000 rows) against a
synthetic catalogue in a throw-away SQLite database. Not a test; prints its figures.

    .venv/bin/python bench/bench_import_orders.py [--rows N] [--seed S] [--keep]

Targets on 2 cores: each of dry run and apply ≤ 60 s, peak memory ≤ 1 GB.
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
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="salesops-bench-import-"))
    os.environ["SALESOPS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["SALESOPS_VAR_DIR"] = str(tmp / "var")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from salesops.core.imports.engine import run_import
    from salesops.core.imports.entities.orders import OrderImporter
    from salesops.org.models import Department, Employee, Member
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

    t0 = time.perf_counter()
    report = run_import(importer=OrderImporter(), path=csv_path, actor=None, write=False)
    dry = time.perf_counter() - t0
    print(
        f"dry run: {dry:.1f}s, errors={report.error_count}, orders={report.created:,}, "
        f"peak={peak_mb():.0f} MB"
    )

    t0 = time.perf_counter()
    report = run_import(importer=OrderImporter(), path=csv_path, actor=None, write=True)
    apply = time.perf_counter() - t0
    print(
        f"apply:   {apply:.1f}s, applied={report.applied}, orders={Order.objects.count():,}, "
        f"lines={OrderLine.objects.count():,}, peak={peak_mb():.0f} MB"
    )
    ok = report.applied and dry <= 60 and apply <= 60 and peak_mb() <= 1024
    print(f"targets (≤60 s each, ≤1 GB): {'met' if ok else 'NOT met'}")
    if not args.keep:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    else:
        print(f"kept {tmp}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
