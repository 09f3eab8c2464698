"""Search and list indexes of the customer list at 1,000,000 rows (filled by the list
performance work; kept as its own step so later migrations of the app depend on it).

* the sortable columns' indexes (name, source, created time; ties by id);
* the trigram search of customers (name, code, phone) and orders (order number):
  SQLite FTS5 tables kept by triggers, PostgreSQL pg_trgm GIN indexes (``sales.search``);
The customer sources' triggers (``core.ChoiceValue``, the source filter's choices) are
made by core's ``post_migrate`` (``sales.search.CUSTOMER_SOURCES``): that table is core's
0011, and this step keeps the one dependency it was reserved with. ``post_migrate`` also
makes the search tables on a database that applied this step while it was still empty.
"""

from __future__ import annotations

from django.db import migrations, models

from salesops.core.db import textsearch
from salesops.sales.search import CUSTOMER_TEXT, ORDER_TEXT


class Migration(migrations.Migration):
    dependencies = [("sales", "0006_crm_fields")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["name", "id"], name="sales_cust_name_sort"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["source", "id"], name="sales_cust_source_sort"),
        ),
        migrations.AddIndex(
            model_name="customer",
            index=models.Index(fields=["created_at", "id"], name="sales_cust_created_sort"),
        ),
        *textsearch.migration_operations(CUSTOMER_TEXT),
        *textsearch.migration_operations(ORDER_TEXT),
    ]
