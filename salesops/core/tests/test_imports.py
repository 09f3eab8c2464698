"""Importers: each entity's happy path, and the bad rows each one refuses."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from salesops.core.imports.engine import run_import
from salesops.core.imports.schema import Report
from salesops.core.imports.services import importer_for
from salesops.core.models import AuditLog, RoleCode, User
from salesops.factories import (
    CustomerFactory,
    DepartmentFactory,
    EmployeeFactory,
    MemberFactory,
    ProductFactory,
    UserFactory,
    role,
)
from salesops.org.models import Department, Employee, Member, SponsorHistory
from salesops.sales.models import Customer, Order, OrderLine, PriceListItem, Product


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="admin", role=role(RoleCode.ADMIN))


def csv_file(tmp_path: Path, text: str, name: str = "in.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(entity: str, path: Path, actor: User | None, *, write: bool) -> Report:
    return run_import(importer=importer_for(entity), path=path, actor=actor, write=write)


def errors(report: Report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


def test_departments_import_creates_tree_with_parents_later_in_file(tmp_path, admin):
    path = csv_file(
        tmp_path,
        "部门编码,部门名称,类型,上级部门编码\nT9,华东一组,团队,R1\nR1,华东大区,大区,HQ\nHQ,总部,公司,\n",
    )
    dry = run("departments", path, admin, write=False)
    assert errors(dry) == []
    assert (dry.created, dry.updated, dry.rows_total) == (3, 0, 3)
    assert Department.objects.count() == 0

    report = run("departments", path, admin, write=True)

    assert report.applied is True
    t9 = Department.objects.get(code="T9")
    assert t9.parent.code == "R1"
    assert t9.parent.parent.code == "HQ"
    assert t9.depth == 2
    assert t9.kind == "team"
    summary = AuditLog.objects.get(action="import")
    assert summary.object_type == "org.department"
    assert summary.actor == admin
    assert "created=3" in summary.note


def test_departments_import_refuses_cycle_and_unknown_parent(tmp_path, admin):
    path = csv_file(
        tmp_path,
        "code,name,parent_code\nA,甲,B\nB,乙,A\nC,丙,NOPE\nD,丁,D\n",
    )
    report = run("departments", path, admin, write=True)
    assert errors(report) == [
        (4, "上级部门编码", "上级部门编码 NOPE 不存在"),
        (5, "上级部门编码", "上级部门不能是自己"),
        (2, "上级部门编码", "上级部门形成循环引用"),
        (3, "上级部门编码", "上级部门形成循环引用"),
    ]
    assert report.applied is False
    assert Department.objects.count() == 0
    assert AuditLog.objects.count() == 0


def test_employees_import_creates_and_updates(tmp_path, admin):
    team = DepartmentFactory(code="T1")
    DepartmentFactory(code="T2")
    EmployeeFactory(employee_no="E1", name="旧名", department=team)
    path = csv_file(
        tmp_path,
        "工号,姓名,手机号,部门编码,上级工号\nE2,李四,13800000002,T2,E3\nE3,王五,,T2,E1\nE1,张三,,T1,\n",
    )
    report = run("employees", path, admin, write=True)
    assert errors(report) == []
    assert (report.created, report.updated) == (2, 1)
    e1, e3, e2 = (Employee.objects.get(employee_no=n) for n in ("E1", "E3", "E2"))
    assert e1.name == "张三"
    assert e2.manager == e3 and e3.manager == e1
    assert e2.manager_path == e1.manager_path + e3.manager_path[-7:] + e2.manager_path[-7:]
    assert e2.phone == "13800000002"


def test_employees_import_reports_bad_rows(tmp_path, admin):
    DepartmentFactory(code="T1")
    path = csv_file(
        tmp_path,
        "工号,姓名,手机号,部门编码,上级工号\n"
        "E1,张三,abc,T1,\n"
        "E2,,,T1,\n"
        "E1,重复,,T1,\n"
        "=cmd,公式,,T1,\n"
        "E5,某,,XX,E9\n",
    )
    report = run("employees", path, admin, write=True)
    assert errors(report) == [
        (2, "手机号", "手机号格式不正确"),
        (3, "姓名", "必填项不能为空"),
        (4, "工号", "E1 在文件中重复（第 2 行）"),
        (5, "工号", "编号不能以 = + - @ 开头（疑似公式）"),
        (6, "部门编码", "部门编码 XX 不存在"),
        (6, "上级工号", "上级工号 E9 不存在"),
    ]
    assert Employee.objects.count() == 0


def test_members_import_sponsor_later_in_file(tmp_path, admin):
    root = MemberFactory(member_no="M1")
    path = csv_file(
        tmp_path,
        "会员编号,姓名,推荐人编号,加入日期,状态,职级\n"
        "M3,丙,M2,2026/02/01,正常,SR\n"
        "M2,乙,M1,2026年1月5日,active,\n",
    )
    report = run("members", path, admin, write=True)
    assert errors(report) == []
    assert report.created == 2
    m2, m3 = Member.objects.get(member_no="M2"), Member.objects.get(member_no="M3")
    assert m3.sponsor == m2 and m2.sponsor == root
    assert m3.depth == 2
    assert m3.path.startswith(m2.path) and m2.path.startswith(root.path)
    assert m3.joined_on == datetime.date(2026, 2, 1)
    assert m2.joined_on == datetime.date(2026, 1, 5)
    assert m3.title == "SR"
    assert SponsorHistory.objects.filter(member=m3, sponsor=m2).count() == 1


def test_members_import_refuses_cycles_self_sponsor_and_existing(tmp_path, admin):
    MemberFactory(member_no="M1")
    path = csv_file(
        tmp_path,
        "member_no,name,sponsor_no,joined_on\n"
        "A,甲,B,2026-01-01\n"
        "B,乙,C,2026-01-01\n"
        "C,丙,A,2026-01-01\n"
        "D,丁,D,2026-01-01\n"
        "M1,重复,,2026-01-01\n"
        "E,戊,,2026-02-30\n",
    )
    report = run("members", path, admin, write=True)
    assert errors(report) == [
        (7, "加入日期", "日期不存在：2026-02-30"),
        (5, "推荐人编号", "推荐人不能是本人"),
        (6, "会员编号", "会员编号 M1 已存在"),
        (2, "推荐人编号", "推荐关系形成循环"),
        (3, "推荐人编号", "推荐关系形成循环"),
        (4, "推荐人编号", "推荐关系形成循环"),
    ]
    assert Member.objects.count() == 1


def test_customers_import_creates_updates_and_audits_changes(tmp_path, admin):
    team = DepartmentFactory(code="T1")
    owner = EmployeeFactory(employee_no="E1", department=team)
    CustomerFactory(code="C1", name="旧客户", phone="13700000000", owner=owner)
    path = csv_file(
        tmp_path,
        "客户编号,客户名称,手机号,负责人工号,客户来源,地址\n"
        "C1,新名字,13700000001,E1,展会,上海\n"
        "C2,客户二,,E1,,\n",
    )
    report = run("customers", path, admin, write=True)
    assert errors(report) == []
    assert (report.created, report.updated) == (1, 1)
    c1 = Customer.objects.get(code="C1")
    assert (c1.name, c1.phone, c1.source) == ("新名字", "13700000001", "展会")
    assert Customer.objects.get(code="C2").department == team
    phone_audit = AuditLog.objects.get(object_type="sales.customer", field="phone")
    assert (phone_audit.before, phone_audit.after) == ("13700000000", "13700000001")


def test_products_import_prices_to_current_price_list(tmp_path, admin):
    ProductFactory(sku="S1", name="旧")
    path = csv_file(
        tmp_path,
        "商品编码,商品名称,单位,零售价,会员价,优惠顾客价\nS1,新,盒,100,80.5,90\nS2,二,,12.30,,\n",
    )
    report = run("products", path, admin, write=True)
    assert errors(report) == []
    assert (report.created, report.updated) == (1, 1)
    assert Product.objects.get(sku="S1").name == "新"
    item = PriceListItem.objects.get(product__sku="S1")
    assert (item.list_price, item.member_price, item.pc_price) == (
        Decimal("100.00"),
        Decimal("80.50"),
        Decimal("90.00"),
    )
    s2 = PriceListItem.objects.get(product__sku="S2")
    assert (s2.list_price, s2.member_price) == (Decimal("12.30"), Decimal("12.30"))


def test_products_import_refuses_bad_amounts(tmp_path, admin):
    path = csv_file(
        tmp_path,
        "sku,name,list_price\nS1,a,1.234\nS2,b,NaN\nS3,c,-1\nS4,d,abc\nS5,e,Infinity\n",
    )
    report = run("products", path, admin, write=True)
    assert errors(report) == [
        (2, "零售价", "最多 2 位小数"),
        (3, "零售价", "不是有效的数值"),
        (4, "零售价", "不能为负数"),
        (5, "零售价", "不是有效的数值：abc"),
        (6, "零售价", "不是有效的数值"),
    ]
    assert Product.objects.count() == 0


@pytest.fixture
def catalogue(db: None) -> dict[str, object]:
    team = DepartmentFactory(code="T1")
    rep = EmployeeFactory(employee_no="E1", department=team)
    return {
        "team": team,
        "rep": rep,
        "customer": CustomerFactory(code="C1", owner=rep),
        "member": MemberFactory(member_no="M1"),
        "p1": ProductFactory(sku="S1"),
        "p2": ProductFactory(sku="S2"),
    }


ORDER_HEADER = "订单号,下单日期,订单类型,客户编号,购买会员编号,业绩归属工号,商品编码,数量,单价\n"


def test_orders_import_groups_lines_and_computes_totals(tmp_path, admin, catalogue):
    path = csv_file(
        tmp_path,
        ORDER_HEADER
        + "SO1,2026-01-02,普通订单,C1,,,S1,3,33.33\n"
        + "SO2,2026-01-03,aro,,M1,,S2,1,10\n"
        + "SO1,2026-01-02,普通订单,C1,,,S2,0.5,0.05\n",
    )
    report = run("orders", path, admin, write=True)
    assert errors(report) == []
    assert report.counts == {
        "订单": {"created": 2, "updated": 0, "unchanged": 0},
        "订单明细": {"created": 3, "updated": 0, "unchanged": 0},
    }
    so1 = Order.objects.get(order_no="SO1")
    assert so1.total_amount == Decimal("99.99") + Decimal("0.03")
    assert so1.credited_employee == catalogue["rep"]
    assert so1.department == catalogue["team"]
    assert so1.created_by == admin
    assert [line.amount for line in so1.lines.order_by("id")] == [Decimal("99.99"), Decimal("0.03")]
    so2 = Order.objects.get(order_no="SO2")
    assert (so2.kind, so2.member, so2.credited_member) == (
        "aro",
        catalogue["member"],
        catalogue["member"],
    )
    assert so2.total_amount == Decimal("10.00")


def test_orders_import_refuses_bad_rows(tmp_path, admin, catalogue):
    Order.objects.create(order_no="OLD", order_date=datetime.date(2026, 1, 1))
    path = csv_file(
        tmp_path,
        ORDER_HEADER
        + "SO1,2026-01-02,,C1,,,S1,1,1\n"
        + "SO1,2026-01-09,,C1,,,S1,1,1\n"
        + "OLD,2026-01-02,,C1,,,S1,1,1\n"
        + "SO3,2026-01-02,,CX,,,SX,0,1\n"
        + "SO4,2026-01-02,,,,,S1,1,1\n"
        + "SO5,2026-13-02,,C1,,E404,S1,1,1e3\n",
    )
    report = run("orders", path, admin, write=True)
    assert errors(report) == [
        (5, "数量", "必须大于 0"),
        (7, "下单日期", "日期不存在：2026-13-02"),
        (3, "下单日期", "与同一订单号第 2 行的订单信息不一致"),
        (4, "订单号", "订单号 OLD 已存在"),
        (5, "客户编号", "客户编号 CX 不存在"),
        (5, "商品编码", "商品编码 SX 不存在"),
        (6, "客户编号", "请填写客户编号或购买会员编号"),
    ]
    assert Order.objects.count() == 1
    assert OrderLine.objects.count() == 0
