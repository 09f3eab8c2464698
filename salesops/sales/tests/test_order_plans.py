"""SQLite's plan for a broad scope's order page (core/db/plans.py): the sort index is
walked — no MULTI-INDEX OR collecting the whole scope, no sort of it — while a rep's
narrow scope keeps its foreign-key indexes."""

from __future__ import annotations

import pytest
from django.db import connection

from salesops.core.access import viewer_for
from salesops.core.models import RoleCode
from salesops.factories import EmployeeFactory, UserFactory, role
from salesops.sales.selectors import orders_for


def _plan(qs: object) -> str:
    sql, params = qs.query.sql_with_params()  # type: ignore[attr-defined]
    with connection.cursor() as cur:
        cur.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row[-1]) for row in cur.fetchall())


@pytest.mark.django_db
def test_a_managers_order_page_walks_the_sort_index_and_a_reps_does_not(stock) -> None:  # type: ignore[no-untyped-def]
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL plans by its statistics")
    for k in range(30):  # the rep's colleagues elsewhere: the rep holds a small share
        EmployeeFactory(employee_no=f"X{k}", department=stock.other_team)
    director = UserFactory(username="dee", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(department=stock.company, user=director)
    page = orders_for(viewer_for(director), page=True).order_by("-order_date", "-id")[:21]
    walked = _plan(page)
    assert "MULTI-INDEX OR" not in walked and "TEMP B-TREE" not in walked.split("\n")[-1]
    assert "sales_order_order_date" in walked  # the sort's index, walked
    listed = _plan(orders_for(viewer_for(director)).order_by("-order_date", "-id")[:21])
    assert "MULTI-INDEX OR" in listed  # what the page no longer does
    rep = orders_for(viewer_for(stock.rep_user), page=True).order_by("-order_date", "-id")[:21]
    assert "sales_order_order_date" not in _plan(rep)  # 1 of 33: the keys' indexes serve
