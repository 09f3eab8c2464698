"""Report screens: 合规报告 (compliance), 旅游奖励 (trip progress) and 倍增测算 (the seed's
duplication projection beside the company's observed one). Views parse, authorise, call
the report service and respond."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.compensation.services import reports as rep
from salesops.core.access import request_viewer
from salesops.core.errors import PermissionDeniedError
from salesops.core.listing import Column, Filter, ListSpec, list_page
from salesops.org.models import Member


@dataclass
class ParamFilter(Filter):
    """A page parameter shown and kept like a filter (so sorting, paging and export keep
    it) that the view applies itself: it adds no condition to the queryset."""

    def q(self, value: str) -> Q | None:
        return None


@dataclass
class ConditionFilter(Filter):
    """A filter whose choices map to conditions on annotations."""

    conditions: dict[str, Q] | None = None

    def q(self, value: str) -> Q | None:
        return (self.conditions or {}).get(value)


def percent(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value * 100:.2f}%"


def _month_choices(months: Any) -> list[tuple[str, str]]:
    return [(f"{m:%Y-%m}", f"{m:%Y-%m}") for m in months]


# =========================================================================== compliance


def compliance_scope_from(params: Any) -> rep.ComplianceScope:
    try:
        version_id = int(params.get("plan", "") or 0) or None
    except ValueError:
        version_id = None
    return rep.compliance_scope(
        version_id=version_id,
        month_from=rep.parse_month(params.get("from", "")),
        month_to=rep.parse_month(params.get("to", "")),
    )


FLAG_CONDITIONS = {
    "flagged": Q(flagged=True),
    "over_limit": Q(over_limit=True),
    "no_own_sales": Q(no_own_sales=True),
    "on_others": Q(others_fen__gt=0),
}


def _compliance_spec(scope: rep.ComplianceScope) -> ListSpec:
    months = _month_choices(scope.available_months)
    return ListSpec(
        title=gettext_lazy("合规报告"),
        columns=[
            Column(
                "member_no",
                gettext_lazy("会员编号"),
                lambda r: r["member__member_no"],
                "member__member_no",
            ),
            Column("name", gettext_lazy("姓名"), lambda r: r["member__name"]),
            Column("months", gettext_lazy("有结果的月数"), lambda r: r["months"], "months"),
            Column(
                "own_sales",
                gettext_lazy("本人销售额"),
                lambda r: r["own_sales"],
                "own_sales",
                money=True,
            ),
            Column("pay", gettext_lazy("奖金合计"), lambda r: r["pay"], "pay", money=True),
            Column(
                "on_others",
                gettext_lazy("按他人业绩计酬"),
                lambda r: r["on_others"],
                "on_others",
                money=True,
            ),
            Column(
                "share",
                gettext_lazy("奖金占本人销售"),
                lambda r: percent(rep.compliance_share(r)),
                "share_sort",
            ),
            Column("flags", gettext_lazy("提示"), lambda r: _("、").join(rep.compliance_flags(r))),
        ],
        search_fields=["member__member_no"],
        search_hint=gettext_lazy("会员编号"),
        filters=[
            ParamFilter(
                "plan",
                gettext_lazy("方案版本"),
                [(str(v.pk), str(v)) for v in scope.versions],
                "",
            ),
            ParamFilter("from", gettext_lazy("起始月份"), months, ""),
            ParamFilter("to", gettext_lazy("截止月份"), months, ""),
            ConditionFilter(
                "flag",
                gettext_lazy("提示"),
                [
                    ("flagged", gettext_lazy("有任一提示")),
                    ("over_limit", gettext_lazy("超过30%")),
                    ("no_own_sales", gettext_lazy("无个人销售")),
                    ("on_others", gettext_lazy("含他人业绩计酬")),
                ],
                "",
                conditions=FLAG_CONDITIONS,
            ),
        ],
        default_sort="-share_sort",
        export_name="compliance_report",
        selectable=False,  # rows are per-member aggregates (dicts), not records with an id
    )


@login_required
def compliance(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    if not rep.can_view_reports(viewer):
        raise PermissionDenied(_("只有财务、销售总监或管理员可以查看合规报告"))
    scope = compliance_scope_from(request.GET)
    summary = rep.compliance_summary(scope)
    return list_page(
        request,
        queryset=rep.compliance_rows(scope),
        spec=_compliance_spec(scope),
        template="compensation/compliance.html",
        context={
            "breadcrumbs": [],
            "scope": scope,
            "summary": summary,
            "ratio": percent(summary.ratio),
            "limit": percent(rep.COMPLIANCE_LIMIT),
        },
    )


# =========================================================================== trips


def _as_of(params: Any) -> dt.date:
    return rep.parse_month(params.get("month", "")) or timezone.localdate().replace(day=1)


def _recent_months(today: dt.date, n: int = 24) -> list[tuple[str, str]]:
    first = today.replace(day=1)
    months = [rep._add_months(first, -k) for k in range(n)]
    return _month_choices(months)


def _trips_spec(plan: Any, window: rep.TripWindow) -> ListSpec:
    trip = window.trip
    return ListSpec(
        title=gettext_lazy("旅游奖励"),
        columns=[
            Column("member_no", gettext_lazy("会员编号"), lambda m: m.member_no, "member_no"),
            Column("name", gettext_lazy("姓名"), lambda m: m.name),
            Column("elapsed", gettext_lazy("窗口内已过月数"), lambda m: window.elapsed),
            Column("qualified", gettext_lazy("达标月数"), lambda m: m.qualified, "qualified"),
            Column("open_q", gettext_lazy("其中未结账月份"), lambda m: m.open_q, "open_q"),
            Column("needed", gettext_lazy("还需月数"), lambda m: rep.trip_needed(window, m)),
            Column("remaining", gettext_lazy("窗口剩余月数"), lambda m: window.remaining),
            Column(
                "status",
                gettext_lazy("状态"),
                lambda m: rep.TripStatus.LABELS[m.trip_status],
                "trip_status",
            ),
        ],
        search_fields=["member_no", "name"],
        search_hint=gettext_lazy("会员编号或姓名"),
        filters=[
            ParamFilter("trip", gettext_lazy("旅游"), [(t.code, t.name) for t in plan.trips], ""),
            ParamFilter("month", gettext_lazy("统计至"), _recent_months(timezone.localdate()), ""),
            ConditionFilter(
                "status",
                gettext_lazy("状态"),
                rep.TripStatus.CHOICES,
                "",
                conditions={k: Q(trip_status=k) for k in rep.TripStatus.LABELS},
            ),
        ],
        default_sort="-qualified",
        export_name=f"trip_progress_{trip.code}",
    )


@login_required
def trips(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    as_of = _as_of(request.GET)
    plan = rep.trip_plan(as_of)
    if not rep.can_view_all_trips(viewer):
        try:
            member = rep.trips_viewer_member(viewer)
        except PermissionDeniedError as exc:
            raise PermissionDenied(str(exc.message)) from None
        return render(
            request,
            "compensation/trips_mine.html",
            {
                "member": member,
                "as_of": as_of,
                "progress": rep.trip_progress_for_member(plan, member, as_of),
            },
        )
    if not plan.trips:
        return render(request, "compensation/trips_mine.html", {"as_of": as_of, "progress": []})
    trip = rep.trip_by_code(plan, request.GET.get("trip", "")) or plan.trips[0]
    window = rep.trip_window(plan, trip, as_of)
    return list_page(
        request,
        queryset=rep.trip_progress_rows(window, Member.objects.all()),
        spec=_trips_spec(plan, window),
        template="compensation/trips.html",
        context={"breadcrumbs": [], "window": window, "trip": trip},
    )


# =========================================================================== projection


def _step_months(params: Any) -> int:
    try:
        return int(params.get("step", rep.STEP_MONTH_CHOICES[0]))
    except ValueError:
        return rep.STEP_MONTH_CHOICES[0]


def projection_chart(projection: rep.Projection) -> dict[str, Any]:
    return {
        "steps": [str(s.step) for s in projection.steps],
        "seed_name": _("种子资料的倍增假设"),
        "observed_name": _("按本公司实际数据测算"),
        "seed": [str(s.seed_monthly) for s in projection.steps],
        "observed": [str(s.observed_monthly) for s in projection.steps],
    }


@login_required
def projection(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    if not rep.can_view_reports(viewer):
        raise PermissionDenied(_("只有财务、销售总监或管理员可以查看倍增测算"))
    result = rep.projection_build(as_of=timezone.localdate(), step_months=_step_months(request.GET))
    return render(
        request,
        "compensation/projection.html",
        {
            "projection": result,
            "rates": result.rates,
            "conversion": percent(result.rates.conversion),
            "attrition": percent(result.rates.attrition),
            "step_choices": rep.STEP_MONTH_CHOICES,
            "chart": projection_chart(result),
            "seed_recruits": rep.SEED_RECRUITS_PER_STEP,
        },
    )
