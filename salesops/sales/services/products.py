"""Products and price lists (零售价 / 会员价 / 优惠顾客价). Managed by admin, director and
marketing; prices are money, so every change is audited."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import User
from salesops.core.money import parse_money, round_money
from salesops.sales.models import PriceList, PriceListItem, Product
from salesops.sales.services._common import require_product_manager, viewer_of

_PRODUCT_AUDITED = ("sku", "name", "unit", "active")
_LIST_AUDITED = ("name", "valid_from", "valid_to")
_ITEM_AUDITED = (
    "price_list",
    "product",
    "list_price",
    "member_price",
    "pc_price",
    "floor_price",
)


@transaction.atomic
def product_create(
    *, actor: User | None, sku: str, name: str, unit: str = "件", active: bool = True
) -> Product:
    require_product_manager(viewer_of(actor))
    sku, name, unit = sku.strip(), name.strip(), unit.strip() or "件"
    if not sku:
        raise ServiceError("required", _("请填写商品编码"), field="sku")
    if not name:
        raise ServiceError("required", _("请填写商品名称"), field="name")
    if Product.objects.filter(sku=sku).exists():
        raise ServiceError("duplicate", _("商品编码 %(sku)s 已存在") % {"sku": sku}, "sku")
    product = Product.objects.create(sku=sku, name=name, unit=unit, active=active)
    audit_create(actor=actor, obj=product, fields=_PRODUCT_AUDITED)
    return product


@transaction.atomic
def product_update(
    *, actor: User | None, product: Product, name: str, unit: str, active: bool
) -> Product:
    """Edit a product; the SKU never changes once orders may reference it."""
    require_product_manager(viewer_of(actor))
    if not name.strip():
        raise ServiceError("required", _("请填写商品名称"), field="name")
    before = snapshot(product, _PRODUCT_AUDITED)
    product.name, product.unit, product.active = name.strip(), unit.strip() or "件", active
    product.save()
    audit_update(actor=actor, obj=product, before=before)
    return product


def _check_dates(valid_from: datetime.date, valid_to: datetime.date | None) -> None:
    if valid_to is not None and valid_to < valid_from:
        raise ServiceError("invalid_dates", _("失效日期不能早于生效日期"), field="valid_to")


@transaction.atomic
def price_list_create(
    *,
    actor: User | None,
    name: str,
    valid_from: datetime.date,
    valid_to: datetime.date | None = None,
) -> PriceList:
    """A price list valid from ``valid_from`` through ``valid_to`` (inclusive; None = open)."""
    require_product_manager(viewer_of(actor))
    if not name.strip():
        raise ServiceError("required", _("请填写价目表名称"), field="name")
    _check_dates(valid_from, valid_to)
    price_list = PriceList.objects.create(
        name=name.strip(), valid_from=valid_from, valid_to=valid_to
    )
    audit_create(actor=actor, obj=price_list, fields=_LIST_AUDITED)
    return price_list


@transaction.atomic
def price_list_update(
    *,
    actor: User | None,
    price_list: PriceList,
    name: str,
    valid_from: datetime.date,
    valid_to: datetime.date | None,
) -> PriceList:
    require_product_manager(viewer_of(actor))
    if not name.strip():
        raise ServiceError("required", _("请填写价目表名称"), field="name")
    _check_dates(valid_from, valid_to)
    before = snapshot(price_list, _LIST_AUDITED)
    price_list.name, price_list.valid_from, price_list.valid_to = (
        name.strip(),
        valid_from,
        valid_to,
    )
    price_list.save()
    audit_update(actor=actor, obj=price_list, before=before)
    return price_list


# Within the column (max_digits=18) and what SQLite stores exactly (15 significant digits).
MAX_PRICE = Decimal("999999999999.99")


def _price(raw: object, field: str, errors: list[FieldError]) -> Decimal:
    try:
        value = parse_money(raw)
    except ValueError:
        errors.append(FieldError(field, _("请输入有效的金额")))
        return Decimal(0)
    if value < 0:
        errors.append(FieldError(field, _("价格不能为负数")))
    elif value > MAX_PRICE:  # the column's max_digits; also keeps quantize() in range
        errors.append(FieldError(field, _("价格超出允许范围")))
        return Decimal(0)
    elif round_money(value) != value:
        errors.append(FieldError(field, _("价格最多保留两位小数")))
    return round_money(value)


@transaction.atomic
def price_list_item_set(
    *,
    actor: User | None,
    price_list: PriceList,
    product: Product,
    list_price: Decimal | str,
    member_price: Decimal | str,
    pc_price: Decimal | str,
    floor_price: Decimal | str | None = None,
) -> PriceListItem:
    """Set (create or replace) a product's three prices on a price list, and its floor
    price (最低售价: a quote below it needs approval; blank for none).

    Prices are ≥ 0 with at most two decimals, the member price never exceeds the list
    price, nor the floor price the list price."""
    require_product_manager(viewer_of(actor))
    errors: list[FieldError] = []
    lp = _price(list_price, "list_price", errors)
    mp = _price(member_price, "member_price", errors)
    pp = _price(pc_price, "pc_price", errors)
    blank = floor_price is None or str(floor_price).strip() == ""
    fp = None if blank else _price(floor_price, "floor_price", errors)
    if not errors and mp > lp:
        errors.append(FieldError("member_price", _("会员价不能高于零售价")))
    if not errors and fp is not None and fp > lp:
        errors.append(FieldError("floor_price", _("最低售价不能高于零售价")))
    if errors:
        raise ServiceError("invalid_price", errors[0].message, errors[0].field, errors)
    item = (
        PriceListItem.objects.select_for_update()
        .filter(price_list=price_list, product=product)
        .first()
    )
    if item is None:
        item = PriceListItem.objects.create(
            price_list=price_list,
            product=product,
            list_price=lp,
            member_price=mp,
            pc_price=pp,
            floor_price=fp,
        )
        audit_create(actor=actor, obj=item, fields=_ITEM_AUDITED)
        return item
    before = snapshot(item, _ITEM_AUDITED)
    item.list_price, item.member_price, item.pc_price = lp, mp, pp
    item.floor_price = fp
    item.save()
    audit_update(actor=actor, obj=item, before=before)
    return item
