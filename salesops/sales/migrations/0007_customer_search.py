"""Search and list indexes of the customer list at 1,000,000 rows (filled by the list
performance work; kept as its own step so later migrations of the app depend on it)."""

from __future__ import annotations

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("sales", "0006_crm_fields")]

    operations: list[migrations.operations.base.Operation] = []
