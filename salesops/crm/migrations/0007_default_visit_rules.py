"""The default return-visit rules (回访): 7 and 30 days after a contract starts."""

from django.db import migrations

DEFAULTS = [
    ("合同开始后7天回访", "contract", 7),
    ("合同开始后30天回访", "contract", 30),
]


def create(apps, schema_editor):  # type: ignore[no-untyped-def]
    VisitRule = apps.get_model("crm", "VisitRule")
    for name, source, days in DEFAULTS:
        VisitRule.objects.get_or_create(
            source=source, days=days, defaults={"name": name, "form": "phone"}
        )


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_after_sales")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
