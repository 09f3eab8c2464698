"""Imports that cannot be used against the server: uploads refused while they stream in,
limits on rows, columns, line length and time checked while reading, .xlsx bombs judged
before they are parsed, dry runs in the background, capped error reports, lookups that fit
every database's parameter limit, UTF-16 files, and the retention of old files."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import sqlite3
import time
import tracemalloc
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import RequestFactory, TestCase
from django.test.client import encode_multipart
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from openpyxl import Workbook

from salesops.core.errors import ServiceError
from salesops.core.imports.engine import run_import
from salesops.core.imports.schema import MAX_ERRORS, Report
from salesops.core.imports.services import (
    import_dir,
    import_job_apply,
    import_job_check,
    import_job_create,
    import_job_errors_file,
    importer_for,
    save_upload,
)
from salesops.core.models import ImportJob, RoleCode, User
from salesops.core.scheduler import scheduled_job_run
from salesops.core.tokens import token_issue
from salesops.core.uploads import LimitedUploadHandler
from salesops.factories import DepartmentFactory, EmployeeFactory, UserFactory, role
from salesops.org.models import Employee
from salesops.sales.models import Customer, PriceListItem, Product

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
HEADER = "工号,姓名,部门编码\n"
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"


@pytest.fixture
def admin(db: None) -> User:
    DepartmentFactory(code="T1")
    return UserFactory(username="admin", role=role(RoleCode.ADMIN))


def run(entity: str, path: Path, actor: User | None = None, write: bool = False) -> Report:
    return run_import(importer=importer_for(entity), path=path, actor=actor, write=write)


def messages(report: Report) -> list[tuple[int, str]]:
    return [(e.row, e.message) for e in report.errors]


def csv_file(tmp_path: Path, text: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def xlsx_with_sheet(tmp_path: Path, parts: Iterable[bytes], name: str = "f.xlsx") -> Path:
    """A real workbook (openpyxl's) whose first sheet's XML is ``parts``, streamed in."""
    wb = Workbook()
    wb.active.append(["x"])
    buf = io.BytesIO()
    wb.save(buf)
    source = zipfile.ZipFile(buf)
    path = tmp_path / name
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in source.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with out.open(info.filename, "w") as fh:
                    fh.write(
                        f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">'.encode()
                    )
                    for part in parts:
                        fh.write(part)
                    fh.write(b"</worksheet>")
            else:
                out.writestr(info, source.read(info.filename))
    return path


def sheet_rows(rows: Iterable[list[str]]) -> Iterator[bytes]:
    yield b"<sheetData>"
    for cells in rows:
        inner = "".join(f'<c t="inlineStr"><is><t>{v}</t></is></c>' for v in cells)
        yield f"<row>{inner}</row>".encode()
    yield b"</sheetData>"


# --- uploads --------------------------------------------------------------------------


class CountingStream:
    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.read_bytes += len(data)
        return data


def test_an_upload_past_the_limit_is_refused_before_its_body_is_read(settings):
    settings.SALESOPS_IMPORT_MAX_MB = 1
    body = encode_multipart("B0UNDARY", {"file": SimpleUploadedFile("big.csv", b"x" * (3 << 20))})
    request = RequestFactory().generic(
        "POST", "/", body, content_type="multipart/form-data; boundary=B0UNDARY"
    )
    counting = CountingStream(request._stream)
    request._stream = counting
    assert request.FILES == {}
    assert request.salesops_upload_refused == "文件过大：最大允许 1 MB，请拆分后分批导入"
    # stopped at the file's part header: not the 3 MB, not even the 1 MB allowed
    assert counting.read_bytes < 256 * 1024
    assert settings.FILE_UPLOAD_HANDLERS[0] == "salesops.core.uploads.LimitedUploadHandler"


def test_handler_counts_the_bytes_it_is_given(rf, settings):
    settings.SALESOPS_IMPORT_MAX_MB = 1
    request = rf.post("/")
    handler = LimitedUploadHandler(request)
    handler.handle_raw_input(None, {}, 1000, "b")
    assert handler.receive_data_chunk(b"x" * 1000, 0) == b"x" * 1000
    from django.core.files.uploadhandler import StopUpload

    with pytest.raises(StopUpload):
        handler.receive_data_chunk(b"x" * (1 << 20), 1000)
    assert request.salesops_upload_refused.startswith("文件过大")


def test_upload_page_and_api_answer_413_and_store_nothing(client, admin, settings):
    settings.SALESOPS_IMPORT_MAX_MB = 1
    client.force_login(admin)
    big = SimpleUploadedFile("big.csv", (HEADER + "E1,张三,T1\n" * 200_000).encode())
    response = client.post(reverse("core:import_upload", args=["employees"]), {"file": big})
    assert response.status_code == 413
    assert "文件过大：最大允许 1 MB，请拆分后分批导入" in response.content.decode()
    admin.set_password("pw-for-tests")
    admin.save()
    key, _row = token_issue(username="admin", password="pw-for-tests")
    big.seek(0)
    response = client.post(
        "/api/imports/employees/dry-run", {"file": big}, HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert response.status_code == 413
    assert response.json() == {
        "code": "too_large",
        "message": "文件过大：最大允许 1 MB，请拆分后分批导入",
        "fields": [{"field": "file", "message": "文件过大：最大允许 1 MB，请拆分后分批导入"}],
    }
    assert ImportJob.objects.count() == 0
    assert not import_dir().exists() or list(import_dir().iterdir()) == []


def test_save_upload_stops_at_the_limit_and_removes_the_part(settings, tmp_path):
    settings.SALESOPS_IMPORT_MAX_MB = 1
    chunks = (b"x" * (256 << 10) for _ in range(100))
    with pytest.raises(ServiceError) as exc:
        save_upload(chunks=chunks, original_name="a.csv")
    assert (exc.value.code, exc.value.status) == ("too_large", 413)
    assert list(import_dir().iterdir()) == []


# --- CSV limits ----------------------------------------------------------------------


def test_a_header_of_a_million_columns_is_refused_at_the_header(tmp_path, admin):
    path = csv_file(tmp_path, ",".join(f"c{i}" for i in range(1_000_000)) + "\nE1,张三,T1\n")
    started = time.monotonic()
    report = run("employees", path, admin)
    assert messages(report) == [
        (1, "第 1 行无法读取：单元格过大或列数过多（一行最多 200,300 个字符）")
    ]
    assert report.aborted is True
    assert time.monotonic() - started < 5


def test_too_many_columns_in_the_header_or_a_row(tmp_path, admin):
    wide = HEADER.strip() + "".join(f",x{i}" for i in range(98)) + "\n"
    report = run("employees", csv_file(tmp_path, wide + "E1,张三,T1\n"), admin)
    assert messages(report) == [(1, "第 1 行的列数超过上限（最多 100 列）")]
    row = "E2,李四,T1" + ",z" * 98 + "\n"
    report = run("employees", csv_file(tmp_path, HEADER + "E1,张三,T1\n" + row), admin)
    assert messages(report) == [(3, "第 3 行的列数超过上限（最多 100 列）")]
    # the polars path (plain CSV, the orders importer) counts the same way
    header = "订单号,订单日期,订单类型,客户编号,购买会员编号,业务员工号,商品编码,数量,单价\n"
    line = "SO1,2026-01-02,,C1,,,S1,1,1" + ",z" * 92 + "\n"
    report = run("orders", csv_file(tmp_path, header + line * 3), admin)
    assert messages(report) == [(2, "第 2 行的列数超过上限（最多 100 列）")]


def test_rows_are_counted_while_streaming(tmp_path, admin, settings):
    settings.SALESOPS_IMPORT_MAX_ROWS = 10
    body = HEADER + "".join(f"E{i},张三,T1\n" for i in range(11))
    report = run("employees", csv_file(tmp_path, body), admin, write=True)
    assert messages(report) == [(0, "文件行数超过上限（最多 10 行数据），请拆分后分批导入")]
    assert (report.aborted, report.applied, Employee.objects.count()) == (True, False, 0)
    header = "订单号,订单日期,订单类型,客户编号,购买会员编号,业务员工号,商品编码,数量,单价\n"
    lines = "".join(f"SO{i},2026-01-02,,C1,,,S1,1,1\n" for i in range(11))
    report = run("orders", csv_file(tmp_path, header + lines), admin)
    assert messages(report) == [(0, "文件行数超过上限（最多 10 行数据），请拆分后分批导入")]
    ten = HEADER + "".join(f"E{i},张三,T1\n" for i in range(10))
    assert run("employees", csv_file(tmp_path, ten), admin).ok


def test_time_limit_stops_a_run(tmp_path, admin, settings):
    settings.SALESOPS_IMPORT_MAX_SECONDS = 0
    body = HEADER + "".join(f"E{i},张三,T1\n" for i in range(1500))
    report = run("employees", csv_file(tmp_path, body), admin)
    assert messages(report) == [(0, "处理时间超过上限（0 秒），已停止，请拆分后分批导入")]
    assert report.aborted is True


# --- xlsx -----------------------------------------------------------------------------


def test_an_xlsx_row_of_a_million_cells_costs_little_memory(tmp_path, admin, settings):
    settings.SALESOPS_IMPORT_XLSX_MAX_RATIO = 10_000  # past the zip check: the scan stops it

    def parts() -> Iterator[bytes]:
        yield b'<sheetData><row><c t="inlineStr"><is><t>\xe5\xb7\xa5\xe5\x8f\xb7</t></is></c></row>'
        yield b"<row>"
        cell = b'<c t="inlineStr"><is><t>x</t></is></c>'
        for _ in range(100):
            yield cell * 10_000
        yield b"</row></sheetData>"

    path = xlsx_with_sheet(tmp_path, parts())
    tracemalloc.start()
    try:
        started = time.monotonic()
        report = run("employees", path, admin)
        elapsed = time.monotonic() - started
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert messages(report) == [(2, "第 2 行的列数超过上限（最多 100 列）")]
    assert report.aborted is True
    assert peak < 32 << 20, f"peak {peak / 1e6:.0f} MB"
    assert elapsed < 10


def test_xlsx_bomb_ends_as_a_failed_job_within_seconds(tmp_path, admin, settings):
    settings.TASKS = IMMEDIATE
    row = b'<row><c t="inlineStr"><is><t>E1</t></is></c></row>'
    # 38 MB of sheet in a file of a few hundred KB (5 M rows inflate the same way)
    path = xlsx_with_sheet(tmp_path, [b"<sheetData>", *([row * 100_000] * 8), b"</sheetData>"])
    assert path.stat().st_size < 1 << 20
    saved = save_upload(chunks=[path.read_bytes()], original_name="bomb.xlsx")
    started = time.monotonic()
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = import_job_create(
            actor=admin, entity="employees", path=saved, original_name="bomb.xlsx"
        )
    job.refresh_from_db()
    assert time.monotonic() - started < 5
    assert job.status == "failed"
    assert job.errors[0]["message"].startswith("Excel 文件解压后过大（38 MB，压缩比")
    assert job.report["aborted"] is True
    with pytest.raises(ServiceError):
        import_job_apply(actor=admin, job=job)


def test_xlsx_declared_rows_and_scanned_rows(tmp_path, admin, settings):
    settings.SALESOPS_IMPORT_MAX_ROWS = 100
    dim = xlsx_with_sheet(
        tmp_path,
        [b'<dimension ref="A1:C5000000"/>', *sheet_rows([["工号", "姓名", "部门编码"]])],
        "dim.xlsx",
    )
    assert messages(run("employees", dim, admin)) == [
        (0, "文件行数超过上限（最多 100 行数据），请拆分后分批导入")
    ]
    rows = [["工号", "姓名", "部门编码"], *([["E1", "张三", "T1"]] * 101)]
    many = xlsx_with_sheet(tmp_path, sheet_rows(rows), "many.xlsx")
    assert messages(run("employees", many, admin)) == [
        (0, "文件行数超过上限（最多 100 行数据），请拆分后分批导入")
    ]
    fine = xlsx_with_sheet(tmp_path, sheet_rows(rows[:101]), "fine.xlsx")
    report = run("employees", fine, admin)
    assert report.rows_total == 100
    assert messages(report)[:1] == [(3, "E1 在文件中重复（第 2 行）")]


# --- dry run in the background ---------------------------------------------------------


def test_a_50_mb_orders_dry_run_is_queued_not_parsed_in_the_request(client, admin):
    header = "订单号,订单日期,订单类型,客户编号,购买会员编号,业务员工号,商品编码,数量,单价\n"
    line = "SO{},2026-01-02,regular,C00001,,E0001,SKU00001,1,199.00\n"
    body = header + "".join(line.format(i) for i in range(850_000))
    assert len(body) > 50_000_000
    admin.set_password("pw-for-tests")
    admin.save()
    key, _row = token_issue(username="admin", password="pw-for-tests")
    started = time.monotonic()
    response = client.post(
        "/api/imports/orders/dry-run",
        {"file": SimpleUploadedFile("orders.csv", body.encode())},
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code == 202
    assert time.monotonic() - started < 20
    job = ImportJob.objects.get()
    assert (response.json()["status"], response.json()["checking"], job.status) == (
        "checking",
        True,
        "checking",
    )
    client.force_login(admin)
    page = client.get(reverse("core:import_job", args=[job.pk]))
    assert page.status_code == 200
    assert "正在后台校验文件" in page.content.decode()
    assert "?checking=1" in page.content.decode()


def test_progress_asks_for_the_whole_page_once_the_check_ends(client, admin):
    client.force_login(admin)
    path = save_upload(chunks=[(HEADER + "E1,张三,T1\n").encode()], original_name="e.csv")
    with TestCase.captureOnCommitCallbacks(execute=False):
        job = import_job_create(actor=admin, entity="employees", path=path, original_name="e.csv")
    url = reverse("core:import_job_progress", args=[job.pk]) + "?checking=1"
    assert "every 1s" in client.get(url).content.decode()
    import_job_check(job_id=job.pk)
    response = client.get(url)
    assert (response.status_code, response["HX-Refresh"]) == (204, "true")
    page = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert "确认导入" in page


# --- error reports --------------------------------------------------------------------


def test_error_report_keeps_the_first_errors_and_exact_counts(tmp_path, admin):
    n = MAX_ERRORS + 2_000
    body = HEADER + "".join(f"E{i},,T1\n" for i in range(n))
    path = save_upload(chunks=[body.encode()], original_name="bad.csv")
    with TestCase.captureOnCommitCallbacks(execute=False):
        job = import_job_create(actor=admin, entity="employees", path=path, original_name="bad.csv")
    job = import_job_check(job_id=job.pk)
    assert (job.status, job.error_count) == ("invalid", n)
    assert job.report["error_kinds"] == {"姓名": n}
    errors_file = import_job_errors_file(job)
    assert errors_file is not None
    with errors_file.open(encoding="utf-8-sig", newline="") as fh:
        lines = list(csv.reader(fh))
    assert len(lines) == 1 + MAX_ERRORS + 1
    assert lines[-1] == ["", "", f"另有 {n - MAX_ERRORS:,} 条错误未列出（共 {n:,} 条）"]
    assert errors_file.stat().st_size < 1 << 20


# --- lookups under the parameter limit -------------------------------------------------


@pytest.fixture
def sqlite_999():
    """The database refuses more than 999 parameters a statement (SQLite before 3.32)."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's own limit")
    connection.ensure_connection()
    raw = connection.connection
    old = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
    yield
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, old)


def test_customers_and_products_of_thousands_of_rows_fit_999_parameters(
    tmp_path, admin, sqlite_999
):
    EmployeeFactory(employee_no="E1")
    body = "客户编号,客户名称,负责人工号\n" + "".join(f"C{i},客户{i},E1\n" for i in range(1200))
    assert run("customers", csv_file(tmp_path, body), admin, write=True).applied
    body = "客户编号,客户名称,负责人工号\n" + "".join(f"C{i},新名{i},E1\n" for i in range(1200))
    report = run("customers", csv_file(tmp_path, body), admin, write=True)
    assert (report.applied, report.updated) == (True, 1200)
    assert Customer.objects.count() == 1200
    body = "商品编码,商品名称,零售价\n" + "".join(f"S{i},商品{i},10\n" for i in range(1200))
    assert run("products", csv_file(tmp_path, body), admin, write=True).applied
    report = run("products", csv_file(tmp_path, body.replace(",10\n", ",12\n")), admin, write=True)
    assert (report.applied, report.updated) == (True, 1200)
    assert PriceListItem.objects.filter(list_price=12).count() == 1200
    assert Product.objects.count() == 1200


@pytest.mark.slow
def test_customers_and_products_of_more_than_250000_rows(tmp_path, admin):
    EmployeeFactory(employee_no="E1")
    n = 250_001
    body = "客户编号,客户名称,负责人工号\n" + "".join(f"C{i},客户{i},E1\n" for i in range(n))
    report = run("customers", csv_file(tmp_path, body), admin)
    assert (report.ok, report.created) == (True, n)
    body = "商品编码,商品名称,零售价\n" + "".join(f"S{i},商品{i},10\n" for i in range(n))
    report = run("products", csv_file(tmp_path, body), admin)
    assert (report.ok, report.created) == (True, n)


# --- UTF-16 ---------------------------------------------------------------------------


def test_excel_unicode_text_utf16_with_bom_and_tabs_imports(tmp_path, admin):
    # what Excel's "Unicode 文本 (*.txt)" writes: BOM FF FE, UTF-16LE, tabs, CRLF
    text = "工号\t姓名\t部门编码\r\nE1\t张三\tT1\r\nE2\t上官婉儿\tT1\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    assert path.read_bytes()[:2] == b"\xff\xfe"
    report = run("employees", path, admin, write=True)
    assert (report.applied, report.created) == (True, 2)
    assert sorted(Employee.objects.values_list("name", flat=True)) == ["上官婉儿", "张三"]
    be = tmp_path / "be.txt"
    be.write_bytes(codecs.BOM_UTF16_BE + text.replace("E2", "E3").encode("utf-16-be"))
    assert run("employees", be, admin).ok


# --- retention ------------------------------------------------------------------------


def test_old_files_are_removed_by_the_scheduled_job(client, admin, settings):
    settings.SALESOPS_IMPORT_RETENTION_DAYS = 7
    now = timezone.now()

    def job_with_file(days: int, status: str) -> ImportJob:
        path = save_upload(chunks=[(HEADER + "E1,张三,T1\n").encode()], original_name="e.csv")
        with TestCase.captureOnCommitCallbacks(execute=False):
            job = import_job_create(
                actor=admin, entity="employees", path=path, original_name="e.csv"
            )
        job = import_job_check(job_id=job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, created_at=now - datetime.timedelta(days=days)
        )
        job.refresh_from_db()
        return job

    old = job_with_file(8, "validated")
    failed = job_with_file(30, "failed")
    recent = job_with_file(1, "validated")
    running = job_with_file(30, "running")
    stuck = job_with_file(1, "checking")
    stray = import_dir() / "20200101-stray.csv"
    stray.write_text("x")
    past = (now - datetime.timedelta(days=8)).timestamp()
    import os

    os.utime(stray, (past, past))
    for p in import_dir().iterdir():
        os.utime(p, (past, past))

    state = scheduled_job_run(key="core.import_files_purge", now=now)
    assert (state.last_status, state.last_message) == ("done", "jobs=2 stray_files=1")
    for job in (old, failed):
        job.refresh_from_db()
        assert job.files_removed_at == now
        assert not Path(job.file_path).exists()
        assert import_job_errors_file(job) is None
    assert Path(recent.file_path).exists()
    assert Path(running.file_path).exists()
    assert not stray.exists()
    stuck.refresh_from_db()
    assert (stuck.status, stuck.errors[0]["message"]) == (
        "failed",
        "校验中断（后台任务未完成），请重新上传",
    )
    assert Path(stuck.file_path).exists()  # kept for the retention period like any other
    client.force_login(admin)
    page = client.get(reverse("core:import_job", args=[old.pk])).content.decode()
    assert "按保留期限清理" in page
    assert "import-apply" not in page
    with pytest.raises(ServiceError) as exc:
        import_job_apply(actor=admin, job=old)
    assert exc.value.code == "file_removed"
    # idempotent
    again = scheduled_job_run(key="core.import_files_purge", now=now)
    assert again.last_message == "jobs=0 stray_files=0"


# --- any shape (hypothesis) ------------------------------------------------------------


@pytest.fixture
def small_limits(settings):
    settings.SALESOPS_IMPORT_MAX_ROWS = 10
    settings.SALESOPS_IMPORT_MAX_COLUMNS = 5


@hsettings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    widths=st.lists(st.integers(1, 8), min_size=1, max_size=14),
    kind=st.sampled_from(["csv", "xlsx", "utf16"]),
)
def test_a_file_stops_exactly_when_it_passes_a_limit(tmp_path, admin, small_limits, widths, kind):
    rows = [["工号", "姓名", "部门编码"]] + [
        [f"E{i}", "张三", "T1", *(["x"] * (w - 3))][:w] for i, w in enumerate(widths)
    ]
    if kind == "xlsx":
        wb = Workbook()
        for r in rows:
            wb.active.append(r)
        path = tmp_path / "shape.xlsx"
        wb.save(path)
    else:
        text = "".join(("\t" if kind == "utf16" else ",").join(r) + "\r\n" for r in rows)
        path = tmp_path / f"shape-{kind}.csv"
        data = text.encode("utf-16") if kind == "utf16" else text.encode()
        path.write_bytes(data)
    report = run("employees", path, admin, write=True)
    over = len(widths) > 10 or max(widths) > 5
    assert report.aborted is over
    assert report.applied is (not over and min(widths) >= 3)
    assert Employee.objects.count() == (len(widths) if report.applied else 0)
    Employee.objects.all().delete()
