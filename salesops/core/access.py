"""Row-level access: who may see which rows, decided once and applied in every selector.

UI, API, exports and search all filter through the ``*_q`` functions here, so there is
one rule per object type. An object outside the viewer's scope is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Q

from salesops.core.models import DataScope, RoleCode, User
from salesops.org.paths import subtree_bounds

if TYPE_CHECKING:
    from django.http import HttpRequest

    from salesops.org.models import Employee, Member

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Viewer:
    user: User
    role: str
    scope: str
    employee: Employee | None
    member: Member | None
    can_view_personal_info: bool
    can_export: bool
    can_import: bool

    @property
    def is_admin(self) -> bool:
        return self.role == RoleCode.ADMIN or self.user.is_superuser

    def has_role(self, *codes: str) -> bool:
        return self.is_admin or self.role in codes


def request_viewer(request: HttpRequest) -> Viewer:
    """The viewer of a page request (its logged-in user)."""
    return viewer_for(request.user)  # type: ignore[arg-type]


def viewer_for(user: User) -> Viewer:
    """The viewer's role, scope and identities, computed once per user object."""
    cached = getattr(user, "_salesops_viewer", None)
    if cached is not None:
        return cached
    from salesops.org.models import Employee, Member

    role = user.role if user.role_id else None
    employee = Employee.objects.select_related("department").filter(user=user).first()
    member = Member.objects.filter(user=user).first()
    scope = role.data_scope if role else DataScope.SELF
    code = role.code if role else ""
    if user.is_superuser:
        code, scope = RoleCode.ADMIN, DataScope.ALL
    viewer = Viewer(
        user=user,
        role=code,
        scope=scope,
        employee=employee,
        member=member,
        can_view_personal_info=bool(role and role.can_view_personal_info) or user.is_superuser,
        can_export=bool(role and role.can_export) or user.is_superuser,
        can_import=bool(role and role.can_import) or user.is_superuser,
    )
    user._salesops_viewer = viewer  # type: ignore[attr-defined]
    return viewer


def _join(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


def employee_scope_q(viewer: Viewer, *, owner: str, department: str | None = None) -> Q:
    """Rows owned by an employee (``owner`` is the lookup path to that Employee FK, or ""
    for the Employee model itself) filtered by the viewer's data scope."""
    if viewer.scope == DataScope.ALL or viewer.is_admin:
        return Q()
    emp = viewer.employee
    if emp is None:
        return NOTHING
    owner_pk = _join(owner, "pk") if owner else "pk"
    if viewer.scope == DataScope.SELF:
        return Q(**{owner_pk: emp.pk})
    if viewer.scope == DataScope.SELF_AND_SUBORDINATES:
        lo, hi = subtree_bounds(emp.manager_path)
        f = _join(owner, "manager_path")
        return Q(**{f"{f}__gte": lo, f"{f}__lt": hi})
    dept_field = department if department is not None else _join(owner, "department")
    if viewer.scope == DataScope.DEPARTMENT:
        return Q(**{_join(dept_field, "pk"): emp.department_id})
    if viewer.scope == DataScope.DEPARTMENT_AND_CHILDREN:
        lo, hi = subtree_bounds(emp.department.path)
        f = _join(dept_field, "path")
        return Q(**{f"{f}__gte": lo, f"{f}__lt": hi})
    return NOTHING


def member_scope_q(viewer: Viewer, *, member: str = "") -> Q:
    """Members a viewer may see: a member sees self and whole downline; staff see members
    serviced by employees in their scope (``member`` is the lookup path to a Member FK)."""
    if viewer.scope == DataScope.ALL or viewer.is_admin:
        return Q()
    if viewer.member is not None and viewer.role == RoleCode.MEMBER:
        lo, hi = subtree_bounds(viewer.member.path)
        f = _join(member, "path")
        return Q(**{f"{f}__gte": lo, f"{f}__lt": hi})
    if viewer.employee is None:
        return NOTHING
    return employee_scope_q(viewer, owner=_join(member, "owner"))


def can_see_personal_info(viewer: Viewer, owner_id: int | None) -> bool:
    """Unmasked phone / ID numbers: the owner, or a role with the right."""
    if viewer.can_view_personal_info:
        return True
    return viewer.employee is not None and owner_id == viewer.employee.pk


def mask_phone(phone: str) -> str:
    """138****5678: keep the first three and the last four digits."""
    if not phone:
        return ""
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_bank_account(number: str) -> str:
    """Keep only the last four digits (**** **** 1234)."""
    if not number:
        return ""
    return "*" * max(len(number) - 4, 0) + number[-4:]


def mask_id_number(number: str) -> str:
    """Keep the first six (region) and the last four characters."""
    if not number:
        return ""
    if len(number) <= 10:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]
