"""Employee commission (提成) plans: a rep's month against their target, and the
annual sales champion. Small numbers of reps, so plain Decimal code."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from .money import quantize
from .plan import CommissionPlan


@dataclass(frozen=True)
class CommissionLine:
    band: str
    base: Decimal  # the part of the sales paid at this rate
    rate: Decimal
    amount: Decimal

    @property
    def formula(self) -> str:
        return f"{self.band}: {self.base:.2f} × {self.rate * 100:f}% = {self.amount:.2f}"


@dataclass(frozen=True)
class CommissionResult:
    rep_id: str
    target: Decimal
    sales: Decimal  # receipts (回款) or orders, as the plan's basis says
    attainment: Decimal  # sales ÷ target
    lines: tuple[CommissionLine, ...]

    @property
    def total(self) -> Decimal:
        return sum((li.amount for li in self.lines), Decimal("0.00"))


def compute_commission(
    plan: CommissionPlan, *, rep_id: str, target: Decimal, receipts: Sequence[Decimal]
) -> CommissionResult:
    """One rep's monthly commission.

    ``receipts`` are the amounts the plan's basis recognises in the month — money
    received (回款) for a receipts plan, so an order not yet paid earns nothing; a refund
    is a negative receipt. ``marginal`` pays each band of attainment at its own rate;
    ``flat`` pays everything up to the cap at the rate of the highest band reached.
    """
    if target <= 0:
        raise ValueError(f"target must be > 0 for rep {rep_id}, got {target}")
    sales = sum(receipts, Decimal(0))
    attainment = sales / target
    acc = plan.accelerator
    bands: list[tuple[str, Decimal, Decimal | None, Decimal]] = []  # name, from, to, rate
    for k, tier in enumerate(plan.tiers):
        if k + 1 < len(plan.tiers):
            upper: Decimal | None = plan.tiers[k + 1].start
        else:
            upper = acc.start if acc else None
        bands.append((f"{tier.start * 100:f}%–", tier.start, upper, tier.rate))
    if acc:
        bands.append((f"加速 {acc.start * 100:f}%–", acc.start, acc.cap, acc.rate))
    cap = acc.cap if acc and acc.cap is not None else None
    counted = sales if cap is None else min(sales, cap * target)
    lines: list[CommissionLine] = []
    if counted > 0:
        if plan.method == "marginal":
            for name, lo, hi, rate in bands:
                top = counted if hi is None else min(counted, hi * target)
                base = top - lo * target
                if base > 0:
                    lines.append(CommissionLine(name, base, rate, quantize(base * rate)))
        else:
            name, _, _, rate = max(
                (b for b in bands if attainment >= b[1]), key=lambda b: b[1], default=bands[0]
            )
            lines.append(CommissionLine(name, counted, rate, quantize(counted * rate)))
    return CommissionResult(rep_id, target, sales, attainment, tuple(lines))


def sales_champions(
    plan: CommissionPlan, annual: Mapping[str, tuple[Decimal, Decimal]]
) -> list[tuple[str, Decimal]]:
    """The annual champion award: ``annual`` maps rep → (annual target, annual sales).

    The best ``winners`` reps by sales among those at or above ``min_attainment``; reps
    tied with the last winner also win (a tie is not broken by chance).
    """
    ch = plan.champion
    if ch is None:
        return []
    eligible = [
        (sales, rep)
        for rep, (target, sales) in annual.items()
        if sales > 0 and target > 0 and sales / target >= ch.min_attainment
    ]
    eligible.sort(key=lambda x: (-x[0], x[1]))
    if not eligible:
        return []
    cut = eligible[min(ch.winners, len(eligible)) - 1][0]
    return [(rep, quantize(ch.award)) for sales, rep in eligible if sales >= cut]
