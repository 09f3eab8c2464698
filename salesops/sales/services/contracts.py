"""Contract (合同) writes, as the seed's 销售合同管理制度 has them: 签订 (draft → approval →
signed), 履行 (in fulfilment → completed), 变更 (an amendment is a new version, approved
and signed; a signed version is never edited) and 终止 (a reason, approved). The
receivable plan of a contract (回款计划) may not add up to more than the contract, and
expiry reminders go to the owner N days before the end."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.approvals import approval_submit_again
from salesops.core.audit import audit_create, audit_record, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import ApprovalRequest, AuditAction, User
from salesops.core.money import format_money
from salesops.org.models import Employee
from salesops.sales import doctypes
from salesops.sales.models import (
    CONTRACT_IN_FORCE,
    Contract,
    ContractLine,
    ContractStatus,
    Customer,
    Product,
    Quote,
    Receipt,
    ReceiptStatus,
    ReceivablePlan,
)
from salesops.sales.services._common import (
    clean_text,
    create_numbered,
    employee_in_scope,
    notify_owner,
    require_staff,
    viewer_of,
)
from salesops.sales.services.flows import ensure_flow

AMOUNT_MAX = Decimal("999999999999.99")
CENT = Decimal("0.01")
_AUDITED = (
    "name",
    "status",
    "amount",
    "start_on",
    "end_on",
    "signed_on",
    "customer_signatory",
    "our_signatory",
    "owner",
    "termination_reason",
)
# Statuses in which the contract still takes plans (not yet ended or replaced).
_PLANNABLE = (
    ContractStatus.DRAFT,
    ContractStatus.PENDING,
    ContractStatus.APPROVED,
    *CONTRACT_IN_FORCE,
)


def expiry_days() -> int:
    """How many days before its end a contract's owner is reminded (a setting)."""
    return int(getattr(settings, "SALESOPS_CONTRACT_EXPIRY_DAYS", 30))


@dataclasses.dataclass
class ContractLineInput:
    product: Product
    quantity: Decimal
    unit_price: Decimal


@dataclasses.dataclass
class ContractInput:
    name: str
    start_on: datetime.date | None
    end_on: datetime.date | None
    amount: Decimal | None = None  # None: the sum of the lines
    lines: list[ContractLineInput] = dataclasses.field(default_factory=list)
    customer_signatory: str = ""
    our_signatory: Employee | None = None
    terms: str = ""
    campaign_code: str = ""


def _clean(data: ContractInput) -> dict[str, Any]:
    errors: list[FieldError] = []
    name = clean_text(errors, "name", data.name, 200)
    if not name and not errors:
        errors.append(FieldError("name", _("请填写合同名称")))
    if data.start_on is None:
        errors.append(FieldError("start_on", _("请填写合同开始日期")))
    if data.end_on is None:
        errors.append(FieldError("end_on", _("请填写合同结束日期")))
    if data.start_on and data.end_on and data.end_on < data.start_on:
        errors.append(FieldError("end_on", _("结束日期不能早于开始日期")))
    if len(data.lines) > 200:
        errors.append(FieldError("lines", _("合同商品不能超过 %(n)d 行") % {"n": 200}))
    for line in data.lines:
        if line.quantity <= 0 or line.unit_price < 0 or line.unit_price > AMOUNT_MAX:
            errors.append(FieldError("lines", _("合同商品的数量必须大于 0，单价不能为负数")))
            break
    lines_total = sum(
        ((ln.quantity * ln.unit_price).quantize(CENT, ROUND_HALF_UP) for ln in data.lines),
        Decimal(0),
    )
    amount = data.amount if data.amount is not None else lines_total
    if amount <= 0:
        errors.append(FieldError("amount", _("合同金额必须大于 0")))
    elif amount > AMOUNT_MAX:
        errors.append(FieldError("amount", _("合同金额过大")))
    values = {
        "name": name,
        "start_on": data.start_on,
        "end_on": data.end_on,
        "amount": amount.quantize(CENT, ROUND_HALF_UP) if amount > 0 else amount,
        "customer_signatory": clean_text(errors, "customer_signatory", data.customer_signatory, 64),
        "our_signatory": data.our_signatory,
        "terms": clean_text(errors, "terms", data.terms, 5000, multiline=True),
        "campaign_code": clean_text(errors, "campaign_code", data.campaign_code, 32),
    }
    if errors:
        raise ServiceError.invalid(errors)
    return values


def _write_lines(contract: Contract, lines: list[ContractLineInput]) -> None:
    ContractLine.objects.bulk_create(
        ContractLine(
            contract=contract,
            product=ln.product,
            quantity=ln.quantity,
            unit_price=ln.unit_price,
            amount=(ln.quantity * ln.unit_price).quantize(CENT, ROUND_HALF_UP),
        )
        for ln in lines
    )


def _created_by(actor: User | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


@transaction.atomic
def contract_create(
    *,
    actor: User | None,
    customer: Customer,
    data: ContractInput,
    owner: Employee | None = None,
    quote: Quote | None = None,
) -> Contract:
    """A draft contract for an owned customer; the owner defaults to the customer's."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    if customer.owner_id is None:
        raise ServiceError("in_pool", _("客户在公海中，请先领取再签合同"))
    values = _clean(data)
    owner = owner or customer.owner
    assert owner is not None
    employee_in_scope(viewer, owner, "owner")
    if not owner.active:
        raise ServiceError("inactive", _("负责人已离职，不能负责合同"), field="owner")
    contract = create_numbered(
        Contract,
        field="contract_no",
        number="",
        prefix="HT",
        day=timezone.localdate(),
        duplicate_message=_("合同编号 %(no)s 已存在"),
        customer=customer,
        owner=owner,
        department_id=owner.department_id,
        quote=quote,
        created_by=_created_by(actor),
        **values,
    )
    _write_lines(contract, data.lines)
    audit_create(actor=actor, obj=contract, fields=_AUDITED)
    return contract


def contract_from_quote(
    *,
    actor: User | None,
    quote: Quote,
    start_on: datetime.date | None = None,
    end_on: datetime.date | None = None,
) -> Contract:
    """The draft contract of an accepted quote: its lines and total; one year from today
    unless dates are given."""
    start = start_on or timezone.localdate()
    end = end_on or start.replace(year=start.year + 1) - datetime.timedelta(days=1)
    lines = [
        ContractLineInput(product=ln.product, quantity=ln.quantity, unit_price=ln.unit_price)
        for ln in quote.lines.select_related("product")
    ]
    return contract_create(
        actor=actor,
        customer=quote.customer,
        owner=quote.owner,
        quote=quote,
        data=ContractInput(
            name=quote.title,
            start_on=start,
            end_on=end,
            amount=quote.total_amount,
            lines=lines,
            customer_signatory=quote.contact_name,
            campaign_code=quote.campaign_code,
        ),
    )


def _locked(contract: Contract) -> Contract:
    return (
        Contract.objects.select_for_update(of=("self",))
        .select_related("customer", "owner__user")
        .get(pk=contract.pk)
    )


def _status_error(contract: Contract, message: str, code: str = "wrong_status") -> ServiceError:
    return ServiceError(code, message % {"s": contract.get_status_display()}, status=409)


def _set_status(
    contract: Contract, status: str, actor: User | None, note: str = "", **fields: Any
) -> None:
    before = snapshot(contract, _AUDITED)
    contract.status = status
    for name, value in fields.items():
        setattr(contract, name, value)
    contract.save(update_fields=["status", "updated_at", *fields])
    audit_update(actor=actor, obj=contract, before=before, note=note)


@transaction.atomic
def contract_update(*, actor: User | None, contract: Contract, data: ContractInput) -> Contract:
    """Change a draft (a submitted or signed contract is changed by an amendment)."""
    require_staff(viewer_of(actor))
    contract = _locked(contract)
    if contract.status != ContractStatus.DRAFT:
        raise _status_error(
            contract, _("合同%(s)s，只有草稿可以修改；已签署的合同请发起合同变更"), "not_draft"
        )
    values = _clean(data)
    _check_amount_covers(contract, values["amount"])
    before = snapshot(contract, _AUDITED)
    for name, value in values.items():
        setattr(contract, name, value)
    contract.save()
    contract.lines.all().delete()
    _write_lines(contract, data.lines)
    audit_update(actor=actor, obj=contract, before=before)
    return contract


def _family_received(contract: Contract) -> Decimal:
    """Receipts not rejected of the version this amends (they move to the new one)."""
    base = contract.amends if contract.amends_id else contract
    total = Receipt.objects.filter(contract=base).exclude(status=ReceiptStatus.REJECTED)
    return total.aggregate(s=Sum("amount"))["s"] or Decimal(0)


def _check_amount_covers(contract: Contract, amount: Decimal) -> None:
    """An amended amount may not fall below what has been received or planned."""
    planned = plans_total(contract.amends if contract.amends else contract)
    received = _family_received(contract)
    if amount < received:
        raise ServiceError(
            "below_received",
            _("合同金额不能低于已登记的回款 %(r)s") % {"r": format_money(received)},
            field="amount",
        )
    if amount < planned:
        raise ServiceError(
            "below_plans",
            _("合同金额不能低于回款计划合计 %(p)s，请先调整回款计划")
            % {"p": format_money(planned)},
            field="amount",
        )


@transaction.atomic
def contract_submit(*, actor: User, contract: Contract) -> ApprovalRequest:
    """Send a draft for approval (合同审批; the flow is chosen by the amount)."""
    require_staff(viewer_of(actor))
    contract = _locked(contract)
    if contract.status != ContractStatus.DRAFT:
        raise _status_error(contract, _("合同%(s)s，不能重复提交"), "not_draft")
    ensure_flow(doctypes.CONTRACT)
    title = _("合同 %(no)s %(c)s") % {"no": contract, "c": contract.customer.name}
    if contract.amends_id:
        title = _("合同变更 %(no)s %(c)s") % {"no": contract, "c": contract.customer.name}
    request = approval_submit_again(
        actor=actor,
        doc_type=doctypes.CONTRACT,
        object_id=contract.pk,
        title=title,
        amount=contract.amount,
    )
    _set_status(contract, ContractStatus.PENDING, actor)
    return request


def _from_request(request: ApprovalRequest) -> Contract:
    return (
        Contract.objects.select_for_update(of=("self",))
        .select_related("owner__user", "customer")
        .get(pk=int(request.object_id))
    )


def _tell_owner(contract: Contract, title: str) -> None:
    notify_owner(contract.owner, title, reverse("sales:contract_detail", args=[contract.pk]))


def contract_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    contract = _from_request(request)
    if contract.status != ContractStatus.PENDING:
        return
    _set_status(contract, ContractStatus.APPROVED, actor, _("合同审批通过"))
    _tell_owner(contract, _("合同 %(no)s 审批通过，可以签署") % {"no": contract})


def _contract_back(request: ApprovalRequest, actor: User | None, note: str) -> None:
    contract = _from_request(request)
    if contract.status != ContractStatus.PENDING:
        return
    _set_status(contract, ContractStatus.DRAFT, actor, note)
    _tell_owner(contract, _("合同 %(no)s：%(n)s") % {"no": contract, "n": note})


def contract_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _contract_back(request, actor, _("合同审批被驳回"))


def contract_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _contract_back(request, actor, _("合同审批被退回"))


def contract_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _contract_back(request, actor, _("合同审批已撤回"))


@transaction.atomic
def contract_sign(
    *,
    actor: User | None,
    contract: Contract,
    signed_on: datetime.date | None,
    customer_signatory: str,
    our_signatory: Employee | None,
) -> Contract:
    """Record the signature of an approved contract. An amendment takes the place of the
    version it amends: that one becomes 已变更 and its plans and receipts move over."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    contract = _locked(contract)
    if contract.status in (ContractStatus.DRAFT, ContractStatus.PENDING):
        raise ServiceError("needs_approval", _("合同未经审批通过，不能签署"), status=409)
    if contract.status != ContractStatus.APPROVED:
        raise _status_error(contract, _("合同%(s)s，不能再签署"))
    errors: list[FieldError] = []
    customer_signatory = clean_text(errors, "customer_signatory", customer_signatory, 64)
    if not customer_signatory and not errors:
        errors.append(FieldError("customer_signatory", _("请填写客户签约人")))
    if our_signatory is None:
        errors.append(FieldError("our_signatory", _("请选择公司签约人")))
    today = timezone.localdate()
    if signed_on is None:
        errors.append(FieldError("signed_on", _("请填写签约日期")))
    elif signed_on > today:
        errors.append(FieldError("signed_on", _("签约日期不能晚于今天")))
    if errors:
        raise ServiceError.invalid(errors)
    assert our_signatory is not None
    employee_in_scope(viewer, our_signatory, "our_signatory")
    if contract.amends_id:
        _supersede(contract, actor)
    status = ContractStatus.FULFILLING if contract.start_on <= today else ContractStatus.SIGNED
    _set_status(
        contract,
        status,
        actor,
        _("合同签署"),
        signed_on=signed_on,
        customer_signatory=customer_signatory,
        our_signatory=our_signatory,
    )
    return contract


def _supersede(contract: Contract, actor: User | None) -> None:
    assert contract.amends_id is not None
    old = Contract.objects.select_for_update().get(pk=contract.amends_id)
    if old.status not in CONTRACT_IN_FORCE:
        raise _status_error(old, _("被变更的合同%(s)s，不能再变更"))
    _check_amount_covers(contract, contract.amount)
    moved_plans = ReceivablePlan.objects.filter(contract=old).update(contract=contract)
    moved = Receipt.objects.filter(contract=old).update(contract=contract)
    contract.received_amount = old.received_amount
    contract.save(update_fields=["received_amount"])
    _set_status(
        old, ContractStatus.SUPERSEDED, actor, _("已由 v%(v)d 变更") % {"v": contract.version}
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=contract,
        changes={"plans": ("", str(moved_plans)), "receipts": ("", str(moved))},
        note=_("回款计划与回款转入新版本"),
    )


@transaction.atomic
def contract_amend(
    *, actor: User | None, contract: Contract, data: ContractInput, reason: str
) -> Contract:
    """A new draft version of a contract in force (合同变更); the signed one stays as it
    is until the new version is approved and signed."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    contract = _locked(contract)
    if contract.status not in (ContractStatus.SIGNED, ContractStatus.FULFILLING):
        raise _status_error(contract, _("合同%(s)s，只有已签署或履行中的合同可以变更"))
    if Contract.objects.filter(
        contract_no=contract.contract_no, version__gt=contract.version
    ).exists():
        raise ServiceError("amendment_open", _("该合同已有进行中的变更"), status=409)
    errors: list[FieldError] = []
    reason = clean_text(errors, "change_reason", reason, 300)
    if not reason and not errors:
        errors.append(FieldError("change_reason", _("请填写变更原因")))
    if errors:
        raise ServiceError.invalid(errors)
    values = _clean(data)
    new = Contract(
        contract_no=contract.contract_no,
        version=contract.version + 1,
        amends=contract,
        customer=contract.customer,
        owner=contract.owner,
        department_id=contract.department_id,
        quote=contract.quote,
        change_reason=reason,
        created_by=_created_by(actor),
        **values,
    )
    _check_amount_covers(new, values["amount"])
    new.save()
    _write_lines(new, data.lines)
    audit_create(actor=actor, obj=new, fields=(*_AUDITED, "change_reason"))
    return new


@transaction.atomic
def contract_terminate(*, actor: User, contract: Contract, reason: str) -> ApprovalRequest:
    """Ask to end a contract in force early (合同终止); it ends when approved."""
    require_staff(viewer_of(actor))
    contract = _locked(contract)
    if contract.status not in (ContractStatus.SIGNED, ContractStatus.FULFILLING):
        raise _status_error(contract, _("合同%(s)s，不能申请终止"))
    errors: list[FieldError] = []
    reason = clean_text(errors, "reason", reason, 300)
    if not reason and not errors:
        errors.append(FieldError("reason", _("请填写终止原因")))
    if errors:
        raise ServiceError.invalid(errors)
    ensure_flow(doctypes.CONTRACT_TERMINATION)
    request = approval_submit_again(
        actor=actor,
        doc_type=doctypes.CONTRACT_TERMINATION,
        object_id=contract.pk,
        title=_("终止合同 %(no)s %(c)s") % {"no": contract, "c": contract.customer.name},
        amount=contract.amount,
    )
    _set_status(
        contract,
        ContractStatus.TERMINATING,
        actor,
        reason,
        termination_reason=reason,
        resume_status=contract.status,
    )
    return request


def termination_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    contract = _from_request(request)
    if contract.status != ContractStatus.TERMINATING:
        return
    _set_status(
        contract,
        ContractStatus.TERMINATED,
        actor,
        _("合同终止审批通过"),
        terminated_on=timezone.localdate(),
    )
    _tell_owner(contract, _("合同 %(no)s 已终止") % {"no": contract})


def _termination_back(request: ApprovalRequest, actor: User | None, note: str) -> None:
    contract = _from_request(request)
    if contract.status != ContractStatus.TERMINATING:
        return
    _set_status(contract, contract.resume_status or ContractStatus.SIGNED, actor, note)
    _tell_owner(contract, _("合同 %(no)s：%(n)s") % {"no": contract, "n": note})


def termination_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _termination_back(request, actor, _("合同终止申请被驳回"))


def termination_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _termination_back(request, actor, _("合同终止申请被退回"))


def termination_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _termination_back(request, actor, _("合同终止申请已撤回"))


@transaction.atomic
def contract_complete(*, actor: User | None, contract: Contract) -> Contract:
    """Fulfilled (履行完毕)."""
    require_staff(viewer_of(actor))
    contract = _locked(contract)
    if contract.status not in (ContractStatus.SIGNED, ContractStatus.FULFILLING):
        raise _status_error(contract, _("合同%(s)s，不能标记为已完成"))
    _set_status(contract, ContractStatus.COMPLETED, actor, completed_on=timezone.localdate())
    return contract


# ------------------------------------------------------------------- receivable plans


def plans_total(contract: Contract) -> Decimal:
    return ReceivablePlan.objects.filter(contract=contract).aggregate(s=Sum("amount"))[
        "s"
    ] or Decimal(0)


@dataclasses.dataclass
class PlanInput:
    due_on: datetime.date | None
    amount: Decimal
    note: str = ""


@transaction.atomic
def plans_add(
    *, actor: User | None, contract: Contract, plans: list[PlanInput]
) -> list[ReceivablePlan]:
    """Add instalments (the next 期数 each); together with the plans already there they
    may not exceed the contract amount (``plans_exceed_contract``)."""
    require_staff(viewer_of(actor))
    contract = _locked(contract)
    if contract.status not in _PLANNABLE:
        raise _status_error(contract, _("合同%(s)s，不能再添加回款计划"))
    errors: list[FieldError] = []
    if not plans:
        errors.append(FieldError("plans", _("请至少填写一期回款计划")))
    if len(plans) > 120:
        errors.append(FieldError("plans", _("回款计划不能超过 %(n)d 期") % {"n": 120}))
    for plan in plans:
        if plan.due_on is None:
            errors.append(FieldError("plans", _("请填写每期的计划回款日期")))
        if plan.amount <= 0 or plan.amount > AMOUNT_MAX:
            errors.append(FieldError("plans", _("每期计划回款金额必须大于 0")))
        clean_text(errors, "plans", plan.note, 200)
    if errors:
        raise ServiceError.invalid(errors)
    total = plans_total(contract) + sum((p.amount for p in plans), Decimal(0))
    if total > contract.amount:
        raise ServiceError(
            "plans_exceed_contract",
            _("回款计划合计 %(t)s 超出合同金额 %(a)s，目前还可计划 %(r)s")
            % {
                "t": format_money(total),
                "a": format_money(contract.amount),
                "r": format_money(contract.amount - plans_total(contract)),
            },
            field="plans",
        )
    last = ReceivablePlan.objects.filter(contract=contract).aggregate(m=Max("period"))["m"] or 0
    created = []
    for i, plan in enumerate(plans, start=1):
        assert plan.due_on is not None
        row = ReceivablePlan.objects.create(
            contract=contract,
            period=last + i,
            due_on=plan.due_on,
            amount=plan.amount.quantize(CENT, ROUND_HALF_UP),
            note=plan.note.strip(),
        )
        audit_create(actor=actor, obj=row, fields=("period", "due_on", "amount"))
        created.append(row)
    return created


@transaction.atomic
def plan_delete(*, actor: User | None, plan: ReceivablePlan) -> None:
    """Remove an instalment no receipt was recorded against."""
    require_staff(viewer_of(actor))
    plan = ReceivablePlan.objects.select_for_update().get(pk=plan.pk)
    if plan.receipts.exists():
        raise ServiceError("plan_in_use", _("该期已有回款记录，不能删除"), status=409)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=plan,
        changes={"amount": (str(plan.amount), ""), "due_on": (str(plan.due_on), "")},
    )
    plan.delete()


# ------------------------------------------------------------------------- reminders


@dataclasses.dataclass
class Reminded:
    expiring: int
    overdue: int


@transaction.atomic
def contract_reminders(now: datetime.datetime | None = None) -> Reminded:
    """Tell owners of contracts ending within ``expiry_days()`` (once per contract) and
    of instalments past their date and not fully received (once per instalment)."""
    today = timezone.localdate(now or timezone.now())
    horizon = today + datetime.timedelta(days=expiry_days())
    expiring = list(
        Contract.objects.select_for_update(of=("self",))
        .filter(
            status__in=CONTRACT_IN_FORCE,
            end_on__lte=horizon,
            end_on__gte=today,
            expiry_reminded=False,
        )
        .select_related("owner__user")[:5000]
    )
    for contract in expiring:
        _tell_owner(
            contract,
            _("合同 %(no)s（%(c)s）将于 %(d)s 到期")
            % {"no": contract, "c": contract.customer.name, "d": contract.end_on},
        )
    Contract.objects.filter(pk__in=[c.pk for c in expiring]).update(expiry_reminded=True)
    overdue = list(
        ReceivablePlan.objects.select_for_update(of=("self",))
        .filter(due_on__lt=today, reminded=False, contract__status__in=CONTRACT_IN_FORCE)
        .select_related("contract__owner__user", "contract__customer")[:5000]
    )
    late = [p for p in overdue if p.received < p.amount]
    for plan in late:
        _tell_owner(
            plan.contract,
            _("合同 %(no)s 第 %(p)d 期回款已逾期（计划 %(d)s，未回 %(r)s）")
            % {
                "no": plan.contract,
                "p": plan.period,
                "d": plan.due_on,
                "r": format_money(plan.amount - plan.received),
            },
        )
    ReceivablePlan.objects.filter(pk__in=[p.pk for p in late]).update(reminded=True)
    return Reminded(expiring=len(expiring), overdue=len(late))


def contract_reminders_job(now: datetime.datetime) -> str:
    done = contract_reminders(now)
    return _("到期提醒 %(e)d 份合同，逾期提醒 %(o)d 期回款") % {
        "e": done.expiring,
        "o": done.overdue,
    }
