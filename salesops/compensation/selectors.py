"""Reads of commission runs, filtered by the viewer.

Finance and admins see every run and result; a member sees only their own result and
lines, and only in the current run of a period. Anything else is "not found".
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    RunStatus,
)
from salesops.core.access import Viewer
from salesops.core.errors import NotFoundError
from salesops.core.models import RoleCode

FINANCE_ROLES = (RoleCode.FINANCE,)


def can_manage_runs(viewer: Viewer) -> bool:
    return viewer.has_role(*FINANCE_ROLES)


def runs_for(viewer: Viewer) -> QuerySet[CommissionRun]:
    if not can_manage_runs(viewer):
        return CommissionRun.objects.none()
    return CommissionRun.objects.select_related("plan_version", "created_by")


def periods_for(viewer: Viewer) -> QuerySet[CommissionPeriod]:
    if not can_manage_runs(viewer):
        return CommissionPeriod.objects.none()
    return CommissionPeriod.objects.select_related("current_run")


def run_for_viewer(viewer: Viewer, pk: int) -> CommissionRun:
    """A run the viewer may manage (finance/admin), else 404."""
    run = runs_for(viewer).filter(pk=pk).first()
    if run is None:
        raise NotFoundError(_("结算批次不存在"))
    return run


def results_for(viewer: Viewer, run: CommissionRun) -> QuerySet[CommissionResult]:
    qs = CommissionResult.objects.filter(run=run).select_related("member")
    if can_manage_runs(viewer):
        return qs
    if viewer.member is None:
        return qs.none()
    return qs.filter(member=viewer.member)


def statement_for_viewer(
    viewer: Viewer, run_pk: int, member_no: str
) -> tuple[CommissionRun, CommissionResult, list[CommissionLine]]:
    """A member's result and lines in a run: finance/admin for anyone; a member for
    themselves in the period's current run. Anything else is 404."""
    run = CommissionRun.objects.select_related("plan_version").filter(pk=run_pk).first()
    missing = NotFoundError(_("结算单不存在"))
    if run is None or run.status != RunStatus.DONE:
        raise missing
    if not can_manage_runs(viewer):
        own = viewer.member is not None and viewer.member.member_no == member_no
        current = CommissionPeriod.objects.filter(period=run.period, current_run=run).exists()
        if not (own and current):
            raise missing
    result = (
        CommissionResult.objects.select_related("member")
        .filter(run=run, member__member_no=member_no)
        .first()
    )
    if result is None:
        raise missing
    lines = list(
        CommissionLine.objects.filter(run=run, member_id=result.member_id)
        .select_related("source_member")
        .order_by("seq")
    )
    return run, result, lines


def my_results(viewer: Viewer) -> QuerySet[CommissionResult]:
    """The viewer's own results in the current runs of every period."""
    if viewer.member is None:
        return CommissionResult.objects.none()
    current = CommissionPeriod.objects.exclude(current_run=None).values("current_run")
    return (
        CommissionResult.objects.filter(member=viewer.member, run__in=current)
        .select_related("run", "member")
        .order_by("-run__period")
    )
