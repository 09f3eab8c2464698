"""Reading an uploaded file row by row, without loading it whole.

CSV: UTF-16 with a BOM (Excel's "Unicode text", tab-separated), UTF-8 (with or without
BOM), else GB18030 (what Chinese Excel writes), else a clear error. .xlsx: openpyxl in
read-only mode; formulas are passed on as ``Formula`` values and never evaluated. Every cell
comes out as ``str`` (CSV) or the typed value openpyxl gives.

Limits (``Limits``, from the settings) are checked while reading, so a hostile file costs
bounded memory and time: the header's width, every row's width (a CSV line's length before
the csv module splits it), the number of rows, and a deadline. An .xlsx file is first judged
by its zip directory (declared uncompressed size and ratio) and by a byte scan of its sheet
that counts rows and cells, before openpyxl builds a single row.
"""

from __future__ import annotations

import codecs
import csv
import posixpath
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from django.conf import settings
from django.utils.translation import gettext as _

CHUNK = 1 << 20
ENCODINGS = ("utf-8-sig", "gb18030")
UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# Characters a CSV cell may take on its line beyond the cell itself (quotes, delimiter).
CELL_OVERHEAD = 3


class ImportFileError(Exception):
    """The file as a whole cannot be read (reported once, not per row)."""

    def __init__(self, message: str, row: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.row = row


class ImportLimitError(ImportFileError):
    """The file passes one of the limits (size, rows, columns, time): the run stops."""


@dataclass(frozen=True)
class Limits:
    rows: int
    columns: int
    seconds: float
    cell: int
    xlsx_bytes: int
    xlsx_ratio: int

    @classmethod
    def from_settings(cls) -> Limits:
        from salesops.core.imports.schema import MAX_CELL

        return cls(
            rows=int(settings.SALESOPS_IMPORT_MAX_ROWS),
            columns=int(settings.SALESOPS_IMPORT_MAX_COLUMNS),
            seconds=float(settings.SALESOPS_IMPORT_MAX_SECONDS),
            cell=MAX_CELL,
            xlsx_bytes=int(settings.SALESOPS_IMPORT_XLSX_MAX_MB) * 1024 * 1024,
            xlsx_ratio=int(settings.SALESOPS_IMPORT_XLSX_MAX_RATIO),
        )

    @property
    def line_chars(self) -> int:
        """The longest CSV line a row within the limits can need."""
        return self.columns * (self.cell + CELL_OVERHEAD)


def too_many_rows(limits: Limits) -> ImportLimitError:
    return ImportLimitError(
        _("文件行数超过上限（最多 %(n)s 行数据），请拆分后分批导入") % {"n": f"{limits.rows:,}"}
    )


def too_many_columns(limits: Limits, row: int) -> ImportLimitError:
    return ImportLimitError(
        _("第 %(row)s 行的列数超过上限（最多 %(n)s 列）") % {"row": row, "n": limits.columns},
        row=row,
    )


def too_long_line(limits: Limits, row: int) -> ImportLimitError:
    return ImportLimitError(
        _("第 %(row)s 行无法读取：单元格过大或列数过多（一行最多 %(n)s 个字符）")
        % {"row": row, "n": f"{limits.line_chars:,}"},
        row=row,
    )


def too_slow(limits: Limits) -> ImportLimitError:
    return ImportLimitError(
        _("处理时间超过上限（%(n)s 秒），已停止，请拆分后分批导入") % {"n": int(limits.seconds)}
    )


@dataclass
class Guard:
    """The limits of one run and its deadline (a monotonic clock time)."""

    limits: Limits
    deadline: float = 0.0

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.limits.seconds

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            raise too_slow(self.limits)

    def check_row(self, data_rows: int, row_no: int, width: int) -> None:
        if width > self.limits.columns:
            raise too_many_columns(self.limits, row_no)
        if data_rows > self.limits.rows:
            raise too_many_rows(self.limits)


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
    guard: Guard = field(default_factory=lambda: Guard(Limits.from_settings()))

    def rows(self) -> Iterator[tuple[int, list[Any]]]:
        """(row number as the user sees it, header = 1; cells) for each data row. Stops
        with ``ImportLimitError`` at the first row past a limit (rows, width, time)."""
        if self.kind == "xlsx":
            return _xlsx_rows(self.path, skip_header=True, guard=self.guard)
        return _csv_rows(self.path, self.encoding, skip_header=True, guard=self.guard)

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
    with path.open("rb") as fh:
        head = fh.read(2)
    if head in UTF16_BOMS:
        return _scan_utf16(path)
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
    raise ImportFileError(_undecodable())


def _scan_utf16(path: Path) -> tuple[str, int, bool]:
    """A UTF-16 file with its BOM: decoded to count its lines (its bytes say nothing: "上"
    is ``0A 4E``). Never plain, so rows go through the csv module."""
    decoder = codecs.getincrementaldecoder("utf-16")()
    lines = 0
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                text = decoder.decode(chunk)
                # bytes that only look like UTF-16 after "FF FE" decode to these
                if _NOT_TEXT.search(text):
                    raise UnicodeDecodeError("utf-16", chunk, 0, 1, "not text")
                lines += text.count("\n")
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError(_undecodable()) from exc
    return "utf-16", lines, False


_NOT_TEXT = re.compile("[\x00\ufffe\uffff\ud800-\udfff]")


def _undecodable() -> str:
    return _("无法识别文件编码，请将文件另存为 UTF-8、UTF-16（Unicode 文本）或 GB18030 编码的 CSV")


def _delimiter(first_line: str) -> str:
    if "\t" in first_line and "," not in first_line:
        return "\t"
    return ","


def _bounded_lines(fh: Any, guard: Guard) -> Iterator[str]:
    """The file's lines, refusing one longer than a row within the limits can be (before
    the csv module splits it into a list of cells)."""
    longest = guard.limits.line_chars
    line_no = 0
    while line := fh.readline(longest + 1):
        line_no += 1
        if len(line) > longest and not line.endswith("\n"):
            raise too_long_line(guard.limits, line_no)
        yield line


def _csv_rows(
    path: Path, encoding: str, *, skip_header: bool, guard: Guard
) -> Iterator[tuple[int, list[Any]]]:
    with path.open("r", encoding=encoding, newline="") as fh:
        first = fh.readline(guard.limits.line_chars + 1)
        fh.seek(0)
        reader = csv.reader(_bounded_lines(fh, guard), delimiter=_delimiter(first))
        row_no = 0
        try:
            for cells in reader:
                row_no += 1
                guard.check_row(row_no - 1, row_no, len(cells))
                if row_no % 1000 == 0:
                    guard.check_time()
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


def _first_sheet_part(zf: zipfile.ZipFile) -> str | None:
    """The zip member of the workbook's first sheet (the one imported)."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel_ns = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    try:
        book = ElementTree.fromstring(zf.read("xl/workbook.xml"))  # noqa: S314 - sizes checked
        rels = ElementTree.fromstring(  # noqa: S314 - sizes checked
            zf.read("xl/_rels/workbook.xml.rels")
        )
    except (KeyError, ElementTree.ParseError, zipfile.BadZipFile, OSError):
        return None
    sheet = book.find(f"{{{main}}}sheets/{{{main}}}sheet")
    if sheet is None:
        return None
    rid = sheet.get(f"{{{rel_ns}}}id")
    for rel in rels:
        if rel.get("Id") == rid:
            target = rel.get("Target", "")
            return (
                target.lstrip("/")
                if target.startswith("/")
                else posixpath.normpath(posixpath.join("xl", target))
            )
    return None


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_DIMENSION = re.compile(rb'<(?:[A-Za-z_][\w.-]*:)?dimension\s+ref="[A-Z]*\d*:?([A-Z]*)(\d*)"')
_TAG_TAIL = 64  # bytes kept between chunks, so no tag is missed where a chunk ends


def check_xlsx(path: Path, guard: Guard) -> None:
    """Judge an .xlsx before parsing it: the declared uncompressed size of its parts (what
    zipfile, and so openpyxl, will inflate at most), its compression ratio, then its first
    sheet scanned as bytes for the number of rows and the cells of each row."""
    limits = guard.limits
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportFileError(_("无法读取 Excel 文件，请确认文件是 .xlsx 格式且未损坏")) from exc
    with zf:
        infos = zf.infolist()
        declared = sum(i.file_size for i in infos)
        on_disk = max(path.stat().st_size, 1)
        # the ratio is judged on files that inflate to more than a few megabytes only
        if declared > limits.xlsx_bytes or declared > max(on_disk * limits.xlsx_ratio, 16 << 20):
            raise ImportLimitError(
                _(
                    "Excel 文件解压后过大（%(mb)s MB，压缩比 %(ratio)s 倍），疑似异常文件，"
                    "请另存为 CSV 或拆分后导入"
                )
                % {"mb": declared // (1024 * 1024), "ratio": declared // on_disk}
            )
        part = _first_sheet_part(zf)
        if part is None or part not in zf.NameToInfo:
            return  # openpyxl reports the damage in its own words
        _scan_sheet(zf, part, guard)


def _scan_sheet(zf: zipfile.ZipFile, part: str, guard: Guard) -> None:
    limits = guard.limits
    rows = 0
    cells = 0  # in the current row
    tail = b""
    first = True
    with zf.open(part) as fh:
        while chunk := fh.read(CHUNK):
            guard.check_time()
            data = tail + chunk
            if first:
                first = False
                dim = _DIMENSION.search(data)
                if dim is not None and dim[2] and int(dim[2]) - 1 > limits.rows:
                    raise too_many_rows(limits)
            # tags wholly inside ``data`` minus its tail; the tail is scanned next time
            end = max(len(data) - _TAG_TAIL, 0) if len(chunk) == CHUNK else len(data)
            body = data[:end]
            pos = 0
            for m in _ROW_TAG.finditer(body):
                cells += len(_CELL_TAG.findall(body, pos, m.start()))
                if cells > limits.columns:
                    raise too_many_columns(limits, rows)
                rows += 1
                cells = 0
                pos = m.end()
                if rows - 1 > limits.rows:
                    raise too_many_rows(limits)
            cells += len(_CELL_TAG.findall(body, pos))
            if cells > limits.columns:
                raise too_many_columns(limits, rows)
            tail = data[end:]
    cells += len(_CELL_TAG.findall(tail))
    if cells > limits.columns:
        raise too_many_columns(limits, rows)


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


def _xlsx_rows(path: Path, *, skip_header: bool, guard: Guard) -> Iterator[tuple[int, list[Any]]]:
    wb = _open_workbook(path)
    try:
        ws = wb.worksheets[0]
        for row_no, row in enumerate(ws.iter_rows(), start=1):
            guard.check_row(row_no - 1, row_no, len(row))
            if row_no % 1000 == 0:
                guard.check_time()
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


def open_source(path: Path, limits: Limits | None = None) -> Source:
    """Open ``path`` (CSV or .xlsx, decided by content, not by name) and read its header.
    The run's clock (``SALESOPS_IMPORT_MAX_SECONDS``) starts here."""
    guard = Guard(limits or Limits.from_settings())
    with path.open("rb") as fh:
        magic = fh.read(4)
    if not magic:
        raise ImportFileError(_("文件为空"))
    if magic == OLE_MAGIC:
        raise ImportFileError(_("不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV 后再导入"))
    if magic == ZIP_MAGIC:
        check_xlsx(path, guard)
        wb = _open_workbook(path)
        try:
            if not wb.worksheets:
                raise ImportFileError(_("文件为空"))
            ws = wb.worksheets[0]
            estimate = max((ws.max_row or 1) - 1, 0)
        finally:
            _close_workbook(wb)
        header_row = next(_xlsx_rows(path, skip_header=False, guard=guard), None)
        header = [] if header_row is None else [_header_text(v) for v in header_row[1]]
        kind, encoding, plain = "xlsx", "", False
    else:
        encoding, lines, plain = _scan(path)
        header_row = next(_csv_rows(path, encoding, skip_header=False, guard=guard), None)
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
        guard=guard,
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
