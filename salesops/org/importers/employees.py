"""员工导入: employee_no, name, phone, department_code, manager_no, position_code.
An existing 工号 is updated; managers may appear anywhere in the file."""

from __future__ import annotations

from functools import partial
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.errors import ServiceError
from salesops.core.imports.common import CollectingImporter, filter_in, order_parents_first
from salesops.core.imports.engine import Ctx
from salesops.core.imports.schema import Col, parse_code, parse_phone, parse_text
from salesops.org.models import Department, Employee, Position
from salesops.org.services.employees import employee_create, employee_update


class EmployeeImporter(CollectingImporter):
    entity = "employees"
    title = _l("员工")
    object_type = "org.employee"
    key = "employee_no"
    columns = [
        Col(
            "employee_no",
            _l("工号"),
            partial(parse_code, max_length=32),
            True,
            ("员工编号",),
            "E1001",
        ),
        Col("name", _l("姓名"), partial(parse_text, max_length=64), True, ("员工姓名",), "张三"),
        Col("phone", _l("手机号"), parse_phone, False, ("手机", "电话"), "13800138000"),
        Col(
            "department_code",
            _l("部门编码"),
            partial(parse_code, max_length=32),
            True,
            ("部门",),
            "T1",
        ),
        Col(
            "manager_no",
            _l("上级工号"),
            partial(parse_code, max_length=32),
            False,
            ("直属上级工号",),
            "",
        ),
        Col(
            "position_code",
            _l("岗位编码"),
            partial(parse_code, max_length=32),
            False,
            ("岗位",),
            "",
        ),
    ]

    def check(self, ctx: Ctx) -> None:
        rows = self.rows
        depts = {
            d.code: d
            for d in filter_in(
                Department.objects, "code", {r.values["department_code"] for r in rows.values()}
            )
        }
        positions = {
            p.code: p
            for p in filter_in(
                Position.objects,
                "code",
                {r.values["position_code"] for r in rows.values() if "position_code" in r.values},
            )
        }
        existing = dict(Employee.objects.values_list("employee_no", "manager__employee_no"))
        parent_of: dict[str, str | None] = dict(existing)
        for no, prow in rows.items():
            v = prow.values
            if v["department_code"] not in depts:
                self.ref_error(ctx, prow, "department_code", v["department_code"], _("部门编码"))
            if "position_code" in v and v["position_code"] not in positions:
                self.ref_error(ctx, prow, "position_code", v["position_code"], _("岗位编码"))
            manager = v.get("manager_no")
            if manager == no:
                ctx.report.add(prow.row, self.label("manager_no"), _("直属上级不能是本人"))
                continue
            if manager is not None and manager not in rows and manager not in existing:
                if manager not in self.bad_keys:
                    self.ref_error(ctx, prow, "manager_no", manager, _("上级工号"))
                continue
            parent_of[no] = manager
        self.order, cyclic = order_parents_first(parent_of, list(rows))
        for no in sorted(cyclic, key=lambda n: rows[n].row):
            ctx.report.add(rows[no].row, self.label("manager_no"), _("直属上级形成循环引用"))
        self.depts, self.positions, self.existing = depts, positions, set(existing)
        created = sum(1 for n in rows if n not in existing)
        ctx.report.created += created
        ctx.report.updated += len(rows) - created
        ctx.report.count(str(self.title), created=created, updated=len(rows) - created)

    def write(self, ctx: Ctx) -> None:
        by_no = {
            e.employee_no: e
            for e in filter_in(Employee.objects, "employee_no", self.existing & set(self.rows))
        }
        managers = {
            e.employee_no: e
            for e in filter_in(
                Employee.objects,
                "employee_no",
                {r.values["manager_no"] for r in self.rows.values() if r.values.get("manager_no")}
                - set(self.rows),
            )
        }
        for no in self.order:
            prow = self.rows[no]
            v = prow.values
            manager_no = v.get("manager_no")
            manager = (by_no.get(manager_no) or managers.get(manager_no)) if manager_no else None
            if manager is not None:
                # an earlier move may have shifted this manager's chain in the database
                manager.refresh_from_db(fields=["manager_path"])
            kwargs: dict[str, Any] = {
                "name": v["name"],
                "phone": v.get("phone", ""),
                "department": self.depts[v["department_code"]],
                "position": self.positions.get(v.get("position_code", "")),
                "manager": manager,
            }
            try:
                if no in by_no:
                    emp = by_no[no]
                    emp.refresh_from_db()
                    by_no[no] = employee_update(
                        actor=ctx.actor, employee=emp, active=emp.active, **kwargs
                    )
                else:
                    by_no[no] = employee_create(actor=ctx.actor, employee_no=no, **kwargs)
            except ServiceError as exc:
                ctx.report.add(prow.row, exc.field or "", exc.message)
                return
