"""Sales reads, already filtered by the viewer's scope, with the joins each page needs.

Access helpers (``customer_for_viewer`` …) are the only way a view or the API turns a
user-supplied id into an object: outside the viewer's scope the answer is 404.
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Literal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.core.access import NOTHING, Viewer, mask_id_number, mask_phone
from salesops.core.db.choices import choice_values
from salesops.core.db.plans import WALK_SHARE, unindexed
from salesops.core.display import format_count
from salesops.core.errors import ServiceError
from salesops.core.models import DataScope, RoleCode
from salesops.core.money import format_money
from salesops.core.registry import Card
from salesops.core.selectors import import_jobs_running_ids
from salesops.org.access import (
    can_see_personal_info,
    employee_scope_q,
    member_scope_q,
    team_q,
    viewer_team,
)
from salesops.org.models import Department, Employee
from salesops.org.paths import subtree_bounds
from salesops.sales.keys import phone_key
from salesops.sales.models import (
    Customer,
    Order,
    OrderLine,
    PriceList,
    PriceListItem,
    Product,
    Return,
    ReturnLine,
)
from salesops.sales.search import CUSTOMER_SHORT, CUSTOMER_SOURCES, CUSTOMER_TEXT

Tier = Literal["list", "member", "pc"]
TIERS: tuple[Tier, ...] = ("list", "member", "pc")

# ---------------------------------------------------------------------------- customers


def customers_for(viewer: Viewer, *, page: bool = False) -> QuerySet[Customer]:
    """The customers a viewer may see. ``page``: for fetching a list page (the team of
    a 本人及下属 scope as ids: ``org.access.team_q``); the rows are the same."""
    return _customers(viewer, page=page, importing=not_importing_q())


def customer_list_querysets(viewer: Viewer) -> tuple[QuerySet[Customer], QuerySet[Customer]]:
    """The list's ``customers_for(viewer)`` and ``customers_for(viewer, page=True)``,
    reading the running imports once."""
    importing = not_importing_q()
    return (
        _customers(viewer, page=False, importing=importing),
        _customers(viewer, page=True, importing=importing),
    )


def _customers(viewer: Viewer, *, page: bool, importing: Q) -> QuerySet[Customer]:
    if viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        return Customer.objects.none()
    return Customer.objects.filter(
        employee_scope_q(viewer, owner="owner", department="department", page=page),
        importing,
    ).select_related("owner", "department")


def customer_department_choices(viewer: Viewer, limit: int) -> list[tuple[int, str]]:
    """The department filter's choices, by name, from the small tables only: the
    departments of the employees in the viewer's scope (a customer's department is its
    owner's), plus the departments the scope names (the pool's customers keep their last
    owner's). Never a read of the customers (bench/bench_list_pages.py)."""
    if viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        return []
    emp = viewer.employee
    if viewer.is_admin or viewer.scope == DataScope.ALL:
        cond = Q()
    elif viewer.scope == DataScope.SELF_AND_SUBORDINATES and (team := viewer_team(viewer)):
        # The team's departments came with the team the page reads anyway (its scope).
        return sorted(team.departments, key=lambda d: (d[1], d[0]))[:limit]
    else:
        staff = Employee.objects.filter(employee_scope_q(viewer, owner="")).values("department_id")
        cond = Q(pk__in=staff)
        if emp is not None and viewer.scope == DataScope.DEPARTMENT:
            cond |= Q(pk=emp.department_id)
        elif emp is not None and viewer.scope == DataScope.DEPARTMENT_AND_CHILDREN:
            lo, hi = subtree_bounds(emp.department.path)
            cond |= Q(path__gte=lo, path__lt=hi)
    return list(
        Department.objects.filter(cond).order_by("name", "pk").values_list("pk", "name")[:limit]
    )


def customer_source_choices(limit: int) -> list[str]:
    """The source filter's choices: every 客户来源 recorded (``sales.search``), one read of
    a small table."""
    return choice_values(CUSTOMER_SOURCES.domain, limit)


def customer_for_viewer(viewer: Viewer, pk: object) -> Customer:
    try:
        return customers_for(viewer).get(pk=int(str(pk)))
    except (Customer.DoesNotExist, ValueError) as exc:
        raise Http404(_("客户不存在或无权访问")) from exc


def customer_phone(viewer: Viewer, customer: Customer) -> str:
    """The phone as this viewer may see it: full for the owner or with the right."""
    if can_see_personal_info(viewer, customer.owner_id):
        return customer.phone
    return mask_phone(customer.phone)


def customer_id_number(viewer: Viewer, customer: Customer) -> str:
    if can_see_personal_info(viewer, customer.owner_id):
        return customer.id_number
    return mask_id_number(customer.id_number)


def customer_search_q(viewer: Viewer, text: str) -> Q:
    """Name/code contain the text, or the phone matches (``customer_phone_search_q``)."""
    return customer_name_code_q(text) | customer_phone_search_q(viewer, text)


def customer_phone_search_q(viewer: Viewer, text: str) -> Q:
    """The phone half of the customer search (the list searches name and code through
    its trigram index itself): the full number, or — for a
    viewer who may see phones, or on their own customers — a fragment of it. Without the
    right only a full-number match counts, so masked digits cannot be probed one at a
    time. The full number is looked up by the indexed ``phone_key`` (its digits), then
    compared exactly; a "phone" without a digit is not searched as one, and a fragment
    needs three characters (the trigram index: two digits are in nearly every number)."""
    text = text.strip()
    if not text:
        return Q()
    key = phone_key(text)
    q = Q(phone_key=key, phone=text) if key else Q()
    fragment = CUSTOMER_TEXT.q(text, ("phone",))
    if fragment is None:
        return q
    if viewer.can_view_personal_info:
        q |= fragment
    elif viewer.employee is not None:
        q |= Q(owner_id=viewer.employee.pk) & fragment
    return q


def customer_name_code_q(text: str) -> Q:
    """Name or code contains ``text``: through the trigram index from three characters,
    the gram index below (``icontains`` when such a short term is common)."""
    text = text.strip()
    if not text:
        return Q()
    index = CUSTOMER_TEXT if CUSTOMER_TEXT.answers(text) else CUSTOMER_SHORT
    return index.q(text, ("name", "code")) or (Q(name__icontains=text) | Q(code__icontains=text))


def customer_scenes(viewer: Viewer) -> list[tuple[str, str, Q, Q | None]]:
    """Scene tabs (key, label, filter, filter for fetching a page) the viewer's scope
    allows: 我负责的 / 下属负责的 / 全部."""
    scenes: list[tuple[str, str, Q, Q | None]] = []
    emp = viewer.employee
    if emp is not None:
        scenes.append(("mine", _("我负责的"), Q(owner_id=emp.pk), None))
        if viewer.is_admin or viewer.scope != DataScope.SELF:
            # A subquery over the small employee table, not a join: the EXISTS that picks
            # the default scene is an index lookup even when nobody reports to the viewer;
            # the page reads the team as ids (team_q).
            below = team_q(viewer, owner="owner", include_self=False)
            # On the page of a 本人及下属 scope, which is the team already (as ids), the
            # subordinates are the scope but the viewer: a second id list made PostgreSQL
            # multiply the two (21,000 rows estimated for 100,000) and sort them all.
            below_page = None
            if viewer.scope == DataScope.SELF_AND_SUBORDINATES and not viewer.is_admin:
                below_page = ~Q(owner_id=emp.pk)
            scenes.append(("subordinates", _("下属负责的"), below, below_page))
    if emp is None or viewer.is_admin or viewer.scope != DataScope.SELF:
        scenes.append(("all", _("全部"), Q(), None))
    return scenes


def customer_orders(viewer: Viewer, customer: Customer, limit: int = 20) -> list[Order]:
    return list(orders_for(viewer).filter(customer=customer)[:limit])


# ----------------------------------------------------------------------------- products


def products_for(viewer: Viewer) -> QuerySet[Product]:
    """Every logged-in user may read the catalogue; members see products on sale only."""
    qs = Product.objects.all()
    if viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        qs = qs.filter(active=True)
    return qs


def product_for_viewer(viewer: Viewer, pk: object) -> Product:
    try:
        return products_for(viewer).get(pk=int(str(pk)))
    except (Product.DoesNotExist, ValueError) as exc:
        raise Http404(_("商品不存在")) from exc


def price_lists_for(viewer: Viewer) -> QuerySet[PriceList]:
    if viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        return PriceList.objects.none()
    return PriceList.objects.all()


def price_list_for_viewer(viewer: Viewer, pk: object) -> PriceList:
    try:
        return price_lists_for(viewer).get(pk=int(str(pk)))
    except (PriceList.DoesNotExist, ValueError) as exc:
        raise Http404(_("价目表不存在")) from exc


def price_list_items(price_list: PriceList) -> QuerySet[PriceListItem]:
    return price_list.items.select_related("product").order_by("product__sku")


def _valid_on(day: datetime.date, prefix: str = "") -> Q:
    return Q(**{f"{prefix}valid_from__lte": day}) & (
        Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to__gte": day})
    )


def price_item_for(product: Product, day: datetime.date) -> PriceListItem | None:
    """The item of the newest price list valid on ``day`` (valid_to inclusive) that prices
    the product."""
    return (
        PriceListItem.objects.filter(_valid_on(day, "price_list__"), product=product)
        .order_by("-price_list__valid_from", "-price_list_id")
        .first()
    )


def price_for(product: Product, day: datetime.date, tier: Tier) -> Decimal:
    """The product's ``tier`` price (list / member / pc) on ``day``.

    Raises ``ServiceError('no_price')`` when no valid price list prices the product."""
    if tier not in TIERS:
        raise ServiceError("invalid_tier", _("价格类型无效"), field="tier")
    item = price_item_for(product, day)
    if item is None:
        raise ServiceError(
            "no_price",
            _("商品 %(product)s 在 %(day)s 没有有效价格") % {"product": product, "day": day},
            field="unit_price",
        )
    return {"list": item.list_price, "member": item.member_price, "pc": item.pc_price}[tier]


# ------------------------------------------------------------------------------- orders


def order_scope_q(viewer: Viewer, prefix: str = "") -> Q:
    """Orders a viewer may see. A member sees the orders they bought or are credited
    with; staff see orders credited to employees in their scope, or to members serviced
    by those employees. Nobody sees the orders of an import still applying
    (``not_importing_q``)."""
    return _order_scope_q(viewer, prefix) & not_importing_q(prefix)


def not_importing_q(prefix: str = "") -> Q:
    """Every order (customer) but those written by an import job still running: a
    chunked import commits its rows chunk by chunk, and they appear together when the job
    is done (its last chunk marks it so). No filter at all when no import runs; otherwise
    a test on the row's own column (no join), with NULL — a row entered by hand — kept."""
    running = import_jobs_running_ids()
    if not running:
        return Q()
    return ~Q(**{f"{prefix}import_job_id__in": running})


def _order_scope_q(viewer: Viewer, prefix: str) -> Q:
    if viewer.is_admin or viewer.scope == DataScope.ALL:
        return Q()
    if viewer.role == RoleCode.MEMBER:
        if viewer.member is None:
            return NOTHING
        return Q(**{f"{prefix}member_id": viewer.member.pk}) | Q(
            **{f"{prefix}credited_member_id": viewer.member.pk}
        )
    if viewer.employee is None:
        return NOTHING
    return employee_scope_q(
        viewer, owner=f"{prefix}credited_employee", department=f"{prefix}department"
    ) | member_scope_q(viewer, member=f"{prefix}credited_member")


def orders_for(viewer: Viewer, *, page: bool = False) -> QuerySet[Order]:
    """The orders a viewer may see. ``page``: for a list page (first rows in an indexed
    order), where a broad scope on SQLite is served best by walking the sort index
    (``core.db.plans.unindexed``); the rows are the same."""
    scope = order_scope_q(viewer)
    if page and _scope_is_broad(viewer):
        scope = unindexed(scope)
    return Order.objects.filter(scope).select_related(
        "customer", "member", "credited_employee", "credited_member", "department"
    )


def _scope_is_broad(viewer: Viewer) -> bool:
    """A staff subtree scope holding at least ``WALK_SHARE`` of the employees (the share
    of the orders it sees, near enough). One query over the small employee table, on
    SQLite only (PostgreSQL plans by its statistics)."""
    if connection.vendor != "sqlite" or viewer.is_admin or viewer.employee is None:
        return False
    if viewer.role == RoleCode.MEMBER or viewer.scope not in BROAD_SCOPES:
        return False
    counts = Employee.objects.aggregate(
        total=Count("pk"), mine=Count("pk", filter=employee_scope_q(viewer, owner=""))
    )
    return bool(counts["total"]) and counts["mine"] >= WALK_SHARE * counts["total"]


BROAD_SCOPES = (
    DataScope.DEPARTMENT,
    DataScope.DEPARTMENT_AND_CHILDREN,
    DataScope.SELF_AND_SUBORDINATES,
)


def order_for_viewer(viewer: Viewer, pk: object) -> Order:
    try:
        return orders_for(viewer).get(pk=int(str(pk)))
    except (Order.DoesNotExist, ValueError) as exc:
        raise Http404(_("订单不存在或无权访问")) from exc


def order_lines(order: Order) -> list[OrderLine]:
    """Lines with what is left to return on each (``returned_qty``, ``returnable_qty``)."""
    lines = list(order.lines.select_related("product").order_by("id"))
    returned = dict(
        ReturnLine.objects.filter(order_line__order=order)
        .values("order_line")
        .annotate(q=Sum("quantity"))
        .values_list("order_line", "q")
    )
    for line in lines:
        line.returned_qty = returned.get(line.pk) or Decimal(0)  # type: ignore[attr-defined]
        line.returnable_qty = line.quantity - line.returned_qty  # type: ignore[attr-defined]
    return lines


# ------------------------------------------------------------------------------ returns


def returns_for(viewer: Viewer) -> QuerySet[Return]:
    return Return.objects.filter(order_scope_q(viewer, prefix="original_order__")).select_related(
        "original_order", "original_order__customer", "original_order__member"
    )


def return_for_viewer(viewer: Viewer, pk: object) -> Return:
    try:
        return returns_for(viewer).get(pk=int(str(pk)))
    except (Return.DoesNotExist, ValueError) as exc:
        raise Http404(_("退货单不存在或无权访问")) from exc


def order_returns(order: Order) -> QuerySet[Return]:
    return order.returns.order_by("return_date", "id")


def dashboard_panel(viewer: Viewer, today: datetime.date) -> list[Card]:
    """Home-page figures of sales: this month's net sales and orders in the viewer's
    scope, and (for staff) the customers they can see. Three bounded aggregates."""
    month_start = today.replace(day=1)
    month = today.strftime("%Y-%m")
    scope = order_scope_q(viewer)
    if _scope_is_broad(viewer):
        scope = unindexed(scope)  # the month's date range is the selective part
    totals = (
        Order.objects.filter(scope)
        .filter(order_date__gte=month_start, order_date__lte=today)
        .aggregate(n=Count("id"), total=Sum("total_amount"), returned=Sum("returned_amount"))
    )
    net = (totals["total"] or Decimal(0)) - (totals["returned"] or Decimal(0))
    orders_url = reverse("sales:orders")
    cards = [
        Card(
            "month-sales", _("%(month)s 销售额") % {"month": month}, format_money(net), orders_url
        ),
        Card(
            "month-orders",
            _("%(month)s 订单数") % {"month": month},
            format_count(totals["n"]),
            orders_url,
        ),
    ]
    if viewer.role != RoleCode.MEMBER:
        customers = Customer.objects.filter(
            employee_scope_q(viewer, owner="owner", department="department"),
            not_importing_q(),
        ).count()
        cards.append(
            Card(
                "customers", _("我可见的客户"), format_count(customers), reverse("sales:customers")
            )
        )
    return cards
