"""Reading an uploaded file row by row, without loading it whole.

CSV: UTF-8 (with or without BOM), else GB18030 (what Chinese Excel writes), else a clear
error. .xlsx: openpyxl in read-only mode; formulas are passed on as ``Formula`` values and
never evaluated. Every cell comes out as ``str`` (CSV) or the typed value openpyxl gives.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

CHUNK = 1 << 20
ENCODINGS = ("utf-8-sig", "gb18030")
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class ImportFileError(Exception):
    """The file as a whole cannot be read (reported once, not per row)."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


class Formula(str):
    """An xlsx formula cell (its text, e.g. ``=A1*2``); refused by every column."""

    __slots__ = ()


@dataclass
class Source:
    """An opened file: its header cells, a row estimate, and a fresh row iterator."""

    path: Path
    kind: str  # "csv" | "xlsx"
    encoding: str
    header: list[str]
    rows_estimate: int
    # CSV with no quote character and no lone carriage return: every line is one row and
    # a row's cells are its line split at the delimiter (what lets frames skip csv.reader)
    plain: bool = False

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as the user sees it, header = 1; cells) for each data row."""
        if self.kind == "xlsx":
            return _xlsx_rows(self.path, skip_header=True)
        return _csv_rows(self.path, self.encoding, skip_header=True)

    @property
    def delimiter(self) -> str:
        with self.path.open("r", encoding=self.encoding, newline="") as fh:
            return _delimiter(fh.readline())


def detect_encoding(path: Path) -> tuple[str, int]:
    """The first encoding in ``ENCODINGS`` that decodes the whole file, and its line count."""
    encoding, lines, _plain = _scan(path)
    return encoding, lines


def _scan(path: Path) -> tuple[str, int, bool]:
    """``detect_encoding``, and whether the file is plain (see ``Source.plain``)."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        lines = 0
        quotes = lone_cr = False
        carry_cr = False  # the previous chunk ended with "\r"
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(CHUNK):
                    decoder.decode(chunk)
                    lines += chunk.count(b"\n")
                    # neither byte occurs inside a multi-byte UTF-8 or GB18030 character
                    quotes = quotes or b'"' in chunk
                    crs = chunk.count(b"\r") - chunk.count(b"\r\n")
                    if carry_cr and not chunk.startswith(b"\n"):
                        lone_cr = True
                    carry_cr = chunk.endswith(b"\r")
                    lone_cr = lone_cr or crs > (1 if carry_cr else 0)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding, lines, not (quotes or lone_cr or carry_cr)
    raise ImportFileError(_("无法识别文件编码，请将文件另存为 UTF-8 或 GB18030 编码的 CSV"))


def _delimiter(first_line: str) -> str:
    if "\t" in first_line and "," not in first_line:
        return "\t"
    return ","


def _csv_rows(path: Path, encoding: str, *, skip_header: bool) -> Iterator[tuple[int, list[Any]]]:
    with path.open("r", encoding=encoding, newline="") as fh:
        first = fh.readline()
        fh.seek(0)
        reader = csv.reader(fh, delimiter=_delimiter(first))
        row_no = 0
        try:
            for cells in reader:
                row_no += 1
                if skip_header and row_no == 1:
                    continue
                yield row_no, cells
        except csv.Error as exc:
            # The csv module refuses huge cells (> 128 KB) and NUL bytes; the file stops here.
            raise ImportFileError(
                _("第 %(row)s 行无法读取：单元格过大或含有非法字符（%(detail)s）")
                % {"row": row_no + 1, "detail": str(exc)[:100]},
                row=row_no + 1,
            ) from exc


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook

    # A file object, not the path: openpyxl would otherwise judge the file by its name.
    fh = path.open("rb")
    try:
        wb = load_workbook(fh, read_only=True, data_only=False, keep_links=False)
    except Exception as exc:  # any damage in the zip/XML is the same to the user
        fh.close()
        raise ImportFileError(_("无法读取 Excel 文件，请确认文件是 .xlsx 格式且未损坏")) from exc
    wb._salesops_fh = fh
    return wb


def _close_workbook(wb: Any) -> None:
    wb.close()
    wb._salesops_fh.close()


def _xlsx_rows(path: Path, *, skip_header: bool) -> Iterator[tuple[int, list[Any]]]:
    wb = _open_workbook(path)
    try:
        ws = wb.worksheets[0]
        for row_no, row in enumerate(ws.iter_rows(), start=1):
            if skip_header and row_no == 1:
                continue
            cells: list[Any] = []
            for cell in row:
                value = getattr(cell, "value", None)
                if getattr(cell, "data_type", "") == "f" and isinstance(value, str):
                    value = Formula(value)
                elif value is not None and not isinstance(value, str | int | float | date):
                    # anything exotic (array formulas, data tables …) is treated as a formula
                    value = Formula(str(getattr(value, "text", value)))
                cells.append(value)
            yield row_no, cells
    except ImportFileError:
        raise
    except Exception as exc:  # a damaged sheet part surfaces while iterating
        raise ImportFileError(_("无法读取 Excel 文件，请确认文件是 .xlsx 格式且未损坏")) from exc
    finally:
        _close_workbook(wb)


def open_source(path: Path) -> Source:
    """Open ``path`` (CSV or .xlsx, decided by content, not by name) and read its header."""
    with path.open("rb") as fh:
        magic = fh.read(4)
    if not magic:
        raise ImportFileError(_("文件为空"))
    if magic == OLE_MAGIC:
        raise ImportFileError(_("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后再导入"))
    if magic == ZIP_MAGIC:
        wb = _open_workbook(path)
        try:
            if not wb.worksheets:
                raise ImportFileError(_("文件为空"))
            ws = wb.worksheets[0]
            estimate = max((ws.max_row or 1) - 1, 0)
        finally:
            _close_workbook(wb)
        header_row = next(_xlsx_rows(path, skip_header=False), None)
        header = [] if header_row is None else [_header_text(v) for v in header_row[1]]
        kind, encoding, plain = "xlsx", "", False
    else:
        encoding, lines, plain = _scan(path)
        header_row = next(_csv_rows(path, encoding, skip_header=False), None)
        header = [] if header_row is None else [_header_text(v) for v in header_row[1]]
        estimate = max(lines - 1, 0)
        kind = "csv"
    if not any(header):
        raise ImportFileError(_("文件为空"))
    return Source(
        path=path,
        kind=kind,
        encoding=encoding,
        header=header,
        rows_estimate=estimate,
        plain=kind == "csv" and plain,
    )


def _header_text(value: Any) -> str:
    return "" if value is None else str(value)


def write_upload(chunks: Iterator[bytes], dest: Path) -> int:
    """Copy an upload to ``dest`` chunk by chunk; returns the size in bytes."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with dest.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
    return size
