"""回款导入: each row goes through ``receipt_create`` on the contract (by 合同编号, the
version in force) — only signed contracts take receipts, receipts may not exceed the
contract unless marked 超额回款 with a note — and waits for finance's confirmation like
one entered on the page."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.errors import ServiceError
from salesops.core.imports.common import ServiceImporter, filter_in
from salesops.core.imports.engine import Ctx, ParsedRow
from salesops.core.imports.schema import (
    CellError,
    Col,
    choice_parser,
    parse_bool,
    parse_code,
    parse_date,
    parse_decimal,
    parse_text,
)
from salesops.sales.importers.refs import column_values, contracts_by_no
from salesops.sales.models import ReceiptMethod, ReceivablePlan
from salesops.sales.services.receipts import ReceiptInput, receipt_create


def parse_period(raw: object) -> int:
    value = parse_decimal(raw, places=0, positive=True)
    if value > 999:
        raise CellError(_("期数过大"))
    return int(value)


class ReceiptImporter(ServiceImporter):
    entity = "receipts"
    title = _l("回款")
    object_type = "sales.receipt"
    columns = [
        Col(
            "contract_no",
            _l("合同编号"),
            partial(parse_code, max_length=32),
            True,
            ("合同号",),
            "HT202601010001",
        ),
        Col(
            "amount",
            _l("回款金额"),
            partial(parse_decimal, positive=True),
            True,
            ("金额",),
            "30000.00",
        ),
        Col("received_on", _l("回款日期"), parse_date, True, ("日期",), "2026-03-15"),
        Col(
            "method",
            _l("回款方式"),
            choice_parser(ReceiptMethod),
            True,
            ("付款方式", "方式"),
            "银行转账",
        ),
        Col("period", _l("期数"), parse_period, False, ("回款期数",), "1"),
        Col("note", _l("备注"), partial(parse_text, max_length=500), False, (), ""),
        Col(
            "overpayment",
            _l("超额回款"),
            parse_bool,
            False,
            (),
            "否",
            _l("回款超出合同剩余金额时填“是”，并在备注中说明原因"),
        ),
    ]
    fields = {
        "amount": "amount",
        "received_on": "received_on",
        "method": "method",
        "plan": "period",
        "note": "note",
        "overpayment": "overpayment",
    }

    def resolve(self, ctx: Ctx) -> None:
        numbers = column_values((p.values for p in self.rows), "contract_no")
        self.contracts = contracts_by_no(ctx.actor, numbers)
        self.plans = {
            (p.contract_id, p.period): p
            for p in filter_in(
                ReceivablePlan.objects, "contract_id", [c.pk for c in self.contracts.values()]
            )
        }
        for prow in self.rows:
            if prow.values["contract_no"] not in self.contracts:
                self.ref_error(ctx, prow, "contract_no", prow.values["contract_no"], _("合同编号"))

    def _plan(self, contract_id: int, period: int) -> ReceivablePlan:
        plan = self.plans.get((contract_id, period))
        if plan is None:
            raise ServiceError(
                "unknown_plan", _("合同没有第 %(n)s 期回款计划") % {"n": period}, field="plan"
            )
        return plan

    def write_row(self, ctx: Ctx, prow: ParsedRow) -> None:
        v = prow.values
        contract = self.contracts[v["contract_no"]]
        if ctx.actor is None:
            raise ServiceError("actor_required", _("回款导入需要登录用户"))
        receipt_create(
            actor=ctx.actor,
            contract=contract,
            data=ReceiptInput(
                received_on=v["received_on"],
                amount=v["amount"],
                method=v["method"],
                plan=self._plan(contract.pk, v["period"]) if v.get("period") else None,
                note=v.get("note", ""),
                overpayment=v.get("overpayment", False),
            ),
        )
