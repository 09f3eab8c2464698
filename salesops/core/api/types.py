"""The API's input types, each rule written once: what the server checks on a single
field is what the OpenAPI schema says (length, pattern, range, enum, format), so a client
— or a schema fuzzer — can know every rule before it sends a request.

- ``BodyIn``: the base of every JSON body. An object only (``[1,2,3]`` or ``"x"`` is a 422),
  unknown fields refused (``extra="forbid"``), no type coercion (``"5"`` is not an id,
  ``1`` is not a string, ``"true"`` is not a boolean).
- Dates are ISO ``YYYY-MM-DD`` strings only (no timestamps: ``?on=0`` is a 422), months
  ``YYYY-MM`` with a real month (01–12) in the years the services accept.
- Money and quantities are exact decimals: a JSON string (``"12.50"``) or a JSON integer,
  never a float — floats never touch money (a float body value is a 422 that says so).
- Ids are ≥ 1 and fit a 64-bit key; free text refuses control characters
  (``core.text.NO_CONTROL_PATTERN``); names and required texts must not be blank.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError, core_schema

from salesops.core.text import CONTROL_CHARS, NO_CONTROL_PATTERN

# A primary key: positive, and within a signed 64-bit column (bigger is an input error,
# not a database overflow).
MAX_ID = 2**63 - 1
# Years a date or a month may have (the services' INPUT_YEARS).
MIN_YEAR, MAX_YEAR = 1900, 2999

# Not blank: at least one character that is neither whitespace nor a control character.
NOT_BLANK_PATTERN = f"^[^{CONTROL_CHARS}]*[^\\s{CONTROL_CHARS}][^{CONTROL_CHARS}]*$"
# ``YYYY-MM-DD`` / ``YYYY-MM`` in the accepted years (day and month validity checked too).
DATE_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
MONTH_PATTERN = r"^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])$"
_DATE_RE = re.compile(DATE_PATTERN)


# The message of each pattern, for the API's error body (``salesops.api``).
PATTERN_MESSAGES: dict[str, Any] = {}


def pattern(regex: str, message: Any) -> Any:
    """``Field(pattern=regex)`` whose mismatch answers ``message`` (a lazy translation)."""
    PATTERN_MESSAGES[regex] = message
    return Field(pattern=regex)


class BodyIn(BaseModel):
    """A JSON request body: an object with exactly the declared fields, no coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


# ------------------------------------------------------------------------------ ids

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


# ------------------------------------------------------------------------------ text

# Metadata to combine with a length: ``Annotated[str, NotBlank, Field(max_length=200)]``.
# Plain: free text, may be empty, no control characters. NotBlank: required text, not
# blank after trimming (what the services check with ``.strip()``), no control characters.
Plain = Field(pattern=NO_CONTROL_PATTERN)
NotBlank = Field(min_length=1, pattern=NOT_BLANK_PATTERN)

Text32 = Annotated[str, Plain, Field(max_length=32)]
Text64 = Annotated[str, Plain, Field(max_length=64)]
Text200 = Annotated[str, Plain, Field(max_length=200)]
Text300 = Annotated[str, Plain, Field(max_length=300)]
Name32 = Annotated[str, NotBlank, Field(max_length=32)]
Name40 = Annotated[str, NotBlank, Field(max_length=40)]
Name150 = Annotated[str, NotBlank, Field(max_length=150)]
Name200 = Annotated[str, NotBlank, Field(max_length=200)]
# Search boxes.
Search = Annotated[str, Plain, Field(max_length=100)]


# ----------------------------------------------------------------------- dates, months


def _iso_date(value: Any) -> Any:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str) and _DATE_RE.match(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:  # 2026-02-30: the pattern cannot know the month's length
            raise PydanticCustomError("date_parsing", "Input should be a valid date") from None
    raise PydanticCustomError("date_parsing", "Input should be a valid date")


IsoDate = Annotated[
    datetime.date,
    BeforeValidator(_iso_date),
    WithJsonSchema({"type": "string", "format": "date", "pattern": DATE_PATTERN}),
]

Month = Annotated[str, Field(pattern=MONTH_PATTERN, min_length=7, max_length=7)]
# A month filter that may be left empty ("" = not filtered).
OPTIONAL_MONTH_PATTERN = f"^$|{MONTH_PATTERN}"
OptionalMonth = Annotated[str, Field(max_length=7, pattern=OPTIONAL_MONTH_PATTERN)]


# ----------------------------------------------------------------------- money, amounts


def _decimal_pattern(whole_digits: int, *, positive: bool, signed: bool) -> str:
    """Digits, an optional point and 1–2 decimals; no exponent, no leading zeros."""
    if positive:
        nonzero = f"[1-9][0-9]{{0,{whole_digits - 1}}}"
        return f"^({nonzero}(\\.[0-9]{{1,2}})?|0\\.(0[1-9]|[1-9][0-9]?))$"
    whole = f"(0|[1-9][0-9]{{0,{whole_digits - 1}}})"
    return f"^{'-?' if signed else ''}{whole}(\\.[0-9]{{1,2}})?$"


class DecimalRule:
    """An exact decimal with at most 2 places and ``whole_digits`` digits before the
    point, sent as a JSON string (``"12.50"``) or integer; ``positive``: > 0, otherwise
    ≥ 0 unless ``signed``. A float, an exponent or a leading zero is refused.

    ``Annotated[Decimal, DecimalRule(whole_digits=10, positive=True)]``
    """

    def __init__(self, *, whole_digits: int, positive: bool = False, signed: bool = False):
        self.pattern = _decimal_pattern(whole_digits, positive=positive, signed=signed)
        self.regex = re.compile(self.pattern)
        self.top = 10**whole_digits - 1
        self.low = 1 if positive else (-self.top if signed else 0)

    def parse(self, value: Any) -> Decimal:
        if isinstance(value, Decimal):
            return value
        if isinstance(value, str) and self.regex.match(value):
            return Decimal(value)
        if isinstance(value, int) and not isinstance(value, bool):
            if self.low <= value <= self.top:
                return Decimal(value)
        elif isinstance(value, float):
            raise PydanticCustomError("decimal_float", "Send decimals as strings")
        kind = "decimal_positive" if self.low == 1 else "decimal_format"
        raise PydanticCustomError(kind, "A decimal with at most 2 places")

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_plain_validator_function(self.parse)

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {
            "anyOf": [
                {"type": "string", "pattern": self.pattern},
                {"type": "integer", "minimum": self.low, "maximum": self.top},
            ]
        }


# Order quantities (> 0, MAX_QUANTITY), return quantities (≥ 0) and unit prices (≥ 0,
# MAX_AMOUNT): the limits of sales.services.orders / returns.
Quantity = Annotated[Decimal, DecimalRule(whole_digits=10, positive=True)]
ReturnQuantity = Annotated[Decimal, DecimalRule(whole_digits=10)]
Price = Annotated[Decimal, DecimalRule(whole_digits=12)]


# --------------------------------------------------------------------------- choices


class IntChoice:
    """An integer from a fixed set (also from a query string: ``"3"`` → 3)."""

    def __init__(self, choices: tuple[int, ...]) -> None:
        self.choices = choices

    def check(self, value: int) -> int:
        if value not in self.choices:
            allowed = ", ".join(str(c) for c in self.choices)
            raise PydanticCustomError("enum", "One of {expected}", {"expected": allowed})
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        return {"type": "integer", "enum": list(self.choices)}
