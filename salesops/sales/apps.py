from __future__ import annotations

import datetime
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _url(name: str) -> Any:
    def url(object_id: str) -> str:
        from django.urls import reverse

        return reverse(name, args=[object_id])

    return url


class SalesConfig(AppConfig):
    name = "salesops.sales"
    label = "sales"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("销售管理")

    def ready(self) -> None:
        from salesops.core.approvals.registry import register_document_type
        from salesops.core.navigation import ADMIN_ONLY, EVERYONE, STAFF
        from salesops.core.registry import (
            Attachable,
            DashboardPanel,
            DetailPart,
            MenuGroup,
            MenuItem,
            Module,
            ScheduledJob,
            register_module,
        )
        from salesops.core.views.attachments import attachments_part
        from salesops.sales import doctypes, selectors, selectors_deals, views_deals, views_merge
        from salesops.sales.services import contracts, quotes, receipts

        for doc_type, module, prefix, url_name, can_view in (
            (doctypes.QUOTE, quotes, "quote", "sales:quote_detail",
             selectors_deals.quote_visible_to),
            (doctypes.CONTRACT, contracts, "contract", "sales:contract_detail",
             selectors_deals.contract_visible_to),
            (doctypes.CONTRACT_TERMINATION, contracts, "termination", "sales:contract_detail",
             selectors_deals.contract_visible_to),
            (doctypes.RECEIPT, receipts, "receipt", "sales:receipt_detail",
             selectors_deals.receipt_visible_to),
        ):  # fmt: skip
            register_document_type(
                doc_type,
                label=doctypes.DEFAULT_FLOWS[doc_type][0],
                on_approved=getattr(module, f"{prefix}_approved"),
                on_rejected=getattr(module, f"{prefix}_rejected"),
                on_returned=getattr(module, f"{prefix}_returned"),
                on_cancelled=getattr(module, f"{prefix}_cancelled"),
                url=_url(url_name),
                can_view=can_view,
            )

        g = "sales"
        register_module(
            Module(
                app=self.label,
                url_prefix="sales/",
                urls="salesops.sales.urls",
                api=("salesops.sales.api", "salesops.sales.api_deals"),
                menu_groups=(MenuGroup(g, _("销售管理"), order=40),),
                menu=(
                    MenuItem(g, "sales:customers", _("客户"), "bi-person-lines-fill", STAFF, 10),
                    MenuItem(g, "sales:products", _("商品"), "bi-box-seam", EVERYONE, 20),
                    MenuItem(g, "sales:price_lists", _("价目表"), "bi-tags", STAFF, 30),
                    MenuItem(g, "sales:orders", _("订单"), "bi-receipt", EVERYONE, 40),
                    MenuItem(g, "sales:returns", _("退货"), "bi-arrow-return-left", EVERYONE, 50),
                    MenuItem(g, "sales:quotes", _("报价"), "bi-file-earmark-text", STAFF, 60),
                    MenuItem(g, "sales:contracts", _("合同"), "bi-file-earmark-check", STAFF, 70),
                    MenuItem(g, "sales:plans", _("回款计划"), "bi-calendar-check", STAFF, 80),
                    MenuItem(g, "sales:receipts", _("回款"), "bi-cash-coin", STAFF, 90),
                    MenuItem(
                        g,
                        "sales:discount_settings",
                        _("报价折扣权限"),
                        "bi-percent",
                        ADMIN_ONLY,
                        95,
                    ),
                ),
                detail_parts=(
                    DetailPart(
                        "sales.customer",
                        "quotes",
                        _("报价"),
                        views_deals.customer_quotes_part,
                        "tab",
                        40,
                    ),
                    DetailPart(
                        "sales.customer",
                        "contracts",
                        _("合同"),
                        views_deals.customer_contracts_part,
                        "tab",
                        50,
                    ),
                    DetailPart(
                        "sales.customer",
                        "receipts",
                        _("回款"),
                        views_deals.customer_receipts_part,
                        "tab",
                        60,
                    ),
                    DetailPart(
                        "sales.customer",
                        "merge",
                        _("合并"),
                        views_merge.merge_action_part,
                        "actions",
                        50,
                    ),
                    DetailPart("sales.contract", "attachments", _("附件"), attachments_part),
                ),
                attachables=(
                    Attachable(
                        "sales.contract",
                        can_view=selectors_deals.contract_attachments_viewable,
                        can_edit=selectors_deals.contract_attachments_editable,
                    ),
                ),
                jobs=(
                    ScheduledJob(
                        "sales.contract_reminders",
                        _("合同到期与回款逾期提醒"),
                        every=datetime.timedelta(hours=1),
                        run="salesops.sales.services.contracts:contract_reminders_job",
                    ),
                ),
                importers=(
                    "salesops.sales.importers.customers:CustomerImporter",
                    "salesops.sales.importers.products:ProductImporter",
                    "salesops.sales.importers.orders:OrderImporter",
                    "salesops.sales.importers.contracts:ContractImporter",
                    "salesops.sales.importers.receipts:ReceiptImporter",
                ),
                panels=(DashboardPanel("sales", order=10, cards=selectors.dashboard_panel),),
            )
        )
