from django.db import migrations


def create_roles(apps, schema_editor):  # type: ignore[no-untyped-def]
    from salesops.core.roles import ensure_default_roles

    ensure_default_roles(apps.get_model("core", "Role"))


class Migration(migrations.Migration):
    dependencies = [("core", "0002_importjob")]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
