"""Hostile files never half-apply and never crash: encodings, huge cells, formulas,
empty files, missing columns, and random mixes of good and bad rows (hypothesis)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from salesops.core.imports.engine import run_import
from salesops.core.imports.schema import Report
from salesops.core.imports.services import importer_for
from salesops.core.models import AuditLog, RoleCode, User
from salesops.factories import DepartmentFactory, UserFactory, role
from salesops.org.models import Employee
from salesops.sales.models import Customer, Product

HEADER = "工号,姓名,部门编码\n"


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="admin", role=role(RoleCode.ADMIN))


def write(tmp_path: Path, data: bytes, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def run(entity: str, path: Path, actor: User | None = None, write: bool = True) -> Report:
    return run_import(importer=importer_for(entity), path=path, actor=actor, write=write)


def errors(report: Report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


def xlsx(rows: list[list[object]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_gb18030_csv_decodes(tmp_path, admin):
    DepartmentFactory(code="T1")
    path = write(tmp_path, (HEADER + "E1,张三,T1\n").encode("gb18030"))
    report = run("employees", path, admin)
    assert errors(report) == []
    assert Employee.objects.get().name == "张三"


def test_utf8_bom_csv_header_is_recognised(tmp_path, admin):
    DepartmentFactory(code="T1")
    path = write(tmp_path, (HEADER + "E1,张三,T1\n").encode("utf-8-sig"))
    report = run("employees", path, admin)
    assert errors(report) == []
    assert Employee.objects.count() == 1


def test_undecodable_bytes_error_cleanly(tmp_path, admin):
    path = write(tmp_path, b"\xff\xfe\x80\x81\xff" * 50)
    report = run("employees", path, admin)
    assert errors(report) == [
        (
            0,
            "",
            "无法识别文件编码，请将文件另存为 UTF-8、UTF-16（Unicode 文本）或 GB18030 编码的 CSV",
        )
    ]


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=300))
def test_random_bytes_never_crash_or_write(tmp_path, admin, data):
    report = run("customers", write(tmp_path, data), admin)
    assert report.applied is False
    assert report.error_count >= 1
    assert Customer.objects.count() == 0


def test_empty_file_and_header_only(tmp_path, admin):
    assert errors(run("employees", write(tmp_path, b""), admin)) == [(0, "", "文件为空")]
    report = run("employees", write(tmp_path, HEADER.encode()), admin)
    assert errors(report) == [(0, "", "文件中没有数据行")]


def test_missing_required_columns_reported_once_by_name(tmp_path, admin):
    path = write(tmp_path, ("工号,备注\n" + "E1,x\n" * 50).encode())
    report = run("employees", path, admin)
    assert errors(report) == [
        (1, "姓名", "缺少必需的列“姓名”"),
        (1, "部门编码", "缺少必需的列“部门编码”"),
    ]


def test_ten_megabyte_cell_is_refused_cleanly(tmp_path, admin):
    DepartmentFactory(code="T1")
    big = "x" * (10 * 1024 * 1024)
    path = write(tmp_path, (HEADER + f"E1,{big},T1\nE2,李四,T1\n").encode())
    report = run("employees", path, admin)
    assert report.applied is False
    assert report.error_count == 1
    assert report.errors[0].row == 2
    assert report.errors[0].message.startswith("第 2 行无法读取：单元格过大")
    assert Employee.objects.count() == 0


def test_long_cell_over_limit_is_a_row_error(tmp_path, admin):
    DepartmentFactory(code="T1")
    path = write(tmp_path, (HEADER + f"E1,{'名' * 2001},T1\n").encode())
    assert errors(run("employees", path, admin)) == [(2, "姓名", "内容过长（超过 2000 个字符）")]


def test_xlsx_formula_cells_are_refused_not_evaluated(tmp_path, admin):
    DepartmentFactory(code="T1")
    data = xlsx([["工号", "姓名", "部门编码"], ["=1+1", "张三", "T1"], ["E2", '=A2&"x"', "T1"]])
    report = run("employees", write(tmp_path, data, "f.xlsx"), admin)
    assert errors(report) == [
        (2, "工号", "不接受公式单元格，请复制后“粘贴为数值”再导入"),
        (3, "姓名", "不接受公式单元格，请复制后“粘贴为数值”再导入"),
    ]
    assert Employee.objects.count() == 0


def test_xlsx_typed_cells_import(tmp_path, admin):
    from decimal import Decimal

    from salesops.sales.models import PriceListItem

    data = xlsx([["sku", "name", "list_price"], [1001, "整数编码", 12.3]])
    report = run("products", write(tmp_path, data, "p.xlsx"), admin)
    assert errors(report) == []
    assert Product.objects.get().sku == "1001"
    assert PriceListItem.objects.get().list_price == Decimal("12.30")


def test_csv_leading_equals_in_id_refused(tmp_path, admin):
    DepartmentFactory(code="T1")
    path = write(tmp_path, (HEADER + '"=HYPERLINK(""x"")",张三,T1\n').encode())
    assert errors(run("employees", path, admin)) == [
        (2, "工号", "编号不能以 = + - @ 开头（疑似公式）")
    ]


GOOD = st.builds(lambda n: ("good", n), st.integers(min_value=0, max_value=10_000))
BAD = st.sampled_from(
    [
        ("bad", "E{n},,T1"),  # missing name
        ("bad", "E{n},名,NOPE"),  # unknown department
        ("bad", "=E{n},名,T1"),  # formula-looking id
        ("bad", "E{n},名\x00,T1"),  # NUL byte in a cell
        ("bad", "E{n},{long},T1"),  # too long
        ("bad", "DUP,名,T1"),  # duplicate ids (when it occurs twice)
    ]
)


@pytest.fixture
def team(db: None) -> object:
    return DepartmentFactory(code="T1")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(st.one_of(GOOD, BAD), min_size=1, max_size=25))
def test_hostile_mix_applies_everything_or_nothing(tmp_path, admin, team, rows):
    Employee.objects.all().delete()
    AuditLog.objects.filter(action="import").delete()
    lines: list[str] = []
    ids: list[str] = []
    other_bad = False
    for i, (kind, payload) in enumerate(rows):
        if kind == "good":
            lines.append(f"G{payload},名{i},T1")
            ids.append(f"G{payload}")
        elif payload.startswith("DUP"):
            lines.append(payload)
            ids.append("DUP")
        else:
            lines.append(payload.format(n=i, long="x" * 2100))
            other_bad = True
    data = (HEADER + "\n".join(lines) + "\n").encode()

    report = run("employees", write(tmp_path, data, "mix.csv"), admin)

    if not other_bad and len(ids) == len(set(ids)):
        assert report.applied is True
        assert sorted(Employee.objects.values_list("employee_no", flat=True)) == sorted(ids)
        assert AuditLog.objects.filter(action="import").count() == 1
    else:
        assert report.applied is False
        assert report.error_count >= 1
        assert Employee.objects.count() == 0
        assert AuditLog.objects.filter(action="import").count() == 0
