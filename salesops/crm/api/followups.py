"""CRM API: follow-ups (跟进记录) and contacts (联系人). The same selectors and services
as the pages: a customer, lead or contact outside the caller's scope answers 404."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.core.access import Viewer
from salesops.core.api import common as api_common
from salesops.core.api.auth import requires
from salesops.core.api.types import BodyIn, Id, IsoDate, NotBlank, Text64, Text300
from salesops.core.errors import ServiceError
from salesops.crm.api.leads import Email
from salesops.crm.models import Activity, Contact
from salesops.crm.selectors.followups import (
    activities_for,
    contact_for_viewer,
    contact_phone,
    due_q,
)
from salesops.crm.selectors.leads import lead_for_viewer
from salesops.crm.selectors.opportunities import opportunity_for_viewer
from salesops.crm.services.contacts import (
    ContactInput,
    contact_create,
    contact_delete,
    contact_update,
)
from salesops.crm.services.followups import FollowupInput, followup_create
from salesops.sales.api import Phone
from salesops.sales.selectors import customer_for_viewer
from salesops.sales.services._common import require_staff

router = Router(tags=["crm"])
staff = requires(require_staff)
ERRORS = api_common.ERRORS

Kind = Literal["call", "visit", "wechat", "meeting", "email"]
Content = Annotated[str, Field(min_length=1, max_length=5000)]
Name64 = Annotated[str, NotBlank, Field(max_length=64)]


def _how_to_confirm() -> str:
    return _("确认无误后可带 confirm_duplicate: true 重新提交。")


class FollowupIn(BodyIn):
    customer_id: Id | None = None
    lead_id: Id | None = None
    contact_id: Id | None = None
    opportunity_id: Id | None = None
    kind: Kind
    content: Content
    next_step: Text300 = ""
    next_on: IsoDate | None = None
    at: datetime.datetime | None = None


class FollowupOut(Schema):
    id: int
    customer_id: int | None
    lead_id: int | None
    contact_id: int | None
    opportunity_id: int | None
    kind: str
    content: str
    next_step: str
    next_on: datetime.date | None
    done: bool
    employee_id: int
    employee_name: str
    at: datetime.datetime


class FollowupPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[FollowupOut]


class FollowupsQuery(Schema):
    customer_id: Id | None = None
    lead_id: Id | None = None
    due: bool = False
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


class ContactIn(BodyIn):
    name: Name64
    title: Text64 = ""
    phone: Phone = ""
    email: Email = ""
    decision_maker: bool = False
    # 查重 found the phone or e-mail elsewhere (409 ``duplicate``): true saves anyway (audited)
    confirm_duplicate: bool = False


class ContactPatch(BodyIn):
    """Only the fields sent change."""

    name: Name64 | None = None
    title: Text64 | None = None
    phone: Phone | None = None
    email: Email | None = None
    decision_maker: bool | None = None
    confirm_duplicate: bool = False


class ContactOut(Schema):
    id: int
    customer_id: int
    name: str
    title: str
    phone: str
    email: str
    decision_maker: bool
    created_at: datetime.datetime


def followup_out(a: Activity) -> dict[str, Any]:
    return {
        "id": a.pk,
        "customer_id": a.customer_id,
        "lead_id": a.lead_id,
        "contact_id": a.contact_id,
        "opportunity_id": a.opportunity_id,
        "kind": a.kind,
        "content": a.content,
        "next_step": a.next_step,
        "next_on": a.next_on,
        "done": a.done,
        "employee_id": a.employee_id,
        "employee_name": a.employee.name,
        "at": a.at,
    }


def contact_out(viewer: Viewer, c: Contact) -> dict[str, Any]:
    return {
        "id": c.pk,
        "customer_id": c.customer_id,
        "name": c.name,
        "title": c.title,
        "phone": contact_phone(viewer, c),
        "email": c.email,
        "decision_maker": c.decision_maker,
        "created_at": c.created_at,
    }


@router.post(
    "/crm/followups", response={201: FollowupOut, **ERRORS}, summary="填写跟进记录", auth=staff
)
def followups_create(request: HttpRequest, payload: FollowupIn) -> Any:
    viewer = api_common.api_viewer(request)
    if (payload.customer_id is None) == (payload.lead_id is None):
        raise ServiceError(
            "invalid_input", _("请填写 customer_id 或 lead_id（二选一）"), field="customer_id"
        )
    customer = lead = contact = None
    try:
        if payload.customer_id is not None:
            customer = customer_for_viewer(viewer, payload.customer_id)
        else:
            lead = lead_for_viewer(viewer, payload.lead_id)
    except Http404 as exc:
        field = "customer_id" if payload.customer_id is not None else "lead_id"
        raise api_common.not_found(field, str(exc)) from exc
    if payload.contact_id is not None:
        try:
            contact = contact_for_viewer(viewer, payload.contact_id)
        except Http404 as exc:
            raise api_common.not_found("contact_id", _("联系人不存在或无权访问")) from exc
    opportunity = None
    if payload.opportunity_id is not None:
        try:
            opportunity = opportunity_for_viewer(viewer, payload.opportunity_id)
        except Http404 as exc:
            raise api_common.not_found("opportunity_id", _("商机不存在或无权访问")) from exc
    activity = followup_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        lead=lead,
        contact=contact,
        opportunity=opportunity,
        data=FollowupInput(
            kind=payload.kind,
            content=payload.content,
            next_step=payload.next_step,
            next_on=payload.next_on,
            at=payload.at,
        ),
    )
    return Status(201, followup_out(activities_for(viewer).get(pk=activity.pk)))


@router.get(
    "/crm/followups", response={200: FollowupPage, **ERRORS}, summary="跟进记录列表", auth=staff
)
def followups_list(request: HttpRequest, params: Query[FollowupsQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = activities_for(viewer)
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.lead_id is not None:
        qs = qs.filter(lead_id=params.lead_id)
    if params.due:
        qs = qs.filter(due_q(timezone.localdate()))
    rows, meta = api_common.paginate(qs.order_by("-at", "-id"), params.page)
    return {**meta, "results": [followup_out(a) for a in rows]}


@router.get(
    "/crm/customers/{customer_id}/contacts",
    response={200: list[ContactOut], **ERRORS},
    summary="客户的联系人",
    auth=staff,
)
def contacts_list(request: HttpRequest, customer_id: Id) -> Any:
    viewer = api_common.api_viewer(request)
    customer = customer_for_viewer(viewer, customer_id)
    rows = Contact.objects.filter(customer=customer).select_related("customer")[:200]
    return [contact_out(viewer, c) for c in rows]


@router.post(
    "/crm/customers/{customer_id}/contacts",
    response={201: ContactOut, **ERRORS},
    summary="新建联系人",
    auth=staff,
)
def contacts_create(request: HttpRequest, customer_id: Id, payload: ContactIn) -> Any:
    viewer = api_common.api_viewer(request)
    customer = customer_for_viewer(viewer, customer_id)
    contact = contact_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        data=ContactInput(**payload.model_dump(exclude={"confirm_duplicate"})),
        confirm_duplicate=payload.confirm_duplicate,
        how_to_confirm=_how_to_confirm(),
    )
    return Status(201, contact_out(viewer, contact_for_viewer(viewer, contact.pk)))


@router.patch(
    "/crm/contacts/{contact_id}",
    response={200: ContactOut, **ERRORS},
    summary="修改联系人",
    auth=staff,
)
def contacts_patch(request: HttpRequest, contact_id: Id, payload: ContactPatch) -> Any:
    viewer = api_common.api_viewer(request)
    contact = contact_for_viewer(viewer, contact_id)
    data = payload.model_dump(exclude_unset=True)
    shown = contact_phone(viewer, contact)
    if data.get("phone") is not None and data["phone"] == shown and shown != contact.phone:
        data["phone"] = contact.phone  # a masked phone sent back unchanged
    merged = {
        key: data[key] if data.get(key) is not None else getattr(contact, key)
        for key in ("name", "title", "phone", "email", "decision_maker")
    }
    contact_update(
        actor=request.auth,  # type: ignore[attr-defined]
        contact=contact,
        data=ContactInput(**merged),
        confirm_duplicate=payload.confirm_duplicate,
        how_to_confirm=_how_to_confirm(),
    )
    return contact_out(viewer, contact_for_viewer(viewer, contact.pk))


@router.delete(
    "/crm/contacts/{contact_id}",
    response={204: None, **ERRORS},
    summary="删除联系人",
    auth=staff,
)
def contacts_delete(request: HttpRequest, contact_id: Id) -> Any:
    viewer = api_common.api_viewer(request)
    contact = contact_for_viewer(viewer, contact_id)
    contact_delete(actor=request.auth, contact=contact)  # type: ignore[attr-defined]
    return Status(204, None)
