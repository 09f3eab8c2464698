"""Order writes. The total is the sum of the lines, each line rounded once (half-up) from
quantity × unit price; nobody types a total in."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import RoleCode, User
from salesops.core.money import parse_money, round_money
from salesops.core.text import require_no_control_chars
from salesops.core.transitions import Transitions, transition
from salesops.org.models import Employee, Member
from salesops.sales.models import Customer, Order, OrderKind, OrderLine, OrderStatus, Product
from salesops.sales.selectors import TIERS, Tier, customers_for, price_for
from salesops.sales.services._common import (
    create_numbered,
    employee_in_scope,
    member_in_scope,
    viewer_of,
)

_AUDITED = (
    "order_no",
    "order_date",
    "kind",
    "status",
    "customer",
    "member",
    "credited_employee",
    "credited_member",
    "department",
    "total_amount",
)
MAX_LINES = 200
# The largest amount we accept: max_digits=18 on the columns, but SQLite keeps a decimal
# exactly only up to 15 significant digits (a bigger one read back was a 500).
MAX_AMOUNT = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("9999999999.99")  # quantity: max_digits=12


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    """The one rounding of a line: quantity × unit price, half-up to the fen."""
    return round_money(quantity * unit_price)


def _decimal(raw: object, field: str, errors: list[FieldError], message: str) -> Decimal | None:
    try:
        return parse_money(raw)
    except ValueError:
        errors.append(FieldError(field, message))
        return None


def _clean_lines(
    lines: Sequence[Mapping[str, Any]], *, day: datetime.date, tier: Tier
) -> list[OrderLine]:
    errors: list[FieldError] = []
    if not lines:
        raise ServiceError("no_lines", _("订单至少需要一行商品"), field="lines")
    if len(lines) > MAX_LINES:
        raise ServiceError("too_many_lines", _("订单最多 %(n)d 行") % {"n": MAX_LINES}, "lines")
    out: list[OrderLine] = []
    for i, raw in enumerate(lines):
        product = raw.get("product")
        if not isinstance(product, Product):
            errors.append(FieldError(f"lines.{i}.product", _("请选择商品")))
            continue
        qty = _decimal(raw.get("quantity"), f"lines.{i}.quantity", errors, _("请输入有效的数量"))
        if qty is None:
            continue
        if qty <= 0:
            errors.append(FieldError(f"lines.{i}.quantity", _("数量必须大于0")))
            continue
        if qty > MAX_QUANTITY:  # also keeps quantize() below within Decimal precision
            errors.append(FieldError(f"lines.{i}.quantity", _("数量超出允许范围")))
            continue
        if qty != qty.quantize(Decimal("0.01")):
            errors.append(FieldError(f"lines.{i}.quantity", _("数量最多保留两位小数")))
            continue
        raw_price = raw.get("unit_price")
        if raw_price is None or raw_price == "":
            try:
                price = price_for(product, day, tier)
            except ServiceError as exc:
                errors.append(FieldError(f"lines.{i}.unit_price", exc.message))
                continue
        else:
            parsed = _decimal(raw_price, f"lines.{i}.unit_price", errors, _("请输入有效的单价"))
            if parsed is None:
                continue
            if parsed > MAX_AMOUNT:
                errors.append(FieldError(f"lines.{i}.unit_price", _("单价超出允许范围")))
                continue
            if parsed < 0 or round_money(parsed) != parsed:
                errors.append(
                    FieldError(f"lines.{i}.unit_price", _("单价不能为负数，且最多保留两位小数"))
                )
                continue
            price = round_money(parsed)
        amount = line_amount(qty, price)
        if amount > MAX_AMOUNT:
            errors.append(FieldError(f"lines.{i}.quantity", _("金额超出允许范围")))
            continue
        out.append(OrderLine(product=product, quantity=qty, unit_price=price, amount=amount))
    if errors:
        raise ServiceError("invalid_lines", errors[0].message, errors[0].field, errors)
    if sum((line.amount for line in out), Decimal(0)) > MAX_AMOUNT:
        raise ServiceError("invalid_lines", _("订单总金额超出允许范围"), field="lines")
    return out


@transaction.atomic
def order_create(
    *,
    actor: User | None,
    order_date: datetime.date,
    lines: Sequence[Mapping[str, Any]],
    kind: str = OrderKind.REGULAR,
    order_no: str | None = None,
    customer: Customer | None = None,
    member: Member | None = None,
    credited_employee: Employee | None = None,
    credited_member: Member | None = None,
    tier: Tier | None = None,
) -> Order:
    """Book an order.

    ``lines`` are ``{"product", "quantity", "unit_price"=None}``; a missing unit price is
    taken from the price list valid on ``order_date`` at ``tier`` (member price for a
    member's order, list price otherwise). The credited employee defaults to the
    customer's owner and sets the order's department. A customer order must be within the
    actor's scope; a member may only order for themselves."""
    viewer = viewer_of(actor)
    if kind not in OrderKind.values:
        raise ServiceError("invalid", _("订单类型无效"), field="kind")
    if customer is None and member is None:
        raise ServiceError("no_buyer", _("请选择客户或购买会员"), field="customer")
    if viewer is not None and viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        if viewer.member is None or customer is not None or member != viewer.member:
            raise ServiceError("out_of_scope", _("会员只能为自己下单"), field="member")
        credited_employee = None
        credited_member = credited_member or viewer.member
        if credited_member != viewer.member:
            raise ServiceError("out_of_scope", _("会员只能为自己下单"), "credited_member")
    else:
        if (
            customer is not None
            and viewer is not None
            and not customers_for(viewer).filter(pk=customer.pk).exists()
        ):
            raise ServiceError("out_of_scope", _("客户不在您的数据权限范围内"), "customer")
        if credited_employee is None and customer is not None:
            credited_employee = customer.owner
        if credited_employee is not None and (
            customer is None or credited_employee.pk != customer.owner_id
        ):
            employee_in_scope(viewer, credited_employee, "credited_employee")
        if member is not None:
            member_in_scope(viewer, member, "member")
        if credited_member is not None and credited_member != member:
            member_in_scope(viewer, credited_member, "credited_member")
    if member is not None and credited_member is None:
        credited_member = member
    if tier is None:
        tier = "member" if member is not None else "list"
    elif tier not in TIERS:
        raise ServiceError("invalid_tier", _("价格类型无效"), field="tier")
    order_lines = _clean_lines(lines, day=order_date, tier=tier)

    order = create_numbered(
        Order,
        field="order_no",
        number=order_no or "",
        prefix="SO",
        day=order_date,
        duplicate_message=_("订单号 %(no)s 已存在"),
        order_date=order_date,
        kind=kind,
        customer=customer,
        member=member,
        credited_employee=credited_employee,
        credited_member=credited_member,
        department_id=credited_employee.department_id if credited_employee else None,
        total_amount=sum((line.amount for line in order_lines), Decimal("0.00")),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    for line in order_lines:
        line.order = order
    OrderLine.objects.bulk_create(order_lines)
    audit_create(actor=actor, obj=order, fields=_AUDITED)
    return order


# Which status each status may be reached from (an order is created CONFIRMED).
ORDER_MOVES = Transitions(OrderStatus, {OrderStatus.CANCELLED: (OrderStatus.CONFIRMED,)})


@transaction.atomic
def order_cancel(*, actor: User | None, order: Order, reason: str = "") -> Order:
    """Cancel a confirmed order that has no returns (with returns, return the rest)."""
    require_no_control_chars(reason, "reason")
    viewer = viewer_of(actor)
    if viewer is not None and viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        raise ServiceError("permission_denied", _("会员不能取消订单"), status=403)
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if not ORDER_MOVES.allows(locked.status, OrderStatus.CANCELLED):
        raise ServiceError("invalid_status", _("只有已确认的订单可以取消"))
    if locked.returns.exists():
        raise ServiceError("has_returns", _("订单已有退货，不能取消"))
    transition(locked, OrderStatus.CANCELLED, allowed=ORDER_MOVES, actor=actor, note=reason.strip())
    order.status = locked.status
    return order
