"""Reads of plan versions: finance and admins see every version; nobody else sees any."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from salesops.compensation.models import CompPlanVersion
from salesops.compensation.services.plans import can_manage_plans
from salesops.core.errors import NotFoundError, PermissionDeniedError
from salesops.core.models import User
from salesops.core.selectors import AuditEntry, audit_for_object


def plans_for(user: User) -> QuerySet[CompPlanVersion]:
    """Every plan version, for a finance user or an admin (403 for anyone else)."""
    if not can_manage_plans(user):
        raise PermissionDeniedError(_("只有财务或管理员可以查看奖金方案"))
    return CompPlanVersion.objects.select_related("created_by")


def plan_version_for_user(user: User, pk: Any) -> CompPlanVersion:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = 0
    found = plans_for(user).filter(pk=key).first()
    if found is None:
        raise NotFoundError(_("奖金方案版本不存在"))
    return found


def previous_version(version: CompPlanVersion) -> CompPlanVersion | None:
    """The version of the same family just below this one (the diff's left side)."""
    return (
        CompPlanVersion.objects.filter(code=version.code, version__lt=version.version)
        .order_by("-version")
        .first()
    )


def plan_audit_rows(version: CompPlanVersion) -> list[AuditEntry]:
    return audit_for_object(version)
