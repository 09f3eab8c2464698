"""CRM API: opportunities (商机) and their stages. The same selectors and services as the
pages: an opportunity or customer outside the caller's scope answers 404."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any, Literal

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
    Price,
    Quantity,
    Search,
    Text32,
    Text300,
)
from salesops.core.errors import ServiceError
from salesops.crm.models import Opportunity, OpportunityProduct, Stage
from salesops.crm.selectors.opportunities import (
    opportunities_for,
    opportunity_for_viewer,
    opportunity_search_q,
)
from salesops.crm.services.opportunities import (
    OpportunityInput,
    ProductLine,
    opportunity_close,
    opportunity_create,
    opportunity_move,
)
from salesops.org.selectors import employee_for_viewer
from salesops.sales.models import Product
from salesops.sales.selectors import customer_for_viewer
from salesops.sales.services._common import require_staff

router = Router(tags=["crm"])
staff = requires(require_staff)
ERRORS = api_common.ERRORS


class LineIn(Schema):
    product_id: Id
    quantity: Quantity
    price: Price


class OpportunityIn(BodyIn):
    customer_id: Id
    name: Name200
    amount: Price | None = None
    close_on: IsoDate
    owner_id: Id | None = None
    campaign_code: Text32 = ""
    products: list[LineIn] = Field(default_factory=list, max_length=200)


class StageIn(BodyIn):
    """Either a stage of the opportunity's group, or an end: 赢单/输单/无效 (a reason for
    输单 and 无效)."""

    stage_id: Id | None = None
    outcome: Literal["won", "lost", "invalid"] | None = None
    reason: Text300 = ""


class LineOut(Schema):
    product_id: int
    quantity: Decimal
    price: Decimal


class OpportunityOut(Schema):
    id: int
    code: str
    name: str
    customer_id: int
    customer_name: str
    owner_id: int
    owner_name: str
    department_id: int
    group_id: int
    stage_id: int
    stage_name: str
    probability: int
    status: str
    amount: Decimal
    weighted_amount: Decimal
    close_on: datetime.date
    lost_reason: str
    closed_at: datetime.datetime | None
    created_at: datetime.datetime
    products: list[LineOut]


class OpportunityPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[OpportunityOut]


class OpportunitiesQuery(Schema):
    q: Search = ""
    customer_id: Id | None = None
    status: Literal["open", "won", "lost", "invalid"] | None = None
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


def opportunity_out(
    o: Opportunity, lines: list[OpportunityProduct] | None = None
) -> dict[str, Any]:
    if lines is None:
        lines = list(OpportunityProduct.objects.filter(opportunity=o))
    return {
        "id": o.pk,
        "code": o.code,
        "name": o.name,
        "customer_id": o.customer_id,
        "customer_name": o.customer.name,
        "owner_id": o.owner_id,
        "owner_name": o.owner.name,
        "department_id": o.department_id,
        "group_id": o.group_id,
        "stage_id": o.stage_id,
        "stage_name": o.stage.name,
        "probability": o.stage.probability,
        "status": o.status,
        "amount": o.amount,
        "weighted_amount": (o.amount * o.stage.probability / 100).quantize(Decimal("0.01")),
        "close_on": o.close_on,
        "lost_reason": o.lost_reason,
        "closed_at": o.closed_at,
        "created_at": o.created_at,
        "products": [
            {"product_id": ln.product_id, "quantity": ln.quantity, "price": ln.price}
            for ln in lines
        ],
    }


@router.post(
    "/crm/opportunities", response={201: OpportunityOut, **ERRORS}, summary="新建商机", auth=staff
)
def opportunities_create(request: HttpRequest, payload: OpportunityIn) -> Any:
    viewer = api_common.api_viewer(request)
    try:
        customer = customer_for_viewer(viewer, payload.customer_id)
    except Http404 as exc:
        raise api_common.not_found("customer_id", _("客户不存在或无权访问")) from exc
    owner = None
    if payload.owner_id is not None:
        try:
            owner = employee_for_viewer(viewer, payload.owner_id)
        except Http404 as exc:
            raise api_common.not_found("owner_id", _("员工不存在或无权访问")) from exc
    wanted = {ln.product_id for ln in payload.products}
    products = {p.pk: p for p in Product.objects.filter(pk__in=wanted, active=True)}
    missing = sorted(wanted - set(products))
    if missing:
        raise ServiceError(
            "invalid_input",
            _("商品不存在或已停售：%(ids)s") % {"ids": ", ".join(map(str, missing))},
            field="products",
        )
    opp = opportunity_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        owner=owner,
        data=OpportunityInput(
            name=payload.name,
            amount=payload.amount,
            close_on=payload.close_on,
            campaign_code=payload.campaign_code,
            products=[
                ProductLine(products[ln.product_id], ln.quantity, ln.price)
                for ln in payload.products
            ],
        ),
    )
    return Status(201, opportunity_out(opportunity_for_viewer(viewer, opp.pk)))


@router.get(
    "/crm/opportunities", response={200: OpportunityPage, **ERRORS}, summary="商机列表", auth=staff
)
def opportunities_list(request: HttpRequest, params: Query[OpportunitiesQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = opportunities_for(viewer).filter(opportunity_search_q(params.q))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    rows, meta = api_common.paginate(qs.order_by("-id"), params.page)
    lines: dict[int, list[OpportunityProduct]] = {o.pk: [] for o in rows}
    for ln in OpportunityProduct.objects.filter(opportunity_id__in=list(lines)):
        lines[ln.opportunity_id].append(ln)
    return {**meta, "results": [opportunity_out(o, lines[o.pk]) for o in rows]}


@router.get(
    "/crm/opportunities/{opportunity_id}",
    response={200: OpportunityOut, **ERRORS},
    summary="商机详情",
    auth=staff,
)
def opportunities_get(request: HttpRequest, opportunity_id: Id) -> Any:
    viewer = api_common.api_viewer(request)
    return opportunity_out(opportunity_for_viewer(viewer, opportunity_id))


@router.post(
    "/crm/opportunities/{opportunity_id}/stage",
    response={200: OpportunityOut, **ERRORS},
    summary="推进商机阶段或结束商机",
    auth=staff,
)
def opportunities_stage(request: HttpRequest, opportunity_id: Id, payload: StageIn) -> Any:
    viewer = api_common.api_viewer(request)
    opp = opportunity_for_viewer(viewer, opportunity_id)
    if (payload.stage_id is None) == (payload.outcome is None):
        raise ServiceError(
            "invalid_input", _("请填写 stage_id 或 outcome（二选一）"), field="stage_id"
        )
    actor = request.auth  # type: ignore[attr-defined]
    if payload.stage_id is not None:
        stage = Stage.objects.filter(pk=payload.stage_id).first()
        if stage is None:
            raise api_common.not_found("stage_id", _("阶段不存在"))
        opportunity_move(actor=actor, opp=opp, stage=stage, note=payload.reason)
    else:
        assert payload.outcome is not None
        opportunity_close(actor=actor, opp=opp, outcome=payload.outcome, reason=payload.reason)
    return opportunity_out(opportunity_for_viewer(viewer, opp.pk))
