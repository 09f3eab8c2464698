"""Public pool (公海) API: release a customer to its pool, claim one, lock, and the pool's
list; the same scopes and rules as the pages (limits answer 409 with a stable code)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from salesops.core.api import common as api_common
from salesops.core.api.auth import requires
from salesops.core.api.types import BodyIn, Id, NotBlank, Search
from salesops.core.errors import ServiceError
from salesops.crm.models import PoolCustomer
from salesops.crm.selectors.pool import countdown, pool_customers_for, pool_search_q
from salesops.crm.services.pool import customer_lock, customer_release, pool_claim
from salesops.sales.selectors import customer_for_viewer
from salesops.sales.services._common import require_staff

router = Router(tags=["crm"])
staff = requires(require_staff)
ERRORS = api_common.ERRORS


class ReleaseIn(BodyIn):
    reason: Annotated[str, NotBlank, Field(max_length=200)]


class LockIn(BodyIn):
    locked: bool


class PoolCustomerOut(Schema):
    customer_id: int
    code: str
    name: str
    level: str
    industry: str
    pool_id: int
    pool: str
    former_owner: str
    reason: str
    entered_at: datetime.datetime


class PoolPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[PoolCustomerOut]


class PoolQuery(Schema):
    q: Search = ""
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


class OwnershipOut(Schema):
    customer_id: int
    owner_id: int | None
    locked: bool
    in_pool: bool
    pool: str
    countdown: str


def _ownership(customer_id: int) -> dict[str, Any]:
    from salesops.sales.models import Customer

    c = Customer.objects.get(pk=customer_id)
    entry = PoolCustomer.objects.select_related("pool").filter(customer_id=c.pk).first()
    return {
        "customer_id": c.pk,
        "owner_id": c.owner_id,
        "locked": c.locked,
        "in_pool": entry is not None,
        "pool": entry.pool.name if entry else "",
        "countdown": countdown(c),
    }


@router.post(
    "/crm/customers/{customer_id}/release",
    response={200: OwnershipOut, **ERRORS},
    summary="放入公海",
    auth=staff,
)
def release(request: HttpRequest, customer_id: Id, payload: ReleaseIn) -> Any:
    viewer = api_common.api_viewer(request)
    customer = customer_for_viewer(viewer, customer_id)
    customer_release(actor=request.auth, customer=customer, reason=payload.reason)  # type: ignore[attr-defined]
    return _ownership(customer_id)


@router.post(
    "/crm/customers/{customer_id}/lock",
    response={200: OwnershipOut, **ERRORS},
    summary="锁定或解锁客户",
    auth=staff,
)
def lock(request: HttpRequest, customer_id: Id, payload: LockIn) -> Any:
    viewer = api_common.api_viewer(request)
    customer = customer_for_viewer(viewer, customer_id)
    customer_lock(actor=request.auth, customer=customer, locked=payload.locked)  # type: ignore[attr-defined]
    return _ownership(customer_id)


@router.post(
    "/crm/pool/{customer_id}/claim",
    response={200: OwnershipOut, **ERRORS},
    summary="领取公海客户",
    auth=staff,
)
def claim(request: HttpRequest, customer_id: Id) -> Any:
    viewer = api_common.api_viewer(request)
    entry = pool_customers_for(viewer).filter(customer_id=customer_id).first()
    if entry is None:
        raise ServiceError("not_found", _("公海中没有该客户，或您不是其所在公海的成员"), status=404)
    pool_claim(actor=request.auth, customer=entry.customer)  # type: ignore[attr-defined]
    return _ownership(customer_id)


@router.get("/crm/pool", response=PoolPage, summary="公海客户列表", auth=staff)
def pool_list(request: HttpRequest, params: Query[PoolQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = pool_customers_for(viewer)
    if params.q:
        qs = qs.filter(pool_search_q(params.q))
    rows, meta = api_common.paginate(qs, params.page)
    return {
        **meta,
        "results": [
            {
                "customer_id": e.customer_id,
                "code": e.customer.code,
                "name": e.customer.name,
                "level": e.customer.level,
                "industry": e.customer.industry,
                "pool_id": e.pool_id,
                "pool": e.pool.name,
                "former_owner": e.former_owner.name if e.former_owner else "",
                "reason": e.reason,
                "entered_at": e.entered_at,
            }
            for e in rows
        ],
    }
