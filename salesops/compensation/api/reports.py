"""Reports API: the compliance report, incentive-trip progress and the duplication
projection. Same rules as the UI: compliance and projection for finance, directors and
admins (anyone else 403); trips for them too, and a member gets only their own progress.
Money is a string with two decimals; shares are fractions as strings (0.3000 = 30%)."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from salesops.compensation.services import reports as rep
from salesops.compensation.services.periods import month_from_text
from salesops.core.api.auth import requires
from salesops.core.api.common import (
    ERRORS,
    MAX_PAGE,
    PageOut,
    api_viewer,
    money_str,
    paginate,
)
from salesops.core.api.types import Id, IntChoice, OptionalMonth, Search
from salesops.core.errors import ServiceError
from salesops.org.models import Member

router = Router(tags=["compensation"])
PAGE_SIZE = 50


def _month(text: str, field: str) -> datetime.date | None:
    return month_from_text(text, field=field, code="invalid_month") if text else None


# =========================================================================== compliance


reports = requires(rep.require_report_viewer)


class ComplianceIn(Schema):
    month_from: OptionalMonth = Field("", alias="from")
    month_to: OptionalMonth = Field("", alias="to")
    plan_id: Id | None = None
    q: Search = ""
    flagged: bool = False
    page: int = Field(1, ge=1, le=MAX_PAGE)


class ComplianceRowOut(Schema):
    member_id: int
    member_no: str
    name: str
    months: int
    own_sales: str
    pay: str
    on_others: str
    share: str | None
    over_limit: bool
    no_own_sales: bool
    pays_on_others: bool
    flags: list[str]


class ComplianceSummaryOut(Schema):
    plan_version_id: int | None
    plan_version: str
    months: list[str]
    levels: int
    limit: str
    members_paid: int
    members_flagged: int
    members_over_limit: int
    own_sales: str
    pay: str
    on_others: str
    ratio: str | None


class CompliancePage(PageOut):
    summary: ComplianceSummaryOut
    results: list[ComplianceRowOut]


def _share(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.4f}"


@router.get("/comp/reports/compliance", response={200: CompliancePage, **ERRORS}, auth=reports)
def compliance(request: HttpRequest, params: Query[ComplianceIn]) -> Any:
    """Pay as a share of own sales per member over a month range (default: the last 3
    months with a current run), sorted by share, highest first."""
    rep.require_report_viewer(api_viewer(request))
    scope = rep.compliance_scope(
        version_id=params.plan_id,
        month_from=_month(params.month_from, "from"),
        month_to=_month(params.month_to, "to"),
    )
    qs = rep.compliance_rows(scope)
    if params.q:
        qs = qs.filter(member__member_no__icontains=params.q)
    if params.flagged:
        qs = qs.filter(flagged=True)
    rows, meta = paginate(qs.order_by("-share_sort", "member__member_no"), params.page, PAGE_SIZE)
    s = rep.compliance_summary(scope)
    summary = {
        "plan_version_id": scope.version.pk if scope.version else None,
        "plan_version": str(scope.version or ""),
        "months": [f"{m:%Y-%m}" for m in scope.months],
        "levels": s.levels,
        "limit": _share(rep.COMPLIANCE_LIMIT),
        "members_paid": s.members_paid,
        "members_flagged": s.members_flagged,
        "members_over_limit": s.members_over_limit,
        "own_sales": money_str(s.own_sales),
        "pay": money_str(s.pay),
        "on_others": money_str(s.on_others),
        "ratio": _share(s.ratio),
    }
    results = [
        {
            "member_id": r["member_id"],
            "member_no": r["member__member_no"],
            "name": r["member__name"],
            "months": r["months"],
            "own_sales": money_str(r["own_sales"]),
            "pay": money_str(r["pay"]),
            "on_others": money_str(r["on_others"]),
            "share": _share(rep.compliance_share(r)),
            "over_limit": r["over_limit"],
            "no_own_sales": r["no_own_sales"],
            "pays_on_others": r["others_fen"] > 0,
            "flags": rep.compliance_flags(r),
        }
        for r in rows
    ]
    return {"summary": summary, **meta, "results": results}


# =========================================================================== trips


class TripsIn(Schema):
    trip: Search = Field("", max_length=32)
    month: OptionalMonth = ""
    q: Search = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)


class TripOut(Schema):
    code: str
    name: str
    window_start: str
    window_end: str
    as_of: str
    min_rank: str
    min_months: int
    elapsed: int
    remaining: int
    closed_months: int
    open_months: int
    not_evaluated: list[str]


class TripRowOut(Schema):
    trip: str
    member_id: int
    member_no: str
    name: str
    qualified: int
    qualified_open: int
    needed: int
    status: str
    status_label: str


class TripsOut(PageOut):
    trips: list[TripOut]
    results: list[TripRowOut]


def _trip_out(w: rep.TripWindow) -> dict[str, Any]:
    t = w.trip
    return {
        "code": t.code,
        "name": t.name,
        "window_start": f"{w.start:%Y-%m}",
        "window_end": f"{w.end:%Y-%m}",
        "as_of": f"{w.as_of:%Y-%m}",
        "min_rank": t.min_rank,
        "min_months": t.min_months,
        "elapsed": w.elapsed,
        "remaining": w.remaining,
        "closed_months": len(w.closed_months),
        "open_months": len(w.open_months),
        "not_evaluated": list(w.not_evaluated),
    }


def _row(trip: str, member: Member, qualified: int, open_q: int, needed: int, status: str) -> Any:
    return {
        "trip": trip,
        "member_id": member.pk,
        "member_no": member.member_no,
        "name": member.name,
        "qualified": qualified,
        "qualified_open": open_q,
        "needed": needed,
        "status": status,
        "status_label": str(rep.TripStatus.LABELS[status]),
    }


@router.get("/comp/reports/trips", response={200: TripsOut, **ERRORS})
def trips(request: HttpRequest, params: Query[TripsIn]) -> Any:
    """Trip qualification progress. Finance/directors: every member for one trip
    (``trip``, default the plan's first), paginated; a member: their own, every trip."""
    viewer = api_viewer(request)
    as_of = _month(params.month, "month") or timezone.localdate().replace(day=1)
    plan = rep.trip_plan(as_of)
    if not rep.can_view_all_trips(viewer):
        member = rep.trips_viewer_member(viewer)
        progress = rep.trip_progress_for_member(plan, member, as_of)
        rows = [
            _row(p.window.trip.code, member, p.qualified, p.open_q, p.needed, p.status)
            for p in progress
        ]
        meta = {"count": len(rows), "page": 1, "pages": 1, "page_size": PAGE_SIZE}
        return {"trips": [_trip_out(p.window) for p in progress], **meta, "results": rows}
    if not plan.trips:
        return {"trips": [], "count": 0, "page": 1, "pages": 1, "page_size": PAGE_SIZE,
                "results": []}  # fmt: skip
    trip = rep.trip_by_code(plan, params.trip) if params.trip else plan.trips[0]
    if trip is None:
        raise ServiceError(code="unknown_trip", message=_("没有该旅游奖励"), field="trip")
    window = rep.trip_window(plan, trip, as_of)
    qs: QuerySet[Any] = rep.trip_progress_rows(window, Member.objects.all())
    if params.q:
        qs = qs.filter(member_no__icontains=params.q)
    members, meta = paginate(qs.order_by("-qualified", "member_no"), params.page, PAGE_SIZE)
    rows = [
        _row(
            trip.code, m, m.qualified, m.open_q, max(0, trip.min_months - m.qualified),
            m.trip_status,
        )
        for m in members
    ]  # fmt: skip
    return {"trips": [_trip_out(window)], **meta, "results": rows}


# =========================================================================== projection


class ProjectionIn(Schema):
    step_months: Annotated[int, IntChoice(rep.STEP_MONTH_CHOICES)] = 1


class ProjectionStepOut(Schema):
    step: int
    seed_people: int
    seed_monthly: str
    observed_people: str
    observed_monthly: str


class ObservedMonthOut(Schema):
    month: str
    base: int
    sponsors: int
    lapsed: int


class ProjectionOut(Schema):
    step_months: int
    conversion: str
    attrition: str
    inactive_months: int
    growth_per_step: str
    seed_growth_per_step: int
    note: str
    steps: list[ProjectionStepOut]
    observed_months: list[ObservedMonthOut]


@router.get("/comp/reports/projection", response={200: ProjectionOut, **ERRORS}, auth=reports)
def projection(request: HttpRequest, params: Query[ProjectionIn]) -> Any:
    """The seed's duplication series and the one compounded from observed conversion and
    attrition, always together."""
    rep.require_report_viewer(api_viewer(request))
    if params.step_months not in rep.STEP_MONTH_CHOICES:
        raise ServiceError(
            code="invalid_step",
            message=_("每一步的月数只能是 1、3、6 或 12"),
            field="step_months",
        )
    p = rep.projection_build(as_of=timezone.localdate(), step_months=params.step_months)
    return {
        "step_months": p.step_months,
        "conversion": f"{p.rates.conversion:.4f}",
        "attrition": f"{p.rates.attrition:.4f}",
        "inactive_months": p.rates.inactive_months,
        "growth_per_step": f"{p.growth_per_step:.4f}",
        "seed_growth_per_step": rep.SEED_RECRUITS_PER_STEP,
        "note": _("种子资料的倍增假设每个人每一步都培养 4 人且无人流失；实际测算按本公司数据。"),
        "steps": [
            {
                "step": s.step,
                "seed_people": s.seed_people,
                "seed_monthly": money_str(s.seed_monthly),
                "observed_people": f"{s.observed_people:.2f}",
                "observed_monthly": money_str(s.observed_monthly),
            }
            for s in p.steps
        ],
        "observed_months": [
            {
                "month": f"{m.month:%Y-%m}",
                "base": m.base,
                "sponsors": m.sponsors,
                "lapsed": m.lapsed,
            }
            for m in p.rates.months
        ],
    }
