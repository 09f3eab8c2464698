"""Reads of the month-close screens and API: months, their runs, their close approval and
the adjustments posted in them or for them. Finance and admins only; anyone else sees
nothing (a month by id answers "not found")."""

from __future__ import annotations

import datetime as dt
import re

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from salesops.compensation import doctypes
from salesops.compensation.engine.explain import RULE_ADJUSTMENT
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionRun,
)
from salesops.compensation.rights import is_finance
from salesops.core.access import Viewer
from salesops.core.errors import NotFoundError
from salesops.core.models import ApprovalRequest

_MONTH = re.compile(r"^\s*(\d{4})(?:\s*[-/年.]\s*(\d{1,2})\s*月?)?\s*$")


def periods_list(viewer: Viewer) -> QuerySet[CommissionPeriod]:
    if not is_finance(viewer):
        return CommissionPeriod.objects.none()
    return CommissionPeriod.objects.select_related("current_run", "close_requested_by")


def month_search_q(text: str) -> Q:
    """ "2026-09", "2026年9月" or "2026" → that month or year; anything else matches none."""
    m = _MONTH.match(text)
    if m is None:
        return Q(pk__in=[])
    year = int(m.group(1))
    if m.group(2) is None:
        return Q(period__year=year)
    month = int(m.group(2))
    if not 1 <= month <= 12 or year < dt.MINYEAR:  # "0000-01" is no date
        return Q(pk__in=[])
    return Q(period=dt.date(year, month, 1))


def period_for_viewer(viewer: Viewer, pk: int) -> CommissionPeriod:
    found = periods_list(viewer).filter(pk=pk).first()
    if found is None:
        raise NotFoundError(_("结算月份不存在"))
    return found


def period_runs(state: CommissionPeriod) -> QuerySet[CommissionRun]:
    return CommissionRun.objects.filter(period=state.period).select_related(
        "plan_version", "created_by"
    )


def period_close_request(state: CommissionPeriod) -> ApprovalRequest | None:
    """The latest close approval of the month (any status)."""
    return (
        ApprovalRequest.objects.filter(doc_type=doctypes.PERIOD_CLOSE, object_id=str(state.pk))
        .select_related("submitted_by")
        .order_by("-submitted_at", "-id")
        .first()
    )


def adjustments_posted_in(state: CommissionPeriod) -> QuerySet[CommissionLine]:
    """Corrections of earlier closed months carried by this month's current run."""
    if state.current_run_id is None:
        return CommissionLine.objects.none()
    return (
        CommissionLine.objects.filter(run_id=state.current_run_id, rule=RULE_ADJUSTMENT)
        .select_related("member")
        .order_by("member__member_no", "source_period", "seq")
    )


def adjustments_for(state: CommissionPeriod) -> QuerySet[CommissionLine]:
    """Corrections of this month posted in the current runs of later months."""
    current = CommissionPeriod.objects.exclude(current_run=None).values("current_run")
    return (
        CommissionLine.objects.filter(
            rule=RULE_ADJUSTMENT, source_period=state.period, run__in=current
        )
        .select_related("member", "run")
        .order_by("run__period", "member__member_no", "seq")
    )
