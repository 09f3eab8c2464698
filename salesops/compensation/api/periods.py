"""Month-close API: the months, one month with its close approval and adjustments, and
申请结账. Finance and admins only, like the screens: the list and the close answer 403 to
anyone else, a month by id 404."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import Count, Sum
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.compensation.api.runs import RunOut, _current_ids, run_out
from salesops.compensation.models import CommissionPeriod
from salesops.compensation.rights import finance_only
from salesops.compensation.selectors import periods as selectors_periods
from salesops.compensation.services.periods import period_close_submit
from salesops.core.api.auth import requires
from salesops.core.api.common import (
    ERRORS,
    MAX_PAGE,
    PageOut,
    api_viewer,
    money_str,
    paginate,
)
from salesops.core.api.types import Id, Search

router = Router(tags=["compensation"])
DETAIL_RUNS = 20


class PeriodOut(Schema):
    id: int
    period: str
    status: str
    status_display: str
    current_run_id: int | None
    total: str | None
    close_requested_by: str
    closed_at: dt.datetime | None


class PeriodPage(PageOut):
    results: list[PeriodOut]


finance = requires(finance_only)


class PeriodListIn(Schema):
    q: Search = Field("", description="月份，如 2026-09")
    status: Literal["", "open", "closing", "closed"] = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)


class ApprovalRefOut(Schema):
    id: int
    status: str
    status_display: str
    submitted_by: str
    submitted_at: dt.datetime
    decided_at: dt.datetime | None


class AdjustmentSumOut(Schema):
    lines: int
    total: str


class PeriodDetailOut(PeriodOut):
    close_approval: ApprovalRefOut | None
    runs: list[RunOut]
    adjustments_posted_in: AdjustmentSumOut
    adjustments_for: AdjustmentSumOut


class CloseOut(Schema):
    period: PeriodOut
    approval: ApprovalRefOut


def _period_out(p: CommissionPeriod) -> dict[str, Any]:
    run = p.current_run
    return {
        "id": p.pk,
        "period": f"{p.period:%Y-%m}",
        "status": p.status,
        "status_display": str(p.get_status_display()),
        "current_run_id": p.current_run_id,
        "total": money_str(run.total) if run is not None else None,
        "close_requested_by": str(p.close_requested_by or ""),
        "closed_at": p.closed_at,
    }


def _approval_out(req: Any) -> dict[str, Any] | None:
    if req is None:
        return None
    return {
        "id": req.pk,
        "status": req.status,
        "status_display": str(req.get_status_display()),
        "submitted_by": str(req.submitted_by),
        "submitted_at": req.submitted_at,
        "decided_at": req.decided_at,
    }


def _sum(qs: Any) -> dict[str, Any]:
    agg = qs.order_by().aggregate(n=Count("id"), total=Sum("amount"))
    return {"lines": agg["n"] or 0, "total": money_str(agg["total"])}


@router.get(
    "/comp/periods", response={200: PeriodPage, **ERRORS}, summary="结算月份列表", auth=finance
)
def periods_list(request: HttpRequest, params: Query[PeriodListIn]) -> Any:
    viewer = api_viewer(request)
    finance_only(viewer)
    qs = selectors_periods.periods_list(viewer)
    if params.q:
        qs = qs.filter(selectors_periods.month_search_q(params.q))
    if params.status:
        qs = qs.filter(status=params.status)
    rows, meta = paginate(qs.order_by("-period"), params.page)
    return {**meta, "results": [_period_out(p) for p in rows]}


@router.get(
    "/comp/periods/{period_id}", response={200: PeriodDetailOut, **ERRORS}, summary="结算月份详情"
)
def periods_get(request: HttpRequest, period_id: Id) -> Any:
    viewer = api_viewer(request)
    state = selectors_periods.period_for_viewer(viewer, period_id)
    runs = list(selectors_periods.period_runs(state).order_by("-id")[:DETAIL_RUNS])
    current = _current_ids(runs)
    return {
        **_period_out(state),
        "close_approval": _approval_out(selectors_periods.period_close_request(state)),
        "runs": [run_out(r, current) for r in runs],
        "adjustments_posted_in": _sum(selectors_periods.adjustments_posted_in(state)),
        "adjustments_for": _sum(selectors_periods.adjustments_for(state)),
    }


@router.post(
    "/comp/periods/{period_id}/close",
    response={201: CloseOut, **ERRORS},
    summary="申请结账",
    auth=finance,
)
def periods_close(request: HttpRequest, period_id: Id) -> Any:
    viewer = api_viewer(request)
    finance_only(viewer)
    state = selectors_periods.period_for_viewer(viewer, period_id)
    approval = period_close_submit(actor=viewer.user, period=state)
    state = selectors_periods.period_for_viewer(viewer, period_id)
    return Status(201, {"period": _period_out(state), "approval": _approval_out(approval)})
