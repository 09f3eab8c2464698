"""Returns (退货): they reference the original order and its lines, never exceed what is
left to return on a line, and add their amount to ``order.returned_amount``."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import RoleCode, User
from salesops.core.money import parse_money
from salesops.sales.models import Order, OrderLine, OrderStatus, Return, ReturnLine
from salesops.sales.services._common import create_numbered, viewer_of
from salesops.sales.services.orders import line_amount

_AUDITED = ("return_no", "original_order", "return_date", "reason", "total_amount")

MAX_QUANTITY = Decimal("9999999999.99")  # quantity: max_digits=12


@transaction.atomic
def return_create(
    *,
    actor: User | None,
    order: Order,
    return_date: datetime.date,
    lines: Sequence[Mapping[str, Any]],
    reason: str = "",
    return_no: str | None = None,
) -> Return:
    """Return part of an order. ``lines`` are ``{"order_line", "quantity"}``.

    A line's amount is quantity × unit price rounded half-up; the return that empties a
    line takes exactly what is left of the line's amount, so the returns of a line always
    add up to the line."""
    viewer = viewer_of(actor)
    if viewer is not None and viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        raise ServiceError("permission_denied", _("会员不能直接登记退货"), status=403)
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if locked.status != OrderStatus.CONFIRMED:
        raise ServiceError("invalid_status", _("订单已取消，不能退货"))
    if return_date < locked.order_date:
        raise ServiceError("invalid_date", _("退货日期不能早于下单日期"), field="return_date")
    if not lines:
        raise ServiceError("no_lines", _("请至少填写一行退货数量"), field="lines")
    order_lines = {line.pk: line for line in locked.lines.all()}
    done = {
        row["order_line"]: (row["q"], row["a"])
        for row in ReturnLine.objects.filter(order_line__order=locked)
        .values("order_line")
        .annotate(q=Sum("quantity"), a=Sum("amount"))
    }
    errors: list[FieldError] = []
    wanted: dict[int, Decimal] = {}
    first_index: dict[int, int] = {}
    for i, raw in enumerate(lines):
        line = raw.get("order_line")
        line_id = line.pk if isinstance(line, OrderLine) else line
        if not isinstance(line_id, int) or line_id not in order_lines:
            errors.append(FieldError(f"lines.{i}.order_line", _("退货行不属于该订单")))
            continue
        try:
            qty = parse_money(raw.get("quantity"))
        except ValueError:
            errors.append(FieldError(f"lines.{i}.quantity", _("请输入有效的数量")))
            continue
        if qty == 0:
            continue  # an untouched row of the form
        # The bound keeps quantize() within Decimal precision ("1e999" is finite).
        if qty < 0 or qty > MAX_QUANTITY or qty != qty.quantize(Decimal("0.01")):
            errors.append(FieldError(f"lines.{i}.quantity", _("数量必须大于0，且最多两位小数")))
            continue
        wanted[line_id] = wanted.get(line_id, Decimal(0)) + qty
        first_index.setdefault(line_id, i)
    for line_id, qty in wanted.items():
        line = order_lines[line_id]
        left = line.quantity - (done.get(line_id, (Decimal(0), Decimal(0)))[0] or Decimal(0))
        if qty > left:
            errors.append(
                FieldError(
                    f"lines.{first_index[line_id]}.quantity",
                    _("%(product)s 最多还可退 %(left)s") % {"product": line.product, "left": left},
                )
            )
    if errors:
        raise ServiceError("invalid_lines", errors[0].message, errors[0].field, errors)
    if not wanted:
        raise ServiceError("no_lines", _("请至少填写一行退货数量"), field="lines")

    ret = create_numbered(
        Return,
        field="return_no",
        number=return_no or "",
        prefix="RT",
        day=return_date,
        duplicate_message=_("退货单号 %(no)s 已存在"),
        original_order=locked,
        return_date=return_date,
        reason=reason.strip()[:200],
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    rows = []
    for line_id, qty in wanted.items():
        line = order_lines[line_id]
        done_qty, done_amount = done.get(line_id, (Decimal(0), Decimal(0)))
        if qty == line.quantity - (done_qty or 0):
            amount = line.amount - (done_amount or Decimal(0))
        else:
            amount = line_amount(qty, line.unit_price)
        rows.append(ReturnLine(ret=ret, order_line=line, quantity=qty, amount=amount))
    ReturnLine.objects.bulk_create(rows)
    ret.total_amount = sum((r.amount for r in rows), Decimal("0.00"))
    ret.save(update_fields=["total_amount"])
    audit_create(actor=actor, obj=ret, fields=_AUDITED)

    before = snapshot(locked, ("returned_amount",))
    locked.returned_amount = locked.returned_amount + ret.total_amount
    locked.save(update_fields=["returned_amount"])
    audit_update(actor=actor, obj=locked, before=before, note=ret.return_no)
    order.returned_amount = locked.returned_amount
    return ret
