"""Sales API: quotes (报价), contracts (合同) with their receivable plans, and receipts (回款).
The same selectors and services as the pages, so the same rules: a quote's discount
cannot skip its approval here either (``needs_approval``), plans and receipts cannot
exceed the contract (``plans_exceed_contract``, ``exceeds_contract``). A document or
customer outside the caller's scope answers 404."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.core.api import common as api_common
from salesops.core.api.auth import requires
from salesops.core.api.types import (
    BodyIn,
    Id,
    IsoDate,
    Name200,
    NotBlank,
    Plain,
    Price,
    Quantity,
    Search,
    Text32,
    Text64,
    Text200,
    Text300,
)
from salesops.core.errors import ServiceError
from salesops.org.selectors import employee_for_viewer
from salesops.sales.models import (
    Contract,
    ContractStatus,
    Product,
    Quote,
    Receipt,
)
from salesops.sales.selectors import customer_for_viewer
from salesops.sales.selectors_deals import (
    contract_for_viewer,
    contract_plans,
    contract_search_q,
    contracts_for,
    quote_for_viewer,
    quote_search_q,
    quotes_for,
    receipt_for_viewer,
    receipt_search_q,
    receipts_for,
)
from salesops.sales.services import contracts as contract_svc
from salesops.sales.services import quotes as quote_svc
from salesops.sales.services._common import require_staff
from salesops.sales.services.receipts import ReceiptInput, receipt_create

Note500 = Annotated[str, Plain, Field(max_length=500)]
Terms = Annotated[str, Field(max_length=5000)]  # several lines; the service refuses controls
Name64 = Annotated[str, NotBlank, Field(max_length=64)]
Reason300 = Annotated[str, NotBlank, Field(max_length=300)]
QuoteStatusIn = Literal["draft", "pending", "approved", "sent", "accepted", "declined"]
ContractStatusIn = Literal[
    "draft",
    "pending",
    "approved",
    "signed",
    "fulfilling",
    "completed",
    "terminating",
    "terminated",
    "superseded",
]
MethodIn = Literal["bank", "cash", "cheque", "wechat", "alipay", "other"]
ReceiptStatusIn = Literal["pending", "approved", "rejected"]

router = Router(tags=["sales"])
staff = requires(require_staff)
ERRORS = api_common.ERRORS


def _products(ids: set[int]) -> dict[int, Product]:
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids, active=True)}
    missing = sorted(ids - set(products))
    if missing:
        raise ServiceError(
            "invalid_input",
            _("商品不存在或已停售：%(ids)s") % {"ids": ", ".join(map(str, missing))},
            field="lines",
        )
    return products


def _customer(request: HttpRequest, customer_id: int) -> Any:
    try:
        return customer_for_viewer(api_common.api_viewer(request), customer_id)
    except Http404 as exc:
        raise api_common.not_found("customer_id", _("客户不存在或无权访问")) from exc


def _owner(request: HttpRequest, owner_id: int | None) -> Any:
    if owner_id is None:
        return None
    try:
        return employee_for_viewer(api_common.api_viewer(request), owner_id)
    except Http404 as exc:
        raise api_common.not_found("owner_id", _("员工不存在或无权访问")) from exc


class Page(Schema):
    count: int
    page: int
    pages: int
    page_size: int


# ------------------------------------------------------------------------------ quotes


class QuoteLineIn(Schema):
    product_id: Id
    quantity: Quantity
    unit_price: Price | None = Field(None, description="留空按价目表原价")


class QuoteIn(BodyIn):
    customer_id: Id
    title: Name200
    lines: list[QuoteLineIn] = Field(min_length=1, max_length=200)
    quote_date: IsoDate | None = None
    valid_until: IsoDate | None = Field(None, description="留空为报价日期后 30 天")
    contact_name: Text64 = ""
    note: Note500 = ""
    campaign_code: Text32 = ""
    owner_id: Id | None = None


class QuoteLineOut(Schema):
    product_id: int
    quantity: Decimal
    list_price: Decimal
    unit_price: Decimal
    floor_price: Decimal | None
    amount: Decimal


class QuoteOut(Schema):
    id: int
    quote_no: str
    title: str
    customer_id: int
    customer_name: str
    owner_id: int
    status: str
    quote_date: datetime.date
    valid_until: datetime.date
    list_total: Decimal
    total_amount: Decimal
    discount: Decimal
    approval_reason: str
    lines: list[QuoteLineOut]


class QuotePage(Page):
    results: list[QuoteOut]


class QuotesQuery(Schema):
    q: Search = ""
    customer_id: Id | None = None
    status: QuoteStatusIn | None = None
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


class SubmittedOut(Schema):
    quote: QuoteOut
    approval_id: int | None
    needs_approval: bool


class AcceptIn(BodyIn):
    into: Literal["contract", "order", ""] = ""
    start_on: IsoDate | None = None
    end_on: IsoDate | None = None


class AcceptedOut(Schema):
    quote: QuoteOut
    contract_id: int | None
    order_id: int | None


def quote_out(q: Quote) -> dict[str, Any]:
    return {
        "id": q.pk,
        "quote_no": q.quote_no,
        "title": q.title,
        "customer_id": q.customer_id,
        "customer_name": q.customer.name,
        "owner_id": q.owner_id,
        "status": q.status,
        "quote_date": q.quote_date,
        "valid_until": q.valid_until,
        "list_total": q.list_total,
        "total_amount": q.total_amount,
        "discount": q.discount,
        "approval_reason": q.approval_reason,
        "lines": [
            {
                "product_id": ln.product_id,
                "quantity": ln.quantity,
                "list_price": ln.list_price,
                "unit_price": ln.unit_price,
                "floor_price": ln.floor_price,
                "amount": ln.amount,
            }
            for ln in q.lines.all()
        ],
    }


def _quote(request: HttpRequest, quote_id: int) -> Quote:
    return quote_for_viewer(api_common.api_viewer(request), quote_id)


@router.post("/sales/quotes", response={201: QuoteOut, **ERRORS}, summary="新建报价单", auth=staff)
def quotes_create(request: HttpRequest, payload: QuoteIn) -> Any:
    customer = _customer(request, payload.customer_id)
    owner = _owner(request, payload.owner_id)
    products = _products({ln.product_id for ln in payload.lines})
    quote = quote_svc.quote_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        owner=owner,
        data=quote_svc.QuoteInput(
            title=payload.title,
            lines=[
                quote_svc.QuoteLineInput(products[ln.product_id], ln.quantity, ln.unit_price)
                for ln in payload.lines
            ],
            quote_date=payload.quote_date,
            valid_until=payload.valid_until,
            contact_name=payload.contact_name,
            note=payload.note,
            campaign_code=payload.campaign_code,
        ),
    )
    return Status(201, quote_out(_quote(request, quote.pk)))


@router.get("/sales/quotes", response={200: QuotePage, **ERRORS}, summary="报价单列表", auth=staff)
def quotes_list(request: HttpRequest, params: Query[QuotesQuery]) -> Any:
    qs = quotes_for(api_common.api_viewer(request)).filter(quote_search_q(params.q))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    rows, meta = api_common.paginate(qs.prefetch_related("lines").order_by("-id"), params.page)
    return {**meta, "results": [quote_out(q) for q in rows]}


@router.get(
    "/sales/quotes/{quote_id}", response={200: QuoteOut, **ERRORS}, summary="报价单详情", auth=staff
)
def quotes_get(request: HttpRequest, quote_id: Id) -> Any:
    return quote_out(_quote(request, quote_id))


@router.post(
    "/sales/quotes/{quote_id}/submit",
    response={200: SubmittedOut, **ERRORS},
    summary="提交报价单（超出折扣权限或低于最低售价时进入审批）",
    auth=staff,
)
def quotes_submit(request: HttpRequest, quote_id: Id) -> Any:
    done = quote_svc.quote_submit(actor=request.auth, quote=_quote(request, quote_id))  # type: ignore[attr-defined]
    return {
        "quote": quote_out(_quote(request, quote_id)),
        "approval_id": done.request.pk if done.request else None,
        "needs_approval": done.request is not None,
    }


@router.post(
    "/sales/quotes/{quote_id}/send",
    response={200: QuoteOut, **ERRORS},
    summary="标记报价单已发送（审批中的报价单不能发送）",
    auth=staff,
)
def quotes_send(request: HttpRequest, quote_id: Id) -> Any:
    quote_svc.quote_send(actor=request.auth, quote=_quote(request, quote_id))  # type: ignore[attr-defined]
    return quote_out(_quote(request, quote_id))


@router.post(
    "/sales/quotes/{quote_id}/accept",
    response={200: AcceptedOut, **ERRORS},
    summary="客户接受报价（可转为合同草稿或订单）",
    auth=staff,
)
def quotes_accept(request: HttpRequest, quote_id: Id, payload: AcceptIn) -> Any:
    done = quote_svc.quote_accept(
        actor=request.auth,  # type: ignore[attr-defined]
        quote=_quote(request, quote_id),
        into=payload.into,
        start_on=payload.start_on,
        end_on=payload.end_on,
    )
    return {
        "quote": quote_out(_quote(request, quote_id)),
        "contract_id": done.contract_id,
        "order_id": done.order.pk if done.order else None,
    }


# --------------------------------------------------------------------------- contracts


class ContractLineIn(Schema):
    product_id: Id
    quantity: Quantity
    unit_price: Price


class ContractIn(BodyIn):
    customer_id: Id
    name: Name200
    start_on: IsoDate
    end_on: IsoDate
    amount: Price | None = Field(None, description="留空按商品明细合计")
    lines: list[ContractLineIn] = Field(default_factory=list, max_length=200)
    customer_signatory: Text64 = ""
    terms: Terms = ""
    campaign_code: Text32 = ""
    owner_id: Id | None = None
    quote_id: Id | None = None


class PlanOut(Schema):
    id: int
    period: int
    due_on: datetime.date
    amount: Decimal
    received: Decimal
    status: str
    note: str


class ContractOut(Schema):
    id: int
    contract_no: str
    version: int
    name: str
    customer_id: int
    customer_name: str
    owner_id: int
    status: str
    amount: Decimal
    received_amount: Decimal
    start_on: datetime.date
    end_on: datetime.date
    signed_on: datetime.date | None
    customer_signatory: str
    our_signatory_id: int | None
    quote_id: int | None
    plans: list[PlanOut]


class ContractPage(Page):
    results: list[ContractOut]


class ContractsQuery(Schema):
    q: Search = ""
    customer_id: Id | None = None
    status: ContractStatusIn | None = None
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


class SignIn(BodyIn):
    signed_on: IsoDate
    customer_signatory: Name64
    our_signatory_id: Id


class PlanIn(Schema):
    due_on: IsoDate
    amount: Price = Field(gt=0)
    note: Text200 = ""


class PlansIn(BodyIn):
    plans: list[PlanIn] = Field(min_length=1, max_length=120)


class ReasonIn(BodyIn):
    reason: Reason300


class ApprovalOut(Schema):
    contract: ContractOut
    approval_id: int


def contract_out(c: Contract) -> dict[str, Any]:
    return {
        "id": c.pk,
        "contract_no": c.contract_no,
        "version": c.version,
        "name": c.name,
        "customer_id": c.customer_id,
        "customer_name": c.customer.name,
        "owner_id": c.owner_id,
        "status": c.status,
        "amount": c.amount,
        "received_amount": c.received_amount,
        "start_on": c.start_on,
        "end_on": c.end_on,
        "signed_on": c.signed_on,
        "customer_signatory": c.customer_signatory,
        "our_signatory_id": c.our_signatory_id,
        "quote_id": c.quote_id,
        "plans": [
            {
                "id": p.pk,
                "period": p.period,
                "due_on": p.due_on,
                "amount": p.amount,
                "received": p.received,
                "status": p.status,
                "note": p.note,
            }
            for p in c.plans.all()
        ],
    }


def _contract(request: HttpRequest, contract_id: int) -> Contract:
    return contract_for_viewer(api_common.api_viewer(request), contract_id)


@router.post(
    "/sales/contracts",
    response={201: ContractOut, **ERRORS},
    summary="新建合同（草稿）",
    auth=staff,
)
def contracts_create(request: HttpRequest, payload: ContractIn) -> Any:
    viewer = api_common.api_viewer(request)
    customer = _customer(request, payload.customer_id)
    owner = _owner(request, payload.owner_id)
    quote = None
    if payload.quote_id is not None:
        try:
            quote = quote_for_viewer(viewer, payload.quote_id)
        except Http404 as exc:
            raise api_common.not_found("quote_id", _("报价单不存在或无权访问")) from exc
        if quote.customer_id != customer.pk:
            raise ServiceError("invalid_input", _("报价单不属于该客户"), field="quote_id")
    products = _products({ln.product_id for ln in payload.lines})
    contract = contract_svc.contract_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        owner=owner,
        quote=quote,
        data=contract_svc.ContractInput(
            name=payload.name,
            start_on=payload.start_on,
            end_on=payload.end_on,
            amount=payload.amount,
            lines=[
                contract_svc.ContractLineInput(products[ln.product_id], ln.quantity, ln.unit_price)
                for ln in payload.lines
            ],
            customer_signatory=payload.customer_signatory,
            terms=payload.terms,
            campaign_code=payload.campaign_code,
        ),
    )
    return Status(201, contract_out(_contract(request, contract.pk)))


@router.get(
    "/sales/contracts", response={200: ContractPage, **ERRORS}, summary="合同列表", auth=staff
)
def contracts_list(request: HttpRequest, params: Query[ContractsQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = contracts_for(viewer, versions=params.status == ContractStatus.SUPERSEDED)
    qs = qs.filter(contract_search_q(params.q))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    rows, meta = api_common.paginate(qs.prefetch_related("plans").order_by("-id"), params.page)
    return {**meta, "results": [contract_out(c) for c in rows]}


@router.get(
    "/sales/contracts/{contract_id}",
    response={200: ContractOut, **ERRORS},
    summary="合同详情",
    auth=staff,
)
def contracts_get(request: HttpRequest, contract_id: Id) -> Any:
    return contract_out(_contract(request, contract_id))


@router.post(
    "/sales/contracts/{contract_id}/submit",
    response={200: ApprovalOut, **ERRORS},
    summary="提交合同审批",
    auth=staff,
)
def contracts_submit(request: HttpRequest, contract_id: Id) -> Any:
    req = contract_svc.contract_submit(actor=request.auth, contract=_contract(request, contract_id))  # type: ignore[attr-defined]
    return {"contract": contract_out(_contract(request, contract_id)), "approval_id": req.pk}


@router.post(
    "/sales/contracts/{contract_id}/sign",
    response={200: ContractOut, **ERRORS},
    summary="签署合同（须已审批通过）",
    auth=staff,
)
def contracts_sign(request: HttpRequest, contract_id: Id, payload: SignIn) -> Any:
    signatory = _owner(request, payload.our_signatory_id)
    contract_svc.contract_sign(
        actor=request.auth,  # type: ignore[attr-defined]
        contract=_contract(request, contract_id),
        signed_on=payload.signed_on,
        customer_signatory=payload.customer_signatory,
        our_signatory=signatory,
    )
    return contract_out(_contract(request, contract_id))


@router.post(
    "/sales/contracts/{contract_id}/plans",
    response={201: ContractOut, **ERRORS},
    summary="添加回款计划（合计不能超过合同金额）",
    auth=staff,
)
def contracts_plans(request: HttpRequest, contract_id: Id, payload: PlansIn) -> Any:
    contract_svc.plans_add(
        actor=request.auth,  # type: ignore[attr-defined]
        contract=_contract(request, contract_id),
        plans=[contract_svc.PlanInput(p.due_on, p.amount, p.note) for p in payload.plans],
    )
    return Status(201, contract_out(_contract(request, contract_id)))


@router.post(
    "/sales/contracts/{contract_id}/terminate",
    response={200: ApprovalOut, **ERRORS},
    summary="申请终止合同（审批通过后终止）",
    auth=staff,
)
def contracts_terminate(request: HttpRequest, contract_id: Id, payload: ReasonIn) -> Any:
    req = contract_svc.contract_terminate(
        actor=request.auth,  # type: ignore[attr-defined]
        contract=_contract(request, contract_id),
        reason=payload.reason,
    )
    return {"contract": contract_out(_contract(request, contract_id)), "approval_id": req.pk}


# ---------------------------------------------------------------------------- receipts


class ReceiptIn(BodyIn):
    contract_id: Id
    plan_id: Id | None = None
    received_on: IsoDate
    amount: Price = Field(gt=0)
    method: MethodIn
    note: Text300 = ""
    overpayment: bool = Field(False, description="确属超出合同金额的回款，须在 note 中说明")


class ReceiptOut(Schema):
    id: int
    receipt_no: str
    contract_id: int
    plan_id: int | None
    customer_id: int
    owner_id: int
    received_on: datetime.date
    amount: Decimal
    method: str
    status: str
    overpayment: bool
    note: str


class ReceiptPage(Page):
    results: list[ReceiptOut]


class ReceiptsQuery(Schema):
    q: Search = ""
    contract_id: Id | None = None
    status: ReceiptStatusIn | None = None
    received_from: IsoDate | None = None
    received_to: IsoDate | None = None
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


def receipt_out(r: Receipt) -> dict[str, Any]:
    return {
        "id": r.pk,
        "receipt_no": r.receipt_no,
        "contract_id": r.contract_id,
        "plan_id": r.plan_id,
        "customer_id": r.customer_id,
        "owner_id": r.owner_id,
        "received_on": r.received_on,
        "amount": r.amount,
        "method": r.method,
        "status": r.status,
        "overpayment": r.overpayment,
        "note": r.note,
    }


@router.post(
    "/sales/receipts",
    response={201: ReceiptOut, **ERRORS},
    summary="登记回款（提交财务确认；不能超过合同金额）",
    auth=staff,
)
def receipts_create(request: HttpRequest, payload: ReceiptIn) -> Any:
    viewer = api_common.api_viewer(request)
    try:
        contract = contract_for_viewer(viewer, payload.contract_id)
    except Http404 as exc:
        raise api_common.not_found("contract_id", _("合同不存在或无权访问")) from exc
    plan = None
    if payload.plan_id is not None:
        plan = next((p for p in contract_plans(contract) if p.pk == payload.plan_id), None)
        if plan is None:
            raise api_common.not_found("plan_id", _("所选回款计划不属于该合同"))
    receipt = receipt_create(
        actor=request.auth,  # type: ignore[attr-defined]
        contract=contract,
        data=ReceiptInput(
            received_on=payload.received_on,
            amount=payload.amount,
            method=payload.method,
            plan=plan,
            note=payload.note,
            overpayment=payload.overpayment,
        ),
    )
    return Status(201, receipt_out(receipt))


@router.get(
    "/sales/receipts", response={200: ReceiptPage, **ERRORS}, summary="回款列表", auth=staff
)
def receipts_list(request: HttpRequest, params: Query[ReceiptsQuery]) -> Any:
    qs = receipts_for(api_common.api_viewer(request)).filter(receipt_search_q(params.q))
    if params.contract_id is not None:
        qs = qs.filter(contract_id=params.contract_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    if params.received_from is not None:
        qs = qs.filter(received_on__gte=params.received_from)
    if params.received_to is not None:
        qs = qs.filter(received_on__lte=params.received_to)
    rows, meta = api_common.paginate(qs.order_by("-received_on", "-id"), params.page)
    return {**meta, "results": [receipt_out(r) for r in rows]}


@router.get(
    "/sales/receipts/{receipt_id}",
    response={200: ReceiptOut, **ERRORS},
    summary="回款详情",
    auth=staff,
)
def receipts_get(request: HttpRequest, receipt_id: Id) -> Any:
    return receipt_out(receipt_for_viewer(api_common.api_viewer(request), receipt_id))


# ------------------------------------------------------------------------ customer merge


class MergeIn(BodyIn):
    other_id: Id = Field(description="重复客户的 id：其资料并入本客户后删除")


class MergedOut(Schema):
    customer_id: int
    moved: dict[str, int]


@router.post(
    "/customers/{customer_id}/merge",
    response={200: MergedOut, **ERRORS},
    summary="合并客户（重复客户并入本客户后删除）",
    auth=staff,
)
def customers_merge(request: HttpRequest, customer_id: Id, payload: MergeIn) -> Any:
    from salesops.sales.services.merge import customer_merge

    keep = _customer(request, customer_id)
    try:
        other = customer_for_viewer(api_common.api_viewer(request), payload.other_id)
    except Http404 as exc:
        raise api_common.not_found("other_id", _("客户不存在或无权访问")) from exc
    done = customer_merge(actor=request.auth, keep=keep, drop=other)  # type: ignore[attr-defined]
    return {"customer_id": done.kept.pk, "moved": done.moved}
