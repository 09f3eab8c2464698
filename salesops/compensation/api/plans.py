"""Plan-version API: list, detail, create a draft (422 lists every problem of the file by
file, key and reason) and submit for activation. Finance and admins only (403 otherwise)."""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.compensation.models import CompPlanVersion, PlanStatus
from salesops.compensation.selectors import plans as sel
from salesops.compensation.selectors.plans import plan_kind_of
from salesops.compensation.services.plans import (
    MAX_PLAN_BYTES,
    activation_request_of,
    plan_activation_submit,
    plan_version_create,
)
from salesops.core.access import Viewer
from salesops.core.api.auth import requires
from salesops.core.api.common import (
    ERRORS,
    MAX_PAGE,
    ErrorOut,
    PageOut,
    paginate,
)
from salesops.core.api.types import BodyIn, Id, IsoDate, NotBlank, Search, Text200, Text300
from salesops.core.models import User


def _finance(viewer: Viewer) -> None:
    sel.plans_for(viewer.user)


# Plans are finance's (403 for anyone else), on every operation, before the body is read.
router = Router(tags=["compensation"], auth=requires(_finance))


class IssueOut(Schema):
    file: str
    key: str
    reason: str


class PlanErrorOut(ErrorOut):
    issues: list[IssueOut] = []


class PlanOut(Schema):
    id: int
    code: str
    name: str
    version: int
    kind: str
    effective_from: datetime.date
    status: str
    status_label: str
    note: str
    source_path: str
    created_by: str
    created_at: datetime.datetime
    activated_at: datetime.datetime | None


class PlanDetailOut(PlanOut):
    text: str
    approval_id: int | None
    approval_status: str


class PlanPage(PageOut):
    results: list[PlanOut]


class PlanListIn(Schema):
    q: Search = ""
    status: Literal["", "draft", "pending", "active", "superseded"] = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)


class PlanIn(BodyIn):
    # Checked again (in bytes, BOM) by the service; this bound stops a huge body early.
    text: Annotated[str, NotBlank, Field(max_length=MAX_PLAN_BYTES)]
    effective_from: IsoDate
    note: Text200 = ""
    source_name: Text300 = ""


class ApprovalOut(Schema):
    approval_id: int
    approval_status: str
    plan: PlanOut


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _out(v: CompPlanVersion) -> dict[str, Any]:
    return {
        "id": v.pk,
        "code": v.code,
        "name": v.name,
        "version": v.version,
        "kind": plan_kind_of(v),
        "effective_from": v.effective_from,
        "status": v.status,
        "status_label": str(v.get_status_display()),
        "note": v.note,
        "source_path": v.source_path,
        "created_by": str(v.created_by) if v.created_by else "",
        "created_at": v.created_at,
        "activated_at": v.activated_at,
    }


@router.get("/comp/plans", response={200: PlanPage, **ERRORS}, summary="奖金方案版本列表")
def plans_list(request: HttpRequest, params: Query[PlanListIn]) -> Any:
    qs = sel.plans_for(_user(request))
    if params.q:
        qs = qs.filter(Q(code__icontains=params.q) | Q(name__icontains=params.q))
    if params.status in PlanStatus.values:
        qs = qs.filter(status=params.status)
    rows, meta = paginate(qs.order_by("code", "-version"), params.page)
    return {**meta, "results": [_out(v) for v in rows]}


def _detail(v: CompPlanVersion) -> dict[str, Any]:
    approval = activation_request_of(v)
    return {
        **_out(v),
        "text": v.text,
        "approval_id": approval.pk if approval else None,
        "approval_status": approval.status if approval else "",
    }


@router.get(
    "/comp/plans/{plan_id}", response={200: PlanDetailOut, **ERRORS}, summary="奖金方案版本详情"
)
def plans_get(request: HttpRequest, plan_id: Id) -> Any:
    return _detail(sel.plan_version_for_user(_user(request), plan_id))


@router.post(
    "/comp/plans",
    response={201: PlanDetailOut, 422: PlanErrorOut, **ERRORS},
    summary="上传奖金方案(保存为草稿)",
)
def plans_create(request: HttpRequest, payload: PlanIn) -> Any:
    sel.plans_for(_user(request))  # 403 before looking at the text
    version = plan_version_create(
        actor=_user(request),
        text=payload.text,
        source_name=payload.source_name or "api.toml",
        effective_from=payload.effective_from,
        note=payload.note,
    )
    return Status(201, _detail(version))


@router.post(
    "/comp/plans/{plan_id}/submit",
    response={200: ApprovalOut, **ERRORS},
    summary="提交奖金方案生效审批",
)
def plans_submit(request: HttpRequest, plan_id: Id) -> Any:
    user = _user(request)
    version = sel.plan_version_for_user(user, plan_id)
    approval = plan_activation_submit(actor=user, version=version)
    version.refresh_from_db()
    return {"approval_id": approval.pk, "approval_status": approval.status, "plan": _out(version)}
