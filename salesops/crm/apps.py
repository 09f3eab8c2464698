from __future__ import annotations

import datetime

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "salesops.crm"
    label = "crm"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("客户关系")

    def ready(self) -> None:
        from salesops.core.models import RoleCode
        from salesops.core.navigation import ADMIN_ONLY, STAFF
        from salesops.core.registry import (
            Attachable,
            DetailPart,
            MenuGroup,
            MenuItem,
            Module,
            ScheduledJob,
            register_module,
        )
        from salesops.crm.selectors.followups import (
            activity_attachments_editable,
            activity_attachments_viewable,
        )
        from salesops.crm.selectors.leads import crm_duplicates, crm_held_keys
        from salesops.crm.views import aftersales, followups, opportunities, pool
        from salesops.sales.dedupe import register_duplicate_finder, register_key_finder

        # 查重 of every customer create and import row (sales) also looks at leads and
        # contacts.
        register_duplicate_finder(crm_duplicates)
        register_key_finder(crm_held_keys)

        g = "crm"
        DIRECTORS = (RoleCode.DIRECTOR,)
        register_module(
            Module(
                app=self.label,
                url_prefix="crm/",
                urls="salesops.crm.urls",
                api=(
                    "salesops.crm.api.leads",
                    "salesops.crm.api.pool",
                    "salesops.crm.api.followups",
                    "salesops.crm.api.opportunities",
                    "salesops.crm.api.aftersales",
                ),
                importers=(
                    "salesops.crm.importers.leads:LeadImporter",
                    "salesops.crm.importers.contacts:ContactImporter",
                    "salesops.crm.importers.opportunities:OpportunityImporter",
                ),
                menu_groups=(MenuGroup(g, _("客户关系"), order=35),),
                menu=(
                    MenuItem(g, "crm:leads", _("线索"), "bi-lightning", STAFF, 10),
                    MenuItem(g, "crm:followups", _("跟进记录"), "bi-chat-left-text", STAFF, 20),
                    MenuItem(g, "crm:opportunities", _("商机"), "bi-briefcase", STAFF, 25),
                    MenuItem(g, "crm:kanban", _("商机看板"), "bi-kanban", STAFF, 26),
                    MenuItem(g, "crm:pool", _("公海"), "bi-water", STAFF, 30),
                    MenuItem(g, "crm:visits", _("回访"), "bi-telephone-outbound", STAFF, 40),
                    MenuItem(g, "crm:complaints", _("投诉"), "bi-exclamation-octagon", STAFF, 42),
                    MenuItem(g, "crm:feedback", _("客户反馈"), "bi-chat-square-quote", STAFF, 44),
                    MenuItem(g, "crm:duplicates", _("查重"), "bi-search", STAFF, 50),
                    MenuItem(
                        g, "crm:stage_groups", _("销售流程"), "bi-signpost-split", DIRECTORS, 60
                    ),
                    MenuItem(
                        g,
                        "crm:assignment_rules",
                        _("线索分配规则"),
                        "bi-shuffle",
                        (RoleCode.DIRECTOR, RoleCode.MANAGER),
                        62,
                    ),
                    # A pool's own admin reaches its settings from the 公海 page.
                    MenuItem(g, "crm:pool_settings", _("公海设置"), "bi-sliders", ADMIN_ONLY, 64),
                    MenuItem(
                        g, "crm:visit_rules", _("回访规则"), "bi-calendar2-week", ADMIN_ONLY, 66
                    ),
                ),
                jobs=(
                    ScheduledJob(
                        "crm.pool_reclaim",
                        _("公海自动收回与提醒"),
                        every=datetime.timedelta(hours=1),
                        run="salesops.crm.services.pool:pool_reclaim_job",
                    ),
                    ScheduledJob(
                        "crm.followup_reminders",
                        _("跟进计划到期提醒"),
                        every=datetime.timedelta(hours=1),
                        run="salesops.crm.services.followups:followup_reminders_job",
                    ),
                    ScheduledJob(
                        "crm.visit_schedule",
                        _("按规则生成回访任务"),
                        every=datetime.timedelta(hours=1),
                        run="salesops.crm.services.visits:visit_schedule_job",
                    ),
                    ScheduledJob(
                        "crm.complaint_escalation",
                        _("投诉超时升级"),
                        every=datetime.timedelta(hours=1),
                        run="salesops.crm.services.complaints:complaint_escalations_job",
                    ),
                ),
                attachables=(
                    Attachable(
                        "crm.activity",
                        can_view=activity_attachments_viewable,
                        can_edit=activity_attachments_editable,
                    ),
                ),
                detail_parts=(
                    DetailPart(
                        "sales.customer",
                        "followups",
                        _("跟进记录"),
                        followups.timeline_part,
                        "tab",
                        10,
                    ),
                    DetailPart(
                        "sales.customer",
                        "contacts",
                        _("联系人"),
                        followups.contacts_part,
                        "tab",
                        20,
                    ),
                    DetailPart(
                        "sales.customer",
                        "opportunities",
                        _("商机"),
                        opportunities.customer_part,
                        "tab",
                        30,
                    ),
                    DetailPart(
                        "sales.customer",
                        "visits",
                        _("回访"),
                        aftersales.visits_part,
                        "tab",
                        70,
                    ),
                    DetailPart(
                        "sales.customer",
                        "complaints",
                        _("投诉"),
                        aftersales.complaints_part,
                        "tab",
                        75,
                    ),
                    DetailPart(
                        "sales.customer",
                        "feedback",
                        _("客户反馈"),
                        aftersales.feedback_part,
                        "tab",
                        78,
                    ),
                    DetailPart(
                        "sales.customer", "pool_info", _("公海"), pool.countdown_part, "info", 10
                    ),
                    DetailPart(
                        "sales.customer",
                        "pool_actions",
                        _("公海"),
                        pool.actions_part,
                        "actions",
                        10,
                    ),
                ),
            )
        )
