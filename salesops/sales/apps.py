from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    name = "salesops.sales"
    label = "sales"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("销售管理")

    def ready(self) -> None:
        from salesops.core.navigation import EVERYONE, STAFF
        from salesops.core.registry import (
            DashboardPanel,
            MenuGroup,
            MenuItem,
            Module,
            register_module,
        )
        from salesops.sales import selectors

        g = "sales"
        register_module(
            Module(
                app=self.label,
                url_prefix="sales/",
                urls="salesops.sales.urls",
                api=("salesops.sales.api",),
                menu_groups=(MenuGroup(g, _("销售管理"), order=40),),
                menu=(
                    MenuItem(g, "sales:customers", _("客户"), "bi-person-lines-fill", STAFF, 10),
                    MenuItem(g, "sales:products", _("商品"), "bi-box-seam", EVERYONE, 20),
                    MenuItem(g, "sales:price_lists", _("价目表"), "bi-tags", STAFF, 30),
                    MenuItem(g, "sales:orders", _("订单"), "bi-receipt", EVERYONE, 40),
                    MenuItem(g, "sales:returns", _("退货"), "bi-arrow-return-left", EVERYONE, 50),
                ),
                importers=(
                    "salesops.sales.importers.customers:CustomerImporter",
                    "salesops.sales.importers.products:ProductImporter",
                    "salesops.sales.importers.orders:OrderImporter",
                ),
                panels=(DashboardPanel("sales", order=10, cards=selectors.dashboard_panel),),
            )
        )
