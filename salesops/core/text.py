"""One rule for text that people type or upload: no control characters.

Tab, line feed and carriage return are allowed (multi-line notes); every other C0 control
character and DEL is refused — at every entry point (forms, API, imports) through the
helpers below — and replaced on the way out (exports), so a stored string can never break
an xlsx file (openpyxl's ``IllegalCharacterError``) or a terminal.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

# The characters refused: C0 controls except \t \n \r, and DEL.
CONTROL_CHARS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
CONTROL_RE = re.compile(f"[{CONTROL_CHARS}]")
# The same rule as a whole-string pattern, for OpenAPI / pydantic (``pattern=``).
NO_CONTROL_PATTERN = f"^[^{CONTROL_CHARS}]*$"
CONTROL_MESSAGE = gettext_lazy("不能包含不可见的控制字符")
# What an export writes instead of a control character found in stored data.
REPLACEMENT = "\ufffd"


def has_control_chars(value: str) -> bool:
    return CONTROL_RE.search(value) is not None


def validate_no_control_chars(value: object) -> None:
    """A Django validator (forms and model fields)."""
    if isinstance(value, str) and has_control_chars(value):
        raise ValidationError(CONTROL_MESSAGE, code="control_character")


def require_no_control_chars(value: str, field: str) -> None:
    """For services taking free text straight from a request (not through a form or the
    API parser): a ``ServiceError`` naming ``field``."""
    if has_control_chars(value):
        from salesops.core.errors import ServiceError

        raise ServiceError("control_character", CONTROL_MESSAGE, field=field)


def replace_control_chars(value: str) -> str:
    """The text with each control character replaced by U+FFFD (for exports)."""
    return CONTROL_RE.sub(REPLACEMENT, value)
