"""Statement lines: what each bonus line was computed from, written as its formula.

Both engines describe their lines with these helpers so a statement reads the same
whichever engine produced it; the arithmetic itself lives in each engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from .plan import RankPlan

RULE_SALES = "sales_bonus"
RULE_MORNING = "morning_star"
RULE_OPEN = "open_star"
RULE_OVERRIDE = "override"
RULE_LEADERSHIP = "leadership"
RULES = (RULE_SALES, RULE_MORNING, RULE_OPEN, RULE_OVERRIDE, RULE_LEADERSHIP)
# Lines a closed month's correction posts later (``services.adjustments``), never the engines.
RULE_ADJUSTMENT = "adjustment"


@dataclass(frozen=True)
class LineItem:
    rule: str
    name: str
    amount: Decimal
    formula: str
    inputs: dict[str, str] = field(default_factory=dict)
    source_member: str | None = None
    generation: int | None = None


def num(d: Decimal | int) -> str:
    """A plan number as written: ``Decimal('20000')`` → ``20000``, ``0.90`` → ``0.9``."""
    d = Decimal(d)
    s = format(d.normalize(), "f")
    return s


def pct(rate: Decimal) -> str:
    return f"{num(rate * 100)}%"


def money(d: Decimal) -> str:
    return f"{d:.2f}"


def basis_label(plan: RankPlan, basis: str) -> str:
    if basis == "pv_by_cutoff":
        return f"{plan.volume.early_cutoff_day}号前业绩"
    return "个人业绩"


def sales_line(
    plan: RankPlan, pv: Decimal, min_pv: Decimal, rate: Decimal, amount: Decimal
) -> LineItem:
    v = plan.volume
    formula = (
        f"个人业绩 {money(pv)} ≥ {num(min_pv)} → {pct(rate)} × {money(pv)} × "
        f"{num(v.bonus_volume_factor)} ÷ {num(v.vat_divisor)} = {money(amount)}"
    )
    return LineItem(
        RULE_SALES,
        plan.sales_bonus.name,
        amount,
        formula,
        {"pv": money(pv), "min_pv": num(min_pv), "rate": num(rate),
         "bonus_volume_factor": num(v.bonus_volume_factor), "vat_divisor": num(v.vat_divisor)},
    )  # fmt: skip


def threshold_line(
    plan: RankPlan, rule: str, rank: str, volume: Decimal, minimum: Decimal, amount: Decimal
) -> LineItem:
    bonus = plan.morning_star if rule == RULE_MORNING else plan.open_star
    label = basis_label(plan, bonus.basis)
    formula = f"{label} {money(volume)} ≥ {num(minimum)} ({rank}) → {money(amount)}"
    inputs = {bonus.basis: money(volume), "min": num(minimum), "paid_as": rank}
    if bonus.basis == "pv_by_cutoff":
        # A page renders the formula again in its reader's language from the inputs.
        inputs["cutoff_day"] = str(plan.volume.early_cutoff_day)
    return LineItem(rule, bonus.name, amount, formula, inputs)


def override_line(
    plan: RankPlan, source: str, generation: int, pv: Decimal, rate: Decimal, amount: Decimal
) -> LineItem:
    formula = f"第{generation}代 {source} 个人业绩 {money(pv)} × {pct(rate)} = {money(amount)}"
    return LineItem(
        RULE_OVERRIDE,
        plan.override.name,
        amount,
        formula,
        {"source": source, "generation": str(generation), "pv": money(pv), "rate": num(rate)},
        source_member=source,
        generation=generation,
    )


def leadership_line(plan: RankPlan, rank: str, code: str, amount: Decimal) -> LineItem:
    name = next((lb.name for lb in plan.leadership if lb.code == code), code)
    return LineItem(
        RULE_LEADERSHIP, name, amount, f"{name} ({rank}) → {money(amount)}", {"paid_as": rank}
    )
