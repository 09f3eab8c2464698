"""The reference engine: the plan computed member by member in Decimal, the test oracle.

Written straight from shared/spec/seed-plan.md and deliberately unlike the vectorised
engine: it works on records and dicts, rounds with ``Decimal.quantize`` and finds
override lines by walking *down* from each earner, where the vectorised engine walks
*up* from each qualifying member. Slow and obvious on purpose.
"""

from __future__ import annotations

import decimal
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from . import explain as ex
from .network import MemberRecord, OrderRecord
from .plan import RankPlan
from .schedule import Period

_CENT = Decimal("0.01")
_ZERO = Decimal("0.00")


def _round(x: Decimal) -> Decimal:
    return x.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass
class MemberResult:
    member_id: str
    paid_as: str = ""
    title: str = ""
    pv: Decimal = _ZERO
    pv_by_cutoff: Decimal = _ZERO
    sr_count: int = 0
    sr_volume: Decimal = _ZERO
    sales_bonus: Decimal = _ZERO
    morning_star: Decimal = _ZERO
    open_star: Decimal = _ZERO
    override: Decimal = _ZERO
    total: Decimal = _ZERO
    lines: list[ex.LineItem] = field(default_factory=list)

    def row(self) -> tuple[object, ...]:
        return (
            self.member_id, self.paid_as, self.title, self.pv, self.pv_by_cutoff, self.sr_count,
            self.sr_volume, self.sales_bonus, self.morning_star, self.open_star, self.override,
            self.total,
        )  # fmt: skip


@dataclass
class ReferenceResult:
    members: dict[str, MemberResult]
    ignored_orders: int


def reference_compute(
    plan: RankPlan,
    members: Sequence[MemberRecord],
    orders: Sequence[OrderRecord],
    period: Period,
) -> ReferenceResult:
    """Compute ``period`` from valid records, one member at a time."""
    with decimal.localcontext() as ctx:
        ctx.prec = 60  # far more digits than any amount has; one division per line
        return _compute(plan, members, orders, period)


def _compute(
    plan: RankPlan, members: Sequence[MemberRecord], orders: Sequence[OrderRecord], period: Period
) -> ReferenceResult:
    vol = plan.volume
    res = {m.member_id: MemberResult(m.member_id) for m in members}
    info = {m.member_id: m for m in members}
    orders_by_id = {o.order_id: o for o in orders}
    children: dict[str, list[str]] = {m.member_id: [] for m in members}
    for m in members:
        if m.sponsor_id:
            children[m.sponsor_id].append(m.member_id)

    # Volumes.
    ignored = 0
    for o in orders:
        if not (period.first <= o.order_date <= period.last):
            ignored += 1
            continue
        kind = o.kind
        if kind == "return" and o.original_order_id is not None:
            kind = orders_by_id[o.original_order_id].kind
        if kind == "aro" and not vol.aro_counts:
            continue
        r = res[o.member_id]
        r.pv += o.amount
        day = o.order_date.day
        early = (
            day <= vol.early_cutoff_day
            if vol.early_cutoff_inclusive
            else (day < vol.early_cutoff_day)
        )
        if early:
            r.pv_by_cutoff += o.amount

    def terminated(mid: str) -> bool:
        return info[mid].status == "terminated"

    q_rank = plan.ranks[plan.rank_codes.index(plan.qualifying_rank)]

    def qualifies(mid: str) -> bool:
        return not terminated(mid) and res[mid].pv >= q_rank.pv

    # Personally trained SRs and paid-as rank.
    for m in members:
        r = res[m.member_id]
        for c in children[m.member_id]:
            if qualifies(c):
                r.sr_count += 1
                r.sr_volume += res[c].pv
    ladder = list(plan.ranks)
    paid_index: dict[str, int] = {}
    for m in members:
        r = res[m.member_id]
        best = -1
        if not terminated(m.member_id):
            for i, rank in enumerate(ladder):
                if (
                    r.pv >= rank.pv
                    and r.sr_volume >= rank.sr_volume
                    and r.sr_count >= rank.sr_count
                ):
                    best = max(best, i)
        paid_index[m.member_id] = best
        r.paid_as = ladder[best].code if best >= 0 else ""
        prev = plan.rank_codes.index(m.title) if m.title else -1
        if terminated(m.member_id):
            title = prev if plan.titles.terminated_keeps_title else -1
        elif plan.titles.title_can_drop:
            title = best
        else:
            title = max(prev, best)
        r.title = ladder[title].code if title >= 0 else ""

    # Sales, morning-star and open-star bonuses.
    for m in members:
        r = res[m.member_id]
        if terminated(m.member_id):
            continue
        for tier in sorted(plan.sales_bonus.tiers, key=lambda t: t.min_pv, reverse=True):
            if r.pv >= tier.min_pv:
                amount = _round(r.pv * vol.bonus_volume_factor * tier.rate / vol.vat_divisor)
                r.sales_bonus = amount
                r.lines.append(ex.sales_line(plan, r.pv, tier.min_pv, tier.rate, amount))
                break
        if not r.paid_as:
            continue
        for rule, bonus in ((ex.RULE_MORNING, plan.morning_star), (ex.RULE_OPEN, plan.open_star)):
            group = bonus.group_for(r.paid_as)
            volume = r.pv if bonus.basis == "pv" else r.pv_by_cutoff
            if group is not None and volume >= group.min:
                amount = _round(group.amount)
                if rule == ex.RULE_MORNING:
                    r.morning_star = amount
                else:
                    r.open_star = amount
                if amount:
                    r.lines.append(
                        ex.threshold_line(plan, rule, r.paid_as, volume, group.min, amount)
                    )

    # Override: from each earner, walk down; with compression only qualifying members
    # use up a generation.
    for m in members:
        earner = res[m.member_id]
        best = paid_index[m.member_id]
        if best < 0:
            continue
        gens = ladder[best].generations
        found: list[tuple[int, str]] = []
        stack = [(c, 0) for c in children[m.member_id]]
        while stack:
            node, used = stack.pop()
            q = qualifies(node)
            # with compression a non-qualifying member does not use up a generation
            gen = used + 1 if (q or not plan.override.compression) else used
            if q and gen <= gens:
                found.append((gen, node))
            if gen < gens:
                stack.extend((c, gen) for c in children[node])
        for gen, node in sorted(found):
            rate = plan.override.rate_for(gen)
            amount = _round(res[node].pv * rate)
            earner.override += amount
            earner.lines.append(ex.override_line(plan, node, gen, res[node].pv, rate, amount))
        code = ladder[best].leadership
        if code:
            amount = _round(plan.leadership_amount(code))
            if amount:
                earner.override += amount
                earner.lines.append(ex.leadership_line(plan, ladder[best].code, code, amount))

    for r in res.values():
        r.total = r.sales_bonus + r.morning_star + r.open_star + r.override
        r.pv = _round(r.pv)
        r.pv_by_cutoff = _round(r.pv_by_cutoff)
        r.sr_volume = _round(r.sr_volume)
    return ReferenceResult(members=res, ignored_orders=ignored)
