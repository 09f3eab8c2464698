"""The one finance rule of the compensation module (``compensation/rights.py``)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from salesops.compensation.rights import finance_only, is_finance
from salesops.core.access import Viewer
from salesops.core.models import DataScope, RoleCode, User


def _viewer(role: str, *, superuser: bool = False) -> Viewer:
    return Viewer(
        user=User(username=f"u-{role}", is_superuser=superuser),
        role=role,
        scope=DataScope.SELF,
        employee=None,
        member=None,
        can_view_personal_info=False,
        can_export=False,
        can_import=False,
    )


ALLOWED = {RoleCode.FINANCE, RoleCode.ADMIN}


@pytest.mark.parametrize("role", list(RoleCode))
def test_only_finance_and_admin_are_finance(role: RoleCode) -> None:
    assert is_finance(_viewer(role)) is (role in ALLOWED)


def test_a_superuser_without_the_role_is_finance() -> None:
    assert is_finance(_viewer(RoleCode.REP, superuser=True)) is True


@pytest.mark.parametrize("role", sorted(ALLOWED))
def test_finance_only_lets_finance_and_admin_through(role: str) -> None:
    finance_only(_viewer(role))  # raises for anyone else


def test_finance_only_refuses_with_the_default_reason() -> None:
    with pytest.raises(PermissionDenied) as err:
        finance_only(_viewer(RoleCode.DIRECTOR))
    assert str(err.value) == "只有财务或管理员可以查看结算"


def test_finance_only_refuses_with_the_reason_given() -> None:
    with pytest.raises(PermissionDenied) as err:
        finance_only(_viewer(RoleCode.MEMBER), "只有财务或管理员可以管理奖金发放")
    assert str(err.value) == "只有财务或管理员可以管理奖金发放"
