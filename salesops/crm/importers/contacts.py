"""联系人导入: each row goes through ``contact_create`` on a customer of the importing
user's scope (by 客户编号), with the form's checks."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.imports.common import ServiceImporter
from salesops.core.imports.engine import Ctx, ParsedRow
from salesops.core.imports.schema import Col, parse_bool, parse_code, parse_text
from salesops.crm.importers.leads import confirm_column
from salesops.crm.services.contacts import ContactInput, contact_create
from salesops.sales.importers.refs import column_values, customers_by_code

CUSTOMER = Col(
    "customer_code",
    _l("客户编号"),
    partial(parse_code, max_length=32),
    True,
    ("客户编码",),
    "C0001",
)


class ContactImporter(ServiceImporter):
    entity = "contacts"
    title = _l("联系人")
    object_type = "crm.contact"
    columns = [
        CUSTOMER,
        Col("name", _l("姓名"), partial(parse_text, max_length=64), True, ("联系人",), "王芳"),
        Col(
            "phone",
            _l("电话"),
            partial(parse_text, max_length=32),
            False,
            ("手机号", "手机"),
            "13900139000",
        ),
        Col(
            "email",
            _l("邮箱"),
            partial(parse_text, max_length=254),
            False,
            ("email",),
            "wang@example.com",
        ),
        Col(
            "title",
            _l("职务/角色"),
            partial(parse_text, max_length=64),
            False,
            ("职务", "角色"),
            "采购经理",
        ),
        Col("decision_maker", _l("关键决策人"), parse_bool, False, ("决策人",), "是"),
        confirm_column(),
    ]
    fields = {"name": "name", "phone": "phone", "email": "email", "title": "title"}

    def resolve(self, ctx: Ctx) -> None:
        codes = column_values((p.values for p in self.rows), "customer_code")
        self.customers = customers_by_code(ctx.actor, codes)
        for prow in self.rows:
            code = prow.values["customer_code"]
            if code not in self.customers:
                self.ref_error(ctx, prow, "customer_code", code, _("客户编号"))

    def write_row(self, ctx: Ctx, prow: ParsedRow) -> None:
        v = prow.values
        contact_create(
            actor=ctx.actor,
            customer=self.customers[v["customer_code"]],
            data=ContactInput(
                name=v["name"],
                phone=v.get("phone", ""),
                email=v.get("email", ""),
                title=v.get("title", ""),
                decision_maker=v.get("decision_maker", False),
            ),
            confirm_duplicate=v.get("confirm_duplicate", False),
            how_to_confirm=_("如确需导入，请在“重复仍导入”列填“是”。"),
        )
