"""Sales screens. Views parse, authorise (through the selectors' access helpers), call a
service and respond; list pages go through ``core.listing``."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core import registry
from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import (
    BatchAction,
    BatchContext,
    Column,
    DateRangeFilter,
    Filter,
    JoinedSort,
    ListSpec,
    Scene,
    list_page,
)
from salesops.core.selectors import audit_for_object
from salesops.org.access import can_see_personal_info
from salesops.org.search import MEMBER_TEXT
from salesops.org.selectors import employees_for_viewer, member_by_no_for_viewer
from salesops.sales import selectors
from salesops.sales.forms import (
    CustomerForm,
    OrderHeaderForm,
    PriceItemForm,
    PriceListForm,
    ProductForm,
    ReassignForm,
    ReturnHeaderForm,
)
from salesops.sales.models import Order, OrderKind, OrderStatus, Return
from salesops.sales.search import CUSTOMER_SHORT, CUSTOMER_TEXT, ORDER_TEXT
from salesops.sales.services._common import PRODUCT_MANAGERS
from salesops.sales.services.customers import (
    customer_create,
    customer_delete,
    customer_reassign,
    customer_update,
    customers_transfer,
)
from salesops.sales.services.orders import order_cancel, order_create
from salesops.sales.services.products import (
    price_list_create,
    price_list_item_set,
    price_list_update,
    product_create,
    product_update,
)
from salesops.sales.services.returns import return_create

FILTER_CHOICES_MAX = 200


def _can_manage_products(viewer: Viewer) -> bool:
    return viewer.has_role(*PRODUCT_MANAGERS)


def _when(value: Any) -> str:
    return format_datetime(value) if value else ""


def _audit_context(obj: Any, *, show_personal: bool = False) -> dict[str, Any]:
    """操作记录 tab rows (the caller has checked access to ``obj``)."""
    return {"audit_rows": audit_for_object(obj, show_personal=show_personal)}


def _crumbs(*pairs: tuple[str, str]) -> list[dict[str, str]]:
    return [{"label": label, "url": url} for label, url in pairs]


# ---------------------------------------------------------------------------- customers


def _customer_spec(request: HttpRequest, viewer: Viewer) -> ListSpec:
    # Filter choices from small tables (departments in scope, recorded sources), never a
    # read of the million customers.
    departments = selectors.customer_department_choices(viewer, FILTER_CHOICES_MAX)
    sources = selectors.customer_source_choices(FILTER_CHOICES_MAX)
    return ListSpec(
        title=gettext_lazy("客户"),
        columns=[
            Column("code", gettext_lazy("客户编号"), lambda c: c.code, sort="code"),
            Column(
                "name",
                gettext_lazy("客户名称"),
                lambda c: c.name,
                sort="name",
                link=lambda c: reverse("sales:customer_detail", args=[c.pk]),
            ),
            Column("phone", gettext_lazy("手机号"), lambda c: selectors.customer_phone(viewer, c)),
            Column(
                "owner",
                gettext_lazy("负责人"),
                lambda c: c.owner.name if c.owner else _("公海"),
                sort=JoinedSort("owner", "name", "employee_no", nullable=True),
            ),
            Column(
                "department",
                gettext_lazy("所属部门"),
                lambda c: c.department.name,
                sort=JoinedSort("department", "name", "code"),
            ),
            Column("source", gettext_lazy("客户来源"), lambda c: c.source, sort="source"),
            Column(
                "created_at",
                gettext_lazy("创建时间"),
                lambda c: _when(c.created_at),
                sort="created_at",
            ),
        ],
        search_fields=["name", "code"],
        search_indexes=[("", CUSTOMER_TEXT), ("", CUSTOMER_SHORT)],
        search_hint=gettext_lazy("客户名称 / 编号 / 完整手机号"),
        extra_search=lambda text: selectors.customer_phone_search_q(viewer, text),
        filters=[
            Filter(
                "department",
                gettext_lazy("所属部门"),
                [(str(pk), name) for pk, name in departments],
                "department_id",
            ),
            Filter("source", gettext_lazy("客户来源"), [(s, s) for s in sources], "source"),
        ],
        date_filters=[
            DateRangeFilter(
                "created", gettext_lazy("创建时间"), "created_at", is_datetime=True, orders=True
            )
        ],
        scenes=[Scene(*scene) for scene in selectors.customer_scenes(viewer)],
        default_sort="-id",
        export_name="customers",
        create_url=reverse("sales:customer_create"),
        batch_actions=[
            BatchAction(
                "transfer",
                gettext_lazy("转移负责人"),
                _transfer_customers,
                allowed=lambda viewer: viewer.is_staff,
                confirm=gettext_lazy("把所选客户转移给该工号的员工？"),
                input_label=gettext_lazy("新负责人工号"),
                icon="bi-person-gear",
            )
        ],
    )


def _transfer_customers(ctx: BatchContext) -> str:
    done = customers_transfer(actor=ctx.actor, customer_ids=ctx.ids, owner_no=ctx.value)
    return _("已将 %(n)d 位客户转移给 %(owner)s") % {"n": done.moved, "owner": done.owner}


@login_required
def customers(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    queryset, page_queryset = selectors.customer_list_querysets(viewer)
    return list_page(
        request,
        queryset=queryset,
        page_queryset=page_queryset,
        spec=_customer_spec(request, viewer),
        context={"breadcrumbs": _crumbs((_("销售管理"), reverse("sales:customers")))},
    )


@login_required
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    customer = selectors.customer_for_viewer(viewer, pk)
    key = request.GET.get("part")
    if key is not None:  # a tab loaded when first shown
        html = registry.render_detail_part(request, "sales.customer", customer, key)
        if html is None:
            raise Http404
        return HttpResponse(html)
    return render(
        request,
        "sales/customer_detail.html",
        {
            "customer": customer,
            **registry.rendered_detail_parts(
                request, "sales.customer", customer, lazy_url=request.path
            ),
            "phone": selectors.customer_phone(viewer, customer),
            "id_number": selectors.customer_id_number(viewer, customer),
            "orders": selectors.customer_orders(viewer, customer),
            **_audit_context(
                customer, show_personal=can_see_personal_info(viewer, customer.owner_id)
            ),
        },
    )


def _form_page(request: HttpRequest, form: Any, *, title: str, back: str, **extra: Any) -> Any:
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": title, "back_url": back, **extra},
    )


@login_required
def customer_create_view(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    owners = employees_for_viewer(viewer).filter(active=True).order_by("employee_no")
    initial = {"owner": viewer.employee.pk} if viewer.employee else {}
    form = CustomerForm(request.POST or None, owners=owners, initial=initial)
    duplicate = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            c = customer_create(
                actor=request.user,  # type: ignore[arg-type]
                name=data["name"],
                code=data["code"],
                phone=data["phone"],
                id_number=data["id_number"],
                address=data["address"],
                source=data["source"],
                owner=data["owner"],
                confirm_duplicate=data["confirm_duplicate"],
            )
        except ServiceError as exc:
            duplicate = exc.code == "duplicate"
            apply_service_error(form, exc)
        else:
            messages.success(request, _("客户已创建"))
            return redirect("sales:customer_detail", pk=c.pk)
    if not duplicate:
        form.fields["confirm_duplicate"].widget = form.fields["confirm_duplicate"].hidden_widget()
    return _form_page(
        request,
        form,
        title=_("新建客户"),
        back=reverse("sales:customers"),
        duplicate_warning=duplicate,
    )


@login_required
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    customer = selectors.customer_for_viewer(viewer, pk)
    shown = {
        "phone": selectors.customer_phone(viewer, customer),
        "id_number": selectors.customer_id_number(viewer, customer),
    }
    initial = {
        "name": customer.name,
        "address": customer.address,
        "source": customer.source,
        **shown,
    }
    form = CustomerForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # A masked value left as shown keeps the stored one.
        phone = customer.phone if data["phone"] == shown["phone"] else data["phone"]
        idn = customer.id_number if data["id_number"] == shown["id_number"] else data["id_number"]
        try:
            customer_update(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                name=data["name"],
                phone=phone,
                id_number=idn,
                address=data["address"],
                source=data["source"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("客户已保存"))
            return redirect("sales:customer_detail", pk=customer.pk)
    return _form_page(
        request,
        form,
        title=_("编辑客户 %(name)s") % {"name": customer.name},
        back=reverse("sales:customer_detail", args=[customer.pk]),
    )


@login_required
def customer_reassign_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    customer = selectors.customer_for_viewer(viewer, pk)
    owners = employees_for_viewer(viewer).filter(active=True).order_by("employee_no")
    form = ReassignForm(request.POST or None, owners=owners, initial={"owner": customer.owner_id})
    if request.method == "POST" and form.is_valid():
        try:
            customer_reassign(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                owner=form.cleaned_data["owner"],
                note=form.cleaned_data["note"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("负责人已变更"))
            if selectors.customers_for(viewer).filter(pk=customer.pk).exists():
                return redirect("sales:customer_detail", pk=customer.pk)
            return redirect("sales:customers")
    return _form_page(
        request,
        form,
        title=_("转移客户 %(name)s") % {"name": customer.name},
        back=reverse("sales:customer_detail", args=[customer.pk]),
    )


@login_required
@require_POST
def customer_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer = selectors.customer_for_viewer(request_viewer(request), pk)
    try:
        customer_delete(actor=request.user, customer=customer)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("sales:customer_detail", pk=pk)
    messages.success(request, _("客户已删除"))
    return redirect("sales:customers")


# ----------------------------------------------------------------------------- products


@login_required
def products(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    spec = ListSpec(
        title=gettext_lazy("商品"),
        columns=[
            Column(
                "sku",
                gettext_lazy("商品编码"),
                lambda p: p.sku,
                sort="sku",
                link=lambda p: reverse("sales:product_detail", args=[p.pk]),
            ),
            Column("name", gettext_lazy("商品名称"), lambda p: p.name, sort="name"),
            Column("unit", gettext_lazy("单位"), lambda p: p.unit),
            Column("active", gettext_lazy("在售"), lambda p: _("是") if p.active else _("否")),
        ],
        search_fields=["sku", "name"],
        filters=[
            Filter("active", gettext_lazy("在售"), [("1", _("是")), ("0", _("否"))], "active")
        ],
        default_sort="sku",
        export_name="products",
        create_url=reverse("sales:product_create") if _can_manage_products(viewer) else "",
    )
    return list_page(
        request,
        queryset=selectors.products_for(viewer),
        spec=spec,
        context={"breadcrumbs": _crumbs((_("销售管理"), reverse("sales:products")))},
    )


@login_required
def product_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    product = selectors.product_for_viewer(viewer, pk)
    prices = []
    if viewer.is_staff:
        prices = list(
            product.prices.select_related("price_list").order_by("-price_list__valid_from")[:50]
        )
    return render(
        request,
        "sales/product_detail.html",
        {
            "product": product,
            "prices": prices,
            "can_manage": _can_manage_products(viewer),
            **_audit_context(product),
        },
    )


@login_required
def product_create_view(request: HttpRequest) -> HttpResponse:
    if not _can_manage_products(request_viewer(request)):
        raise Http404(_("页面不存在"))
    form = ProductForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            p = product_create(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("商品已创建"))
            return redirect("sales:product_detail", pk=p.pk)
    return _form_page(request, form, title=_("新建商品"), back=reverse("sales:products"))


@login_required
def product_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    if not _can_manage_products(viewer):
        raise Http404(_("页面不存在"))
    product = selectors.product_for_viewer(viewer, pk)
    initial = {"name": product.name, "unit": product.unit, "active": product.active}
    form = ProductForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            product_update(actor=request.user, product=product, **form.cleaned_data)  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("商品已保存"))
            return redirect("sales:product_detail", pk=product.pk)
    return _form_page(
        request,
        form,
        title=_("编辑商品 %(name)s") % {"name": product.name},
        back=reverse("sales:product_detail", args=[product.pk]),
    )


@login_required
def price_lists(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    spec = ListSpec(
        title=gettext_lazy("价目表"),
        columns=[
            Column(
                "name",
                gettext_lazy("价目表"),
                lambda p: p.name,
                sort="name",
                link=lambda p: reverse("sales:price_list_detail", args=[p.pk]),
            ),
            Column(
                "valid_from",
                gettext_lazy("生效日期"),
                lambda p: p.valid_from.isoformat(),
                sort="valid_from",
            ),
            Column(
                "valid_to",
                gettext_lazy("失效日期"),
                lambda p: p.valid_to.isoformat() if p.valid_to else _("长期有效"),
                sort="valid_to",
            ),
            Column("n_items", gettext_lazy("商品数"), lambda p: p.n_items),
        ],
        search_fields=["name"],
        default_sort="-valid_from",
        export_name="price_lists",
        create_url=reverse("sales:price_list_create") if _can_manage_products(viewer) else "",
    )
    return list_page(
        request,
        queryset=selectors.price_lists_for(viewer).annotate(n_items=Count("items")),
        spec=spec,
        context={"breadcrumbs": _crumbs((_("销售管理"), reverse("sales:products")))},
    )


@login_required
def price_list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    price_list = selectors.price_list_for_viewer(viewer, pk)
    can_manage = _can_manage_products(viewer)
    form = None
    if can_manage:
        form = PriceItemForm(
            request.POST or None, products=selectors.products_for(viewer).order_by("sku")
        )
        if request.method == "POST" and form.is_valid():
            try:
                price_list_item_set(
                    actor=request.user,  # type: ignore[arg-type]
                    price_list=price_list,
                    **form.cleaned_data,
                )
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("价格已保存"))
                return redirect("sales:price_list_detail", pk=price_list.pk)
    elif request.method == "POST":
        raise Http404(_("页面不存在"))
    return render(
        request,
        "sales/price_list_detail.html",
        {
            "price_list": price_list,
            "items": Paginator(selectors.price_list_items(price_list), 50).get_page(
                request.GET.get("page")
            ),
            "form": form,
            "can_manage": can_manage,
            **_audit_context(price_list),
        },
    )


def _price_list_form_view(request: HttpRequest, pk: int | None) -> HttpResponse:
    viewer = request_viewer(request)
    if not _can_manage_products(viewer):
        raise Http404(_("页面不存在"))
    price_list = selectors.price_list_for_viewer(viewer, pk) if pk else None
    initial = {}
    if price_list is not None:
        initial = {
            "name": price_list.name,
            "valid_from": price_list.valid_from,
            "valid_to": price_list.valid_to,
        }
    form = PriceListForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            if price_list is None:
                price_list = price_list_create(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            else:
                price_list_update(
                    actor=request.user,  # type: ignore[arg-type]
                    price_list=price_list,
                    **form.cleaned_data,
                )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("价目表已保存"))
            return redirect("sales:price_list_detail", pk=price_list.pk)
    return _form_page(
        request,
        form,
        title=_("编辑价目表") if pk else _("新建价目表"),
        back=reverse("sales:price_lists"),
    )


@login_required
def price_list_create_view(request: HttpRequest) -> HttpResponse:
    return _price_list_form_view(request, None)


@login_required
def price_list_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _price_list_form_view(request, pk)


# ------------------------------------------------------------------------------- orders


def _order_spec(viewer: Viewer) -> ListSpec:
    return ListSpec(
        title=gettext_lazy("订单"),
        columns=[
            Column(
                "order_no",
                gettext_lazy("订单号"),
                lambda o: o.order_no,
                sort="order_no",
                link=lambda o: reverse("sales:order_detail", args=[o.pk]),
            ),
            Column(
                "order_date",
                gettext_lazy("下单日期"),
                lambda o: o.order_date.isoformat(),
                sort="order_date",
            ),
            Column("customer", gettext_lazy("客户"), lambda o: o.customer or ""),
            Column("member", gettext_lazy("购买会员"), lambda o: o.member or ""),
            Column(
                "credited_employee",
                gettext_lazy("业绩归属员工"),
                lambda o: o.credited_employee or "",
            ),
            Column("kind", gettext_lazy("类型"), lambda o: o.get_kind_display()),
            Column("status", gettext_lazy("状态"), lambda o: o.get_status_display()),
            Column(
                "total_amount",
                gettext_lazy("订单金额"),
                lambda o: o.total_amount,
                sort="total_amount",
                money=True,
            ),
            Column(
                "returned_amount",
                gettext_lazy("已退金额"),
                lambda o: o.returned_amount,
                money=True,
            ),
        ],
        search_fields=["order_no", "customer__name", "member__name"],
        search_indexes=[
            ("", ORDER_TEXT),
            ("customer__", CUSTOMER_TEXT),
            ("customer__", CUSTOMER_SHORT),
            ("member__", MEMBER_TEXT),
        ],
        search_hint=gettext_lazy("订单号 / 客户 / 会员"),
        filters=[
            Filter("status", gettext_lazy("状态"), OrderStatus.choices, "status"),
            Filter("kind", gettext_lazy("类型"), OrderKind.choices, "kind"),
        ],
        date_filters=[DateRangeFilter("order_date", gettext_lazy("下单日期"), "order_date")],
        default_sort="-order_date",
        export_name="orders",
        create_url=reverse("sales:order_create") if viewer.is_staff else "",
    )


@login_required
def orders(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    return list_page(
        request,
        queryset=selectors.orders_for(viewer),
        page_queryset=selectors.orders_for(viewer, page=True),
        spec=_order_spec(viewer),
        context={"breadcrumbs": _crumbs((_("销售管理"), reverse("sales:orders")))},
    )


def _line_rows(request: HttpRequest) -> list[dict[str, Any]]:
    products = request.POST.getlist("product")
    qtys = request.POST.getlist("quantity")
    prices = request.POST.getlist("unit_price")
    rows = []
    for i in range(max(len(products), len(qtys), len(prices))):
        row = {
            "product": products[i] if i < len(products) else "",
            "quantity": (qtys[i] if i < len(qtys) else "").strip(),
            "unit_price": (prices[i] if i < len(prices) else "").strip(),
        }
        if row["product"] or row["quantity"] or row["unit_price"]:
            rows.append(row)
    return rows[:200]


@login_required
def order_line_row(request: HttpRequest) -> HttpResponse:
    """One more empty line for the order form (htmx add-row)."""
    viewer = request_viewer(request)
    staff_only(viewer)
    products_qs = selectors.products_for(viewer).filter(active=True).order_by("sku")
    return render(
        request,
        "sales/_order_line.html",
        {"row": {"product": "", "quantity": "", "unit_price": ""}, "products": products_qs},
    )


@login_required
def order_create_view(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    product_list = list(selectors.products_for(viewer).filter(active=True).order_by("sku"))
    initial: dict[str, Any] = {"order_date": timezone.localdate()}
    if request.GET.get("customer"):
        initial["customer_code"] = selectors.customer_for_viewer(
            viewer, request.GET["customer"]
        ).code
    form = OrderHeaderForm(request.POST or None, initial=initial)
    rows = _line_rows(request) if request.method == "POST" else [{}]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by_pk = {str(p.pk): p for p in product_list}
        try:
            customer = None
            if data["customer_code"]:
                customer = (
                    selectors.customers_for(viewer).filter(code=data["customer_code"]).first()
                )
                if customer is None:
                    raise ServiceError(
                        "not_found", _("客户不存在或无权访问"), field="customer_code"
                    )
            member = None
            if data["member_no"]:
                try:
                    member = member_by_no_for_viewer(viewer, data["member_no"])
                except Http404 as exc:
                    raise ServiceError(
                        "not_found", _("会员不存在或无权访问"), field="member_no"
                    ) from exc
            order = order_create(
                actor=request.user,  # type: ignore[arg-type]
                order_date=data["order_date"],
                kind=data["kind"],
                customer=customer,
                member=member,
                tier=data["tier"] or None,
                lines=[
                    {
                        "product": by_pk.get(row["product"]),
                        "quantity": row["quantity"],
                        "unit_price": row["unit_price"] or None,
                    }
                    for row in rows
                ],
            )
        except ServiceError as exc:
            line_errors: dict[int, list[str]] = {}
            other = []
            for err in exc.errors or []:
                parts = err.field.split(".")
                if len(parts) == 3 and parts[0] == "lines" and parts[1].isdigit():
                    line_errors.setdefault(int(parts[1]), []).append(str(err.message))
                else:
                    other.append(err)
            for i, msgs in line_errors.items():
                if i < len(rows):
                    rows[i]["errors"] = msgs
            if not exc.errors:
                field = {"customer": "customer_code", "member": "member_no"}.get(
                    exc.field, exc.field
                )
                form.add_error(field if field in form.fields else None, str(exc.message))
            for err in other:
                form.add_error(err.field if err.field in form.fields else None, str(err.message))
        else:
            messages.success(request, _("订单 %(no)s 已创建") % {"no": order.order_no})
            return redirect("sales:order_detail", pk=order.pk)
    return render(
        request,
        "sales/order_form.html",
        {"form": form, "rows": rows or [{}], "products": product_list},
    )


def _order_detail_context(viewer: Viewer, order: Order, **extra: Any) -> dict[str, Any]:
    lines = selectors.order_lines(order)
    returns = list(selectors.order_returns(order))
    staff = viewer.is_staff
    confirmed = order.status == OrderStatus.CONFIRMED
    return {
        "order": order,
        "lines": lines,
        "returns": returns,
        "can_cancel": staff and confirmed and not returns,
        "can_return": staff and confirmed and any(line.returnable_qty > 0 for line in lines),  # type: ignore[attr-defined]
        "return_form": extra.pop("return_form", None)
        or ReturnHeaderForm(initial={"return_date": timezone.localdate()}),
        **_audit_context(order),
        **extra,
    }


@login_required
def order_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    order = selectors.order_for_viewer(viewer, pk)
    return render(request, "sales/order_detail.html", _order_detail_context(viewer, order))


@login_required
@require_POST
def order_cancel_view(request: HttpRequest, pk: int) -> HttpResponse:
    order = selectors.order_for_viewer(request_viewer(request), pk)
    try:
        order_cancel(actor=request.user, order=order, reason=request.POST.get("reason", ""))  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("订单已取消"))
    return redirect("sales:order_detail", pk=pk)


@login_required
@require_POST
def order_return_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Create a return from the order detail page (quantities per line)."""
    viewer = request_viewer(request)
    staff_only(viewer)
    order = selectors.order_for_viewer(viewer, pk)
    form = ReturnHeaderForm(request.POST)
    quantities = {
        int(key[4:]): str(request.POST.get(key, "")).strip()
        for key in request.POST
        if key.startswith("qty_") and key[4:].isdigit() and str(request.POST[key]).strip()
    }
    line_errors: dict[int, str] = {}
    if form.is_valid():
        try:
            ret = return_create(
                actor=request.user,  # type: ignore[arg-type]
                order=order,
                return_date=form.cleaned_data["return_date"],
                reason=form.cleaned_data["reason"],
                lines=[{"order_line": k, "quantity": v} for k, v in quantities.items()],
            )
        except ServiceError as exc:
            for err in exc.errors or []:
                parts = err.field.split(".")
                keys = list(quantities)
                if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(keys):
                    line_errors[keys[int(parts[1])]] = str(err.message)
            if not exc.errors:
                field = exc.field if exc.field in form.fields else None
                form.add_error(field, str(exc.message))
        else:
            messages.success(
                request,
                _("退货单 %(no)s 已创建，退货金额 %(amount)s")
                % {"no": ret.return_no, "amount": f"¥{ret.total_amount:,.2f}"},
            )
            return redirect("sales:order_detail", pk=order.pk)
    ctx = _order_detail_context(
        viewer,
        order,
        return_form=form,
        return_quantities=quantities,
        return_errors=line_errors,
        show_return=True,
    )
    return render(request, "sales/order_detail.html", ctx, status=400)


# ------------------------------------------------------------------------------ returns


@login_required
def returns(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    spec = ListSpec(
        title=gettext_lazy("退货"),
        columns=[
            Column(
                "return_no",
                gettext_lazy("退货单号"),
                lambda r: r.return_no,
                sort="return_no",
                link=lambda r: reverse("sales:return_detail", args=[r.pk]),
            ),
            Column(
                "return_date",
                gettext_lazy("退货日期"),
                lambda r: r.return_date.isoformat(),
                sort="return_date",
            ),
            Column(
                "order",
                gettext_lazy("原订单"),
                lambda r: r.original_order.order_no,
                link=lambda r: reverse("sales:order_detail", args=[r.original_order_id]),
            ),
            Column(
                "customer",
                gettext_lazy("客户"),
                lambda r: r.original_order.customer or r.original_order.member or "",
            ),
            Column(
                "total_amount",
                gettext_lazy("退货金额"),
                lambda r: r.total_amount,
                sort="total_amount",
                money=True,
            ),
            Column("reason", gettext_lazy("退货原因"), lambda r: r.reason),
        ],
        search_fields=["return_no", "original_order__order_no"],
        search_hint=gettext_lazy("退货单号 / 原订单号"),
        date_filters=[DateRangeFilter("return_date", gettext_lazy("退货日期"), "return_date")],
        default_sort="-return_date",
        export_name="returns",
    )
    return list_page(
        request,
        queryset=selectors.returns_for(viewer),
        spec=spec,
        context={"breadcrumbs": _crumbs((_("销售管理"), reverse("sales:orders")))},
    )


@login_required
def return_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    ret: Return = selectors.return_for_viewer(viewer, pk)
    lines = list(ret.lines.select_related("order_line__product").order_by("id"))
    return render(
        request,
        "sales/return_detail.html",
        {"ret": ret, "lines": lines, **_audit_context(ret)},
    )
