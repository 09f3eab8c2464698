"""The customer list sorted by 负责人 / 所属部门 (core.listing.JoinedSort) at a million rows,
tested at a few: the page walks the owners (departments) in name order instead of sorting
every customer, and must give exactly the order one ORDER BY over every row gives — owner
name, then 工号, then the customer's id, pool customers last (first descending) — across
page boundaries, after a rename, a transfer and a bulk update; and the manager's page that
reads the team as ids shows the same rows as the scope."""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.core.access import viewer_for
from salesops.factories import CustomerFactory, DepartmentFactory, EmployeeFactory
from salesops.org.services.employees import employee_update
from salesops.sales import selectors
from salesops.sales.models import Customer
from salesops.sales.services.customers import customers_transfer

CUSTOMERS = reverse("sales:customers")


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def pages(client: Client, sort: str, **params: str) -> list[str]:
    """Every page of the list, concatenated (20 a page)."""
    codes: list[str] = []
    page = 1
    while True:
        resp = client.get(CUSTOMERS, {"sort": sort, "scene": "all", "page": str(page), **params})
        assert resp.status_code == 200
        codes += [row["obj"].code for row in resp.context["rows"]]
        if not resp.context["page"].has_next:
            return codes
        page += 1


def expected_by_owner(customers: Any, desc: bool = False) -> list[str]:
    """The order stated plainly: owner name, 工号, id; pool customers after (before, desc)."""
    owned = sorted(
        (c for c in customers if c.owner is not None),
        key=lambda c: (c.owner.name, c.owner.employee_no, c.pk),
        reverse=desc,
    )
    pool = sorted((c for c in customers if c.owner is None), key=lambda c: c.pk, reverse=desc)
    return [c.code for c in (pool + owned if desc else owned + pool)]


def _world(stock: Any) -> list[Customer]:
    # Two owners with the same name (张伟), one whose name sorts first, and pool customers,
    # 45 customers in all: three pages, the pool spanning a page boundary.
    zhang_a = EmployeeFactory(name="张伟", employee_no="Z900", department=stock.team)
    zhang_b = EmployeeFactory(name="张伟", employee_no="Z100", department=stock.other_team)
    owners = [zhang_a, zhang_b, stock.rep, stock.outsider]
    made = [CustomerFactory(owner=owners[i % 4]) for i in range(38)]
    made += [
        CustomerFactory(owner=None, department=stock.team, name=f"公海客户{i}") for i in range(7)
    ]
    return made


def _fresh() -> list[Customer]:
    return list(Customer.objects.select_related("owner", "department"))


def test_sort_by_owner_pages_through_the_same_order_as_one_order_by(stock, admin_user) -> None:
    # Given customers of two 张伟, of other owners and in the pool
    _world(stock)
    admin = login(admin_user)
    # When the admin pages through the list sorted by 负责人, both ways
    # Then every page follows owner name, 工号, id — pool customers last, first descending
    assert pages(admin, "owner") == expected_by_owner(_fresh())
    assert pages(admin, "-owner") == expected_by_owner(_fresh(), desc=True)
    # And the export (one ORDER BY over every row) has the same order
    resp = admin.get(CUSTOMERS, {"sort": "owner", "scene": "all", "export": "xlsx"})
    assert resp.status_code == 200


def test_the_owner_order_follows_a_rename_a_transfer_and_a_bulk_update(stock, admin_user) -> None:
    made = _world(stock)
    admin = login(admin_user)
    # When the rep is renamed so that the name sorts first (一 before 张, 查, 爱)
    rep = stock.rep
    employee_update(
        actor=admin_user,
        employee=rep,
        name="一丽丝",
        phone=rep.phone,
        department=rep.department,
        position=rep.position,
        manager=rep.manager,
        active=True,
    )
    assert pages(admin, "owner") == expected_by_owner(_fresh())
    assert pages(admin, "owner")[0] in {c.code for c in _fresh() if c.owner_id == stock.rep.pk}
    # A transfer of three customers to the outsider, and a bulk update out of the pool
    stock.outsider.refresh_from_db()
    moved = [c.pk for c in made[:3]]
    customers_transfer(actor=admin_user, customer_ids=moved, owner_no=stock.outsider.employee_no)
    Customer.objects.filter(owner=None, pk__in=[c.pk for c in made[-2:]]).update(owner=stock.rep)
    assert pages(admin, "owner") == expected_by_owner(_fresh())
    assert pages(admin, "-owner") == expected_by_owner(_fresh(), desc=True)


def test_sort_by_department_is_name_then_code_then_id(stock, admin_user) -> None:
    # Given two departments of the same name
    twin = DepartmentFactory(name="华东一组", code="A0", parent=stock.company)
    for i in range(30):
        dept = (stock.team, stock.other_team, twin)[i % 3]
        CustomerFactory(owner=stock.rep if dept == stock.team else None, department=dept)
    rows = _fresh()
    want = [
        c.code for c in sorted(rows, key=lambda c: (c.department.name, c.department.code, c.pk))
    ]
    admin = login(admin_user)
    assert pages(admin, "department") == want
    assert pages(admin, "-department") == want[::-1]


def test_sorted_pages_stay_within_twelve_queries(stock, admin_user) -> None:
    _world(stock)
    # Page 2 of the admin's 45 rows ends in the pool: both parts of the order are read
    for user, page in ((admin_user, "2"), (stock.manager_user, "1"), (stock.rep_user, "1")):
        client = login(user)
        for sort in ("owner", "-owner", "department", "-department"):
            with CaptureQueriesContext(connection) as ctx:
                resp = client.get(CUSTOMERS, {"sort": sort, "page": page})
            assert resp.status_code == 200
            assert resp.context["rows"], (user.username, sort)
            assert len(ctx.captured_queries) <= 12, (user.username, sort)


def test_the_managers_page_shows_the_scope_and_a_new_report_at_once(stock) -> None:
    # Given the manager's team (the manager and the rep) and a customer outside it
    mine = [CustomerFactory(owner=stock.rep) for _ in range(3)]
    mine.append(CustomerFactory(owner=stock.manager))
    CustomerFactory(owner=stock.outsider)
    manager = login(stock.manager_user)

    def shown(**params: str) -> set[str]:
        resp = manager.get(CUSTOMERS, {"scene": "all", **params})
        return {row["obj"].code for row in resp.context["rows"]}

    # Then the page, read with the team as ids, shows exactly the scope's customers
    scope = set(
        selectors.customers_for(viewer_for(stock.manager_user)).values_list("code", flat=True)
    )
    assert shown() == scope == {c.code for c in mine}
    assert shown(sort="owner") == scope
    # And the subordinates' scene shows the rep's only
    resp = manager.get(CUSTOMERS, {"scene": "subordinates"})
    assert {row["obj"].code for row in resp.context["rows"]} == {c.code for c in mine[:3]}
    # When someone new reports to the manager, the next request shows their customers
    newcomer = EmployeeFactory(department=stock.team, manager=stock.manager)
    theirs = CustomerFactory(owner=newcomer)
    assert theirs.code in shown()


def test_a_created_range_without_a_sort_lists_the_newest_first(stock, admin_user) -> None:
    # Given customers whose creation times are not in id order
    made = [CustomerFactory(owner=stock.rep) for _ in range(3)]
    when = ["2026-01-10 09:00", "2026-01-20 09:00", "2026-01-05 09:00"]
    for c, at in zip(made, when, strict=True):
        Customer.objects.filter(pk=c.pk).update(created_at=f"{at}+08:00")
    admin = login(admin_user)
    in_january = {"created_from": "2026-01-01", "created_to": "2026-01-31", "scene": "all"}
    # Then the range is listed by creation time, newest first (its index serves both)
    resp = admin.get(CUSTOMERS, in_january)
    assert [row["obj"].code for row in resp.context["rows"]] == [
        made[1].code,
        made[0].code,
        made[2].code,
    ]
    # A column sort still wins, and without the range the list is newest id first
    resp = admin.get(CUSTOMERS, {**in_january, "sort": "code"})
    assert [row["obj"].code for row in resp.context["rows"]] == sorted(str(c.code) for c in made)
    resp = admin.get(CUSTOMERS, {"scene": "all"})
    assert [row["obj"].code for row in resp.context["rows"]] == [c.code for c in made[::-1]]


def test_postgresql_has_the_scoped_sort_and_count_indexes_and_sqlite_does_not(db) -> None:  # type: ignore[no-untyped-def]
    """sales 0010: PostgreSQL reads a department's ids, and a team's customers of one
    source, from indexes of their own; on SQLite the department_id index (rowid in order)
    serves, and a covering one would be preferred and then sorted."""
    with connection.cursor() as cur:
        indexes = connection.introspection.get_constraints(cur, Customer._meta.db_table)
    wanted = {
        "sales_cust_dept_owner_sort": ["department_id", "owner_id", "id"],
        "sales_cust_owner_source": ["owner_id", "source"],
    }
    for name, columns in wanted.items():
        found = indexes.get(name)
        if connection.vendor == "postgresql":
            assert found is not None and found["columns"] == columns, name
        else:
            assert found is None, name
