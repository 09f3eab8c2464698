"""Statement line inputs as text (was jsonb on PostgreSQL), results without the index on
member alone: two costs of every row a run stores (README, "Commission run in the app").

The state changes as Django's AlterField would, but the database work is done by hand so
that SQLite does not rebuild the two largest tables (millions of rows on a big install):
there ``inputs`` is already a text column (Django's JSONField adds a JSON_VALID check,
which stays and which the stored JSON always passes) and the index is simply dropped.
"""

import django.db.models.deletion
from django.db import migrations, models

import salesops.core.fields

MEMBER_INDEX = "compensation_commissionresult_member_id_c85de8c0"


def forwards(apps, schema_editor):
    ops = schema_editor.connection.ops
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {ops.quote_name('compensation_commissionline')} "
            f"ALTER COLUMN {ops.quote_name('inputs')} TYPE text USING inputs::text"
        )
    schema_editor.execute(f"DROP INDEX IF EXISTS {ops.quote_name(MEMBER_INDEX)}")


def backwards(apps, schema_editor):
    ops = schema_editor.connection.ops
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"ALTER TABLE {ops.quote_name('compensation_commissionline')} "
            f"ALTER COLUMN {ops.quote_name('inputs')} TYPE jsonb USING inputs::jsonb"
        )
    schema_editor.execute(
        f"CREATE INDEX {ops.quote_name(MEMBER_INDEX)} ON "
        f"{ops.quote_name('compensation_commissionresult')} ({ops.quote_name('member_id')})"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("compensation", "0003_results_lines_no_fk_constraints"),
        ("org", "0003_member_bank_account"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="commissionline",
                    name="inputs",
                    field=salesops.core.fields.JSONTextField(default=dict, verbose_name="输入"),
                ),
                migrations.AlterField(
                    model_name="commissionresult",
                    name="member",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        to="org.member",
                        verbose_name="会员",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(forwards, backwards)],
        )
    ]
