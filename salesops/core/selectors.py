"""Read-side helpers of core: dashboard figures, filtered by the viewer's scope."""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from salesops.core.access import Viewer, mask_bank_account, mask_id_number, mask_phone, viewer_for
from salesops.core.audit import object_type_of
from salesops.core.models import ApprovalTask, AuditLog, TaskStatus, User
from salesops.core.registry import Card, dashboard_panels

OBJECT_LOG_LIMIT = 200


def dashboard_cards(viewer: Viewer, *, today: datetime.date) -> list[Card]:
    """The home page: every registered panel's cards for this viewer, in panel order."""
    return [card for panel in dashboard_panels() for card in panel.cards(viewer, today)]


def approvals_panel(viewer: Viewer, today: datetime.date) -> list[Card]:
    """Core's own figure: tasks waiting for the viewer."""
    pending = ApprovalTask.objects.filter(approver=viewer.user, status=TaskStatus.PENDING).count()
    return [
        Card(
            key="pending-approvals",
            label=_lazy("待我审批"),
            value=f"{pending:,}",
            url=reverse("core:approvals_inbox"),
        )
    ]


# Audit values of these fields are personal information (个人信息): masked like the
# record itself for viewers who may not see it unmasked.
PERSONAL_FIELDS = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "bank_account": mask_bank_account,
}


def audit_for_object(
    obj: models.Model, *, show_personal: bool = False, limit: int = OBJECT_LOG_LIMIT
) -> list[AuditLog]:
    """The 操作记录 tab: the latest audit rows of one object, newest first.

    The caller has checked that the viewer may see ``obj`` and says whether they may see
    its personal fields unmasked (``can_see_personal_info``); otherwise the before/after
    values of those fields are masked here, so no detail page can leak them.
    """
    rows = list(
        AuditLog.objects.filter(object_type=object_type_of(obj), object_id=str(obj.pk))
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    if not show_personal:
        for row in rows:
            mask = PERSONAL_FIELDS.get(row.field)
            if mask is not None:
                row.before, row.after = mask(row.before), mask(row.after)
    return rows


def audit_log_for(user: User) -> QuerySet[AuditLog]:
    """The whole log, for admins only."""
    if not viewer_for(user).is_admin:
        raise PermissionDenied(_("只有系统管理员可以查看操作日志"))
    return AuditLog.objects.select_related("actor")
