"""商机导入: each row goes through ``opportunity_create`` on a customer of the importing
user's scope; a 阶段 names a stage of the owner's department's process, reached with
``opportunity_move`` (recorded like a move on the board)."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.errors import ServiceError
from salesops.core.imports.common import ServiceImporter
from salesops.core.imports.engine import Ctx, ParsedRow
from salesops.core.imports.schema import Col, parse_code, parse_date, parse_decimal, parse_text
from salesops.crm.importers.contacts import CUSTOMER
from salesops.crm.models import Stage
from salesops.crm.services.opportunities import (
    OpportunityInput,
    opportunity_create,
    opportunity_move,
)
from salesops.sales.importers.refs import column_values, customers_by_code, employees_by_no


class OpportunityImporter(ServiceImporter):
    entity = "opportunities"
    title = _l("商机")
    object_type = "crm.opportunity"
    columns = [
        CUSTOMER,
        Col(
            "name",
            _l("商机名称"),
            partial(parse_text, max_length=200),
            True,
            ("名称",),
            "年度采购项目",
        ),
        Col(
            "amount",
            _l("预计金额"),
            partial(parse_decimal, positive=True),
            True,
            ("金额",),
            "120000.00",
        ),
        Col("close_on", _l("预计成交日期"), parse_date, True, ("成交日期",), "2026-12-31"),
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
            "stage",
            _l("阶段"),
            partial(parse_text, max_length=64),
            False,
            ("商机阶段",),
            "需求分析",
            _l("负责人所在部门销售流程中的阶段名称，留空为第一阶段"),
        ),
        Col("campaign_code", _l("活动代码"), partial(parse_text, max_length=32), False, (), ""),
    ]
    fields = {
        "name": "name",
        "amount": "amount",
        "close_on": "close_on",
        "owner": "owner_no",
        "campaign_code": "campaign_code",
        "stage": "stage",
    }

    def resolve(self, ctx: Ctx) -> None:
        values = [p.values for p in self.rows]
        self.customers = customers_by_code(ctx.actor, column_values(values, "customer_code"))
        self.owners = employees_by_no(ctx.actor, column_values(values, "owner_no"))
        for prow in self.rows:
            code, no = prow.values["customer_code"], prow.values.get("owner_no")
            if code not in self.customers:
                self.ref_error(ctx, prow, "customer_code", code, _("客户编号"))
            elif no and no not in self.owners:
                self.ref_error(ctx, prow, "owner_no", no, _("负责人工号"))

    def write_row(self, ctx: Ctx, prow: ParsedRow) -> None:
        v = prow.values
        opp = opportunity_create(
            actor=ctx.actor,
            customer=self.customers[v["customer_code"]],
            data=OpportunityInput(
                name=v["name"],
                amount=v["amount"],
                close_on=v["close_on"],
                campaign_code=v.get("campaign_code", ""),
            ),
            owner=self.owners[v["owner_no"]] if v.get("owner_no") else None,
        )
        name = v.get("stage")
        if not name or name == opp.stage.name:
            return
        stage = Stage.objects.filter(group=opp.group, name=name).first()
        if stage is None:
            names = _("、").join(
                Stage.objects.filter(group=opp.group).values_list("name", flat=True)
            )
            raise ServiceError(
                "unknown_stage",
                _("阶段“%(s)s”不在 %(g)s 中，可选：%(names)s")
                % {"s": name, "g": opp.group.name, "names": names},
                field="stage",
            )
        opportunity_move(actor=ctx.actor, opp=opp, stage=stage, note=_("数据导入"))
