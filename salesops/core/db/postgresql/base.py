"""Django's PostgreSQL backend, knowing about partitioned tables.

Django groups a query by a model's primary key alone when it selects that key, relying on
PostgreSQL to see that every other column depends on it. PostgreSQL sees that only for a
table's real primary key; a table partitioned by another column (see
``salesops/core/pgpartition.py``) has that column in its primary key too, so for models
that declare ``PARTITION_KEY`` the query groups by every selected column instead.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.postgresql import base, features


class DatabaseFeatures(features.DatabaseFeatures):
    def allows_group_by_selected_pks_on_model(self, model: Any) -> bool:
        if getattr(model, "PARTITION_KEY", None):
            return False
        return bool(super().allows_group_by_selected_pks_on_model(model))


class DatabaseWrapper(base.DatabaseWrapper):
    features_class = DatabaseFeatures
