"""Periods (calendar months) and the plan's payment calendar."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from .plan import RankPlan

_PERIOD_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """``"2026-10"`` → Period; raises ValueError for anything else."""
        m = _PERIOD_RE.match(text.strip())
        if not m or int(m.group(1)) < 1:
            raise ValueError(f"not a month YYYY-MM: {text!r}")
        return cls(int(m.group(1)), int(m.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    def shift(self, months: int) -> Period:
        k = self.year * 12 + (self.month - 1) + months
        return Period(k // 12, k % 12 + 1)

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        return self.shift(1).first - dt.timedelta(days=1)

    def day_number(self, day: dt.date) -> int:
        """Days since 1970-01-01 (the physical value of a polars/arrow Date)."""
        return (day - EPOCH).days

    def cutoff(self, cutoff_day: int, inclusive: bool) -> dt.date:
        """Last date that counts towards ``pv_by_cutoff`` (may be before the month)."""
        last = self.last
        day = min(cutoff_day, last.day)
        if cutoff_day > last.day:
            return last
        return dt.date(self.year, self.month, day) - dt.timedelta(days=0 if inclusive else 1)


def payout_date(plan: RankPlan, period: Period) -> dt.date:
    """Bonuses of month M are paid on ``payout.day`` of month M + ``payout.months_after``."""
    p = period.shift(plan.payout.months_after)
    return dt.date(p.year, p.month, plan.payout.day)


def override_statement_period(plan: RankPlan, period: Period) -> Period:
    """The month whose statement pays the override accrued in ``period``
    (the next payment month on or after it, e.g. the quarter's last month)."""
    months = plan.override.payment_months or tuple(range(1, 13))
    for k in range(12):
        p = period.shift(k)
        if p.month in months:
            return p
    return period  # unreachable: payment_months is never empty of valid months
