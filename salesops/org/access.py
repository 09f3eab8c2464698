"""Data scopes that walk the org chart: which employees' rows, and which members, a viewer
may see. Every selector of every module filters through these (the one rule per object
type); an object outside the viewer's scope is simply not found.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Q
from django.db.models.expressions import RawSQL

from salesops.core.access import NOTHING, Viewer
from salesops.core.db.plans import WALK_SHARE, unindexed
from salesops.core.models import DataScope, RoleCode, User
from salesops.org.models import Department, Employee, Member
from salesops.org.paths import subtree_bounds


def viewer_identities(user: User) -> tuple[Employee | None, Member | None]:
    """The identity provider registered with core: a user's employee and member records,
    read in one query (every page asks; a list page must stay within twelve)."""
    found = User.objects.filter(pk=user.pk).select_related("employee__department", "member").first()
    if found is None:
        return None, None
    return getattr(found, "employee", None), getattr(found, "member", None)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}__{name}" if prefix else name


# A management subtree of at most this many employees is written into a list page's
# query as its ids (``employee_scope_q(page=True)``, ``team_q``).
TEAM_IDS_MAX = 1000


@dataclass(frozen=True)
class Team:
    """The viewer's employee and everyone below them in the management chain."""

    ids: tuple[int, ...]
    employees: int  # in the whole company
    departments: tuple[tuple[int, str], ...]  # (id, name) of the team's departments

    @property
    def broad(self) -> bool:
        """Holds enough of the company for a page to walk the sort index on SQLite
        (``core.db.plans``)."""
        return bool(self.employees) and len(self.ids) >= WALK_SHARE * self.employees


def viewer_team(viewer: Viewer) -> Team | None:
    """The viewer's management subtree as ids, from one query over the small employee
    table, kept with the viewer for the request (on its user object, as ``viewer_for``
    keeps the viewer); None without an employee or above ``TEAM_IDS_MAX``."""
    emp = viewer.employee
    if emp is None:
        return None
    key = "_salesops_team"
    cached = getattr(viewer.user, key, None)
    if cached is not None and cached[0] == emp.pk:
        return cached[1]
    lo, hi = subtree_bounds(emp.manager_path)
    everyone = RawSQL(f"SELECT COUNT(*) FROM {Employee._meta.db_table}", ())  # noqa: S608, S611
    rows = list(
        Employee.objects.filter(manager_path__gte=lo, manager_path__lt=hi)
        .annotate(employees=everyone)
        .order_by("pk")
        .values_list("pk", "employees", "department_id", "department__name")[: TEAM_IDS_MAX + 1]
    )
    team = None
    if rows and len(rows) <= TEAM_IDS_MAX:
        team = Team(
            ids=tuple(r[0] for r in rows),
            employees=int(rows[0][1]),
            departments=tuple(sorted({(r[2], r[3]) for r in rows})),
        )
    setattr(viewer.user, key, (emp.pk, team))
    return team


def team_q(viewer: Viewer, *, owner: str, include_self: bool, page: bool = False) -> Q:
    """Rows whose ``owner`` (lookup path to an Employee FK) is in the viewer's management
    subtree, the viewer included or not (本人及下属 / 下属负责的). ``page``: for fetching a list
    page — the subtree as a literal id list, so that PostgreSQL knows how many rows it
    holds (it estimated a manager's 20 reps from the path range as 2 and sorted the
    team's 100,000 customers: docs/performance.md, "List pages"), and on SQLite tested
    as ``owner + 0`` when the team is broad, so that the page walks the sort index."""
    emp = viewer.employee
    if emp is None:
        return NOTHING
    team = viewer_team(viewer) if page else None
    if team is None:
        lo, hi = subtree_bounds(emp.manager_path)
        below = Q(manager_path__gte=lo) if include_self else Q(manager_path__gt=lo)
        members = Employee.objects.filter(below, manager_path__lt=hi).values("pk")
        return Q(**{f"{owner}__in": members})
    ids = [i for i in team.ids if include_self or i != emp.pk]
    cond = Q(**{f"{owner}__in": ids})
    return unindexed(cond) if team.broad and connection.vendor == "sqlite" else cond


def employee_scope_q(
    viewer: Viewer, *, owner: str, department: str | None = None, page: bool = False
) -> Q:
    """Rows owned by an employee (``owner`` is the lookup path to that Employee FK, or ""
    for the Employee model itself) filtered by the viewer's data scope. ``page``: the
    query fetches a list page (``team_q``)."""
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
        if not owner:
            lo, hi = subtree_bounds(emp.manager_path)
            return Q(manager_path__gte=lo, manager_path__lt=hi)
        return team_q(viewer, owner=owner, include_self=True, page=page)
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
