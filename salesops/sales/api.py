"""Sales API: customers, products, orders and returns. Same selectors as the UI, so the
same scopes: outside the viewer's scope an id answers 404; phones are masked the same way;
money is a string with two decimals."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.core.access import Viewer
from salesops.core.api import common as api_common
from salesops.core.api.auth import requires
from salesops.core.api.types import (
    BodyIn,
    Id,
    IsoDate,
    Name40,
    Name200,
    Price,
    Quantity,
    ReturnQuantity,
    Search,
    Text32,
    Text64,
    Text200,
    Text300,
    pattern,
)
from salesops.core.errors import ServiceError
from salesops.org.selectors import employee_for_viewer, member_for_viewer
from salesops.sales import selectors
from salesops.sales.models import Customer, Order, OrderLine, Product, Return
from salesops.sales.services._common import require_staff
from salesops.sales.services.customers import customer_create, customer_update
from salesops.sales.services.orders import order_create
from salesops.sales.services.returns import return_create

router = Router(tags=["sales"])

# The shared API helpers, under the names this module (and its importers) always used.
PAGE_SIZE = api_common.PAGE_SIZE
MAX_PAGE = api_common.MAX_PAGE
ErrorOut = api_common.ErrorOut
ERRORS = api_common.ERRORS
_viewer = api_common.api_viewer
_money = api_common.money_str
_page = api_common.paginate


def _qty(value: Decimal) -> str:
    return f"{value:.2f}"


class PageIn(Schema):
    q: Search = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)


# Customers, orders and returns are staff work: a member's token is refused (403) before
# its body is looked at.
staff = requires(require_staff)

# The phone rule of ``customers._clean`` (after trimming); PATCH also takes back the
# masked value it was shown (``138****5678``), which keeps the stored number.
PHONE_PATTERN = r"^(\+?[0-9][0-9\- ]{4,30})?$"
MASKED_PHONE_PATTERN = r"^(\+?[0-9*][0-9*\- ]{4,30})?$"
Phone = Annotated[
    str, Field(max_length=32), pattern(PHONE_PATTERN, gettext_lazy("手机号格式不正确"))
]
ShownPhone = Annotated[
    str, Field(max_length=32), pattern(MASKED_PHONE_PATTERN, gettext_lazy("手机号格式不正确"))
]


# ---------------------------------------------------------------------------- customers


class CustomerOut(Schema):
    id: int
    code: str
    name: str
    phone: str
    id_number: str
    address: str
    source: str
    owner_id: int | None  # None while the customer is in a public pool (公海)
    owner_name: str
    department_id: int
    department_name: str
    created_at: datetime.datetime


class CustomerPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[CustomerOut]


class CustomerIn(BodyIn):
    name: Name200
    code: Text32 = ""
    phone: Phone = ""
    id_number: Text32 = ""
    address: Text300 = ""
    source: Text64 = ""
    owner_id: Id | None = None
    confirm_duplicate: bool = False


class CustomerPatch(BodyIn):
    """Only the fields sent change; ``null`` is the same as leaving a field out."""

    name: Name200 | None = None
    phone: ShownPhone | None = None
    id_number: Text32 | None = None
    address: Text300 | None = None
    source: Text64 | None = None


def _customer_out(viewer: Viewer, c: Customer) -> dict[str, Any]:
    return {
        "id": c.pk,
        "code": c.code,
        "name": c.name,
        "phone": selectors.customer_phone(viewer, c),
        "id_number": selectors.customer_id_number(viewer, c),
        "address": c.address,
        "source": c.source,
        "owner_id": c.owner_id,
        "owner_name": c.owner.name if c.owner else "",
        "department_id": c.department_id,
        "department_name": c.department.name,
        "created_at": c.created_at,
    }


def _or_404(loader: Any, viewer: Viewer, pk: int | None, field: str, message: str) -> Any:
    """An id from the payload through its access helper; a miss names the field."""
    if pk is None:
        return None
    try:
        return loader(viewer, pk)
    except Http404 as exc:
        raise ServiceError("not_found", message, field=field, status=404) from exc


@router.get("/customers", response=CustomerPage, summary="客户列表")
def customers_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    viewer = _viewer(request)
    qs = selectors.customers_for(viewer).filter(selectors.customer_search_q(viewer, params.q))
    rows, meta = _page(qs.order_by("-id"), params.page)
    return {**meta, "results": [_customer_out(viewer, c) for c in rows]}


@router.post("/customers", response={201: CustomerOut, **ERRORS}, summary="新建客户", auth=staff)
def customers_create(request: HttpRequest, payload: CustomerIn) -> Any:
    viewer = _viewer(request)
    owner = None
    if payload.owner_id is not None:
        owner = _or_404(
            employee_for_viewer, viewer, payload.owner_id, "owner_id", _("员工不存在或无权访问")
        )
    c = customer_create(
        actor=request.auth,  # type: ignore[attr-defined]
        name=payload.name,
        code=payload.code,
        phone=payload.phone,
        id_number=payload.id_number,
        address=payload.address,
        source=payload.source,
        owner=owner,
        confirm_duplicate=payload.confirm_duplicate,
    )
    return Status(201, _customer_out(viewer, selectors.customer_for_viewer(viewer, c.pk)))


@router.get("/customers/{customer_id}", response={200: CustomerOut, **ERRORS}, summary="客户详情")
def customers_get(request: HttpRequest, customer_id: Id) -> Any:
    viewer = _viewer(request)
    return _customer_out(viewer, selectors.customer_for_viewer(viewer, customer_id))


@router.patch(
    "/customers/{customer_id}",
    response={200: CustomerOut, **ERRORS},
    summary="修改客户",
    auth=staff,
)
def customers_patch(request: HttpRequest, customer_id: Id, payload: CustomerPatch) -> Any:
    viewer = _viewer(request)
    c = selectors.customer_for_viewer(viewer, customer_id)
    data = payload.model_dump(exclude_unset=True)
    # A masked value sent back unchanged must not overwrite the real one.
    for key, current, shown in (
        ("phone", c.phone, selectors.customer_phone(viewer, c)),
        ("id_number", c.id_number, selectors.customer_id_number(viewer, c)),
    ):
        if data.get(key) is not None and data[key] == shown and shown != current:
            data[key] = current
    merged: dict[str, str] = {
        key: data[key] if data.get(key) is not None else getattr(c, key)
        for key in ("name", "phone", "id_number", "address", "source")
    }
    customer_update(actor=request.auth, customer=c, **merged)  # type: ignore[attr-defined]
    return _customer_out(viewer, selectors.customer_for_viewer(viewer, c.pk))


# ----------------------------------------------------------------------------- products


class ProductOut(Schema):
    id: int
    sku: str
    name: str
    unit: str
    active: bool


class ProductPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[ProductOut]


class PriceOut(Schema):
    price_list_id: int
    price_list: str
    list_price: str
    member_price: str
    pc_price: str


class ProductDetailOut(ProductOut):
    price: PriceOut | None = None


def _product_out(p: Product) -> dict[str, Any]:
    return {"id": p.pk, "sku": p.sku, "name": p.name, "unit": p.unit, "active": p.active}


@router.get("/products", response=ProductPage, summary="商品列表")
def products_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    qs = selectors.products_for(_viewer(request))
    if params.q:
        qs = qs.filter(Q(sku__icontains=params.q) | Q(name__icontains=params.q))
    rows, meta = _page(qs.order_by("sku"), params.page)
    return {**meta, "results": [_product_out(p) for p in rows]}


@router.get(
    "/products/{product_id}", response={200: ProductDetailOut, **ERRORS}, summary="商品详情"
)
def products_get(request: HttpRequest, product_id: Id, on: IsoDate | None = None) -> Any:
    """The product with its prices on ``on`` (default today)."""
    viewer = _viewer(request)
    p = selectors.product_for_viewer(viewer, product_id)
    item = selectors.price_item_for(p, on or timezone.localdate())
    out = _product_out(p)
    out["price"] = None
    if item is not None:
        out["price"] = {
            "price_list_id": item.price_list_id,
            "price_list": item.price_list.name,
            "list_price": _money(item.list_price),
            "member_price": _money(item.member_price),
            "pc_price": _money(item.pc_price),
        }
    return out


# ------------------------------------------------------------------------------- orders


class OrderLineOut(Schema):
    id: int
    product_id: int
    product_sku: str
    product_name: str
    quantity: str
    unit_price: str
    amount: str


class OrderOut(Schema):
    id: int
    order_no: str
    order_date: datetime.date
    kind: str
    status: str
    customer_id: int | None
    customer_name: str
    member_id: int | None
    credited_employee_id: int | None
    credited_member_id: int | None
    department_id: int | None
    total_amount: str
    returned_amount: str


class OrderDetailOut(OrderOut):
    lines: list[OrderLineOut]


class OrderPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[OrderOut]


class OrderLineIn(BodyIn):
    product_id: Id
    quantity: Quantity
    unit_price: Price | None = None


class OrderIn(BodyIn):
    order_date: IsoDate
    kind: Literal["regular", "aro"] = "regular"
    order_no: Name40 | None = None
    customer_id: Id | None = None
    member_id: Id | None = None
    credited_employee_id: Id | None = None
    credited_member_id: Id | None = None
    tier: Literal["list", "member", "pc"] | None = None
    lines: list[OrderLineIn] = Field(..., min_length=1, max_length=200)


def _order_out(o: Order) -> dict[str, Any]:
    return {
        "id": o.pk,
        "order_no": o.order_no,
        "order_date": o.order_date,
        "kind": o.kind,
        "status": o.status,
        "customer_id": o.customer_id,
        "customer_name": o.customer.name if o.customer_id and o.customer else "",
        "member_id": o.member_id,
        "credited_employee_id": o.credited_employee_id,
        "credited_member_id": o.credited_member_id,
        "department_id": o.department_id,
        "total_amount": _money(o.total_amount),
        "returned_amount": _money(o.returned_amount),
    }


def _line_out(line: OrderLine) -> dict[str, Any]:
    return {
        "id": line.pk,
        "product_id": line.product_id,
        "product_sku": line.product.sku,
        "product_name": line.product.name,
        "quantity": _qty(line.quantity),
        "unit_price": _money(line.unit_price),
        "amount": _money(line.amount),
    }


def _order_detail(o: Order) -> dict[str, Any]:
    return {**_order_out(o), "lines": [_line_out(x) for x in selectors.order_lines(o)]}


@router.get("/orders", response=OrderPage, summary="订单列表")
def orders_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    viewer = _viewer(request)
    qs, scope = selectors.orders_for(viewer, page=True), selectors.orders_for(viewer)
    if params.q:
        qs = qs.filter(order_no__icontains=params.q)
        scope = scope.filter(order_no__icontains=params.q)
    rows, meta = _page(qs, params.page, count_qs=scope)
    return {**meta, "results": [_order_out(o) for o in rows]}


@router.post("/orders", response={201: OrderDetailOut, **ERRORS}, summary="新建订单", auth=staff)
def orders_create(request: HttpRequest, payload: OrderIn) -> Any:
    viewer = _viewer(request)
    no_member = _("会员不存在或无权访问")
    customer = _or_404(
        selectors.customer_for_viewer,
        viewer,
        payload.customer_id,
        "customer_id",
        _("客户不存在或无权访问"),
    )
    credited_employee = _or_404(
        employee_for_viewer,
        viewer,
        payload.credited_employee_id,
        "credited_employee_id",
        _("员工不存在或无权访问"),
    )
    products = {
        p.pk: p
        for p in selectors.products_for(viewer).filter(
            pk__in=[line.product_id for line in payload.lines]
        )
    }
    lines = []
    for i, line in enumerate(payload.lines):
        product = products.get(line.product_id)
        if product is None:
            raise ServiceError(
                "not_found", _("商品不存在"), field=f"lines.{i}.product_id", status=404
            )
        lines.append({"product": product, "quantity": line.quantity, "unit_price": line.unit_price})
    order = order_create(
        actor=request.auth,  # type: ignore[attr-defined]
        order_date=payload.order_date,
        kind=payload.kind,
        order_no=payload.order_no,
        customer=customer,
        member=_or_404(member_for_viewer, viewer, payload.member_id, "member_id", no_member),
        credited_employee=credited_employee,
        credited_member=_or_404(
            member_for_viewer, viewer, payload.credited_member_id, "credited_member_id", no_member
        ),
        tier=payload.tier,  # type: ignore[arg-type]
        lines=lines,
    )
    return Status(201, _order_detail(selectors.order_for_viewer(viewer, order.pk)))


@router.get("/orders/{order_id}", response={200: OrderDetailOut, **ERRORS}, summary="订单详情")
def orders_get(request: HttpRequest, order_id: Id) -> Any:
    return _order_detail(selectors.order_for_viewer(_viewer(request), order_id))


# ------------------------------------------------------------------------------ returns


class ReturnLineIn(BodyIn):
    order_line_id: Id
    quantity: ReturnQuantity


class ReturnIn(BodyIn):
    return_date: IsoDate
    reason: Text200 = ""
    lines: list[ReturnLineIn] = Field(..., min_length=1, max_length=200)


class ReturnLineOut(Schema):
    order_line_id: int
    quantity: str
    amount: str


class ReturnOut(Schema):
    id: int
    return_no: str
    original_order_id: int
    original_order_no: str
    return_date: datetime.date
    reason: str
    total_amount: str


class ReturnDetailOut(ReturnOut):
    lines: list[ReturnLineOut]


class ReturnPage(Schema):
    count: int
    page: int
    pages: int
    page_size: int
    results: list[ReturnOut]


def _return_out(r: Return) -> dict[str, Any]:
    return {
        "id": r.pk,
        "return_no": r.return_no,
        "original_order_id": r.original_order_id,
        "original_order_no": r.original_order.order_no,
        "return_date": r.return_date,
        "reason": r.reason,
        "total_amount": _money(r.total_amount),
    }


@router.post(
    "/orders/{order_id}/returns",
    response={201: ReturnDetailOut, **ERRORS},
    summary="新建退货",
    auth=staff,
)
def orders_return(request: HttpRequest, order_id: Id, payload: ReturnIn) -> Any:
    viewer = _viewer(request)
    order = selectors.order_for_viewer(viewer, order_id)
    ret = return_create(
        actor=request.auth,  # type: ignore[attr-defined]
        order=order,
        return_date=payload.return_date,
        reason=payload.reason,
        lines=[{"order_line": x.order_line_id, "quantity": x.quantity} for x in payload.lines],
    )
    ret = selectors.return_for_viewer(viewer, ret.pk)
    out = {
        **_return_out(ret),
        "lines": [
            {
                "order_line_id": x.order_line_id,
                "quantity": _qty(x.quantity),
                "amount": _money(x.amount),
            }
            for x in ret.lines.order_by("id")
        ],
    }
    return Status(201, out)


@router.get("/returns", response=ReturnPage, summary="退货列表")
def returns_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    qs = selectors.returns_for(_viewer(request))
    if params.q:
        qs = qs.filter(
            Q(return_no__icontains=params.q) | Q(original_order__order_no__icontains=params.q)
        )
    rows, meta = _page(qs, params.page)
    return {**meta, "results": [_return_out(r) for r in rows]}
