"""Shared support for the compensation tests (no tests here): records, both engines, rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from salesops.compensation.engine.money import from_fen
from salesops.compensation.engine.network import MemberRecord, OrderRecord, input_from_records
from salesops.compensation.engine.plan import RankPlan, load_rank_plan
from salesops.compensation.engine.reference import MemberResult, reference_compute
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import PeriodResult, compute_period

REPO = Path(__file__).resolve().parents[3]
SEED_PLAN = REPO / "plans" / "seed-rank-plan.toml"
COMMISSION_PLAN = REPO / "plans" / "sales-commission.toml"
OCT = Period(2026, 10)


def seed_plan() -> RankPlan:
    return load_rank_plan(SEED_PLAN)


def with_settings(plan: RankPlan, **changes: object) -> RankPlan:
    """A copy of ``plan`` with sections replaced, e.g. ``volume=replace(plan.volume, ...)``."""
    return replace(plan, **changes)  # type: ignore[arg-type]


def member(mid: str, sponsor: str | None = None, status: str = "active",
           title: str | None = None) -> MemberRecord:  # fmt: skip
    return MemberRecord(mid, sponsor, status, title)


class Orders:
    """Builds orders with fresh ids."""

    def __init__(self) -> None:
        self.items: list[OrderRecord] = []

    def add(self, mid: str, amount: str | int, day: int = 5, kind: str = "regular",
            original: str | None = None, month: int = 10) -> str:  # fmt: skip
        oid = str(len(self.items) + 1)
        self.items.append(
            OrderRecord(oid, mid, dt.date(2026, month, day), Decimal(amount), kind, original)
        )
        return oid


def run_both(
    plan: RankPlan, members: list[MemberRecord], orders: list[OrderRecord], period: Period = OCT
) -> tuple[PeriodResult, dict[str, MemberResult]]:
    inp = input_from_records(members, orders, plan.rank_codes)
    return compute_period(plan, inp, period), reference_compute(
        plan, members, orders, period
    ).members


def vec_row(res: PeriodResult, i: int) -> tuple[object, ...]:
    return (
        res.member_id(i), res.rank_code(int(res.paid_as[i])), res.rank_code(int(res.title[i])),
        from_fen(int(res.pv[i])), from_fen(int(res.pv_by_cutoff[i])), int(res.sr_count[i]),
        from_fen(int(res.sr_volume[i])), from_fen(int(res.sales_bonus[i])),
        from_fen(int(res.morning_star[i])), from_fen(int(res.open_star[i])),
        from_fen(int(res.override[i])), from_fen(int(res.total[i])),
    )  # fmt: skip
