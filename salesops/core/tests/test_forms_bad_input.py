"""Garbage posted to every create/edit form: never a 500; the form comes back (200) with a
Chinese field error, or an out-of-scope id answers 403/404; and nothing in the DB moves."""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from salesops.core.approvals.services import StepSpec, approval_flow_create
from salesops.core.models import (
    ApprovalEvent,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTask,
    AuditLog,
    RoleCode,
)
from salesops.factories import (
    CustomerFactory,
    EmployeeFactory,
    MemberFactory,
    ProductFactory,
    UserFactory,
    role,
)
from salesops.org.models import Department, Employee, Member, SponsorChangeRequest
from salesops.org.services.sponsor_changes import sponsor_change_request_submit
from salesops.sales.models import (
    Customer,
    Order,
    OrderLine,
    PriceList,
    PriceListItem,
    Product,
    Return,
    ReturnLine,
)
from salesops.sales.services.orders import order_create

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 10, 5)
CJK = re.compile(r"[\u4e00-\u9fff]")
ERROR_MARKERS = ("invalid-feedback", "alert-danger", "text-danger", "errorlist")
TABLES = (
    Customer,
    Product,
    PriceList,
    PriceListItem,
    Order,
    OrderLine,
    Return,
    ReturnLine,
    Department,
    Employee,
    Member,
    SponsorChangeRequest,
    ApprovalFlow,
    ApprovalStep,
    ApprovalRequest,
    ApprovalTask,
    ApprovalEvent,
    AuditLog,
)
HUGE = "字" * 5000


@dataclass
class World:
    admin: Any
    customer: Customer
    foreign_customer: Customer
    product: Product
    price_list: PriceList
    order: Order
    foreign_order: Order
    member: Member
    task: ApprovalTask
    request: ApprovalRequest
    flow: ApprovalFlow


@pytest.fixture
def world(stock) -> World:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="adam", role=role(RoleCode.ADMIN))
    EmployeeFactory(name="管理员", department=stock.company, user=admin)
    price_list = PriceList.objects.create(
        name="2026价目表", valid_from=datetime.date(2026, 1, 1), valid_to=None
    )
    product = ProductFactory(sku="P-A", name="营养素")
    PriceListItem.objects.create(
        price_list=price_list,
        product=product,
        list_price=Decimal("100.00"),
        member_price=Decimal("80.00"),
        pc_price=Decimal("90.00"),
    )
    customer = CustomerFactory(owner=stock.rep, name="甲客户", code="C-MINE")
    foreign = CustomerFactory(owner=stock.outsider, name="外组客户", code="C-FOREIGN")
    lines = [{"product": product, "quantity": Decimal("3")}]
    order = order_create(actor=None, order_date=DAY, customer=customer, lines=lines)
    foreign_order = order_create(actor=None, order_date=DAY, customer=foreign, lines=lines)
    d = datetime.date(2025, 1, 1)
    top = MemberFactory(member_no="M-TOP", owner=stock.rep, joined_on=d)
    other = MemberFactory(member_no="M-OTH", owner=stock.rep, joined_on=d)
    member = MemberFactory(member_no="M-LEAF", owner=stock.rep, sponsor=top, joined_on=d)
    MemberFactory(member_no="M-FAR", owner=stock.outsider, joined_on=d)
    flow = approval_flow_create(
        actor=None,
        doc_type="org.sponsor_change",
        name="推荐人变更审批",
        steps=[StepSpec(name="管理员审批", role=RoleCode.ADMIN)],
    )
    change = sponsor_change_request_submit(
        actor=stock.rep_user, member=member, new_sponsor=other, effective_on=DAY, reason="调整"
    )
    request = ApprovalRequest.objects.get(object_id=str(change.pk))
    return World(
        admin=admin,
        customer=customer,
        foreign_customer=foreign,
        product=product,
        price_list=price_list,
        order=order,
        foreign_order=foreign_order,
        member=member,
        task=ApprovalTask.objects.get(request=request),
        request=request,
        flow=flow,
    )


def _snapshot() -> tuple[Any, ...]:
    counts = tuple(model.objects.count() for model in TABLES)
    customers = tuple(Customer.objects.order_by("pk").values_list("name", "phone", "owner_id"))
    products = tuple(Product.objects.order_by("pk").values_list("sku", "name", "unit", "active"))
    items = tuple(PriceListItem.objects.order_by("pk").values_list("list_price", "member_price"))
    depts = tuple(Department.objects.order_by("pk").values_list("name", "code", "parent_id"))
    staff = tuple(Employee.objects.order_by("pk").values_list("name", "phone", "department_id"))
    tasks = tuple(ApprovalTask.objects.order_by("pk").values_list("status", "comment"))
    flows = tuple(ApprovalFlow.objects.order_by("pk").values_list("name", "active"))
    return counts, customers, products, items, depts, staff, tasks, flows


def _post(client: Client, user: Any, url: str, data: dict[str, Any]) -> Any:
    client.force_login(user)
    before = _snapshot()
    resp = client.post(url, data)
    assert resp.status_code < 500, (url, data)
    assert _snapshot() == before, (url, data)
    return resp


def _assert_form_error(resp: Any, url: str, data: dict[str, Any]) -> None:
    # The form page again: 200, or 400 where the view marks the re-render (returns).
    assert resp.status_code in (200, 400), (url, data, resp.status_code)
    html = resp.content.decode()
    markers = [m for m in ERROR_MARKERS if m in html]
    assert markers, (url, data, "no error shown")
    start = html.index(markers[0])
    assert CJK.search(html[start : start + 400]), (url, data, html[start : start + 400])


def _cases(w: World, stock: Any) -> list[tuple[str, Any, dict[str, Any]]]:
    """(url, user, garbage) for every create/edit form, as the user who may use it."""
    admin, rep = w.admin, stock.rep_user
    c, o, p, pl = w.customer, w.order, w.product, w.price_list
    line = o.lines.get()
    return [
        # customers
        ("/sales/customers/new/", rep, {}),
        ("/sales/customers/new/", rep, {"name": HUGE, "owner": stock.rep.pk}),
        ("/sales/customers/new/", rep, {"name": "乙", "owner": "abc"}),
        ("/sales/customers/new/", rep, {"name": "乙", "owner": 99999999999999999999}),
        ("/sales/customers/new/", rep, {"name": "乙", "owner": stock.outsider.pk}),
        ("/sales/customers/new/", rep, {"name": "乙", "phone": "abc", "owner": stock.rep.pk}),
        ("/sales/customers/new/", rep, {"name": "a\x00b", "owner": stock.rep.pk}),
        (f"/sales/customers/{c.pk}/edit/", rep, {"name": ""}),
        (f"/sales/customers/{c.pk}/edit/", rep, {"name": "x", "phone": "1" * 40}),
        # products (admin may manage them)
        ("/sales/products/new/", admin, {}),
        ("/sales/products/new/", admin, {"sku": HUGE, "name": "x", "unit": "件"}),
        ("/sales/products/new/", admin, {"sku": p.sku, "name": "重复", "unit": "件"}),
        (f"/sales/products/{p.pk}/edit/", admin, {"sku": "", "name": "", "unit": ""}),
        # price lists and their prices
        ("/sales/price-lists/new/", admin, {"name": "", "valid_from": "2026-13-45"}),
        (
            "/sales/price-lists/new/",
            admin,
            {"name": "x", "valid_from": "2026-12-31", "valid_to": "2026-01-01"},
        ),
        (f"/sales/price-lists/{pl.pk}/edit/", admin, {"name": HUGE, "valid_from": "x"}),
        *(
            (
                f"/sales/price-lists/{pl.pk}/",
                admin,
                {"product": p.pk, "list_price": price, "member_price": "1", "pc_price": "1"},
            )
            for price in ("1.005", "-1", "1e999", "NaN", "abc", "99999999999999999999")
        ),
        (
            f"/sales/price-lists/{pl.pk}/",
            admin,
            {"product": 99999999999999999999, "list_price": "1", "member_price": "1"},
        ),
        # orders with lines
        ("/sales/orders/new/", rep, {}),
        (
            "/sales/orders/new/",
            rep,
            {"order_date": "2026-10-05", "kind": "regular", "customer_code": c.code},
        ),
        *(
            (
                "/sales/orders/new/",
                rep,
                {
                    "order_date": "2026-10-05",
                    "kind": "regular",
                    "customer_code": c.code,
                    "product": [p.pk],
                    "quantity": [qty],
                    "unit_price": [price],
                },
            )
            for qty, price in (
                ("-1", ""),
                ("0", ""),
                ("1.005", ""),
                ("1e999", ""),
                ("NaN", ""),
                ("abc", ""),
                ("1", "1.005"),
                ("1", "-3"),
                ("1", "1e999"),
                ("9999999999.99", "99999999"),
            )
        ),
        (
            "/sales/orders/new/",
            rep,
            {
                "order_date": "2026-10-05",
                "kind": "regular",
                "customer_code": w.foreign_customer.code,
                "product": [p.pk],
                "quantity": ["1"],
            },
        ),
        (
            "/sales/orders/new/",
            rep,
            {
                "order_date": "2026-10-05",
                "kind": "bogus",
                "customer_code": c.code,
                "product": ["99999999999999999999"],
                "quantity": ["1"],
            },
        ),
        # returns
        *(
            (
                f"/sales/orders/{o.pk}/return/",
                rep,
                {"return_date": "2026-10-06", f"qty_{line.pk}": qty},
            )
            for qty in ("-1", "1.005", "4", "1e999", "abc", "NaN")
        ),
        (f"/sales/orders/{o.pk}/return/", rep, {"return_date": "2026-01-01", f"qty_{line.pk}": 1}),
        (f"/sales/orders/{o.pk}/return/", rep, {"return_date": "", "qty_99999999999999999": 1}),
        # departments and employees
        ("/org/departments/new/", admin, {}),
        ("/org/departments/new/", admin, {"name": HUGE, "code": HUGE, "parent": "abc"}),
        (
            f"/org/departments/{stock.team.pk}/edit/",
            admin,
            {"name": "华东一组", "code": "T1", "parent": stock.team.pk},
        ),
        ("/org/employees/new/", admin, {}),
        (
            "/org/employees/new/",
            admin,
            {"name": HUGE, "employee_no": "", "department": 99999999999999999999},
        ),
        (
            f"/org/employees/{stock.rep.pk}/edit/",
            admin,
            {"name": "", "department": "x", "manager": stock.rep.pk},
        ),
        # sponsor-change requests
        ("/org/sponsor-changes/new/", rep, {}),
        (
            "/org/sponsor-changes/new/",
            rep,
            {"member_no": "M-LEAF", "new_sponsor_no": "M-LEAF", "effective_on": "2026-10-05"},
        ),
        (
            "/org/sponsor-changes/new/",
            rep,
            {
                "member_no": "M-FAR",
                "new_sponsor_no": "M-TOP",
                "effective_on": "2026-10-05",
                "reason": "x",
            },
        ),
        (
            "/org/sponsor-changes/new/",
            rep,
            {
                "member_no": "M-LEAF",
                "new_sponsor_no": "nobody",
                "effective_on": "9999-99-99",
                "reason": HUGE,
            },
        ),
        # the approval flow form
        ("/approvals/flows/new/", admin, {}),
        ("/approvals/flows/new/", admin, {"name": HUGE, "doc_type": "nope", "min_amount": "1e999"}),
        (
            f"/approvals/flows/{w.flow.pk}/edit/",
            admin,
            {"name": "", "doc_type": "org.sponsor_change", "min_amount": "-1.005"},
        ),
    ]


def test_every_form_answers_garbage_without_500_or_change(world: World, stock) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    outcomes: dict[int, int] = {}
    for url, user, data in _cases(world, stock):
        resp = _post(client, user, url, data)
        outcomes[resp.status_code] = outcomes.get(resp.status_code, 0) + 1
        if resp.status_code in (200, 400):
            _assert_form_error(resp, url, data)
        else:
            assert resp.status_code in (403, 404), (url, data, resp.status_code)
    assert outcomes == {200: 50, 400: 8}  # every case re-rendered its form with an error


@pytest.mark.parametrize(
    "make_url",
    [
        lambda w: f"/sales/customers/{w.foreign_customer.pk}/edit/",
        lambda w: f"/sales/orders/{w.foreign_order.pk}/return/",
        lambda w: "/sales/customers/99999999999999999999/edit/",
        lambda w: f"/approvals/flows/{w.flow.pk + 1000}/edit/",
    ],
)
def test_out_of_scope_ids_answer_404(world: World, stock, make_url) -> None:  # type: ignore[no-untyped-def]
    user = world.admin if "/approvals/flows/" in make_url(world) else stock.rep_user
    resp = _post(Client(), user, make_url(world), {"name": "改", "return_date": "2026-10-06"})
    assert resp.status_code == 404


@pytest.mark.parametrize("action", ["reject", "return"])
def test_rejecting_without_comment_is_refused_and_changes_nothing(
    world: World, action: str
) -> None:
    client = Client()
    url = f"/approvals/tasks/{world.task.pk}/{action}/"
    resp = _post(client, world.admin, url, {"comment": "   ", "request_id": world.request.pk})
    assert resp.status_code == 302
    assert resp["Location"] == f"/approvals/{world.request.pk}/"
    page = client.get(resp["Location"]).content.decode()
    assert "驳回或退回时必须填写审批意见" in page
    resp = client.post(url, {"comment": ""}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert "驳回或退回时必须填写审批意见" in resp.content.decode()
    task = ApprovalTask.objects.get(pk=world.task.pk)
    assert (task.status, task.comment) == ("pending", "")


def test_approval_action_with_garbage_ids_is_not_a_500(world: World, stock) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    for url, data in (
        (f"/approvals/tasks/{world.task.pk}/bogus/", {"comment": "x"}),
        ("/approvals/tasks/99999999999999999999/approve/", {"comment": "x"}),
        (f"/approvals/tasks/{world.task.pk}/approve/", {"request_id": "x" * 500}),
    ):
        resp = _post(client, stock.rep_user, url, data)
        assert resp.status_code in (302, 403, 404), (url, resp.status_code)
