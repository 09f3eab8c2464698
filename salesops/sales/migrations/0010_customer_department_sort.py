"""PostgreSQL: two indexes on customers for the list's scoped sorts and counts.

(department, owner, id), for the list sorted by 所属部门: the sort walks the departments in
name order (``core.listing.JoinedSort``) and each department's customers in id order.
SQLite's ``department_id`` index holds the rowid in order, so the walk stops after the
page; PostgreSQL read a department's customers through a bitmap of the heap and sorted
all of them — 100,000 a department at 1,000,000 customers, 230–320 ms a page. From this
index it reads only the ids (an index-only scan, the owner tested in the index for a
team's scope).

(owner, source), for a team's or a rep's page filtered by 客户来源: its capped count
(10,000+) read every team member's customers from the heap to test the source (≈ 30,000
rows, 110 ms); from this index it is index-only (2 ms).

docs/performance.md, "List pages", second pass. SQLite gets neither: it would prefer a
covering index and then sort, where its plans walk an index in the page's order.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEXES = {
    "sales_cust_dept_owner_sort": "(department_id, owner_id, id)",
    "sales_cust_owner_source": "(owner_id, source)",
}


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name, columns in INDEXES.items():
            schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON sales_customer {columns}")


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for name in INDEXES:
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("sales", "0009_customer_short_search")]

    operations = [migrations.RunPython(_create, _drop)]
