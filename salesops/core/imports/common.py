"""Pieces the importers share: lookups of codes taken from a file in batches that fit
every database's limit on query parameters, collecting rows with in-file duplicate
detection, and ordering a parent graph (parents first) while finding its cycles."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from django.conf import settings
from django.db import transaction
from django.db.models import Manager, Model, QuerySet
from django.utils.translation import gettext as _

from salesops.core.errors import FieldError, ServiceError
from salesops.core.imports.engine import ApplyRefused, Ctx, Importer, ParsedRow
from salesops.core.imports.reading import ImportLimitError

# Values per ``IN (…)``: under SQLite's oldest limit (999 parameters; 32,766 since 3.32)
# and PostgreSQL's 65,535, with room for the query's other parameters.
LOOKUP_BATCH = 900

T = TypeVar("T")
M = TypeVar("M", bound=Model)


def in_batches(values: Iterable[T], size: int = LOOKUP_BATCH) -> Iterator[list[T]]:
    """``values`` (any iterable: a set, dict keys, a generator) as lists of at most
    ``size``: every ``field__in=`` built from a file's contents goes through this."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def filter_in(
    queryset: QuerySet[M, M] | Manager[M], field: str, values: Iterable[Any]
) -> Iterator[M]:
    """The rows of ``queryset`` whose ``field`` is one of ``values``, one query a batch."""
    for batch in in_batches(values):
        yield from queryset.filter(**{f"{field}__in": batch})


def order_parents_first(
    parent_of: Mapping[str, str | None], keys: list[str]
) -> tuple[list[str], set[str]]:
    """``keys`` ordered so every key comes after its parent (when the parent is among
    ``keys``), and the set of keys that sit on or under a cycle in ``parent_of``."""
    depth: dict[str, int] = {}
    cyclic: set[str] = set()
    for start in keys:
        if start in depth or start in cyclic:
            continue
        chain: list[str] = []
        on_chain: set[str] = set()
        node: str | None = start
        base = 0
        bad = False
        while node is not None:
            if node in depth:
                base = depth[node] + 1
                break
            if node in cyclic or node in on_chain:
                bad = True
                break
            chain.append(node)
            on_chain.add(node)
            node = parent_of.get(node)
        if bad:
            cyclic.update(chain)
            continue
        for offset, key in enumerate(reversed(chain)):
            depth[key] = base + offset
    ordered = sorted((k for k in keys if k in depth), key=lambda k: depth[k])
    return ordered, cyclic & set(keys)


class CollectingImporter(Importer):
    """Keeps every good row (master data is small next to orders) keyed by its id column;
    an id seen twice in the file is an error on the second row."""

    key: str

    def __init__(self) -> None:
        self.rows: dict[str, ParsedRow] = {}
        self.bad_keys: set[str] = set()
        self.first_row: dict[str, int] = {}

    def collect(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        for prow in rows:
            key = prow.values.get(self.key)
            if key is None:
                continue
            if key in self.first_row:
                ctx.report.add(
                    prow.row,
                    self.label(self.key),
                    _("%(value)s 在文件中重复（第 %(row)s 行）")
                    % {"value": key, "row": self.first_row[key]},
                )
                if key in self.rows:
                    self.bad_keys.add(key)
                continue
            self.first_row[key] = prow.row
            if prow.ok:
                self.rows[key] = prow
            else:
                self.bad_keys.add(key)

    def run(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        self.collect(ctx, rows)
        self.check(ctx)
        if ctx.write and ctx.report.ok:
            self.write(ctx)

    def prepare(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        self.collect(ctx, rows)
        self.check(ctx)

    def apply(self, ctx: Ctx) -> None:
        """Everything in one transaction: all or nothing (master data is small; a large
        table's importer writes in chunks instead, e.g. customers)."""
        with transaction.atomic():
            self.write(ctx)
            if not ctx.report.ok:
                raise ApplyRefused
            if ctx.finish is not None:
                ctx.finish()

    def check(self, ctx: Ctx) -> None:
        raise NotImplementedError

    def write(self, ctx: Ctx) -> None:
        raise NotImplementedError

    def ref_error(self, ctx: Ctx, prow: ParsedRow, key: str, value: Any, what: str) -> None:
        ctx.report.add(
            prow.row,
            self.label(key),
            _("%(what)s %(value)s 不存在") % {"what": what, "value": value},
        )


class ServiceImporter(Importer):
    """Rows written one at a time through the module's own service functions, so an
    imported row obeys every rule its form obeys (查重, data scope, amounts, approvals)
    and is audited the same way.

    All or nothing: the apply writes every row in one transaction and undoes it when any
    row was refused. The dry run runs the very same writes in a transaction it always
    rolls back, so it reports exactly what the apply would refuse — a second row that
    duplicates the first, receipts that add up past their contract. Because that
    transaction holds the write lock for the whole file, files are capped at
    ``SALESOPS_IMPORT_SERVICE_MAX_ROWS`` rows (default 5,000).

    A subclass resolves the file's references in ``resolve`` (batched lookups; a row
    with a bad reference is reported with ``ref_error`` and skipped) and writes one row
    in ``write_row``; a ``ServiceError`` it raises becomes that row's errors, each in
    the column ``fields`` maps the service's field name to."""

    # service field name → column key (errors of other fields go to the row as a whole)
    fields: ClassVar[dict[str, str]] = {}

    def __init__(self) -> None:
        self.rows: list[ParsedRow] = []
        self.skip: set[int] = set()

    def collect(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        limit = settings.SALESOPS_IMPORT_SERVICE_MAX_ROWS
        for prow in rows:
            if ctx.report.rows_total > limit:
                raise ImportLimitError(
                    _("这类数据每个文件最多导入 %(n)s 行，请拆分文件后分批导入") % {"n": limit},
                    prow.row,
                )
            if prow.ok:
                self.rows.append(prow)

    def resolve(self, ctx: Ctx) -> None:
        """Look up what the rows refer to (codes, 工号) in batches; report what is missing."""

    def write_row(self, ctx: Ctx, prow: ParsedRow) -> None:
        raise NotImplementedError

    def ref_error(self, ctx: Ctx, prow: ParsedRow, key: str, value: Any, what: str) -> None:
        self.skip.add(prow.row)
        ctx.report.add(
            prow.row,
            self.label(key),
            _("%(what)s %(value)s 不存在或无权访问") % {"what": what, "value": value},
        )

    def _write_rows(self, ctx: Ctx) -> None:
        created = 0
        for done, prow in enumerate(self.rows, 1):
            if prow.row in self.skip:
                continue
            try:
                with transaction.atomic():
                    self.write_row(ctx, prow)
            except ServiceError as exc:
                self._report(ctx, prow, exc)
            else:
                created += 1
            if done % 100 == 0:
                ctx.beat()
                if ctx.progress is not None:
                    ctx.progress(done, len(self.rows))
        ctx.report.created += created
        ctx.report.count(str(self.title), created=created)

    def _report(self, ctx: Ctx, prow: ParsedRow, exc: ServiceError) -> None:
        errors = exc.errors or [FieldError(exc.field, exc.message)]
        for err in errors:
            key = self.fields.get(err.field)
            column = self.label(key) if key is not None else ""
            ctx.report.add(prow.row, column, err.message)

    def run(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        self.collect(ctx, rows)
        self.resolve(ctx)
        with transaction.atomic():
            self._write_rows(ctx)
            transaction.set_rollback(True)

    def prepare(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        self.collect(ctx, rows)
        self.resolve(ctx)

    def apply(self, ctx: Ctx) -> None:
        with transaction.atomic():
            self._write_rows(ctx)
            if not ctx.report.ok:
                raise ApplyRefused
            if ctx.finish is not None:
                ctx.finish()
