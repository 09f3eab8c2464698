"""Plan files: the shipped plans load; every interpretation is a setting; a bad file
reports every problem with file, key and reason."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from salesops.compensation.engine.commission import compute_commission, sales_champions
from salesops.compensation.engine.plan import (
    CommissionPlan,
    PlanError,
    PlanIssue,
    RankPlan,
    load_commission_plan,
    load_plan,
    parse_plan,
)

from .test_engine_support import COMMISSION_PLAN, SEED_PLAN

D = Decimal


def test_seed_plan_loads_as_the_spec_states_it() -> None:
    plan = load_plan(SEED_PLAN)
    assert isinstance(plan, RankPlan)
    assert plan.rank_codes == ("SR", "SE", "SSE", "SM", "SSM", "SD", "SSD", "TE")
    assert [(r.pv, r.sr_volume, r.sr_count, r.generations) for r in plan.ranks][3] == (
        D(15000),
        D(60000),
        4,
        3,
    )
    assert [(t.min_pv, t.rate) for t in plan.sales_bonus.tiers] == [
        (D(20000), D("0.20")), (D(15000), D("0.15")), (D(13000), D("0.10"))
    ]  # fmt: skip
    v = plan.volume
    assert (v.aro_counts, v.early_cutoff_day, v.early_cutoff_inclusive) == (True, 20, True)
    assert (v.bonus_volume_factor, v.vat_divisor) == (D("0.9"), D("1.17"))
    # Interpretations of the spec, each a setting:
    assert plan.titles.title_can_drop is False
    assert plan.override.compression is True
    assert plan.override.rate == D("0.05") and plan.override.generation_rates == ()
    assert [(lb.code, lb.amount) for lb in plan.leadership] == [("BB", D(0)), ("BBB", D(0))]
    assert plan.ds == type(plan.ds)(D(8000), D(30000), D(0))
    assert plan.override.payment_months == (3, 6, 9, 12)
    assert (plan.payout.months_after, plan.payout.day) == (2, 10)
    assert [t.name for t in plan.trips] == ["创星学院", "登峰海外游", "寰宇领袖之旅"]
    assert plan.pools[0].unit_amount == D(30000) and plan.pools[0].base_month == "2013-12"
    sm = plan.morning_star.group_for("SM")
    assert sm is not None and (sm.min, sm.amount) == (D(20000), D(4000))


def test_commission_plan_loads() -> None:
    plan = load_commission_plan(COMMISSION_PLAN)
    assert isinstance(plan, CommissionPlan)
    assert (plan.basis, plan.method) == ("receipts", "marginal")
    assert plan.accelerator is not None and plan.accelerator.rate == D("0.06")


def test_bad_plan_reports_every_problem_with_file_key_and_reason(tmp_path: Path) -> None:
    text = SEED_PLAN.read_text(encoding="utf-8")
    text = text.replace("vat_divisor = 1.17", "vat_divisor = -1")
    text = text.replace("early_cutoff_day = 20 ", "early_cutoff_day = 40 ")
    text = text.replace(
        '{ code = "SE",  name = "销售主任",     pv = 15000,',
        '{ code = "SE",  name = "销售主任",     pv = 12000,',
    )
    text = text.replace("compression = true", "compresion = true")
    text = text.replace(
        'ranks = ["SM", "SSM"],       min = 20000', 'ranks = ["SM", "XX"], min = 20000'
    )
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PlanError) as info:
        load_plan(path)
    f = str(path)
    assert info.value.issues == [
        PlanIssue(f, "volume.early_cutoff_day", "must be between 1 and 31, got 40"),
        PlanIssue(f, "volume.vat_divisor", "must be > 0, got -1"),
        PlanIssue(
            f, "ranks.ladder[1].pv", "a higher rank cannot ask or give less than SR (12000 < 13000)"
        ),
        PlanIssue(f, "morning_star.groups[1].ranks[1]", "unknown rank 'XX'"),
        PlanIssue(f, "override.compresion", "unknown key"),
        PlanIssue(f, "override.compression", "missing"),
    ]  # fmt: skip
    assert (
        str(info.value).splitlines()[0]
        == f"{f}: volume.early_cutoff_day: must be between 1 and 31, got 40"
    )


def test_toml_syntax_error_is_reported() -> None:
    with pytest.raises(PlanError) as info:
        parse_plan("[plan\nkind = 1", "x.toml")
    assert info.value.issues[0].file == "x.toml"
    assert info.value.issues[0].key == "(syntax)"


def test_missing_file_is_a_plan_error(tmp_path: Path) -> None:
    with pytest.raises(PlanError) as info:
        load_plan(tmp_path / "nope.toml")
    assert info.value.issues[0].key == "(file)"


def test_commission_marginal_bands_and_accelerator() -> None:
    plan = load_commission_plan(COMMISSION_PLAN)
    # target 100000, receipts 130000: 60000×2% + 20000×3% + 20000×4% + 30000×6%
    res = compute_commission(plan, rep_id="r1", target=D(100000),
                             receipts=[D(80000), D(60000), D(-10000)])  # fmt: skip
    assert res.sales == D(130000)
    assert [li.amount for li in res.lines] == [D("1200.00"), D("600.00"), D("800.00"),
                                               D("1800.00")]  # fmt: skip
    assert res.total == D("4400.00")


def test_commission_cap_and_nothing_without_receipts() -> None:
    plan = load_commission_plan(COMMISSION_PLAN)
    capped = compute_commission(plan, rep_id="r", target=D(1000), receipts=[D(5000)])
    assert capped.total == D("12.00") + D("6.00") + D("8.00") + D("60.00")  # capped at 2000
    assert compute_commission(plan, rep_id="r", target=D(1000), receipts=[]).total == D("0.00")
    with pytest.raises(ValueError):
        compute_commission(plan, rep_id="r", target=D(0), receipts=[D(1)])


def test_commission_rounds_each_band_half_up() -> None:
    plan = load_commission_plan(COMMISSION_PLAN)
    res = compute_commission(plan, rep_id="r", target=D(100000), receipts=[D("100.25")])
    assert [li.amount for li in res.lines] == [D("2.01")]  # 2.005 → 2.01


def test_sales_champion_needs_target_and_ties_share() -> None:
    plan = load_commission_plan(COMMISSION_PLAN)
    annual = {"a": (D(100), D(500)), "b": (D(100), D(500)), "c": (D(10), D(400)),
              "d": (D(1000), D(900))}  # fmt: skip
    assert sales_champions(plan, annual) == [("a", D("20000.00")), ("b", D("20000.00"))]


# ------------------------------------------------------------------ [statements] section


def test_seed_plan_sets_upline_visibility() -> None:
    plan = load_plan(SEED_PLAN)
    assert isinstance(plan, RankPlan)
    assert plan.statements.upline_visibility == "none"


@pytest.mark.parametrize("value", ["none", "summary", "full"])
def test_upline_visibility_accepts_each_policy(value: str) -> None:
    text = SEED_PLAN.read_text(encoding="utf-8").replace(
        'upline_visibility = "none"', f'upline_visibility = "{value}"'
    )
    plan = parse_plan(text, "p.toml")
    assert isinstance(plan, RankPlan)
    assert plan.statements.upline_visibility == value


def test_upline_visibility_defaults_to_summary_when_the_section_is_absent() -> None:
    text = SEED_PLAN.read_text(encoding="utf-8")
    start = text.index("[statements]")
    end = text.index("[ds]")
    plan = parse_plan(text[:start] + text[end:], "p.toml")
    assert isinstance(plan, RankPlan)
    assert plan.statements.upline_visibility == "summary"


def test_bad_upline_visibility_is_a_plan_issue() -> None:
    text = SEED_PLAN.read_text(encoding="utf-8").replace(
        'upline_visibility = "none"', 'upline_visibility = "all"\nshow_upline = true'
    )
    with pytest.raises(PlanError) as info:
        parse_plan(text, "p.toml")
    assert info.value.issues == [
        PlanIssue("p.toml", "statements.show_upline", "unknown key"),
        PlanIssue(
            "p.toml",
            "statements.upline_visibility",
            "must be one of none, summary, full; got 'all'",
        ),
    ]
