"""Reads of payout batches for finance/admin: the list, one batch, its items, warnings
(members without a bank account, negative totals) and the reconciliation against the
statements. Anyone else finds nothing (404)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from salesops.compensation.engine import explain
from salesops.compensation.models import (
    CommissionLine,
    PayoutBatch,
    PayoutItem,
    PayoutKind,
)
from salesops.compensation.services.adjustments import RULE as RULE_ADJUSTMENT
from salesops.compensation.services.payouts import can_manage_payouts, pay_schedule
from salesops.core.access import Viewer
from salesops.core.errors import NotFoundError
from salesops.core.money import FEN

WARNING_LIMIT = 50

# Which statement lines make up each kind of payout item.
KIND_RULES: dict[str, tuple[str, ...]] = {
    PayoutKind.MONTHLY: (explain.RULE_SALES, explain.RULE_MORNING, explain.RULE_OPEN),
    PayoutKind.OVERRIDE: (explain.RULE_OVERRIDE, explain.RULE_LEADERSHIP),
    PayoutKind.ADJUSTMENT: (RULE_ADJUSTMENT,),
}
KIND_ORDER: dict[str, int] = {
    PayoutKind.MONTHLY: 0,
    PayoutKind.OVERRIDE: 1,
    PayoutKind.ADJUSTMENT: 2,
}


def batches_for(viewer: Viewer) -> QuerySet[PayoutBatch]:
    if not can_manage_payouts(viewer):
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
    if not can_manage_payouts(viewer):
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
