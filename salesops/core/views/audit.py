"""操作日志: the admin's audit-log page, and ``audit_for_object`` for the 操作记录 tab of
any detail page (``{% include "core/audit/_object_log.html" with rows=audit_rows %}``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db import models
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, list_page
from salesops.core.models import AuditAction
from salesops.core.selectors import audit_for_object, audit_log_for, audit_object_type_choices

__all__ = ["audit_for_object", "audit_log_for"]


@dataclass
class TextFilter(Filter):
    """Free text matched against a few fields (the actor's username or name)."""

    fields: tuple[str, ...] = ()

    def q(self, value: str) -> Q | None:
        value = value.strip()[:64]
        if not value:
            return None
        cond = Q()
        for name in self.fields:
            cond |= Q(**{f"{name}__icontains": value})
        return cond


def audit_spec() -> ListSpec:
    """The columns read ``AuditEntry`` objects (``audit_log_for`` yields them), so the page,
    its export and every 操作记录 tab render a row the same way."""
    return ListSpec(
        title=gettext_lazy("操作日志"),
        columns=[
            Column("at", gettext_lazy("时间"), lambda r: r.at_text, sort="at"),
            Column("actor", gettext_lazy("操作人"), lambda r: str(r.actor) if r.actor else ""),
            Column("action", gettext_lazy("操作"), lambda r: r.action_label),
            Column(
                "object_type", gettext_lazy("对象类型"), lambda r: r.type_label, sort="object_type"
            ),
            Column("object_id", gettext_lazy("对象ID"), lambda r: r.object_id),
            Column("object_repr", gettext_lazy("对象"), lambda r: r.object_repr),
            Column("field", gettext_lazy("字段"), lambda r: r.field_label),
            Column("before", gettext_lazy("修改前"), lambda r: r.before),
            Column("after", gettext_lazy("修改后"), lambda r: r.after),
            Column("note", gettext_lazy("备注"), lambda r: r.note),
        ],
        search_fields=["object_repr", "object_id", "note"],
        search_hint=gettext_lazy("按对象名称、ID或备注搜索"),
        filters=[
            Filter(
                "object_type",
                gettext_lazy("对象类型"),
                audit_object_type_choices(),
                "object_type",
            ),
            Filter("action", gettext_lazy("操作"), AuditAction.choices, "action"),
            TextFilter(
                "actor",
                gettext_lazy("操作人"),
                (),
                "actor",
                fields=("actor__username", "actor__display_name"),
            ),
        ],
        # ?date_from=&date_to=, both days inclusive, local time (as before).
        date_filters=[DateRangeFilter("date", gettext_lazy("日期"), "at", is_datetime=True)],
        default_sort="-at",
        export_name="audit_log",
    )


@login_required
@require_http_methods(["GET", "POST"])  # POST: batch actions, saved scenes
def audit_log(request: HttpRequest) -> HttpResponseBase:
    qs = audit_log_for(request.user)  # type: ignore[arg-type]
    return list_page(request, queryset=qs, spec=audit_spec(), template="core/audit/list.html")


def object_log_context(obj: models.Model) -> dict[str, Any]:
    return {"audit_rows": audit_for_object(obj)}
