# ruff: noqa: E501  (tables of inputs and expected messages read best one row per line)
"""`salesops comp compute`: golden outputs on small files, and every kind of bad input
refused with exit 2, ``file:line: reason`` on stderr and nothing on stdout."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from salesops.compensation.cli import main

from .test_engine_support import SEED_PLAN

MEMBERS = """member_id,sponsor_id,joined_on,status,title
10,,2025-01-01,active,
2,10,2025-01-01,active,SE
3,2,2025-02-01,active,
4,2,2025-02-01,active,
5,2,2025-02-01,active,
6,2,2025-02-01,terminated,SR
7,2,2025-02-01,active,
1,,2025-03-01,active,
"""
ORDERS = """order_id,member_id,order_date,amount,kind,original_order_id
1,2,2026-10-05,20000.00,regular,
2,2,2026-10-25,10000,aro,
3,3,2026-10-02,20000,regular,
4,4,2026-10-02,20000,regular,
5,5,2026-10-02,20000,regular,
6,6,2026-10-02,50000,regular,
7,7,2026-10-02,25000,regular,
8,7,2026-10-22,-5000,return,7
9,1,2026-10-20,15000,regular,
10,1,2026-10-21,5000.5,regular,
11,1,2026-09-30,5000,regular,
12,1,2026-11-01,5000,regular,
"""
GOLDEN = """member_id,paid_as,title,pv,pv_by_cutoff,sr_count,sr_volume,sales_bonus,morning_star,open_star,override,total
1,SR,SR,20000.50,15000.00,0,0.00,3077.00,1500.00,1000.00,0.00,5577.00
2,SM,SM,30000.00,20000.00,4,80000.00,4615.38,4000.00,2000.00,4000.00,14615.38
3,SR,SR,20000.00,20000.00,0,0.00,3076.92,1500.00,1000.00,0.00,5576.92
4,SR,SR,20000.00,20000.00,0,0.00,3076.92,1500.00,1000.00,0.00,5576.92
5,SR,SR,20000.00,20000.00,0,0.00,3076.92,1500.00,1000.00,0.00,5576.92
6,,SR,50000.00,50000.00,0,0.00,0.00,0.00,0.00,0.00,0.00
7,SR,SR,20000.00,25000.00,0,0.00,3076.92,1500.00,1000.00,0.00,5576.92
10,,,0.00,0.00,1,30000.00,0.00,0.00,0.00,0.00,0.00
"""


def run(tmp_path: Path, members: str = MEMBERS, orders: str = ORDERS, *extra: str,
        period: str = "2026-10", plan: str | Path = SEED_PLAN) -> tuple[int, str, str]:  # fmt: skip
    (tmp_path / "members.csv").write_text(members, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(orders, encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["compute", "--plan", str(plan), "--members", str(tmp_path / "members.csv"),
         "--orders", str(tmp_path / "orders.csv"), "--period", period, *extra],
        stdout=out, stderr=err,
    )  # fmt: skip
    return code, out.getvalue(), err.getvalue()


def test_golden_csv_sorted_numerically(tmp_path: Path) -> None:
    code, out, err = run(tmp_path)
    assert code == 0
    assert out == GOLDEN
    assert err == f"{tmp_path / 'orders.csv'}: 2 orders dated outside 2026-10 ignored\n"


def test_golden_json_lines(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, MEMBERS, ORDERS, "--format", "json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["member_id"] for r in rows] == ["1", "2", "3", "4", "5", "6", "7", "10"]
    assert rows[1] == {
        "member_id": "2", "paid_as": "SM", "title": "SM", "pv": "30000.00",
        "pv_by_cutoff": "20000.00", "sr_count": 4, "sr_volume": "80000.00",
        "sales_bonus": "4615.38", "morning_star": "4000.00", "open_star": "2000.00",
        "override": "4000.00", "total": "14615.38",
    }  # fmt: skip
    assert rows[0]["paid_as"] == "SR" and rows[7]["paid_as"] is None


def test_string_ids_sort_as_strings(tmp_path: Path) -> None:
    members = "member_id,sponsor_id,joined_on,status,title\nb,,2025-01-01,active,\nA1,b,2025-01-01,active,\na10,b,2025-01-01,active,\na9,,2025-01-01,active,\n"
    orders = "order_id,member_id,order_date,amount,kind,original_order_id\nx1,A1,2026-10-01,13000,regular,\n"
    code, out, _ = run(tmp_path, members, orders)
    assert code == 0
    assert [line.split(",")[0] for line in out.splitlines()[1:]] == ["A1", "a10", "a9", "b"]
    assert out.splitlines()[1] == "A1,SR,SR,13000.00,13000.00,0,0.00,1000.00,0.00,0.00,0.00,1000.00"


def test_explain_prints_formulas_and_each_override_source(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, MEMBERS, ORDERS, "--explain", "2")
    assert code == 0
    assert out.splitlines() == [
        "会员 member 2  期间 period 2026-10  方案 plan seed-rank",
        "paid_as SM (销售经理)  title SM",
        "pv 30000.00  pv_by_cutoff 20000.00  sr_count 4  sr_volume 80000.00",
        "销售奖金  个人业绩 30000.00 ≥ 20000 → 20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38",
        "晨星奖  20号前业绩 20000.00 ≥ 20000 (SM) → 4000.00",
        "开星奖  个人业绩 30000.00 ≥ 30000 (SM) → 2000.00",
        "季度评估  第1代 3 个人业绩 20000.00 × 5% = 1000.00",
        "季度评估  第1代 4 个人业绩 20000.00 × 5% = 1000.00",
        "季度评估  第1代 5 个人业绩 20000.00 × 5% = 1000.00",
        "季度评估  第1代 7 个人业绩 20000.00 × 5% = 1000.00",
        "合计 total 14615.38",
        "发放 payout 2026-12-10; 季度评估 accrues monthly, paid with the 2026-12 statement",
    ]


def test_explain_json(tmp_path: Path) -> None:
    code, out, _ = run(tmp_path, MEMBERS, ORDERS, "--explain", "1", "--format", "json")
    assert code == 0
    items = [json.loads(line) for line in out.splitlines()]
    assert [(i["rule"], i["amount"]) for i in items] == [
        ("sales_bonus", "3077.00"),
        ("morning_star", "1500.00"),
        ("open_star", "1000.00"),
    ]
    assert (
        items[0]["formula"] == "个人业绩 20000.50 ≥ 20000 → 20% × 20000.50 × 0.9 ÷ 1.17 = 3077.00"
    )


H_M = "member_id,sponsor_id,joined_on,status,title\n"
H_O = "order_id,member_id,order_date,amount,kind,original_order_id\n"
OK_M = H_M + "1,,2025-01-01,active,\n2,1,2025-01-01,active,\n"
OK_O = H_O + "1,1,2026-10-01,100,regular,\n"

BAD = [
    # (members, orders, expected stderr lines: (file, line, reason))
    (H_M + "1,,2025-01-01,active,\n2,9,2025-01-01,active,\n", OK_O,
     [("members.csv", 3, "unknown sponsor_id '9'")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,\n2,3,2026-10-01,100,regular,\n",
     [("orders.csv", 3, "unknown member_id '3'")]),
    (H_M + "1,3,2025-01-01,active,\n2,1,2025-01-01,active,\n3,2,2025-01-01,active,\n", OK_O,
     [("members.csv", 2, "sponsor cycle: 1 → 3 → 2 → 1")]),
    (H_M + "1,1,2025-01-01,active,\n", OK_O, [("members.csv", 2, "sponsor cycle: 1 → 1")]),
    (H_M + "1,,2025-01-01,active,\n1,,2025-01-01,active,\n", OK_O,
     [("members.csv", 3, "duplicate member_id '1' (first on line 2)")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,\n1,2,2026-10-01,100,regular,\n",
     [("orders.csv", 3, "duplicate order_id '1' (first on line 2)")]),
    (OK_M, H_O + "1,1,2026-10-01,abc,regular,\n", [("orders.csv", 2, "amount is not a number: 'abc'")]),
    (OK_M, H_O + "1,1,2026-10-01,inf,regular,\n", [("orders.csv", 2, "amount is not finite: 'inf'")]),
    (OK_M, H_O + "1,1,2026-10-01,NaN,regular,\n", [("orders.csv", 2, "amount is not finite: 'NaN'")]),
    (OK_M, H_O + "1,1,2026-10-01,1.234,regular,\n",
     [("orders.csv", 2, "amount has more than two decimals: '1.234'")]),
    (OK_M, H_O + "1,1,2026-10-01,,regular,\n", [("orders.csv", 2, "amount is empty")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,\n2,1,2026-10-02,50,return,1\n",
     [("orders.csv", 3, "a return must have a negative amount, not '50'")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,\n2,1,2026-10-02,-50,return,\n",
     [("orders.csv", 3, "a return needs its original_order_id")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,\n2,1,2026-10-02,-50,return,99\n",
     [("orders.csv", 3, "original order '99' of this return is not in the file")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,\n2,2,2026-10-02,-50,return,1\n",
     [("orders.csv", 3, "original order '1' belongs to another member")]),
    (OK_M, H_O + "1,1,2026-10-01,-100,regular,\n",
     [("orders.csv", 2, "a negative amount '-100' is only allowed on a return")]),
    (OK_M, H_O + "1,1,2026-02-30,100,regular,\n", [("orders.csv", 2, "order_date is not a date: '2026-02-30'")]),
    (OK_M, H_O + "1,1,yesterday,100,regular,\n", [("orders.csv", 2, "order_date is not a date: 'yesterday'")]),
    (H_M + "1,,2025-13-01,active,\n", OK_O, [("members.csv", 2, "joined_on is not a date: '2025-13-01'")]),
    (H_M + "1,,2025-01-01,retired,\n", OK_O,
     [("members.csv", 2, "status must be active or terminated, not 'retired'")]),
    (H_M + "1,,2025-01-01,active,BOSS\n", OK_O,
     [("members.csv", 2, "title must be empty or one of SR, SE, SSE, SM, SSM, SD, SSD, TE, not 'BOSS'")]),
    (OK_M, H_O + "1,1,2026-10-01,100,gift,\n",
     [("orders.csv", 2, "kind must be regular, aro or return, not 'gift'")]),
    ("member_id,sponsor_id,status,title\n1,,active,\n", OK_O, [("members.csv", 1, "missing column joined_on")]),
    (OK_M, "order_id,member_id,order_date,amount\n1,1,2026-10-01,100\n",
     [("orders.csv", 1, "missing column kind"), ("orders.csv", 1, "missing column original_order_id")]),
    (OK_M, H_O + "1,1,2026-10-01,100,regular,,extra\n", [("orders.csv", 2, "expected 6 fields, found 7")]),
    (OK_M, "", [("orders.csv", 1, "empty file: the header row is missing")]),
]  # fmt: skip


@pytest.mark.parametrize(("members", "orders", "expected"), BAD)
def test_bad_input_exits_2_with_file_line_reason(
    tmp_path: Path, members: str, orders: str, expected: list[tuple[str, int, str]]
) -> None:
    code, out, err = run(tmp_path, members, orders)
    assert code == 2
    assert out == ""
    assert err.splitlines() == [f"{tmp_path / f}:{line}: {reason}" for f, line, reason in expected]


def test_all_problems_are_reported_together(tmp_path: Path) -> None:
    orders = H_O + "1,1,2026-10-01,abc,regular,\n2,7,2026-10-01,5,regular,\n3,1,bad,5,regular,\n"
    code, out, err = run(tmp_path, OK_M, orders)
    o = tmp_path / "orders.csv"
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"{o}:2: amount is not a number: 'abc'",
        f"{o}:3: unknown member_id '7'",
        f"{o}:4: order_date is not a date: 'bad'",
    ]


def test_blank_lines_are_skipped_and_do_not_shift_line_numbers(tmp_path: Path) -> None:
    orders = H_O + "1,1,2026-10-01,100,regular,\n\n3,1,2026-10-01,x,regular,\n"
    code, _, err = run(tmp_path, OK_M, orders)
    assert code == 2
    assert err.splitlines() == [f"{tmp_path / 'orders.csv'}:4: amount is not a number: 'x'"]


@pytest.mark.parametrize("period", ["2026-13", "2026-1", "oct", ""])
def test_bad_period_exits_2(tmp_path: Path, period: str) -> None:
    code, out, err = run(tmp_path, OK_M, OK_O, period=period)
    assert (code, out) == (2, "")
    assert err.startswith("--period: not a month YYYY-MM")


def test_bad_plan_file_exits_2_with_file_key_reason(tmp_path: Path) -> None:
    plan = tmp_path / "bad.toml"
    plan.write_text(SEED_PLAN.read_text(encoding="utf-8").replace("vat_divisor = 1.17", "vat_divisor = 0"),
                    encoding="utf-8")  # fmt: skip
    code, out, err = run(tmp_path, OK_M, OK_O, plan=plan)
    assert (code, out) == (2, "")
    assert err == f"{plan}: volume.vat_divisor: must be > 0, got 0\n"


def test_unknown_explain_member_exits_2(tmp_path: Path) -> None:
    code, out, err = run(tmp_path, OK_M, OK_O, "--explain", "42")
    assert (code, out, err) == (2, "", "--explain: unknown member_id '42'\n")


def test_usage_error_exits_2() -> None:
    err = io.StringIO()
    assert main(["compute", "--plan", "x"], stdout=io.StringIO(), stderr=err) == 2
    assert "required" in err.getvalue()


def test_validate_accepts_both_shipped_plans() -> None:
    out = io.StringIO()
    assert main(["validate", "--plan", str(SEED_PLAN)], stdout=out, stderr=io.StringIO()) == 0
    commission = SEED_PLAN.parent / "sales-commission.toml"
    assert main(["comp", "validate", "--plan", str(commission)], stdout=out,
                stderr=io.StringIO()) == 0  # fmt: skip
    assert "commission plan sales-commission" in out.getvalue()
