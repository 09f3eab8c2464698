"""Data scopes that walk the org chart: which employees' rows, and which members, a viewer
may see. Every selector of every module filters through these (the one rule per object
type); an object outside the viewer's scope is simply not found.
"""

from __future__ import annotations

from django.db.models import Q

from salesops.core.access import NOTHING, Viewer
from salesops.core.models import DataScope, RoleCode, User
from salesops.org.models import Department, Employee, Member
from salesops.org.paths import subtree_bounds


def viewer_identities(user: User) -> tuple[Employee | None, Member | None]:
    """The identity provider registered with core: a user's employee and member records."""
    employee = Employee.objects.select_related("department").filter(user=user).first()
    member = Member.objects.filter(user=user).first()
    return employee, member


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
    # The subtree scopes filter the row's own foreign key by a subquery over the small
    # employee / department table, not by a join: the big table's index on that key (and
    # its sort) stays usable; a join on the path made a million-row list sort every row
    # (bench/bench_list_pages.py).
    if viewer.scope == DataScope.SELF_AND_SUBORDINATES:
        lo, hi = subtree_bounds(emp.manager_path)
        if not owner:
            return Q(manager_path__gte=lo, manager_path__lt=hi)
        team = Employee.objects.filter(manager_path__gte=lo, manager_path__lt=hi).values("pk")
        return Q(**{f"{owner}__in": team})
    dept_field = department if department is not None else _join(owner, "department")
    if viewer.scope == DataScope.DEPARTMENT:
        return Q(**{_join(dept_field, "pk"): emp.department_id})
    if viewer.scope == DataScope.DEPARTMENT_AND_CHILDREN:
        lo, hi = subtree_bounds(emp.department.path)
        depts = Department.objects.filter(path__gte=lo, path__lt=hi).values("pk")
        return Q(**{f"{dept_field}__in": depts})
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
    if not member:
        return employee_scope_q(viewer, owner="owner")
    # A subquery over members, not a join through member to its owner (see above).
    serviced = Member.objects.filter(employee_scope_q(viewer, owner="owner")).values("pk")
    return Q(**{f"{member}__in": serviced})


def can_see_personal_info(viewer: Viewer, owner_id: int | None) -> bool:
    """Unmasked phone / ID numbers: the owner, or a role with the right."""
    if viewer.can_view_personal_info:
        return True
    return viewer.employee is not None and owner_id == viewer.employee.pk
