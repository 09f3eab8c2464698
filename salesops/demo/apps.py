from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    """The demo company (``salesops demo``): the top layer, it uses every module."""

    name = "salesops.demo"
    label = "demo"
    verbose_name = _("演示数据")
