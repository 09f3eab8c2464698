"""Opportunity (商机) writes: create on an owned customer in the sales process of the
owner's department, change name/amount/date/products (money: audited), move between the
stages of the group (each move recorded with who and when), and end it — 赢单 (the
customer becomes 成交), 输单 (a reason is required) or 无效."""

from __future__ import annotations

import dataclasses
import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import User
from salesops.core.text import has_control_chars
from salesops.crm.models import (
    Lead,
    Opportunity,
    OpportunityProduct,
    OpportunityStatus,
    Stage,
    StageChange,
)
from salesops.crm.selectors.opportunities import group_for_department, stages_of
from salesops.crm.services.stages import ensure_default_stage_group
from salesops.org.models import Employee
from salesops.sales.models import Customer, CustomerStatus, Product
from salesops.sales.services._common import (
    create_numbered,
    employee_in_scope,
    require_staff,
    viewer_of,
)

_AUDITED = ("name", "amount", "close_on", "owner", "stage", "status", "lost_reason")
AMOUNT_MAX = Decimal("999999999999.99")


@dataclasses.dataclass
class ProductLine:
    product: Product
    quantity: Decimal
    price: Decimal


@dataclasses.dataclass
class OpportunityInput:
    name: str
    amount: Decimal | None = None  # None: the sum of the product lines
    close_on: datetime.date | None = None
    products: list[ProductLine] = dataclasses.field(default_factory=list)
    campaign_code: str = ""


def _clean(data: OpportunityInput) -> tuple[str, Decimal, datetime.date]:
    errors: list[FieldError] = []
    name = (data.name or "").strip()
    if not name:
        errors.append(FieldError("name", _("请填写商机名称")))
    elif len(name) > 200:
        errors.append(FieldError("name", _("不能超过%(n)d个字符") % {"n": 200}))
    elif has_control_chars(name):
        errors.append(FieldError("name", _("不能包含不可见的控制字符")))
    for line in data.products:
        if line.quantity <= 0:
            errors.append(FieldError("products", _("产品数量必须大于 0")))
        if line.price < 0:
            errors.append(FieldError("products", _("产品单价不能为负数")))
    lines_total = sum((ln.quantity * ln.price for ln in data.products), Decimal(0))
    amount = data.amount if data.amount is not None else lines_total
    if amount < 0:
        errors.append(FieldError("amount", _("预计金额不能为负数")))
    elif amount > AMOUNT_MAX:
        errors.append(FieldError("amount", _("预计金额过大")))
    if data.close_on is None:
        errors.append(FieldError("close_on", _("请填写预计成交日期")))
    if len(data.campaign_code) > 32 or has_control_chars(data.campaign_code):
        errors.append(FieldError("campaign_code", _("活动代码不正确")))
    if errors:
        raise ServiceError.invalid(errors)
    assert data.close_on is not None
    return name, amount.quantize(Decimal("0.01")), data.close_on


def _record(
    opp: Opportunity,
    *,
    actor: User | None,
    from_stage: Stage | None,
    from_status: str,
    note: str = "",
) -> None:
    StageChange.objects.create(
        opportunity=opp,
        from_stage=from_stage,
        to_stage=opp.stage,
        from_status=from_status,
        to_status=opp.status,
        actor=actor if actor is not None and actor.is_authenticated else None,
        note=note,
        at=timezone.now(),
    )


@transaction.atomic
def opportunity_create(
    *,
    actor: User | None,
    customer: Customer,
    data: OpportunityInput,
    owner: Employee | None = None,
    lead: Lead | None = None,
) -> Opportunity:
    """A new opportunity at the first stage of the owner's department's process. The
    owner defaults to the customer's; a customer in the pool must be claimed first."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    if customer.owner_id is None:
        raise ServiceError("in_pool", _("客户在公海中，请先领取再新建商机"))
    name, amount, close_on = _clean(data)
    if owner is None:
        owner = customer.owner
    assert owner is not None
    employee_in_scope(viewer, owner, "owner")
    if not owner.active:
        raise ServiceError("inactive", _("负责人已离职，不能负责商机"), field="owner")
    group = group_for_department(owner.department_id) or ensure_default_stage_group()
    stages = stages_of(group)
    if not stages:
        raise ServiceError("no_stages", _("阶段组 %(g)s 没有阶段，请先配置") % {"g": group.name})
    opp = create_numbered(
        Opportunity,
        field="code",
        number="",
        prefix="SJ",
        day=timezone.localdate(),
        duplicate_message=_("商机编号 %(no)s 已存在"),
        name=name,
        customer=customer,
        owner=owner,
        department_id=owner.department_id,
        group=group,
        stage=stages[0],
        amount=amount,
        close_on=close_on,
        lead=lead,
        campaign_code=data.campaign_code.strip() or (lead.campaign_code if lead else ""),
    )
    OpportunityProduct.objects.bulk_create(
        OpportunityProduct(
            opportunity=opp, product=ln.product, quantity=ln.quantity, price=ln.price
        )
        for ln in data.products
    )
    _record(opp, actor=actor, from_stage=None, from_status="")
    audit_create(actor=actor, obj=opp, fields=_AUDITED)
    return opp


def _locked(opp: Opportunity) -> Opportunity:
    return (
        Opportunity.objects.select_for_update(of=("self",))
        .select_related("stage", "customer")
        .get(pk=opp.pk)
    )


def _open(opp: Opportunity) -> None:
    if opp.status != OpportunityStatus.OPEN:
        raise ServiceError(
            "closed",
            _("商机已结束（%(s)s），不能再修改") % {"s": opp.get_status_display()},
            status=409,
        )


@transaction.atomic
def opportunity_update(
    *, actor: User | None, opp: Opportunity, data: OpportunityInput
) -> Opportunity:
    require_staff(viewer_of(actor))
    opp = _locked(opp)
    _open(opp)
    name, amount, close_on = _clean(data)
    before = snapshot(opp, _AUDITED)
    opp.name, opp.amount, opp.close_on = name, amount, close_on
    opp.save(update_fields=["name", "amount", "close_on", "updated_at"])
    audit_update(actor=actor, obj=opp, before=before)
    return opp


@transaction.atomic
def opportunity_move(
    *, actor: User | None, opp: Opportunity, stage: Stage, note: str = ""
) -> Opportunity:
    """To another stage of its process (forwards or back); recorded."""
    require_staff(viewer_of(actor))
    opp = _locked(opp)
    _open(opp)
    if stage.group_id != opp.group_id:
        raise ServiceError("wrong_stage", _("该阶段不属于商机的阶段组"), field="stage", status=400)
    if stage.pk == opp.stage_id:
        return opp
    before = snapshot(opp, _AUDITED)
    previous = opp.stage
    opp.stage = stage
    opp.save(update_fields=["stage", "updated_at"])
    _record(opp, actor=actor, from_stage=previous, from_status=OpportunityStatus.OPEN, note=note)
    audit_update(actor=actor, obj=opp, before=before)
    return opp


OUTCOMES = (OpportunityStatus.WON, OpportunityStatus.LOST, OpportunityStatus.INVALID)


@transaction.atomic
def opportunity_close(
    *, actor: User | None, opp: Opportunity, outcome: str, reason: str = ""
) -> Opportunity:
    """End it: 赢单 makes the customer 成交 (won_at the first time); 输单 and 无效 need a
    reason. An ended opportunity is read-only."""
    require_staff(viewer_of(actor))
    opp = _locked(opp)
    _open(opp)
    reason = (reason or "").strip()
    if outcome not in OUTCOMES:
        raise ServiceError("invalid_input", _("请选择赢单、输单或无效"), field="outcome")
    if outcome != OpportunityStatus.WON and not reason:
        raise ServiceError("invalid_input", _("请填写输单或无效的原因"), field="reason")
    if len(reason) > 300 or has_control_chars(reason):
        raise ServiceError("invalid_input", _("原因不能超过300个字符"), field="reason")
    before = snapshot(opp, _AUDITED)
    now = timezone.now()
    opp.status, opp.lost_reason, opp.closed_at = outcome, reason, now
    opp.save(update_fields=["status", "lost_reason", "closed_at", "updated_at"])
    _record(opp, actor=actor, from_stage=opp.stage, from_status=OpportunityStatus.OPEN, note=reason)
    audit_update(actor=actor, obj=opp, before=before)
    if outcome == OpportunityStatus.WON:
        customer = Customer.objects.select_for_update().get(pk=opp.customer_id)
        if customer.status != CustomerStatus.WON or customer.won_at is None:
            before_c = snapshot(customer, ("status",))
            customer.status = CustomerStatus.WON
            customer.won_at = customer.won_at or now
            customer.save(update_fields=["status", "won_at"])
            audit_update(actor=actor, obj=customer, before=before_c)
    return opp
