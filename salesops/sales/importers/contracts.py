"""合同导入: each row becomes a draft contract through ``contract_create`` (a contract is
signed only after its approval, so none is imported as signed); with 提交审批 = 是 it
is also sent for approval (``contract_submit``), as the 提交审批 button does."""

from __future__ import annotations

from functools import partial

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.imports.common import ServiceImporter
from salesops.core.imports.engine import Ctx, ParsedRow
from salesops.core.imports.schema import (
    Col,
    parse_bool,
    parse_code,
    parse_date,
    parse_decimal,
    parse_text,
)
from salesops.sales.importers.refs import column_values, customers_by_code, employees_by_no
from salesops.sales.services.contracts import ContractInput, contract_create, contract_submit


def _code(
    key: str, label: str | Promise, required: bool, aliases: tuple[str, ...], example: str
) -> Col:
    return Col(key, label, partial(parse_code, max_length=32), required, aliases, example)


class ContractImporter(ServiceImporter):
    entity = "contracts"
    title = _l("合同")
    object_type = "sales.contract"
    columns = [
        _code("customer_code", _l("客户编号"), True, ("客户编码",), "C0001"),
        Col(
            "name",
            _l("合同名称"),
            partial(parse_text, max_length=200),
            True,
            ("名称",),
            "年度供货合同",
        ),
        Col(
            "amount",
            _l("合同金额"),
            partial(parse_decimal, positive=True),
            True,
            ("金额",),
            "86000.00",
        ),
        Col("start_on", _l("开始日期"), parse_date, True, ("合同开始日期",), "2026-01-01"),
        Col("end_on", _l("结束日期"), parse_date, True, ("合同结束日期",), "2026-12-31"),
        Col(
            "owner_no",
            _l("负责人工号"),
            partial(parse_code, max_length=32),
            False,
            ("负责人",),
            "E1001",
            _l("留空则为客户的负责人"),
        ),
        Col(
            "customer_signatory",
            _l("客户签约人"),
            partial(parse_text, max_length=64),
            False,
            (),
            "王芳",
        ),
        _code("our_signatory_no", _l("我方签约人工号"), False, ("我方签约人",), "E1001"),
        Col("terms", _l("合同条款"), partial(parse_text, max_length=2000), False, ("条款",), ""),
        Col("campaign_code", _l("活动代码"), partial(parse_text, max_length=32), False, (), ""),
        Col(
            "submit",
            _l("提交审批"),
            parse_bool,
            False,
            (),
            "否",
            _l("填“是”导入后即提交合同审批"),
        ),
    ]
    fields = {
        "name": "name",
        "amount": "amount",
        "start_on": "start_on",
        "end_on": "end_on",
        "owner": "owner_no",
        "customer_signatory": "customer_signatory",
        "our_signatory": "our_signatory_no",
        "terms": "terms",
        "campaign_code": "campaign_code",
    }

    def resolve(self, ctx: Ctx) -> None:
        values = [p.values for p in self.rows]
        self.customers = customers_by_code(ctx.actor, column_values(values, "customer_code"))
        self.employees = employees_by_no(
            ctx.actor, column_values(values, "owner_no") | column_values(values, "our_signatory_no")
        )
        for prow in self.rows:
            v = prow.values
            if v["customer_code"] not in self.customers:
                self.ref_error(ctx, prow, "customer_code", v["customer_code"], _("客户编号"))
                continue
            for key, what in (("owner_no", _("负责人工号")), ("our_signatory_no", _("工号"))):
                if v.get(key) and v[key] not in self.employees:
                    self.ref_error(ctx, prow, key, v[key], what)

    def write_row(self, ctx: Ctx, prow: ParsedRow) -> None:
        v = prow.values
        contract = contract_create(
            actor=ctx.actor,
            customer=self.customers[v["customer_code"]],
            data=ContractInput(
                name=v["name"],
                start_on=v["start_on"],
                end_on=v["end_on"],
                amount=v["amount"],
                customer_signatory=v.get("customer_signatory", ""),
                our_signatory=self.employees.get(v.get("our_signatory_no", "")),
                terms=v.get("terms", ""),
                campaign_code=v.get("campaign_code", ""),
            ),
            owner=self.employees[v["owner_no"]] if v.get("owner_no") else None,
        )
        if v.get("submit") and ctx.actor is not None:
            contract_submit(actor=ctx.actor, contract=contract)
