"""Reads of payout batches for finance/admin: the list, one batch, its items, warnings
(members without a bank account, negative totals) and the reconciliation against the
statements. Anyone else finds nothing (404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from salesops.compensation.engine import explain
from salesops.compensation.engine.plan import RankPlan
from salesops.compensation.engine.schedule import Period, override_statement_period, payout_date
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CompPlanVersion,
    PayoutBatch,
    PayoutItem,
    PayoutKind,
    PeriodStatus,
)
from salesops.compensation.rights import is_finance
from salesops.compensation.selectors.plans import PlanVersionsInForce, rank_plan_of, seed_rank_plan
from salesops.core.access import Viewer
from salesops.core.errors import NotFoundError
from salesops.core.money import FEN

WARNING_LIMIT = 50
# How far back a payout date may reach for the months it pays (covers any plan with
# ``months_after`` up to two years plus a year of override accrual).
LOOKBACK_MONTHS = 36

# Which statement lines make up each kind of payout item.
KIND_RULES: dict[str, tuple[str, ...]] = {
    PayoutKind.MONTHLY: (explain.RULE_SALES, explain.RULE_MORNING, explain.RULE_OPEN),
    PayoutKind.OVERRIDE: (explain.RULE_OVERRIDE, explain.RULE_LEADERSHIP),
    PayoutKind.ADJUSTMENT: (explain.RULE_ADJUSTMENT,),
}
KIND_ORDER: dict[str, int] = {
    PayoutKind.MONTHLY: 0,
    PayoutKind.OVERRIDE: 1,
    PayoutKind.ADJUSTMENT: 2,
}


# --------------------------------------------------------------------------- schedule


def _period(day: dt.date) -> Period:
    return Period(day.year, day.month)


# --------------------------------------------------------------------------- schedule


@dataclass
class PaySchedule:
    """Which months' money a pay date carries, and which of them are not closed yet."""

    pay_date: dt.date
    monthly: list[dt.date] = field(default_factory=list)  # months M (monthly + adjustment)
    override: list[dt.date] = field(default_factory=list)  # accrual months M'
    run_of: dict[dt.date, int] = field(default_factory=dict)  # month → current run id
    not_closed: list[dt.date] = field(default_factory=list)

    @property
    def months(self) -> list[dt.date]:
        return sorted(set(self.monthly) | set(self.override))


class _Plans:
    """Plan versions by month, looked up and parsed once each: the current run's version
    where the month has one, else the version in force (``plan_version_in_force``)."""

    def __init__(self) -> None:
        self.in_force = PlanVersionsInForce()
        self.parsed: dict[int, RankPlan] = {}
        self.seed: RankPlan | None = None

    def version_for(self, month: dt.date) -> CompPlanVersion | None:
        return self.in_force.for_month(month)

    def plan(self, version: CompPlanVersion | None) -> RankPlan:
        if version is None:  # no version stored yet: the seed plan is the one in force
            if self.seed is None:
                self.seed = seed_rank_plan()
            return self.seed
        if version.pk not in self.parsed:
            self.parsed[version.pk] = rank_plan_of(version)
        return self.parsed[version.pk]


def _safe_payout_date(plan: RankPlan, period: Period) -> dt.date | None:
    try:
        return payout_date(plan, period)
    except ValueError:  # a plan day that the month does not have (e.g. 31 in April)
        return None


def pay_schedule(pay_date: dt.date) -> PaySchedule:
    """The months whose money is paid on ``pay_date`` (see the module docstring)."""
    last = pay_date.replace(day=1)
    first = _period(last).shift(-LOOKBACK_MONTHS).first
    states = {
        s.period: s
        for s in CommissionPeriod.objects.filter(period__gte=first, period__lte=last)
        .select_related("current_run__plan_version")
        .order_by("period")
    }
    plans = _Plans()
    out = PaySchedule(pay_date=pay_date)
    p = _period(first)
    while p.first <= last:
        state = states.get(p.first)
        run = state.current_run if state is not None else None
        plan = plans.plan(run.plan_version if run is not None else plans.version_for(p.first))
        if _safe_payout_date(plan, p) == pay_date:
            out.monthly.append(p.first)
        statement = override_statement_period(plan, p)
        if _safe_payout_date(plan, statement) == pay_date:
            out.override.append(p.first)
        if p.first in out.monthly or p.first in out.override:
            if state is None or run is None or state.status != PeriodStatus.CLOSED:
                out.not_closed.append(p.first)
            else:
                out.run_of[p.first] = run.pk
        p = p.shift(1)
    return out


def payable_dates(limit: int = 24) -> list[dt.date]:
    """Pay dates the closed months give (newest first): what 生成发放批次 offers."""
    closed = list(
        CommissionPeriod.objects.filter(status=PeriodStatus.CLOSED, current_run__isnull=False)
        .select_related("current_run__plan_version")
        .order_by("-period")[:limit]
    )
    plans = _Plans()
    dates: set[dt.date] = set()
    for state in closed:
        assert state.current_run is not None
        plan = plans.plan(state.current_run.plan_version)
        p = _period(state.period)
        for d in (
            _safe_payout_date(plan, p),
            _safe_payout_date(plan, override_statement_period(plan, p)),
        ):
            if d is not None:
                dates.add(d)
    return sorted(dates, reverse=True)


# --------------------------------------------------------------------------- batches


def batches_for(viewer: Viewer) -> QuerySet[PayoutBatch]:
    if not is_finance(viewer):
        return PayoutBatch.objects.none()
    return PayoutBatch.objects.select_related("created_by")


def batch_for_viewer(viewer: Viewer, pk: int | str) -> PayoutBatch:
    """The one access helper for a batch: not finance/admin, or missing → 404."""
    try:
        found = batches_for(viewer).filter(pk=int(pk)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        raise NotFoundError(_("发放批次不存在"))
    return found


def items_for(viewer: Viewer, batch: PayoutBatch) -> QuerySet[PayoutItem]:
    if not is_finance(viewer):
        return PayoutItem.objects.none()
    return PayoutItem.objects.filter(batch=batch).select_related("member")


@dataclass(frozen=True)
class MemberFlag:
    member_id: int
    member_no: str
    name: str
    amount: Decimal


def members_without_account(batch: PayoutBatch) -> tuple[int, list[MemberFlag]]:
    """How many paid members lack a bank account, and the first of them."""
    qs = (
        PayoutItem.objects.filter(batch=batch)
        .filter(Q(member__bank_account="") | Q(member__bank_account__isnull=True))
        .values("member_id", "member__member_no", "member__name")
        .annotate(total=Sum("amount"))
        .order_by("member__member_no")
    )
    return qs.count(), [
        MemberFlag(r["member_id"], r["member__member_no"], r["member__name"], r["total"])
        for r in qs[:WARNING_LIMIT]
    ]


def negative_members(batch: PayoutBatch) -> tuple[int, list[MemberFlag]]:
    """Members whose items sum below zero (clawbacks larger than their pay)."""
    qs = (
        PayoutItem.objects.filter(batch=batch)
        .values("member_id", "member__member_no", "member__name")
        .annotate(total=Sum("amount"))
        .filter(total__lt=0)
        .order_by("total", "member__member_no")
    )
    return qs.count(), [
        MemberFlag(r["member_id"], r["member__member_no"], r["member__name"], r["total"])
        for r in qs[:WARNING_LIMIT]
    ]


@dataclass(frozen=True)
class ReconRow:
    month: dt.date
    kind: str
    kind_label: str
    statement: Decimal | None  # None: the month has no closed statement any more
    batch: Decimal

    @property
    def difference(self) -> Decimal | None:
        return None if self.statement is None else self.batch - self.statement

    @property
    def ok(self) -> bool:
        return self.difference == 0


def _fen(value: object) -> Decimal:
    return (Decimal(int(value or 0)) * FEN).quantize(FEN)  # type: ignore[call-overload]


def _statement_fen(run_id: int, rules: tuple[str, ...]) -> Decimal:
    """Sum of a run's statement lines of ``rules``, exactly, in fen."""
    q = connection.ops.quote_name
    marks = ", ".join(["%s"] * len(rules))
    with connection.cursor() as cur:
        cur.execute(
            "SELECT COALESCE(SUM(CAST(ROUND(amount * 100) AS BIGINT)), 0) "  # noqa: S608
            f"FROM {q(CommissionLine._meta.db_table)} WHERE run_id = %s AND rule IN ({marks})",
            [run_id, *rules],
        )
        (fen,) = cur.fetchone()
    return _fen(fen)


def _batch_fen(batch: PayoutBatch) -> dict[tuple[dt.date, str], Decimal]:
    q = connection.ops.quote_name
    with connection.cursor() as cur:
        cur.execute(
            "SELECT period, kind, COALESCE(SUM(CAST(ROUND(amount * 100) AS BIGINT)), 0) "  # noqa: S608
            f"FROM {q(PayoutItem._meta.db_table)} WHERE batch_id = %s GROUP BY period, kind",
            [batch.pk],
        )
        rows = cur.fetchall()
    out: dict[tuple[dt.date, str], Decimal] = {}
    for period, kind, fen in rows:
        if isinstance(period, str):  # SQLite hands raw SQL dates back as text
            period = dt.date.fromisoformat(period)
        out[(period, kind)] = _fen(fen)
    return out


def payout_reconciliation(batch: PayoutBatch) -> list[ReconRow]:
    """Per month and kind: what the statements (their lines) say belongs to the pay date,
    against what the batch holds. Every difference must be 0.00."""
    schedule = pay_schedule(batch.pay_date)
    expected: list[tuple[dt.date, str]] = [(m, PayoutKind.MONTHLY) for m in schedule.monthly]
    expected += [(m, PayoutKind.ADJUSTMENT) for m in schedule.monthly]
    expected += [(m, PayoutKind.OVERRIDE) for m in schedule.override]
    held = _batch_fen(batch)
    labels = dict(PayoutKind.choices)
    keys = sorted(set(expected) | set(held), key=lambda k: (k[0], KIND_ORDER.get(k[1], 9)))
    rows = []
    for month, kind in keys:
        run_id = schedule.run_of.get(month)
        statement = (
            _statement_fen(run_id, KIND_RULES[kind])
            if run_id is not None and (month, kind) in expected
            else None
        )
        rows.append(
            ReconRow(
                month,
                kind,
                str(labels.get(kind, kind)),
                statement,
                held.get((month, kind), Decimal("0.00")),
            )
        )
    return rows
