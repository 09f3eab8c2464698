"""Running one import: open the file, map its header, parse every row, hand the rows to
the entity's importer, and (for an apply) write everything or nothing: the file is read
and checked with no transaction open, then written — master data in one transaction, a
large table (orders, customers) in short transactions of its own that it undoes when one
fails, so that no write holds SQLite's lock for long.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record
from salesops.core.imports.reading import ImportFileError, ImportLimitError, Source, open_source
from salesops.core.imports.schema import (
    SAMPLE_ROWS,
    CellError,
    Col,
    Report,
    map_header,
)
from salesops.core.models import AuditAction, User

ProgressFn = Callable[[int, int], None]
PROGRESS_EVERY = 5000
MEMO_SIZE = 20_000


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]
    ok: bool  # False when at least one cell of the row was refused


@dataclass
class Ctx:
    actor: User | None
    write: bool
    report: Report
    source: Source
    positions: dict[str, int]
    progress: ProgressFn | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # a streaming importer's ``write_all`` calls this inside its last transaction
    finish: Callable[[], None] | None = None
    # The import job applying (None: a run without a job, e.g. the benchmark). A chunked
    # importer marks its rows with it and calls ``heartbeat()`` inside each chunk's
    # transaction (the job's "still alive").
    job_id: int | None = None
    heartbeat: Callable[[], None] | None = None

    def beat(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat()


class Importer:
    """One entity's import: columns, cross-row checks and the writes.

    A row importer gets parsed rows in ``run`` (a dry run) or ``prepare`` (an apply, no
    transaction open), then writes in ``apply``. A streaming importer (``streaming =
    True``, for files of millions of rows) reads the source itself in ``validate_source``
    with no transaction open, and writes in ``write_all`` (short transactions of its own)
    only when the whole file is clean."""

    entity: ClassVar[str]
    title: ClassVar[str | Promise]
    object_type: ClassVar[str]
    columns: ClassVar[list[Col]]
    streaming: ClassVar[bool] = False

    def check_header(self, positions: dict[str, int], report: Report) -> None:
        """Column rules beyond "required" (e.g. one of two columns must exist)."""

    def run(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        raise NotImplementedError

    def prepare(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        """An apply's reading and checking of every row, before anything is written: no
        transaction is open, so no lock is held while the file is parsed."""
        raise NotImplementedError

    def apply(self, ctx: Ctx) -> None:
        """An apply's writes, once ``prepare`` found the file clean: in one transaction or
        (a large table) in chunks (``bulk.write_in_chunks``); ``ctx.finish()`` runs in the
        last one. Raises ``ApplyRefused`` when a write found an error (reported)."""
        raise NotImplementedError

    def validate_source(self, ctx: Ctx) -> None:
        raise NotImplementedError

    def write_all(self, ctx: Ctx) -> None:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the run left behind (temporary files)."""

    @classmethod
    def discard(cls, job_id: int) -> int:
        """Remove the rows a chunked apply of job ``job_id`` committed before its worker
        died, in short transactions; returns how many. Importers that write in one
        transaction leave nothing to remove."""
        return 0

    def col(self, key: str) -> Col:
        return next(c for c in self.columns if c.key == key)

    def label(self, key: str) -> str:
        return str(self.col(key).label)


class ApplyRefused(Exception):
    """An apply undone because of an error reported while writing."""


_Rollback = ApplyRefused


def parse_rows(ctx: Ctx, columns: Iterable[Col]) -> Iterator[ParsedRow]:
    """Each non-blank data row with its cells parsed; every refused cell is reported."""
    report = ctx.report
    wanted = [(c, ctx.positions[c.key]) for c in columns if c.key in ctx.positions]
    total = ctx.source.rows_estimate
    # Parsers are pure: the same text in the same column parses the same way. Order files
    # repeat dates, SKUs and codes endlessly, so a bounded memo per column pays for itself.
    memo: dict[str, dict[str, Any]] = {c.key: {} for c, _p in wanted}
    for row_no, cells in ctx.source.rows():
        if not any(v is not None and str(v).strip() for v in cells):
            continue
        report.rows_total += 1
        values: dict[str, Any] = {}
        ok = True
        for col, pos in wanted:
            raw = cells[pos] if pos < len(cells) else None
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                if col.required:
                    report.add(row_no, col.label, _("必填项不能为空"))
                    ok = False
                continue
            cache = memo[col.key]
            hit = cache.get(raw) if isinstance(raw, str) else None
            if hit is None:
                try:
                    hit = col.parse(raw)
                except CellError as exc:
                    hit = exc
                if isinstance(raw, str):
                    if len(cache) >= MEMO_SIZE:
                        cache.clear()
                    cache[raw] = hit
            if isinstance(hit, CellError):
                report.add(row_no, col.label, hit.message)
                ok = False
            else:
                values[col.key] = hit
        if ok and len(report.sample) < SAMPLE_ROWS:
            report.sample.append(
                {"row": str(row_no), **{str(c.label): _show(values.get(c.key)) for c, _p in wanted}}
            )
        if ctx.progress is not None and report.rows_total % PROGRESS_EVERY == 0:
            ctx.progress(report.rows_total, max(total, report.rows_total))
        yield ParsedRow(row_no, values, ok)


def _show(value: Any) -> str:
    return "" if value is None else str(value)


def run_import(
    *,
    importer: Importer,
    path: Path,
    actor: User | None,
    write: bool,
    progress: ProgressFn | None = None,
    note: str = "",
    sink: Any = None,
    job_id: int | None = None,
    heartbeat: Callable[[], None] | None = None,
    applied: Callable[[], None] | None = None,
) -> Report:
    """Dry run (``write=False``) or apply. An apply with any error changes nothing.
    ``sink`` (a csv writer) receives every error, however many. ``job_id`` and
    ``heartbeat`` go to the importer (``Ctx``); ``applied`` runs inside the apply's last
    transaction, with its audit row (the job marked done as its rows become visible)."""
    report = Report(entity=importer.entity, sink=sink)
    try:
        source = open_source(path)
        try:
            positions, report.ignored_columns = map_header(source.header, importer.columns)
        except CellError as exc:
            report.add(1, "", exc.message)
            return report
        for col in importer.columns:
            if col.required and col.key not in positions:
                report.add(1, col.label, _("缺少必需的列“%(name)s”") % {"name": col.label})
        importer.check_header(positions, report)
        if not report.ok:
            return report
        ctx = Ctx(actor, write, report, source, positions, progress)
        ctx.job_id, ctx.heartbeat = job_id, heartbeat

        def finish() -> None:
            _audit(importer, report, actor, note)
            if applied is not None:
                applied()

        if importer.streaming:
            importer.validate_source(ctx)
            _check_not_empty(report)
            if not write or not report.ok:
                return report
            ctx.finish = finish
            importer.write_all(ctx)
            return report
        rows = parse_rows(ctx, importer.columns)
        if not write:
            importer.run(ctx, rows)
            _check_not_empty(report)
            return report
        importer.prepare(ctx, rows)
        _check_not_empty(report)
        if not report.ok:
            raise _Rollback
        ctx.finish = finish
        importer.apply(ctx)
    except _Rollback:
        report.applied = False
    except ImportFileError as exc:
        report.applied = False
        report.aborted = isinstance(exc, ImportLimitError)
        report.add(exc.row, "", exc.message)
    finally:
        importer.close()
    return report


def _audit(importer: Importer, report: Report, actor: User | None, note: str) -> None:
    """The one audit row of an apply (its summary), then the report says it is applied."""
    audit_record(
        actor=actor,
        action=AuditAction.IMPORT,
        object_type=importer.object_type,
        note=(
            f"entity={importer.entity} rows={report.rows_total} "
            f"created={report.created} updated={report.updated} "
            f"unchanged={report.unchanged} {note}"
        ).strip(),
    )
    report.applied = True


def _check_not_empty(report: Report) -> None:
    if report.rows_total == 0 and report.ok:
        report.add(0, "", _("文件中没有数据行"))
