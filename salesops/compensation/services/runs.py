"""Commission runs: start (refusing a second run of one period) and execute.

The execution reads the network and the period's orders with raw cursor reads into NumPy,
computes with the vectorised engine outside any transaction (progress is written as short
updates meanwhile), then stores every result and line and switches the period's current
run: in one transaction on PostgreSQL, in short committed ranges and a final switch on
SQLite (``_store``). Either way only a done run's rows are ever read, and a crash anywhere
leaves the previous current results untouched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.compensation.engine.plan import PlanError
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import compute_period
from salesops.compensation.errors import RunInputError
from salesops.compensation.models import (
    ACTIVE_RUN_STATUSES,
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PeriodStatus,
    RunStatus,
)
from salesops.compensation.rights import is_finance
from salesops.compensation.selectors.plans import rank_plan_of
from salesops.compensation.services.adjustments import (
    Adjustments,
    adjustments_for_run,
    adjustments_store,
)
from salesops.compensation.services.plans import plan_version_in_force
from salesops.compensation.services.runio import (
    LINE_COLUMNS,
    RESULT_COLUMNS,
    build_rows,
    bulk_insert,
    read_period_input,
    run_rows_delete,
    staged,
    staged_copy_in_chunks,
    store_settings,
)
from salesops.core.access import viewer_for
from salesops.core.audit import audit_create, audit_record
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, User
from salesops.core.sqlitedb import checkpoint_after
from salesops.core.transitions import Transitions, claim, transition

logger = logging.getLogger(__name__)

# Which status each status may be reached from (a run is created QUEUED).
RUN_MOVES = Transitions(
    RunStatus,
    {
        RunStatus.RUNNING: (RunStatus.QUEUED,),
        RunStatus.DONE: (RunStatus.RUNNING,),
        RunStatus.FAILED: ACTIVE_RUN_STATUSES,  # a crash, bad input, or 重置 of a stuck run
    },
)

# --------------------------------------------------------------------------- start


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


@transaction.atomic
def commission_run_start(*, actor: User, period: dt.date) -> CommissionRun:
    """Queue a run of ``period``; refused when the period is closed or already running."""
    viewer = viewer_for(actor)
    if not is_finance(viewer):
        raise PermissionDeniedError(_("只有财务或管理员可以发起结算"))
    first = month_start(period)
    if first > month_start(timezone.localdate()):
        raise ServiceError(code="period_in_future", message=_("不能结算未来的月份"), field="period")
    state, _created = CommissionPeriod.objects.get_or_create(period=first)
    # Serialise starts of one period; the partial unique index backs this up.
    state = CommissionPeriod.objects.select_for_update().get(pk=state.pk)
    if state.status == PeriodStatus.CLOSED:
        raise ServiceError(
            code="period_closed", message=_("该月份已结账，不能重新结算"), status=409
        )
    if state.status == PeriodStatus.CLOSING:
        raise ServiceError(
            code="period_closing",
            message=_("该月份正在结账审批中，不能重新结算；如需重算请先撤回或驳回结账申请"),
            status=409,
        )
    busy = _("该月份已有结算正在进行，请等待其完成")
    if CommissionRun.objects.filter(period=first, status__in=ACTIVE_RUN_STATUSES).exists():
        raise ServiceError(code="run_in_progress", message=busy, status=409)
    version = plan_version_in_force(first)
    try:
        with transaction.atomic():
            run = CommissionRun.objects.create(period=first, plan_version=version, created_by=actor)
    except IntegrityError:
        raise ServiceError(code="run_in_progress", message=busy, status=409) from None
    audit_create(actor=actor, obj=run, fields=["period", "plan_version", "status"])

    from salesops.compensation.tasks import commission_run_execute

    run_id = run.pk
    transaction.on_commit(lambda: commission_run_execute.enqueue(run_id))
    return run


# --------------------------------------------------------------------------- execute


def _progress(run_id: int, value: int, **extra: Any) -> None:
    # A run reset meanwhile (重置) stays failed.
    CommissionRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
        progress=value, **extra
    )


def commission_run_process(*, run_id: int) -> str:
    """Execute a queued run (called by the task). Returns the final status."""
    claimed = claim(
        CommissionRun.objects.filter(pk=run_id),
        RunStatus.RUNNING,
        allowed=RUN_MOVES,
        progress=5,
        started_at=timezone.now(),
    )
    if not claimed:
        return "skipped"
    run = CommissionRun.objects.select_related("plan_version").get(pk=run_id)
    try:
        plan = rank_plan_of(run.plan_version)
        period = Period(run.period.year, run.period.month)
        inp, pks, member_nos = read_period_input(plan, period)
        _progress(run_id, 30)
        result = compute_period(plan, inp, period)
        _progress(run_id, 60)
        results, lines, total = build_rows(run, result, pks, member_nos)
        _progress(run_id, 70)
        adjustments = adjustments_for_run(run, result, pks, results, lines)
        _progress(run_id, 80)
        _store(run, results, lines, total, ignored=result.ignored_orders, adjustments=adjustments)
    except (RunInputError, PlanError, ValueError) as exc:
        _fail(run_id, str(exc))
        return RunStatus.FAILED
    except Exception as exc:  # a crash must still leave a failed run, never a stuck one
        logger.exception("commission run %s crashed", run_id)
        _fail(run_id, f"{type(exc).__name__}: {exc}")
        return RunStatus.FAILED
    return RunStatus.DONE


def _fail(run_id: int, message: str) -> None:
    failed = claim(
        CommissionRun.objects.filter(pk=run_id),
        RunStatus.FAILED,
        allowed=RUN_MOVES,
        error=message[:4000],
        finished_at=timezone.now(),
    )
    if not failed:
        return  # already reset by finance: keep that reason
    audit_record(
        actor=None,
        action=AuditAction.UPDATE,
        object_type="compensation.commissionrun",
        object_id=str(run_id),
        changes={"status": (RunStatus.RUNNING, RunStatus.FAILED)},
        note=message[:200],
    )


def _storable(run: CommissionRun) -> None:
    """Raise unless ``run`` may still store: its month open and not closing, the run
    itself still running (not reset meanwhile). Inside the caller's transaction."""
    state = CommissionPeriod.objects.get(period=run.period)
    if state.status == PeriodStatus.CLOSED:
        raise RunInputError(_("该月份已结账，结果未保存"))
    if state.status == PeriodStatus.CLOSING:
        raise RunInputError(_("该月份正在结账审批中，结果未保存"))
    if not CommissionRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).exists():
        raise RunInputError(_("该结算已被重置，结果未保存"))


def _store(
    run: CommissionRun,
    results: Sequence[tuple[Any, ...]],
    lines: Sequence[tuple[Any, ...]],
    total: Decimal,
    *,
    ignored: int,
    adjustments: Adjustments | None = None,
) -> None:
    """Store the run's rows and make it the month's current run.

    SQLite, rows staged: the results and lines are copied in ranges of about
    ``SALESOPS_RUN_WRITE_CHUNK_SECONDS`` each committed on its own (logins and other
    writers get in between), then one short transaction switches the month's current run
    and marks the run done. Until then nobody reads the rows (only done runs are shown);
    if anything fails they are removed again (``run_rows_delete``; a worker that died is
    cleaned up by the stale-run job). Elsewhere — PostgreSQL, whose COPY blocks no other
    writer, or inside an outer transaction — everything is one transaction as before."""
    adjustments = adjustments or Adjustments()
    chunked = False
    with (
        staged(
            run.pk,
            (CommissionResult, RESULT_COLUMNS, results),
            (CommissionLine, LINE_COLUMNS, lines),
        ),
        checkpoint_after(),
    ):
        try:
            with transaction.atomic():
                _storable(run)
            for model, columns, rows in (
                (CommissionResult, RESULT_COLUMNS, results),
                (CommissionLine, LINE_COLUMNS, lines),
            ):
                copied = staged_copy_in_chunks(model, columns, rows, check=lambda: _storable(run))
                chunked = chunked or copied > 0
                if copied:
                    _progress(run.pk, 85 if model is CommissionResult else 88)
            _store_finish(
                run, results, lines, total, ignored=ignored, adjustments=adjustments,
                chunked=chunked,
            )  # fmt: skip
        except BaseException:
            if connection.vendor == "sqlite" and not connection.in_atomic_block:
                run_rows_delete(run.pk)  # what committed ranges left, if any
            raise


def _store_finish(
    run: CommissionRun,
    results: Sequence[tuple[Any, ...]],
    lines: Sequence[tuple[Any, ...]],
    total: Decimal,
    *,
    ignored: int,
    adjustments: Adjustments,
    chunked: bool,
) -> None:
    """The store's one transaction: the rows not copied yet, the adjustments, the month's
    current run and the run's DONE, audited."""
    with transaction.atomic():
        state = CommissionPeriod.objects.select_for_update().get(period=run.period)
        if state.status == PeriodStatus.CLOSED:
            raise RunInputError(_("该月份已结账，结果未保存"))
        if state.status == PeriodStatus.CLOSING:
            raise RunInputError(_("该月份正在结账审批中，结果未保存"))
        # Claim the row (the UPDATE holds its lock to the commit) so a concurrent 重置
        # either waits for this store or wins and this store stops here.
        if not CommissionRun.objects.filter(pk=run.pk, status=RunStatus.RUNNING).update(
            progress=90
        ):
            raise RunInputError(_("该结算已被重置，结果未保存"))
        store_settings()
        previous = state.current_run_id
        if not chunked:
            bulk_insert(CommissionResult, RESULT_COLUMNS, results)
            bulk_insert(CommissionLine, LINE_COLUMNS, lines)
        adjustments_store(run, adjustments)
        state.current_run = run
        state.save(update_fields=["current_run"])
        members = len(results) + len(adjustments.new_results)
        claim(
            CommissionRun.objects.filter(pk=run.pk),
            RunStatus.DONE,
            allowed=RUN_MOVES,
            progress=100,
            finished_at=timezone.now(),
            members_count=members,
            total=total,
            ignored_orders=ignored,
        )
        note = f"members={members} total={total}"
        if adjustments.lines:
            months = ",".join(f"{m:%Y-%m}" for m in adjustments.months)
            note += f" adjustments={adjustments.total} ({months})"
        audit_record(
            actor=None,
            action=AuditAction.UPDATE,
            obj=state,
            changes={"current_run": (str(previous or ""), str(run.pk))},
            note=note,
        )


# --------------------------------------------------------------------------- stuck runs


def stale_minutes() -> int:
    return int(getattr(settings, "COMP_RUN_STALE_MINUTES", 30))


def run_is_stale(run: CommissionRun, *, now: dt.datetime | None = None) -> bool:
    """A queued/running run that has not finished within COMP_RUN_STALE_MINUTES."""
    if not run.is_active:
        return False
    since = run.started_at or run.created_at
    return (now or timezone.now()) - since > dt.timedelta(minutes=stale_minutes())


@transaction.atomic
def commission_run_reset(*, actor: User, run: CommissionRun) -> CommissionRun:
    """重置: mark a stuck run failed so the month can be run again. Only runs queued or
    running for longer than COMP_RUN_STALE_MINUTES; a fresh run may still be working."""
    if not is_finance(viewer_for(actor)):
        raise PermissionDeniedError(_("只有财务或管理员可以重置结算"))
    locked = CommissionRun.objects.select_for_update().get(pk=run.pk)
    if not locked.is_active:
        raise ServiceError(
            code="run_not_active", message=_("只有排队中或计算中的结算可以重置"), status=409
        )
    if not run_is_stale(locked):
        raise ServiceError(
            code="run_not_stale",
            message=_("该结算开始不足 %(minutes)s 分钟，可能仍在计算，暂不能重置")
            % {"minutes": stale_minutes()},
            status=409,
        )
    _mark_reset(locked, actor=actor, error=_("超时未完成，已由 %(user)s 重置") % {"user": actor})
    return locked


def _mark_reset(locked: CommissionRun, *, actor: User | None, error: str) -> None:
    """A locked stuck run → failed, audited with the reason (重置 by finance or the job)."""
    before = transition(
        locked,
        RunStatus.FAILED,
        allowed=RUN_MOVES,
        audit=False,  # audited below, with the reason
        finished_at=timezone.now(),
        error=error,
    )
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=locked,
        changes={"status": (before, locked.status)},
        note=_("重置卡住的结算"),
    )


def commission_runs_reset_stale(*, now: dt.datetime) -> str:
    """Scheduled job: mark failed every run queued or running for longer than
    COMP_RUN_STALE_MINUTES (its worker died), so the month can be run again; audited
    with no actor. Idempotent: a reset run is no longer active."""
    cutoff = now - dt.timedelta(minutes=stale_minutes())
    reset = 0
    stale = CommissionRun.objects.filter(status__in=ACTIVE_RUN_STATUSES).filter(
        Q(started_at__lt=cutoff) | Q(started_at__isnull=True, created_at__lt=cutoff)
    )
    for pk in stale.values_list("pk", flat=True):
        with transaction.atomic():
            run = CommissionRun.objects.select_for_update().get(pk=pk)
            if not run_is_stale(run, now=now):
                continue
            _mark_reset(run, actor=None, error=_("超时未完成，已由系统自动重置"))
            reset += 1
    removed = failed_runs_purge()
    if removed:
        return _("重置了 %(n)s 个超时的结算，清理了未完成结果 %(rows)s 行") % {
            "n": reset,
            "rows": removed,
        }
    return _("重置了 %(n)s 个超时的结算") % {"n": reset}


def failed_runs_purge() -> int:
    """Remove the rows a failed run left (its worker died part-way through a chunked
    store, then the run was reset). A failed run is never shown, and only failed runs
    are looked at, each through the tables' run index. Idempotent."""
    removed = 0
    failed = CommissionRun.objects.filter(status=RunStatus.FAILED).values_list("pk", flat=True)
    for pk in failed.iterator():
        has_rows = (
            CommissionResult.objects.filter(run_id=pk).exists()
            or CommissionLine.objects.filter(run_id=pk).exists()
        )
        if has_rows:
            removed += run_rows_delete(pk)
            logger.info("removed the rows of failed commission run %s", pk)
    return removed
