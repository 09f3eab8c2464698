"""Helpers shared by the sales services: who may do what, and document numbers."""

from __future__ import annotations

import datetime
from typing import Any, TypeVar

from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from salesops.core.access import Viewer, viewer_for
from salesops.core.errors import FieldError, PermissionDeniedError, ServiceError
from salesops.core.models import RoleCode, User
from salesops.core.notifications import notify
from salesops.core.text import has_control_chars
from salesops.org.access import employee_scope_q, member_scope_q
from salesops.org.models import Employee, Member

M = TypeVar("M", bound=models.Model)
NUMBER_ATTEMPTS = 5

PRODUCT_MANAGERS = (RoleCode.DIRECTOR, RoleCode.MARKETING)


def viewer_of(actor: User | None) -> Viewer | None:
    """None for system writes (imports, demo builder, tests' factories)."""
    return viewer_for(actor) if actor is not None else None


def require_staff(viewer: Viewer | None) -> None:
    if viewer is not None and not viewer.is_admin and viewer.role == RoleCode.MEMBER:
        raise PermissionDeniedError(_("会员不能执行此操作"))


def employee_by_no(viewer: Viewer, employee_no: str, *, field: str = "owner") -> Employee:
    """The active employee with 工号 ``employee_no`` in the viewer's scope, the one a
    customer (or a lead, a pool customer …) may be given to; else the error that says why."""
    employee_no = employee_no.strip()
    if not employee_no:
        raise ServiceError("required", _("请填写员工工号"), field=field)
    employee = (
        Employee.objects.filter(employee_scope_q(viewer, owner=""), employee_no=employee_no)
        .select_related("department")
        .first()
    )
    if employee is None:
        raise ServiceError(
            "out_of_scope",
            _("工号 %(no)s 不在您的数据权限范围内") % {"no": employee_no},
            field=field,
        )
    if not employee.active:
        raise ServiceError("inactive", _("负责人已离职，不能分配客户"), field=field)
    return employee


def require_product_manager(viewer: Viewer | None) -> None:
    if viewer is not None and not viewer.has_role(*PRODUCT_MANAGERS):
        raise PermissionDeniedError(_("只有管理员、销售总监和市场部可以维护商品和价目表"))


def employee_in_scope(viewer: Viewer | None, employee: Employee, field: str) -> None:
    if viewer is None:
        return
    ok = Employee.objects.filter(employee_scope_q(viewer, owner=""), pk=employee.pk).exists()
    if not ok:
        raise ServiceError("out_of_scope", _("所选员工不在您的数据权限范围内"), field=field)


def member_in_scope(viewer: Viewer | None, member: Member, field: str) -> None:
    if viewer is None:
        return
    if not Member.objects.filter(member_scope_q(viewer), pk=member.pk).exists():
        raise ServiceError("out_of_scope", _("所选会员不在您的数据权限范围内"), field=field)


def next_number(model: type[models.Model], field: str, prefix: str, day: datetime.date) -> str:
    """PREFIX + yyyymmdd + 4-digit daily sequence, e.g. SO202610050001.

    The unique constraint on the number is the final guard against two writers racing.
    """
    stem = f"{prefix}{day:%Y%m%d}"
    last = (
        model._default_manager.filter(**{f"{field}__startswith": stem})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    seq = 1
    if last is not None and last[len(stem) :].isdigit():
        seq = int(last[len(stem) :]) + 1
    return f"{stem}{seq:04d}"


def create_numbered(
    model: type[M],
    *,
    field: str,
    number: str,
    prefix: str,
    day: datetime.date,
    duplicate_message: str,
    **values: Any,
) -> M:
    """Create a row whose document number is ``number`` or, when blank, the next one of
    the day. Two writers that draw the same generated number: the loser draws again."""
    explicit = number.strip()
    for _attempt in range(NUMBER_ATTEMPTS):
        value = explicit or next_number(model, field, prefix, day)
        if explicit and model._default_manager.filter(**{field: value}).exists():
            break
        try:
            with transaction.atomic():
                return model._default_manager.create(**{field: value}, **values)
        except IntegrityError:
            if explicit:
                break
    raise ServiceError("duplicate", duplicate_message % {"no": explicit or prefix}, field=field)


def clean_text(
    errors: list[FieldError], field: str, value: str, limit: int, *, multiline: bool = False
) -> str:
    """``value`` stripped; a field error when longer than ``limit`` or holding control
    characters (line breaks and tabs allowed when ``multiline``)."""
    value = (value or "").strip()
    checked = value.replace("\n", "").replace("\r", "").replace("\t", "") if multiline else value
    if len(value) > limit:
        errors.append(FieldError(field, _("不能超过%(n)d个字符") % {"n": limit}))
    elif has_control_chars(checked):
        errors.append(FieldError(field, _("不能包含不可见的控制字符")))
    return value


def notify_owner(owner: Employee, title: str, url: str) -> None:
    """Tell a document's owner, when the owner has a login."""
    if owner.user is not None:
        notify(user=owner.user, title=title, url=url)
