"""Customer search for terms of one or two characters (华为, 张伟) through an index
(``sales.search.CUSTOMER_SHORT``: SQLite FTS5 of the names' and codes' grams kept by
triggers, PostgreSQL GIN on their gram arrays) instead of a scan of every customer."""

from __future__ import annotations

from django.db import migrations

from salesops.core.db import textsearch
from salesops.sales.search import CUSTOMER_SHORT


class Migration(migrations.Migration):
    dependencies = [("sales", "0008_quotes_contracts_receipts")]

    operations: list[migrations.operations.base.Operation] = [
        *textsearch.migration_operations(CUSTOMER_SHORT),
    ]
