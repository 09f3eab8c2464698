"""The seed's worked examples and the rules of shared/spec/seed-plan.md, exactly,
through both engines."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest

from salesops.compensation.engine.plan import LeadershipBonus
from salesops.compensation.engine.schedule import Period, override_statement_period, payout_date

from .test_engine_support import OCT, Orders, member, run_both, seed_plan, vec_row

D = Decimal


def both(plan, members, orders, period=OCT):  # type: ignore[no-untyped-def]
    """Rows by member id from both engines, asserting they agree."""
    vec, ref = run_both(plan, members, orders, period)
    rows = {}
    for i in range(len(members)):
        row = vec_row(vec, i)
        assert row == ref[row[0]].row(), f"engines disagree on {row[0]}"  # type: ignore[index]
        rows[row[0]] = row
    return rows, vec, ref


def test_seed_sr_example_pays_5576_92() -> None:
    # given an SR with pv 20000, 15000 of it by the 20th
    o = Orders()
    o.add("A", "15000", day=20)
    o.add("A", "5000", day=21)
    # when
    rows, _, _ = both(seed_plan(), [member("A")], o.items)
    # then: 20000×0.9÷1.17×20% = 3076.92, + 1500 + 1000
    assert rows["A"] == (
        "A",
        "SR",
        "SR",
        D("20000.00"),
        D("15000.00"),
        0,
        D("0.00"),
        D("3076.92"),
        D("1500.00"),
        D("1000.00"),
        D("0.00"),
        D("5576.92"),
    )


def test_seed_sm_example_pays_14615_38() -> None:
    # given an SM with pv 30000 (20000 by the 20th) and 4 personally trained SRs of 20000
    o = Orders()
    o.add("SM", "20000", day=3)
    o.add("SM", "10000", day=28)
    members = [member("SM")] + [member(f"S{k}", "SM") for k in range(4)]
    for k in range(4):
        o.add(f"S{k}", "20000", day=25)
    rows, _, ref = both(seed_plan(), members, o.items)
    assert rows["SM"] == (
        "SM",
        "SM",
        "SM",
        D("30000.00"),
        D("20000.00"),
        4,
        D("80000.00"),
        D("4615.38"),
        D("4000.00"),
        D("2000.00"),
        D("4000.00"),
        D("14615.38"),
    )
    override_lines = [li for li in ref["SM"].lines if li.rule == "override"]
    assert [(li.source_member, li.amount) for li in override_lines] == [
        (f"S{k}", D("1000.00")) for k in range(4)
    ]


def test_one_plus_four_override_is_4000() -> None:
    o = Orders()
    o.add("M", "15000")
    members = [member("M")] + [member(f"S{k}", "M") for k in range(4)]
    for k in range(4):
        o.add(f"S{k}", "20000")
    rows, _, _ = both(seed_plan(), members, o.items)
    assert rows["M"][1] == "SM"
    assert rows["M"][10] == D("4000.00")


def test_sales_bonus_tiers_and_thresholds_are_inclusive() -> None:
    o = Orders()
    for mid, amount in (("a", "12999.99"), ("b", "13000"), ("c", "15000"), ("d", "20000")):
        o.add(mid, amount)
    rows, _, _ = both(seed_plan(), [member(m) for m in "abcd"], o.items)
    # 13000×0.9÷1.17×10% = 1000; 15000 → 15% = 1730.769… → 1730.77
    assert [rows[m][7] for m in "abcd"] == [D("0.00"), D("1000.00"), D("1730.77"), D("3076.92")]
    assert [rows[m][1] for m in "abcd"] == ["", "SR", "SR", "SR"]


def test_sales_bonus_rounds_half_up_per_line() -> None:
    # 0.65 × 0.9 ÷ 1.17 × 10% = 0.05 exactly; 13000.65 → 1000.05
    o = Orders()
    o.add("a", "13000.65")
    rows, _, _ = both(seed_plan(), [member("a")], o.items)
    assert rows["a"][7] == D("1000.05")


def test_cutoff_day_20_is_inclusive_and_setting_can_exclude_it() -> None:
    o = Orders()
    o.add("a", "15000", day=20)
    o.add("a", "5000", day=21)
    rows, _, _ = both(seed_plan(), [member("a")], o.items)
    assert rows["a"][4] == D("15000.00")
    plan = seed_plan()
    exclusive = replace(plan, volume=replace(plan.volume, early_cutoff_inclusive=False))
    rows, _, _ = both(exclusive, [member("a")], o.items)
    assert rows["a"][4] == D("0.00")
    assert rows["a"][8] == D("0.00")  # no morning-star


def test_terminated_member_earns_nothing_but_keeps_volume_and_is_compressed_out() -> None:
    # given T (terminated, pv 30000) under M, and X (SR) under T
    o = Orders()
    o.add("M", "15000")
    o.add("T", "30000")
    o.add("X", "20000")
    members = [member("M"), member("T", "M", "terminated", "SE"), member("X", "T")]
    rows, _, _ = both(seed_plan(), members, o.items)
    assert rows["T"] == ("T", "", "SE", D("30000.00"), D("30000.00"), 1, D("20000.00"),
                         D("0.00"), D("0.00"), D("0.00"), D("0.00"), D("0.00"))  # fmt: skip
    # T is not an SR for M, so M is only SR and earns no override
    assert rows["M"][1] == "SR" and rows["M"][5] == 0
    assert rows["M"][10] == D("0.00")


def test_compression_skips_non_qualifying_members() -> None:
    # given SE E — N (pv 100, not SR) — X (SR): X is E's first generation
    o = Orders()
    o.add("E", "15000")
    o.add("E1", "13000")
    o.add("N", "100")
    o.add("X", "20000")
    members = [member("E"), member("E1", "E"), member("N", "E1"), member("X", "N")]
    rows, _, _ = both(seed_plan(), members, o.items)
    assert rows["E"][1] == "SE"  # one generation
    assert rows["E"][10] == D("650.00")  # 5% of E1 (gen 1) only; X is gen 2 for E
    assert rows["E1"][1] == "SR"
    # N does not use up a generation: with no compression X would be E's 3rd generation
    plan = seed_plan()
    flat = replace(plan, override=replace(plan.override, compression=False))
    rows2, _, _ = both(flat, members, o.items)
    assert rows2["E"][10] == D("650.00")
    # An SSE (2 generations) reaches X through N only with compression
    o.add("E2", "20000")
    members2 = [*members, member("E2", "E")]
    rows3, _, _ = both(plan, members2, o.items)
    assert rows3["E"][1] == "SSE"
    assert rows3["E"][10] == D("650.00") + D("1000.00") + D("1000.00")  # E1, E2, X
    rows4, _, _ = both(flat, members2, o.items)
    assert rows4["E"][10] == D("650.00") + D("1000.00")  # X is generation 3 of 2


def test_title_never_drops_unless_the_plan_says_so() -> None:
    o = Orders()
    o.add("a", "13000")
    members = [member("a", title="SM"), member("b", title="SE")]
    rows, _, _ = both(seed_plan(), members, o.items)
    assert (rows["a"][1], rows["a"][2]) == ("SR", "SM")
    assert (rows["b"][1], rows["b"][2]) == ("", "SE")
    plan = seed_plan()
    dropping = replace(plan, titles=replace(plan.titles, title_can_drop=True))
    rows, _, _ = both(dropping, members, o.items)
    assert (rows["a"][2], rows["b"][2]) == ("SR", "")


def test_returns_reduce_pv_and_aro_setting_drops_aro_and_its_returns() -> None:
    o = Orders()
    aro = o.add("a", "5000", kind="aro")
    o.add("a", "-1000", kind="return", original=aro, day=22)
    o.add("a", "14000")
    rows, _, _ = both(seed_plan(), [member("a")], o.items)
    assert rows["a"][3] == D("18000.00")
    assert rows["a"][4] == D("19000.00")
    plan = seed_plan()
    no_aro = replace(plan, volume=replace(plan.volume, aro_counts=False))
    rows, _, _ = both(no_aro, [member("a")], o.items)
    assert rows["a"][3] == D("14000.00")


def test_orders_outside_the_period_are_ignored_and_counted() -> None:
    o = Orders()
    o.add("a", "20000", month=9, day=30)
    o.add("a", "100", month=11, day=1)
    o.add("a", "1", day=31)
    vec, ref = run_both(seed_plan(), [member("a")], o.items)
    assert vec.ignored_orders == 2
    assert ref and vec.pv[0] == 100


def test_leadership_amount_is_a_setting_reported_with_the_override() -> None:
    plan = seed_plan()
    paid = replace(plan, leadership=(LeadershipBonus("BB", "BB 领导奖", D("888.00")),
                                     LeadershipBonus("BBB", "BBB 领导奖", D("0"))))  # fmt: skip
    o = Orders()
    o.add("L", "15000")
    members = [member("L")] + [member(f"S{k}", "L") for k in range(12)]
    for k in range(12):
        o.add(f"S{k}", "20000")
    rows, _, ref = both(paid, members, o.items)
    assert rows["L"][1] == "SSD"
    assert rows["L"][10] == D("12000.00") + D("888.00")
    assert [li.rule for li in ref["L"].lines][-1] == "leadership"


def test_payout_is_10th_of_m_plus_2_and_override_paid_at_quarter_end() -> None:
    plan = seed_plan()
    assert payout_date(plan, Period(2026, 11)) == dt.date(2027, 1, 10)
    assert override_statement_period(plan, Period(2026, 10)) == Period(2026, 12)
    assert override_statement_period(plan, Period(2026, 12)) == Period(2026, 12)
    assert override_statement_period(plan, Period(2027, 1)) == Period(2027, 3)


def test_explain_lines_name_formula_and_each_source() -> None:
    o = Orders()
    o.add("SM", "20000", day=3)
    o.add("SM", "10000", day=28)
    members = [member("SM")] + [member(f"S{k}", "SM") for k in range(4)]
    for k in range(4):
        o.add(f"S{k}", "20000", day=25)
    vec, _ = run_both(seed_plan(), members, o.items)
    formulas = [li.formula for li in vec.lines_for(0)]
    assert formulas == [
        "个人业绩 30000.00 ≥ 20000 → 20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38",
        "20号前业绩 20000.00 ≥ 20000 (SM) → 4000.00",
        "个人业绩 30000.00 ≥ 30000 (SM) → 2000.00",
        *[f"第1代 S{k} 个人业绩 20000.00 × 5% = 1000.00" for k in range(4)],
    ]


@pytest.mark.parametrize(("text", "ok"), [("2026-10", True), ("2026-13", False), ("26-10", False),
                                          ("2026-1", False), ("x", False)])  # fmt: skip
def test_period_parse(text: str, ok: bool) -> None:
    if ok:
        assert str(Period.parse(text)) == text
    else:
        with pytest.raises(ValueError):
            Period.parse(text)
