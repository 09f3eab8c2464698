"""Results and statement lines partitioned by run on PostgreSQL (README, "Commission run
in the app"): a run's rows are written and indexed in a table of their own, then attached
in the store's transaction (salesops/core/pgpartition.py). Foreign keys to the two tables
lose their database constraint (PostgreSQL allows none to a table partitioned by another
column); Django still cascades and protects. SQLite keeps plain tables.
"""

import django.db.models.deletion
from django.db import migrations, models

from salesops.core import pgpartition

TABLES = ("compensation_commissionresult", "compensation_commissionline")


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        for table in TABLES:
            pgpartition.partition_by_list(cur, table, "run_id")


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cur:
        for table in TABLES:
            pgpartition.unpartition(cur, table, "run_id")


class Migration(migrations.Migration):
    dependencies = [
        ("compensation", "0004_lines_inputs_text_results_member_unindexed"),
    ]

    operations = [
        migrations.AlterField(
            model_name="dispute",
            name="line",
            field=models.ForeignKey(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="disputes",
                to="compensation.commissionline",
                verbose_name="结算明细",
            ),
        ),
        migrations.AlterField(
            model_name="payoutitem",
            name="result",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="compensation.commissionresult",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
