"""The canonical default role table (角色与数据权限): the migration that seeds a new
install, the test factories and the demo all use this one definition."""

from __future__ import annotations

from dataclasses import dataclass

from salesops.core.models import DataScope, Role, RoleCode


@dataclass(frozen=True)
class RoleDefault:
    code: str
    data_scope: str
    can_view_personal_info: bool
    can_export: bool
    can_import: bool


DEFAULT_ROLES: tuple[RoleDefault, ...] = (
    RoleDefault(RoleCode.ADMIN, DataScope.ALL, True, True, True),
    RoleDefault(RoleCode.DIRECTOR, DataScope.DEPARTMENT_AND_CHILDREN, True, True, False),
    RoleDefault(RoleCode.MANAGER, DataScope.SELF_AND_SUBORDINATES, False, True, False),
    RoleDefault(RoleCode.REP, DataScope.SELF, False, True, False),
    RoleDefault(RoleCode.MARKETING, DataScope.DEPARTMENT, False, True, False),
    # Finance sees every amount but needs no customer phone or ID number to do so.
    RoleDefault(RoleCode.FINANCE, DataScope.ALL, False, True, False),
    RoleDefault(RoleCode.MEMBER, DataScope.SELF, False, False, False),
)


def ensure_default_roles(role_model: type[Role] = Role) -> dict[str, Role]:
    """Create the seven roles that are missing (existing ones are left as configured)."""
    roles: dict[str, Role] = {}
    for d in DEFAULT_ROLES:
        role, _created = role_model.objects.get_or_create(
            code=d.code,
            defaults={
                "name": str(RoleCode(d.code).label),
                "data_scope": d.data_scope,
                "can_view_personal_info": d.can_view_personal_info,
                "can_export": d.can_export,
                "can_import": d.can_import,
            },
        )
        roles[d.code] = role
    return roles
