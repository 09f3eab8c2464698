"""Who is looking: the viewer of a request, with their role, data scope and rights, and
the masks of personal information.

Core knows users and roles only. Who a user *is* in the organisation (their employee
record, their direct-selling member record) comes from the identity provider that the org
module registers (``register_identity_provider``), and the data-scope rules that walk the
org chart (``employee_scope_q`` …) live in ``salesops.org.access``. UI, API, exports and
search all filter through those, so there is one rule per object type.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db.models import Q

from salesops.core.models import DataScope, RoleCode, User

if TYPE_CHECKING:
    from django.http import HttpRequest

NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Viewer:
    user: User
    role: str
    scope: str
    # The user's org.Employee and org.Member (or None), from the identity provider.
    employee: Any
    member: Any
    can_view_personal_info: bool
    can_export: bool
    can_import: bool

    @property
    def is_admin(self) -> bool:
        return self.role == RoleCode.ADMIN or self.user.is_superuser

    def has_role(self, *codes: str) -> bool:
        return self.is_admin or self.role in codes

    @property
    def is_staff(self) -> bool:
        """An employee's account (any role but 会员), or an admin."""
        return self.is_admin or self.role != RoleCode.MEMBER


def request_viewer(request: HttpRequest) -> Viewer:
    """The viewer of a page request (its logged-in user)."""
    return viewer_for(request.user)  # type: ignore[arg-type]


def staff_only(viewer: Viewer) -> None:
    """A page for employees: to a member it does not exist (404, nothing said)."""
    if not viewer.is_staff:
        from django.http import Http404
        from django.utils.translation import gettext as _

        raise Http404(_("页面不存在"))


IdentityProvider = Callable[[User], tuple[Any, Any]]
_identity: list[IdentityProvider] = []


def register_identity_provider(provider: IdentityProvider) -> None:
    """Set the function that finds a user's (employee, member) records (org does)."""
    _identity[:] = [provider]


def viewer_for(user: User) -> Viewer:
    """The viewer's role, scope and identities, computed once per user object."""
    cached = getattr(user, "_salesops_viewer", None)
    if cached is not None:
        return cached
    role = user.role if user.role_id else None
    employee, member = _identity[0](user) if _identity else (None, None)
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
