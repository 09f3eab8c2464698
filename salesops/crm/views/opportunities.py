"""Pages of opportunities (商机): the scoped list, the kanban board (drag a card, or pick
its stage, to move it; sums per column and the weighted pipeline), the detail with its
stage history, the forms, and the customer page's 商机 tab."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, Scene, list_page
from salesops.core.money import format_money
from salesops.core.selectors import audit_for_object
from salesops.crm.forms import CloseForm, OpportunityForm
from salesops.crm.models import (
    OpportunityProduct,
    OpportunityStatus,
    Stage,
    StageChange,
    StageGroup,
)
from salesops.crm.selectors.opportunities import (
    Board,
    group_for_department,
    kanban,
    opportunities_for,
    opportunity_for_viewer,
    opportunity_search_q,
)
from salesops.crm.services.opportunities import (
    OpportunityInput,
    ProductLine,
    opportunity_close,
    opportunity_create,
    opportunity_move,
    opportunity_update,
)
from salesops.sales.models import Customer, Product
from salesops.sales.selectors import customer_for_viewer


def _crumbs() -> list[dict[str, str]]:
    return [{"label": _("客户关系"), "url": reverse("crm:opportunities")}]


def _scenes(viewer: Viewer) -> list[Scene]:
    scenes = []
    if viewer.employee is not None:
        scenes.append(Scene("mine", gettext_lazy("我负责的"), Q(owner=viewer.employee)))
    scenes.append(Scene("open", gettext_lazy("进行中"), Q(status=OpportunityStatus.OPEN)))
    scenes.append(Scene("all", gettext_lazy("全部"), Q()))
    return scenes


def _spec(viewer: Viewer) -> ListSpec:
    return ListSpec(
        title=gettext_lazy("商机"),
        columns=[
            Column("code", gettext_lazy("商机编号"), lambda x: x.code, sort="code"),
            Column(
                "name",
                gettext_lazy("商机名称"),
                lambda x: x.name,
                link=lambda x: reverse("crm:opportunity_detail", args=[x.pk]),
            ),
            Column(
                "customer",
                gettext_lazy("客户"),
                lambda x: x.customer.name,
                link=lambda x: reverse("sales:customer_detail", args=[x.customer_id]),
            ),
            Column("stage", gettext_lazy("阶段"), lambda x: x.stage.name),
            Column("status", gettext_lazy("状态"), lambda x: x.get_status_display()),
            Column(
                "amount", gettext_lazy("预计金额"), lambda x: x.amount, sort="amount", money=True
            ),
            Column(
                "close_on",
                gettext_lazy("预计成交日期"),
                lambda x: x.close_on.isoformat(),
                sort="close_on",
            ),
            Column("owner", gettext_lazy("负责人"), lambda x: x.owner.name),
            Column(
                "updated_at",
                gettext_lazy("更新时间"),
                lambda x: format_datetime(x.updated_at),
                sort="updated_at",
            ),
        ],
        search_hint=gettext_lazy("商机名称 / 编号 / 客户"),
        extra_search=opportunity_search_q,
        filters=[
            Filter("status", gettext_lazy("状态"), list(OpportunityStatus.choices), "status"),
        ],
        date_filters=[DateRangeFilter("close_on", gettext_lazy("预计成交日期"), "close_on")],
        scenes=_scenes(viewer),
        default_sort="-id",
        export_name="opportunities",
    )


@login_required
def opportunities(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=opportunities_for(viewer),
        spec=_spec(viewer),
        context={"breadcrumbs": _crumbs(), "kanban_url": reverse("crm:kanban")},
        template="crm/opportunities.html",
    )


# ------------------------------------------------------------------ kanban


def _board_context(request: HttpRequest, viewer: Viewer) -> dict[str, Any]:
    groups = list(StageGroup.objects.order_by("-is_default", "name"))
    wanted = request.GET.get("group") or request.POST.get("group") or ""
    group = next((g for g in groups if str(g.pk) == wanted), None)
    if group is None:
        department = viewer.employee.department_id if viewer.employee else None
        group = group_for_department(department)
    if group is None:  # no sales process configured at all: an empty board says so
        return {"board": None, "groups": groups, "scene": "", "breadcrumbs": _crumbs()}
    scene = request.GET.get("scene") or request.POST.get("scene") or ""
    if viewer.employee is None:
        scene = "all"
    elif scene not in ("mine", "all"):
        scene = "mine" if viewer.role == "rep" else "all"
    extra = Q(owner=viewer.employee) if scene == "mine" else None
    board = kanban(viewer, group, extra)
    _add_card_parts(board)
    return {
        "board": board,
        "groups": groups,
        "scene": scene,
        "can_mine": viewer.employee is not None,
        "breadcrumbs": _crumbs(),
    }


_PK = 987654321  # stands for a card's id in its URLs, reversed once per board


def _add_card_parts(board: Board) -> None:
    """What the template would otherwise compute per card, once per board: the options
    of the 移到阶段 select — a column's cards are all in its stage, so it is the same for
    the whole column (150 cards × 5 stages was a third of the board's rendering) — and
    the cards' two links, from one ``reverse`` each."""
    detail, move = (
        reverse(name, args=[_PK]) for name in ("crm:opportunity_detail", "crm:kanban_move")
    )
    for col in board.columns:
        for o in col.cards:
            o.detail_url = detail.replace(str(_PK), str(o.pk))  # type: ignore[attr-defined]
            o.move_url = move.replace(str(_PK), str(o.pk))  # type: ignore[attr-defined]
        col.stage_options = format_html_join(  # type: ignore[attr-defined]
            "",
            '<option value="{}"{}>{}</option>',
            (
                (
                    c.stage.pk,
                    mark_safe(" selected") if c.stage.pk == col.stage.pk else "",
                    c.stage.name,
                )
                for c in board.columns
            ),
        )


@login_required
def kanban_page(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    return render(request, "crm/kanban.html", _board_context(request, viewer))


@login_required
@require_POST
def kanban_move(request: HttpRequest, pk: int) -> HttpResponse:
    """A card dropped on a column (or its stage picked): move it, answer the board."""
    viewer = request_viewer(request)
    staff_only(viewer)
    opp = opportunity_for_viewer(viewer, pk)
    stage = Stage.objects.filter(pk=_int(request.POST.get("stage"))).first()
    error = ""
    if stage is None:
        error = _("请选择阶段")
    else:
        try:
            opportunity_move(actor=request.user, opp=opp, stage=stage)  # type: ignore[arg-type]
        except ServiceError as exc:
            error = str(exc.message)
    ctx = _board_context(request, viewer)
    ctx["error"] = error
    return render(request, "crm/_kanban_board.html", ctx, status=200 if not error else 400)


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


# ------------------------------------------------------------------ forms


def _products() -> Any:
    return Product.objects.filter(active=True).order_by("sku")


def _input(form: OpportunityForm) -> OpportunityInput:
    d = form.cleaned_data
    lines = [ProductLine(p, Decimal(q), Decimal(pr)) for p, q, pr in form.lines()]
    return OpportunityInput(
        name=d["name"], amount=d["amount"], close_on=d["close_on"], products=lines
    )


@login_required
def opportunity_new(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer: Customer = customer_for_viewer(viewer, pk)
    form = OpportunityForm(request.POST or None, products=_products())
    if request.method == "POST" and form.is_valid():
        try:
            opp = opportunity_create(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                data=_input(form),
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("商机已创建"))
            return redirect("crm:opportunity_detail", pk=opp.pk)
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("新建商机：%(name)s") % {"name": customer.name},
            "back_url": reverse("sales:customer_detail", args=[customer.pk]),
            "section": _("客户关系"),
        },
    )


@login_required
def opportunity_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    opp = opportunity_for_viewer(viewer, pk)
    initial = {"name": opp.name, "amount": opp.amount, "close_on": opp.close_on}
    form = OpportunityForm(
        request.POST or None, products=_products(), with_lines=False, initial=initial
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        data = OpportunityInput(
            name=d["name"],
            amount=d["amount"] if d["amount"] is not None else opp.amount,
            close_on=d["close_on"],
        )
        try:
            opportunity_update(actor=request.user, opp=opp, data=data)  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("商机已保存"))
            return redirect("crm:opportunity_detail", pk=opp.pk)
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("编辑商机：%(name)s") % {"name": opp.name},
            "back_url": reverse("crm:opportunity_detail", args=[opp.pk]),
            "section": _("商机"),
        },
    )


@login_required
def opportunity_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    opp = opportunity_for_viewer(viewer, pk)
    stages = list(Stage.objects.filter(group_id=opp.group_id).order_by("order"))
    lines = list(OpportunityProduct.objects.filter(opportunity=opp).select_related("product"))
    history = list(
        StageChange.objects.filter(opportunity=opp)
        .select_related("from_stage", "to_stage", "actor")
        .order_by("-at", "-id")[:50]
    )
    return render(
        request,
        "crm/opportunity_detail.html",
        {
            "opp": opp,
            "stages": stages,
            "lines": [(ln, ln.quantity * ln.price) for ln in lines],
            "history": history,
            "weighted": format_money(opp.amount * opp.stage.probability / 100),
            "close_form": CloseForm(),
            "audit_rows": audit_for_object(opp, show_personal=True),
            "breadcrumbs": _crumbs(),
        },
    )


@login_required
@require_POST
def opportunity_stage(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    opp = opportunity_for_viewer(viewer, pk)
    stage = get_object_or_404(Stage, pk=_int(request.POST.get("stage")))
    try:
        opportunity_move(actor=request.user, opp=opp, stage=stage)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已进入阶段：%(s)s") % {"s": stage.name})
    return redirect("crm:opportunity_detail", pk=pk)


@login_required
@require_POST
def opportunity_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    opp = opportunity_for_viewer(viewer, pk)
    form = CloseForm(request.POST)
    form.is_valid()
    try:
        opportunity_close(
            actor=request.user,  # type: ignore[arg-type]
            opp=opp,
            outcome=form.cleaned_data.get("outcome", ""),
            reason=form.cleaned_data.get("reason", ""),
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("商机已结束"))
    return redirect("crm:opportunity_detail", pk=pk)


# ------------------------------------------------------------------ customer page tab


def customer_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    rows = list(opportunities_for(viewer).filter(customer_id=customer.pk).order_by("-id")[:20])
    return render_to_string(
        "crm/_customer_opportunities.html",
        {"customer": customer, "rows": rows, "can_write": customer.owner_id is not None},
        request=request,
    )
