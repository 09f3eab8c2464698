"""Property: the vectorised engine equals the reference engine to the fen, on random
networks (deep chains, wide first levels, terminated members with downlines, returns,
orders outside the period, volumes exactly on every threshold, titles held before) and
random plan settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.compensation.engine.network import MemberRecord, OrderRecord
from salesops.compensation.engine.plan import LeadershipBonus, RankPlan

from .test_engine_support import OCT, run_both, seed_plan, vec_row

PLAN = seed_plan()
THRESHOLDS = sorted(
    {r.pv for r in PLAN.ranks} | {t.min_pv for t in PLAN.sales_bonus.tiers}
    | {g.min for b in (PLAN.morning_star, PLAN.open_star) for g in b.groups}
)  # fmt: skip
AMOUNTS = st.one_of(
    st.sampled_from(THRESHOLDS),
    st.sampled_from([Decimal("0.01"), Decimal("6500"), Decimal("7500"), Decimal("10000")]),
    st.integers(1, 4_000_000).map(lambda c: Decimal(c) / 100),
    st.sampled_from(THRESHOLDS).map(lambda t: t - Decimal("0.01")),
)
DAYS = st.sampled_from([(10, 1), (10, 19), (10, 20), (10, 21), (10, 31), (9, 30), (11, 1)])


@st.composite
def plans(draw: st.DrawFn) -> RankPlan:
    p = PLAN
    lead = draw(st.sampled_from([Decimal(0), Decimal("123.45")]))
    return replace(
        p,
        volume=replace(p.volume, aro_counts=draw(st.booleans()),
                       early_cutoff_inclusive=draw(st.booleans())),
        override=replace(p.override, compression=draw(st.booleans())),
        titles=replace(p.titles, title_can_drop=draw(st.booleans()),
                       terminated_keeps_title=draw(st.booleans())),
        leadership=(LeadershipBonus("BB", "BB", lead), LeadershipBonus("BBB", "BBB", lead)),
    )  # fmt: skip


@st.composite
def networks(draw: st.DrawFn) -> tuple[list[MemberRecord], list[OrderRecord]]:
    n = draw(st.integers(1, 70))
    shape = draw(st.sampled_from(["chain", "wide", "mixed"]))
    sponsors: list[int | None] = [None]
    for i in range(1, n):
        if shape == "chain":
            how = draw(st.sampled_from(["prev", "prev", "prev", "any"]))
        elif shape == "wide":
            how = draw(st.sampled_from(["root", "root", "any", "none"]))
        else:
            how = draw(st.sampled_from(["prev", "root", "any", "none"]))
        if how == "prev":
            sponsors.append(i - 1)
        elif how == "root":
            sponsors.append(0)
        elif how == "none":
            sponsors.append(None)
        else:
            sponsors.append(draw(st.integers(0, i - 1)))
    codes = ["", *PLAN.rank_codes]
    ids = [f"m{i:03d}" for i in range(n)]
    members = [
        MemberRecord(
            ids[i],
            ids[s] if s is not None else None,
            draw(st.sampled_from(["active"] * 3 + ["terminated"])),
            draw(st.sampled_from(codes)) or None,
        )
        for i, s in enumerate(sponsors)
    ]
    members = draw(st.permutations(members))
    orders: list[OrderRecord] = []
    buyers = [mid for mid in ids for _ in range(draw(st.integers(0, 3)))]
    for mid in buyers:
        (month, day), amount = draw(DAYS), draw(AMOUNTS)
        kind = draw(st.sampled_from(["regular", "regular", "aro"]))
        orders.append(OrderRecord(str(len(orders)), mid, dt.date(2026, month, day), amount, kind))
        if draw(st.integers(0, 5)) == 0:  # a return of part of it
            part = min(amount, draw(AMOUNTS))
            (month, day) = draw(DAYS)
            orders.append(
                OrderRecord(str(len(orders)), mid, dt.date(2026, month, day), -part, "return",
                            orders[-1].order_id)
            )  # fmt: skip
    return list(members), orders


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plan=plans(), net=networks())
def test_vectorised_equals_reference(
    plan: RankPlan, net: tuple[list[MemberRecord], list[OrderRecord]]
) -> None:
    members, orders = net
    vec, ref = run_both(plan, members, orders, OCT)
    for i in range(len(members)):
        row = vec_row(vec, i)
        assert row == ref[str(row[0])].row()
        lines_v = [(li.rule, li.source_member, li.generation, li.amount) for li in vec.lines_for(i)]
        lines_r = [(li.rule, li.source_member, li.generation, li.amount)
                   for li in ref[str(row[0])].lines]  # fmt: skip
        assert sorted(lines_v, key=str) == sorted(lines_r, key=str)
