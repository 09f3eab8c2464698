"""公海 pages: the pool list (claim, assign), and the customer page's pool parts (the
explained countdown, 放入公海, 锁定/解锁)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.listing import BatchAction, BatchContext, Column, Filter, ListSpec, list_page
from salesops.core.models import RoleCode
from salesops.crm.models import PoolCustomer
from salesops.crm.selectors.pool import (
    countdown,
    member_pools,
    pool_customers_for,
    pool_search_q,
    pools_for,
)
from salesops.crm.selectors.pool_settings import runs_a_pool
from salesops.crm.services.pool import customer_lock, customer_release, pool_assign, pool_claim
from salesops.sales.models import Customer, CustomerLevel
from salesops.sales.selectors import customers_for
from salesops.sales.services._common import employee_by_no


def _claim(ctx: BatchContext) -> str:
    done = 0
    for entry in ctx.selected.order_by("customer_id"):
        try:
            pool_claim(actor=ctx.actor, customer=entry.customer)
        except ServiceError as exc:
            if done:
                return _("已领取 %(n)d 个客户；其余未领取：%(why)s") % {
                    "n": done,
                    "why": exc.message,
                }
            raise
        done += 1
    return _("已领取 %(n)d 个客户") % {"n": done}


def _assign(ctx: BatchContext) -> str:
    employee = employee_by_no(ctx.viewer, ctx.value)
    done = 0
    for entry in ctx.selected.order_by("customer_id"):
        pool_assign(actor=ctx.actor, customer=entry.customer, employee=employee)
        done += 1
    return _("已将 %(n)d 个客户分配给 %(name)s") % {"n": done, "name": employee.name}


def _can_assign(viewer: Viewer) -> bool:
    return viewer.is_admin or viewer.role in (RoleCode.MANAGER, RoleCode.DIRECTOR)


def _spec(viewer: Viewer) -> ListSpec:
    pools = pools_for(viewer)
    return ListSpec(
        title=gettext_lazy("公海"),
        columns=[
            Column(
                "code", gettext_lazy("客户编号"), lambda x: x.customer.code, sort="customer__code"
            ),
            Column(
                "name",
                gettext_lazy("客户名称"),
                lambda x: x.customer.name,
                sort="customer__name",
            ),
            Column("level", gettext_lazy("客户级别"), lambda x: x.customer.get_level_display()),
            Column("industry", gettext_lazy("所属行业"), lambda x: x.customer.industry or "-"),
            Column("pool", gettext_lazy("公海"), lambda x: x.pool.name),
            Column(
                "former_owner",
                gettext_lazy("前负责人"),
                lambda x: x.former_owner.name if x.former_owner else "-",
            ),
            Column("reason", gettext_lazy("进入原因"), lambda x: x.reason or "-"),
            Column(
                "entered_at",
                gettext_lazy("进入公海时间"),
                lambda x: format_datetime(x.entered_at),
                sort="entered_at",
            ),
        ],
        search_hint=gettext_lazy("客户名称 / 完整编号"),
        extra_search=pool_search_q,
        filters=[
            Filter("pool", gettext_lazy("公海"), [(str(p.pk), p.name) for p in pools], "pool_id"),
            Filter(
                "level", gettext_lazy("客户级别"), list(CustomerLevel.choices), "customer__level"
            ),
        ],
        default_sort="-entered_at",
        export_name="pool",
        batch_actions=[
            BatchAction(
                "claim",
                gettext_lazy("领取"),
                _claim,
                allowed=lambda v: v.employee is not None and bool(member_pools(v.employee)),
                confirm=gettext_lazy("领取所选客户？领取后由您负责跟进。"),
                icon="bi-box-arrow-in-down",
            ),
            BatchAction(
                "assign",
                gettext_lazy("分配"),
                _assign,
                allowed=_can_assign,
                confirm=gettext_lazy("把所选客户分配给该工号的员工？"),
                input_label=gettext_lazy("员工工号"),
                icon="bi-person-plus",
            ),
        ],
    )


@login_required
def pool(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=pool_customers_for(viewer),
        spec=_spec(viewer),
        template="crm/pool_list.html",
        context={
            "breadcrumbs": [{"label": _("客户关系"), "url": reverse("crm:leads")}],
            "settings_url": reverse("crm:pool_settings") if runs_a_pool(viewer) else "",
        },
    )


def _customer(request: HttpRequest, pk: int) -> Customer:
    viewer = request_viewer(request)
    staff_only(viewer)
    return get_object_or_404(customers_for(viewer), pk=pk)


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    try:
        entry = customer_release(
            actor=request.user,  # type: ignore[arg-type]
            customer=customer,
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已放入%(pool)s") % {"pool": entry.pool.name})
    return redirect("sales:customer_detail", pk=pk)


@login_required
@require_POST
def lock(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer(request, pk)
    wanted = request.POST.get("locked") == "1"
    try:
        customer_lock(actor=request.user, customer=customer, locked=wanted)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已锁定") if wanted else _("已解锁"))
    return redirect("sales:customer_detail", pk=pk)


@login_required
@require_POST
def claim(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    entry = get_object_or_404(pool_customers_for(viewer), customer_id=pk)
    try:
        pool_claim(actor=request.user, customer=entry.customer)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("crm:pool")
    messages.success(request, _("已领取 %(c)s") % {"c": entry.customer.name})
    return redirect("sales:customer_detail", pk=pk)


# ------------------------------------------------------------------ customer page parts


def countdown_part(request: HttpRequest, customer: Customer) -> str:
    entry: PoolCustomer | None = (
        PoolCustomer.objects.filter(customer_id=customer.pk)
        .select_related("pool", "former_owner")
        .first()
    )
    ctx: dict[str, Any] = {"customer": customer, "entry": entry, "countdown": countdown(customer)}
    return render_to_string("crm/_pool_info.html", ctx, request=request)


def actions_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    return render_to_string("crm/_pool_actions.html", {"customer": customer}, request=request)
