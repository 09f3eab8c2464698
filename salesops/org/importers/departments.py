"""部门导入: code, name, kind, parent_code. An existing code is updated (renamed, moved)."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.audit import audit_update, snapshot
from salesops.core.errors import ServiceError
from salesops.core.imports.common import CollectingImporter, filter_in, order_parents_first
from salesops.core.imports.engine import Ctx
from salesops.core.imports.schema import Col, choice_parser, parse_code, parse_text
from salesops.org.models import Department, DepartmentKind
from salesops.org.services.departments import department_create, department_update


class DepartmentImporter(CollectingImporter):
    entity = "departments"
    title = _l("部门")
    object_type = "org.department"
    key = "code"
    columns = [
        Col("code", _l("部门编码"), partial(parse_code, max_length=32), True, ("编码",), "D100"),
        Col(
            "name", _l("部门名称"), partial(parse_text, max_length=100), True, ("名称",), "华东大区"
        ),
        Col("kind", _l("类型"), choice_parser(DepartmentKind), False, ("部门类型",), "大区"),
        Col(
            "parent_code",
            _l("上级部门编码"),
            partial(parse_code, max_length=32),
            False,
            ("上级编码", "parent"),
            "HQ",
        ),
    ]

    def check(self, ctx: Ctx) -> None:
        existing = {
            code: parent for code, parent in Department.objects.values_list("code", "parent__code")
        }
        self.existing_codes = set(existing)
        parent_of: dict[str, str | None] = dict(existing)
        for code, prow in self.rows.items():
            parent = prow.values.get("parent_code")
            if parent is not None and parent not in self.rows and parent not in existing:
                if parent not in self.bad_keys:
                    self.ref_error(ctx, prow, "parent_code", parent, _("上级部门编码"))
                continue
            if parent == code:
                ctx.report.add(prow.row, self.label("parent_code"), _("上级部门不能是自己"))
                continue
            parent_of[code] = parent
        self.order, cyclic = order_parents_first(parent_of, list(self.rows))
        for code in sorted(cyclic, key=lambda c: self.rows[c].row):
            ctx.report.add(
                self.rows[code].row, self.label("parent_code"), _("上级部门形成循环引用")
            )
        created = sum(1 for c in self.rows if c not in existing)
        ctx.report.created += created
        ctx.report.updated += len(self.rows) - created
        ctx.report.count(str(self.title), created=created, updated=len(self.rows) - created)

    def write(self, ctx: Ctx) -> None:
        by_code = {d.code: d for d in filter_in(Department.objects, "code", self.existing_codes)}
        for code in self.order:
            prow = self.rows[code]
            v = prow.values
            parent_code = v.get("parent_code")
            parent = by_code[parent_code] if parent_code else None
            if parent is not None:
                # an earlier move may have shifted this parent's path in the database
                parent.refresh_from_db(fields=["path", "depth"])
            try:
                if code not in by_code:
                    by_code[code] = department_create(
                        actor=ctx.actor,
                        name=v["name"],
                        code=code,
                        kind=v.get("kind", DepartmentKind.TEAM),
                        parent=parent,
                    )
                    continue
                dept = by_code[code]
                dept.refresh_from_db()
                if dept.parent_id != (parent.pk if parent else None) or dept.name != v["name"]:
                    department_update(
                        actor=ctx.actor, department=dept, name=v["name"], parent=parent
                    )
                if "kind" in v and dept.kind != v["kind"]:
                    before = snapshot(dept, ["kind"])
                    dept.kind = v["kind"]
                    dept.save(update_fields=["kind"])
                    audit_update(actor=ctx.actor, obj=dept, before=before)
            except ServiceError as exc:
                ctx.report.add(prow.row, exc.field or "", exc.message)
                return
