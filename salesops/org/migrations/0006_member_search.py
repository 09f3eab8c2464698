"""Trigram search of members' numbers and names (``org.search.MEMBER_TEXT``: SQLite FTS5
kept by triggers, PostgreSQL pg_trgm GIN): the orders search ``SO0012345`` read every
order for the member-name ``icontains`` in its OR (3.8–4.5 s at 1,000,000 orders)."""

from __future__ import annotations

from django.db import migrations

from salesops.core.db import textsearch
from salesops.org.search import MEMBER_TEXT


class Migration(migrations.Migration):
    dependencies = [("org", "0005_name_sort_indexes")]

    operations: list[migrations.operations.base.Operation] = [
        *textsearch.migration_operations(MEMBER_TEXT),
    ]
