"""A long import apply commits in short transactions (issue 11) and still changes
nothing when it fails: the orders committed before a failing chunk are removed again."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.test import Client
from django.urls import reverse

from salesops.core.access import viewer_for
from salesops.core.imports import bulk
from salesops.core.imports.engine import run_import
from salesops.core.imports.services import (
    import_job_create,
    import_job_run,
    import_jobs_reset_stale,
)
from salesops.core.models import AuditLog, ImportJob, ImportJobStatus, RoleCode, User
from salesops.factories import CustomerFactory, EmployeeFactory, ProductFactory, UserFactory, role
from salesops.sales.importers import customers as customers_module
from salesops.sales.importers import orders as orders_module
from salesops.sales.importers.customers import CustomerImporter
from salesops.sales.importers.orders import OrderImporter
from salesops.sales.models import Customer, Order, OrderLine
from salesops.sales.selectors import customers_for, orders_for

HEADER = "订单号,下单日期,订单类型,客户编号,购买会员编号,业绩归属工号,商品编码,数量,单价\n"
N_ORDERS = 60


@pytest.fixture
def file(db: None, tmp_path: Path) -> Path:
    rep = EmployeeFactory(employee_no="E1")
    CustomerFactory(code="C1", owner=rep)
    ProductFactory(sku="S1")
    ProductFactory(sku="S2")
    rows = []
    for i in range(N_ORDERS):
        rows.append(f"SO{i:04d},2026-10-01,,C1,,E1,S1,1,10.00")
        rows.append(f"SO{i:04d},2026-10-01,,C1,,E1,S2,2,{i}.50")
    path = tmp_path / "orders.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="admin", role=role(RoleCode.ADMIN))


@pytest.fixture
def tiny_chunks(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Chunks of 7 orders, whatever the clock says; the ranges written are recorded."""
    settings.SALESOPS_WRITE_CHUNK_SECONDS = 1000.0
    monkeypatch.setattr(orders_module, "WRITE_FIRST", 7)
    seen: list[tuple[int, int]] = []
    real = bulk.write_in_chunks

    def spy(total: int, write: Any, **kw: Any) -> Any:
        def recording(start: int, stop: int) -> None:
            seen.append((start, stop))
            write(start, stop)

        return real(total, recording, **{**kw, "least": 1, "most": 7})

    monkeypatch.setattr(bulk, "write_in_chunks", spy)
    return seen


def test_apply_in_chunks_writes_every_order_with_its_lines_and_one_audit_row(
    file: Path, admin: User, tiny_chunks: list[tuple[int, int]]
) -> None:
    report = run_import(importer=OrderImporter(), path=file, actor=admin, write=True)
    assert report.applied, [e.message for e in report.errors]
    assert tiny_chunks[:2] == [(0, 7), (7, 14)] and tiny_chunks[-1] == (56, 60)
    assert Order.objects.count() == N_ORDERS
    assert OrderLine.objects.count() == 2 * N_ORDERS
    order = Order.objects.get(order_no="SO0042")
    assert [str(x) for x in order.lines.order_by("pk").values_list("amount", flat=True)] == [
        "10.00",
        "85.00",
    ]
    assert str(order.total_amount) == "95.00"
    assert AuditLog.objects.filter(action="import", object_type="sales.order").count() == 1


def _fail_on_insert(order_no: str) -> None:
    """A database trigger refusing one order (as a unique clash with an order created
    meanwhile would): the failure comes from the database, in a later chunk."""
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON sales_order "
                f"WHEN NEW.order_no = '{order_no}' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            cur.execute(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                f"IF NEW.order_no = '{order_no}' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$"
            )
            cur.execute(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON sales_order "
                "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
            )


def test_a_failing_chunk_removes_the_orders_committed_before_it(
    file: Path, admin: User, tiny_chunks: list[tuple[int, int]]
) -> None:
    _fail_on_insert("SO0050")
    # On PostgreSQL the rows go by COPY on psycopg's own cursor: its error is not wrapped.
    with pytest.raises((DatabaseError, psycopg.Error), match="refused"):
        run_import(importer=OrderImporter(), path=file, actor=admin, write=True)
    assert len(tiny_chunks) == 8  # seven chunks were committed before the eighth failed
    assert (Order.objects.count(), OrderLine.objects.count()) == (0, 0)
    assert not AuditLog.objects.filter(action="import").exists()


def test_reserved_ids_are_not_handed_out_again(db: None) -> None:
    rep = EmployeeFactory(employee_no="E1")
    customer = CustomerFactory(code="C1", owner=rep)
    ids = bulk.reserve_ids(Order, 5)
    later = Order.objects.create(
        order_no="X1", order_date="2026-10-01", customer=customer, credited_employee=rep
    )
    assert later.pk > int(ids.max())  # type: ignore[arg-type]


# ------------------------------------------------- visibility while the job applies


def _queued_job(file: Path, admin: User) -> ImportJob:
    return import_job_create(
        actor=admin, entity="orders", path=file, original_name="orders.csv", dry_run=False
    )


def test_orders_of_a_running_import_are_hidden_until_its_last_chunk(
    file: Path, admin: User, stock: Any, tiny_chunks: list[tuple[int, int]], monkeypatch: Any
) -> None:
    # given an order entered by hand, and an import applying in chunks of 7 orders
    by_hand = Order.objects.create(
        order_no="HAND1", order_date="2026-10-01", credited_employee=stock.rep
    )
    admin_viewer, rep_viewer = viewer_for(admin), viewer_for(stock.rep_user)
    seen: list[tuple[int, int, int, list[str]]] = []
    real = bulk.write_in_chunks

    def watching(total: int, write: Any, **kw: Any) -> Any:
        def looked(start: int, stop: int) -> None:
            # what readers see as each chunk begins: the chunks before it are committed
            visible = list(orders_for(admin_viewer).values_list("order_no", flat=True))
            client = Client()
            client.force_login(admin)
            page = client.get(reverse("sales:orders"))
            assert page.status_code == 200
            in_page = [no for no in ("SO0000", "HAND1") if no in page.content.decode()]
            seen.append((start, Order.objects.count(), len(visible), in_page))
            write(start, stop)

        return real(total, looked, **kw)

    monkeypatch.setattr(bulk, "write_in_chunks", watching)
    job = _queued_job(file, admin)
    # when the worker applies it
    job = import_job_run(job_id=job.pk)
    # then while it ran, the committed orders existed but nobody saw them
    assert job.status == ImportJobStatus.DONE
    assert len(seen) == 9
    for start, stored, visible, in_page in seen:
        assert (stored, visible, in_page) == (1 + start, 1, ["HAND1"])
    assert [s[1] for s in seen[:3]] == [1, 8, 15]
    # and once it is done they all appear, marked with their job
    assert orders_for(admin_viewer).count() == 1 + N_ORDERS
    assert Order.objects.filter(import_job=job).count() == N_ORDERS
    assert orders_for(rep_viewer).filter(pk=by_hand.pk).exists()
    assert AuditLog.objects.filter(action="import", note__contains=f"job={job.pk}").count() == 1


def test_the_rows_of_a_dead_import_are_removed_and_the_job_failed(
    file: Path, admin: User, tiny_chunks: list[tuple[int, int]], monkeypatch: Any, settings: Any
) -> None:
    # given an apply whose worker dies after three committed chunks (the process killed:
    # nothing below runs, so the error path that removes the rows never does)
    real = bulk.write_in_chunks

    class Killed(BaseException):
        pass

    def dying(total: int, write: Any, **kw: Any) -> Any:
        def chunk(start: int, stop: int) -> None:
            if start >= 21:
                raise Killed
            write(start, stop)

        done: list[tuple[int, int]] = kw.pop("done")
        try:
            return real(total, chunk, **kw, done=done)
        finally:
            done.clear()  # the worker's memory of its chunks dies with it

    monkeypatch.setattr(bulk, "write_in_chunks", dying)
    job = _queued_job(file, admin)
    with pytest.raises(Killed):
        import_job_run(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJobStatus.RUNNING
    assert job.alive_at is not None
    assert (Order.objects.filter(import_job=job).count(), OrderLine.objects.count()) == (21, 42)
    assert orders_for(viewer_for(admin)).count() == 0  # still hidden
    other = Order.objects.create(order_no="HAND1", order_date="2026-10-01")
    settings.SALESOPS_IMPORT_MAX_SECONDS = 60  # stale after 3 minutes without a heartbeat
    # when the scheduled job looks before the job is stale, nothing happens
    assert import_jobs_reset_stale(now=job.alive_at + dt.timedelta(minutes=2)) == "failed=0"
    assert Order.objects.filter(import_job=job).count() == 21
    # then once it is, its rows are deleted and the job failed with the reason
    assert import_jobs_reset_stale(now=job.alive_at + dt.timedelta(minutes=4)) == "failed=1"
    job.refresh_from_db()
    assert job.status == ImportJobStatus.FAILED
    assert job.errors == [
        {
            "row": 0,
            "column": "",
            "message": "导入中断（后台任务未完成），已删除已写入的 21 条记录，请重新上传后导入",
        }
    ]
    assert (Order.objects.count(), OrderLine.objects.count()) == (1, 0)
    assert Order.objects.get() == other
    # and a second look finds nothing more to do
    assert import_jobs_reset_stale(now=job.alive_at + dt.timedelta(hours=1)) == "failed=0"


# ------------------------------------------------------------ customers, in chunks

CUSTOMERS_HEADER = "客户编号,客户名称,手机号,负责人工号\n"
N_CUSTOMERS = 30


def _customers_file(tmp_path: Path) -> Path:
    rows = [f"K{i:04d},客户{i},,E1" for i in range(N_CUSTOMERS)]
    path = tmp_path / "customers.csv"
    path.write_text(CUSTOMERS_HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def customer_chunks(settings: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Chunks of 4 customers, whatever the clock says; what readers see as each begins."""
    settings.SALESOPS_WRITE_CHUNK_SECONDS = 1000.0
    monkeypatch.setattr(customers_module, "WRITE_FIRST", 4)
    seen: list[tuple[int, int]] = []
    real = bulk.write_in_chunks

    def spy(total: int, write: Any, **kw: Any) -> Any:
        def recording(start: int, stop: int) -> None:
            admin = User.objects.get(username="admin")
            seen.append((start, customers_for(viewer_for(admin)).count()))
            write(start, stop)

        return real(total, recording, **{**kw, "least": 1, "most": 4})

    monkeypatch.setattr(bulk, "write_in_chunks", spy)
    return seen


def test_a_customers_import_applies_in_chunks_hidden_until_done(
    file: Path, tmp_path: Path, admin: User, customer_chunks: list[tuple[int, int]]
) -> None:
    # given C1 (from the orders fixture), changed by the file too
    path = _customers_file(tmp_path)
    with path.open("a", encoding="utf-8") as out:
        out.write("C1,改名的客户,,E1\n")
    job = import_job_create(
        actor=admin, entity="customers", path=path, original_name="c.csv", dry_run=False
    )
    job = import_job_run(job_id=job.pk)
    assert job.status == ImportJobStatus.DONE, job.errors
    # eight chunks of four; before each, only C1 was visible (the new ones hidden)
    assert [s for s, _n in customer_chunks] == list(range(0, N_CUSTOMERS + 1, 4))
    assert {n for _s, n in customer_chunks} == {1}
    assert customers_for(viewer_for(admin)).count() == N_CUSTOMERS + 1
    assert Customer.objects.filter(import_job=job).count() == N_CUSTOMERS
    assert Customer.objects.get(code="C1").name == "改名的客户"
    assert Customer.objects.get(code="C1").import_job is None
    assert AuditLog.objects.filter(action="import", object_type="sales.customer").count() == 1


def test_a_failing_customers_chunk_removes_the_customers_created_before_it(
    file: Path, tmp_path: Path, admin: User, customer_chunks: list[tuple[int, int]]
) -> None:
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            cur.execute(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON sales_customer "
                "WHEN NEW.code = 'K0013' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        else:
            cur.execute(
                "CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.code = 'K0013' THEN RAISE EXCEPTION 'refused'; END IF; "
                "RETURN NEW; END $$"
            )
            cur.execute(
                "CREATE TRIGGER refuse_one BEFORE INSERT ON sales_customer "
                "FOR EACH ROW EXECUTE FUNCTION refuse_one()"
            )
    with pytest.raises(DatabaseError, match="refused"):
        run_import(
            importer=CustomerImporter(), path=_customers_file(tmp_path), actor=admin, write=True
        )
    assert len(customer_chunks) == 4  # three chunks committed, the fourth failed
    assert list(Customer.objects.values_list("code", flat=True)) == ["C1"]
    assert not AuditLog.objects.filter(action="import").exists()


def test_a_dead_customers_import_removes_the_customers_no_order_refers_to(
    file: Path, tmp_path: Path, admin: User
) -> None:
    job = import_job_create(
        actor=admin,
        entity="customers",
        path=_customers_file(tmp_path),
        original_name="c.csv",
        dry_run=False,
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJobStatus.RUNNING)
    rep = EmployeeFactory(employee_no="E9")
    kept = CustomerFactory(code="K1", owner=rep, import_job=job)
    CustomerFactory(code="K2", owner=rep, import_job=job)
    Order.objects.create(order_no="O1", order_date="2026-10-01", customer=kept)
    assert CustomerImporter.discard(job.pk) == 1
    assert list(Customer.objects.order_by("code").values_list("code", "import_job")) == [
        ("C1", None),
        ("K1", None),
    ]
