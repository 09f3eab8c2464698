"""Month close (月结): finance asks to close a month through an approval; once approved the
month never changes again. Closing writes every member's rank of the month into the rank
history (the next month's "title held before") and raises ``Member.title`` where the run
says so.

The approval callbacks are looked up by name (see ``apps.py``) and run inside the deciding
transaction, so a refusal here rolls the decision back.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.compensation import doctypes
from salesops.compensation.models import (
    ACTIVE_RUN_STATUSES,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PeriodStatus,
    RunStatus,
)
from salesops.compensation.rights import is_finance
from salesops.compensation.services.flows import ensure_flow
from salesops.core.access import viewer_for
from salesops.core.approvals import approval_submit
from salesops.core.audit import audit_record, snapshot
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.models import ApprovalRequest, AuditAction, AuditLog, User
from salesops.core.transitions import Transitions, transition
from salesops.org.models import Member, RankHistory

AUDIT_BATCH = 2000


# The years a month or pay date typed by a user may name: the schedules and trip windows
# reach years before and after it, which must still be dates.
INPUT_YEARS = range(1900, 3000)


def parse_month(text: str) -> dt.date | None:
    """``YYYY-MM`` → first day of that month; None for anything else."""
    try:
        year, month = text.strip().split("-")
        if len(year) != 4 or len(month) != 2 or int(year) not in INPUT_YEARS:
            return None
        return dt.date(int(year), int(month), 1)
    except (ValueError, AttributeError):
        return None


def month_from_text(text: str, *, field: str = "period", code: str = "invalid_period") -> dt.date:
    """A month typed by the user (form or API): ``YYYY-MM``, or a field error."""
    month = parse_month(text)
    if month is None:
        raise ServiceError(code=code, message=_("请输入月份，格式 YYYY-MM"), field=field)
    return month


# Which status each status may be reached from. A close request sent back (退回) reopens
# the month; resubmitted as is from the approval centre it passes from OPEN.
PERIOD_MOVES = Transitions(
    PeriodStatus,
    {
        PeriodStatus.CLOSING: (PeriodStatus.OPEN,),
        PeriodStatus.CLOSED: (PeriodStatus.OPEN, PeriodStatus.CLOSING),
        PeriodStatus.OPEN: (PeriodStatus.CLOSING,),
    },
)


def _locked(period_pk: int | str) -> CommissionPeriod:
    found = (
        CommissionPeriod.objects.select_for_update(of=("self",))
        .select_related("current_run")
        .filter(pk=int(period_pk))
        .first()
    )
    if found is None:
        raise NotFoundError(_("结算月份不存在"))
    return found


def _check_closable(state: CommissionPeriod) -> CommissionRun:
    """The month's current run, if the month may be closed on it now."""
    run = state.current_run
    if run is None or run.status != RunStatus.DONE:
        raise ServiceError(
            code="no_result", message=_("该月份还没有完成的结算结果，请先发起结算"), status=409
        )
    if CommissionRun.objects.filter(period=state.period, status__in=ACTIVE_RUN_STATUSES).exists():
        raise ServiceError(
            code="run_in_progress",
            message=_("该月份有结算正在进行，请等待其完成后再结账"),
            status=409,
        )
    return run


def period_close_refusal(state: CommissionPeriod) -> ServiceError | None:
    """Why ``state`` cannot be put up for closing now (the error 申请结账 raises), or None:
    the page offers the button by the same rule."""
    if state.status == PeriodStatus.CLOSING:
        return ServiceError(code="period_closing", message=_("该月份已在结账审批中"), status=409)
    if state.status == PeriodStatus.CLOSED:
        return ServiceError(code="period_closed", message=_("该月份已结账"), status=409)
    if state.period >= timezone.localdate().replace(day=1):
        return ServiceError(
            code="period_not_ended", message=_("该月份尚未结束，不能结账"), status=409
        )
    try:
        _check_closable(state)
    except ServiceError as exc:
        return exc
    return None


@transaction.atomic
def period_close_submit(*, actor: User, period: CommissionPeriod) -> ApprovalRequest:
    """Ask to close ``period`` (申请结账): OPEN → CLOSING and an approval request whose amount
    is the current run's total. Refused unless the month has ended, has a finished current
    run and nothing running."""
    if not is_finance(viewer_for(actor)):
        raise PermissionDeniedError(_("只有财务或管理员可以申请结账"))
    state = _locked(period.pk)
    refusal = period_close_refusal(state)
    if refusal is not None:
        raise refusal
    run = state.current_run
    assert run is not None
    transition(
        state,
        PeriodStatus.CLOSING,
        allowed=PERIOD_MOVES,
        actor=actor,
        note=_("申请结账，当前结果 #%(run)s") % {"run": run.pk},
        close_requested_by=actor,
    )
    ensure_flow(doctypes.PERIOD_CLOSE)
    return approval_submit(
        actor=actor,
        doc_type=doctypes.PERIOD_CLOSE,
        object_id=state.pk,
        title=_("奖金月结 %(month)s") % {"month": f"{state.period:%Y-%m}"},
        amount=run.total,
    )


def _write_rank_history(state: CommissionPeriod, run: CommissionRun) -> int:
    """Upsert (member, month) → (paid_as, title) for every result of ``run``, in one
    statement: a close must not cost one query per member."""
    q = connection.ops.quote_name
    history, results = q(RankHistory._meta.db_table), q(CommissionResult._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {history} (member_id, period, paid_as, title) "  # noqa: S608
            f"SELECT member_id, %s, paid_as, title FROM {results} WHERE run_id = %s "
            "ON CONFLICT (member_id, period) DO UPDATE "
            "SET paid_as = excluded.paid_as, title = excluded.title",
            [state.period, run.pk],
        )
        return int(cur.rowcount or 0)


def _update_titles(state: CommissionPeriod, run: CommissionRun, actor: User | None) -> int:
    """Set ``Member.title`` to the closed month's title where it differs: one UPDATE, and one
    audit row per changed member (bulk-inserted)."""
    changed = list(
        CommissionResult.objects.filter(run=run)
        .exclude(title=F("member__title"))
        .values_list("member_id", "member__member_no", "member__name", "member__title", "title")
    )
    if not changed:
        return 0
    q = connection.ops.quote_name
    members, results = q(Member._meta.db_table), q(CommissionResult._meta.db_table)
    with connection.cursor() as cur:
        cur.execute(
            f"UPDATE {members} SET title = (SELECT r.title FROM {results} r "  # noqa: S608
            f"WHERE r.run_id = %s AND r.member_id = {members}.id) "
            f"WHERE id IN (SELECT r.member_id FROM {results} r JOIN {members} m "
            "ON m.id = r.member_id WHERE r.run_id = %s AND r.title <> m.title)",
            [run.pk, run.pk],
        )
    actor_obj = actor if actor is not None and actor.is_authenticated else None
    note = _("月结 %(month)s 更新职级") % {"month": f"{state.period:%Y-%m}"}
    AuditLog.objects.bulk_create(
        (
            AuditLog(
                actor=actor_obj,
                action=AuditAction.UPDATE,
                object_type="org.member",
                object_id=str(pk),
                object_repr=f"{name}（{no}）"[:200],
                field="title",
                before=old,
                after=new,
                note=note,
            )
            for pk, no, name, old, new in changed
        ),
        batch_size=AUDIT_BATCH,
    )
    return len(changed)


def period_close_approved(request: ApprovalRequest, *, actor: User | None = None) -> None:
    """Approval passed: CLOSED, rank history written, titles raised. A month that has
    meanwhile got a run in progress (possible after a 退回 and 重新提交) refuses, which
    rolls the decision back."""
    state = _locked(request.object_id)
    if state.status == PeriodStatus.CLOSED:
        return
    run = _check_closable(state)
    # A request sent back (退回) and resubmitted as is leaves the month open meanwhile: a
    # rerun may have changed the result the approvers were asked about.
    if request.amount != run.total:
        raise ServiceError(
            code="period_changed",
            message=_("该月份的结算结果已变更（金额与审批单不符），请重新申请结账"),
            status=409,
        )
    before = snapshot(state, ["status", "closed_at"])
    # Audited below with what the close wrote.
    transition(
        state, PeriodStatus.CLOSED, allowed=PERIOD_MOVES, audit=False, closed_at=timezone.now()
    )
    ranks = _write_rank_history(state, run)
    titles = _update_titles(state, run, actor)
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=state,
        changes={
            "status": (before["status"], state.status),
            "closed_at": (before["closed_at"], state.closed_at),
        },
        note=_(
            "结账审批通过 #%(req)s，结果 #%(run)s，职级历史 %(ranks)s 条，职级变更 %(titles)s 人"
        )
        % {"req": request.pk, "run": run.pk, "ranks": ranks, "titles": titles},
    )


def _reopen(request: ApprovalRequest, actor: User | None, why: str) -> None:
    state = _locked(request.object_id)
    if state.status != PeriodStatus.CLOSING:
        return
    transition(
        state, PeriodStatus.OPEN, allowed=PERIOD_MOVES, actor=actor, note=f"{why} #{request.pk}"
    )


def period_close_rejected(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _reopen(request, actor, _("结账审批被驳回"))


def period_close_returned(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _reopen(request, actor, _("结账审批被退回"))


def period_close_cancelled(request: ApprovalRequest, *, actor: User | None = None) -> None:
    _reopen(request, actor, _("结账申请已撤回"))
