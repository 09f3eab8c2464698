"""CRM API: leads (线索) and 查重. Same selectors and services as the pages, so the same
scopes: a lead outside the viewer's scope answers 404, and 查重 names a record the caller
may not see only by who holds it (``id`` null)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.core.access import Viewer, mask_phone
from salesops.core.api import common as api_common
from salesops.core.api.auth import requires
from salesops.core.api.types import (
    BodyIn,
    Id,
    IsoDate,
    Name200,
    Price,
    Search,
    Text32,
    Text64,
    pattern,
)
from salesops.core.errors import ServiceError
from salesops.crm.models import Lead
from salesops.crm.selectors.leads import lead_for_viewer, lead_search_q, leads_for
from salesops.crm.services.leads import LeadInput, lead_convert, lead_create
from salesops.crm.services.opportunities import OpportunityInput
from salesops.org.access import can_see_personal_info
from salesops.org.selectors import employee_for_viewer
from salesops.sales.api import Phone
from salesops.sales.dedupe import find_duplicates
from salesops.sales.services._common import require_staff

router = Router(tags=["crm"])
staff = requires(require_staff)
ERRORS = api_common.ERRORS

Email = Annotated[
    str,
    Field(max_length=254),
    pattern(r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$", gettext_lazy("邮箱格式不正确")),
]
Note = Annotated[str, Field(max_length=2000)]


class LeadOut(Schema):
    id: int
    code: str
    company: str
    contact_name: str
    phone: str
    email: str
    source: str
    campaign_code: str
    region: str
    status: str
    owner_id: int | None
    owner_name: str
    department_id: int | None
    customer_id: int | None
    contact_id: int | None
    converted_at: datetime.datetime | None
    created_at: datetime.datetime


class LeadPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[LeadOut]


class LeadIn(BodyIn):
    company: Name200
    contact_name: Text64 = ""
    phone: Phone = ""
    email: Email = ""
    source: Text64 = ""
    campaign_code: Text32 = ""
    region: Text64 = ""
    note: Note = ""
    owner_id: Id | None = None
    confirm_duplicate: bool = False


class ConvertOpportunityIn(Schema):
    """The opportunity to open on the new customer (optional)."""

    name: Name200
    amount: Price | None = None
    close_on: IsoDate


class ConvertIn(BodyIn):
    confirm_duplicate: bool = False
    opportunity: ConvertOpportunityIn | None = None


class ConvertOut(Schema):
    customer_id: int
    contact_id: int
    opportunity_id: int | None


class LeadsQuery(Schema):
    q: Search = ""
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


class MatchOut(Schema):
    kind: str = Field(..., json_schema_extra={"enum": ["customer", "pool", "lead", "contact"]})
    id: int | None
    name: str
    owner: str
    department: str
    in_pool: bool
    visible: bool
    on: str = Field(..., json_schema_extra={"enum": ["name", "phone", "email"]})
    message: str


class DuplicatesOut(Schema):
    matches: list[MatchOut]


class DuplicatesQuery(Schema):
    name: Annotated[str, Field(max_length=200)] = ""
    phone: Annotated[str, Field(max_length=32)] = ""
    email: Annotated[str, Field(max_length=254)] = ""


def lead_out(viewer: Viewer, lead: Lead) -> dict[str, Any]:
    phone = lead.phone if can_see_personal_info(viewer, lead.owner_id) else mask_phone(lead.phone)
    return {
        "id": lead.pk,
        "code": lead.code,
        "company": lead.company,
        "contact_name": lead.contact_name,
        "phone": phone,
        "email": lead.email,
        "source": lead.source,
        "campaign_code": lead.campaign_code,
        "region": lead.region,
        "status": lead.status,
        "owner_id": lead.owner_id,
        "owner_name": lead.owner.name if lead.owner else "",
        "department_id": lead.department_id,
        "customer_id": lead.customer_id,
        "contact_id": lead.contact_id,
        "converted_at": lead.converted_at,
        "created_at": lead.created_at,
    }


@router.get("/crm/leads", response=LeadPage, summary="线索列表", auth=staff)
def leads_list(request: HttpRequest, params: Query[LeadsQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = leads_for(viewer).filter(lead_search_q(viewer, params.q)).order_by("-id")
    rows, meta = api_common.paginate(qs, params.page)
    return {**meta, "results": [lead_out(viewer, x) for x in rows]}


@router.post("/crm/leads", response={201: LeadOut, **ERRORS}, summary="新建线索", auth=staff)
def leads_create(request: HttpRequest, payload: LeadIn) -> Any:
    viewer = api_common.api_viewer(request)
    owner = None
    if payload.owner_id is not None:
        try:
            owner = employee_for_viewer(viewer, payload.owner_id)
        except Http404 as exc:
            raise ServiceError(
                "not_found", _("员工不存在或无权访问"), field="owner_id", status=404
            ) from exc
    data = payload.model_dump(exclude={"owner_id", "confirm_duplicate"})
    lead = lead_create(
        actor=request.auth,  # type: ignore[attr-defined]
        data=LeadInput(**data),
        owner=owner,
        confirm_duplicate=payload.confirm_duplicate,
    )
    return Status(201, lead_out(viewer, lead_for_viewer(viewer, lead.pk)))


@router.get(
    "/crm/leads/{lead_id}", response={200: LeadOut, **ERRORS}, summary="线索详情", auth=staff
)
def leads_get(request: HttpRequest, lead_id: Id) -> Any:
    viewer = api_common.api_viewer(request)
    return lead_out(viewer, lead_for_viewer(viewer, lead_id))


@router.post(
    "/crm/leads/{lead_id}/convert",
    response={200: ConvertOut, **ERRORS},
    summary="线索转化为客户",
    auth=staff,
)
def leads_convert(request: HttpRequest, lead_id: Id, payload: ConvertIn) -> Any:
    viewer = api_common.api_viewer(request)
    lead = lead_for_viewer(viewer, lead_id)
    done = lead_convert(
        actor=request.auth,  # type: ignore[attr-defined]
        lead=lead,
        confirm_duplicate=payload.confirm_duplicate,
        opportunity=OpportunityInput(
            name=payload.opportunity.name,
            amount=payload.opportunity.amount,
            close_on=payload.opportunity.close_on,
        )
        if payload.opportunity is not None
        else None,
    )
    return {
        "customer_id": done.customer.pk,
        "contact_id": done.contact.pk,
        "opportunity_id": done.opportunity.pk if done.opportunity else None,
    }


@router.get("/crm/duplicates", response={200: DuplicatesOut, **ERRORS}, summary="查重", auth=staff)
def duplicates(request: HttpRequest, params: Query[DuplicatesQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    matches = find_duplicates(viewer, name=params.name, phone=params.phone, email=params.email)
    return {
        "matches": [
            {
                "kind": m.kind,
                "id": m.id,
                "name": m.label,
                "owner": m.owner,
                "department": m.department,
                "in_pool": m.in_pool,
                "visible": m.visible,
                "on": m.on,
                "message": m.message,
            }
            for m in matches
        ]
    }
