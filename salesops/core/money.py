"""Money: ``Decimal`` everywhere, rounded once, half-up, to the fen, here."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN = Decimal("0.01")


def round_money(value: Decimal) -> Decimal:
    """The one place amounts are rounded: half-up to 0.01."""
    return value.quantize(FEN, rounding=ROUND_HALF_UP)


def parse_money(raw: object) -> Decimal:
    """Parse user input (``"1,234.5"``, ``"¥12"``, a Decimal or int) into a finite Decimal.

    Floats are refused: they cannot carry money exactly. Raises ``ValueError``.
    """
    if isinstance(raw, bool | float):
        raise ValueError("float is not money")
    if isinstance(raw, Decimal | int):
        value = Decimal(raw)
    else:
        text = str(raw).strip().replace(",", "").replace("¥", "").replace("￥", "")
        if not text:
            raise ValueError("empty")
        try:
            value = Decimal(text)
        except InvalidOperation as exc:
            raise ValueError(text) from exc
    if not value.is_finite():
        raise ValueError("not finite")
    return value


def format_money(value: Decimal | int | None) -> str:
    """¥1,234.56 (negative as -¥1,234.56)."""
    if value is None:
        return ""
    amount = round_money(Decimal(value))
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def to_fen(value: Decimal) -> int:
    """Decimal yuan → integer fen (exact; refuses sub-fen amounts)."""
    fen = value * 100
    if fen != fen.to_integral_value():
        raise ValueError(f"{value} has more than two decimals")
    return int(fen)


def from_fen(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(FEN)
