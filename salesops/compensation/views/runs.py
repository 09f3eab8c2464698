"""Commission-run screens: runs list with 发起结算, run detail with a live progress bar,
per-member results, and a member's statement. Views parse, authorise, call a service or
selector and respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.compensation import selectors
from salesops.compensation.models import (
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    RunStatus,
)
from salesops.compensation.rights import finance_only
from salesops.compensation.services.periods import month_from_text
from salesops.compensation.services.runs import commission_run_start, run_is_stale, stale_minutes
from salesops.core.access import Viewer, request_viewer
from salesops.core.errors import NotFoundError, ServiceError
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, list_page
from salesops.org.models import rank_label


def _crumbs() -> list[dict[str, str]]:
    return [{"label": _("奖金结算"), "url": reverse("compensation:runs")}]


def _run_spec() -> ListSpec:
    return ListSpec(
        title=gettext_lazy("结算批次"),
        columns=[
            Column("id", gettext_lazy("批次"), lambda r: f"#{r.pk}", sort="id"),
            Column("period", gettext_lazy("结算月份"), lambda r: f"{r.period:%Y-%m}", "period"),
            Column("plan", gettext_lazy("方案版本"), lambda r: str(r.plan_version)),
            Column("status", gettext_lazy("状态"), lambda r: r.get_status_display(), "status"),
            Column("members", gettext_lazy("会员数"), lambda r: r.members_count),
            Column("total", gettext_lazy("奖金合计"), lambda r: r.total, money=True),
            Column("created_by", gettext_lazy("发起人"), lambda r: r.created_by or "", export=True),
            Column("created_at", gettext_lazy("发起时间"), lambda r: r.created_at, "created_at"),
        ],
        filters=[Filter("status", gettext_lazy("状态"), list(RunStatus.choices), "status")],
        date_filters=[
            DateRangeFilter("created", gettext_lazy("发起时间"), "created_at", is_datetime=True)
        ],
        default_sort="-id",
        export_name="commission_runs",
        row_link=lambda r: reverse("compensation:run_detail", args=[r.pk]),
    )


@login_required
def runs(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    finance_only(viewer)
    today = timezone.localdate()
    return list_page(
        request,
        queryset=selectors.runs_for(viewer),
        spec=_run_spec(),
        template="compensation/runs.html",
        context={
            "breadcrumbs": [],
            "periods": selectors.periods_for(viewer)[:12],
            "default_period": f"{today:%Y-%m}",
        },
    )


@login_required
@require_POST
def run_start(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    finance_only(viewer)
    try:
        run = commission_run_start(
            actor=request.user,  # type: ignore[arg-type]
            period=month_from_text(request.POST.get("period", "")),
        )
    except ServiceError as exc:
        if getattr(request, "htmx", False):
            return render(
                request,
                "compensation/_start_error.html",
                {"message": exc.message},
                status=exc.status,
            )
        messages.error(request, str(exc.message))
        return redirect("compensation:runs")
    url = reverse("compensation:run_detail", args=[run.pk])
    if getattr(request, "htmx", False):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _run_or_404(viewer: Viewer, pk: int) -> CommissionRun:
    try:
        return selectors.run_for_viewer(viewer, pk)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None


@login_required
def run_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request_viewer(request), pk)
    return render(
        request,
        "compensation/run_detail.html",
        {
            "run": run,
            "breadcrumbs": _crumbs(),
            "can_reset": run_is_stale(run),
            "stale_minutes": stale_minutes(),
            "period_state": CommissionPeriod.objects.filter(period=run.period).first(),
        },
    )


@login_required
def run_progress(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run_or_404(request_viewer(request), pk)
    response = render(request, "compensation/_run_progress.html", {"run": run})
    if not run.is_active and request.GET.get("was_active"):
        response["HX-Refresh"] = "true"  # reload once to show the finished run's links
    return response


def _result_spec(run: CommissionRun) -> ListSpec:
    def statement_url(r: CommissionResult) -> str:
        return reverse("compensation:statement", args=[run.pk, r.member.member_no])

    return ListSpec(
        title=gettext_lazy("结算结果"),
        columns=[
            Column(
                "member",
                gettext_lazy("会员编号"),
                lambda r: r.member.member_no,
                "member__member_no",
                link=statement_url,
            ),
            Column("name", gettext_lazy("姓名"), lambda r: r.member.name),
            Column(
                "paid_as",
                gettext_lazy("当月职级"),
                lambda r: rank_label(r.paid_as) or "-",
                "paid_as",
            ),
            Column("title", gettext_lazy("荣衔"), lambda r: r.title or "-"),
            Column("pv", gettext_lazy("个人业绩"), lambda r: r.pv, "pv", money=True),
            Column("sr_count", gettext_lazy("亲自培训SR数"), lambda r: r.sr_count, "sr_count"),
            Column("sales_bonus", gettext_lazy("销售奖金"), lambda r: r.sales_bonus, money=True),
            Column("morning_star", gettext_lazy("晨星奖"), lambda r: r.morning_star, money=True),
            Column("open_star", gettext_lazy("开星奖"), lambda r: r.open_star, money=True),
            Column("override", gettext_lazy("季度评估"), lambda r: r.override, money=True),
            Column("total", gettext_lazy("合计"), lambda r: r.total, "total", money=True),
        ],
        search_fields=["member__member_no"],
        search_hint=gettext_lazy("会员编号"),
        default_sort="member__member_no",
        export_name=f"commission_results_{run.period:%Y%m}_{run.pk}",
        row_link=statement_url,
    )


@login_required
def run_results(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    run = _run_or_404(viewer, pk)
    crumbs = [
        *_crumbs(),
        {
            "label": f"{run.period:%Y-%m} #{run.pk}",
            "url": reverse("compensation:run_detail", args=[pk]),
        },
    ]
    return list_page(
        request,
        queryset=selectors.results_for(viewer, run),
        spec=_result_spec(run),
        context={"breadcrumbs": crumbs},
    )
