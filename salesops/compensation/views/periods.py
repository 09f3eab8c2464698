"""Month-close screens: the months list, a month's page (its runs, 申请结账 with the
approval's status, adjustments posted in it and for it) and the 重置 of a stuck run.
Views parse, authorise, call a service or selector and respond."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.compensation import selectors
from salesops.compensation.models import CommissionPeriod, PeriodStatus
from salesops.compensation.rights import finance_only
from salesops.compensation.selectors import periods as selectors_periods
from salesops.compensation.services.periods import period_close_refusal, period_close_submit
from salesops.compensation.services.runs import commission_run_reset
from salesops.core.access import Viewer, request_viewer
from salesops.core.errors import NotFoundError, ServiceError
from salesops.core.listing import Column, Filter, ListSpec, list_page
from salesops.core.selectors import audit_for_object

DETAIL_PAGE_SIZE = 20


def _period_or_404(viewer: Viewer, pk: int) -> CommissionPeriod:
    try:
        return selectors_periods.period_for_viewer(viewer, pk)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None


def _detail_url(p: CommissionPeriod) -> str:
    return reverse("compensation:period_detail", args=[p.pk])


def _period_spec() -> ListSpec:
    return ListSpec(
        title=gettext_lazy("结算月份"),
        columns=[
            Column(
                "period",
                gettext_lazy("结算月份"),
                lambda p: f"{p.period:%Y-%m}",
                "period",
                link=_detail_url,
            ),
            Column("status", gettext_lazy("结账状态"), lambda p: p.get_status_display(), "status"),
            Column(
                "current_run",
                gettext_lazy("当前结果"),
                lambda p: f"#{p.current_run_id}" if p.current_run_id else "-",
            ),
            Column(
                "run_status",
                gettext_lazy("结算状态"),
                lambda p: p.current_run.get_status_display() if p.current_run else "-",
            ),
            Column(
                "total",
                gettext_lazy("奖金合计"),
                lambda p: p.current_run.total if p.current_run else None,
                "current_run__total",
                money=True,
            ),
            Column(
                "requested_by",
                gettext_lazy("结账申请人"),
                lambda p: p.close_requested_by or "",
            ),
            Column("closed_at", gettext_lazy("结账时间"), lambda p: p.closed_at, "closed_at"),
        ],
        extra_search=selectors_periods.month_search_q,
        search_hint=gettext_lazy("月份，如 2026-09"),
        filters=[Filter("status", gettext_lazy("结账状态"), list(PeriodStatus.choices), "status")],
        default_sort="-period",
        export_name="commission_periods",
        row_link=_detail_url,
    )


@login_required
def periods(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    finance_only(viewer)
    return list_page(
        request,
        queryset=selectors_periods.periods_list(viewer),
        spec=_period_spec(),
        context={"breadcrumbs": [{"label": _("奖金结算"), "url": reverse("compensation:runs")}]},
    )


@login_required
def period_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    state = _period_or_404(viewer, pk)
    runs = Paginator(selectors_periods.period_runs(state).order_by("-id"), DETAIL_PAGE_SIZE)
    posted_in = Paginator(selectors_periods.adjustments_posted_in(state), DETAIL_PAGE_SIZE)
    posted_for = Paginator(selectors_periods.adjustments_for(state), DETAIL_PAGE_SIZE)
    return render(
        request,
        "compensation/period_detail.html",
        {
            "state": state,
            "close_request": selectors_periods.period_close_request(state),
            "can_request_close": period_close_refusal(state) is None,
            "runs_page": runs.get_page(request.GET.get("runs_page")),
            "posted_in_page": posted_in.get_page(request.GET.get("in_page")),
            "posted_for_page": posted_for.get_page(request.GET.get("for_page")),
            "audit_rows": audit_for_object(state),
            "breadcrumbs": [
                {"label": _("奖金结算"), "url": reverse("compensation:runs")},
                {"label": _("结算月份"), "url": reverse("compensation:periods")},
            ],
        },
    )


@login_required
@require_POST
def period_close(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    finance_only(viewer)
    state = _period_or_404(viewer, pk)
    try:
        period_close_submit(actor=request.user, period=state)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已提交结账申请，等待财务审批"))
    return redirect(_detail_url(state))


@login_required
@require_POST
def run_reset(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    finance_only(viewer)
    try:
        run = selectors.run_for_viewer(viewer, pk)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None
    try:
        commission_run_reset(actor=request.user, run=run)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已重置，可以重新发起该月份的结算"))
    return redirect("compensation:run_detail", pk=run.pk)
