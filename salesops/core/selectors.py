"""Read-side helpers of core: dashboard figures, filtered by the viewer's scope."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext as _

from salesops.core.access import (
    Viewer,
    employee_scope_q,
    mask_bank_account,
    mask_id_number,
    mask_phone,
    viewer_for,
)
from salesops.core.audit import object_type_of
from salesops.core.models import ApprovalTask, AuditLog, RoleCode, SavedScene, TaskStatus, User

OBJECT_LOG_LIMIT = 200


def dashboard_figures(
    viewer: Viewer, *, month_start: datetime.date, today: datetime.date
) -> dict[str, Any]:
    """A handful of bounded aggregate queries for the home page."""
    from salesops.sales.models import Customer, Order

    figures: dict[str, Any] = {
        "pending_approvals": ApprovalTask.objects.filter(
            approver=viewer.user, status=TaskStatus.PENDING
        ).count()
    }
    from salesops.sales.selectors import order_scope_q

    orders = Order.objects.filter(order_scope_q(viewer))
    if viewer.role == RoleCode.MEMBER and viewer.member is not None:
        figures["downline"] = viewer.member.downline_count
    else:
        figures["customers"] = Customer.objects.filter(
            employee_scope_q(viewer, owner="owner", department="department")
        ).count()
    month = orders.filter(order_date__gte=month_start, order_date__lte=today).aggregate(
        n=Count("id"), total=Sum("total_amount"), returned=Sum("returned_amount")
    )
    figures["month_orders"] = month["n"] or 0
    figures["month_sales"] = (month["total"] or Decimal(0)) - (month["returned"] or Decimal(0))
    return figures


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


def saved_scenes_for(user: User, list_key: str) -> list[SavedScene]:
    """The user's own saved scenes of one list (never anyone else's), in saved order."""
    return list(SavedScene.objects.filter(user=user, list_key=list_key).order_by("id"))
