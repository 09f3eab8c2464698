"""The vectorised period engine: one month for the whole network, in integer fen.

No Python loop runs per member: volumes are scatter-adds, ranks are one comparison per
rank over all members, and the override walks the compressed ancestor chain one
generation at a time for every qualifying member at once. Loops run over tree levels,
ranks, tiers and generations only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import polars as pl

from . import explain as ex
from .money import from_fen, mul_ratio_half_up, to_fen
from .network import PeriodInput, tree_levels
from .plan import RankPlan
from .schedule import Period

I64 = npt.NDArray[np.int64]

OUTPUT_COLUMNS = (
    "member_id", "paid_as", "title", "pv", "pv_by_cutoff", "sr_count", "sr_volume",
    "sales_bonus", "morning_star", "open_star", "override", "total",
)  # fmt: skip
MONEY_COLUMNS = (
    "pv", "pv_by_cutoff", "sr_volume", "sales_bonus", "morning_star", "open_star",
    "override", "total",
)  # fmt: skip


@dataclass(frozen=True)
class PeriodResult:
    """Per-member results (arrays indexed by member number, money in fen) plus the
    override and leadership lines, which are the only bonuses with several lines."""

    plan: RankPlan
    period: Period
    member_ids: Sequence[str]
    ignored_orders: int
    pv: I64
    pv_by_cutoff: I64
    sr_count: I64
    sr_volume: I64
    paid_as: npt.NDArray[np.int8]
    title: npt.NDArray[np.int8]
    sales_rate_tier: npt.NDArray[np.int8]  # index into plan.sales_bonus.tiers, -1 = none
    sales_bonus: I64
    morning_star: I64
    open_star: I64
    override: I64  # override lines + leadership lines
    total: I64
    line_earner: I64
    line_source: I64  # -1 for a leadership line
    line_generation: I64  # 0 for a leadership line
    line_amount: I64

    def member_id(self, i: int) -> str:
        return str(self.member_ids[i])

    def rank_code(self, r: int) -> str:
        return self.plan.ranks[r].code if r >= 0 else ""

    def lines_for(self, i: int) -> list[ex.LineItem]:
        """The statement lines of member number ``i`` with their formulas."""
        plan = self.plan
        out: list[ex.LineItem] = []
        pv = from_fen(int(self.pv[i]))
        paid = int(self.paid_as[i])
        rank = self.rank_code(paid)
        t = int(self.sales_rate_tier[i])
        if t >= 0:
            tier = plan.sales_bonus.tiers[t]
            out.append(
                ex.sales_line(plan, pv, tier.min_pv, tier.rate, from_fen(int(self.sales_bonus[i])))
            )
        for rule, bonus, arr in (
            (ex.RULE_MORNING, plan.morning_star, self.morning_star),
            (ex.RULE_OPEN, plan.open_star, self.open_star),
        ):
            group = bonus.group_for(rank) if paid >= 0 else None
            if group is not None and int(arr[i]) > 0:
                vol = pv if bonus.basis == "pv" else from_fen(int(self.pv_by_cutoff[i]))
                out.append(
                    ex.threshold_line(plan, rule, rank, vol, group.min, from_fen(int(arr[i])))
                )
        sel = np.flatnonzero(self.line_earner == i)
        for k in sel[np.lexsort((self.line_source[sel], self.line_generation[sel]))].tolist():
            src, gen = int(self.line_source[k]), int(self.line_generation[k])
            amount = from_fen(int(self.line_amount[k]))
            if src < 0:
                out.append(ex.leadership_line(plan, rank, plan.ranks[paid].leadership, amount))
            else:
                out.append(
                    ex.override_line(
                        plan, self.member_id(src), gen, from_fen(int(self.pv[src])),
                        plan.override.rate_for(gen), amount,
                    )
                )  # fmt: skip
        return out

    def to_polars(self) -> pl.DataFrame:
        """One row per member (in member-number order); money columns as integer fen."""
        codes = pl.Series([""] + [r.code for r in self.plan.ranks])
        return pl.DataFrame(
            {
                "member_id": pl.Series(list(self.member_ids), dtype=pl.String),
                "paid_as": codes.gather(self.paid_as.astype(np.int64) + 1),
                "title": codes.gather(self.title.astype(np.int64) + 1),
                "pv": self.pv,
                "pv_by_cutoff": self.pv_by_cutoff,
                "sr_count": self.sr_count,
                "sr_volume": self.sr_volume,
                "sales_bonus": self.sales_bonus,
                "morning_star": self.morning_star,
                "open_star": self.open_star,
                "override": self.override,
                "total": self.total,
            }
        )


def _fen(d: Decimal) -> int:
    return to_fen(d)


def compute_period(plan: RankPlan, inp: PeriodInput, period: Period) -> PeriodResult:
    """Compute ``period`` for every member of ``inp`` (see shared/spec/seed-plan.md)."""
    n = inp.n_members
    vol = plan.volume

    # --- volumes: orders dated in the month, returns negative, ARO per setting
    start, end = period.day_number(period.first), period.day_number(period.last)
    cutoff = period.day_number(period.cutoff(vol.early_cutoff_day, vol.early_cutoff_inclusive))
    day = inp.order_day
    in_period = (day >= start) & (day <= end)
    ignored = int(in_period.size - np.count_nonzero(in_period))
    counts = in_period if vol.aro_counts else in_period & ~inp.order_aro
    pv = np.zeros(n, dtype=np.int64)
    np.add.at(pv, inp.order_member[counts], inp.order_fen[counts])
    early = counts & (day <= cutoff)
    pv_cut = np.zeros(n, dtype=np.int64)
    np.add.at(pv_cut, inp.order_member[early], inp.order_fen[early])

    # --- qualification and personally trained SRs (first level only)
    active = ~inp.terminated
    q_pv = _fen(plan.ranks[plan.qualifying_index].pv)
    qualifies = active & (pv >= q_pv)
    sponsor = inp.sponsor
    counted = qualifies & (sponsor >= 0)
    sr_count = np.bincount(sponsor[counted], minlength=n).astype(np.int64)
    sr_volume = np.zeros(n, dtype=np.int64)
    np.add.at(sr_volume, sponsor[counted], pv[counted])

    # --- paid-as rank: the highest rank whose requirements are all met
    paid = np.full(n, -1, dtype=np.int8)
    for r, rank in enumerate(plan.ranks):
        met = (
            active
            & (pv >= _fen(rank.pv))
            & (sr_volume >= _fen(rank.sr_volume))
            & (sr_count >= rank.sr_count)
        )
        paid[met] = r
    prev = inp.prev_title
    title = paid.copy() if plan.titles.title_can_drop else np.maximum(prev, paid)
    title = np.where(
        inp.terminated, prev if plan.titles.terminated_keeps_title else np.int8(-1), title
    ).astype(np.int8)

    # --- sales bonus: pv × factor ÷ vat × rate, exact, half-up per member
    sales = np.zeros(n, dtype=np.int64)
    tier_of = np.full(n, -1, dtype=np.int8)
    remaining = active.copy()
    for t, tier in enumerate(plan.sales_bonus.tiers):  # highest threshold first
        hit = remaining & (pv >= _fen(tier.min_pv))
        remaining &= ~hit
        tier_of[hit] = t
        factor = Fraction(vol.bonus_volume_factor) * Fraction(tier.rate) / Fraction(vol.vat_divisor)
        sales[hit] = mul_ratio_half_up(pv[hit], factor)

    # --- morning-star / open-star: flat amount by paid-as group and threshold
    def threshold(bonus_basis: str, groups: tuple[tuple[tuple[int, ...], int, int], ...]) -> I64:
        basis = pv if bonus_basis == "pv" else pv_cut
        out = np.zeros(n, dtype=np.int64)
        for ranks, minimum, amount in groups:
            hit = np.isin(paid, np.array(ranks, dtype=np.int8)) & (basis >= minimum)
            out[hit] = amount
        return out

    def groups_of(bonus_groups: tuple) -> tuple[tuple[tuple[int, ...], int, int], ...]:  # type: ignore[type-arg]
        return tuple(
            (tuple(plan.rank_index(c) for c in g.ranks), _fen(g.min), _fen(g.amount))
            for g in bonus_groups
        )

    morning = threshold(plan.morning_star.basis, groups_of(plan.morning_star.groups))
    open_ = threshold(plan.open_star.basis, groups_of(plan.open_star.groups))

    # --- override: walk up the (compressed) ancestor chain one generation at a time
    if plan.override.compression:
        up = np.full(n, -1, dtype=np.int64)
        tree = tree_levels(sponsor)
        if tree.unreached.size:
            raise ValueError("the sponsor tree has a cycle; validate the input first")
        levels = tree.levels
        for lvl in levels[1:]:
            par = sponsor[lvl]
            up[lvl] = np.where(qualifies[par], par, up[par])
    else:
        up = sponsor.astype(np.int64, copy=True)
    gens_by_rank = np.array([r.generations for r in plan.ranks] + [0], dtype=np.int64)
    earner_gens = gens_by_rank[paid.astype(np.int64)]  # paid -1 → last entry (0)
    src = np.flatnonzero(qualifies).astype(np.int64)
    cur = up[src]
    e_parts: list[I64] = []
    s_parts: list[I64] = []
    g_parts: list[I64] = []
    a_parts: list[I64] = []
    for g in range(1, plan.max_generations + 1):
        alive = cur >= 0
        src, cur = src[alive], cur[alive]
        if src.size == 0:
            break
        ok = earner_gens[cur] >= g
        s_ok = src[ok]
        e_parts.append(cur[ok])
        s_parts.append(s_ok)
        g_parts.append(np.full(s_ok.size, g, dtype=np.int64))
        a_parts.append(mul_ratio_half_up(pv[s_ok], Fraction(plan.override.rate_for(g))))
        cur = up[cur]

    # --- leadership (BB/BBB): a flat amount by paid-as rank, reported with the override
    lead_amount = np.array(
        [_fen(plan.leadership_amount(r.leadership)) if r.leadership else 0 for r in plan.ranks]
        + [0],
        dtype=np.int64,
    )
    lead = lead_amount[paid.astype(np.int64)]
    leaders = np.flatnonzero(lead > 0).astype(np.int64)
    e_parts.append(leaders)
    s_parts.append(np.full(leaders.size, -1, dtype=np.int64))
    g_parts.append(np.zeros(leaders.size, dtype=np.int64))
    a_parts.append(lead[leaders])

    line_earner = np.concatenate(e_parts)
    line_amount = np.concatenate(a_parts)
    override = np.zeros(n, dtype=np.int64)
    np.add.at(override, line_earner, line_amount)
    total = sales + morning + open_ + override

    return PeriodResult(
        plan=plan,
        period=period,
        member_ids=inp.member_ids,
        ignored_orders=ignored,
        pv=pv,
        pv_by_cutoff=pv_cut,
        sr_count=sr_count,
        sr_volume=sr_volume,
        paid_as=paid,
        title=title,
        sales_rate_tier=tier_of,
        sales_bonus=sales,
        morning_star=morning,
        open_star=open_,
        override=override,
        total=total,
        line_earner=line_earner,
        line_source=np.concatenate(s_parts),
        line_generation=np.concatenate(g_parts),
        line_amount=line_amount,
    )
