from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.core.money import format_money, from_fen, parse_money, round_money, to_fen


def test_round_money_is_half_up() -> None:
    assert round_money(Decimal("3076.923")) == Decimal("3076.92")
    assert round_money(Decimal("0.005")) == Decimal("0.01")
    assert round_money(Decimal("-0.005")) == Decimal("-0.01")
    assert round_money(Decimal("2.675")) == Decimal("2.68")


def test_format_money() -> None:
    assert format_money(Decimal("1234.5")) == "¥1,234.50"
    assert format_money(Decimal("-1234.567")) == "-¥1,234.57"
    assert format_money(None) == ""


@pytest.mark.parametrize("raw", ["abc", "", "NaN", "Infinity", 1.5, True])
def test_parse_money_refuses_non_money(raw: object) -> None:
    with pytest.raises(ValueError):
        parse_money(raw)


def test_parse_money_accepts_formatted_input() -> None:
    assert parse_money("¥1,234.50") == Decimal("1234.50")
    assert parse_money(12) == Decimal(12)


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_fen_round_trip(fen: int) -> None:
    assert to_fen(from_fen(fen)) == fen


def test_to_fen_refuses_sub_fen() -> None:
    with pytest.raises(ValueError):
        to_fen(Decimal("0.001"))
