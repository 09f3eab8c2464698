"""The .xlsx export writer: openpyxl write-only (streams rows, constant memory) with
spreadsheet formula injection neutralised.

A text cell that a spreadsheet would read as a formula (starting with = + - @, or a tab or
carriage return) is written with a leading single quote, so it shows as the text it was.
Numbers and Decimals stay numbers. A control character in stored text (legacy data, or
data written before every entry point refused them) would make openpyxl refuse the whole
file: it is replaced by U+FFFD (``core.text.replace_control_chars``) and the export logs one
warning saying how many cells were affected. Callers record exports of personal data with
``audit_export`` (list pages do it in ``core.listing``).
"""

from __future__ import annotations

import datetime
import logging
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import IO
from urllib.parse import quote

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from salesops.core.audit import audit_record
from salesops.core.display import export_value
from salesops.core.models import AuditAction, User
from salesops.core.text import has_control_chars, replace_control_chars

logger = logging.getLogger(__name__)

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
MAX_CELL_CHARS = 32_767  # Excel's own limit per cell


# cells whose control characters were replaced in the export being written (one warning)
_replaced: ContextVar[list[int] | None] = ContextVar("xlsx_replaced", default=None)


def neutralise(value: object) -> object:
    """The value as it is safe to put in a cell: risky text gets a leading quote, control
    characters become U+FFFD."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float | Decimal | datetime.date | datetime.datetime):
        return value
    text = str(value)
    if has_control_chars(text):
        text = replace_control_chars(text)
        counter = _replaced.get()
        if counter is None:
            logger.warning("export: control characters replaced by U+FFFD in a cell")
        else:
            counter[0] += 1
    if text.startswith(_DANGEROUS):
        text = "'" + text
    return text[:MAX_CELL_CHARS]


@contextmanager
def replacements_logged(what: str) -> Iterator[None]:
    """Within (also as a decorator): cells with control characters are counted, and one
    warning naming ``what`` is logged at the end, not one per cell."""
    counter = [0]
    token = _replaced.set(counter)
    try:
        yield
    finally:
        _replaced.reset(token)
        if counter[0]:
            logger.warning(
                "export %s: control characters replaced by U+FFFD in %d cell(s)", what, counter[0]
            )


def _cell_value(value: object) -> object:
    """Aware datetimes in the installation's time zone (a cell has none); Decimals are
    written exactly (openpyxl keeps their text)."""
    return export_value(neutralise(value))


def _write(fh: IO[bytes], headers: list[str], rows: Iterable[Sequence[object]], title: str) -> None:
    with replacements_logged(title):
        _write_sheet(fh, headers, rows, title)


def _write_sheet(
    fh: IO[bytes], headers: list[str], rows: Iterable[Sequence[object]], title: str
) -> None:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31] or "Sheet1")
    bold = Font(bold=True)
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=neutralise(h))
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        ws.append([_cell_value(v) for v in row])
    wb.save(fh)


def xlsx_bytes(
    *, headers: list[str], rows: Iterable[Sequence[object]], sheet_title: str = "Sheet1"
) -> bytes:
    """The workbook as bytes (for small files: templates, tests)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as fh:
        _write(fh, headers, rows, sheet_title)  # type: ignore[arg-type]
        fh.seek(0)
        return fh.read()


def content_disposition(filename: str, ascii_name: str = "") -> str:
    """An attachment header naming the file in UTF-8 (RFC 6266), with ``ascii_name`` (by
    default ``filename``'s ASCII characters) for clients that only read the plain one."""
    ascii_name = ascii_name or filename.encode("ascii", "ignore").decode() or "export.xlsx"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"


def xlsx_response(
    *, filename: str, headers: list[str], rows: Iterable[Sequence[object]]
) -> FileResponse:
    """An HTTP download of ``rows`` under ``headers``. The workbook is built on a temporary
    file and streamed from there, so a large export never sits in memory as a whole."""
    fh = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it
    with replacements_logged(filename):
        _write_sheet(fh, headers, rows, "Sheet1")
    fh.seek(0)
    response = FileResponse(fh, content_type=XLSX_MIME)
    response["Content-Disposition"] = content_disposition(filename)
    return response


def audit_export(
    *, actor: User | None, object_type: str, rows: int | None = None, note: str = ""
) -> None:
    """Record an export (of personal data in particular) in the audit log."""
    text = note if rows is None else f"rows={rows} {note}".strip()
    audit_record(actor=actor, action=AuditAction.EXPORT, object_type=object_type, note=text)
