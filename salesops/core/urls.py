from __future__ import annotations

import importlib

from django.urls import URLPattern, URLResolver

app_name = "core"

urlpatterns: list[URLPattern | URLResolver] = []
# The approvals/notifications/audit and import screens each keep their own URL module.
for _module in ("salesops.core.urls_approvals", "salesops.core.urls_imports"):
    try:
        urlpatterns += importlib.import_module(_module).urlpatterns
    except ModuleNotFoundError as exc:
        if exc.name != _module:
            raise
