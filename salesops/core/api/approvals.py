"""Approval centre and notification endpoints (mounted at /api/). Same rules as the UI:
a request the user may not see is a 404; lists are {items, count, page, page_size}."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from salesops.core.api.common import ERRORS, MAX_PAGE, PAGE_SIZE, ErrorOut
from salesops.core.api.types import BodyIn, Id, NotBlank, Plain, Search
from salesops.core.approvals import selectors
from salesops.core.approvals.registry import doc_type_label
from salesops.core.approvals.services import (
    COMMENT_MAX,
    EventAction,
    approval_act,
    approval_cancel,
    approval_resubmit,
)
from salesops.core.models import ApprovalRequest, Notification, User
from salesops.core.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notifications_for,
    unread_count,
)

router = Router(tags=["approvals"])

MAX_PAGE_SIZE = 100


class InboxIn(Schema):
    tab: Literal["pending", "done", "mine"] = "pending"
    q: Search = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(PAGE_SIZE, ge=1)  # above the maximum: clamped


class PageIn(Schema):
    page: int = Field(1, ge=1, le=MAX_PAGE)
    page_size: int = Field(PAGE_SIZE, ge=1)  # above the maximum: clamped
    unread: bool = False


class RequestOut(Schema):
    id: int
    doc_type: str
    doc_label: str
    object_id: str
    title: str
    amount: Decimal | None
    status: str
    current_step: int
    current_step_name: str | None
    submitted_by_id: int
    submitted_by: str
    submitted_at: datetime.datetime
    decided_at: datetime.datetime | None
    my_task_id: int | None
    my_action: str | None


class TaskOut(Schema):
    id: int
    step_order: int
    step_name: str
    approver_id: int
    approver: str
    status: str
    acted_at: datetime.datetime | None
    comment: str


class EventOut(Schema):
    at: datetime.datetime
    actor: str | None
    action: str
    label: str
    step_order: int | None
    comment: str


class RequestDetailOut(RequestOut):
    flow_id: int
    flow_name: str
    tasks: list[TaskOut]
    events: list[EventOut]


class RequestPage(Schema):
    items: list[RequestOut]
    count: int
    page: int
    page_size: int


class CommentIn(BodyIn):
    comment: Annotated[str, Plain, Field(max_length=COMMENT_MAX)] = ""


class RequiredCommentIn(BodyIn):
    """驳回 and 退回 must say why."""

    comment: Annotated[str, NotBlank, Field(max_length=COMMENT_MAX)]


class NotificationOut(Schema):
    id: int
    at: datetime.datetime
    title: str
    body: str
    url: str
    read: bool


class NotificationPage(Schema):
    items: list[NotificationOut]
    count: int
    page: int
    page_size: int
    unread: int


class MarkedOut(Schema):
    marked: int


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined, no-any-return]


def _bounds(page: int, page_size: int) -> tuple[int, int, int, int]:
    size = min(max(page_size, 1), MAX_PAGE_SIZE)
    page = max(page, 1)
    return page, size, (page - 1) * size, page * size


def _request_out(r: ApprovalRequest) -> dict[str, Any]:
    return {
        "id": r.pk,
        "doc_type": r.doc_type,
        "doc_label": doc_type_label(r.doc_type),
        "object_id": r.object_id,
        "title": r.title,
        "amount": r.amount,
        "status": r.status,
        "current_step": r.current_step,
        "current_step_name": getattr(r, "current_step_name", None),
        "submitted_by_id": r.submitted_by_id,
        "submitted_by": str(r.submitted_by),
        "submitted_at": r.submitted_at,
        "decided_at": r.decided_at,
        "my_task_id": getattr(r, "my_task_id", None),
        "my_action": getattr(r, "my_action", None),
    }


def _detail(user: User, request_id: int) -> dict[str, Any]:
    r = selectors.approval_request_for_user(user, request_id)
    out = _request_out(r)
    out.update(
        flow_id=r.flow_id,
        flow_name=r.flow.name,
        tasks=[
            {
                "id": t.pk,
                "step_order": t.step.order,
                "step_name": t.step.name,
                "approver_id": t.approver_id,
                "approver": str(t.approver),
                "status": t.status,
                "acted_at": t.acted_at,
                "comment": t.comment,
            }
            for t in r.tasks.all()
        ],
        events=[
            {
                "at": e.at,
                "actor": str(e.actor) if e.actor else None,
                "action": e.action,
                "label": str(EventAction(e.action).label)
                if e.action in EventAction.values
                else e.action,
                "step_order": e.step_order,
                "comment": e.comment,
            }
            for e in r.events.all()
        ],
    )
    return out


@router.get(
    "/approvals/inbox", response=RequestPage, summary="审批中心：待我审批 / 我已审批 / 我发起的"
)
def inbox(request: HttpRequest, params: Query[InboxIn]) -> Any:
    user = _user(request)
    page, size, lo, hi = _bounds(params.page, params.page_size)
    qs: QuerySet[ApprovalRequest] = selectors.inbox(user, tab=params.tab, q=params.q.strip())
    return {
        "items": [_request_out(r) for r in qs[lo:hi]],
        "count": qs.count(),
        "page": page,
        "page_size": size,
    }


@router.get("/approvals/{request_id}", response={200: RequestDetailOut, **ERRORS})
def detail(request: HttpRequest, request_id: Id) -> Any:
    return _detail(_user(request), request_id)


def _act(
    request: HttpRequest, task_id: int, action: str, payload: CommentIn | RequiredCommentIn
) -> Any:
    user = _user(request)
    r = approval_act(actor=user, task_id=task_id, action=action, comment=payload.comment)
    return _detail(user, r.pk)


@router.post("/approvals/tasks/{task_id}/approve", response={200: RequestDetailOut, **ERRORS})
def approve(request: HttpRequest, task_id: Id, payload: CommentIn) -> Any:
    return _act(request, task_id, "approve", payload)


@router.post("/approvals/tasks/{task_id}/reject", response={200: RequestDetailOut, **ERRORS})
def reject(request: HttpRequest, task_id: Id, payload: RequiredCommentIn) -> Any:
    return _act(request, task_id, "reject", payload)


@router.post("/approvals/tasks/{task_id}/return", response={200: RequestDetailOut, **ERRORS})
def send_back(request: HttpRequest, task_id: Id, payload: RequiredCommentIn) -> Any:
    return _act(request, task_id, "return", payload)


@router.post("/approvals/{request_id}/resubmit", response={200: RequestDetailOut, **ERRORS})
def resubmit(request: HttpRequest, request_id: Id) -> Any:
    user = _user(request)
    approval_resubmit(actor=user, request_id=request_id)
    return _detail(user, request_id)


@router.post("/approvals/{request_id}/cancel", response={200: RequestDetailOut, **ERRORS})
def cancel(request: HttpRequest, request_id: Id) -> Any:
    user = _user(request)
    approval_cancel(actor=user, request_id=request_id)
    return _detail(user, request_id)


def _notification_out(n: Notification) -> dict[str, Any]:
    return {
        "id": n.pk,
        "at": n.at,
        "title": n.shown_title,
        "body": n.shown_body,
        "url": n.url,
        "read": n.read_at is not None,
    }


@router.get("/notifications", response=NotificationPage, tags=["notifications"])
def notification_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    user = _user(request)
    page, size, lo, hi = _bounds(params.page, params.page_size)
    qs = notifications_for(user, unread_only=params.unread)
    return {
        "items": [_notification_out(n) for n in qs[lo:hi]],
        "count": qs.count(),
        "page": page,
        "page_size": size,
        "unread": unread_count(user),
    }


@router.post("/notifications/read-all", response=MarkedOut, tags=["notifications"])
def notification_read_all(request: HttpRequest) -> Any:
    return {"marked": notification_mark_all_read(user=_user(request))}


@router.post(
    "/notifications/{notification_id}/read",
    response={200: NotificationOut, 404: ErrorOut},
    tags=["notifications"],
)
def notification_read(request: HttpRequest, notification_id: Id) -> Any:
    return _notification_out(
        notification_mark_read(user=_user(request), notification_id=notification_id)
    )
