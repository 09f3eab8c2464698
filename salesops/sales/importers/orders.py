"""订单导入: one row per order line; rows with the same order_no form one order.

Built for millions of rows. The file is read once, in chunks of ``CHUNK`` rows held as
polars frames: cells are parsed vectorised (``frames``), references resolved with a few
``IN`` queries per chunk into small lookup frames (code → ids) and joined on, and the
cross-row rules checked per chunk. The only state kept across chunks is one row per order
(its header, for the consistency check, and its line count); an apply also keeps the
chunk's good lines in a spill file beside the upload, never the file itself in memory.

Validation runs before anything is written, so a long check never holds SQLite's write
lock; what could change meanwhile (an order number taken, a product deleted) is refused by
the database's unique and foreign-key constraints, and the apply fails whole. Only when the
whole file is clean does ``write_all`` reserve the new order ids and insert orders (with
their final totals) and lines as plain tuples (SQLite) or through COPY (PostgreSQL), in
short transactions of about half a second each, every order with all its lines; a failed
chunk removes the orders committed before it.

Amounts are exact integers: quantity in hundredths, prices and amounts in fen. A line's
amount is the sales rule ``round_money(quantity × unit_price)``, i.e. half-up of
``q_hundredths × price_fen / 100`` (``line_amount_fen``); an order's total is the sum of
its lines.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.imports import bulk
from salesops.core.imports.common import in_batches
from salesops.core.imports.engine import Ctx, Importer
from salesops.core.imports.frames import (
    OK,
    ROW,
    ChunkParser,
    fast_code,
    fast_date,
    fast_hundredths,
    hundredths_text,
    read_chunks,
)
from salesops.core.imports.schema import (
    Col,
    Report,
    choice_parser,
    parse_code,
    parse_date,
    parse_decimal,
)
from salesops.org.models import Employee, Member
from salesops.sales.models import Customer, Order, OrderKind, OrderLine, Product
from salesops.sales.services.orders import MAX_LINES

logger = logging.getLogger(__name__)

CHUNK = 50_000
# orders in the first write transaction (later ones are sized by time, bulk.write_in_chunks)
WRITE_FIRST = 2_000
# the largest amount an 18-digit, 2-place money column holds, in fen
MAX_FEN = 10**18 - 1

# An order's header as resolved ids, and the file column named when two rows disagree.
_HEADER: list[tuple[str, str]] = [
    ("order_date", "order_date"),
    ("kind", "kind"),
    ("customer_id", "customer_code"),
    ("member_id", "member_no"),
    ("employee_id", "credited_employee_no"),
    ("cmember_id", "credited_member_no"),
    ("dept_id", "credited_employee_no"),  # follows the employee
]
_HEADER_COLS = [c for c, _k in _HEADER]


def line_amount_fen(quantity: pl.Expr, price: pl.Expr) -> pl.Expr:
    """round_money(quantity × unit_price) in fen, from quantity in hundredths and price in
    fen (both ≥ 0): half-up of q·p/100, computed exactly in 128-bit integers."""
    return (quantity.cast(pl.Int128) * price.cast(pl.Int128) + 50) // 100


@dataclass
class _Lookup:
    """code → ids of one referenced table, filled chunk by chunk; a code that does not
    exist is kept with null ids so it is asked for only once."""

    names: list[str]  # code column, then the id columns
    fetch: Callable[[list[str]], Iterable[tuple[Any, ...]]]
    frame: pl.DataFrame = field(init=False)
    known: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        schema = {n: pl.String if i == 0 else pl.Int64 for i, n in enumerate(self.names)}
        self.frame = pl.DataFrame(schema=schema)

    def resolve(self, codes: pl.Series) -> None:
        new = [c for c in codes.drop_nulls().unique().to_list() if c not in self.known]
        if not new:
            return
        found: dict[str, tuple[Any, ...]] = {}
        for batch in in_batches(new):
            for row in self.fetch(batch):
                found[row[0]] = tuple(row[1:])
        empty = (None,) * (len(self.names) - 1)
        rows = [(c, *found.get(c, empty)) for c in new]
        self.frame = pl.concat(
            [self.frame, pl.DataFrame(rows, schema=self.frame.schema, orient="row")]
        )
        self.known.update(new)

    def join(self, df: pl.DataFrame, on: str, *aliases: str) -> pl.DataFrame:
        """``df`` with this lookup's id columns (as ``aliases``) for its column ``on``."""
        right = self.frame.rename(
            {self.names[0]: on, **dict(zip(self.names[1:], aliases, strict=True))}
        )
        return df.join(right, on=on, how="left", maintain_order="left")


class OrderImporter(Importer):
    entity = "orders"
    title = _l("订单")
    object_type = "sales.order"
    streaming = True
    columns = [
        Col(
            "order_no",
            _l("订单号"),
            partial(parse_code, max_length=40),
            True,
            ("订单编号",),
            "SO20260101001",
            fast=fast_code(40),
        ),
        Col(
            "order_date",
            _l("下单日期"),
            parse_date,
            True,
            ("订单日期", "日期"),
            "2026-01-01",
            fast=fast_date(),
        ),
        Col("kind", _l("订单类型"), choice_parser(OrderKind), False, ("类型",), "普通订单"),
        Col(
            "customer_code",
            _l("客户编号"),
            partial(parse_code, max_length=32),
            False,
            ("客户编码",),
            "C0001",
            fast=fast_code(32),
        ),
        Col(
            "member_no",
            _l("购买会员编号"),
            partial(parse_code, max_length=32),
            False,
            ("会员编号",),
            "",
            fast=fast_code(32),
        ),
        Col(
            "credited_employee_no",
            _l("业绩归属工号"),
            partial(parse_code, max_length=32),
            False,
            ("业绩员工工号",),
            "E1001",
            fast=fast_code(32),
        ),
        Col(
            "credited_member_no",
            _l("业绩归属会员编号"),
            partial(parse_code, max_length=32),
            False,
            ("业绩会员编号",),
            "",
            fast=fast_code(32),
        ),
        Col(
            "sku",
            _l("商品编码"),
            partial(parse_code, max_length=32),
            True,
            ("SKU",),
            "SKU001",
            fast=fast_code(32),
        ),
        Col(
            "quantity",
            _l("数量"),
            partial(parse_decimal, max_digits=12, positive=True),
            True,
            (),
            "2",
            fast=fast_hundredths(max_digits=12, positive=True),
        ),
        Col(
            "unit_price",
            _l("单价"),
            parse_decimal,
            True,
            ("价格",),
            "299.00",
            fast=fast_hundredths(),
        ),
    ]

    def __init__(self) -> None:
        self.products = _Lookup(
            ["code", "id"],
            lambda codes: Product.objects.filter(sku__in=codes).values_list("sku", "pk"),
        )
        self.customers = _Lookup(
            ["code", "id", "owner", "dept"],
            lambda codes: Customer.objects.filter(code__in=codes).values_list(
                "code", "pk", "owner_id", "owner__department_id"
            ),
        )
        self.employees = _Lookup(
            ["code", "id", "dept"],
            lambda codes: Employee.objects.filter(employee_no__in=codes).values_list(
                "employee_no", "pk", "department_id"
            ),
        )
        self.members = _Lookup(
            ["code", "id"],
            lambda codes: Member.objects.filter(member_no__in=codes).values_list("member_no", "pk"),
        )
        # one row per order, in the order first seen: order_no, seq, first row, header
        self.orders = pl.DataFrame(
            schema={
                "order_no": pl.String,
                "seq": pl.Int64,
                "first_row": pl.Int64,
                "order_date": pl.Date,
                "kind": pl.String,
                **{c: pl.Int64 for c in _HEADER_COLS[2:]},
            }
        )
        self.index: dict[str, int] = {}  # order_no → seq
        self.have_orders: bool | None = None
        self.line_counts = np.zeros(0, dtype=np.int64)
        self.totals: list[pl.DataFrame] = []  # per chunk: seq, sum of its lines (fen)
        self.spill: tempfile.TemporaryDirectory[str] | None = None
        self.spilled: list[Path] = []

    def check_header(self, positions: dict[str, int], report: Report) -> None:
        if "customer_code" not in positions and "member_no" not in positions:
            report.add(
                1,
                f"{self.label('customer_code')} / {self.label('member_no')}",
                _("缺少必需的列：客户编号或购买会员编号至少需要一列"),
            )

    # -- validation (no transaction held) ----------------------------------------

    def validate_source(self, ctx: Ctx) -> None:
        report = ctx.report
        parser = ChunkParser(self.columns, ctx.positions)
        total = ctx.source.rows_estimate
        if ctx.write:
            self.spill = tempfile.TemporaryDirectory(
                prefix=".import-spill-", dir=ctx.source.path.parent
            )
        for chunk in read_chunks(ctx.source, ctx.positions, CHUNK):
            self._chunk(ctx, parser.parse(chunk, report))
            if ctx.progress is not None:
                ctx.progress(report.rows_total, max(total, report.rows_total))
        self._finish(report)

    def _chunk(self, ctx: Ctx, df: pl.DataFrame) -> None:
        report = ctx.report
        df = df.filter(pl.col("order_no").is_not_null())
        if df.is_empty():
            return
        self.products.resolve(df["sku"])
        self.customers.resolve(df["customer_code"])
        self.employees.resolve(df["credited_employee_no"])
        self.members.resolve(pl.concat([df["member_no"], df["credited_member_no"]]))
        df = self.products.join(df, "sku", "product_id")
        df = self.customers.join(df, "customer_code", "customer_id", "owner_id", "owner_dept")
        df = self.employees.join(df, "credited_employee_no", "cemp_id", "cemp_dept")
        df = self.members.join(df, "member_no", "member_id")
        df = self.members.join(df, "credited_member_no", "cmember_found")

        c = pl.col
        nos = df["order_no"].to_list()
        index = self.index
        df = df.with_columns(pl.Series("known_seq", [index.get(n) for n in nos], dtype=pl.Int64))
        unseen = df.filter(c("known_seq").is_null())["order_no"].unique().to_list()
        existing = self._existing(unseen)

        exists = c("order_no").is_in(pl.Series(existing, dtype=pl.String).implode())
        dated = ~exists & c("order_date").is_not_null()
        no_buyer = dated & c("customer_code").is_null() & c("member_no").is_null()
        buyer = dated & ~no_buyer

        def missing(code: str, found: str) -> pl.Expr:
            return buyer & c(code).is_not_null() & c(found).is_null()

        credited = c("credited_employee_no").is_not_null()
        df = df.with_columns(
            exists.alias("exists"),
            no_buyer.alias("no_buyer"),
            missing("customer_code", "customer_id").alias("no_customer"),
            missing("member_no", "member_id").alias("no_member"),
            missing("credited_employee_no", "cemp_id").alias("no_employee"),
            missing("credited_member_no", "cmember_found").alias("no_cmember"),
            (~exists & c("sku").is_not_null() & c("product_id").is_null()).alias("no_sku"),
            c("kind").fill_null(OrderKind.REGULAR.value),
            pl.when(credited).then(c("cemp_id")).otherwise(c("owner_id")).alias("employee_id"),
            pl.when(credited).then(c("cemp_dept")).otherwise(c("owner_dept")).alias("dept_id"),
            pl.when(c("credited_member_no").is_not_null())
            .then(c("cmember_found"))
            .otherwise(c("member_id"))
            .alias("cmember_id"),
        ).with_columns(
            (
                buyer & ~c("no_customer") & ~c("no_member") & ~c("no_employee") & ~c("no_cmember")
            ).alias("header_ok")
        )

        # Orders first seen in this chunk (on a row with a valid header) join the state.
        fresh = (
            df.filter(c("header_ok") & c("known_seq").is_null())
            .unique(subset="order_no", keep="first", maintain_order=True)
            .select(
                "order_no",
                (pl.int_range(pl.len(), dtype=pl.Int64) + self.orders.height).alias("seq"),
                c(ROW).alias("first_row"),
                *_HEADER_COLS,
            )
        )
        if fresh.height:
            start = self.orders.height
            new_nos = fresh["order_no"].to_list()
            index.update(zip(new_nos, range(start, start + len(new_nos)), strict=True))
            self.orders = pl.concat([self.orders, fresh.select(self.orders.columns)], rechunk=True)
            self.line_counts = np.concatenate(
                [self.line_counts, np.zeros(fresh.height, dtype=np.int64)]
            )
            seq = (
                df.select("order_no", "known_seq")
                .join(
                    fresh.select("order_no", "seq"),
                    on="order_no",
                    how="left",
                    maintain_order="left",
                )
                .select(pl.coalesce("known_seq", "seq").alias("seq"))
                .to_series()
            )
        else:
            seq = df["known_seq"].alias("seq")
        ref = self.orders.select(
            "first_row", *(c(h).alias(f"ref_{h}") for h in _HEADER_COLS)
        ).select(pl.all().gather(seq))
        df = pl.concat([df, ref], how="horizontal").with_columns(seq)

        differs = pl.lit(None, dtype=pl.Int32)
        for i, h in reversed(list(enumerate(_HEADER_COLS))):
            differs = pl.when(~c(h).eq_missing(c(f"ref_{h}"))).then(pl.lit(i)).otherwise(differs)
        df = df.with_columns(
            pl.when(c("header_ok") & c("seq").is_not_null()).then(differs).alias("differs")
        ).with_columns(
            (c(OK) & c("header_ok") & ~c("no_sku") & c("differs").is_null()).alias("line_ok")
        )

        lines = df.filter("line_ok").select(
            ROW,
            "seq",
            "product_id",
            "quantity",
            "unit_price",
            line_amount_fen(c("quantity"), c("unit_price")).alias("amount"),
            (pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("seq")).alias("nth"),
        )
        seqs = lines["seq"].to_numpy()
        lines = lines.with_columns(
            (c("nth") + pl.Series(self.line_counts[seqs])).alias("nth"),
            (c("amount") > MAX_FEN).alias("too_big"),
        )
        np.add.at(self.line_counts, seqs, 1)
        self.totals.append(lines.filter(~c("too_big")).group_by("seq").agg(c("amount").sum()))
        self._report(report, df, lines)
        if ctx.write and report.ok and self.spill is not None:
            path = Path(self.spill.name) / f"{len(self.spilled):06d}.arrow"
            lines.select(
                "seq", "product_id", "quantity", "unit_price", c("amount").cast(pl.Int64)
            ).write_ipc(path)
            self.spilled.append(path)

    def _existing(self, nos: list[str]) -> list[str]:
        """Those of ``nos`` that are orders already (raw SQL: thousands of codes a chunk)."""
        if not nos or not self._any_orders():
            return []
        qn = connection.ops.quote_name
        found: list[str] = []
        with connection.cursor() as cur:
            for batch in in_batches(nos):
                marks = ", ".join(["%s"] * len(batch))
                cur.execute(
                    f"SELECT {qn('order_no')} FROM {qn(Order._meta.db_table)} "  # noqa: S608
                    f"WHERE {qn('order_no')} IN ({marks})",
                    batch,
                )
                found.extend(r[0] for r in cur.fetchall())
        return found

    def _any_orders(self) -> bool:
        # Asked once: with no order at all there is nothing to clash with. (A clash that
        # appears while the file is checked still fails the apply on the unique index.)
        if self.have_orders is None:
            self.have_orders = Order.objects.exists()
        return self.have_orders

    def _report(self, report: Report, df: pl.DataFrame, lines: pl.DataFrame) -> None:
        """The chunk's errors, row by row, in the order the rules are checked."""
        found: list[tuple[int, int, str, str]] = []
        # (flag, rank, column, message naming the cell); translated once a chunk
        checks = [
            ("exists", 0, "order_no", _("订单号 %(no)s 已存在")),
            ("no_buyer", 1, "customer_code", _("请填写客户编号或购买会员编号")),
            ("no_customer", 2, "customer_code", _("客户编号 %(v)s 不存在")),
            ("no_member", 3, "member_no", _("会员编号 %(v)s 不存在")),
            ("no_employee", 4, "credited_employee_no", _("工号 %(v)s 不存在")),
            ("no_cmember", 5, "credited_member_no", _("会员编号 %(v)s 不存在")),
            ("no_sku", 6, "sku", _("商品编码 %(v)s 不存在")),
        ]
        for flag, rank, key, message in checks:
            hits = df.filter(flag).select(ROW, key).iter_rows()
            found.extend((row, rank, key, message % {"v": v, "no": v}) for row, v in hits)
        differs = df.filter(pl.col("differs").is_not_null())
        conflict = _("与同一订单号第 %(row)s 行的订单信息不一致")
        found.extend(
            (row, 7, _HEADER[i][1], conflict % {"row": first})
            for row, i, first in differs.select(ROW, "differs", "first_row").iter_rows()
        )
        too_many = _("订单最多 %(n)d 行") % {"n": MAX_LINES}
        rows = lines.filter(pl.col("nth") == MAX_LINES + 1)[ROW].to_list()
        found.extend((row, 8, "order_no", too_many) for row in rows)
        too_big = _("数值过大")
        found.extend((row, 9, "unit_price", too_big) for row in lines.filter("too_big")[ROW])
        if not found:
            return
        labels = {col.key: str(col.label) for col in self.columns}
        found.sort(key=lambda e: (e[0], e[1]))
        for row, _rank, key, text in found:
            report.add(row, labels[key], text)

    def _finish(self, report: Report) -> None:
        totals = (
            pl.concat(self.totals).group_by("seq").agg(pl.col("amount").sum())
            if self.totals
            else pl.DataFrame(schema={"seq": pl.Int64, "amount": pl.Int128})
        )
        self.orders = (
            self.orders.join(totals, on="seq", how="left")
            .with_columns(pl.col("amount").fill_null(0).alias("total"))
            .drop("amount")
            .sort("seq")
        )
        self.totals = []
        for (row,) in self.orders.filter(pl.col("total") > MAX_FEN).select("first_row").iter_rows():
            report.add(row, self.label("order_no"), _("订单金额合计过大"))
        report.created = self.orders.height
        report.count(str(_("订单")), created=self.orders.height)
        report.count(str(_("订单明细")), created=int(self.line_counts.sum()))

    # -- the writes (short transactions, one after another) ------------------------

    def write_all(self, ctx: Ctx) -> None:
        """Insert the orders, each with all its lines, in consecutive short transactions
        (``bulk.write_in_chunks``): one transaction for the whole file held SQLite's only
        write lock for 11 s at 240,000 rows and every login behind it failed. Each order
        appears complete, with its lines and final total; the import's audit row is
        written with the last chunk. When a chunk fails, the chunks committed before it
        are deleted again, so a failed apply leaves nothing behind."""
        actor = ctx.actor if ctx.actor is not None and ctx.actor.is_authenticated else None
        ids = bulk.reserve_ids(Order, self.orders.height)
        c = pl.col
        orders = self.orders.select(
            pl.Series("id", ids),
            "order_no",
            c("order_date").dt.to_string("%Y-%m-%d"),
            "kind",
            c("customer_id"),
            c("member_id"),
            c("employee_id").alias("credited_employee_id"),
            c("cmember_id").alias("credited_member_id"),
            c("dept_id").alias("department_id"),
            hundredths_text(c("total").cast(pl.Int64)).alias("total_amount"),
        )
        given = {*orders.columns, "created_by_id", "import_job_id"}
        # the job's orders stay hidden until its last chunk marks it done (order_scope_q)
        order_constants = {
            "created_by_id": actor.pk if actor else None,
            "import_job_id": ctx.job_id,
        }
        order_constants |= bulk.defaults(Order, given)
        # every line, grouped by its order (a stable sort keeps the file's order inside
        # one): ints only, ≈ 40 bytes a line
        spilled = (
            pl.concat([pl.read_ipc(p) for p in self.spilled])
            if self.spilled
            else pl.DataFrame(
                schema={
                    "seq": pl.Int64,
                    "product_id": pl.Int64,
                    "quantity": pl.Int64,
                    "unit_price": pl.Int64,
                    "amount": pl.Int64,
                }
            )
        ).sort("seq", maintain_order=True)
        for path in self.spilled:
            path.unlink()
        self.spilled = []
        seqs = spilled["seq"].to_numpy()
        line_constants: dict[str, Any] | None = None

        def write(start: int, stop: int) -> None:
            nonlocal line_constants
            with bulk.bulk_write(Order, cache=False):
                bulk.insert_frame(Order, orders.slice(start, stop - start), order_constants)
                lo, hi = np.searchsorted(seqs, [start, stop])
                part = spilled.slice(int(lo), int(hi - lo))
                lines = part.select(
                    ids.gather(part["seq"]).alias("order_id"),
                    "product_id",
                    hundredths_text(c("quantity")).alias("quantity"),
                    hundredths_text(c("unit_price")).alias("unit_price"),
                    hundredths_text(c("amount")).alias("amount"),
                )
                if line_constants is None:
                    line_constants = bulk.defaults(OrderLine, set(lines.columns))
                bulk.insert_frame(OrderLine, lines, line_constants)
                ctx.beat()

        done: list[tuple[int, int]] = []
        try:
            with bulk.long_write():
                bulk.write_in_chunks(
                    self.orders.height, write, first=WRITE_FIRST, last=ctx.finish, done=done
                )
        except BaseException:
            committed = [i for a, b in done for i in ids.slice(a, b - a).to_list()]
            if committed:
                logger.warning("orders import failed: removing %d orders", len(committed))
                bulk.delete_ids(OrderLine, "order_id", committed)
                bulk.delete_ids(Order, "id", committed)
            raise

    @classmethod
    def discard(cls, job_id: int) -> int:
        """Delete the orders (and their lines) job ``job_id`` wrote, a few hundred orders a
        transaction, by the orders' index on their job."""
        removed = 0
        while True:
            ids = list(
                Order.objects.filter(import_job_id=job_id).values_list("pk", flat=True)[
                    : bulk.BATCH_DELETE
                ]
            )
            if not ids:
                return removed
            bulk.delete_ids(OrderLine, "order_id", ids)
            bulk.delete_ids(Order, "id", ids)
            removed += len(ids)

    def close(self) -> None:
        if self.spill is not None:
            self.spill.cleanup()
            self.spill = None
