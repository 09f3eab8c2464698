"""Rules that must hold for all inputs: an order's total is the sum of its lines each
rounded once half-up, and a viewer never sees a customer outside their scope."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import transaction
from django.http import Http404
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.core.access import viewer_for
from salesops.core.db.plans import unindexed
from salesops.core.models import RoleCode, User
from salesops.factories import (
    CustomerFactory,
    DepartmentFactory,
    EmployeeFactory,
    MemberFactory,
    role,
)
from salesops.org.models import Department, DepartmentKind, Employee
from salesops.sales.models import Customer, Order
from salesops.sales.selectors import (
    customer_for_viewer,
    customers_for,
    order_scope_q,
    orders_for,
)
from salesops.sales.services.orders import order_create
from salesops.sales.tests.conftest import DAY

FIXTURES_OK = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

quantities = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999"), places=2)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("99999"), places=2)


@FIXTURES_OK
@given(lines=st.lists(st.tuples(quantities, prices), min_size=1, max_size=8))
def test_total_equals_sum_of_rounded_lines(stock, catalogue, lines) -> None:  # type: ignore[no-untyped-def]
    with transaction.atomic():
        customer = CustomerFactory(owner=stock.rep)
        order = order_create(
            actor=stock.rep_user,
            order_date=DAY,
            customer=customer,
            lines=[{"product": catalogue[0], "quantity": q, "unit_price": p} for q, p in lines],
        )
        order.refresh_from_db()
        expected = [(q * p).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) for q, p in lines]
        assert [x.amount for x in order.lines.order_by("id")] == expected
        assert order.total_amount == sum(expected, Decimal("0.00"))
        transaction.set_rollback(True)


SCOPED_ROLES = [
    RoleCode.REP,
    RoleCode.MANAGER,
    RoleCode.MARKETING,
    RoleCode.DIRECTOR,
    RoleCode.FINANCE,
]


def _reference(viewer_emp: Employee, scope: str, customer: Customer) -> bool:
    """Plain reading of the data-scope rules, by walking parents one at a time."""
    if scope == "all":
        return True
    if scope == "self":
        return customer.owner_id == viewer_emp.pk
    if scope == "self_sub":
        e: Employee | None = customer.owner
        while e is not None:
            if e.pk == viewer_emp.pk:
                return True
            e = e.manager
        return False
    if scope == "dept":
        return customer.department_id == viewer_emp.department_id
    d: Department | None = customer.department
    while d is not None:
        if d.pk == viewer_emp.department_id:
            return True
        d = d.parent
    return False


def _org(dept_parents: list[int], people: list[tuple[int, int]]) -> list[Employee]:
    """A department tree (each entry: the parent's index) and employees in it (department
    index, manager index or -1), as the scope properties draw them."""
    depts = [DepartmentFactory(kind=DepartmentKind.COMPANY)]
    for p in dept_parents:
        depts.append(DepartmentFactory(parent=depts[p % len(depts)]))
    emps: list[Employee] = []
    for d, m in people:
        manager = emps[m % len(emps)] if m >= 0 and emps else None
        emps.append(EmployeeFactory(department=depts[d % len(depts)], manager=manager))
    return emps


@FIXTURES_OK
@given(
    dept_parents=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=5),
    people=st.lists(st.tuples(st.integers(0, 10), st.integers(-1, 10)), min_size=1, max_size=7),
    owners=st.lists(st.integers(0, 10), min_size=0, max_size=10),
    viewer_idx=st.integers(0, 10),
    role_code=st.sampled_from(SCOPED_ROLES),
)
def test_viewer_never_sees_customer_outside_scope(  # type: ignore[no-untyped-def]
    db, dept_parents, people, owners, viewer_idx, role_code
) -> None:
    with transaction.atomic():
        emps = _org(dept_parents, people)
        for o in owners:
            CustomerFactory(owner=emps[o % len(emps)])
        viewer_emp = emps[viewer_idx % len(emps)]
        user = User.objects.create(username="viewer", role=role(role_code))
        Employee.objects.filter(pk=viewer_emp.pk).update(user=user)
        viewer = viewer_for(user)

        visible = set(customers_for(viewer).values_list("pk", flat=True))
        for c in Customer.objects.select_related("owner", "department"):
            expected = _reference(viewer_emp, viewer.scope, c)
            assert (c.pk in visible) == expected
            if not expected:
                with pytest.raises(Http404):
                    customer_for_viewer(viewer, c.pk)
        transaction.set_rollback(True)


@FIXTURES_OK
@given(
    dept_parents=st.lists(st.integers(min_value=0, max_value=10), min_size=1, max_size=5),
    people=st.lists(st.tuples(st.integers(0, 10), st.integers(-1, 10)), min_size=1, max_size=6),
    orders=st.lists(
        st.tuples(st.integers(0, 10), st.integers(-1, 10), st.integers(1, 28)), max_size=12
    ),
    viewer_idx=st.integers(0, 10),
    role_code=st.sampled_from(SCOPED_ROLES),
)
def test_the_walking_order_plan_returns_the_same_rows_in_the_same_order(  # type: ignore[no-untyped-def]
    db, dept_parents, people, orders, viewer_idx, role_code
) -> None:
    """``orders_for(page=True)`` (SQLite: the scope tested on ``column + 0`` so the sort
    index is walked) and ``unindexed`` itself select exactly the scope's orders, in the
    list's order — for every scope, with orders credited to employees and to members."""
    with transaction.atomic():
        emps = _org(dept_parents, people)
        members = [MemberFactory(owner=e) for e in emps]
        for k, (e, m, day) in enumerate(orders):
            emp = emps[e % len(emps)]
            Order.objects.create(
                order_no=f"SOW{k}",
                order_date=DAY.replace(day=day),
                credited_employee=emp,
                department=emp.department,
                credited_member=members[m % len(members)] if m >= 0 else None,
                total_amount=Decimal("1"),
            )
        viewer_emp = emps[viewer_idx % len(emps)]
        user = User.objects.create(username="viewer", role=role(role_code))
        Employee.objects.filter(pk=viewer_emp.pk).update(user=user)
        viewer = viewer_for(user)
        ordering = ("-order_date", "-id")
        want = list(orders_for(viewer).order_by(*ordering).values_list("pk", flat=True))
        walked = orders_for(viewer, page=True).order_by(*ordering)
        assert list(walked.values_list("pk", flat=True)) == want
        bare = Order.objects.filter(unindexed(order_scope_q(viewer))).order_by(*ordering)
        assert list(bare.values_list("pk", flat=True)) == want
        transaction.set_rollback(True)
