"""Database I/O of commission runs: read a period's network and orders into the engine's
arrays, turn the engine's result into row tuples, and insert rows in bulk.

No ORM instance per row anywhere here: the app run must handle a million members.
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from django.db import connection, models
from django.utils.translation import gettext as _

from salesops.compensation.engine.explain import LineItem
from salesops.compensation.engine.money import from_fen
from salesops.compensation.engine.network import PeriodInput, find_cycles, tree_levels
from salesops.compensation.engine.plan import RankPlan
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import PeriodResult
from salesops.compensation.models import CommissionRun
from salesops.org.models import Member, MemberStatus, RankHistory
from salesops.org.selectors import sponsor_edges_as_of
from salesops.sales.models import Order, OrderKind, OrderStatus, Return

BATCH_SIZE = 5000


class RunInputError(Exception):
    """Bad data in the database: the run fails with this message and stores nothing."""


def _fetch(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _day_of_month(column: str) -> str:
    if connection.vendor == "sqlite":
        return f"CAST(strftime('%%d', {column}) AS INTEGER)"
    return f"CAST(EXTRACT(DAY FROM {column}) AS INTEGER)"


def read_period_input(
    plan: RankPlan, period: Period
) -> tuple[PeriodInput, npt.NDArray[np.int64], list[str]]:
    """The network as of the period's last day and the period's orders and returns, as the
    engine's arrays. Also returns the member primary keys and numbers in engine order."""
    pks, sponsors = sponsor_edges_as_of(period.last)
    n = int(pks.size)
    q = connection.ops.quote_name
    member_table = q(Member._meta.db_table)
    rows = _fetch(
        f"SELECT id, member_no, status, title FROM {member_table} ORDER BY id",  # noqa: S608
        [],
    )
    all_ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    pos = np.searchsorted(all_ids, pks)
    if n and (pos >= all_ids.size).any():
        raise RunInputError(_("推荐关系引用了不存在的会员"))
    member_nos = [rows[p][1] for p in pos.tolist()]
    terminated = np.array(
        [rows[p][2] == MemberStatus.TERMINATED for p in pos.tolist()], dtype=np.bool_
    )
    titles = {rows[p][0]: rows[p][3] for p in pos.tolist()}
    # The title held before the period: the latest rank history row before it, else the
    # member's title.
    history = q(RankHistory._meta.db_table)
    for member_id, title in _fetch(
        f"SELECT h.member_id, h.title FROM {history} h WHERE h.period = ("  # noqa: S608
        f"SELECT MAX(h2.period) FROM {history} h2 WHERE h2.member_id = h.member_id "
        "AND h2.period < %s)",
        [period.first],
    ):
        if member_id in titles:
            titles[member_id] = title
    codes = plan.rank_codes
    prev_title = np.full(n, -1, dtype=np.int8)
    for i, pk in enumerate(pks.tolist()):
        t = titles[pk]
        if t:
            if t not in codes:
                raise RunInputError(
                    _("会员 %(no)s 的职级 %(title)s 不在方案中") % {"no": member_nos[i], "title": t}
                )
            prev_title[i] = codes.index(t)

    sponsor_idx = np.full(n, -1, dtype=np.int64)
    has = sponsors >= 0
    spos = np.searchsorted(pks, sponsors[has])
    spos_c = np.minimum(spos, max(n - 1, 0))
    if has.any() and not np.all(pks[spos_c] == sponsors[has]):
        raise RunInputError(_("推荐人不在该月份的网络中"))
    sponsor_idx[has] = spos_c
    tree = tree_levels(sponsor_idx)
    if tree.unreached.size:
        cycles = find_cycles(sponsor_idx, tree.unreached)
        shown = "; ".join(" → ".join(member_nos[i] for i in c) for c in cycles[:5])
        raise RunInputError(_("推荐关系存在循环:%(cycles)s") % {"cycles": shown})

    orders = q(Order._meta.db_table)
    returns = q(Return._meta.db_table)
    order_rows = _fetch(
        f"SELECT credited_member_id, {_day_of_month('order_date')}, "  # noqa: S608
        f"CAST(ROUND(total_amount * 100) AS BIGINT), kind FROM {orders} "
        "WHERE status = %s AND credited_member_id IS NOT NULL "
        "AND order_date >= %s AND order_date <= %s",
        [OrderStatus.CONFIRMED, period.first, period.last],
    )
    return_rows = _fetch(
        f"SELECT o.credited_member_id, {_day_of_month('r.return_date')}, "  # noqa: S608
        f"-CAST(ROUND(r.total_amount * 100) AS BIGINT), o.kind FROM {returns} r "
        f"JOIN {orders} o ON o.id = r.original_order_id "
        "WHERE o.credited_member_id IS NOT NULL "
        "AND r.return_date >= %s AND r.return_date <= %s",
        [period.first, period.last],
    )
    all_rows = order_rows + return_rows
    k = len(all_rows)
    o_member = np.fromiter((r[0] for r in all_rows), dtype=np.int64, count=k)
    o_day = np.fromiter((r[1] for r in all_rows), dtype=np.int32, count=k)
    o_fen = np.fromiter((r[2] for r in all_rows), dtype=np.int64, count=k)
    o_aro = np.fromiter((r[3] == OrderKind.ARO for r in all_rows), dtype=np.bool_, count=k)
    opos = np.minimum(np.searchsorted(pks, o_member), max(n - 1, 0))
    if k and (n == 0 or not np.all(pks[opos] == o_member)):
        raise RunInputError(_("有订单归属的会员不在该月份的网络中"))
    inp = PeriodInput(
        member_ids=member_nos,
        sponsor=sponsor_idx,
        terminated=terminated,
        prev_title=prev_title,
        order_member=opos.astype(np.int64),
        order_fen=o_fen,
        order_day=(o_day + period.day_number(period.first) - 1).astype(np.int32),
        order_aro=o_aro,
    )
    return inp, pks, member_nos


RESULT_COLUMNS = (
    "run_id", "member_id", "paid_as", "title", "pv", "pv_by_cutoff", "sr_count", "sr_volume",
    "sales_bonus", "morning_star", "open_star", "override", "total",
)  # fmt: skip
LINE_COLUMNS = (
    "run_id", "member_id", "seq", "rule", "name", "amount", "formula", "inputs",
    "source_member_id", "generation",
)  # fmt: skip


def _money_str(fen: int) -> str:
    """Fen as the decimal text the database stores (exact; no float on the way)."""
    return str(from_fen(fen))


def build_rows(
    run: CommissionRun,
    res: PeriodResult,
    pks: npt.NDArray[np.int64],
    member_nos: list[str],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], Decimal]:
    """Row tuples (RESULT_COLUMNS / LINE_COLUMNS) of the members with any volume, rank or
    bonus and of their lines, in member order — identical inputs give identical rows —
    and the run's total."""
    pk_of_no = dict(zip(member_nos, pks.tolist(), strict=True))
    keep = np.flatnonzero(
        (res.pv != 0) | (res.total != 0) | (res.paid_as >= 0) | (res.sr_count > 0)
    )
    results: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    # Group the multi-line bonuses by earner once, so each member's ``lines_for`` only
    # scans their own lines (O(members + lines) rather than members × lines).
    by_earner = np.argsort(res.line_earner, kind="stable")
    bounds = np.searchsorted(res.line_earner[by_earner], np.arange(res.pv.size + 1))
    columns = [
        getattr(res, c)[keep].tolist()
        for c in ("pv", "pv_by_cutoff", "sr_count", "sr_volume", "sales_bonus",
                  "morning_star", "open_star", "override", "total")
    ]  # fmt: skip
    paid = res.paid_as[keep].tolist()
    title = res.title[keep].tolist()
    run_id = run.pk
    for k, i in enumerate(keep.tolist()):
        pk = int(pks[i])
        pv, cut, src, srv, sales, morning, open_, override, total = (c[k] for c in columns)
        results.append(
            (run_id, pk, res.rank_code(paid[k]), res.rank_code(title[k]), _money_str(pv),
             _money_str(cut), src, _money_str(srv), _money_str(sales), _money_str(morning),
             _money_str(open_), _money_str(override), _money_str(total))
        )  # fmt: skip
        if total == 0:
            continue
        own = by_earner[bounds[i] : bounds[i + 1]]
        mine = replace(
            res,
            line_earner=res.line_earner[own],
            line_source=res.line_source[own],
            line_generation=res.line_generation[own],
            line_amount=res.line_amount[own],
        )
        item: LineItem
        for seq, item in enumerate(mine.lines_for(i), start=1):
            lines.append(
                (run_id, pk, seq, item.rule, item.name, str(item.amount), item.formula,
                 json.dumps(dict(item.inputs), ensure_ascii=False, sort_keys=True),
                 pk_of_no[item.source_member] if item.source_member else None,
                 item.generation)
            )  # fmt: skip
    total_fen = int(res.total[keep].sum())
    return results, lines, from_fen(total_fen)


def bulk_insert(
    model: type[models.Model], columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """executemany in batches: no model instance per row."""
    q = connection.ops.quote_name
    marks = [
        "%s::jsonb" if (c == "inputs" and connection.vendor == "postgresql") else "%s"
        for c in columns
    ]
    sql = (
        f"INSERT INTO {q(model._meta.db_table)} ({', '.join(q(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(marks)})"
    )
    with connection.cursor() as cur:
        for start in range(0, len(rows), BATCH_SIZE):
            cur.executemany(sql, rows[start : start + BATCH_SIZE])
