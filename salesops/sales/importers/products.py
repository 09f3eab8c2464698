"""商品导入: sku, name, unit, list_price, member_price, pc_price. An existing SKU is
updated; prices go to the current price list (created when there is none), and every
price change is written to the audit log."""

from __future__ import annotations

import datetime
from decimal import Decimal
from functools import partial

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.audit import audit_update, snapshot
from salesops.core.imports.common import CollectingImporter, filter_in
from salesops.core.imports.engine import Ctx
from salesops.core.imports.schema import Col, parse_code, parse_decimal, parse_text
from salesops.sales.models import PriceList, PriceListItem, Product

_PRICES = ("list_price", "member_price", "pc_price")


def current_price_list(today: datetime.date) -> PriceList | None:
    return (
        PriceList.objects.filter(valid_from__lte=today)
        .exclude(valid_to__lte=today)
        .order_by("-valid_from", "-id")
        .first()
    )


class ProductImporter(CollectingImporter):
    entity = "products"
    title = _l("商品")
    object_type = "sales.product"
    key = "sku"
    columns = [
        Col(
            "sku",
            _l("商品编码"),
            partial(parse_code, max_length=32),
            True,
            ("编码", "SKU"),
            "SKU001",
        ),
        Col(
            "name",
            _l("商品名称"),
            partial(parse_text, max_length=200),
            True,
            ("名称", "商品"),
            "营养素套装",
        ),
        Col("unit", _l("单位"), partial(parse_text, max_length=16), False, (), "盒"),
        Col("list_price", _l("零售价"), parse_decimal, False, ("价格",), "399.00"),
        Col("member_price", _l("会员价"), parse_decimal, False, (), "299.00"),
        Col("pc_price", _l("优惠顾客价"), parse_decimal, False, ("优惠价",), "349.00"),
    ]

    def check(self, ctx: Ctx) -> None:
        self.existing = {p.sku: p for p in filter_in(Product.objects, "sku", self.rows)}
        self.price_list = current_price_list(timezone.localdate())
        self.items: dict[int, PriceListItem] = {}
        if self.price_list is not None:
            self.items = {
                i.product_id: i
                for i in filter_in(
                    PriceListItem.objects.filter(price_list=self.price_list),
                    "product_id",
                    (p.pk for p in self.existing.values()),
                )
            }
        for prow in self.rows.values():
            v = prow.values
            if any(k in v for k in _PRICES) and "list_price" not in v:
                ctx.report.add(prow.row, self.label("list_price"), _("填写了价格时零售价必填"))
        created = sum(1 for sku in self.rows if sku not in self.existing)
        updated = sum(1 for sku in self.rows if sku in self.existing and self._changes(sku))
        unchanged = len(self.rows) - created - updated
        ctx.report.created += created
        ctx.report.updated += updated
        ctx.report.unchanged += unchanged
        ctx.report.count(str(self.title), created=created, updated=updated, unchanged=unchanged)

    def _prices(self, sku: str) -> dict[str, Decimal] | None:
        v = self.rows[sku].values
        if "list_price" not in v:
            return None
        return {k: v.get(k, v["list_price"]) for k in _PRICES}

    def _changes(self, sku: str) -> bool:
        product, v = self.existing[sku], self.rows[sku].values
        if product.name != v["name"] or ("unit" in v and product.unit != v["unit"]):
            return True
        prices = self._prices(sku)
        if prices is None:
            return False
        item = self.items.get(product.pk)
        return item is None or any(getattr(item, k) != prices[k] for k in _PRICES)

    def write(self, ctx: Ctx) -> None:
        new = [
            Product(sku=sku, name=p.values["name"], unit=p.values.get("unit") or "件")
            for sku, p in self.rows.items()
            if sku not in self.existing
        ]
        Product.objects.bulk_create(new, batch_size=2000)
        products = {p.sku: p for p in filter_in(Product.objects, "sku", self.rows)}
        if self.price_list is None and any(self._prices(s) for s in self.rows):
            self.price_list = PriceList.objects.create(
                name=_("标准价目表"), valid_from=timezone.localdate()
            )
        new_items: list[PriceListItem] = []
        for sku, prow in self.rows.items():
            product, v = products[sku], prow.values
            if sku in self.existing and (
                product.name != v["name"] or ("unit" in v and product.unit != v["unit"])
            ):
                before = snapshot(product, ["name", "unit"])
                product.name, product.unit = v["name"], v.get("unit") or product.unit
                product.save(update_fields=["name", "unit"])
                audit_update(actor=ctx.actor, obj=product, before=before, note=_("数据导入"))
            prices = self._prices(sku)
            if prices is None:
                continue
            assert self.price_list is not None
            item = self.items.get(product.pk)
            if item is None:
                new_items.append(
                    PriceListItem(price_list=self.price_list, product=product, **prices)
                )
                continue
            before = snapshot(item, _PRICES)
            for k in _PRICES:
                setattr(item, k, prices[k])
            item.save(update_fields=list(_PRICES))
            audit_update(actor=ctx.actor, obj=item, before=before, note=_("数据导入"))
        PriceListItem.objects.bulk_create(new_items, batch_size=2000)
