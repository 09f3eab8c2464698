"""Columns, cell parsers and the dry-run report shared by every importer.

A cell parser returns the clean value or raises ``CellError`` with a message in the user's
language; the row number and column are added by the caller, so every bad cell is
reported as (row, column, reason) and nothing is written while any error exists.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesops.core.imports.reading import Formula
from salesops.core.text import CONTROL_RE

MAX_CELL = 2000  # characters; anything longer is refused, whatever the column
MAX_ERRORS = 10_000  # errors kept in full (report and error file); the counts are exact
SAMPLE_ROWS = 10
_DATE_RE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_SPACE = re.compile(r"\s")
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{2,30}$")
_CONTROL = CONTROL_RE


class CellError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------
# cell parsers: (raw cell value) -> clean value; None = blank cell
# ---------------------------------------------------------------------------


def _text(raw: Any) -> str:
    """The cell as text, refusing formulas and oversized cells."""
    if isinstance(raw, Formula):
        raise CellError(_("不接受公式单元格，请复制后“粘贴为数值”再导入"))
    if isinstance(raw, float):
        if raw != raw or raw in (float("inf"), float("-inf")):
            raise CellError(_("不是有效的数值"))
        text = str(int(raw)) if raw.is_integer() else repr(raw)
    elif isinstance(raw, datetime.datetime):
        text = raw.date().isoformat() if raw.time() == datetime.time() else raw.isoformat(" ")
    elif isinstance(raw, datetime.date):
        text = raw.isoformat()
    else:
        text = str(raw)
    if len(text) > MAX_CELL:
        raise CellError(_("内容过长（超过 %(n)s 个字符）") % {"n": MAX_CELL})
    return text.strip()


def parse_text(raw: Any, *, max_length: int) -> str:
    text = _text(raw)
    if _CONTROL.search(text):
        raise CellError(_("含有不可见的控制字符"))
    if len(text) > max_length:
        raise CellError(_("不能超过 %(n)s 个字符") % {"n": max_length})
    return text


def parse_phone(raw: Any) -> str:
    text = parse_text(raw, max_length=32)
    if not _PHONE.match(text):
        raise CellError(_("手机号格式不正确"))
    return text


def parse_code(raw: Any, *, max_length: int) -> str:
    """An identifier (工号, 编码 …): plain text, never something that looks like a formula."""
    text = parse_text(raw, max_length=max_length)
    if text[:1] in ("=", "+", "@") or (text[:1] == "-" and not text[1:2].isdigit()):
        raise CellError(_("编号不能以 = + - @ 开头（疑似公式）"))
    if _SPACE.search(text):
        raise CellError(_("编号中不能有空格"))
    return text


_TRUE = {"是", "yes", "y", "true", "1", "√", "✓", "对"}
_FALSE = {"否", "no", "n", "false", "0", "×", "不"}


def parse_bool(raw: Any) -> bool:
    """是/否 (or yes/no, 1/0, √): a blank cell is 否."""
    if isinstance(raw, bool):
        return raw
    text = _text(raw).lower()
    if text in _TRUE:
        return True
    if text in _FALSE or not text:
        return False
    raise CellError(_("请填写“是”或“否”"))


def parse_date(raw: Any) -> datetime.date:
    if isinstance(raw, datetime.datetime):
        return raw.date()
    if isinstance(raw, datetime.date):
        return raw
    text = _text(raw)
    m = _DATE_RE.match(text)
    if m is None:
        raise CellError(_("日期格式不正确，应为 2026-01-31"))
    try:
        return datetime.date(int(m[1]), int(m[2]), int(m[3]))
    except ValueError as exc:
        raise CellError(_("日期不存在：%(value)s") % {"value": text}) from exc


def parse_decimal(
    raw: Any, *, places: int = 2, max_digits: int = 18, positive: bool = False
) -> Decimal:
    """An exact amount: finite, at most ``places`` decimals, not negative (or > 0)."""
    if isinstance(raw, bool):
        raise CellError(_("不是有效的数值"))
    if isinstance(raw, int):
        value = Decimal(raw)
    else:
        # floats come from .xlsx numeric cells: their shortest repr is what the user typed
        text = _text(raw).replace(",", "").replace("¥", "").replace("￥", "")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise CellError(_("不是有效的数值：%(value)s") % {"value": text[:50]}) from exc
    if not value.is_finite():
        raise CellError(_("不是有效的数值"))
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    if exponent < -places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise CellError(_("最多 %(n)s 位小数") % {"n": places})
    value = value.quantize(Decimal(1).scaleb(-places))
    if value < 0 or (positive and value == 0):
        raise CellError(_("必须大于 0") if positive else _("不能为负数"))
    if len(value.as_tuple().digits) > max_digits:
        raise CellError(_("数值过大"))
    return value


def choice_parser(choices: type[models.TextChoices]) -> Callable[[Any], str]:
    """Accept the stored value or its label in any UI language (e.g. regular / 普通订单)."""
    cache: dict[str, str] = {}

    def parse(raw: Any) -> str:
        text = _text(raw)
        if not cache:
            cache.update(_choice_lookup(choices))
        found = cache.get(text.lower())
        if found is None:
            labels = _("、").join(str(label) for label in choices.labels)
            raise CellError(_("取值无效，可选：%(labels)s") % {"labels": labels})
        return found

    return parse


def _choice_lookup(choices: type[models.TextChoices]) -> dict[str, str]:
    out: dict[str, str] = {}
    for value, label in choices.choices:
        out[str(value).lower()] = str(value)
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                out[str(label).lower()] = str(value)
    return out


# ---------------------------------------------------------------------------
# columns and header mapping
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Col:
    key: str
    label: str | Promise  # the Chinese msgid; shown in the user's language
    parse: Callable[[Any], Any]
    required: bool = False
    aliases: tuple[str, ...] = ()
    example: str = ""
    help: str | Promise = ""
    # a ``frames.Fast``: the vectorised path of ``parse`` for importers that use frames
    fast: Any = None

    def names(self) -> set[str]:
        names = {_norm(self.key), *(_norm(a) for a in self.aliases)}
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                names.add(_norm(str(self.label)))
        return names


def _norm(header: str) -> str:
    return header.replace("\ufeff", "").strip().strip("*＊").strip().lower().replace(" ", "_")


def map_header(header: Sequence[str], columns: Iterable[Col]) -> tuple[dict[str, int], list[str]]:
    """Column key → position in the file; and the header cells no column claims."""
    by_name: dict[str, Col] = {}
    for col in columns:
        for name in col.names():
            by_name[name] = col
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, cell in enumerate(header):
        claimed = by_name.get(_norm(cell))
        if claimed is None:
            if cell.strip():
                ignored.append(cell.strip()[:50])
            continue
        if claimed.key in positions:
            raise CellError(_("列“%(name)s”重复出现") % {"name": cell.strip()[:50]})
        positions[claimed.key] = index
    return positions, ignored


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------


@dataclass
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Report:
    """What a dry run found, or what an apply did."""

    entity: str
    rows_total: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    error_count: int = 0
    errors: list[RowError] = field(default_factory=list)
    sample: list[dict[str, str]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)
    applied: bool = False
    # the run stopped at a limit (size, rows, columns, time): the job failed
    aborted: bool = False
    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    # errors per kind (the column; "" for the file or the row as a whole), exact
    error_kinds: dict[str, int] = field(default_factory=dict)
    # the first MAX_ERRORS errors also go here (a CSV file, downloadable)
    sink: Any = None

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def add(self, row: int, column: str | Promise, message: str | Promise) -> None:
        self.error_count += 1
        kind = str(column)
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1
        if self.error_count > MAX_ERRORS:
            return  # counted, not kept: a report never grows past MAX_ERRORS entries
        self.errors.append(RowError(row, kind, str(message)))
        if self.sink is not None:
            self.sink.writerow([row or "", kind, str(message)])

    def count(self, what: str, *, created: int = 0, updated: int = 0, unchanged: int = 0) -> None:
        """Counts per entity touched (orders also create order lines)."""
        entry = self.counts.setdefault(what, {"created": 0, "updated": 0, "unchanged": 0})
        entry["created"] += created
        entry["updated"] += updated
        entry["unchanged"] += unchanged

    def as_dict(self, *, max_errors: int | None = None) -> dict[str, Any]:
        errors = self.errors if max_errors is None else self.errors[:max_errors]
        return {
            "entity": self.entity,
            "ok": self.ok,
            "applied": self.applied,
            "rows_total": self.rows_total,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "counts": self.counts,
            "error_count": self.error_count,
            "error_kinds": self.error_kinds,
            "aborted": self.aborted,
            "errors": [e.as_dict() for e in errors],
            "errors_truncated": len(errors) < self.error_count,
            "sample": self.sample,
            "ignored_columns": self.ignored_columns,
        }
