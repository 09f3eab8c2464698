"""Employee writes. The management chain (``manager_path``) is kept right here."""

from __future__ import annotations

import datetime

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import ServiceError
from salesops.core.models import User
from salesops.org.models import Department, Employee, Position
from salesops.org.paths import child_path, subtree_bounds

_AUDITED = ("employee_no", "name", "phone", "department", "position", "manager", "user", "active")


@transaction.atomic
def employee_create(
    *,
    actor: User | None,
    employee_no: str,
    name: str,
    department: Department,
    phone: str = "",
    email: str = "",
    position: Position | None = None,
    manager: Employee | None = None,
    user: User | None = None,
    hired_on: datetime.date | None = None,
) -> Employee:
    employee_no, name = employee_no.strip(), name.strip()
    if not employee_no:
        raise ServiceError("required", _("请填写工号"), field="employee_no")
    if not name:
        raise ServiceError("required", _("请填写姓名"), field="name")
    if Employee.objects.filter(employee_no=employee_no).exists():
        raise ServiceError(
            "duplicate", _("工号 %(no)s 已存在") % {"no": employee_no}, field="employee_no"
        )
    emp = Employee.objects.create(
        employee_no=employee_no,
        name=name,
        phone=phone.strip(),
        email=email.strip(),
        department=department,
        position=position,
        manager=manager,
        user=user,
        hired_on=hired_on,
    )
    emp.manager_path = child_path(manager.manager_path if manager else "", emp.pk)
    emp.save(update_fields=["manager_path"])
    audit_create(actor=actor, obj=emp, fields=_AUDITED)
    return emp


@transaction.atomic
def employee_update(
    *,
    actor: User | None,
    employee: Employee,
    name: str,
    phone: str,
    department: Department,
    position: Position | None,
    manager: Employee | None,
    active: bool,
) -> Employee:
    """Edit an employee; a change of manager moves their whole reporting line."""
    before = snapshot(employee, _AUDITED)
    if not name.strip():
        raise ServiceError("required", _("请填写姓名"), field="name")
    if manager is not None:
        lo, hi = subtree_bounds(employee.manager_path)
        if lo <= manager.manager_path < hi:
            raise ServiceError("cycle", _("直属上级不能是本人或其下属"), field="manager")
    if manager != employee.manager:
        old = employee.manager_path
        new = child_path(manager.manager_path if manager else "", employee.pk)
        lo, hi = subtree_bounds(old)
        Employee.objects.filter(manager_path__gte=lo, manager_path__lt=hi).update(
            manager_path=Concat(Value(new), Substr("manager_path", len(old) + 1))
        )
        employee.refresh_from_db(fields=["manager_path"])
    employee.name = name.strip()
    employee.phone = phone.strip()
    employee.department = department
    employee.position = position
    employee.manager = manager
    employee.active = active
    employee.save()
    audit_update(actor=actor, obj=employee, before=before)
    return employee
