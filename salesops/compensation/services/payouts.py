"""Payouts (奖金发放): one batch per payout date, finance approval, the bank's .xlsx file.

A batch keyed by pay date D holds, from the CURRENT runs of CLOSED months only:

* MONTHLY — sales bonus + morning star + open star of every month M with
  ``payout_date(plan_M, M) == D``;
* OVERRIDE — the override accrued in month M' when the statement that pays it
  (``override_statement_period(plan_M', M')``) is paid on D: the seed's Oct/Nov/Dec
  overrides go with the December statement, on Feb 10;
* ADJUSTMENT — ``CommissionResult.adjustment`` of every MONTHLY month M.

Items are copied by one ``INSERT … SELECT`` per month and kind (never a row per member in
Python), so building stays cheap for a million members. Totals are summed in integer fen.
The approval callbacks (``payout_batch_<outcome>``) are looked up by name (``apps.py``) and
run inside the deciding transaction: a refusal here rolls the decision back.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from salesops.compensation import doctypes
from salesops.compensation.models import (
    CommissionResult,
    PayoutBatch,
    PayoutItem,
    PayoutKind,
    PayoutStatus,
)
from salesops.compensation.rights import is_finance
from salesops.compensation.selectors.payouts import PaySchedule, pay_schedule
from salesops.compensation.services.flows import ensure_flow
from salesops.compensation.services.periods import INPUT_YEARS
from salesops.core.access import Viewer, mask_bank_account, viewer_for
from salesops.core.approvals import approval_submit_again
from salesops.core.audit import audit_create, audit_record, snapshot
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.models import ApprovalRequest, AuditAction, RoleCode, User
from salesops.core.money import from_fen
from salesops.core.transitions import Transitions, transition
from salesops.core.xlsx import neutralise, replacements_logged

# Which status each status may be reached from (a batch is created DRAFT).
PAYOUT_MOVES = Transitions(
    PayoutStatus,
    {
        PayoutStatus.DRAFT: (PayoutStatus.DRAFT, PayoutStatus.REJECTED, PayoutStatus.PENDING),
        PayoutStatus.PENDING: (PayoutStatus.DRAFT, PayoutStatus.REJECTED),
        PayoutStatus.APPROVED: (PayoutStatus.PENDING,),
        PayoutStatus.REJECTED: (PayoutStatus.PENDING,),
        PayoutStatus.EXPORTED: (PayoutStatus.APPROVED,),
    },
)
# Rebuilt and sent for approval from the same statuses; exported again once exported.
EDITABLE = PAYOUT_MOVES.allowed_from(PayoutStatus.PENDING)
EXPORTABLE = (*PAYOUT_MOVES.allowed_from(PayoutStatus.EXPORTED), PayoutStatus.EXPORTED)


def _require_finance(actor: User) -> Viewer:
    viewer = viewer_for(actor)
    if not is_finance(viewer):
        raise PermissionDeniedError(_("只有财务或管理员可以管理奖金发放"))
    return viewer


def _months_text(months: list[dt.date]) -> str:
    return _("、").join(f"{m:%Y-%m}" for m in months)


# --------------------------------------------------------------------------- build


# The amount each kind takes from a result row.
KIND_AMOUNT = {
    PayoutKind.MONTHLY: "(r.sales_bonus + r.morning_star + r.open_star)",
    PayoutKind.OVERRIDE: "r.override",
    PayoutKind.ADJUSTMENT: "r.adjustment",
}


def _insert_items(batch: PayoutBatch, schedule: PaySchedule) -> None:
    """One INSERT … SELECT per (month, kind): zero amounts give no item."""
    q = connection.ops.quote_name
    items, results = q(PayoutItem._meta.db_table), q(CommissionResult._meta.db_table)
    jobs = [(m, PayoutKind.MONTHLY) for m in schedule.monthly]
    jobs += [(m, PayoutKind.ADJUSTMENT) for m in schedule.monthly]
    jobs += [(m, PayoutKind.OVERRIDE) for m in schedule.override]
    with connection.cursor() as cur:
        for month, kind in jobs:
            expr = KIND_AMOUNT[kind]
            cur.execute(
                f"INSERT INTO {items} (batch_id, member_id, period, kind, amount, result_id) "  # noqa: S608
                f"SELECT %s, r.member_id, %s, %s, {expr}, r.id FROM {results} r "
                f"WHERE r.run_id = %s AND {expr} <> 0",
                [batch.pk, month, str(kind), schedule.run_of[month]],
            )


def _locked(batch_pk: int | str) -> PayoutBatch:
    found = PayoutBatch.objects.select_for_update().filter(pk=int(batch_pk)).first()
    if found is None:
        raise NotFoundError(_("发放批次不存在"))
    return found


def _totals(batch: PayoutBatch) -> tuple[Decimal, int]:
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(CAST(ROUND(amount * 100) AS BIGINT)), 0), COUNT(*) "  # noqa: S608
            f"FROM {q(PayoutItem._meta.db_table)} WHERE batch_id = %s",
            [batch.pk],
        )
        fen, count = cur.fetchone()
    return from_fen(int(fen)), int(count)


@transaction.atomic
def payout_batch_build(*, actor: User, pay_date: dt.date) -> PayoutBatch:
    """Create, or rebuild while DRAFT/REJECTED, the batch of ``pay_date`` from the closed
    months' current runs. Refused, naming the months, while any month whose money belongs
    to ``pay_date`` is not closed."""
    _require_finance(actor)
    if pay_date.year not in INPUT_YEARS:
        raise ServiceError(code="invalid_date", message=_("发放日期无效"), field="pay_date")
    schedule = pay_schedule(pay_date)
    if not schedule.months:
        raise ServiceError(
            code="no_months",
            message=_("没有月份的奖金在 %(date)s 发放") % {"date": f"{pay_date:%Y-%m-%d}"},
            field="pay_date",
        )
    if schedule.not_closed:
        raise ServiceError(
            code="months_not_closed",
            message=_("以下月份尚未结账，不能生成 %(date)s 的发放批次：%(months)s")
            % {"date": f"{pay_date:%Y-%m-%d}", "months": _months_text(schedule.not_closed)},
            field="pay_date",
            status=409,
        )
    created = False
    batch = PayoutBatch.objects.filter(pay_date=pay_date).first()
    if batch is None:
        try:
            with transaction.atomic():
                batch = PayoutBatch.objects.create(pay_date=pay_date, created_by=actor)
                created = True
        except IntegrityError:  # built at the same moment by someone else
            batch = PayoutBatch.objects.get(pay_date=pay_date)
    batch = _locked(batch.pk)
    if batch.status not in EDITABLE:
        raise ServiceError(
            code="batch_locked",
            message=_("发放批次%(status)s，不能重新生成") % {"status": batch.get_status_display()},
            status=409,
        )
    before = snapshot(batch, ["status", "total", "items_count"])
    PayoutItem.objects.filter(batch=batch).delete()
    _insert_items(batch, schedule)
    batch.total, batch.items_count = _totals(batch)
    transition(batch, PayoutStatus.DRAFT, allowed=PAYOUT_MOVES, save=False)  # audited below
    batch.save(update_fields=["total", "items_count", "status"])
    note = _("月度：%(monthly)s；季度评估：%(override)s") % {
        "monthly": _months_text(schedule.monthly) or "-",
        "override": _months_text(schedule.override) or "-",
    }
    if created:
        audit_create(actor=actor, obj=batch, fields=["pay_date", "status", "total", "items_count"])
        audit_record(actor=actor, action=AuditAction.CREATE, obj=batch, note=note)
    else:
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=batch,
            changes={
                "status": (before["status"], batch.status),
                "total": (before["total"], batch.total),
                "items_count": (before["items_count"], batch.items_count),
            },
            note=_("重新生成 %(note)s") % {"note": note},
        )
        if before == snapshot(batch, ["status", "total", "items_count"]):
            audit_record(
                actor=actor, action=AuditAction.UPDATE, obj=batch, note=_("重新生成，金额无变化")
            )
    return batch


# --------------------------------------------------------------------------- approval


def _set_status(
    batch: PayoutBatch, status: str, actor: User | None, note: str, **extra: Any
) -> None:
    transition(batch, status, allowed=PAYOUT_MOVES, actor=actor, note=note, **extra)


def _title(batch: PayoutBatch) -> str:
    return _("奖金发放 %(date)s") % {"date": f"{batch.pay_date:%Y-%m-%d}"}


@transaction.atomic
def payout_batch_submit(*, actor: User, batch: PayoutBatch) -> ApprovalRequest:
    """送审: DRAFT/REJECTED → PENDING and an approval request for ``batch.total``. A request
    of this batch that was sent back (退回) to this submitter is resubmitted instead of a
    second one being opened."""
    _require_finance(actor)
    batch = _locked(batch.pk)
    if batch.status not in EDITABLE:
        raise ServiceError(
            code="not_submittable",
            message=_("发放批次%(status)s，不能送审") % {"status": batch.get_status_display()},
            status=409,
        )
    if batch.items_count == 0:
        raise ServiceError(code="empty_batch", message=_("发放批次没有明细，不能送审"), status=409)
    _set_status(batch, PayoutStatus.PENDING, actor, _("提交发放审批"))
    ensure_flow(doctypes.PAYOUT_BATCH)
    return approval_submit_again(
        actor=actor,
        doc_type=doctypes.PAYOUT_BATCH,
        object_id=batch.pk,
        title=_title(batch),
        amount=batch.total,
    )


def payout_batch_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    """Approval passed: APPROVED. Refused (rolling the decision back) unless the batch is
    still pending with the very total the request was for."""
    batch = _locked(request.object_id)
    if batch.status != PayoutStatus.PENDING or request.amount != batch.total:
        raise ServiceError(
            code="batch_changed",
            message=_("发放批次已变更（状态或金额与审批单不符），请重新送审"),
            status=409,
        )
    _set_status(
        batch,
        PayoutStatus.APPROVED,
        actor,
        _("发放审批通过 #%(req)s") % {"req": request.pk},
        approved_at=timezone.now(),
    )


def _back(request: ApprovalRequest, actor: User | None, status: str, why: str) -> None:
    batch = _locked(request.object_id)
    if batch.status != PayoutStatus.PENDING:
        return
    _set_status(batch, status, actor, f"{why} #{request.pk}")


def payout_batch_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back(request, actor, PayoutStatus.REJECTED, _("发放审批被驳回"))


def payout_batch_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back(request, actor, PayoutStatus.DRAFT, _("发放审批被退回"))


def payout_batch_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _back(request, actor, PayoutStatus.DRAFT, _("发放申请已撤回"))


# --------------------------------------------------------------------------- export


def _export_headers() -> list[str]:
    return [_("会员编号"), _("姓名"), _("开户银行"), _("银行账号"), _("金额"), _("明细"), _("备注")]


@dataclass
class MemberPay:
    member_no: str
    name: str
    bank_name: str
    bank_account: str
    amount: Decimal
    detail: list[str]


def _member_pays(batch: PayoutBatch) -> Iterator[MemberPay]:
    """The batch's items folded per member (one streamed query, items grouped in order)."""
    items: QuerySet[PayoutItem] = (
        PayoutItem.objects.filter(batch=batch)
        .select_related("member")
        .order_by("member__member_no", "member_id", "period", "kind")
    )
    labels = dict(PayoutKind.choices)
    current: MemberPay | None = None
    current_id = None
    for item in items.iterator(chunk_size=2000):
        if item.member_id != current_id:
            if current is not None:
                yield current
            m = item.member
            current_id = item.member_id
            current = MemberPay(m.member_no, m.name, m.bank_name, m.bank_account, Decimal(0), [])
        assert current is not None
        current.amount += item.amount
        current.detail.append(f"{item.period:%Y-%m} {labels[item.kind]} {item.amount:.2f}")
    if current is not None:
        yield current


def _row(ws: object, values: list[object], bold: Font | None = None) -> list[WriteOnlyCell]:
    cells = []
    for v in values:
        cell = WriteOnlyCell(ws, value=neutralise(v))  # type: ignore[arg-type]
        if bold is not None:
            cell.font = bold
        cells.append(cell)
    return cells


@replacements_logged("payout_batch")
def payout_batch_export(*, actor: User, batch: PayoutBatch) -> bytes:
    """The bank file (.xlsx): one row per member with the total and its detail, a total
    row equal to ``batch.total``, and a second sheet with every item. Allowed once APPROVED
    (then EXPORTED); every export is audited. Full account numbers for finance only.

    The file is built outside any transaction — it only reads, and at a million members
    it takes a while, which on SQLite would hold the one write lock throughout (every
    transaction there begins IMMEDIATE). An approved batch's items cannot change; the
    short transaction at the end still checks the batch is exportable and its total is
    the file's before it records the export."""
    viewer = _require_finance(actor)
    found = PayoutBatch.objects.filter(pk=batch.pk).first()
    if found is None:
        raise NotFoundError(_("发放批次不存在"))
    if found.status not in EXPORTABLE:
        raise _not_approved()
    full = viewer.role == RoleCode.FINANCE
    data, members, total, missing = _bank_file(found, full=full)
    with transaction.atomic():
        batch = _locked(batch.pk)
        if batch.status not in EXPORTABLE:
            raise _not_approved()
        if total != batch.total:
            raise ServiceError(
                code="batch_changed", message=_("发放批次已变更，请重新导出"), status=409
            )
        now = timezone.now()
        if batch.status != PayoutStatus.EXPORTED:
            _set_status(batch, PayoutStatus.EXPORTED, actor, _("首次导出银行文件"), exported_at=now)
        else:
            batch.exported_at = now
            batch.save(update_fields=["exported_at"])
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            obj=batch,
            note=_("导出银行文件：%(n)s 人，合计 %(total)s，缺少账号 %(missing)s 人，账号%(shown)s")
            % {
                "n": members,
                "total": f"{total:.2f}",
                "missing": missing,
                "shown": _("完整") if full else _("已脱敏"),
            },
        )
    return data


def _not_approved() -> ServiceError:
    return ServiceError(
        code="not_approved", message=_("发放批次尚未审批通过，不能导出"), status=409
    )


def _bank_file(batch: PayoutBatch, *, full: bool) -> tuple[bytes, int, Decimal, int]:
    """The bank file's bytes, with its member count, total and members without account."""
    no_account = _("缺少银行账号")
    wb = Workbook(write_only=True)
    bold = Font(bold=True)
    ws = wb.create_sheet(title=_("发放汇总"))
    ws.append(_row(ws, list(_export_headers()), bold))
    total = Decimal(0)
    members = missing = 0
    for pay in _member_pays(batch):
        account = pay.bank_account if full else mask_bank_account(pay.bank_account)
        members += 1
        missing += not pay.bank_account
        total += pay.amount
        remark = no_account if not pay.bank_account else ""
        if pay.amount < 0:
            remark = "; ".join(x for x in (remark, _("应发为负（扣回）")) if x)
        ws.append(
            _row(
                ws,
                [
                    pay.member_no,
                    pay.name,
                    pay.bank_name,
                    account,
                    pay.amount,
                    "; ".join(pay.detail),
                    remark,
                ],
            )
        )
    ws.append(_row(ws, [_("合计"), "", "", "", total, _("%(n)s 人") % {"n": members}, ""], bold))
    detail = wb.create_sheet(title=_("发放明细"))
    detail.append(
        _row(detail, [_("会员编号"), _("姓名"), _("结算月份"), _("类别"), _("金额")], bold)
    )
    labels = dict(PayoutKind.choices)
    for item in (
        PayoutItem.objects.filter(batch=batch)
        .select_related("member")
        .order_by("member__member_no", "period", "kind")
        .iterator(chunk_size=2000)
    ):
        detail.append(
            _row(
                detail,
                [
                    item.member.member_no,
                    item.member.name,
                    f"{item.period:%Y-%m}",
                    str(labels[item.kind]),
                    item.amount,
                ],
            )
        )
    with tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024) as fh:
        wb.save(fh)
        fh.seek(0)
        data = fh.read()
    return data, members, total, missing
