"""Model fields shared by the apps."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


class JSONTextField(models.TextField):  # type: ignore[type-arg]
    """A JSON value stored as its text (``text`` on every database).

    Django's JSONField is ``jsonb`` on PostgreSQL, which parses and re-encodes every
    value on write: for the million and a half statement lines of a large commission run
    that is seconds of server time (README, "Commission run in the app"). Nothing queries
    inside these values, so text serves: written by ``json.dumps`` (sorted keys, UTF-8),
    or as ready JSON text by bulk inserts, and read back with ``json.loads``.
    """

    description = _("JSON 文本")

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return None if value is None else json.loads(value)

    def to_python(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ValidationError(_("不是有效的 JSON"), code="invalid") from exc

    def get_prep_value(self, value: Any) -> Any:
        if value is None:
            return None
        return json.dumps(value, ensure_ascii=False, sort_keys=True)

    def value_to_string(self, obj: models.Model) -> str:
        return json.dumps(self.value_from_object(obj), ensure_ascii=False, sort_keys=True)
