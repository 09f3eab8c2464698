"""Quote (报价) writes. A quote is priced from the price list valid on its date; when the
whole quote's discount is beyond the submitting person's limit (per role, a setting;
``DEFAULT_DISCOUNT_LIMITS`` otherwise) or a line is below its product's floor price, the
submit goes through the approval engine, and while it waits the quote can be neither
sent nor accepted. Only a draft is edited: a quote sent back to draft (撤回修改) needs its
approval again. An accepted quote becomes a draft contract or an order.

Everything is decided here, so the page and the API cannot differ (a quote's discount
cannot bypass its approval through the API)."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.approvals import approval_submit_again
from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import ApprovalRequest, RoleCode, User
from salesops.core.money import format_money
from salesops.org.models import Employee
from salesops.sales import doctypes
from salesops.sales.models import (
    Customer,
    DiscountLimit,
    Order,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
)
from salesops.sales.selectors import price_item_for
from salesops.sales.services._common import (
    clean_text,
    create_numbered,
    employee_in_scope,
    notify_owner,
    require_staff,
    viewer_of,
)
from salesops.sales.services.flows import ensure_flow

VALID_DAYS = 30
AMOUNT_MAX = Decimal("999999999999.99")
CENT = Decimal("0.01")
# Percent below the list price each role may quote without approval (when no
# ``DiscountLimit`` row says otherwise). Roles not named need approval for any discount.
DEFAULT_DISCOUNT_LIMITS: dict[str, Decimal] = {
    RoleCode.REP: Decimal(15),
    RoleCode.MANAGER: Decimal(20),
    RoleCode.DIRECTOR: Decimal(30),
    RoleCode.ADMIN: Decimal(100),
}
_AUDITED = (
    "title",
    "status",
    "quote_date",
    "valid_until",
    "list_total",
    "total_amount",
    "discount",
    "approval_reason",
    "owner",
)


@dataclasses.dataclass
class QuoteLineInput:
    product: Product
    quantity: Decimal
    unit_price: Decimal | None = None  # None: the list price


@dataclasses.dataclass
class QuoteInput:
    title: str
    lines: list[QuoteLineInput]
    quote_date: datetime.date | None = None  # None: today
    valid_until: datetime.date | None = None  # None: VALID_DAYS after the quote date
    contact_name: str = ""
    note: str = ""
    campaign_code: str = ""


@dataclasses.dataclass
class _Priced:
    product: Product
    quantity: Decimal
    list_price: Decimal
    unit_price: Decimal
    floor_price: Decimal | None

    @property
    def amount(self) -> Decimal:
        return (self.quantity * self.unit_price).quantize(CENT, ROUND_HALF_UP)

    @property
    def list_amount(self) -> Decimal:
        return (self.quantity * self.list_price).quantize(CENT, ROUND_HALF_UP)


def discount_limit(user: User | None) -> Decimal:
    """The discount (percent) ``user`` may quote without approval."""
    if user is None:
        return Decimal(100)
    if user.is_superuser:
        return Decimal(100)
    if user.role_id is None:
        return Decimal(0)
    row = DiscountLimit.objects.filter(role_id=user.role_id).first()
    if row is not None:
        return row.max_discount
    return DEFAULT_DISCOUNT_LIMITS.get(user.role_code, Decimal(0))


def _price(errors: list[FieldError], day: datetime.date, data: QuoteInput) -> list[_Priced]:
    priced: list[_Priced] = []
    if not data.lines:
        errors.append(FieldError("lines", _("请至少添加一个报价商品")))
    if len(data.lines) > 200:
        errors.append(FieldError("lines", _("报价商品不能超过 %(n)d 行") % {"n": 200}))
        return priced
    for line in data.lines:
        if not line.product.active:
            errors.append(
                FieldError("lines", _("商品 %(p)s 已停售，不能报价") % {"p": line.product})
            )
            continue
        if line.quantity <= 0 or line.quantity > Decimal("9999999999"):
            errors.append(FieldError("lines", _("数量必须大于 0")))
            continue
        item = price_item_for(line.product, day)
        if item is None:
            errors.append(
                FieldError(
                    "lines",
                    _("商品 %(p)s 在 %(d)s 没有有效价格，请先维护价目表")
                    % {"p": line.product, "d": day},
                )
            )
            continue
        unit = item.list_price if line.unit_price is None else line.unit_price
        if unit < 0 or unit > AMOUNT_MAX:
            errors.append(FieldError("lines", _("单价不正确")))
            continue
        priced.append(
            _Priced(
                product=line.product,
                quantity=line.quantity,
                list_price=item.list_price,
                unit_price=unit.quantize(CENT, ROUND_HALF_UP),
                floor_price=item.floor_price,
            )
        )
    return priced


def _clean(data: QuoteInput) -> tuple[dict[str, Any], list[_Priced]]:
    errors: list[FieldError] = []
    title = clean_text(errors, "title", data.title, 200)
    if not title and not errors:
        errors.append(FieldError("title", _("请填写报价主题")))
    today = timezone.localdate()
    day = data.quote_date or today
    if day > today + datetime.timedelta(days=30):
        errors.append(FieldError("quote_date", _("报价日期不能晚于 30 天后")))
    valid_until = data.valid_until or day + datetime.timedelta(days=VALID_DAYS)
    if valid_until < day:
        errors.append(FieldError("valid_until", _("有效期不能早于报价日期")))
    elif valid_until > day + datetime.timedelta(days=366):
        errors.append(FieldError("valid_until", _("有效期不能超过一年")))
    values = {
        "title": title,
        "quote_date": day,
        "valid_until": valid_until,
        "contact_name": clean_text(errors, "contact_name", data.contact_name, 64),
        "note": clean_text(errors, "note", data.note, 500),
        "campaign_code": clean_text(errors, "campaign_code", data.campaign_code, 32),
    }
    priced = _price(errors, day, data)
    list_total = sum((p.list_amount for p in priced), Decimal(0))
    total = sum((p.amount for p in priced), Decimal(0))
    if total > AMOUNT_MAX or list_total > AMOUNT_MAX:
        errors.append(FieldError("lines", _("报价金额过大")))
    if errors:
        raise ServiceError.invalid(errors)
    values["list_total"] = list_total
    values["total_amount"] = total
    values["discount"] = _discount(list_total, total)
    return values, priced


def _discount(list_total: Decimal, total: Decimal) -> Decimal:
    """Percent below the list total (0 when priced at or above it)."""
    if list_total <= 0 or total >= list_total:
        return Decimal("0.00")
    return ((1 - total / list_total) * 100).quantize(CENT, ROUND_HALF_UP)


def _write_lines(quote: Quote, priced: list[_Priced]) -> None:
    QuoteLine.objects.bulk_create(
        QuoteLine(
            quote=quote,
            product=p.product,
            quantity=p.quantity,
            list_price=p.list_price,
            unit_price=p.unit_price,
            floor_price=p.floor_price,
            amount=p.amount,
        )
        for p in priced
    )


@transaction.atomic
def quote_create(
    *,
    actor: User | None,
    customer: Customer,
    data: QuoteInput,
    owner: Employee | None = None,
) -> Quote:
    """A draft quote for an owned customer; the owner defaults to the customer's."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    if customer.owner_id is None:
        raise ServiceError("in_pool", _("客户在公海中，请先领取再报价"))
    values, priced = _clean(data)
    owner = owner or customer.owner
    assert owner is not None
    employee_in_scope(viewer, owner, "owner")
    if not owner.active:
        raise ServiceError("inactive", _("负责人已离职，不能负责报价"), field="owner")
    quote = create_numbered(
        Quote,
        field="quote_no",
        number="",
        prefix="BJ",
        day=timezone.localdate(),
        duplicate_message=_("报价单号 %(no)s 已存在"),
        customer=customer,
        owner=owner,
        department_id=owner.department_id,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        **values,
    )
    _write_lines(quote, priced)
    audit_create(actor=actor, obj=quote, fields=_AUDITED)
    return quote


def _locked(quote: Quote) -> Quote:
    return Quote.objects.select_for_update(of=("self",)).select_related("customer").get(pk=quote.pk)


def _status_error(quote: Quote, message: str, code: str = "wrong_status") -> ServiceError:
    return ServiceError(
        code, message % {"s": quote.get_status_display(), "no": quote.quote_no}, status=409
    )


@transaction.atomic
def quote_update(*, actor: User | None, quote: Quote, data: QuoteInput) -> Quote:
    """Change a draft: its lines are priced again."""
    require_staff(viewer_of(actor))
    quote = _locked(quote)
    if quote.status != QuoteStatus.DRAFT:
        raise _status_error(quote, _("报价单%(s)s，只有草稿可以修改；请先撤回修改"), "not_draft")
    values, priced = _clean(data)
    before = snapshot(quote, _AUDITED)
    for name, value in values.items():
        setattr(quote, name, value)
    quote.approval_reason = ""
    quote.save()
    quote.lines.all().delete()
    _write_lines(quote, priced)
    audit_update(actor=actor, obj=quote, before=before)
    return quote


def approval_reasons(quote: Quote, submitter: User | None) -> list[str]:
    """Why the quote needs approval when ``submitter`` sends it: [] when it need not."""
    reasons = []
    limit = discount_limit(submitter)
    if quote.discount > limit:
        reasons.append(
            _("整单折扣 %(d)s%% 超出您的折扣权限 %(l)s%%")
            % {"d": quote.discount, "l": limit.normalize()}
        )
    for line in quote.lines.select_related("product"):
        if line.floor_price is not None and line.unit_price < line.floor_price:
            reasons.append(
                _("%(p)s 单价 %(u)s 低于最低售价 %(f)s")
                % {
                    "p": line.product.name,
                    "u": format_money(line.unit_price),
                    "f": format_money(line.floor_price),
                }
            )
    return reasons


@dataclasses.dataclass
class Submitted:
    quote: Quote
    request: ApprovalRequest | None  # None: within the limits, approved at once


@transaction.atomic
def quote_submit(*, actor: User, quote: Quote) -> Submitted:
    """Submit a draft: within the submitter's discount limit and every floor price it is
    ready to send at once; otherwise an approval request is opened (报价审批)."""
    require_staff(viewer_of(actor))
    quote = _locked(quote)
    if quote.status != QuoteStatus.DRAFT:
        raise _status_error(quote, _("报价单%(s)s，不能重复提交"), "not_draft")
    if quote.valid_until < timezone.localdate():
        raise ServiceError("expired", _("报价单已过有效期，请修改有效期后再提交"), status=409)
    before = snapshot(quote, _AUDITED)
    reasons = approval_reasons(quote, actor)
    request = None
    quote.approval_reason = "；".join(reasons)[:300]
    if reasons:
        ensure_flow(doctypes.QUOTE)
        request = approval_submit_again(
            actor=actor,
            doc_type=doctypes.QUOTE,
            object_id=quote.pk,
            title=_("报价 %(no)s %(c)s（折扣 %(d)s%%）")
            % {"no": quote.quote_no, "c": quote.customer.name, "d": quote.discount},
            amount=quote.total_amount,
        )
        quote.status = QuoteStatus.PENDING
    else:
        quote.status = QuoteStatus.APPROVED
        quote.approved_at = timezone.now()
    quote.save(update_fields=["status", "approval_reason", "approved_at", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before)
    return Submitted(quote=quote, request=request)


def _from_request(request: ApprovalRequest) -> Quote:
    return (
        Quote.objects.select_for_update(of=("self",))
        .select_related("owner__user")
        .get(pk=int(request.object_id))
    )


def _tell_owner(quote: Quote, title: str) -> None:
    notify_owner(quote.owner, title, reverse("sales:quote_detail", args=[quote.pk]))


def quote_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    quote = _from_request(request)
    if quote.status != QuoteStatus.PENDING:
        return
    before = snapshot(quote, _AUDITED)
    quote.status, quote.approved_at = QuoteStatus.APPROVED, timezone.now()
    quote.save(update_fields=["status", "approved_at", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before, note=_("报价审批通过"))
    _tell_owner(quote, _("报价单 %(no)s 审批通过，可以发送给客户") % {"no": quote.quote_no})


def _back_to_draft(request: ApprovalRequest, actor: User | None, note: str) -> None:
    quote = _from_request(request)
    if quote.status != QuoteStatus.PENDING:
        return
    before = snapshot(quote, _AUDITED)
    quote.status = QuoteStatus.DRAFT
    quote.save(update_fields=["status", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before, note=note)
    _tell_owner(quote, _("报价单 %(no)s：%(n)s") % {"no": quote.quote_no, "n": note})


def quote_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back_to_draft(request, actor, _("报价审批被驳回"))


def quote_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back_to_draft(request, actor, _("报价审批被退回"))


def quote_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back_to_draft(request, actor, _("报价审批已撤回"))


def _ready(quote: Quote, doing: str) -> None:
    """Refuse to send or accept a quote that is not approved, or expired."""
    if quote.status in (QuoteStatus.DRAFT, QuoteStatus.PENDING):
        message = (
            _("报价单审批中，不能%(doing)s")
            if quote.status == QuoteStatus.PENDING
            else _("报价单尚未提交审批，不能%(doing)s")
        )
        raise ServiceError("needs_approval", message % {"doing": doing}, status=409)
    if quote.valid_until < timezone.localdate():
        raise ServiceError(
            "expired",
            _("报价单已于 %(d)s 过期，不能%(doing)s") % {"d": quote.valid_until, "doing": doing},
            status=409,
        )


@transaction.atomic
def quote_send(*, actor: User | None, quote: Quote) -> Quote:
    """Mark an approved quote as sent to the customer (after printing or mailing it)."""
    require_staff(viewer_of(actor))
    quote = _locked(quote)
    _ready(quote, _("发送"))
    if quote.status not in (QuoteStatus.APPROVED, QuoteStatus.SENT):
        raise _status_error(quote, _("报价单%(s)s，不能发送"))
    before = snapshot(quote, _AUDITED)
    quote.status, quote.sent_at = QuoteStatus.SENT, timezone.now()
    quote.save(update_fields=["status", "sent_at", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before)
    return quote


INTO = ("contract", "order", "")


@dataclasses.dataclass
class Accepted:
    quote: Quote
    contract_id: int | None = None
    order: Order | None = None


@transaction.atomic
def quote_accept(
    *,
    actor: User | None,
    quote: Quote,
    into: str = "",
    start_on: datetime.date | None = None,
    end_on: datetime.date | None = None,
) -> Accepted:
    """The customer accepted it: it becomes a draft contract (``into="contract"``,
    from ``start_on`` to ``end_on``), an order at the quoted prices (``"order"``), or
    neither yet."""
    from salesops.sales.services.contracts import contract_from_quote
    from salesops.sales.services.orders import order_create

    require_staff(viewer_of(actor))
    if into not in INTO:
        raise ServiceError("invalid_input", _("请选择转为合同或订单"), field="into")
    quote = _locked(quote)
    _ready(quote, _("确认接受"))
    if quote.status not in (QuoteStatus.APPROVED, QuoteStatus.SENT):
        raise _status_error(quote, _("报价单%(s)s，不能再确认接受"))
    before = snapshot(quote, _AUDITED)
    quote.status, quote.decided_at = QuoteStatus.ACCEPTED, timezone.now()
    quote.save(update_fields=["status", "decided_at", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before)
    result = Accepted(quote=quote)
    if into == "contract":
        result.contract_id = contract_from_quote(
            actor=actor, quote=quote, start_on=start_on, end_on=end_on
        ).pk
    elif into == "order":
        result.order = order_create(
            actor=actor,
            order_date=timezone.localdate(),
            customer=quote.customer,
            credited_employee=quote.owner,
            lines=[
                {"product": ln.product, "quantity": ln.quantity, "unit_price": ln.unit_price}
                for ln in quote.lines.select_related("product")
            ],
        )
    return result


@transaction.atomic
def quote_decline(*, actor: User | None, quote: Quote, reason: str) -> Quote:
    require_staff(viewer_of(actor))
    quote = _locked(quote)
    if quote.status not in (QuoteStatus.APPROVED, QuoteStatus.SENT):
        raise _status_error(quote, _("报价单%(s)s，不能标记为客户未接受"))
    errors: list[FieldError] = []
    reason = clean_text(errors, "reason", reason, 300)
    if errors or not reason:
        raise ServiceError(
            "invalid_input", _("请填写客户未接受的原因（300字以内）"), field="reason"
        )
    before = snapshot(quote, _AUDITED)
    quote.status, quote.decided_at = QuoteStatus.DECLINED, timezone.now()
    quote.note = (f"{quote.note}\n" if quote.note else "") + _("未接受：") + reason
    quote.note = quote.note[-500:]
    quote.save(update_fields=["status", "decided_at", "note", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before, note=reason)
    return quote


@transaction.atomic
def quote_reopen(*, actor: User | None, quote: Quote) -> Quote:
    """Back to draft to change it (撤回修改): an approved or sent quote needs its approval
    again; a pending one is withdrawn on the 审批 page instead."""
    require_staff(viewer_of(actor))
    quote = _locked(quote)
    if quote.status not in (QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.DECLINED):
        raise _status_error(quote, _("报价单%(s)s，不能撤回修改"))
    before = snapshot(quote, _AUDITED)
    quote.status, quote.approved_at, quote.sent_at = QuoteStatus.DRAFT, None, None
    quote.save(update_fields=["status", "approved_at", "sent_at", "updated_at"])
    audit_update(actor=actor, obj=quote, before=before)
    return quote


LIMIT_ROLES = (RoleCode.REP, RoleCode.MANAGER, RoleCode.DIRECTOR, RoleCode.MARKETING,
               RoleCode.FINANCE)  # fmt: skip


def discount_limits() -> dict[str, Decimal]:
    """Each quoting role's limit: the setting, else the default (0 for roles without)."""
    rows = {
        code: value
        for code, value in DiscountLimit.objects.values_list("role__code", "max_discount")
    }
    return {
        code: rows.get(code, DEFAULT_DISCOUNT_LIMITS.get(code, Decimal(0))) for code in LIMIT_ROLES
    }


@transaction.atomic
def discount_limits_set(*, actor: User, limits: dict[str, Decimal]) -> None:
    """Set the discount limits per role (admins only; 0–100 %, audited)."""
    from salesops.core.errors import PermissionDeniedError
    from salesops.core.models import Role

    viewer = viewer_of(actor)
    if viewer is None or not viewer.is_admin:
        raise PermissionDeniedError(_("只有管理员可以设置报价折扣权限"))
    errors = [
        FieldError(code, _("折扣权限须在 0 到 100 之间"))
        for code, value in limits.items()
        if code not in LIMIT_ROLES or not Decimal(0) <= value <= Decimal(100)
    ]
    if errors:
        raise ServiceError.invalid(errors)
    for code, value in limits.items():
        role = Role.objects.get(code=code)
        row = DiscountLimit.objects.select_for_update().filter(role=role).first()
        value = value.quantize(CENT)
        if row is None:
            row = DiscountLimit.objects.create(role=role, max_discount=value)
            audit_create(actor=actor, obj=row, fields=("role", "max_discount"))
        elif row.max_discount != value:
            before = snapshot(row, ("max_discount",))
            row.max_discount = value
            row.save(update_fields=["max_discount"])
            audit_update(actor=actor, obj=row, before=before)
