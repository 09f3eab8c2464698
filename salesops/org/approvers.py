"""Which holders of an approver role decide a request: the org chart's answer, registered
with the approval engine (``core.approvals.registry.register_approver_ranking``)."""

from __future__ import annotations

from salesops.core.access import viewer_for
from salesops.core.models import DataScope, User
from salesops.org.models import Department, Employee


def _subject_employee(submitter: User) -> Employee | None:
    """Whose chain decides role approvers: the submitter's employee record, or for a
    member the employee who services them."""
    viewer = viewer_for(submitter)
    if viewer.employee is not None:
        return viewer.employee  # type: ignore[no-any-return]
    if viewer.member is not None and viewer.member.owner_id:
        return (
            Employee.objects.select_related("department").filter(pk=viewer.member.owner_id).first()
        )
    return None


def _scope_of(user: User) -> str:
    if user.is_superuser:
        return DataScope.ALL
    return user.role.data_scope if user.role is not None else DataScope.SELF


def _scope_covers(scope: str, candidate: Employee | None, subject: Employee) -> bool:
    if scope == DataScope.ALL:
        return True
    if candidate is None:
        return False
    if scope == DataScope.SELF:
        return candidate.pk == subject.pk
    if scope == DataScope.SELF_AND_SUBORDINATES:
        return subject.manager_path.startswith(candidate.manager_path)
    if scope == DataScope.DEPARTMENT:
        return candidate.department_id == subject.department_id
    if scope == DataScope.DEPARTMENT_AND_CHILDREN:
        return subject.department.path.startswith(candidate.department.path)
    return False


def rank_role_approvers(candidates: list[User], submitter: User) -> list[User]:
    """Those whose data scope covers the submitter, nearest first (own manager chain,
    then department heads by depth, then the rest); everyone, in order, if none does."""
    subject = _subject_employee(submitter)
    if subject is None:
        return list(candidates)
    employees = {
        e.user_id: e
        for e in Employee.objects.select_related("department").filter(
            user_id__in=[u.pk for u in candidates]
        )
    }

    def employee_of(u: User) -> Employee | None:
        return employees.get(u.pk)

    covering = [u for u in candidates if _scope_covers(_scope_of(u), employee_of(u), subject)]
    if not covering:
        return list(candidates)
    emp_ids = [e.pk for e in (employee_of(u) for u in covering) if e is not None]
    head_depth: dict[int, int] = {}
    for head_id, path in Department.objects.filter(head_id__in=emp_ids).values_list(
        "head_id", "path"
    ):
        if subject.department.path.startswith(path):
            head_depth[head_id] = max(head_depth.get(head_id, 0), len(path))

    def closeness(u: User) -> tuple[int, int, int]:
        emp = employee_of(u)
        if emp is not None and subject.manager_path.startswith(emp.manager_path):
            return (0, -len(emp.manager_path), u.pk)
        if emp is not None and emp.pk in head_depth:
            return (1, -head_depth[emp.pk], u.pk)
        return (2, 0, u.pk)

    return sorted(covering, key=closeness)
