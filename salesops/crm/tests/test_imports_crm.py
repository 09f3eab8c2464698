"""Import templates of the CRM road — leads, contacts, opportunities, contracts, receipts.

Each row goes through the module's service, so the rules of the forms hold for a file
too: 查重 (also between two rows of one file), the importing user's data scope, only
signed contracts take receipts, receipts never add up past their contract. A dry run
reports exactly what an apply would refuse and writes nothing; an apply with any error
writes nothing either."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.test import override_settings

from salesops.core.imports.engine import run_import
from salesops.core.imports.schema import Report
from salesops.core.imports.services import import_template, importer_for
from salesops.core.models import ApprovalRequest, AuditLog, RoleCode, User
from salesops.crm.models import AssignmentMode, Contact, Lead, Opportunity
from salesops.crm.services.assignment import (
    MemberLine,
    assignment_rule_save,
    leads_assign_by_rules,
)
from salesops.crm.services.pool import customer_release
from salesops.factories import CustomerFactory, UserFactory, role
from salesops.sales.models import Contract, ContractStatus, Customer, Receipt, ReceiptStatus
from salesops.sales.services.contracts import ContractInput, contract_create
from salesops.sales.tests.test_deals import _approve, _contract, _signed

TODAY = datetime.date.today


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="root", role=role(RoleCode.ADMIN))


@pytest.fixture
def importing_manager(stock):  # type: ignore[no-untyped-def]
    """bob, the manager of 华东一组, given the import right: his scope is his team."""
    stock.manager_user.role.can_import = True
    stock.manager_user.role.save()
    return stock.manager_user


def run(entity: str, tmp_path: Path, text: str, actor: User, *, write: bool) -> Report:
    path = tmp_path / f"{entity}.csv"
    path.write_text(text, encoding="utf-8")
    return run_import(importer=importer_for(entity), path=path, actor=actor, write=write)


def errors(report: Report) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


# --- leads ------------------------------------------------------------------


def test_leads_dry_run_writes_nothing_then_apply_creates_each_audited(tmp_path, stock, admin):
    text = (
        "公司名称,联系人,电话,邮箱,线索来源,地区,负责人工号\n"
        f"杭州云帆科技有限公司,王经理,138-0013-8000,w@yunfan.cn,展会,华东,{stock.rep.employee_no}\n"
        "宁波海川贸易有限公司,李总,,,,,\n"
    )
    audits = AuditLog.objects.count()
    dry = run("leads", tmp_path, text, admin, write=False)
    assert errors(dry) == []
    assert (dry.rows_total, dry.created, dry.applied) == (2, 2, False)
    assert Lead.objects.count() == 0
    assert AuditLog.objects.count() == audits

    report = run("leads", tmp_path, text, admin, write=True)

    assert (report.ok, report.applied, report.created) == (True, True, 2)
    yunfan = Lead.objects.get(company="杭州云帆科技有限公司")
    assert (yunfan.owner, yunfan.department, yunfan.phone_key) == (
        stock.rep,
        stock.team,
        "13800138000",
    )
    # a blank 负责人工号 leaves the lead to the assignment rules (not to the admin)
    assert Lead.objects.get(company="宁波海川贸易有限公司").owner is None
    created = AuditLog.objects.filter(object_type="crm.lead", action="create")
    assert {a.object_id for a in created} == {
        str(pk) for pk in Lead.objects.values_list("pk", flat=True)
    }
    assert AuditLog.objects.filter(action="import", object_type="crm.lead").count() == 1


def test_a_lead_row_matching_a_customer_or_an_earlier_row_is_refused_and_nothing_lands(
    tmp_path, stock, admin
):
    CustomerFactory(
        name="上海晨光文具股份有限公司", owner=stock.outsider, department=stock.other_team
    )
    text = (
        "公司名称,电话\n"
        "上海晨光文具有限公司,\n"  # the customer, under another suffix
        "苏州新峰电子有限公司,13911112222\n"
        "远航物流,+86 139 1111 2222\n"  # the row before, by phone
    )
    for write in (False, True):
        report = run("leads", tmp_path, text, admin, write=write)
        found = errors(report)
        assert [(row, column) for row, column, _m in found] == [(2, "公司名称"), (4, "电话")]
        assert "查理" in found[0][2] and "“重复仍导入”列填“是”" in found[0][2]
        assert report.applied is False
    assert Lead.objects.count() == 0


def test_a_duplicate_lead_row_is_imported_when_confirmed_and_the_override_audited(
    tmp_path, stock, admin
):
    CustomerFactory(name="上海晨光文具股份有限公司", owner=stock.rep, department=stock.team)
    text = "公司名称,重复仍导入\n上海晨光文具有限公司,是\n"
    report = run("leads", tmp_path, text, admin, write=True)
    assert (report.ok, report.created) == (True, 1)
    lead = Lead.objects.get()
    note = AuditLog.objects.get(
        object_type="crm.lead", object_id=str(lead.pk), note__contains="重复"
    )
    assert "确认重复后仍创建" in note.note


def test_lead_import_refuses_bad_cells_and_unknown_owner_naming_the_column(tmp_path, admin, stock):
    text = "公司名称,电话,邮箱,负责人工号,重复仍导入\n甲公司,abc,not-mail,NOPE,也许\n"
    report = run("leads", tmp_path, text, admin, write=False)
    assert sorted(errors(report)) == [
        (2, "重复仍导入", "请填写“是”或“否”"),
    ]
    text = "公司名称,电话,邮箱,负责人工号\n甲公司,abc,not-mail,NOPE\n乙公司,abc,not-mail,\n"
    report = run("leads", tmp_path, text, admin, write=False)
    assert errors(report) == [
        (2, "负责人工号", "负责人工号 NOPE 不存在或无权访问"),
        (3, "电话", "手机号格式不正确"),
        (3, "邮箱", "邮箱格式不正确"),
    ]


def test_unassigned_leads_of_a_department_wait_for_its_assignment_rule(tmp_path, stock, admin):
    rule = assignment_rule_save(
        actor=admin,
        department=stock.team,
        mode=AssignmentMode.ROUND_ROBIN,
        members=[MemberLine(stock.rep.employee_no, 5, "")],
    )
    assert rule.pk
    text = "公司名称,所属部门编码\n甲乙丙丁有限公司,T1\n戊己庚辛有限公司,NOPE\n"
    report = run("leads", tmp_path, text, admin, write=True)
    assert errors(report) == [(3, "所属部门编码", "部门编码 NOPE 不存在或无权访问")]
    report = run("leads", tmp_path, text.split("\n戊")[0] + "\n", admin, write=True)
    assert report.ok
    lead = Lead.objects.get()
    assert (lead.owner, lead.department) == (None, stock.team)
    done = leads_assign_by_rules(actor=admin, leads=[lead], fallback_department_id=None)
    lead.refresh_from_db()
    assert (done.assigned, lead.owner) == (1, stock.rep)


# --- contacts ---------------------------------------------------------------


def test_contacts_import_on_customers_in_the_importers_scope_only(
    tmp_path, stock, importing_manager
):
    mine = CustomerFactory(code="C-MINE", owner=stock.rep, department=stock.team)
    CustomerFactory(code="C-THEIRS", owner=stock.outsider, department=stock.other_team)
    text = (
        "客户编号,姓名,电话,职务,关键决策人\n"
        "C-MINE,王芳,13900139000,采购经理,是\n"
        "C-THEIRS,赵六,13700137000,,否\n"
    )
    report = run("contacts", tmp_path, text, importing_manager, write=True)
    assert errors(report) == [(3, "客户编号", "客户编号 C-THEIRS 不存在或无权访问")]
    assert Contact.objects.count() == 0

    report = run("contacts", tmp_path, text.rsplit("C-THEIRS", 1)[0], importing_manager, write=True)
    assert (report.ok, report.created) == (True, 1)
    contact = Contact.objects.get()
    assert (contact.customer, contact.name, contact.decision_maker) == (mine, "王芳", True)
    assert AuditLog.objects.filter(
        object_type="crm.contact",
        object_id=str(contact.pk),
        action="create",
        actor=importing_manager,
    ).exists()


def test_a_contact_row_whose_phone_is_known_elsewhere_needs_the_confirmation(
    tmp_path, stock, admin
):
    CustomerFactory(code="C1", owner=stock.rep, department=stock.team)
    other = CustomerFactory(code="C2", owner=stock.outsider, department=stock.other_team)
    Contact.objects.create(customer=other, name="赵六", phone="13700137000")
    text = "客户编号,姓名,电话,重复仍导入\nC1,赵六,137-0013-7000,\n"
    report = run("contacts", tmp_path, text, admin, write=True)
    assert [(r, c) for r, c, _m in errors(report)] == [(2, "电话")]
    assert "“重复仍导入”列填“是”" in errors(report)[0][2]
    report = run("contacts", tmp_path, text.replace("7000,\n", "7000,是\n"), admin, write=True)
    assert (report.ok, report.created) == (True, 1)
    assert Contact.objects.filter(customer__code="C1", name="赵六").exists()


# --- opportunities ----------------------------------------------------------


def test_opportunities_import_at_a_named_stage_and_refuses_unknown_stage_and_pool(
    tmp_path, stock, admin
):
    CustomerFactory(code="C1", owner=stock.rep, department=stock.team)
    pooled = CustomerFactory(code="C2", owner=stock.rep, department=stock.team)
    customer_release(actor=stock.rep_user, customer=pooled, reason="不再跟进")
    text = (
        "客户编号,商机名称,预计金额,预计成交日期,阶段\n"
        "C1,年度采购,120000,2026-12-31,商务谈判\n"
        "C1,二期项目,50000,2026-12-31,飞行中\n"
        "C2,公海客户的商机,1000,2026-12-31,\n"
        "C1,金额不对,-5,2026-12-31,\n"
    )
    report = run("opportunities", tmp_path, text, admin, write=False)
    found = errors(report)
    assert [(row, column) for row, column, _m in found] == [
        (5, "预计金额"),
        (3, "阶段"),
        (4, ""),
    ]
    assert "需求分析" in found[1][2]  # the choices are named
    assert "公海" in found[2][2]
    assert Opportunity.objects.count() == 0

    report = run("opportunities", tmp_path, text.split("\nC1,二期")[0] + "\n", admin, write=True)
    assert (report.ok, report.created) == (True, 1)
    opp = Opportunity.objects.get()
    assert (opp.stage.name, opp.owner, opp.amount) == ("商务谈判", stock.rep, Decimal("120000.00"))
    assert opp.changes.count() == 2  # created, then moved: both recorded


# --- contracts --------------------------------------------------------------


def test_contracts_import_as_drafts_and_submitted_when_asked(tmp_path, stock, admin):
    CustomerFactory(code="C1", owner=stock.rep, department=stock.team)
    text = (
        "客户编号,合同名称,合同金额,开始日期,结束日期,我方签约人工号,提交审批\n"
        f"C1,年度供货合同,86000,2026-01-01,2026-12-31,{stock.rep.employee_no},是\n"
        "C1,服务合同,12000,2026-01-01,2026-06-30,,否\n"
        "C1,日期反了,12000,2026-06-30,2026-01-01,,\n"
    )
    report = run("contracts", tmp_path, text, admin, write=True)
    assert errors(report) == [(4, "结束日期", "结束日期不能早于开始日期")]
    assert Contract.objects.count() == 0

    report = run(
        "contracts", tmp_path, text.rsplit("\nC1,日期反了", 1)[0] + "\n", admin, write=True
    )
    assert (report.ok, report.created) == (True, 2)
    supply = Contract.objects.get(name="年度供货合同")
    assert (supply.status, supply.our_signatory, supply.owner) == (
        ContractStatus.PENDING,
        stock.rep,
        stock.rep,
    )
    assert ApprovalRequest.objects.filter(object_id=supply.pk, doc_type="sales.contract").exists()
    assert Contract.objects.get(name="服务合同").status == ContractStatus.DRAFT


# --- receipts ---------------------------------------------------------------


def test_receipts_import_holds_the_contract_total_across_rows_and_waits_for_finance(
    tmp_path, stock, admin
):
    finance = UserFactory(username="fiona", role=role(RoleCode.FINANCE))
    customer = CustomerFactory(owner=stock.rep, department=stock.team)
    signed = _signed(stock, customer, "10000")
    draft = _contract(stock, customer, "5000")
    no = signed.contract_no
    text = (
        "合同编号,回款金额,回款日期,回款方式,期数\n"
        f"{no},6000,2026-03-01,银行转账,\n"
        f"{no},5000,2026-03-02,微信,\n"  # 11,000 on a 10,000 contract
        f"{draft.contract_no},100,2026-03-02,现金,\n"
        f"{no},100,2026-03-02,汇票,\n"
        f"{no},100,2026-03-02,现金,3\n"
    )
    report = run("receipts", tmp_path, text, admin, write=False)
    found = errors(report)
    assert [(row, column) for row, column, _m in found] == [
        (5, "回款方式"),
        (3, "回款金额"),
        (4, ""),
        (6, "期数"),
    ]
    assert "¥4,000.00" in found[1][2]  # what remains after the first row
    assert "草稿" in found[2][2]
    assert Receipt.objects.count() == 0
    assert run("receipts", tmp_path, text, admin, write=True).applied is False
    assert Receipt.objects.count() == 0

    ok = (
        "合同编号,回款金额,回款日期,回款方式,超额回款,备注\n"
        f"{no},6000,2026-03-01,银行转账,,\n"
        f"{no},5000,2026-03-02,wechat,是,客户多付，下期冲抵\n"
    )
    report = run("receipts", tmp_path, ok, admin, write=True)
    assert (report.ok, report.created) == (True, 2)
    receipts = list(Receipt.objects.order_by("received_on"))
    assert [(r.amount, r.status, r.owner_id, r.overpayment) for r in receipts] == [
        (Decimal("6000.00"), ReceiptStatus.PENDING, stock.rep.pk, False),
        (Decimal("5000.00"), ReceiptStatus.PENDING, stock.rep.pk, True),
    ]
    request = ApprovalRequest.objects.get(doc_type="sales.receipt", object_id=receipts[0].pk)
    _approve(request, finance)
    receipts[0].refresh_from_db()
    assert receipts[0].status == ReceiptStatus.APPROVED


def test_a_managers_receipts_import_cannot_reach_another_teams_contract(
    tmp_path, stock, importing_manager
):
    customer = CustomerFactory(owner=stock.outsider, department=stock.other_team)
    theirs = contract_create(
        actor=stock.outsider_user,
        customer=customer,
        data=ContractInput(
            name="华南合同", start_on=TODAY(), end_on=TODAY(), amount=Decimal("5000")
        ),
    )
    no = theirs.contract_no
    text = f"合同编号,回款金额,回款日期,回款方式\n{no},100,2026-03-02,现金\n"
    report = run("receipts", tmp_path, text, importing_manager, write=False)
    assert errors(report) == [(2, "合同编号", f"合同编号 {no} 不存在或无权访问")]


# --- every template, and the row cap ----------------------------------------


@pytest.mark.parametrize("entity", ["leads", "contacts", "opportunities", "contracts", "receipts"])
def test_each_template_imports_its_own_header(entity, db):
    sheet = openpyxl.load_workbook(io.BytesIO(import_template(entity=entity))).active
    rows = [[c.value or "" for c in row] for row in sheet.iter_rows()]
    header = rows[0]
    importer = importer_for(entity)
    required = [str(c.label) + "*" for c in importer.columns if c.required]
    assert set(required) <= set(header)
    assert len(header) == len(importer.columns) == len(rows[1])


@override_settings(SALESOPS_IMPORT_SERVICE_MAX_ROWS=2)
def test_a_file_over_the_row_cap_stops_with_a_clear_message(tmp_path, admin):
    text = "公司名称\n甲公司\n乙公司\n丙公司\n"
    report = run("leads", tmp_path, text, admin, write=False)
    assert report.aborted is True
    assert "最多导入 2 行" in errors(report)[0][2]
    assert Lead.objects.count() == 0


# --- customers: the same 查重, a column at a time ----------------------------


def test_new_customers_in_a_file_go_through_the_one_dedupe(tmp_path, stock, admin):
    CustomerFactory(
        code="OLD",
        name="上海晨光文具股份有限公司",
        owner=stock.outsider,
        department=stock.other_team,
    )
    lead = Lead.objects.create(
        company="远航物流", phone="13911112222", owner=stock.rep, department=stock.team
    )
    no = stock.rep.employee_no
    text = (
        "客户编号,客户名称,手机号,负责人工号,重复仍导入\n"
        f"OLD,上海晨光文具股份有限公司,,{no},\n"  # an update of itself: no 查重
        f"N1,上海晨光文具有限公司,,{no},\n"  # the customer OLD, another suffix
        f"N2,东方海运有限公司,+86 139-1111-2222,{no},\n"  # the lead, by phone
        f"N3,苏州新峰电子有限公司,,{no},\n"
        f"N4,新峰电子（集团）有限公司,,{no},\n"  # the row above
        f"N5,杭州云帆科技有限公司,,{no},\n"
    )
    report = run("customers", tmp_path, text, admin, write=False)
    assert errors(report) == [
        (
            3,
            "客户名称",
            "疑似重复：已存在：由 查理（华南一组）负责。如确需导入，请在“重复仍导入”列填“是”。",
        ),
        (
            4,
            "手机号",
            "疑似重复：已存在：由 爱丽丝（华东一组）负责。如确需导入，请在“重复仍导入”列填“是”。",
        ),
        (6, "客户名称", "疑似重复：与第 5 行重复。如确需导入，请在“重复仍导入”列填“是”。"),
    ]
    assert lead.company == "远航物流"

    lines = text.splitlines()
    for row in (3, 4, 6):  # N1, N2, N4: confirmed
        lines[row - 1] += "是"
    confirmed = "\n".join(lines) + "\n"
    report = run("customers", tmp_path, confirmed, admin, write=True)
    assert (report.ok, report.created, report.applied) == (True, 5, True)
    n2 = Customer.objects.get(code="N2")
    note = AuditLog.objects.get(
        object_type="sales.customer", object_id=str(n2.pk), note__contains="重复"
    )
    assert "爱丽丝" in note.note
    assert not AuditLog.objects.filter(
        object_type="sales.customer",
        object_id=str(Customer.objects.get(code="N5").pk),
        note__contains="重复",
    ).exists()
