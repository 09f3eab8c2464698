from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "salesops.crm"
    label = "crm"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("客户关系")

    def ready(self) -> None:
        from salesops.core.navigation import STAFF
        from salesops.core.registry import MenuGroup, MenuItem, Module, register_module
        from salesops.crm.selectors.leads import crm_duplicates
        from salesops.sales.dedupe import register_duplicate_finder

        # 查重 of every customer create (sales) also looks at leads and contacts.
        register_duplicate_finder(crm_duplicates)

        g = "crm"
        register_module(
            Module(
                app=self.label,
                url_prefix="crm/",
                urls="salesops.crm.urls",
                api=("salesops.crm.api.leads",),
                menu_groups=(MenuGroup(g, _("客户关系"), order=35),),
                menu=(
                    MenuItem(g, "crm:leads", _("线索"), "bi-lightning", STAFF, 10),
                    MenuItem(g, "crm:duplicates", _("查重"), "bi-search", STAFF, 50),
                ),
            )
        )
