"""Adjustments (调整): corrections of closed months, posted in a run of an open month.

A closed month never changes. When an order or a return dated in a closed month arrives
after the month was closed (or a sponsor move recorded after the close takes effect in
it), the next run of a later open month recomputes that closed month with today's data,
with the plan version of the month's closed run, and posts per member

    recomputed − (closed result + adjustments for that month already posted elsewhere)

as one ``adjustment`` line (negative = clawback). Already posted elsewhere means in the
current run of any other month, so two open months never both carry one correction.

The difference is taken on fen arrays over the whole network; Python touches only the
members whose pay actually changed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection
from django.db.models import Case, DecimalField, Q, Value, When
from django.utils.translation import gettext as _

from salesops.compensation.engine.explain import RULE_ADJUSTMENT
from salesops.compensation.engine.money import fmt_fen, from_fen
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import PeriodResult, compute_period
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PeriodStatus,
)
from salesops.compensation.selectors.plans import rank_plan_of
from salesops.compensation.services.runio import (
    LINE_COLUMNS,
    RESULT_COLUMNS,
    bulk_insert,
    index_of,
    read_period_input,
)
from salesops.org.models import SponsorHistory
from salesops.sales.models import Order, Return

ADJ_LINE_COLUMNS = (*LINE_COLUMNS, "source_period")
ADJ_RESULT_COLUMNS = (*RESULT_COLUMNS, "adjustment")
UPDATE_BATCH = 500
I64 = npt.NDArray[np.int64]


@dataclass
class Adjustments:
    """Rows to store with a run: adjustment lines, result rows of members who have only
    adjustments, and the adjustment total of members who already have a result row."""

    lines: list[tuple[Any, ...]] = field(default_factory=list)
    new_results: list[tuple[Any, ...]] = field(default_factory=list)
    updates: dict[int, Decimal] = field(default_factory=dict)
    months: list[dt.date] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        fen = sum(int(Decimal(row[5]) * 100) for row in self.lines)
        return from_fen(fen)


def _money(fen: int) -> str:
    """Two decimals with a real minus sign, as the statement formulas print them."""
    text = fmt_fen(fen)
    return "−" + text[1:] if text.startswith("-") else text


def late_months(before: dt.date) -> list[CommissionPeriod]:
    """Closed months earlier than ``before`` with orders, returns or sponsor moves recorded
    after the month's closed run read its data."""
    out = []
    closed = (
        CommissionPeriod.objects.filter(
            status=PeriodStatus.CLOSED, period__lt=before, current_run__isnull=False
        )
        .select_related("current_run__plan_version")
        .order_by("period")
    )
    for state in closed:
        first = state.period
        last = Period(first.year, first.month).last
        run = state.current_run
        if state.closed_at is None or run is None:
            continue
        # Anything recorded after the closed run read its data is late, including what
        # arrived between that run and the approval of the close.
        after = min(state.closed_at, run.started_at or run.created_at)
        late = (
            Order.objects.filter(
                order_date__gte=first, order_date__lte=last, created_at__gt=after
            ).exists()
            or Return.objects.filter(
                return_date__gte=first, return_date__lte=last, created_at__gt=after
            ).exists()
            or SponsorHistory.objects.filter(valid_from__lte=last, recorded_at__gt=after)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=first))
            .exists()
        )
        if late:
            out.append(state)
    return out


def _fen_by_member(sql: str, params: list[Any]) -> tuple[I64, I64]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    # PostgreSQL's SUM(bigint) is numeric (Decimal): int() it on the way in.
    fen = np.fromiter((int(r[1]) for r in rows), dtype=np.int64, count=len(rows))
    return ids, fen


def _closed_totals(run_id: int) -> tuple[I64, I64]:
    table = connection.ops.quote_name(CommissionResult._meta.db_table)
    return _fen_by_member(
        f"SELECT member_id, CAST(ROUND(total * 100) AS BIGINT) FROM {table} "  # noqa: S608
        "WHERE run_id = %s",
        [run_id],
    )


def _posted_before(month: dt.date, exclude_period: dt.date) -> tuple[I64, I64]:
    """Adjustments for ``month`` in the current runs of every other month."""
    lines = connection.ops.quote_name(CommissionLine._meta.db_table)
    periods = connection.ops.quote_name(CommissionPeriod._meta.db_table)
    return _fen_by_member(
        f"SELECT l.member_id, SUM(CAST(ROUND(l.amount * 100) AS BIGINT)) FROM {lines} l "  # noqa: S608
        f"JOIN {periods} p ON p.current_run_id = l.run_id "
        "WHERE l.rule = %s AND l.source_period = %s AND p.period <> %s "
        "GROUP BY l.member_id",
        [RULE_ADJUSTMENT, month, exclude_period],
    )


def _spread(all_ids: I64, ids: I64, values: I64) -> I64:
    out = np.zeros(all_ids.size, dtype=np.int64)
    out[np.searchsorted(all_ids, ids)] = values
    return out


def _month_diff(state: CommissionPeriod, exclude_period: dt.date) -> dict[str, Any]:
    """Recompute one closed month; the per-member differences as aligned arrays."""
    closed_run = state.current_run
    assert closed_run is not None
    plan = rank_plan_of(closed_run.plan_version)
    period = Period(state.period.year, state.period.month)
    inp, pks, _nos = read_period_input(plan, period)
    res = compute_period(plan, inp, period)
    closed_ids, closed_fen = _closed_totals(closed_run.pk)
    adj_ids, adj_fen = _posted_before(state.period, exclude_period)
    all_ids = np.union1d(np.union1d(pks, closed_ids), adj_ids)
    new = _spread(all_ids, pks, res.total.astype(np.int64))
    old = _spread(all_ids, closed_ids, closed_fen)
    posted = _spread(all_ids, adj_ids, adj_fen)
    diff = new - old - posted
    changed = np.flatnonzero(diff)
    paid_now = np.full(all_ids.size, -1, dtype=np.int64)
    paid_now[np.searchsorted(all_ids, pks)] = res.paid_as
    return {
        "state": state,
        "ids": all_ids[changed],
        "new": new[changed],
        "old": old[changed],
        "posted": posted[changed],
        "diff": diff[changed],
        "paid_now": [res.rank_code(int(r)) for r in paid_now[changed].tolist()],
    }


def _member_column(rows: Sequence[tuple[Any, ...]]) -> I64:
    """The ``member_id`` column (position 1) of result or line rows: straight from the
    frame when ``build_rows`` gives column-wise rows, else from the tuples."""
    column = getattr(rows, "column", None)
    if column is not None:
        return np.asarray(column("member_id"), dtype=np.int64)
    return np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows))


def _line_counts(lines: Sequence[tuple[Any, ...]], ids: I64) -> I64:
    """How many lines each of ``ids`` already has in the run (their next seq - 1)."""
    if not len(lines):
        return np.zeros(ids.size, dtype=np.int64)
    members = np.sort(_member_column(lines))
    return (np.searchsorted(members, ids, "right") - np.searchsorted(members, ids, "left")).astype(
        np.int64
    )


def adjustments_for_run(
    run: CommissionRun,
    current: PeriodResult,
    current_pks: I64,
    results: Sequence[tuple[Any, ...]],
    lines: Sequence[tuple[Any, ...]],
) -> Adjustments:
    """The adjustment rows of ``run`` (a run of an open month), from every earlier closed
    month with late data. Identical data gives identical rows."""
    out = Adjustments()
    diffs = [_month_diff(state, run.period) for state in late_months(run.period)]
    diffs = [d for d in diffs if d["ids"].size]
    if not diffs:
        return out
    out.months = [d["state"].period for d in diffs]
    members = np.unique(np.concatenate([d["ids"] for d in diffs]))
    seq = _line_counts(lines, members)
    next_seq = dict(zip(members.tolist(), seq.tolist(), strict=True))
    sums: dict[int, int] = {}
    rows: list[tuple[int, dt.date, tuple[Any, ...]]] = []
    name = _("调整")
    for d in diffs:
        state = d["state"]
        month = state.period
        ids = d["ids"].tolist()
        closed_paid: dict[int, str] = {}
        for start in range(0, len(ids), UPDATE_BATCH):
            closed_paid.update(
                CommissionResult.objects.filter(
                    run_id=state.current_run_id, member_id__in=ids[start : start + UPDATE_BATCH]
                ).values_list("member_id", "paid_as")
            )
        for pk, new, old, posted, diff, paid_now in zip(
            ids, d["new"].tolist(), d["old"].tolist(), d["posted"].tolist(),
            d["diff"].tolist(), d["paid_now"], strict=True,
        ):  # fmt: skip
            if posted:
                formula = _(
                    "%(month)s 重算 %(new)s − (原结算 %(old)s + 已调整 %(posted)s) = %(diff)s"
                ) % {
                    "month": f"{month:%Y-%m}",
                    "new": _money(new),
                    "old": _money(old),
                    "posted": _money(posted),
                    "diff": _money(diff),
                }
            else:
                formula = _("%(month)s 重算 %(new)s − 原结算 %(old)s = %(diff)s") % {
                    "month": f"{month:%Y-%m}",
                    "new": _money(new),
                    "old": _money(old),
                    "diff": _money(diff),
                }
            inputs = {
                "period": f"{month:%Y-%m}",
                "closed_run": state.current_run_id,
                "recomputed": fmt_fen(new),
                "closed": fmt_fen(old),
                "adjusted_before": fmt_fen(posted),
                "paid_as_closed": closed_paid.get(pk, ""),
                "paid_as_now": paid_now,
            }
            sums[pk] = sums.get(pk, 0) + diff
            rows.append(
                (pk, month, (
                    run.pk, pk, 0, RULE_ADJUSTMENT, name, str(from_fen(diff)), formula,
                    json.dumps(inputs, ensure_ascii=False, sort_keys=True), None, None, month,
                ))
            )  # fmt: skip
    rows.sort(key=lambda r: (r[0], r[1]))
    for pk, _month, row in rows:
        next_seq[pk] += 1
        out.lines.append((*row[:2], next_seq[pk], *row[3:]))

    # Result rows: members already in the run get their adjustment total; the others get a
    # row of zero volumes carrying their current title.
    in_run = np.unique(_member_column(results))
    titles = [
        current.rank_code(int(current.title[p])) if p >= 0 else ""
        for p in index_of(current_pks, members).tolist()
    ]
    has_row = np.isin(members, in_run)
    zero = "0.00"
    for pk, title, has in zip(members.tolist(), titles, has_row.tolist(), strict=True):
        amount = from_fen(sums[pk])
        if has:
            out.updates[pk] = amount
        else:
            out.new_results.append(
                (run.pk, pk, "", title, zero, zero, 0, zero, zero, zero, zero, zero, zero,
                 str(amount))
            )  # fmt: skip
    return out


def adjustments_store(run: CommissionRun, adj: Adjustments) -> None:
    """Insert the rows (inside the run's store transaction)."""
    if adj.new_results:
        bulk_insert(CommissionResult, ADJ_RESULT_COLUMNS, adj.new_results)
    if adj.lines:
        bulk_insert(CommissionLine, ADJ_LINE_COLUMNS, adj.lines)
    items = sorted(adj.updates.items())
    money = DecimalField(max_digits=18, decimal_places=2)
    for start in range(0, len(items), UPDATE_BATCH):
        chunk = items[start : start + UPDATE_BATCH]
        CommissionResult.objects.filter(run=run, member_id__in=[pk for pk, _a in chunk]).update(
            adjustment=Case(
                *(When(member_id=pk, then=Value(amount)) for pk, amount in chunk),
                output_field=money,
            )
        )
