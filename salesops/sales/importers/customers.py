"""客户导入: code, name, phone, owner_no, source, address. An existing 客户编号 is updated;
every change to an existing customer (personal data) is written to the audit log.

A new customer goes through the one 查重 first (``sales.dedupe.held_keys``: customers, the
pool, leads and contacts by name and phone, and the rows before it in the file): a row
that matches is refused unless its 重复仍导入 cell says 是, and such a create is audited."""

from __future__ import annotations

import logging
from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.audit import audit_record, audit_update, snapshot
from salesops.core.imports import bulk
from salesops.core.imports.common import CollectingImporter, filter_in
from salesops.core.imports.engine import Ctx
from salesops.core.imports.schema import Col, parse_bool, parse_code, parse_phone, parse_text
from salesops.core.models import AuditAction
from salesops.org.models import Employee
from salesops.sales.dedupe import Keys, held_keys
from salesops.sales.models import Customer

_FIELDS = ("name", "phone", "source", "address")
_AUDITED = ("name", "phone", "source", "address", "owner", "department")
BATCH = 2000
# customers in the first write transaction (later ones are sized by time)
WRITE_FIRST = 2000

logger = logging.getLogger(__name__)


class CustomerImporter(CollectingImporter):
    entity = "customers"
    title = _l("客户")
    object_type = "sales.customer"
    key = "code"
    columns = [
        Col(
            "code",
            _l("客户编号"),
            partial(parse_code, max_length=32),
            True,
            ("客户编码", "编号"),
            "C0001",
        ),
        Col(
            "name",
            _l("客户名称"),
            partial(parse_text, max_length=200),
            True,
            ("名称", "客户"),
            "上海某某贸易有限公司",
        ),
        Col("phone", _l("手机号"), parse_phone, False, ("手机", "电话"), "13900139000"),
        Col(
            "owner_no",
            _l("负责人工号"),
            partial(parse_code, max_length=32),
            True,
            ("负责人",),
            "E1001",
        ),
        Col("source", _l("客户来源"), partial(parse_text, max_length=64), False, ("来源",), "展会"),
        Col(
            "address",
            _l("地址"),
            partial(parse_text, max_length=300),
            False,
            ("客户地址",),
            "上海市浦东新区",
        ),
        Col(
            "confirm_duplicate",
            _l("重复仍导入"),
            parse_bool,
            False,
            ("仍要创建",),
            "否",
            _l("查重发现疑似重复时，填“是”仍然导入（记入操作日志）"),
        ),
    ]

    def check(self, ctx: Ctx) -> None:
        owners = {r.values["owner_no"] for r in self.rows.values()}
        self.owners = {e.employee_no: e for e in filter_in(Employee.objects, "employee_no", owners)}
        self.existing = {c.code: c for c in filter_in(Customer.objects, "code", self.rows)}
        for prow in self.rows.values():
            if prow.values["owner_no"] not in self.owners:
                self.ref_error(ctx, prow, "owner_no", prow.values["owner_no"], _("负责人工号"))
        self._dedupe(ctx)
        created = sum(1 for code in self.rows if code not in self.existing)
        updated = sum(1 for code in self.rows if code in self.existing and self._changes(code))
        unchanged = len(self.rows) - created - updated
        ctx.report.created += created
        ctx.report.updated += updated
        ctx.report.unchanged += unchanged
        ctx.report.count(str(self.title), created=created, updated=updated, unchanged=unchanged)

    def _dedupe(self, ctx: Ctx) -> None:
        """查重 of the new customers, a whole column at a time: against the database
        (``held_keys``) and against the rows above in the file."""
        new = [code for code in self.rows if code not in self.existing]
        keys = {
            code: Keys.of(
                name=self.rows[code].values["name"], phone=self.rows[code].values.get("phone", "")
            )
            for code in new
        }
        held = {
            "name": held_keys("name", {k.name for k in keys.values()}),
            "phone": held_keys("phone", {k.phone for k in keys.values()}),
        }
        seen: dict[tuple[str, str], int] = {}
        self.confirmed: dict[str, str] = {}
        for code in new:
            prow = self.rows[code]
            for on, column in (("name", "name"), ("phone", "phone")):
                key = getattr(keys[code], on)
                if not key:
                    continue
                who = held[on].get(key)
                if who is None and (on, key) in seen:
                    who = _("与第 %(row)s 行重复") % {"row": seen[(on, key)]}
                seen.setdefault((on, key), prow.row)
                if who is None:
                    continue
                if prow.values.get("confirm_duplicate"):
                    self.confirmed[code] = who
                    continue
                ctx.report.add(
                    prow.row,
                    self.label(column),
                    _("疑似重复：%(who)s。如确需导入，请在“重复仍导入”列填“是”。") % {"who": who},
                )
                break

    def _changes(self, code: str) -> bool:
        cust, v = self.existing[code], self.rows[code].values
        owner = self.owners.get(v["owner_no"])
        return any(getattr(cust, f) != v.get(f, "") for f in _FIELDS) or (
            owner is not None and cust.owner_id != owner.pk
        )

    def apply(self, ctx: Ctx) -> None:
        """In short transactions (``bulk.write_in_chunks``): a file of 250,000 customers
        in one held SQLite's write lock for seconds. The customers it creates carry the
        job and stay hidden until its last chunk marks it done (``customers_for``); when
        a chunk fails, the customers created before it are deleted again. Changes to
        existing customers are committed chunk by chunk, each audited — an update cannot
        be hidden, and a failed apply leaves those of the chunks before it."""
        codes = list(self.rows)
        created: list[int] = []

        def write(start: int, stop: int) -> None:
            created.extend(self._write(ctx, codes[start:stop]))
            ctx.beat()

        try:
            with bulk.long_write():
                bulk.write_in_chunks(len(codes), write, first=WRITE_FIRST, last=ctx.finish)
        except BaseException:
            if created:
                logger.warning("customers import failed: removing %d customers", len(created))
                bulk.delete_ids(Customer, "id", created)
            raise

    @classmethod
    def discard(cls, job_id: int) -> int:
        """Delete the customers job ``job_id`` created, a few hundred a transaction; one an
        order already refers to (an orders import meanwhile) is kept and shown."""
        removed = 0
        mine = Customer.objects.filter(import_job_id=job_id)
        while True:
            ids = list(
                mine.filter(orders__isnull=True).values_list("pk", flat=True)[: bulk.BATCH_DELETE]
            )
            if not ids:
                mine.update(import_job=None)
                return removed
            bulk.delete_ids(Customer, "id", ids)
            removed += len(ids)

    def write(self, ctx: Ctx) -> None:
        self._write(ctx, list(self.rows))

    def _write(self, ctx: Ctx, codes: list[str]) -> list[int]:
        """Create or update the customers of ``codes``; the ids of those created."""
        new: list[Customer] = []
        for code in codes:
            prow = self.rows[code]
            v = prow.values
            owner = self.owners[v["owner_no"]]
            if code not in self.existing:
                new.append(
                    Customer(
                        code=code,
                        owner=owner,
                        department_id=owner.department_id,
                        import_job_id=ctx.job_id,
                        **{f: v.get(f, "") for f in _FIELDS},
                    )
                )
                continue
            if not self._changes(code):
                continue
            cust = self.existing[code]
            before = snapshot(cust, _AUDITED)
            for f in _FIELDS:
                setattr(cust, f, v.get(f, ""))
            cust.owner, cust.department_id = owner, owner.department_id
            cust.save()
            audit_update(actor=ctx.actor, obj=cust, before=before, note=_("数据导入"))
        for cust in new:
            cust.set_keys()
        Customer.objects.bulk_create(new, batch_size=BATCH)
        for cust in new:
            if cust.code in self.confirmed:
                audit_record(
                    actor=ctx.actor,
                    action=AuditAction.CREATE,
                    obj=cust,
                    note=(_("确认重复后仍创建：%(m)s") % {"m": self.confirmed[cust.code]})[:500],
                )
        return [c.pk for c in new]
