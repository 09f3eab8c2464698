from __future__ import annotations

import datetime

from django.apps import AppConfig


def _cards(viewer: object, today: datetime.date) -> list[object]:
    from salesops.core.registry import Card

    return [Card("widgets", "插件数", "7")]


class PluginConfig(AppConfig):
    name = "salesops.core.tests.plugin"
    label = "plugin"

    def ready(self) -> None:
        from salesops.core.registry import (
            DashboardPanel,
            MenuGroup,
            MenuItem,
            Module,
            ScheduledJob,
            register_module,
        )

        register_module(
            Module(
                app=self.label,
                url_prefix="plugin/",
                urls="salesops.core.tests.plugin.urls",
                api=("salesops.core.tests.plugin.api",),
                menu_groups=(MenuGroup("plugin", "插件分组", order=60),),
                menu=(MenuItem("plugin", "plugin:home", "插件页面", "bi-plug", ("rep",)),),
                importers=("salesops.core.tests.plugin.importers:WidgetImporter",),
                panels=(DashboardPanel("plugin", order=5, cards=_cards),),
                jobs=(
                    ScheduledJob(
                        "plugin.tick",
                        "插件任务",
                        every=datetime.timedelta(minutes=1),
                        run="salesops.core.tests.plugin.jobs:tick",
                    ),
                ),
            )
        )
