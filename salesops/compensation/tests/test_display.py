"""Plans and statements in the display layer: rates in per cent, numbers with separators,
ranks by name, and statement formulas rendered in the reader's language."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from salesops.compensation.engine import explain as ex
from salesops.compensation.engine.plan import RankPlan, parse_plan
from salesops.compensation.models import CommissionLine
from salesops.compensation.selectors.formulas import bonus_name, line_formula
from salesops.compensation.services.plans import plan_version_create
from salesops.core.models import RoleCode
from salesops.factories import UserFactory, role
from salesops.org.models import rank_label

PLANS = Path(settings.BASE_DIR).parent / "plans"
SEED_PATH = PLANS / "seed-rank-plan.toml"


@pytest.fixture(scope="module")
def seed() -> RankPlan:
    plan = parse_plan(SEED_PATH.read_text(encoding="utf-8"), str(SEED_PATH))
    assert isinstance(plan, RankPlan)
    return plan


def _line(item: ex.LineItem) -> CommissionLine:
    return CommissionLine(
        rule=item.rule, name=item.name, amount=item.amount, formula=item.formula,
        inputs=dict(item.inputs), generation=item.generation,
    )  # fmt: skip


def test_rank_codes_read_as_names() -> None:
    assert rank_label("SSD") == "资深销售总监 SSD"
    assert rank_label("") == ""
    assert rank_label("XX") == "XX"
    with translation.override("en"):
        assert rank_label("SSD") == "Senior Sales Director SSD"


def test_sales_and_override_formulas_in_chinese_match_the_stored_text(seed: RankPlan) -> None:
    sales = ex.sales_line(
        seed, Decimal("20500"), Decimal("20000"), Decimal("0.20"), Decimal("3504.27")
    )
    override = ex.override_line(seed, "M0042", 2, Decimal("15000"), Decimal("0.05"), Decimal("750"))
    assert line_formula(_line(sales)) == sales.formula
    assert line_formula(_line(override)) == override.formula
    with translation.override("en"):
        assert line_formula(_line(sales)) == (
            "Personal volume 20500.00 ≥ 20000 → 20% × 20500.00 × 0.9 ÷ 1.17 = 3504.27"
        )
        assert line_formula(_line(override)) == (
            "Generation 2 M0042 personal volume 15000.00 × 5% = 750.00"
        )


def test_threshold_and_leadership_formulas_name_the_rank(seed: RankPlan) -> None:
    morning = ex.threshold_line(
        seed, ex.RULE_MORNING, "SD", Decimal("16000"), Decimal("15000"), Decimal("800")
    )
    leader = ex.leadership_line(seed, "SSD", "BB", Decimal("1200"))
    day = seed.volume.early_cutoff_day
    label = "个人业绩" if seed.morning_star.basis == "pv" else f"{day}号前业绩"
    assert line_formula(_line(morning)) == f"{label} 16000.00 ≥ 15000（销售总监 SD）→ 800.00"
    assert line_formula(_line(leader)) == "BB 领导奖（资深销售总监 SSD）→ 1200.00"
    with translation.override("en"):
        english = (
            "Personal volume 16000.00"
            if seed.morning_star.basis == "pv"
            else f"Volume up to day {day} 16000.00"
        )
        assert line_formula(_line(morning)) == f"{english} ≥ 15000 (Sales Director SD) → 800.00"
        assert line_formula(_line(leader)) == (
            "BB leadership bonus (Senior Sales Director SSD) → 1200.00"
        )
        assert bonus_name("销售奖金") == "Sales bonus"
        assert bonus_name("自定义奖") == "自定义奖"  # a custom plan's own name, as written


def test_adjustment_formula_and_old_lines_fall_back_to_the_stored_text() -> None:
    adj = CommissionLine(
        rule="adjustment", name="调整", amount=Decimal("-12.50"), formula="(stored)",
        inputs={"period": "2026-09", "recomputed": "100.00", "closed": "112.50",
                "adjusted_before": "0.00"},
    )  # fmt: skip
    assert line_formula(adj) == "2026-09 重算 100.00 − 原结算 112.50 = −12.50"
    old = CommissionLine(rule=ex.RULE_SALES, name="销售奖金", amount=Decimal(1), formula="旧公式")
    assert line_formula(old) == "旧公式"


def test_plan_page_shows_rates_numbers_and_rank_names(db: None, client: Client) -> None:
    finance = UserFactory(username="fin", role=role(RoleCode.FINANCE))
    version = plan_version_create(
        actor=finance,
        text=SEED_PATH.read_text(encoding="utf-8"),
        source_name="seed.toml",
        effective_from=dt.date(2026, 11, 1),
    )
    commission = plan_version_create(
        actor=finance,
        text=(PLANS / "sales-commission.toml").read_text(encoding="utf-8"),
        source_name="c.toml",
        effective_from=dt.date(2026, 11, 1),
    )
    client.force_login(finance)
    html = client.get(reverse("compensation:plan_detail", args=[version.pk])).content.decode()
    assert "职级阶梯（合格职级：业务代表 SR）" in html
    assert '<td class="text-end">240,000</td>' in html  # SSD's trained-SR volume
    assert '<td class="text-end">20,000</td><td class="text-end">20%</td>' in html
    assert "0.20" not in html.split('id="sales-bonus-tiers"')[1].split("</table>")[0]
    html = client.get(reverse("compensation:plan_detail", args=[commission.pk])).content.decode()
    tiers = html.split('id="commission-tiers"')[1].split("</table>")[0]
    assert (
        '<td class="text-end">60%</td><td class="text-end">80%</td><td class="text-end">3%</td>'
        in tiers
    )
    assert "200%" in tiers and "¥20,000.00" in html


def test_every_name_the_seed_plan_shows_has_an_english_name() -> None:
    import tomllib
    from pathlib import Path

    from salesops.compensation.selectors.formulas import bonus_name

    plan = tomllib.loads(
        (Path(__file__).resolve().parents[3] / "plans" / "seed-rank-plan.toml").read_text()
    )
    names = [plan[k]["name"] for k in ("sales_bonus", "morning_star", "open_star", "override")]
    names += [v["name"] for v in plan["leadership"].values()]
    names += [t["name"] for t in plan["trips"]] + [p["name"] for p in plan["pools"]]
    assert len(names) == 11
    with translation.override("en"):
        untranslated = [n for n in names if bonus_name(n) == n]
    assert untranslated == []
