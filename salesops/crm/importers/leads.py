"""线索导入: each row goes through ``lead_create`` — the same checks as the form, 查重
across customers, the pool, leads and contacts included (a row that matches is refused
unless its 重复仍导入 cell says 是; such a create is audited as confirmed)."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.imports.common import ServiceImporter, filter_in
from salesops.core.imports.engine import Ctx, ParsedRow
from salesops.core.imports.schema import Col, parse_bool, parse_code, parse_text
from salesops.crm.services.leads import LeadInput, lead_create
from salesops.org.models import Department
from salesops.sales.importers.refs import column_values, employees_by_no

_TEXT = (
    (
        "company",
        _l("公司名称"),
        200,
        True,
        ("客户名称", "公司", "企业名称"),
        "杭州某某科技有限公司",
    ),
    ("contact_name", _l("联系人"), 64, False, ("姓名",), "王经理"),
    ("phone", _l("电话"), 32, False, ("手机号", "手机", "联系电话"), "13800138000"),
    ("email", _l("邮箱"), 254, False, ("email", "电子邮箱"), "wang@example.com"),
    ("source", _l("线索来源"), 64, False, ("来源",), "展会"),
    ("campaign_code", _l("活动代码"), 32, False, ("活动编码",), "EXPO2026"),
    ("region", _l("地区"), 64, False, ("区域",), "华东"),
    ("note", _l("备注"), 2000, False, (), "对年度采购感兴趣"),
)


def confirm_column() -> Col:
    return Col(
        "confirm_duplicate",
        _l("重复仍导入"),
        parse_bool,
        False,
        ("仍要创建",),
        "否",
        _l("查重发现疑似重复时，填“是”仍然导入（记入操作日志）"),
    )


class LeadImporter(ServiceImporter):
    entity = "leads"
    title = _l("线索")
    object_type = "crm.lead"
    columns = [
        *(
            Col(key, label, partial(parse_text, max_length=n), req, aliases, example)
            for key, label, n, req, aliases, example in _TEXT
        ),
        Col(
            "owner_no",
            _l("负责人工号"),
            partial(parse_code, max_length=32),
            False,
            ("负责人",),
            "E1001",
            _l("留空则不分配，由线索分配规则分配"),
        ),
        Col(
            "department_code",
            _l("所属部门编码"),
            partial(parse_code, max_length=32),
            False,
            ("部门编码",),
            "T01",
            _l("未填负责人时，线索归属的部门（按该部门的线索分配规则分配）"),
        ),
        confirm_column(),
    ]
    fields = {
        **{key: key for key, *_rest in _TEXT},
        "name": "company",
        "owner": "owner_no",
        "department": "department_code",
    }

    def resolve(self, ctx: Ctx) -> None:
        numbers = column_values((p.values for p in self.rows), "owner_no")
        self.owners = employees_by_no(ctx.actor, numbers)
        codes = column_values((p.values for p in self.rows), "department_code")
        self.departments = {d.code: d for d in filter_in(Department.objects, "code", codes)}
        for prow in self.rows:
            no, code = prow.values.get("owner_no"), prow.values.get("department_code")
            if no and no not in self.owners:
                self.ref_error(ctx, prow, "owner_no", no, _("负责人工号"))
            elif code and code not in self.departments:
                self.ref_error(ctx, prow, "department_code", code, _("部门编码"))

    def write_row(self, ctx: Ctx, prow: ParsedRow) -> None:
        v = prow.values
        lead_create(
            actor=ctx.actor,
            data=LeadInput(**{key: v.get(key, "") for key, *_rest in _TEXT}),
            owner=self.owners[v["owner_no"]] if v.get("owner_no") else None,
            confirm_duplicate=v.get("confirm_duplicate", False),
            owner_is_actor=False,
            department=self.departments.get(v.get("department_code", "")),
            how_to_confirm=_("如确需导入，请在“重复仍导入”列填“是”。"),
        )
