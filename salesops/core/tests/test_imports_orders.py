"""The orders import built for millions of rows: the vectorised parsing and amount rule
agree with the Python ones on any input, rules hold across chunk boundaries, .xlsx cells
keep their meaning, and an apply writes exactly what the sales services would (on SQLite
and on PostgreSQL alike)."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from salesops.core.imports import frames
from salesops.core.imports.engine import run_import
from salesops.core.imports.frames import ROW, Chunk, ChunkParser
from salesops.core.imports.reading import ImportFileError, open_source
from salesops.core.imports.schema import CellError, Report
from salesops.core.imports.services import (
    import_job_apply,
    import_job_create,
    import_job_progress,
    save_upload,
)
from salesops.core.models import AuditLog, RoleCode, User
from salesops.core.money import to_fen
from salesops.factories import (
    CustomerFactory,
    DepartmentFactory,
    EmployeeFactory,
    MemberFactory,
    ProductFactory,
    UserFactory,
    role,
)
from salesops.sales.importers import orders as orders_module
from salesops.sales.importers.orders import OrderImporter, line_amount_fen
from salesops.sales.models import Order, OrderLine
from salesops.sales.services.orders import line_amount

HEADER = "订单号,下单日期,订单类型,客户编号,购买会员编号,业绩归属工号,商品编码,数量,单价\n"


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="admin", role=role(RoleCode.ADMIN))


@pytest.fixture
def catalogue(db: None) -> dict[str, Any]:
    team = DepartmentFactory(code="T1")
    other = DepartmentFactory(code="T2")
    rep = EmployeeFactory(employee_no="E1", department=team)
    seller = EmployeeFactory(employee_no="E2", department=other)
    return {
        "team": team,
        "other": other,
        "rep": rep,
        "seller": seller,
        "customer": CustomerFactory(code="C1", owner=rep),
        "member": MemberFactory(member_no="M1"),
        "p1": ProductFactory(sku="S1"),
        "p2": ProductFactory(sku="S2"),
    }


def write(tmp_path: Path, text: str | bytes, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def run(path: Path, actor: User | None, *, write: bool, **kw: Any) -> Report:
    return run_import(importer=OrderImporter(), path=path, actor=actor, write=write, **kw)


def errors(report: Report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


# ---------------------------------------------------------------------------
# the amount rule and the parsers: vectorised == Python, for any input
# ---------------------------------------------------------------------------

QUANTITY = st.decimals(
    min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2, allow_nan=False
)
PRICE = st.decimals(
    min_value=Decimal("0"), max_value=Decimal("9999999999999999.99"), places=2, allow_nan=False
)


@settings(max_examples=200, deadline=None)
@given(pairs=st.lists(st.tuples(QUANTITY, PRICE), min_size=1, max_size=20))
def test_int_fen_line_amount_equals_the_decimal_rule(pairs):
    frame = pl.DataFrame(
        {
            "q": [int(q * 100) for q, _p in pairs],
            "p": [to_fen(p) for _q, p in pairs],
        }
    )
    fen = frame.select(line_amount_fen(pl.col("q"), pl.col("p"))).to_series().to_list()
    assert fen == [to_fen(line_amount(q, p)) for q, p in pairs]


def test_int_fen_line_amount_rounds_half_up_at_the_boundary():
    # 0.5 × 0.01 = 0.005 → 0.01; 0.49 × 0.01 = 0.0049 → 0.00; 3 × 33.33 = 99.99
    frame = pl.DataFrame({"q": [50, 49, 300, 1], "p": [1, 1, 3333, 999]})
    fen = frame.select(line_amount_fen(pl.col("q"), pl.col("p"))).to_series().to_list()
    assert fen == [1, 0, 9999, 10]


SHAPED = st.one_of(
    st.text(max_size=12),
    st.from_regex(r"\s?[0-9]{1,18}(\.[0-9]{0,3})?\s?", fullmatch=True),
    st.from_regex(r"[0-9]{3,5}-[0-9]{1,2}-[0-9]{1,2}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9_./=+@ \-]{0,45}", fullmatch=True),
    st.sampled_from(
        [
            "",
            " ",
            "0",
            "00",
            "0.00",
            "0.001",
            "1e3",
            "¥12",
            "1,234.5",
            "-0",
            "-5",
            "NaN",
            "Infinity",
            "2024-02-29",
            "2026-02-29",
            "0000-01-01",
            "1000-01-01",
            "2026/1/5",
            "2026年1月5日",
            "SO-1",
            "-SO1",
            "=SO1",
            "SO\x1c1",
            "\x1cSO1",
            "SO\u30001",
            "普通订单",
            "regular",
            "ARO",
            "x" * 2001,
        ]
    ),
)


def _python_parse(col: Any, raw: str) -> tuple[str, Any]:
    if not raw.strip():
        return ("blank", None)
    try:
        value = col.parse(raw)
    except CellError as exc:
        return ("error", exc.message)
    return ("value", value if col.fast is None else col.fast.from_python(value))


@settings(max_examples=60, deadline=None)
@given(cells=st.lists(SHAPED, min_size=1, max_size=30))
def test_vectorised_parsing_equals_the_column_parser_on_any_text(cells):
    for position, col in enumerate(OrderImporter.columns):
        parser = ChunkParser(OrderImporter.columns, {col.key: position})
        chunk = Chunk(pl.DataFrame({ROW: list(range(2, len(cells) + 2)), col.key: cells}), raw={})
        report = Report(entity="orders")
        parsed = parser.parse(chunk, report)
        got_errors = {e.row: e.message for e in report.errors}
        for row, raw, value in zip(parsed[ROW], cells, parsed[col.key], strict=True):
            kind, expected = _python_parse(col, raw)
            if kind == "value":
                assert (col.key, raw, value, got_errors.get(row)) == (col.key, raw, expected, None)
            elif kind == "error":
                assert (col.key, raw, value, got_errors.get(row)) == (col.key, raw, None, expected)
            else:
                blank_error = "必填项不能为空" if col.required else None
                assert (col.key, raw, value, got_errors.get(row)) == (
                    col.key,
                    raw,
                    None,
                    blank_error,
                )


# ---------------------------------------------------------------------------
# rules across chunks, and what an apply writes
# ---------------------------------------------------------------------------


def test_orders_spread_over_chunks_keep_one_header_and_sum_their_lines(
    tmp_path, admin, catalogue, monkeypatch
):
    monkeypatch.setattr(orders_module, "CHUNK", 2)
    path = write(
        tmp_path,
        HEADER
        + "SO1,2026-01-02,普通订单,C1,,,S1,3,33.33\n"
        + "SO2,2026-01-03,aro,,M1,E2,S2,1,10\n"
        + "\n"
        + "SO1,2026-01-02,regular,C1,,E1,S2,0.5,0.05\n"
        + "SO2,2026-01-03,自动订货,,M1,E2,S1,2,0.01\n"
        + "SO1,2026-01-02,,C1,,,S1,1,1\n",
    )
    report = run(path, admin, write=True)
    assert errors(report) == []
    assert report.rows_total == 5
    assert report.counts == {
        "订单": {"created": 2, "updated": 0, "unchanged": 0},
        "订单明细": {"created": 5, "updated": 0, "unchanged": 0},
    }
    so1, so2 = Order.objects.get(order_no="SO1"), Order.objects.get(order_no="SO2")
    assert so1.total_amount == Decimal("101.02")
    assert [
        (line.product.sku, line.quantity, line.unit_price, line.amount)
        for line in so1.lines.order_by("id")
    ] == [
        ("S1", Decimal("3.00"), Decimal("33.33"), Decimal("99.99")),
        ("S2", Decimal("0.50"), Decimal("0.05"), Decimal("0.03")),
        ("S1", Decimal("1.00"), Decimal("1.00"), Decimal("1.00")),
    ]
    assert (so1.customer, so1.credited_employee, so1.department, so1.created_by) == (
        catalogue["customer"],
        catalogue["rep"],
        catalogue["team"],
        admin,
    )
    assert (so2.kind, so2.member, so2.credited_member, so2.credited_employee) == (
        "aro",
        catalogue["member"],
        catalogue["member"],
        catalogue["seller"],
    )
    assert (so2.department, so2.total_amount, so2.status) == (
        catalogue["other"],
        Decimal("10.02"),
        "confirmed",
    )
    assert so1.pk < so2.pk
    assert so1.created_at is not None
    assert AuditLog.objects.filter(action="import", object_type="sales.order").count() == 1


def test_header_conflicts_and_line_cap_are_found_across_chunks(
    tmp_path, admin, catalogue, monkeypatch
):
    monkeypatch.setattr(orders_module, "CHUNK", 2)
    monkeypatch.setattr(orders_module, "MAX_LINES", 2)
    path = write(
        tmp_path,
        HEADER
        + "SO1,2026-01-02,,C1,,,S1,1,1\n"
        + "SO2,2026-01-02,,C1,,,S1,1,1\n"
        + "SO1,2026-01-02,,C1,,,S1,1,1\n"
        + "SO1,2026-01-02,aro,C1,,,S1,1,1\n"
        + "SO1,2026-01-02,,,M1,,S1,1,1\n"
        + "SO1,2026-01-02,,C1,,E2,S1,1,1\n"
        + "SO1,2026-01-02,,C1,,,S1,1,1\n",
    )
    report = run(path, admin, write=True)
    assert errors(report) == [
        (5, "订单类型", "与同一订单号第 2 行的订单信息不一致"),
        (6, "客户编号", "与同一订单号第 2 行的订单信息不一致"),
        (7, "业绩归属工号", "与同一订单号第 2 行的订单信息不一致"),
        (8, "订单号", "订单最多 2 行"),
    ]
    assert report.applied is False
    assert Order.objects.count() == 0
    assert OrderLine.objects.count() == 0


def test_blank_lines_keep_row_numbers_and_headers_may_be_reordered(tmp_path, admin, catalogue):
    path = write(
        tmp_path,
        "单价,数量,商品编码,客户编号,下单日期,订单号,备注\n"
        "1,1,S1,C1,2026-01-02,SO1,x\n"
        "\n"
        " , , , , , ,\n"
        "1,1,S1,C1,2026-01-02,=SO2,\n"
        ",,,,,,only a note\n",
    )
    report = run(path, admin, write=False)
    assert errors(report) == [
        (5, "订单号", "编号不能以 = + - @ 开头（疑似公式）"),
        (6, "订单号", "必填项不能为空"),
        (6, "下单日期", "必填项不能为空"),
        (6, "商品编码", "必填项不能为空"),
        (6, "数量", "必填项不能为空"),
        (6, "单价", "必填项不能为空"),
    ]
    assert report.rows_total == 3
    assert report.ignored_columns == ["备注"]
    assert report.sample == [
        {
            "row": "2",
            "订单号": "SO1",
            "下单日期": "2026-01-02",
            "客户编号": "C1",
            "商品编码": "S1",
            "数量": "1.00",
            "单价": "1.00",
        }
    ]


def test_gb18030_file_with_odd_formats_imports(tmp_path, admin, catalogue):
    text = (
        HEADER
        + '订单-1,2026年1月5日,普通订单,C1,,,S1,"1,000",¥12.5\n'
        + "订单-1,2026/01/05,,C1,,,S2, 2 ,0.015\n"
    )
    path = write(tmp_path, text.encode("gb18030"))
    report = run(path, admin, write=True)
    assert errors(report) == [(3, "单价", "最多 2 位小数")]
    path = write(tmp_path, text.replace("0.015", "0.01").encode("gb18030"))
    report = run(path, admin, write=True)
    assert errors(report) == []
    order = Order.objects.get()
    assert (order.order_no, order.order_date) == ("订单-1", datetime.date(2026, 1, 5))
    assert order.total_amount == Decimal("12500.02")


def _xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_xlsx_typed_cells_and_formulas(tmp_path, admin, catalogue):
    header = ["订单号", "下单日期", "客户编号", "商品编码", "数量", "单价"]
    good = [
        [1001, datetime.datetime(2026, 3, 1, 10, 30), "C1", "S1", 2, 12.3],
        [1001, datetime.date(2026, 3, 1), "C1", "S2", 1.5, 10],
    ]
    bad = ["SO9", "2026-03-02", "C1", "=A2", True, 1]
    report = run(write(tmp_path, _xlsx([header, *good, bad]), "bad.xlsx"), admin, write=True)
    assert errors(report) == [
        (4, "商品编码", "不接受公式单元格，请复制后“粘贴为数值”再导入"),
        (4, "数量", "不是有效的数值"),
    ]
    assert Order.objects.count() == 0

    report = run(write(tmp_path, _xlsx([header, *good]), "ok.xlsx"), admin, write=True)

    assert errors(report) == []
    order = Order.objects.get()
    assert (order.order_no, order.order_date, order.total_amount) == (
        "1001",
        datetime.date(2026, 3, 1),
        Decimal("39.60"),
    )


def test_existing_order_numbers_are_refused_and_deleted_ids_never_reused(
    tmp_path, admin, catalogue
):
    old = Order.objects.create(order_no="OLD", order_date=datetime.date(2026, 1, 1))
    gone = Order.objects.create(order_no="GONE", order_date=datetime.date(2026, 1, 1))
    gone_id = gone.pk
    gone.delete()
    path = write(tmp_path, HEADER + "OLD,2026-01-02,,C1,,,S1,1,1\nOLD,2026-01-02,,C1,,,S9,1,1\n")
    report = run(path, admin, write=True)
    assert errors(report) == [
        (2, "订单号", "订单号 OLD 已存在"),
        (3, "订单号", "订单号 OLD 已存在"),
    ]
    report = run(write(tmp_path, HEADER + "GONE,2026-01-02,,C1,,,S1,1,1\n"), admin, write=True)
    assert report.applied is True
    new = Order.objects.get(order_no="GONE")
    assert new.pk > gone_id > old.pk


def test_amounts_beyond_the_money_columns_are_refused(tmp_path, admin, catalogue):
    path = write(
        tmp_path,
        HEADER
        + "SO1,2026-01-02,,C1,,,S1,9999999999,9999999999999999\n"
        + "SO2,2026-01-02,,C1,,,S1,1,9999999999999999\n"
        + "SO2,2026-01-02,,C1,,,S1,1,9999999999999999\n",
    )
    report = run(path, admin, write=True)
    assert errors(report) == [(2, "单价", "数值过大"), (3, "订单号", "订单金额合计过大")]
    assert Order.objects.count() == 0


def test_apply_reports_progress_and_leaves_no_spill_files(tmp_path, admin, catalogue, monkeypatch):
    monkeypatch.setattr(orders_module, "CHUNK", 3)
    upload = tmp_path / "upload"
    upload.mkdir()
    body = "".join(f"SO{i},2026-01-02,,C1,,,S1,1,1\n" for i in range(7))
    path = write(upload, HEADER + body)
    seen: list[tuple[int, int]] = []
    report = run(path, admin, write=True, progress=lambda done, total: seen.append((done, total)))
    assert report.applied is True
    assert seen == [(3, 7), (6, 7), (7, 7)]
    assert sorted(p.name for p in upload.iterdir()) == ["orders.csv"]
    assert OrderLine.objects.count() == 7


def test_dry_run_writes_nothing(tmp_path, admin, catalogue):
    path = write(tmp_path, HEADER + "SO1,2026-01-02,,C1,,,S1,1,1\n")
    report = run(path, admin, write=False)
    assert (errors(report), report.created, report.applied) == ([], 1, False)
    assert Order.objects.count() == 0
    assert AuditLog.objects.filter(action="import").count() == 0


GOOD_LINE = st.tuples(
    st.sampled_from(["SO1", "SO2", "SO3"]),
    st.sampled_from(["S1", "S2"]),
    st.decimals(min_value=Decimal("0.01"), max_value=Decimal("999"), places=2),
    st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=2),
)
BAD_LINE = st.sampled_from(
    [
        "SO1,2026-01-02,,C1,,,S1,0,1",  # zero quantity
        "SO2,2026-01-02,,CX,,,S1,1,1",  # unknown customer
        "SO3,2026-01-02,,C1,,,SX,1,1",  # unknown product
        "SO6,2026-01-03,,C1,,,S1,1,1\nSO6,2026-01-02,,C1,,,S1,1,1",  # two dates, one order
        "SO4,2026-02-30,,C1,,,S1,1,1",  # no such day
        "SO5,2026-01-02,,C1,,,S1,1,abc",  # not a number
    ]
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.one_of(GOOD_LINE, BAD_LINE), min_size=1, max_size=12))
def test_random_mix_applies_everything_or_nothing(tmp_path, admin, catalogue, rows):
    OrderLine.objects.all().delete()
    Order.objects.all().delete()
    lines = []
    expected: dict[str, Decimal] = {}
    for row in rows:
        if isinstance(row, str):
            lines.append(row)
            continue
        no, sku, qty, price = row
        lines.append(f"{no},2026-01-02,,C1,,,{sku},{qty},{price}")
        expected[no] = expected.get(no, Decimal("0.00")) + line_amount(qty, price)
    report = run(write(tmp_path, HEADER + "\n".join(lines) + "\n"), admin, write=True)
    if any(isinstance(r, str) for r in rows):
        assert report.applied is False
        assert report.error_count >= 1
        assert Order.objects.count() == 0
        assert OrderLine.objects.count() == 0
    else:
        assert report.applied is True
        assert dict(Order.objects.values_list("order_no", "total_amount")) == expected
        for line in OrderLine.objects.all():
            assert line.amount == line_amount(line.quantity, line.unit_price)


def test_orders_job_dry_run_then_background_apply(
    tmp_path, admin, catalogue, settings, django_capture_on_commit_callbacks
):
    settings.VAR_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    body = (
        HEADER
        + "SO1,2026-01-02,,C1,,,S1,2,5\nSO1,2026-01-02,,C1,,,S2,1,1\nSO2,2026-01-02,,,M1,,S1,1,1\n"
    )
    path = save_upload(chunks=[body.encode()], original_name="orders.csv")
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(actor=admin, entity="orders", path=path, original_name="orders.csv")
    assert job.status == "checking"
    job.refresh_from_db()
    assert (job.status, job.rows_total, job.created_count, job.error_count) == (
        "validated",
        3,
        2,
        0,
    )
    assert job.report["counts"]["订单明细"]["created"] == 3

    with django_capture_on_commit_callbacks(execute=True):
        import_job_apply(actor=admin, job=job)

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count) == ("done", 3, 2)
    assert dict(Order.objects.values_list("order_no", "total_amount")) == {
        "SO1": Decimal("11.00"),
        "SO2": Decimal("1.00"),
    }
    summary = AuditLog.objects.get(action="import", object_type="sales.order")
    assert summary.note == f"entity=orders rows=3 created=2 updated=0 unchanged=0 job={job.pk}"
    assert import_job_progress(job)["percent"] == 100
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [path.name, path.name + ".errors.csv"]
    )


# ---------------------------------------------------------------------------
# the plain-CSV reader == the csv module, row for row
# ---------------------------------------------------------------------------

PLAIN_CELL = st.text(alphabet=st.sampled_from(list("ab1 ,\t\x1c\x00\u3000名-")), max_size=6)
PLAIN_LINE = st.lists(PLAIN_CELL, max_size=5).map(lambda cells: ",".join(cells))


def _frames(chunks: Any) -> tuple[pl.DataFrame, str]:
    got: list[pl.DataFrame] = []
    failure = ""
    try:
        for chunk in chunks:
            got.append(chunk.frame)
    except ImportFileError as exc:
        failure = f"{exc.row}: {exc.message}"
    return pl.concat(got) if got else pl.DataFrame(), failure


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(PLAIN_LINE, max_size=25),
    crlf=st.booleans(),
    final_newline=st.booleans(),
    size=st.integers(1, 7),
)
def test_plain_reader_equals_the_csv_module(tmp_path_factory, lines, crlf, final_newline, size):
    end = "\r\n" if crlf else "\n"
    text = end.join(["a,b,c,d", *lines]) + (end if final_newline else "")
    path = tmp_path_factory.mktemp("plain") / "f.csv"
    path.write_text(text, encoding="utf-8", newline="")
    source = open_source(path)
    assert source.plain is True
    positions = {"x": 0, "y": 2, "z": 4}
    limit = csv.field_size_limit(5)  # small, so that some cells are "too large"
    try:
        plain = _frames(frames._plain_chunks(source, positions, size))
        rows = _frames(frames._row_chunks(source, positions, size))
    finally:
        csv.field_size_limit(limit)
    assert plain[1] == rows[1]
    assert plain[0].equals(rows[0])


def test_quotes_or_lone_carriage_returns_make_a_file_not_plain(tmp_path):
    assert open_source(write(tmp_path, HEADER + "SO1,2026-01-02,,C1,,,S1,1,1\n")).plain is True
    assert open_source(write(tmp_path, HEADER + 'SO1,2026-01-02,,C1,,,S1,"1",1\n')).plain is False
    assert open_source(write(tmp_path, HEADER + "SO1,2026-01-02\r,,C1,,,S1,1,1\n")).plain is False
    assert open_source(write(tmp_path, HEADER + "SO1,2026-01-02,,C1,,,S1,1,1\r")).plain is False


def test_huge_cell_stops_the_import_at_its_row(tmp_path, admin, catalogue):
    big = "x" * 200_000
    path = write(tmp_path, HEADER + "SO1,2026-01-02,,C1,,,S1,1,1\n" + f"SO2,{big},,C1,,,S1,1,1\n")
    report = run(path, admin, write=True)
    assert [(e.row, e.column) for e in report.errors] == [(3, "")]
    assert report.errors[0].message.startswith("第 3 行无法读取：单元格过大或含有非法字符")
    assert Order.objects.count() == 0
