"""Reading an import file as polars frames of a few tens of thousands of rows, and parsing
their columns vectorised, for the importers built for millions of rows (orders).

Rows come from the same reader as every other import (``Source.rows``: same encodings,
same row numbers, same refusal of damaged files), so only the parsing changes. A cell in
its column's common shape (``SO2026001``, ``2026-01-31``, ``12.50``) is parsed by polars;
every other cell goes through the column's own Python parser, once per distinct value. A
``Fast`` path only ever claims cells its Python parser accepts unchanged, so the values and
every error message are exactly those of ``Col.parse`` (``test_imports_orders`` checks it
on random text).
"""

from __future__ import annotations

import csv as csv_module
import operator
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import polars as pl
from django.utils.translation import gettext as _

from salesops.core.imports.reading import (
    ImportFileError,
    Source,
    too_long_line,
    too_many_columns,
    too_many_rows,
)
from salesops.core.imports.schema import SAMPLE_ROWS, CellError, Col, Report

ROW = "_row"  # the row number as the user sees it (header = 1)
OK = "_ok"  # no cell of the row was refused
MEMO_SIZE = 50_000  # distinct slow-path values remembered per column across chunks

# what a slow-path cell turned into
_BLANK, _VALUE, _ERROR = 0, 1, 2


@dataclass(frozen=True)
class Fast:
    """The vectorised path of a column parser. A raw cell matching ``pattern`` (and, once
    converted, ``accept``) is one its Python parser takes without error and turns into
    the same value as ``convert`` does; every other cell takes the Python path."""

    pattern: str
    dtype: Any  # a polars data type
    convert: Callable[[pl.Expr], pl.Expr]
    # the Python parser's value → the same value as ``convert`` gives
    from_python: Callable[[Any], Any]
    accept: Callable[[pl.Expr], pl.Expr] | None = None


def fast_code(max_length: int) -> Fast:
    """For ``parse_code``: ASCII letters and digits, then also ``_ . - /``."""
    return Fast(
        pattern=rf"^[0-9A-Za-z][0-9A-Za-z_./\-]{{0,{max_length - 1}}}$",
        dtype=pl.String,
        convert=lambda e: e,
        from_python=str,
    )


def fast_date() -> Fast:
    """For ``parse_date``: ISO ``2026-01-31`` that is a real day (years 1000–9999)."""
    return Fast(
        pattern=r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}$",
        dtype=pl.Date,
        convert=lambda e: e.str.to_date("%Y-%m-%d", strict=False),
        from_python=lambda d: d,
        accept=lambda v: v.is_not_null(),
    )


def fast_hundredths(*, max_digits: int = 18, positive: bool = False) -> Fast:
    """For ``parse_decimal`` with two places: ``12``, ``12.5``, ``12.50`` as an exact
    integer number of hundredths (fen for money)."""
    int_digits = max_digits - 2

    def convert(e: pl.Expr) -> pl.Expr:
        parts = e.str.split_exact(".", 1)
        whole = parts.struct.field("field_0").cast(pl.Int64)
        frac = parts.struct.field("field_1").fill_null("").str.pad_end(2, "0").cast(pl.Int64)
        return whole * 100 + frac

    return Fast(
        pattern=rf"^(0|[1-9][0-9]{{0,{int_digits - 1}}})(\.[0-9]{{1,2}})?$",
        dtype=pl.Int64,
        convert=convert,
        from_python=decimal_to_hundredths,
        accept=(lambda v: v > 0) if positive else None,
    )


def decimal_to_hundredths(value: Decimal) -> int:
    """An amount with at most two places as integer hundredths (exact)."""
    scaled = value.scaleb(2)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than two places")
    return int(scaled)


def hundredths_text(expr: pl.Expr) -> pl.Expr:
    """Non-negative integer hundredths as ``"12.34"`` (how amounts are handed to the DB)."""
    return pl.concat_str(
        (expr // 100).cast(pl.String),
        pl.lit("."),
        (expr % 100).cast(pl.String).str.zfill(2),
    )


# ---------------------------------------------------------------------------
# reading
# ---------------------------------------------------------------------------


@dataclass
class Chunk:
    """Rows of a file as text columns (null = no cell), ``ROW`` first; ``raw`` maps the
    stand-in text of each non-text .xlsx cell (number, date, formula) back to the cell."""

    frame: pl.DataFrame
    raw: dict[str, Any]

    def cell(self, value: str | None) -> Any:
        return self.raw.get(value, value) if self.raw and value is not None else value


def read_chunks(source: Source, positions: dict[str, int], size: int) -> Iterator[Chunk]:
    """The file's non-blank data rows, ``size`` at a time, with the mapped columns only.
    Rows read before a damaged part of the file are still handed out before its error."""
    if source.plain:
        return _plain_chunks(source, positions, size)
    return _row_chunks(source, positions, size)


def _row_chunks(source: Source, positions: dict[str, int], size: int) -> Iterator[Chunk]:
    """Through ``Source.rows`` (the csv module, or openpyxl), row by row."""
    keys = list(positions)
    index = [positions[k] for k in keys]
    width = max(index) + 1
    pick: Callable[[Sequence[Any]], Any] = operator.itemgetter(*index)
    single = len(index) == 1
    csv = source.kind == "csv"
    nonce = secrets.token_hex(4)
    # the picked cells of every row one after another: plain strings, which the garbage
    # collector does not track (a tuple per row would make it walk them all, repeatedly)
    flat: list[Any] = []
    numbers: list[int] = []
    raw: dict[str, Any] = {}

    def build() -> Chunk:
        data = {ROW: pl.Series(ROW, numbers, dtype=pl.Int64)}
        step = len(keys)
        for i, key in enumerate(keys):
            data[key] = pl.Series(key, flat[i::step], dtype=pl.String)
        return Chunk(pl.DataFrame(data), raw)

    try:
        for row_no, cells in source.rows():
            if csv:
                if not "".join(cells).strip():
                    continue
            else:
                if not any(v is not None and str(v).strip() for v in cells):
                    continue
                cells = [_stand_in(v, raw, nonce) for v in cells]
            if len(cells) < width:
                cells = [*cells, *([None] * (width - len(cells)))]
            if single:
                flat.append(pick(cells))
            else:
                flat.extend(pick(cells))
            numbers.append(row_no)
            if len(numbers) >= size:
                yield build()
                flat, numbers, raw = [], [], {}
    except ImportFileError:
        if numbers:
            yield build()
        raise
    if numbers:
        yield build()


# what str.strip() removes, for a blank-row test that agrees with the row reader
_PY_SPACE = "".join(ch for ch in map(chr, range(0x3000 + 1)) if ch.isspace())
_BLOCK = 4 << 20  # characters read at a time by the plain reader


def _plain_chunks(source: Source, positions: dict[str, int], size: int) -> Iterator[Chunk]:
    """For a plain CSV (``Source.plain``): whole blocks of lines split by polars. Each line
    is one row and its cells are the line split at the delimiter, which is exactly what
    the csv module makes of a line without quotes; rows, row numbers and blank rows come
    out as from ``_row_chunks``."""
    delimiter = source.delimiter
    guard = source.guard
    row = 1  # the header line
    pending = ""  # the start of a line whose end is in the next block
    waiting = pl.Series("line", [], dtype=pl.String)  # lines short of a whole chunk
    with source.path.open("r", encoding=source.encoding, newline="") as fh:
        fh.readline()
        while True:
            guard.check_time()
            text = fh.read(_BLOCK)
            if not text:
                break
            text = pending + text
            cut = text.rfind("\n")
            if cut < 0:
                pending = text
                if len(pending) > guard.limits.line_chars:
                    raise too_long_line(guard.limits, row + waiting.len() + 1)
                continue
            pending = text[cut + 1 :]
            lines = pl.concat([waiting, pl.Series("line", [text[:cut]]).str.split("\n").explode()])
            _check_lines(lines, row + 1, source)
            while lines.len() >= size:
                yield from _plain_chunk(lines.head(size), row + 1, positions, delimiter)
                row += size
                lines = lines.slice(size)
            waiting = lines
    if pending:
        waiting = pl.concat([waiting, pl.Series("line", [pending])])
        _check_lines(waiting, row + 1, source)
    if waiting.len():
        yield from _plain_chunk(waiting, row + 1, positions, delimiter)


def _check_lines(lines: pl.Series, first_row: int, source: Source) -> None:
    """The limits on lines not handed out yet (``first_row`` is the first one's number):
    rows so far, and each line's cells (no quotes in a plain file: delimiters + 1)."""
    limits = source.guard.limits
    if first_row - 2 + lines.len() > limits.rows:
        raise too_many_rows(limits)
    wide = lines.str.count_matches(source.delimiter, literal=True) + 1 > limits.columns
    if wide.any():
        raise too_many_columns(limits, first_row + int(wide.arg_max() or 0))


def _plain_chunk(
    lines: pl.Series, first_row: int, positions: dict[str, int], delimiter: str
) -> Iterator[Chunk]:
    frame = pl.DataFrame(
        {
            ROW: pl.int_range(first_row, first_row + lines.len(), dtype=pl.Int64, eager=True),
            "line": lines.str.strip_suffix("\r"),
        }
    )
    limit = csv_module.field_size_limit()
    if (frame["line"].str.len_chars() > limit).any():
        # a cell the csv module refuses: hand out the rows before it, then its error
        for row, line in frame.filter(pl.col("line").str.len_chars() > limit).iter_rows():
            try:
                next(csv_module.reader([line], delimiter=delimiter))
            except csv_module.Error as exc:
                yield from _split(frame.filter(pl.col(ROW) < row), positions, delimiter)
                raise ImportFileError(
                    _("第 %(row)s 行无法读取：单元格过大或含有非法字符（%(detail)s）")
                    % {"row": row, "detail": str(exc)[:100]},
                    row=row,
                ) from exc
    yield from _split(frame, positions, delimiter)


def _split(frame: pl.DataFrame, positions: dict[str, int], delimiter: str) -> Iterator[Chunk]:
    """The non-blank lines of ``frame`` as a chunk (none when all are blank)."""
    line = pl.col("line")
    blank = line.str.replace_all(delimiter, "", literal=True).str.strip_chars(_PY_SPACE) == ""
    # cell i of each line: the text between its i-th and (i+1)-th delimiter, null if none
    cells = line.str.split_exact(delimiter, max(positions.values()))
    rows = frame.filter(~blank)
    if rows.height:
        yield Chunk(
            rows.select(
                ROW, *(cells.struct.field(f"field_{i}").alias(k) for k, i in positions.items())
            ),
            {},
        )


def _stand_in(value: Any, raw: dict[str, Any], nonce: str) -> str | None:
    # exactly ``str``: a ``Formula`` is a str too, and must reach its parser as itself
    if value is None or (type(value) is str and not value.startswith("\x00")):
        return value
    # never matches a fast pattern, so the column's Python parser sees the cell itself
    token = f"\x00{nonce}:{len(raw)}"
    raw[token] = value
    return token


# ---------------------------------------------------------------------------
# parsing
# ---------------------------------------------------------------------------


def column_dtype(col: Col) -> Any:
    fast: Fast | None = col.fast
    return pl.String if fast is None else fast.dtype


class ChunkParser:
    """Parses chunks column by column, reporting every refused cell as (row, column,
    reason) in row order, then column order, like the row-by-row parser."""

    def __init__(self, columns: Sequence[Col], positions: dict[str, int]) -> None:
        self.columns = [c for c in columns if c.key in positions]
        self.missing = [c for c in columns if c.key not in positions]
        self.memo: dict[str, dict[str, tuple[int, Any, str | None]]] = {
            c.key: {} for c in self.columns
        }

    def parse(self, chunk: Chunk, report: Report) -> pl.DataFrame:
        """``ROW``, ``OK`` and one typed column per importer column (null when blank,
        refused or not in the file)."""
        df = chunk.frame
        out: list[pl.Series] = [df[ROW]]
        bad = pl.repeat(False, df.height, eager=True).alias(OK)
        errors: list[pl.DataFrame] = []
        for position, col in enumerate(self.columns):
            value, state, message = self._column(col, df[col.key], chunk)
            out.append(value.alias(col.key))
            refused = state == _ERROR
            if col.required:
                refused = refused | (state == _BLANK)
                message = (
                    pl.DataFrame({"s": state, "m": message})
                    .select(
                        pl.when(pl.col("s") == _BLANK)
                        .then(pl.lit(_("必填项不能为空")))
                        .otherwise(pl.col("m"))
                    )
                    .to_series()
                )
            if refused.any():
                errors.append(
                    pl.DataFrame(
                        {
                            "row": df[ROW].filter(refused),
                            "col": pl.Series([position] * int(refused.sum()), dtype=pl.Int32),
                            "message": message.filter(refused),
                        }
                    )
                )
                bad = bad | refused
        for col in self.missing:
            out.append(pl.Series(col.key, [None] * df.height, dtype=column_dtype(col)))
        parsed = pl.DataFrame(out).with_columns((~bad).alias(OK))
        if errors:
            labels = [str(c.label) for c in self.columns]
            for row, position, text in pl.concat(errors).sort("row", "col").iter_rows():
                report.add(row, labels[position], text)
        report.rows_total += df.height
        if len(report.sample) < SAMPLE_ROWS:
            self._sample(chunk, parsed, report)
        return parsed

    def _column(self, col: Col, raw: pl.Series, chunk: Chunk) -> tuple[pl.Series, ...]:
        """(value, state, message) for every cell of one column."""
        fast: Fast | None = col.fast
        dtype = column_dtype(col)
        frame = pl.DataFrame({"raw": raw})
        if fast is not None:
            frame = frame.with_columns(
                pl.col("raw").str.contains(fast.pattern).fill_null(False).alias("fast")
            ).with_columns(fast.convert(pl.when("fast").then(pl.col("raw"))).alias("v"))
            if fast.accept is not None:
                frame = frame.with_columns(
                    (pl.col("fast") & fast.accept(pl.col("v")).fill_null(False)).alias("fast")
                )
        else:
            frame = frame.with_columns(
                pl.lit(False).alias("fast"), pl.lit(None, dtype=dtype).alias("v")
            )
        slow = frame.filter(~pl.col("fast") & pl.col("raw").is_not_null())["raw"].unique()
        if slow.len():
            lookup = self._slow(col, slow.to_list(), chunk, dtype)
            frame = frame.join(lookup, on="raw", how="left", maintain_order="left")
            frame = frame.with_columns(
                pl.when("fast").then(pl.col("v")).otherwise(pl.col("sv")).alias("v"),
                pl.when("fast")
                .then(pl.lit(_VALUE, dtype=pl.Int8))
                .when(pl.col("raw").is_null())
                .then(pl.lit(_BLANK, dtype=pl.Int8))
                .otherwise(pl.col("ss"))
                .alias("s"),
            )
        else:
            frame = frame.with_columns(
                pl.when(pl.col("raw").is_null())
                .then(pl.lit(_BLANK, dtype=pl.Int8))
                .otherwise(pl.lit(_VALUE, dtype=pl.Int8))
                .alias("s"),
                pl.lit(None, dtype=pl.String).alias("sm"),
            )
        value = frame.select(
            pl.when(pl.col("s") == _VALUE).then(pl.col("v")).cast(dtype).alias("v")
        ).to_series()
        return value, frame["s"], frame["sm"]

    def _slow(self, col: Col, values: list[str], chunk: Chunk, dtype: Any) -> pl.DataFrame:
        memo = self.memo[col.key]
        fast: Fast | None = col.fast
        convert = (lambda v: v) if fast is None else fast.from_python
        states: list[int] = []
        results: list[Any] = []
        messages: list[str | None] = []
        for text in values:
            hit = memo.get(text)
            if hit is None:
                cell = chunk.cell(text)
                if cell is None or (isinstance(cell, str) and not cell.strip()):
                    hit = (_BLANK, None, None)
                else:
                    try:
                        hit = (_VALUE, convert(col.parse(cell)), None)
                    except CellError as exc:
                        hit = (_ERROR, None, exc.message)
                if cell is text:  # a stand-in belongs to its chunk only
                    if len(memo) >= MEMO_SIZE:
                        memo.clear()
                    memo[text] = hit
            states.append(hit[0])
            results.append(hit[1])
            messages.append(hit[2])
        return pl.DataFrame(
            {
                "raw": pl.Series(values, dtype=pl.String),
                "sv": pl.Series(results, dtype=dtype),
                "ss": pl.Series(states, dtype=pl.Int8),
                "sm": pl.Series(messages, dtype=pl.String),
            }
        )

    def _sample(self, chunk: Chunk, parsed: pl.DataFrame, report: Report) -> None:
        """The first good rows as the row-by-row parser shows them (a dry-run preview)."""
        wanted = SAMPLE_ROWS - len(report.sample)
        good = chunk.frame.filter(parsed[OK]).head(wanted)
        for record in good.iter_rows(named=True):
            entry = {"row": str(record[ROW])}
            for col in self.columns:
                cell = chunk.cell(record[col.key])
                blank = cell is None or (isinstance(cell, str) and not cell.strip())
                entry[str(col.label)] = "" if blank else str(col.parse(cell))
            report.sample.append(entry)
