"""CRM API: after-sales — return visits (回访), complaints (投诉) and customer feedback
(客户反馈). The same selectors and services as the pages: a customer, visit, complaint or
contact outside the caller's scope answers 404; members get 403."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.core.api import common as api_common
from salesops.core.api.auth import requires
from salesops.core.api.types import BodyIn, Id, Name200, Search
from salesops.core.errors import ServiceError
from salesops.crm.models import Complaint, Contact, Feedback, ReturnVisit
from salesops.crm.selectors.aftersales import (
    complaint_events,
    complaint_for_viewer,
    complaint_overdue_q,
    complaint_search_q,
    complaints_for,
    feedback_for,
    feedback_for_viewer,
    feedback_search_q,
    visit_due_q,
    visit_for_viewer,
    visit_search_q,
    visits_for,
)
from salesops.crm.services.complaints import (
    ComplaintInput,
    complaint_confirm,
    complaint_create,
    complaint_resolve,
    feedback_create,
    feedback_handle,
)
from salesops.crm.services.visits import VisitInput, visit_log
from salesops.org.selectors import employee_for_viewer
from salesops.sales.selectors import customer_for_viewer
from salesops.sales.services._common import require_staff

router = Router(tags=["crm"])
staff = requires(require_staff)
ERRORS = api_common.ERRORS

LongText = Annotated[str, Field(max_length=5000)]
Note = Annotated[str, Field(max_length=500)]
# Any integer the service can judge (it names the 1–5 rule); no overflow reaches the DB.
Score = Annotated[int, Field(ge=-1000, le=1000)]


def _contact(contact_id: int | None, customer_id: int) -> Contact | None:
    if contact_id is None:
        return None
    contact = Contact.objects.filter(pk=contact_id, customer_id=customer_id).first()
    if contact is None:
        raise api_common.not_found("contact_id", _("联系人不存在或不属于该客户"))
    return contact


# ------------------------------------------------------------------ visits


class VisitIn(BodyIn):
    """Log a visit: on a planned task (``visit_id``, which it closes) or directly on a
    customer (``customer_id``) — exactly one of the two."""

    visit_id: Id | None = None
    customer_id: Id | None = None
    form: Literal["phone", "onsite", "wechat"]
    outcome: LongText
    satisfaction: Score | None = None
    contact_id: Id | None = None
    at: datetime.datetime | None = None


class VisitOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    contract_id: int | None
    order_id: int | None
    rule_id: int | None
    owner_id: int
    owner_name: str
    status: str
    due_on: datetime.date | None
    form: str
    contact_id: int | None
    outcome: str
    satisfaction: int | None
    satisfaction_label: str
    visited_at: datetime.datetime | None
    visited_by_id: int | None


class VisitPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[VisitOut]


class VisitsQuery(Schema):
    q: Search = ""
    customer_id: Id | None = None
    status: Literal["pending", "done"] | None = None
    due: bool = False
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


def visit_out(v: ReturnVisit) -> dict[str, Any]:
    return {
        "id": v.pk,
        "customer_id": v.customer_id,
        "customer_name": v.customer.name,
        "contract_id": v.contract_id,
        "order_id": v.order_id,
        "rule_id": v.rule_id,
        "owner_id": v.owner_id,
        "owner_name": v.owner.name,
        "status": v.status,
        "due_on": v.due_on,
        "form": v.form,
        "contact_id": v.contact_id,
        "outcome": v.outcome,
        "satisfaction": v.satisfaction,
        "satisfaction_label": v.get_satisfaction_display() if v.satisfaction else "",
        "visited_at": v.visited_at,
        "visited_by_id": v.visited_by_id,
    }


@router.post("/crm/visits", response={201: VisitOut, **ERRORS}, summary="登记回访", auth=staff)
def visits_create(request: HttpRequest, payload: VisitIn) -> Any:
    viewer = api_common.api_viewer(request)
    if (payload.visit_id is None) == (payload.customer_id is None):
        raise ServiceError(
            "invalid_input", _("请填写 visit_id 或 customer_id（二选一）"), field="visit_id"
        )
    visit = customer = None
    if payload.visit_id is not None:
        try:
            visit = visit_for_viewer(viewer, payload.visit_id)
        except Http404 as exc:
            raise api_common.not_found("visit_id", _("回访不存在或无权访问")) from exc
        customer_id = visit.customer_id
    else:
        try:
            customer = customer_for_viewer(viewer, payload.customer_id)
        except Http404 as exc:
            raise api_common.not_found("customer_id", _("客户不存在或无权访问")) from exc
        customer_id = customer.pk
    done = visit_log(
        actor=request.auth,  # type: ignore[attr-defined]
        visit=visit,
        customer=customer,
        data=VisitInput(
            form=payload.form,
            outcome=payload.outcome,
            satisfaction=payload.satisfaction,
            contact=_contact(payload.contact_id, customer_id),
            at=payload.at,
        ),
    )
    return Status(201, visit_out(visit_for_viewer(viewer, done.pk)))


@router.get("/crm/visits", response={200: VisitPage, **ERRORS}, summary="回访列表", auth=staff)
def visits_list(request: HttpRequest, params: Query[VisitsQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = visits_for(viewer).filter(visit_search_q(params.q))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    if params.due:
        qs = qs.filter(visit_due_q(timezone.localdate()))
    rows, meta = api_common.paginate(qs.order_by("-id"), params.page)
    return {**meta, "results": [visit_out(v) for v in rows]}


@router.get(
    "/crm/visits/{visit_id}", response={200: VisitOut, **ERRORS}, summary="回访详情", auth=staff
)
def visits_get(request: HttpRequest, visit_id: Id) -> Any:
    return visit_out(visit_for_viewer(api_common.api_viewer(request), visit_id))


# ------------------------------------------------------------------ complaints


class ComplaintIn(BodyIn):
    customer_id: Id
    title: Name200
    content: Annotated[str, Field(min_length=1, max_length=5000)]
    category: Literal["product", "service", "delivery", "after_sales", "billing", "other"]
    severity: Literal["normal", "serious", "urgent"]
    owner_id: Id | None = None
    contact_id: Id | None = None


class ResolveIn(BodyIn):
    resolution: LongText


class ConfirmIn(BodyIn):
    """The customer's answer: satisfied closes the complaint; not satisfied reopens it
    (``note`` required)."""

    satisfied: bool
    note: Note = ""


class EventOut(Schema):
    kind: str
    round: int
    level: int
    notified_id: int | None
    note: str
    at: datetime.datetime


class ComplaintOut(Schema):
    id: int
    code: str
    customer_id: int
    customer_name: str
    contact_id: int | None
    title: str
    content: str
    category: str
    severity: str
    owner_id: int
    owner_name: str
    department_id: int
    status: str
    overdue: bool
    received_at: datetime.datetime
    deadline: datetime.datetime
    round: int
    escalation_level: int
    resolution: str
    resolved_at: datetime.datetime | None
    confirmed_at: datetime.datetime | None
    confirm_note: str
    events: list[EventOut] | None = None


class ComplaintPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[ComplaintOut]


class ComplaintsQuery(Schema):
    q: Search = ""
    customer_id: Id | None = None
    status: Literal["open", "resolved", "closed"] | None = None
    severity: Literal["normal", "serious", "urgent"] | None = None
    overdue: bool = False
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


def complaint_out(c: Complaint, *, events: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": c.pk,
        "code": c.code,
        "customer_id": c.customer_id,
        "customer_name": c.customer.name,
        "contact_id": c.contact_id,
        "title": c.title,
        "content": c.content,
        "category": c.category,
        "severity": c.severity,
        "owner_id": c.owner_id,
        "owner_name": c.owner.name,
        "department_id": c.department_id,
        "status": c.status,
        "overdue": c.status == "open" and c.deadline < timezone.now(),
        "received_at": c.received_at,
        "deadline": c.deadline,
        "round": c.round,
        "escalation_level": c.escalation_level,
        "resolution": c.resolution,
        "resolved_at": c.resolved_at,
        "confirmed_at": c.confirmed_at,
        "confirm_note": c.confirm_note,
    }
    if events:
        out["events"] = [
            {
                "kind": e.kind,
                "round": e.round,
                "level": e.level,
                "notified_id": e.notified_id,
                "note": e.note,
                "at": e.at,
            }
            for e in complaint_events(c)
        ]
    return out


@router.post(
    "/crm/complaints", response={201: ComplaintOut, **ERRORS}, summary="登记投诉", auth=staff
)
def complaints_create(request: HttpRequest, payload: ComplaintIn) -> Any:
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
    c = complaint_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        owner=owner,
        data=ComplaintInput(
            title=payload.title,
            content=payload.content,
            category=payload.category,
            severity=payload.severity,
            contact=_contact(payload.contact_id, customer.pk),
        ),
    )
    return Status(201, complaint_out(complaint_for_viewer(viewer, c.pk), events=True))


@router.get(
    "/crm/complaints", response={200: ComplaintPage, **ERRORS}, summary="投诉列表", auth=staff
)
def complaints_list(request: HttpRequest, params: Query[ComplaintsQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = complaints_for(viewer).filter(complaint_search_q(params.q))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.status is not None:
        qs = qs.filter(status=params.status)
    if params.severity is not None:
        qs = qs.filter(severity=params.severity)
    if params.overdue:
        qs = qs.filter(complaint_overdue_q(timezone.now()))
    rows, meta = api_common.paginate(qs.order_by("-id"), params.page)
    return {**meta, "results": [complaint_out(c) for c in rows]}


@router.get(
    "/crm/complaints/{complaint_id}",
    response={200: ComplaintOut, **ERRORS},
    summary="投诉详情（含处理记录）",
    auth=staff,
)
def complaints_get(request: HttpRequest, complaint_id: Id) -> Any:
    viewer = api_common.api_viewer(request)
    return complaint_out(complaint_for_viewer(viewer, complaint_id), events=True)


@router.post(
    "/crm/complaints/{complaint_id}/resolve",
    response={200: ComplaintOut, **ERRORS},
    summary="记录投诉处理结果",
    auth=staff,
)
def complaints_resolve(request: HttpRequest, complaint_id: Id, payload: ResolveIn) -> Any:
    viewer = api_common.api_viewer(request)
    c = complaint_for_viewer(viewer, complaint_id)
    complaint_resolve(actor=request.auth, complaint=c, resolution=payload.resolution)  # type: ignore[attr-defined]
    return complaint_out(complaint_for_viewer(viewer, c.pk), events=True)


@router.post(
    "/crm/complaints/{complaint_id}/confirm",
    response={200: ComplaintOut, **ERRORS},
    summary="客户确认（满意关闭 / 不满意重新处理）",
    auth=staff,
)
def complaints_confirm(request: HttpRequest, complaint_id: Id, payload: ConfirmIn) -> Any:
    viewer = api_common.api_viewer(request)
    c = complaint_for_viewer(viewer, complaint_id)
    complaint_confirm(
        actor=request.auth,  # type: ignore[attr-defined]
        complaint=c,
        satisfied=payload.satisfied,
        note=payload.note,
    )
    return complaint_out(complaint_for_viewer(viewer, c.pk), events=True)


# ------------------------------------------------------------------ feedback


class FeedbackIn(BodyIn):
    customer_id: Id
    kind: Literal["suggestion", "inquiry", "praise", "other"]
    content: Annotated[str, Field(min_length=1, max_length=5000)]
    contact_id: Id | None = None


class HandleIn(BodyIn):
    reply: Note


class FeedbackOut(Schema):
    id: int
    customer_id: int
    customer_name: str
    kind: str
    content: str
    contact_id: int | None
    owner_id: int
    handled: bool
    reply: str
    handled_at: datetime.datetime | None
    created_at: datetime.datetime


class FeedbackPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[FeedbackOut]


class FeedbackQuery(Schema):
    q: Search = ""
    customer_id: Id | None = None
    handled: bool | None = None
    page: int = Field(1, ge=1, le=api_common.MAX_PAGE)


def feedback_out(f: Feedback) -> dict[str, Any]:
    return {
        "id": f.pk,
        "customer_id": f.customer_id,
        "customer_name": f.customer.name,
        "kind": f.kind,
        "content": f.content,
        "contact_id": f.contact_id,
        "owner_id": f.owner_id,
        "handled": f.handled,
        "reply": f.reply,
        "handled_at": f.handled_at,
        "created_at": f.created_at,
    }


@router.post(
    "/crm/feedback", response={201: FeedbackOut, **ERRORS}, summary="记录客户反馈", auth=staff
)
def feedback_create_api(request: HttpRequest, payload: FeedbackIn) -> Any:
    viewer = api_common.api_viewer(request)
    try:
        customer = customer_for_viewer(viewer, payload.customer_id)
    except Http404 as exc:
        raise api_common.not_found("customer_id", _("客户不存在或无权访问")) from exc
    fb = feedback_create(
        actor=request.auth,  # type: ignore[attr-defined]
        customer=customer,
        kind=payload.kind,
        content=payload.content,
        contact=_contact(payload.contact_id, customer.pk),
    )
    return Status(201, feedback_out(feedback_for_viewer(viewer, fb.pk)))


@router.get(
    "/crm/feedback", response={200: FeedbackPage, **ERRORS}, summary="客户反馈列表", auth=staff
)
def feedback_list_api(request: HttpRequest, params: Query[FeedbackQuery]) -> Any:
    viewer = api_common.api_viewer(request)
    qs = feedback_for(viewer).filter(feedback_search_q(params.q))
    if params.customer_id is not None:
        qs = qs.filter(customer_id=params.customer_id)
    if params.handled is not None:
        qs = qs.filter(handled=params.handled)
    rows, meta = api_common.paginate(qs.order_by("-id"), params.page)
    return {**meta, "results": [feedback_out(f) for f in rows]}


@router.get(
    "/crm/feedback/{feedback_id}",
    response={200: FeedbackOut, **ERRORS},
    summary="客户反馈详情",
    auth=staff,
)
def feedback_get_api(request: HttpRequest, feedback_id: Id) -> Any:
    return feedback_out(feedback_for_viewer(api_common.api_viewer(request), feedback_id))


@router.post(
    "/crm/feedback/{feedback_id}/handle",
    response={200: FeedbackOut, **ERRORS},
    summary="处理客户反馈",
    auth=staff,
)
def feedback_handle_api(request: HttpRequest, feedback_id: Id, payload: HandleIn) -> Any:
    viewer = api_common.api_viewer(request)
    fb = feedback_for_viewer(viewer, feedback_id)
    feedback_handle(actor=request.auth, feedback=fb, reply=payload.reply)  # type: ignore[attr-defined]
    return feedback_out(feedback_for_viewer(viewer, fb.pk))
