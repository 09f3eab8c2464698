"""A default pool, so that 放入公海 works from the first day. It has no reclaim days:
nothing goes back by itself until an admin sets the rules (an upgrade must not sweep
every customer whose owner has held it for years into the pool)."""

from django.db import migrations


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    Pool = apps.get_model("crm", "Pool")
    if not Pool.objects.filter(is_default=True).exists():
        Pool.objects.create(name="公司公海", is_default=True)


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
