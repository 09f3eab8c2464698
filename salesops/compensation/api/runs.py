"""Commission runs API: list, start, one run with its progress, its results, 重置 of a
stuck run. Finance and admins only, like the screens: a list answers 403 to anyone else,
a run by id 404."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.compensation import selectors
from salesops.compensation.models import CommissionPeriod, CommissionResult, CommissionRun
from salesops.compensation.rights import finance_only
from salesops.compensation.services.periods import month_from_text
from salesops.compensation.services.runs import (
    commission_run_reset,
    commission_run_start,
    run_is_stale,
)
from salesops.core.api.auth import requires
from salesops.core.api.common import (
    ERRORS,
    MAX_PAGE,
    PageOut,
    api_viewer,
    money_str,
    paginate,
)
from salesops.core.api.types import BodyIn, Id, Month, OptionalMonth, Search

router = Router(tags=["compensation"])


class RunOut(Schema):
    id: int
    period: str
    plan_version_id: int
    plan_version: str
    status: str
    status_display: str
    progress: int
    members_count: int
    total: str
    ignored_orders: int
    error: str
    is_current: bool
    can_reset: bool
    created_by: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class RunPage(PageOut):
    results: list[RunOut]


finance = requires(finance_only)


class RunIn(BodyIn):
    period: Month = Field(..., description="YYYY-MM")


class RunListIn(Schema):
    period: OptionalMonth = Field("", description="YYYY-MM")
    status: Literal["", "queued", "running", "done", "failed"] = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)


class ResultOut(Schema):
    member_id: int
    member_no: str
    name: str
    paid_as: str
    title: str
    pv: str
    pv_by_cutoff: str
    sr_count: int
    sr_volume: str
    sales_bonus: str
    morning_star: str
    open_star: str
    override: str
    total: str
    adjustment: str


class ResultPage(PageOut):
    results: list[ResultOut]


class ResultListIn(Schema):
    q: Search = Field("", description="会员编号")
    page: int = Field(1, ge=1, le=MAX_PAGE)


def run_out(run: CommissionRun, current: set[int]) -> dict[str, Any]:
    return {
        "id": run.pk,
        "period": f"{run.period:%Y-%m}",
        "plan_version_id": run.plan_version_id,
        "plan_version": str(run.plan_version),
        "status": run.status,
        "status_display": str(run.get_status_display()),
        "progress": run.progress,
        "members_count": run.members_count,
        "total": money_str(run.total),
        "ignored_orders": run.ignored_orders,
        "error": run.error,
        "is_current": run.pk in current,
        "can_reset": run_is_stale(run),
        "created_by": str(run.created_by or ""),
        "created_at": run.created_at,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def _current_ids(runs: list[CommissionRun]) -> set[int]:
    return set(
        CommissionPeriod.objects.filter(current_run__in=[r.pk for r in runs]).values_list(
            "current_run_id", flat=True
        )
    )


def _result_out(r: CommissionResult) -> dict[str, Any]:
    return {
        "member_id": r.member_id,
        "member_no": r.member.member_no,
        "name": r.member.name,
        "paid_as": r.paid_as,
        "title": r.title,
        "pv": money_str(r.pv),
        "pv_by_cutoff": money_str(r.pv_by_cutoff),
        "sr_count": r.sr_count,
        "sr_volume": money_str(r.sr_volume),
        "sales_bonus": money_str(r.sales_bonus),
        "morning_star": money_str(r.morning_star),
        "open_star": money_str(r.open_star),
        "override": money_str(r.override),
        "total": money_str(r.total),
        "adjustment": money_str(r.adjustment),
    }


@router.get("/comp/runs", response={200: RunPage, **ERRORS}, summary="结算批次列表", auth=finance)
def runs_list(request: HttpRequest, params: Query[RunListIn]) -> Any:
    viewer = api_viewer(request)
    finance_only(viewer)
    qs = selectors.runs_for(viewer)
    if params.period:
        qs = qs.filter(period=month_from_text(params.period))
    if params.status:
        qs = qs.filter(status=params.status)
    rows, meta = paginate(qs.order_by("-id"), params.page)
    current = _current_ids(rows)
    return {**meta, "results": [run_out(r, current) for r in rows]}


@router.post("/comp/runs", response={201: RunOut, **ERRORS}, summary="发起结算", auth=finance)
def runs_start(request: HttpRequest, payload: RunIn) -> Any:
    viewer = api_viewer(request)
    run = commission_run_start(actor=viewer.user, period=month_from_text(payload.period))
    run = selectors.run_for_viewer(viewer, run.pk)
    return Status(201, run_out(run, _current_ids([run])))


@router.get("/comp/runs/{run_id}", response={200: RunOut, **ERRORS}, summary="结算批次详情与进度")
def runs_get(request: HttpRequest, run_id: Id) -> Any:
    viewer = api_viewer(request)
    run = selectors.run_for_viewer(viewer, run_id)
    return run_out(run, _current_ids([run]))


@router.get("/comp/runs/{run_id}/results", response={200: ResultPage, **ERRORS}, summary="结算结果")
def runs_results(request: HttpRequest, run_id: Id, params: Query[ResultListIn]) -> Any:
    viewer = api_viewer(request)
    run = selectors.run_for_viewer(viewer, run_id)
    qs = selectors.results_for(viewer, run)
    if params.q:
        qs = qs.filter(member__member_no__icontains=params.q)
    rows, meta = paginate(qs.order_by("member__member_no"), params.page)
    return {**meta, "results": [_result_out(r) for r in rows]}


@router.post(
    "/comp/runs/{run_id}/reset", response={200: RunOut, **ERRORS}, summary="重置卡住的结算"
)
def runs_reset(request: HttpRequest, run_id: Id) -> Any:
    viewer = api_viewer(request)
    run = selectors.run_for_viewer(viewer, run_id)
    run = commission_run_reset(actor=viewer.user, run=run)
    return run_out(run, _current_ids([run]))
