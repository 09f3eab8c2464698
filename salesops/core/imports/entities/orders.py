"""订单导入: one row per order line; rows with the same order_no form one order.

Built for millions of rows: the file is read once, in chunks; references are resolved per
chunk with a few ``IN`` queries and cached (code → id); the only state kept across chunks
is one small entry per order. In an apply, each chunk's new orders go in with
``bulk_create`` and their lines with one ``executemany``, all inside the caller's single
transaction; order totals that grew after their order was inserted (an order whose lines
are spread over chunks) are corrected at the end. The amount rule is the sales one:
line amount = round_money(quantity × unit_price), order total = sum of its lines.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.imports.engine import Ctx, Importer, ParsedRow
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
from salesops.sales.services.orders import MAX_LINES, line_amount

CHUNK = 5000
LOOKUP_BATCH = 900
ZERO = Decimal("0.00")

# position of each header field in an order's header tuple (for the consistency check)
_HEADER = (
    "order_date",
    "kind",
    "customer_code",
    "member_no",
    "credited_employee_no",
    "credited_member_no",
)


class _Order:
    __slots__ = ("header", "inserted_total", "lines", "pk", "row", "total")

    def __init__(self, header: tuple[Any, ...], row: int) -> None:
        self.header = header
        self.row = row
        self.pk = 0
        self.total = ZERO
        self.inserted_total = ZERO
        self.lines = 0


class OrderImporter(Importer):
    entity = "orders"
    title = _l("订单")
    object_type = "sales.order"
    columns = [
        Col(
            "order_no",
            _l("订单号"),
            partial(parse_code, max_length=40),
            True,
            ("订单编号",),
            "SO20260101001",
        ),
        Col("order_date", _l("下单日期"), parse_date, True, ("订单日期", "日期"), "2026-01-01"),
        Col("kind", _l("订单类型"), choice_parser(OrderKind), False, ("类型",), "普通订单"),
        Col(
            "customer_code",
            _l("客户编号"),
            partial(parse_code, max_length=32),
            False,
            ("客户编码",),
            "C0001",
        ),
        Col(
            "member_no",
            _l("购买会员编号"),
            partial(parse_code, max_length=32),
            False,
            ("会员编号",),
            "",
        ),
        Col(
            "credited_employee_no",
            _l("业绩归属工号"),
            partial(parse_code, max_length=32),
            False,
            ("业绩员工工号",),
            "E1001",
        ),
        Col(
            "credited_member_no",
            _l("业绩归属会员编号"),
            partial(parse_code, max_length=32),
            False,
            ("业绩会员编号",),
            "",
        ),
        Col("sku", _l("商品编码"), partial(parse_code, max_length=32), True, ("SKU",), "SKU001"),
        Col(
            "quantity",
            _l("数量"),
            partial(parse_decimal, max_digits=12, positive=True),
            True,
            (),
            "2",
        ),
        Col("unit_price", _l("单价"), parse_decimal, True, ("价格",), "299.00"),
    ]

    def __init__(self) -> None:
        self.orders: dict[str, _Order] = {}
        # code → id (or None when it does not exist), filled chunk by chunk
        self.products: dict[str, int | None] = {}
        self.customers: dict[str, tuple[int, int, int] | None] = {}  # id, owner, dept
        self.employees: dict[str, tuple[int, int] | None] = {}  # id, dept
        self.members: dict[str, int | None] = {}
        self.lines_created = 0
        self.table = OrderLine._meta.db_table

    def check_header(self, positions: dict[str, int], report: Report) -> None:
        if "customer_code" not in positions and "member_no" not in positions:
            report.add(
                1,
                f"{self.label('customer_code')} / {self.label('member_no')}",
                _("缺少必需的列：客户编号或购买会员编号至少需要一列"),
            )

    # -- reference resolution -------------------------------------------------

    def _resolve(self, chunk: list[ParsedRow]) -> None:
        want: dict[str, set[str]] = {"p": set(), "c": set(), "e": set(), "m": set()}
        for prow in chunk:
            v = prow.values
            if "sku" in v and v["sku"] not in self.products:
                want["p"].add(v["sku"])
            if "customer_code" in v and v["customer_code"] not in self.customers:
                want["c"].add(v["customer_code"])
            if "credited_employee_no" in v and v["credited_employee_no"] not in self.employees:
                want["e"].add(v["credited_employee_no"])
            for key in ("member_no", "credited_member_no"):
                if key in v and v[key] not in self.members:
                    want["m"].add(v[key])
        for codes in _batches(want["p"]):
            found = dict(Product.objects.filter(sku__in=codes).values_list("sku", "pk"))
            self.products.update({c: found.get(c) for c in codes})
        for codes in _batches(want["c"]):
            rows = Customer.objects.filter(code__in=codes).values_list(
                "code", "pk", "owner_id", "owner__department_id"
            )
            found_c = {code: (pk, owner, dept) for code, pk, owner, dept in rows}
            self.customers.update({c: found_c.get(c) for c in codes})
        for codes in _batches(want["e"]):
            rows_e = Employee.objects.filter(employee_no__in=codes).values_list(
                "employee_no", "pk", "department_id"
            )
            found_e = {no: (pk, dept) for no, pk, dept in rows_e}
            self.employees.update({c: found_e.get(c) for c in codes})
        for codes in _batches(want["m"]):
            found_m = dict(
                Member.objects.filter(member_no__in=codes).values_list("member_no", "pk")
            )
            self.members.update({c: found_m.get(c) for c in codes})

    def _existing_orders(self, chunk: list[ParsedRow]) -> set[str]:
        new = {p.values["order_no"] for p in chunk if "order_no" in p.values}
        new -= self.orders.keys()
        existing: set[str] = set()
        for nos in _batches(new):
            existing.update(
                Order.objects.filter(order_no__in=nos).values_list("order_no", flat=True)
            )
        return existing

    # -- the run --------------------------------------------------------------

    def run(self, ctx: Ctx, rows: Iterator[ParsedRow]) -> None:
        chunk: list[ParsedRow] = []
        for prow in rows:
            chunk.append(prow)
            if len(chunk) >= CHUNK:
                self._chunk(ctx, chunk)
                chunk = []
        if chunk:
            self._chunk(ctx, chunk)
        report = ctx.report
        report.created = len(self.orders)
        lines = sum(o.lines for o in self.orders.values())
        report.count(str(_("订单")), created=len(self.orders))
        report.count(str(_("订单明细")), created=lines)
        if ctx.write and report.ok:
            self._fix_totals()

    def _chunk(self, ctx: Ctx, chunk: list[ParsedRow]) -> None:
        report = ctx.report
        self._resolve(chunk)
        existing = self._existing_orders(chunk)
        new_orders: list[tuple[str, _Order]] = []
        lines: list[tuple[str, int, Decimal, Decimal, Decimal]] = []
        for prow in chunk:
            v = prow.values
            no = v.get("order_no")
            if no is None:
                continue
            if no in existing:
                report.add(prow.row, self.label("order_no"), _("订单号 %(no)s 已存在") % {"no": no})
                continue
            ok = prow.ok
            header = self._header(report, prow)
            if header is None:
                ok = False
            product_id = self.products.get(v["sku"]) if "sku" in v else None
            if "sku" in v and product_id is None:
                report.add(
                    prow.row, self.label("sku"), _("商品编码 %(v)s 不存在") % {"v": v["sku"]}
                )
                ok = False
            order = self.orders.get(no)
            if order is None:
                if header is None:
                    continue
                order = _Order(header, prow.row)
                self.orders[no] = order
                new_orders.append((no, order))
            elif header is not None and header != order.header:
                col = next(
                    k for k, a, b in zip(_HEADER, header, order.header, strict=True) if a != b
                )
                report.add(
                    prow.row,
                    self.label(col),
                    _("与同一订单号第 %(row)s 行的订单信息不一致") % {"row": order.row},
                )
                ok = False
            if not ok:
                continue
            order.lines += 1
            if order.lines == MAX_LINES + 1:
                report.add(
                    prow.row, self.label("order_no"), _("订单最多 %(n)d 行") % {"n": MAX_LINES}
                )
            amount = line_amount(v["quantity"], v["unit_price"])
            order.total += amount
            lines.append((no, product_id, v["quantity"], v["unit_price"], amount))  # type: ignore[arg-type]
        if ctx.write and report.ok:
            self._write(ctx, new_orders, lines)

    def _header(self, report: Report, prow: ParsedRow) -> tuple[Any, ...] | None:
        """(date, kind, customer, member, credited employee, credited member, department)
        resolved to ids, with the sales defaults; None (and errors) when it cannot be."""
        v = prow.values
        if "order_date" not in v:
            return None
        ok = True
        customer = member = employee = credited_member = None
        dept = None
        if "customer_code" not in v and "member_no" not in v:
            report.add(prow.row, self.label("customer_code"), _("请填写客户编号或购买会员编号"))
            return None
        if "customer_code" in v:
            found_c = self.customers.get(v["customer_code"])
            if found_c is None:
                report.add(
                    prow.row,
                    self.label("customer_code"),
                    _("客户编号 %(v)s 不存在") % {"v": v["customer_code"]},
                )
                ok = False
            else:
                customer, employee, dept = found_c
        if "member_no" in v:
            member = self.members.get(v["member_no"])
            if member is None:
                report.add(
                    prow.row,
                    self.label("member_no"),
                    _("会员编号 %(v)s 不存在") % {"v": v["member_no"]},
                )
                ok = False
        if "credited_employee_no" in v:
            found_e = self.employees.get(v["credited_employee_no"])
            if found_e is None:
                report.add(
                    prow.row,
                    self.label("credited_employee_no"),
                    _("工号 %(v)s 不存在") % {"v": v["credited_employee_no"]},
                )
                ok = False
            else:
                employee, dept = found_e
        credited_member = member
        if "credited_member_no" in v:
            credited_member = self.members.get(v["credited_member_no"])
            if credited_member is None:
                report.add(
                    prow.row,
                    self.label("credited_member_no"),
                    _("会员编号 %(v)s 不存在") % {"v": v["credited_member_no"]},
                )
                ok = False
        if not ok:
            return None
        kind = v.get("kind", OrderKind.REGULAR)
        return (v["order_date"], kind, customer, member, employee, credited_member, dept)

    # -- writes -----------------------------------------------------------------

    def _write(
        self,
        ctx: Ctx,
        new_orders: list[tuple[str, _Order]],
        lines: list[tuple[str, int, Decimal, Decimal, Decimal]],
    ) -> None:
        actor = ctx.actor if ctx.actor is not None and ctx.actor.is_authenticated else None
        objs = [
            Order(
                order_no=no,
                order_date=o.header[0],
                kind=o.header[1],
                customer_id=o.header[2],
                member_id=o.header[3],
                credited_employee_id=o.header[4],
                credited_member_id=o.header[5],
                department_id=o.header[6],
                total_amount=o.total,
                created_by=actor,
            )
            for no, o in new_orders
        ]
        Order.objects.bulk_create(objs, batch_size=2000)
        for (_no, o), obj in zip(new_orders, objs, strict=True):
            o.pk = obj.pk
            o.inserted_total = o.total
        orders = self.orders
        params = [(orders[no].pk, pid, q, p, a) for no, pid, q, p, a in lines]
        qn = connection.ops.quote_name
        sql = (
            f"INSERT INTO {qn(self.table)} "  # noqa: S608 - names come from the model
            f"({qn('order_id')}, {qn('product_id')}, {qn('quantity')}, "
            f"{qn('unit_price')}, {qn('amount')}) VALUES (%s, %s, %s, %s, %s)"
        )
        with connection.cursor() as cur:
            cur.executemany(sql, params)
        self.lines_created += len(params)

    def _fix_totals(self) -> None:
        stale = [(o.total, o.pk) for o in self.orders.values() if o.total != o.inserted_total]
        if not stale:
            return
        qn = connection.ops.quote_name
        sql = (
            f"UPDATE {qn(Order._meta.db_table)} SET {qn('total_amount')} = %s "  # noqa: S608
            f"WHERE {qn('id')} = %s"
        )
        with connection.cursor() as cur:
            cur.executemany(sql, stale)


def _batches(values: set[str]) -> Iterator[list[str]]:
    items = sorted(values)
    for start in range(0, len(items), LOOKUP_BATCH):
        yield items[start : start + LOOKUP_BATCH]
