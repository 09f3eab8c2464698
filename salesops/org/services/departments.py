"""Department tree writes. Paths are kept right by these services only."""

from __future__ import annotations

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import ServiceError
from salesops.core.models import User
from salesops.org.models import Department, DepartmentKind
from salesops.org.paths import child_path, path_depth, subtree_bounds

_AUDITED = ("name", "code", "kind", "parent")


@transaction.atomic
def department_create(
    *,
    actor: User | None,
    name: str,
    code: str,
    kind: str = DepartmentKind.TEAM,
    parent: Department | None = None,
) -> Department:
    """Create a department under ``parent`` (None for the company root)."""
    name, code = name.strip(), code.strip()
    if not name:
        raise ServiceError("required", _("请填写部门名称"), field="name")
    if not code:
        raise ServiceError("required", _("请填写部门编码"), field="code")
    if Department.objects.filter(code=code).exists():
        raise ServiceError("duplicate", _("部门编码 %(code)s 已存在") % {"code": code}, "code")
    dept = Department.objects.create(name=name, code=code, kind=kind, parent=parent)
    dept.path = child_path(parent.path if parent else "", dept.pk)
    dept.depth = path_depth(dept.path)
    dept.save(update_fields=["path", "depth"])
    audit_create(actor=actor, obj=dept, fields=_AUDITED)
    return dept


@transaction.atomic
def department_update(
    *,
    actor: User | None,
    department: Department,
    name: str,
    parent: Department | None,
) -> Department:
    """Rename and/or move a department (its whole subtree moves with it)."""
    before = snapshot(department, _AUDITED)
    name = name.strip()
    if not name:
        raise ServiceError("required", _("请填写部门名称"), field="name")
    department.name = name
    if parent != department.parent:
        if parent is not None:
            lo, hi = subtree_bounds(department.path)
            if lo <= parent.path < hi:
                raise ServiceError("cycle", _("不能把部门移到它自己的下级部门下"), field="parent")
        old = department.path
        new = child_path(parent.path if parent else "", department.pk)
        lo, hi = subtree_bounds(old)
        delta = path_depth(new) - path_depth(old)
        Department.objects.filter(path__gte=lo, path__lt=hi).update(
            path=Concat(Value(new), Substr("path", len(old) + 1)), depth=F("depth") + delta
        )
        department.refresh_from_db(fields=["path", "depth"])
        department.parent = parent
    department.save(update_fields=["name", "parent"])
    audit_update(actor=actor, obj=department, before=before)
    return department
