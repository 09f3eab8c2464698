from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrgConfig(AppConfig):
    name = "salesops.org"
    label = "org"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = _("组织架构")

    def ready(self) -> None:
        from django.urls import reverse

        from salesops.core.access import register_identity_provider
        from salesops.core.approvals.registry import (
            register_approver_ranking,
            register_document_type,
        )
        from salesops.core.navigation import EVERYONE, STAFF
        from salesops.core.registry import (
            DashboardPanel,
            MenuGroup,
            MenuItem,
            Module,
            register_module,
        )
        from salesops.org import access, approvers, selectors
        from salesops.org.services import sponsor_changes

        # Who a user is in the organisation, and who among a role's holders approves.
        register_identity_provider(access.viewer_identities)
        register_approver_ranking(approvers.rank_role_approvers)
        register_document_type(
            sponsor_changes.DOC_TYPE,
            label=_("推荐人变更"),
            on_approved=sponsor_changes.sponsor_change_request_approved,
            on_rejected=sponsor_changes.sponsor_change_request_rejected,
            on_returned=sponsor_changes.sponsor_change_request_returned,
            on_cancelled=sponsor_changes.sponsor_change_request_cancelled,
            url=lambda object_id: reverse("org:sponsor_change_detail", args=[object_id]),
            can_view=selectors.sponsor_change_visible_to,
        )
        org, network = "org", "network"
        register_module(
            Module(
                app=self.label,
                url_prefix="org/",
                urls="salesops.org.urls",
                api=("salesops.org.api",),
                menu_groups=(
                    MenuGroup(org, _("组织架构"), order=20),
                    MenuGroup(network, _("直销网络"), order=30),
                ),
                menu=(
                    MenuItem(org, "org:departments", _("部门"), "bi-diagram-3", STAFF, 10),
                    MenuItem(org, "org:employees", _("员工"), "bi-people", STAFF, 20),
                    MenuItem(org, "org:chart", _("组织架构图"), "bi-diagram-2", STAFF, 30),
                    MenuItem(network, "org:members", _("会员"), "bi-person-badge", EVERYONE, 10),
                    MenuItem(network, "org:genealogy", _("会员族谱"), "bi-share", EVERYONE, 20),
                    MenuItem(
                        network,
                        "org:sponsor_changes",
                        _("推荐人变更"),
                        "bi-arrow-left-right",
                        EVERYONE,
                        30,
                    ),
                ),
                importers=(
                    "salesops.org.importers.departments:DepartmentImporter",
                    "salesops.org.importers.employees:EmployeeImporter",
                    "salesops.org.importers.members:MemberImporter",
                ),
                panels=(DashboardPanel("network", order=20, cards=selectors.dashboard_panel),),
            )
        )
