from __future__ import annotations

from salesops.core.imports.common import CollectingImporter


class WidgetImporter(CollectingImporter):
    entity = "widgets"
    title = "插件数据"
    object_type = "plugin.widget"
    key = "code"
    columns = []
