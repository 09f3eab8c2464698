from __future__ import annotations

import datetime

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_db_triggers(sender: AppConfig, using: str = "default", **kwargs: object) -> None:
    """Search indexes and choice triggers a later migration's SQLite table rebuild dropped
    (or a database made without migrations lacks) are made again after every migrate."""
    if sender.label != "core":
        return  # once per migrate: core's signal comes after the apps are all migrated
    from django.db import connections

    from salesops.core.db import choices, textsearch

    connection = connections[using]
    textsearch.ensure_all(connection)
    choices.ensure_all(connection)


class CoreConfig(AppConfig):
    name = "salesops.core"
    label = "core"
    verbose_name = _("系统")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core import checks

        from salesops.core.navigation import ADMIN_ONLY, EVERYONE
        from salesops.core.registry import (
            DashboardPanel,
            MenuGroup,
            MenuItem,
            Module,
            ScheduledJob,
            check_registry,
            register_module,
        )
        from salesops.core.selectors import approvals_panel

        checks.register(check_registry, "salesops")
        post_migrate.connect(_ensure_db_triggers, dispatch_uid="salesops-db-triggers")
        work, system = "workbench", "system"
        register_module(
            Module(
                app=self.label,
                url_prefix="",
                urls="salesops.core.urls",
                api=(
                    "salesops.core.api.approvals",
                    "salesops.core.api.imports",
                    "salesops.core.api.attachments",
                ),
                menu_groups=(
                    MenuGroup(work, _("工作台"), order=10),
                    MenuGroup(system, _("系统管理"), order=900),
                ),
                menu=(
                    MenuItem(work, "dashboard", _("首页"), "bi-speedometer2", EVERYONE, 10),
                    MenuItem(
                        work,
                        "core:approvals_inbox",
                        _("审批中心"),
                        "bi-check2-square",
                        EVERYONE,
                        20,
                    ),
                    MenuItem(work, "core:notifications", _("消息通知"), "bi-bell", EVERYONE, 30),
                    MenuItem(system, "core:imports", _("数据导入"), "bi-upload", ADMIN_ONLY, 10),
                    MenuItem(
                        system,
                        "core:approval_flows",
                        _("审批流程"),
                        "bi-signpost-split",
                        ADMIN_ONLY,
                        20,
                    ),
                    MenuItem(
                        system, "core:audit", _("操作日志"), "bi-journal-text", ADMIN_ONLY, 30
                    ),
                    MenuItem(
                        system, "core:jobs", _("定时任务"), "bi-clock-history", ADMIN_ONLY, 40
                    ),
                    MenuItem(
                        system, "core:lockouts", _("登录锁定"), "bi-shield-lock", ADMIN_ONLY, 50
                    ),
                ),
                panels=(DashboardPanel("approvals", order=90, cards=approvals_panel),),
                jobs=(
                    ScheduledJob(
                        "core.accounts_purge",
                        _("清理过期令牌与登录记录"),
                        datetime.timedelta(hours=6),
                        "salesops.core.accounts:accounts_purge",
                    ),
                    ScheduledJob(
                        "core.import_jobs_reset_stale",
                        _("撤销中断的导入"),
                        every=datetime.timedelta(minutes=5),
                        run="salesops.core.imports.services:import_jobs_reset_stale",
                    ),
                    ScheduledJob(
                        "core.import_files_purge",
                        _("清理过期的导入文件"),
                        every=datetime.timedelta(hours=1),
                        run="salesops.core.imports.services:import_files_purge",
                    ),
                    ScheduledJob(
                        "core.attachments_purge",
                        _("清理已删除记录的附件"),
                        every=datetime.timedelta(hours=6),
                        run="salesops.core.attachments:attachments_purge",
                    ),
                ),
            )
        )
