"""Data scopes: each role's scope selects exactly the rows it should."""

from __future__ import annotations

import pytest

from salesops.core.access import mask_id_number, mask_phone, viewer_for
from salesops.core.models import DataScope, RoleCode
from salesops.factories import (
    CustomerFactory,
    DepartmentFactory,
    EmployeeFactory,
    MemberFactory,
    UserFactory,
    role,
)
from salesops.org.access import can_see_personal_info, employee_scope_q, member_scope_q
from salesops.org.models import Employee, Member
from salesops.sales.models import Customer


def _visible_customers(user: object) -> set[str]:
    viewer = viewer_for(user)  # type: ignore[arg-type]
    q = employee_scope_q(viewer, owner="owner", department="department")
    return set(Customer.objects.filter(q).values_list("name", flat=True))


@pytest.fixture
def world(stock):  # type: ignore[no-untyped-def]
    # A sub-team under the stock team, with a rep reporting to the stock rep.
    sub_team = DepartmentFactory(name="华东一组A", code="T1A", parent=stock.team)
    sub_rep = EmployeeFactory(name="小王", department=sub_team, manager=stock.rep)
    CustomerFactory(name="rep客户", owner=stock.rep)
    CustomerFactory(name="manager客户", owner=stock.manager)
    CustomerFactory(name="sub客户", owner=sub_rep)
    CustomerFactory(name="outsider客户", owner=stock.outsider)
    stock.sub_team, stock.sub_rep = sub_team, sub_rep
    return stock


def test_self_scope_sees_only_own_rows(world) -> None:  # type: ignore[no-untyped-def]
    assert _visible_customers(world.rep_user) == {"rep客户"}
    assert _visible_customers(world.outsider_user) == {"outsider客户"}


def test_self_and_subordinates_scope_follows_the_management_chain(world) -> None:  # type: ignore[no-untyped-def]
    assert _visible_customers(world.manager_user) == {"manager客户", "rep客户", "sub客户"}


def test_department_scope_is_own_department_only(world) -> None:  # type: ignore[no-untyped-def]
    r = role(RoleCode.MARKETING)
    assert r.data_scope == DataScope.DEPARTMENT
    world.rep_user.role = r
    world.rep_user.save()
    assert _visible_customers(world.rep_user) == {"rep客户", "manager客户"}


def test_department_and_children_scope_includes_sub_departments(world) -> None:  # type: ignore[no-untyped-def]
    director = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="多拉", department=world.team, user=director)
    assert _visible_customers(director) == {"rep客户", "manager客户", "sub客户"}
    top = UserFactory(username="top", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="总", department=world.company, user=top)
    assert _visible_customers(top) == {"rep客户", "manager客户", "sub客户", "outsider客户"}


def test_all_scope_and_superuser_see_everything(world) -> None:  # type: ignore[no-untyped-def]
    fin = UserFactory(username="fin", role=role(RoleCode.FINANCE))
    assert _visible_customers(fin) == {"rep客户", "manager客户", "sub客户", "outsider客户"}
    su = UserFactory(username="root", role=None, is_superuser=True)
    assert len(_visible_customers(su)) == 4


def test_user_without_employee_sees_nothing_in_employee_scopes(db) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(name="x")
    lonely = UserFactory(username="lonely", role=role(RoleCode.REP))
    assert _visible_customers(lonely) == set()


def test_employee_model_scope_with_empty_owner(world) -> None:  # type: ignore[no-untyped-def]
    viewer = viewer_for(world.manager_user)
    names = set(
        Employee.objects.filter(employee_scope_q(viewer, owner="")).values_list("name", flat=True)
    )
    assert names == {"鲍勃", "爱丽丝", "小王"}


def test_member_sees_self_and_downline_only(db) -> None:  # type: ignore[no-untyped-def]
    top = MemberFactory(name="顶")
    me_user = UserFactory(username="m1", role=role(RoleCode.MEMBER))
    me = MemberFactory(name="我", sponsor=top, user=me_user)
    child = MemberFactory(name="下一", sponsor=me)
    MemberFactory(name="下二", sponsor=child)
    MemberFactory(name="旁支", sponsor=top)
    viewer = viewer_for(me_user)
    names = set(Member.objects.filter(member_scope_q(viewer)).values_list("name", flat=True))
    assert names == {"我", "下一", "下二"}


def test_personal_info_visible_to_owner_or_right(world) -> None:  # type: ignore[no-untyped-def]
    rep_viewer = viewer_for(world.rep_user)
    mgr_viewer = viewer_for(world.manager_user)
    assert can_see_personal_info(rep_viewer, world.rep.pk) is True
    assert can_see_personal_info(mgr_viewer, world.rep.pk) is False
    director = UserFactory(username="d2", role=role(RoleCode.DIRECTOR))
    assert can_see_personal_info(viewer_for(director), world.rep.pk) is True


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("13812345678", "138****5678"),
        ("", ""),
        ("12345", "*****"),
        ("+8613812345678", "+86*******5678"),
    ],
)
def test_mask_phone(raw: str, masked: str) -> None:
    assert mask_phone(raw) == masked


def test_mask_id_number() -> None:
    assert mask_id_number("110101199003071234") == "110101********1234"
