"""Unique (name, code) / (name, employee_no) indexes on departments and employees: a
million-row list sorted by its department's or owner's name (core.listing.JoinedSort)
walks these small tables in that order instead of sorting every row. Unique (as code and
employee_no already are) so that SQLite knows each entry is one row."""

from __future__ import annotations

from typing import Any

from django.db import migrations, models


def _analyze(apps: Any, schema_editor: Any) -> None:
    # A SQLite database with statistics (sqlite_stat1) and none for the new indexes
    # plans around them; statistics of these two small tables cost nothing.
    conn = schema_editor.connection
    if conn.vendor != "sqlite":
        return
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        if cur.fetchone() is not None:
            cur.execute("ANALYZE org_department")
            cur.execute("ANALYZE org_employee")


class Migration(migrations.Migration):
    dependencies = [("org", "0004_field_labels")]

    operations = [
        migrations.AddConstraint(
            model_name="department",
            constraint=models.UniqueConstraint(
                fields=["name", "code"], name="org_dept_name_sort"
            ),
        ),
        migrations.AddConstraint(
            model_name="employee",
            constraint=models.UniqueConstraint(
                fields=["name", "employee_no"], name="org_emp_name_sort"
            ),
        ),
        migrations.RunPython(_analyze, migrations.RunPython.noop, elidable=True),
    ]
