"""The world of the permission matrix and the browser flows: every stock role in a small
company, with customers, members, orders, returns, a sponsor-change request each side of
the org and their approvals.

    HQ 示例公司 (company)            finance
    ├── RA 华东大区 (region)          director
    │   ├── TA1 华东一组 (team)       manager ← rep, rep2 ; marketing
    │   └── TA2 华东二组 (team)       rep3 (no login, reports to director)
    └── RB 华南大区 (region)
        └── TB1 华南一组 (team)       mgr_b ← outsider

    members: m_root(rep) ── m_me(rep, logs in as "member") ── m_down(rep2) ── m_down2(-)
             m_root ── m_side(outsider);   m_far(outsider) and m_orphan(-) are roots

``SPEC`` below is the plain description the test's oracle reasons over; ``build_world``
creates it through the services (factories) and returns the created objects by key.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from salesops.core.approvals.services import StepSpec, approval_flow_create
from salesops.core.attachments import attachment_add
from salesops.core.models import (
    ApprovalRequest,
    Attachment,
    ImportJob,
    ImportJobStatus,
    Notification,
    RoleCode,
    User,
)
from salesops.core.notifications import notify
from salesops.crm.models import (
    Activity,
    ActivityKind,
    Complaint,
    Contact,
    Feedback,
    Lead,
    Opportunity,
    Pool,
    ReturnVisit,
    VisitRule,
)
from salesops.crm.services.leads import LeadInput, lead_create
from salesops.crm.services.stages import ensure_default_stage_group
from salesops.factories import (
    DepartmentFactory,
    EmployeeFactory,
    MemberFactory,
    ProductFactory,
    UserFactory,
    role,
)
from salesops.org.models import Department, DepartmentKind, Employee, Member, SponsorChangeRequest
from salesops.org.services.sponsor_changes import DOC_TYPE, sponsor_change_request_submit
from salesops.sales.models import (
    Contract,
    ContractStatus,
    Customer,
    Order,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    Receipt,
    ReceiptMethod,
    ReceivablePlan,
    Return,
)
from salesops.sales.services.customers import customer_create
from salesops.sales.services.orders import order_create
from salesops.sales.services.returns import return_create

PASSWORD = "pw-for-tests"
DAY = datetime.date(2026, 10, 5)
JOINED = datetime.date(2026, 1, 1)

# key: (code, name, kind, parent)
DEPARTMENTS: dict[str, tuple[str, str, str, str | None]] = {
    "HQ": ("MXD-HQ", "矩阵公司", DepartmentKind.COMPANY, None),
    "RA": ("MXD-RA", "华东大区", DepartmentKind.REGION, "HQ"),
    "RB": ("MXD-RB", "华南大区", DepartmentKind.REGION, "HQ"),
    "TA1": ("MXD-TA1", "华东一组", DepartmentKind.TEAM, "RA"),
    "TA2": ("MXD-TA2", "华东二组", DepartmentKind.TEAM, "RA"),
    "TB1": ("MXD-TB1", "华南一组", DepartmentKind.TEAM, "RB"),
}

# key: (employee_no, name, department, manager, login role or None); managers first.
EMPLOYEES: dict[str, tuple[str, str, str, str | None, str | None]] = {
    "director": ("MXE-DIR", "杜总监", "RA", None, RoleCode.DIRECTOR),
    "manager": ("MXE-MGR", "马经理", "TA1", "director", RoleCode.MANAGER),
    "rep": ("MXE-REP1", "任代表", "TA1", "manager", RoleCode.REP),
    "rep2": ("MXE-REP2", "冉代表", "TA1", "manager", RoleCode.REP),
    "rep3": ("MXE-REP3", "饶代表", "TA2", "director", None),
    "marketing": ("MXE-MKT", "梅市场", "TA1", None, RoleCode.MARKETING),
    "finance": ("MXE-FIN", "范财务", "HQ", None, RoleCode.FINANCE),
    "mgr_b": ("MXE-BMGR", "包经理", "TB1", None, RoleCode.MANAGER),
    "outsider": ("MXE-OUT", "欧代表", "TB1", "mgr_b", RoleCode.REP),
}

# Users without an employee record.
OTHER_USERS: dict[str, str] = {"admin": RoleCode.ADMIN, "member": RoleCode.MEMBER}

# key: (code, name, owner, phone, id_number). Phones differ in their last four digits so
# that masked values (138****1001) identify a customer too.
CUSTOMERS: dict[str, tuple[str, str, str, str, str]] = {
    "c_dir": ("MXC-DIR", "甲客户", "director", "13800001001", ""),
    "c_mgr": ("MXC-MGR", "乙客户", "manager", "13800001002", ""),
    "c_rep": ("MXC-REP1", "丙客户", "rep", "13800001003", "110101199001011234"),
    "c_rep2": ("MXC-REP2", "丁客户", "rep2", "13800001004", ""),
    "c_rep3": ("MXC-REP3", "戊客户", "rep3", "13800001005", ""),
    "c_mkt": ("MXC-MKT", "己客户", "marketing", "13800001006", ""),
    "c_out": ("MXC-OUT", "庚客户", "outsider", "13800001007", ""),
    "c_mgrb": ("MXC-BMGR", "辛客户", "mgr_b", "13800001008", ""),
}


# Each customer has one contact (联系人) and one follow-up (跟进记录): their markers.
def contact_name(c: str) -> str:
    return f"矩阵联系人{c}号"


def contact_phone(c: str) -> str:
    return f"1360000{list(CUSTOMERS).index(c) + 1:04d}"


def followup_text(c: str) -> str:
    return f"MXF-{CUSTOMERS[c][0]}-跟进"


def opportunity_code(c: str) -> str:
    return f"MXS-{CUSTOMERS[c][0]}"


# And one quote, one signed contract with one instalment, and one receipt: their numbers.
def quote_no(c: str) -> str:
    return f"MXQ-{CUSTOMERS[c][0]}"


def contract_no(c: str) -> str:
    return f"MXH-{CUSTOMERS[c][0]}"


def receipt_no(c: str) -> str:
    return f"MXK-{CUSTOMERS[c][0]}"


# Each contract and each follow-up has one attachment (附件), named so (``add_attachments``).
def attachment_name(c: str, parent: str) -> str:
    return f"MXA-{CUSTOMERS[c][0]}-{parent}.pdf"


ATTACHMENT_PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


# After-sales: one logged return visit, one complaint and one feedback per customer.
def visit_text(c: str) -> str:
    return f"MXV-{CUSTOMERS[c][0]}-回访"


def complaint_code(c: str) -> str:
    return f"MXT-{CUSTOMERS[c][0]}"


def feedback_text(c: str) -> str:
    return f"MXB-{CUSTOMERS[c][0]}-反馈"


# key: (member_no, name, sponsor, owner employee, phone)
# Leads (线索): company, owner, and for an unassigned lead its department.
LEADS: dict[str, tuple[str, str | None, str | None]] = {
    "l_rep": ("矩阵线索丙贸易公司", "rep", None),
    "l_mgr": ("矩阵线索乙贸易公司", "manager", None),
    "l_rep3": ("矩阵线索戊贸易公司", "rep3", None),
    "l_out": ("矩阵线索庚贸易公司", "outsider", None),
    "l_free": ("矩阵线索待分配公司", None, "TA2"),
    "l_free1": ("矩阵线索一组待分配公司", None, "TA1"),
}

MEMBERS: dict[str, tuple[str, str, str | None, str | None, str]] = {
    "m_root": ("MXM-ROOT", "根会员", None, "rep", "13900002001"),
    "m_me": ("MXM-ME", "我会员", "m_root", "rep", "13900002002"),
    "m_down": ("MXM-DOWN", "下会员", "m_me", "rep2", "13900002003"),
    "m_down2": ("MXM-DEEP", "再下会员", "m_down", None, "13900002004"),
    "m_side": ("MXM-SIDE", "旁会员", "m_root", "outsider", "13900002005"),
    "m_far": ("MXM-FAR", "远会员", None, "outsider", "13900002006"),
    "m_orphan": ("MXM-ORPH", "孤会员", None, None, "13900002007"),
}
MEMBER_LOGIN = "m_me"

# key: (order_no, customer, buying member)
ORDERS: dict[str, tuple[str, str | None, str | None]] = {
    "o_dir": ("MXO-DIR", "c_dir", None),
    "o_rep": ("MXO-REP1", "c_rep", None),
    "o_rep2": ("MXO-REP2", "c_rep2", None),
    "o_rep3": ("MXO-REP3", "c_rep3", None),
    "o_mkt": ("MXO-MKT", "c_mkt", None),
    "o_out": ("MXO-OUT", "c_out", None),
    "o_me": ("MXO-ME", None, "m_me"),
    "o_down": ("MXO-DOWN", None, "m_down"),
    "o_far": ("MXO-FAR", None, "m_far"),
}

# key: (return_no, order)
RETURNS: dict[str, tuple[str, str]] = {
    "r_rep": ("MXR-REP1", "o_rep"),
    "r_out": ("MXR-OUT", "o_out"),
    "r_me": ("MXR-ME", "o_me"),
}

# key: (sku, name, active)
PRODUCTS: dict[str, tuple[str, str, bool]] = {
    "p_on": ("MXP-ON", "在售商品", True),
    "p_off": ("MXP-OFF", "停售商品", False),
}
PRICE_LIST_NAME = "MXL-2026价目表"

# key: (submitter, member, new sponsor)
SPONSOR_CHANGES: dict[str, tuple[str, str, str]] = {
    "scr_a": ("rep", "m_down", "m_root"),
    "scr_b": ("outsider", "m_far", "m_side"),
}
# The approver each request goes to (the manager whose scope covers the submitter).
SPONSOR_CHANGE_APPROVER = {"scr_a": "manager", "scr_b": "mgr_b"}

VIEWERS = (
    "admin",
    "director",
    "manager",
    "rep",
    "rep2",
    "marketing",
    "finance",
    "member",
    "outsider",
    "mgr_b",
)


def username(key: str) -> str:
    return f"mx_{key}"


def notification_title(key: str) -> str:
    return f"MXN-{key}-消息"


@dataclass
class World:
    users: dict[str, User] = field(default_factory=dict)
    departments: dict[str, Department] = field(default_factory=dict)
    employees: dict[str, Employee] = field(default_factory=dict)
    customers: dict[str, Customer] = field(default_factory=dict)
    leads: dict[str, Lead] = field(default_factory=dict)
    contacts: dict[str, Contact] = field(default_factory=dict)
    followups: dict[str, Activity] = field(default_factory=dict)
    opportunities: dict[str, Opportunity] = field(default_factory=dict)
    quotes: dict[str, Quote] = field(default_factory=dict)
    contracts: dict[str, Contract] = field(default_factory=dict)
    receipts: dict[str, Receipt] = field(default_factory=dict)
    visits: dict[str, ReturnVisit] = field(default_factory=dict)
    complaints: dict[str, Complaint] = field(default_factory=dict)
    feedback: dict[str, Feedback] = field(default_factory=dict)
    members: dict[str, Member] = field(default_factory=dict)
    products: dict[str, Product] = field(default_factory=dict)
    price_list: PriceList | None = None
    orders: dict[str, Order] = field(default_factory=dict)
    returns: dict[str, Return] = field(default_factory=dict)
    sponsor_changes: dict[str, SponsorChangeRequest] = field(default_factory=dict)
    approvals: dict[str, ApprovalRequest] = field(default_factory=dict)
    notifications: dict[str, Notification] = field(default_factory=dict)
    import_job: ImportJob | None = None
    # An admin-only settings row each (公海设置, 回访规则): no members, switched off.
    pool: Pool | None = None
    visit_rule: VisitRule | None = None
    # (customer, "contract" | "followup") → its attachment, once ``add_attachments`` ran.
    attachments: dict[tuple[str, str], Attachment] = field(default_factory=dict)
    # Every notification title each user has (the approval engine notifies approvers too).
    notification_titles: dict[str, list[str]] = field(default_factory=dict)

    def role_of(self, key: str) -> str:
        if key in OTHER_USERS:
            return OTHER_USERS[key]
        role_code = EMPLOYEES[key][4]
        assert role_code is not None
        return role_code


def build_world() -> World:
    w = World()
    for key, (code, name, kind, parent) in DEPARTMENTS.items():
        w.departments[key] = DepartmentFactory(
            code=code, name=name, kind=kind, parent=w.departments[parent] if parent else None
        )
    for key, (no, name, dept, manager, role_code) in EMPLOYEES.items():
        user = None
        if role_code is not None:
            user = UserFactory(username=username(key), display_name=name, role=role(role_code))
            w.users[key] = user
        w.employees[key] = EmployeeFactory(
            employee_no=no,
            name=name,
            phone=f"1370000{len(w.employees) + 1:04d}",
            department=w.departments[dept],
            manager=w.employees[manager] if manager else None,
            user=user,
        )
    for key, role_code in OTHER_USERS.items():
        w.users[key] = UserFactory(username=username(key), display_name=key, role=role(role_code))

    for key, (code, name, owner, phone, id_number) in CUSTOMERS.items():
        w.customers[key] = customer_create(
            actor=None,
            code=code,
            name=name,
            owner=w.employees[owner],
            phone=phone,
            id_number=id_number,
        )
    for key, cust in w.customers.items():
        w.contacts[key] = Contact.objects.create(
            customer=cust, name=contact_name(key), phone=contact_phone(key)
        )
        w.followups[key] = Activity.objects.create(
            customer=cust,
            kind=ActivityKind.CALL,
            content=followup_text(key),
            employee=cust.owner,
            at=timezone.now(),
        )
    group = ensure_default_stage_group()
    first = group.stages.order_by("order").first()
    for key, cust in w.customers.items():
        w.opportunities[key] = Opportunity.objects.create(
            code=opportunity_code(key),
            name=f"{opportunity_code(key)}商机",
            customer=cust,
            owner=cust.owner,
            department=cust.department,
            group=group,
            stage=first,
            amount=Decimal("1000.00"),
            close_on=datetime.date(2027, 1, 31),
        )
    today = datetime.date(2026, 11, 2)
    for key, cust in w.customers.items():
        money = {"list_total": Decimal(1000), "total_amount": Decimal(900)}
        w.quotes[key] = Quote.objects.create(
            quote_no=quote_no(key), customer=cust, owner=cust.owner,
            department=cust.department, title=f"{quote_no(key)}报价", quote_date=today,
            valid_until=today + datetime.timedelta(days=30), discount=Decimal(10), **money,
        )  # fmt: skip
        contract = Contract.objects.create(
            contract_no=contract_no(key), name=f"{contract_no(key)}合同", customer=cust,
            owner=cust.owner, department=cust.department, status=ContractStatus.FULFILLING,
            amount=Decimal(900), start_on=today, end_on=today + datetime.timedelta(days=365),
            signed_on=today,
        )  # fmt: skip
        w.contracts[key] = contract
        plan = ReceivablePlan.objects.create(
            contract=contract, period=1, due_on=today, amount=Decimal(900)
        )
        w.receipts[key] = Receipt.objects.create(
            receipt_no=receipt_no(key), contract=contract, plan=plan, customer=cust,
            owner=cust.owner, department=cust.department, received_on=today,
            amount=Decimal(300), method=ReceiptMethod.BANK,
        )  # fmt: skip
    now = timezone.now()
    for key, cust in w.customers.items():
        owned = {"customer": cust, "owner": cust.owner, "department": cust.department}
        w.visits[key] = ReturnVisit.objects.create(
            **owned, contract=w.contracts[key], status="done", due_on=today, form="phone",
            outcome=visit_text(key), satisfaction=4, visited_at=now, visited_by=cust.owner,
        )  # fmt: skip
        w.complaints[key] = Complaint.objects.create(
            **owned, code=complaint_code(key), title=f"{complaint_code(key)}投诉",
            content="到货破损", category="delivery", severity="normal", received_at=now,
            deadline=now + datetime.timedelta(days=7),
        )  # fmt: skip
        w.feedback[key] = Feedback.objects.create(
            **owned, kind="suggestion", content=feedback_text(key)
        )
    for key, (company, owner, dept) in LEADS.items():
        if owner is not None:
            w.leads[key] = lead_create(
                actor=None, data=LeadInput(company=company), owner=w.employees[owner]
            )
        else:
            w.leads[key] = Lead.objects.create(
                code=f"MXL-{key}", company=company, department=w.departments[dept or "HQ"]
            )
    for key, (no, name, sponsor, owner, phone) in MEMBERS.items():
        w.members[key] = MemberFactory(
            member_no=no,
            name=name,
            sponsor=w.members[sponsor] if sponsor else None,
            owner=w.employees[owner] if owner else None,
            phone=phone,
            joined_on=JOINED,
            user=w.users["member"] if key == MEMBER_LOGIN else None,
        )

    for key, (sku, name, active) in PRODUCTS.items():
        w.products[key] = ProductFactory(sku=sku, name=name, active=active)
    w.price_list = PriceList.objects.create(
        name=PRICE_LIST_NAME, valid_from=datetime.date(2026, 1, 1), valid_to=None
    )
    for product in w.products.values():
        PriceListItem.objects.create(
            price_list=w.price_list,
            product=product,
            list_price=Decimal("100.00"),
            member_price=Decimal("80.00"),
            pc_price=Decimal("90.00"),
        )

    for key, (no, customer, member) in ORDERS.items():
        w.orders[key] = order_create(
            actor=None,
            order_date=DAY,
            order_no=no,
            customer=w.customers[customer] if customer else None,
            member=w.members[member] if member else None,
            lines=[{"product": w.products["p_on"], "quantity": "2", "unit_price": "100.00"}],
        )
    for key, (no, order_key) in RETURNS.items():
        order = w.orders[order_key]
        w.returns[key] = return_create(
            actor=None,
            order=order,
            return_date=DAY,
            return_no=no,
            reason="矩阵退货",
            lines=[{"order_line": order.lines.get().pk, "quantity": "1"}],
        )

    approval_flow_create(
        actor=None,
        doc_type=DOC_TYPE,
        name="推荐人变更经理审批",
        steps=[StepSpec(name="经理审批", role=RoleCode.MANAGER)],
    )
    for key, (submitter, member, new_sponsor) in SPONSOR_CHANGES.items():
        req = sponsor_change_request_submit(
            actor=w.users[submitter],
            member=w.members[member],
            new_sponsor=w.members[new_sponsor],
            effective_on=DAY,
            reason=f"矩阵变更{key}",
        )
        w.sponsor_changes[key] = req
        w.approvals[key] = ApprovalRequest.objects.get(doc_type=DOC_TYPE, object_id=str(req.pk))

    for key, user in w.users.items():
        w.notifications[key] = notify(user=user, title=notification_title(key), body="矩阵")
    for key, user in w.users.items():
        w.notification_titles[key] = list(
            Notification.objects.filter(user=user).values_list("title", flat=True)
        )
    w.pool = Pool.objects.create(name="矩阵公海", auto_reclaim=False)
    w.visit_rule = VisitRule.objects.create(
        name="矩阵回访规则", source="order", days=3650, active=False
    )
    w.import_job = ImportJob.objects.create(
        entity="customers",
        file_path="/nonexistent/matrix.csv",
        original_name="matrix.csv",
        status=ImportJobStatus.INVALID,
        created_by=w.users["admin"],
    )
    for m in w.members.values():
        m.refresh_from_db()
    return w


def add_attachments(w: World) -> None:
    """One attachment on each contract and each follow-up, stored under the current
    ``VAR_DIR`` (a caller's temporary folder: the world's files are its own)."""
    for c in CUSTOMERS:
        for parent, obj in (("contract", w.contracts[c]), ("followup", w.followups[c])):
            upload = SimpleUploadedFile(attachment_name(c, parent), ATTACHMENT_PDF)
            w.attachments[c, parent] = attachment_add(actor=None, obj=obj, upload=upload)


def world_summary(w: World) -> dict[str, Any]:
    """Counts, for a sanity check that the world is what the spec says."""
    return {
        "departments": len(w.departments),
        "employees": len(w.employees),
        "customers": len(w.customers),
        "members": len(w.members),
        "orders": len(w.orders),
        "returns": len(w.returns),
    }
