"""Reads of commission runs, filtered by the viewer.

Finance and admins see every run and result; a member sees only their own result and
lines, and only in the current run of a period. Anything else is "not found".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    Dispute,
    RunStatus,
)
from salesops.compensation.rights import is_finance
from salesops.compensation.selectors.plans import rank_plan_of
from salesops.core.access import Viewer
from salesops.core.errors import NotFoundError
from salesops.org.paths import subtree_bounds

# What a viewer may see of a statement (decided in ``statement_for_viewer``).
VIEW_FULL = "full"  # the member themselves, finance, admin: everything incl. disputes
VIEW_UPLINE_FULL = "upline_full"  # an upline under upline_visibility = "full": no disputes
VIEW_SUMMARY = "summary"  # an upline under "summary": paid-as rank, pv and total only


def runs_for(viewer: Viewer) -> QuerySet[CommissionRun]:
    if not is_finance(viewer):
        return CommissionRun.objects.none()
    return CommissionRun.objects.select_related("plan_version", "created_by")


def periods_for(viewer: Viewer) -> QuerySet[CommissionPeriod]:
    if not is_finance(viewer):
        return CommissionPeriod.objects.none()
    return CommissionPeriod.objects.select_related("current_run")


def run_for_viewer(viewer: Viewer, pk: int) -> CommissionRun:
    """A run the viewer may manage (finance/admin), else 404."""
    run = runs_for(viewer).filter(pk=pk).first()
    if run is None:
        raise NotFoundError(_("结算批次不存在"))
    return run


def results_for(viewer: Viewer, run: CommissionRun) -> QuerySet[CommissionResult]:
    """A done run's results the viewer may see. A run still storing (SQLite commits its
    rows in ranges) or failed shows none: its rows are not all there."""
    if run.status != RunStatus.DONE:
        return CommissionResult.objects.none()
    qs = CommissionResult.objects.filter(run=run).select_related("member")
    if is_finance(viewer):
        return qs
    if viewer.member is None:
        return qs.none()
    return qs.filter(member=viewer.member)


@dataclass(frozen=True)
class StatementAccess:
    """A statement the viewer may open, and how much of it (``VIEW_*``)."""

    run: CommissionRun
    result: CommissionResult
    view: str
    is_owner: bool


def _upline_visibility(run: CommissionRun) -> str:
    return rank_plan_of(run.plan_version).statements.upline_visibility


def statement_for_viewer(viewer: Viewer, run_pk: int, member_no: str) -> StatementAccess:
    """A member's statement in a run, with what the viewer may see of it.

    Finance/admin: any statement of a finished run, in full. Everyone else only through
    the period's current run: the member themselves in full; a member whose downline
    (materialised sponsor path) holds the statement's member as the plan's
    ``[statements] upline_visibility`` allows (none → not found, summary, full without
    disputes). Anything else is 404, never 403, so ids cannot be probed.
    """
    missing = NotFoundError(_("结算单不存在"))
    run = CommissionRun.objects.select_related("plan_version").filter(pk=run_pk).first()
    if run is None or run.status != RunStatus.DONE:
        raise missing
    result = (
        CommissionResult.objects.select_related("member")
        .filter(run=run, member__member_no=member_no)
        .first()
    )
    if result is None:
        raise missing
    me = viewer.member
    is_owner = me is not None and me.pk == result.member_id
    if is_finance(viewer):
        return StatementAccess(run, result, VIEW_FULL, is_owner)
    if me is None:
        raise missing
    if not CommissionPeriod.objects.filter(period=run.period, current_run=run).exists():
        raise missing
    if is_owner:
        return StatementAccess(run, result, VIEW_FULL, True)
    lo, hi = subtree_bounds(me.path)
    in_downline = bool(me.path) and lo < result.member.path < hi
    if not in_downline:
        raise missing
    policy = _upline_visibility(run)
    if policy == "full":
        return StatementAccess(run, result, VIEW_UPLINE_FULL, False)
    if policy == "summary":
        return StatementAccess(run, result, VIEW_SUMMARY, False)
    raise missing


def my_results(viewer: Viewer) -> QuerySet[CommissionResult]:
    """The viewer's own results in the current runs of every period."""
    if viewer.member is None:
        return CommissionResult.objects.none()
    current = CommissionPeriod.objects.exclude(current_run=None).values("current_run")
    return (
        CommissionResult.objects.filter(member=viewer.member, run__in=current)
        .select_related("run__plan_version", "member")
        .order_by("-run__period")
    )


# --------------------------------------------------------------------------- disputes


def disputes_for(viewer: Viewer) -> QuerySet[Dispute]:
    """Finance/admin: every dispute; a member: the ones on their own lines; else none."""
    qs = Dispute.objects.select_related("member", "line", "line__run").annotate(
        messages_count=Count("messages")
    )
    if is_finance(viewer):
        return qs
    if viewer.member is None:
        return qs.none()
    return qs.filter(member=viewer.member)


def dispute_for_viewer(viewer: Viewer, pk: int | str) -> Dispute:
    """The one access helper for a dispute: out of scope or missing → 404."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = 0
    found = disputes_for(viewer).filter(pk=key).first()
    if found is None:
        raise NotFoundError(_("疑问不存在"))
    return found


def dispute_messages(dispute: Dispute) -> QuerySet[Any]:
    return dispute.messages.select_related("author").order_by("created_at", "id")


def line_for_dispute(viewer: Viewer, pk: int | str) -> CommissionLine:
    """A line the viewer may ask about: one of their own lines in a current run. 404
    otherwise (finance asks nothing: they answer)."""
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = 0
    if viewer.member is None:
        raise NotFoundError(_("结算明细不存在"))
    current = CommissionPeriod.objects.exclude(current_run=None).values("current_run")
    line = (
        CommissionLine.objects.select_related("run", "member")
        .filter(Q(pk=key), member=viewer.member, run__in=current)
        .first()
    )
    if line is None:
        raise NotFoundError(_("结算明细不存在"))
    return line
