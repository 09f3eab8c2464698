"""PostgreSQL: an index on customers (department, owner, id) for the list sorted by 所属部门.

The sort walks the departments in name order (``core.listing.JoinedSort``) and each
department's customers in id order. SQLite's ``department_id`` index holds the rowid in
order, so the walk stops after the page; PostgreSQL read a department's customers through
a bitmap of the heap and sorted all of them — 100,000 a department at 1,000,000 customers,
230–320 ms a page. From this index it reads only the ids (an index-only scan, the owner
tested in the index for a team's scope): 25 ms (docs/performance.md, "List pages").
SQLite gets no such index: it would prefer it for being covering and then have to sort.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

INDEX = "sales_cust_dept_owner_sort"


def _create(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON sales_customer (department_id, owner_id, id)"
        )


def _drop(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("sales", "0009_customer_short_search")]

    operations = [migrations.RunPython(_create, _drop)]
