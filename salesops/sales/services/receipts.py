"""Receipt (回款) writes: money received on a signed contract, against one of its
instalments or not, confirmed by finance through the approval engine. Receipts not
rejected may not add up to more than the contract (``exceeds_contract``) unless the
receipt is recorded as an overpayment on purpose, with a note. A confirmed receipt adds
to its instalment's and its contract's received amounts."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.approvals import approval_submit
from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import ApprovalRequest, User
from salesops.core.money import format_money
from salesops.core.text import has_control_chars
from salesops.sales import doctypes
from salesops.sales.models import (
    CONTRACT_IN_FORCE,
    Contract,
    ContractStatus,
    Receipt,
    ReceiptMethod,
    ReceiptStatus,
    ReceivablePlan,
)
from salesops.sales.services._common import (
    create_numbered,
    notify_owner,
    require_staff,
    viewer_of,
)
from salesops.sales.services.flows import ensure_flow

AMOUNT_MAX = Decimal("999999999999.99")
CENT = Decimal("0.01")
_AUDITED = ("status", "amount", "received_on", "method", "overpayment", "plan", "owner")


@dataclasses.dataclass
class ReceiptInput:
    received_on: datetime.date | None
    amount: Decimal
    method: str
    plan: ReceivablePlan | None = None
    note: str = ""
    overpayment: bool = False


def received_total(contract: Contract) -> Decimal:
    """Receipts of the contract that are pending or confirmed."""
    rows = Receipt.objects.filter(contract=contract).exclude(status=ReceiptStatus.REJECTED)
    return rows.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def _clean(contract: Contract, data: ReceiptInput) -> tuple[Decimal, str]:
    errors: list[FieldError] = []
    today = timezone.localdate()
    if data.received_on is None:
        errors.append(FieldError("received_on", _("请填写回款日期")))
    elif data.received_on > today:
        errors.append(FieldError("received_on", _("回款日期不能晚于今天")))
    elif data.received_on < today - datetime.timedelta(days=3660):
        errors.append(FieldError("received_on", _("回款日期不正确")))
    if data.amount <= 0:
        errors.append(FieldError("amount", _("回款金额必须大于 0")))
    elif data.amount > AMOUNT_MAX:
        errors.append(FieldError("amount", _("回款金额过大")))
    if data.method not in ReceiptMethod.values:
        errors.append(FieldError("method", _("请选择回款方式")))
    if data.plan is not None and data.plan.contract_id != contract.pk:
        errors.append(FieldError("plan", _("所选回款计划不属于该合同")))
    note = (data.note or "").strip()
    if len(note) > 300 or has_control_chars(note):
        errors.append(FieldError("note", _("备注不能超过300个字符")))
    if data.overpayment and not note:
        errors.append(FieldError("note", _("超额回款请在备注中说明原因")))
    if errors:
        raise ServiceError.invalid(errors)
    return data.amount.quantize(CENT, ROUND_HALF_UP), note


@transaction.atomic
def receipt_create(*, actor: User, contract: Contract, data: ReceiptInput) -> Receipt:
    """Record a receipt on a signed contract and send it to finance for confirmation.
    It is credited to the contract's owner."""
    require_staff(viewer_of(actor))
    contract = (
        Contract.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(pk=contract.pk)
    )
    if contract.status not in CONTRACT_IN_FORCE and contract.status != ContractStatus.COMPLETED:
        raise ServiceError(
            "contract_not_signed",
            _("合同%(s)s，只有已签署的合同可以登记回款") % {"s": contract.get_status_display()},
            status=409,
        )
    amount, note = _clean(contract, data)
    remaining = contract.amount - received_total(contract)
    if amount > remaining and not data.overpayment:
        raise ServiceError(
            "exceeds_contract",
            _("回款金额超出合同金额，目前剩余可回款：%(r)s；确属超额回款请勾选“超额回款”并说明原因")
            % {"r": format_money(max(remaining, Decimal(0)))},
            field="amount",
        )
    receipt = create_numbered(
        Receipt,
        field="receipt_no",
        number="",
        prefix="HK",
        day=timezone.localdate(),
        duplicate_message=_("回款单号 %(no)s 已存在"),
        contract=contract,
        plan=data.plan,
        customer=contract.customer,
        owner_id=contract.owner_id,
        department_id=contract.department_id,
        received_on=data.received_on,
        amount=amount,
        method=data.method,
        overpayment=data.overpayment and amount > remaining,
        note=note,
        created_by=actor if actor.is_authenticated else None,
    )
    audit_create(actor=actor, obj=receipt, fields=_AUDITED)
    ensure_flow(doctypes.RECEIPT)
    approval_submit(
        actor=actor,
        doc_type=doctypes.RECEIPT,
        object_id=receipt.pk,
        title=_("回款 %(no)s %(c)s %(a)s")
        % {"no": receipt.receipt_no, "c": contract.customer.name, "a": format_money(amount)},
        amount=amount,
    )
    return receipt


def _from_request(request: ApprovalRequest) -> Receipt:
    return (
        Receipt.objects.select_for_update(of=("self",))
        .select_related("owner__user")
        .get(pk=int(request.object_id))
    )


def _tell_owner(receipt: Receipt, title: str) -> None:
    notify_owner(receipt.owner, title, reverse("sales:receipt_detail", args=[receipt.pk]))


def receipt_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    """Finance confirmed it: it counts on its instalment and contract."""
    receipt = _from_request(request)
    if receipt.status != ReceiptStatus.PENDING:
        return
    before = snapshot(receipt, _AUDITED)
    receipt.status, receipt.confirmed_at = ReceiptStatus.APPROVED, timezone.now()
    receipt.save(update_fields=["status", "confirmed_at"])
    Contract.objects.filter(pk=receipt.contract_id).update(
        received_amount=F("received_amount") + receipt.amount
    )
    if receipt.plan_id is not None:
        ReceivablePlan.objects.filter(pk=receipt.plan_id).update(
            received=F("received") + receipt.amount
        )
    audit_update(actor=actor, obj=receipt, before=before, note=_("财务确认回款"))
    _tell_owner(receipt, _("回款 %(no)s %(a)s 已由财务确认") % {
        "no": receipt.receipt_no, "a": format_money(receipt.amount)
    })  # fmt: skip


def _refuse(request: ApprovalRequest, actor: User | None, note: str) -> None:
    receipt = _from_request(request)
    if receipt.status != ReceiptStatus.PENDING:
        return
    before = snapshot(receipt, _AUDITED)
    receipt.status = ReceiptStatus.REJECTED
    receipt.save(update_fields=["status"])
    audit_update(actor=actor, obj=receipt, before=before, note=note)
    _tell_owner(receipt, _("回款 %(no)s：%(n)s") % {"no": receipt.receipt_no, "n": note})


def receipt_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _refuse(request, actor, _("财务驳回了回款"))


def receipt_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _refuse(request, actor, _("财务退回了回款，请核对后重新登记"))


def receipt_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _refuse(request, actor, _("回款登记已撤回"))
