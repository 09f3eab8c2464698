"""The demo's commission history: every demo month before the current one computed with
the seed plan, all but the last two closed through the month-close approval (which writes
rank history), one payout batch approved and one waiting in finance2's inbox, and one
question on a line of member1's statement answered by finance.

Everything goes through the same services the screens use, so the demo shows real
approvals, audit rows and notifications.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.compensation.engine.schedule import Period, payout_date
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    PayoutBatch,
    RunStatus,
)
from salesops.compensation.selectors.plans import rank_plan_of
from salesops.compensation.services.disputes import dispute_open, dispute_reply
from salesops.compensation.services.payouts import payout_batch_build, payout_batch_submit
from salesops.compensation.services.periods import period_close_submit
from salesops.compensation.services.runs import (
    commission_run_process,
    commission_run_start,
)
from salesops.core.approvals import approval_act
from salesops.core.errors import ServiceError
from salesops.core.models import ApprovalRequest, ApprovalTask, TaskStatus, User

OPEN_MONTHS = 2  # the newest months stay open (runs can still be redone)

Out = Callable[[str], None]


def _approve(request: ApprovalRequest, approver: User) -> None:
    task = ApprovalTask.objects.get(request=request, approver=approver, status=TaskStatus.PENDING)
    approval_act(actor=approver, task_id=task.pk, action="approve", comment="")


def _run(month: datetime.date, finance: User) -> None:
    with transaction.atomic():
        run = commission_run_start(actor=finance, period=month)
    # The worker would pick the queued run up; the demo computes it right away (the worker
    # then finds it already done and skips it).
    status = commission_run_process(run_id=run.pk)
    if status != RunStatus.DONE:
        run.refresh_from_db()
        raise ServiceError(code="demo_run_failed", message=f"{month:%Y-%m}: {run.error}")


def build_demo_compensation(
    months: list[datetime.date], users: dict[str, User], out: Out = print
) -> dict[str, int]:
    t0 = time.perf_counter()
    finance, finance2 = users["finance"], users["finance2"]
    closed = months[:-OPEN_MONTHS] if len(months) > OPEN_MONTHS else []
    for month in months:
        _run(month, finance)
        if month in closed:
            state = CommissionPeriod.objects.get(period=month)
            _approve(period_close_submit(actor=finance, period=state), finance2)

    batches = 0
    if len(closed) >= 2:
        # An earlier pay date approved by finance2 (ready for the bank export); the newest
        # one that closed months settle waits in finance2's approval inbox.
        newest = CommissionPeriod.objects.select_related("current_run__plan_version").get(
            period=closed[-1]
        )
        assert newest.current_run is not None
        plan = rank_plan_of(newest.current_run.plan_version)
        for month, approve in ((closed[-3] if len(closed) >= 3 else closed[0], True),
                               (closed[-1], False)):  # fmt: skip
            pay_date = payout_date(plan, Period(month.year, month.month))
            try:
                batch = payout_batch_build(actor=finance, pay_date=pay_date)
            except ServiceError:  # e.g. a quarter's override month before the demo's first
                continue
            request = payout_batch_submit(actor=finance, batch=batch)
            if approve:
                _approve(request, finance2)
            batches += 1

    disputes = 0
    member = getattr(users["member1"], "member", None)
    last = CommissionPeriod.objects.filter(period=months[-1]).first() if months else None
    if member is not None and last is not None and last.current_run_id:
        line = (
            CommissionLine.objects.filter(run_id=last.current_run_id, member=member)
            .order_by("seq")
            .first()
        )
        if line is not None:
            dispute = dispute_open(
                actor=users["member1"],
                line=line,
                body=_("这一项的业绩好像少算了一张 20 号之后的订单，请帮忙核对。"),
            )
            dispute_reply(
                actor=finance,
                dispute=dispute,
                body=_("已核对：该订单 %(m)s 月 21 日才确认，按方案计入 20 号之后的业绩。")
                % {"m": f"{months[-1]:%m}"},
            )
            disputes = 1
    counts = {
        "commission_runs": len(months),
        "closed_months": len(closed),
        "payout_batches": PayoutBatch.objects.count() if batches else 0,
        "disputes": disputes,
    }
    detail = ", ".join(f"{k}={v:,}" for k, v in counts.items())
    out(f"  {_('奖金结算'):<28} {detail:<44} {time.perf_counter() - t0:6.1f}s")
    return counts
