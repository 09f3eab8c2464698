"""Sales services: totals from lines, returns limits, customers and price lists."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest

from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, AuditLog, RoleCode
from salesops.factories import CustomerFactory, MemberFactory, ProductFactory, UserFactory, role
from salesops.sales.models import Order, OrderStatus, PriceList
from salesops.sales.selectors import price_for
from salesops.sales.services.customers import (
    customer_create,
    customer_delete,
    customer_reassign,
    customer_update,
)
from salesops.sales.services.orders import order_cancel, order_create
from salesops.sales.services.products import price_list_create, price_list_item_set
from salesops.sales.services.returns import return_create
from salesops.sales.tests.conftest import DAY


def _order(stock, catalogue, lines=None, **kw):  # type: ignore[no-untyped-def]
    customer = kw.pop("customer", None) or CustomerFactory(owner=stock.rep)
    return order_create(
        actor=stock.rep_user,
        order_date=DAY,
        customer=customer,
        lines=lines if lines is not None else [{"product": catalogue[0], "quantity": "2"}],
        **kw,
    )


# ------------------------------------------------------------------------------- orders


def test_total_is_sum_of_lines_each_rounded_half_up(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(
        stock,
        catalogue,
        lines=[
            {"product": catalogue[0], "quantity": "0.5", "unit_price": "0.05"},  # 0.025 → 0.03
            {"product": catalogue[1], "quantity": "3"},  # 3 × 33.33 = 99.99
            {"product": catalogue[0], "quantity": "1.5", "unit_price": "10.01"},  # 15.015 → 15.02
        ],
    )
    amounts = [line.amount for line in order.lines.order_by("id")]
    assert amounts == [Decimal("0.03"), Decimal("99.99"), Decimal("15.02")]
    order.refresh_from_db()
    assert order.total_amount == Decimal("115.04")
    assert order.order_no == "SO202610050001"
    assert order.credited_employee == stock.rep
    assert order.department == stock.team


def test_order_numbers_follow_the_day(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    _order(stock, catalogue)
    second = _order(stock, catalogue)
    assert second.order_no == "SO202610050002"


def test_unit_price_from_price_list_by_tier(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    member = MemberFactory(owner=stock.rep)
    order = order_create(
        actor=stock.rep_user,
        order_date=DAY,
        member=member,
        lines=[{"product": catalogue[0], "quantity": "1"}],
    )
    assert order.lines.get().unit_price == Decimal("80.00")
    assert order.credited_member == member
    pc = _order(stock, catalogue, tier="pc")
    assert pc.total_amount == Decimal("180.00")


@pytest.mark.parametrize(
    ("lines", "code", "field"),
    [
        ([], "no_lines", "lines"),
        ([{"quantity": "1"}], "invalid_lines", "lines.0.product"),
        ([{"product": None, "quantity": "0"}], "invalid_lines", "lines.0.product"),
    ],
)
def test_order_needs_valid_lines(stock, catalogue, lines, code, field) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        _order(stock, catalogue, lines=lines)
    assert (exc.value.code, exc.value.field) == (code, field)


@pytest.mark.parametrize("qty", ["0", "-1", "abc", "1.005"])
def test_quantity_must_be_positive(stock, catalogue, qty) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        _order(stock, catalogue, lines=[{"product": catalogue[0], "quantity": qty}])
    assert exc.value.field == "lines.0.quantity"
    assert Order.objects.count() == 0


def test_no_price_on_the_day_is_a_line_error(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    unpriced = ProductFactory(sku="P-X")
    with pytest.raises(ServiceError) as exc:
        _order(stock, catalogue, lines=[{"product": unpriced, "quantity": "1"}])
    assert exc.value.errors[0].field == "lines.0.unit_price"
    assert str(exc.value.errors[0].message) == f"商品 {unpriced} 在 2026-10-05 没有有效价格"


def test_customer_order_must_be_in_actor_scope(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    theirs = CustomerFactory(owner=stock.outsider)
    with pytest.raises(ServiceError) as exc:
        _order(stock, catalogue, customer=theirs)
    assert (exc.value.code, exc.value.field) == ("out_of_scope", "customer")


def test_manager_may_book_for_team_customer(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    order = order_create(
        actor=stock.manager_user,
        order_date=DAY,
        customer=customer,
        lines=[{"product": catalogue[0], "quantity": "1"}],
    )
    assert order.credited_employee == stock.rep


def test_order_create_is_audited(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(stock, catalogue)
    row = AuditLog.objects.get(
        object_type="sales.order", object_id=str(order.pk), field="total_amount"
    )
    assert (row.action, row.after, row.actor) == (AuditAction.CREATE, "200.00", stock.rep_user)


def test_cancel_reason_with_a_control_character_is_refused(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(stock, catalogue)
    with pytest.raises(ServiceError) as exc:
        order_cancel(actor=stock.rep_user, order=order, reason="客户\x1b要求")
    assert (exc.value.code, exc.value.field, str(exc.value.message)) == (
        "control_character",
        "reason",
        "不能包含不可见的控制字符",
    )
    order.refresh_from_db()
    assert order.status != OrderStatus.CANCELLED
    order_cancel(actor=stock.rep_user, order=order, reason="客户要求\n改日再订")


def test_cancel_only_without_returns(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(stock, catalogue)
    order_cancel(actor=stock.rep_user, order=order)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    with pytest.raises(ServiceError) as exc:
        order_cancel(actor=stock.rep_user, order=order)
    assert exc.value.code == "invalid_status"

    other = _order(stock, catalogue)
    line = other.lines.get()
    return_create(
        actor=stock.rep_user,
        order=other,
        return_date=DAY,
        lines=[{"order_line": line, "quantity": "1"}],
    )
    with pytest.raises(ServiceError) as exc:
        order_cancel(actor=stock.rep_user, order=other)
    assert exc.value.code == "has_returns"


# ------------------------------------------------------------------------------ returns


def test_returns_limited_to_what_is_left(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(
        stock, catalogue, lines=[{"product": catalogue[1], "quantity": "3", "unit_price": "33.33"}]
    )
    line = order.lines.get()
    first = return_create(
        actor=stock.rep_user,
        order=order,
        return_date=DAY,
        lines=[{"order_line": line, "quantity": "2"}],
    )
    assert first.total_amount == Decimal("66.66")
    assert first.return_no == "RT202610050001"
    with pytest.raises(ServiceError) as exc:
        return_create(
            actor=stock.rep_user,
            order=order,
            return_date=DAY,
            lines=[{"order_line": line, "quantity": "1.01"}],
        )
    assert exc.value.code == "invalid_lines"
    assert str(exc.value.message) == f"{catalogue[1]} 最多还可退 1.00"
    last = return_create(
        actor=stock.rep_user,
        order=order,
        return_date=DAY,
        lines=[{"order_line": line.pk, "quantity": "1"}],
    )
    assert last.total_amount == Decimal("33.33")
    order.refresh_from_db()
    assert order.returned_amount == Decimal("99.99") == order.total_amount


def test_last_return_takes_exactly_what_is_left_of_the_line(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(
        stock, catalogue, lines=[{"product": catalogue[0], "quantity": "3", "unit_price": "0.05"}]
    )  # 0.15
    line = order.lines.get()
    parts = [
        return_create(
            actor=stock.rep_user,
            order=order,
            return_date=DAY,
            lines=[{"order_line": line, "quantity": q}],
        ).total_amount
        for q in ("0.5", "0.5", "2")
    ]
    assert parts == [Decimal("0.03"), Decimal("0.03"), Decimal("0.09")]
    order.refresh_from_db()
    assert order.returned_amount == Decimal("0.15")


def test_return_lines_must_belong_to_the_order(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(stock, catalogue)
    other = _order(stock, catalogue)
    with pytest.raises(ServiceError) as exc:
        return_create(
            actor=stock.rep_user,
            order=order,
            return_date=DAY,
            lines=[{"order_line": other.lines.get(), "quantity": "1"}],
        )
    assert exc.value.field == "lines.0.order_line"


def test_return_of_cancelled_order_or_before_order_date_refused(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(stock, catalogue)
    line = order.lines.get()
    with pytest.raises(ServiceError) as exc:
        return_create(
            actor=stock.rep_user,
            order=order,
            return_date=DAY - datetime.timedelta(days=1),
            lines=[{"order_line": line, "quantity": "1"}],
        )
    assert exc.value.code == "invalid_date"
    order_cancel(actor=stock.rep_user, order=order)
    with pytest.raises(ServiceError) as exc:
        return_create(
            actor=stock.rep_user,
            order=order,
            return_date=DAY,
            lines=[{"order_line": line, "quantity": "1"}],
        )
    assert exc.value.code == "invalid_status"


def test_return_audits_returned_amount(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _order(stock, catalogue)
    return_create(
        actor=stock.rep_user,
        order=order,
        return_date=DAY,
        lines=[{"order_line": order.lines.get(), "quantity": "1"}],
    )
    row = AuditLog.objects.get(object_type="sales.order", field="returned_amount")
    assert (row.before, row.after, row.note) == ("0.00", "100.00", "RT202610050001")


# ---------------------------------------------------------------------------- customers


def test_customer_create_defaults_owner_and_department(stock) -> None:  # type: ignore[no-untyped-def]
    c = customer_create(actor=stock.rep_user, name=" 张三 ", phone="13812345678")
    assert (c.name, c.owner, c.department, c.code[:1]) == ("张三", stock.rep, stock.team, "C")
    logged = set(
        AuditLog.objects.filter(object_type="sales.customer", object_id=str(c.pk)).values_list(
            "field", flat=True
        )
    )
    assert {"name", "phone", "owner", "department"} <= logged


def test_duplicate_phone_warns_then_allows_on_confirm(stock) -> None:  # type: ignore[no-untyped-def]
    customer_create(actor=stock.rep_user, name="甲", phone="13812345678")
    with pytest.raises(ServiceError) as exc:
        customer_create(actor=stock.outsider_user, name="乙", phone="13812345678")
    assert (exc.value.code, exc.value.status, exc.value.field) == ("duplicate", 409, "phone")
    assert str(exc.value.message) == (
        f"疑似重复（1 条）：已存在：由 {stock.rep.name}（{stock.rep.department.name}）负责。"
        "确认无误后可勾选“仍要创建”。"
    )
    c = customer_create(
        actor=stock.outsider_user, name="乙", phone="+86 138-1234-5678", confirm_duplicate=True
    )
    assert c.owner == stock.outsider
    notes = list(AuditLog.objects.filter(object_id=str(c.pk)).values_list("note", flat=True))
    assert any(n.startswith("确认重复后仍创建：customer#- ") and "(phone)" in n for n in notes)


def test_rep_cannot_give_customer_to_someone_else(stock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        customer_create(actor=stock.rep_user, name="甲", owner=stock.outsider)
    assert (exc.value.code, exc.value.field) == ("out_of_scope", "owner")


def test_reassign_moves_department_and_is_audited(stock) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    c = CustomerFactory(owner=stock.rep)
    customer_reassign(actor=admin, customer=c, owner=stock.outsider, note="调岗")
    c.refresh_from_db()
    assert (c.owner, c.department) == (stock.outsider, stock.other_team)
    rows = dict(
        AuditLog.objects.filter(
            object_type="sales.customer", action=AuditAction.UPDATE
        ).values_list("field", "after")
    )
    assert rows == {"owner": str(stock.outsider.pk), "department": str(stock.other_team.pk)}


def test_update_phone_is_audited(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, phone="13800000001")
    customer_update(actor=stock.rep_user, customer=c, name=c.name, phone="13800000002")
    row = AuditLog.objects.get(object_type="sales.customer", field="phone")
    assert (row.before, row.after) == ("13800000001", "13800000002")


def test_invalid_fields_all_reported(stock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        customer_create(actor=stock.rep_user, name="", phone="abc")
    assert [(e.field, str(e.message)) for e in exc.value.errors] == [
        ("name", "请填写客户名称"),
        ("phone", "手机号格式不正确"),
    ]


def test_delete_only_without_orders(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    _order(stock, catalogue, customer=c)
    with pytest.raises(ServiceError) as exc:
        customer_delete(actor=stock.rep_user, customer=c)
    assert exc.value.code == "has_orders"
    free = CustomerFactory(owner=stock.rep)
    pk = free.pk
    customer_delete(actor=stock.rep_user, customer=free)
    assert AuditLog.objects.filter(
        object_type="sales.customer", object_id=str(pk), action=AuditAction.DELETE
    ).exists()


# ------------------------------------------------------------------------- price lists


def test_price_for_picks_newest_valid_list(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    promo = price_list_create(
        actor=admin,
        name="十月促销",
        valid_from=datetime.date(2026, 10, 1),
        valid_to=datetime.date(2026, 10, 5),
    )
    price_list_item_set(
        actor=admin,
        price_list=promo,
        product=catalogue[0],
        list_price="95",
        member_price="75.5",
        pc_price="85",
    )
    assert price_for(catalogue[0], DAY, "member") == Decimal("75.50")
    assert price_for(catalogue[0], DAY + datetime.timedelta(days=1), "member") == Decimal("80.00")
    assert price_for(catalogue[1], DAY, "list") == Decimal("33.33")
    with pytest.raises(ServiceError) as exc:
        price_for(catalogue[0], datetime.date(2027, 1, 1), "list")
    assert exc.value.code == "no_price"


@pytest.mark.parametrize(
    ("prices", "field", "message"),
    [
        (("100", "120", "90"), "member_price", "会员价不能高于零售价"),
        (("-1", "0", "0"), "list_price", "价格不能为负数"),
        (("1.001", "0", "0"), "list_price", "价格最多保留两位小数"),
        (("x", "0", "0"), "list_price", "请输入有效的金额"),
    ],
)
def test_price_item_validation(stock, prices, field, message) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    pl = PriceList.objects.create(name="x", valid_from=DAY)
    product = ProductFactory()
    with pytest.raises(ServiceError) as exc:
        price_list_item_set(
            actor=admin,
            price_list=pl,
            product=product,
            list_price=prices[0],
            member_price=prices[1],
            pc_price=prices[2],
        )
    assert (exc.value.field, str(exc.value.message)) == (field, message)


def test_only_product_managers_edit_prices(stock) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        price_list_create(actor=stock.manager_user, name="x", valid_from=DAY)
    assert (exc.value.code, exc.value.status) == ("permission_denied", 403)


def test_explicit_duplicate_numbers_refused(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    _order(stock, catalogue, order_no="SO-X")
    with pytest.raises(ServiceError) as exc:
        _order(stock, catalogue, order_no="SO-X")
    assert (exc.value.code, exc.value.field, str(exc.value.message)) == (
        "duplicate",
        "order_no",
        "订单号 SO-X 已存在",
    )
    customer_create(actor=stock.rep_user, name="甲", code="C-1")
    with pytest.raises(ServiceError) as exc:
        customer_create(actor=stock.rep_user, name="乙", code="C-1")
    assert str(exc.value.message) == "客户编号 C-1 已存在"
