"""Exact money arithmetic shared by both engines.

Amounts are integer fen inside the engine and :class:`~decimal.Decimal` at every boundary.
A bonus such as ``pv × 0.9 ÷ 1.17 × 20%`` is not a whole number of fen, so each line is
computed as an exact rational ``amount × num / den`` and rounded half-up once.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

import numpy as np
import numpy.typing as npt

FEN = Decimal("0.01")
_INT64_SAFE = 2**62

IntArray = npt.NDArray[np.int64]


def to_fen(amount: Decimal) -> int:
    """Decimal yuan → integer fen; the caller guarantees at most two decimals."""
    return int((amount * 100).to_integral_value())


def from_fen(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(FEN)


def fmt_fen(fen: int) -> str:
    """Two decimals, no grouping: ``123456`` → ``"1234.56"``."""
    fen = int(fen)
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"


def quantize(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP)


def ratio(*factors: Decimal | int, divide_by: tuple[Decimal | int, ...] = ()) -> Fraction:
    """The exact product of ``factors`` divided by the product of ``divide_by``."""
    out = Fraction(1)
    for f in factors:
        out *= Fraction(f)
    for d in divide_by:
        out /= Fraction(d)
    return out


def round_half_up_int(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half away from zero (``denominator > 0``)."""
    if numerator >= 0:
        return (2 * numerator + denominator) // (2 * denominator)
    return -((-2 * numerator + denominator) // (2 * denominator))


def mul_ratio_half_up(fen: IntArray, factor: Fraction) -> IntArray:
    """Each ``fen × factor`` rounded half-up to the fen, in integer arithmetic.

    Falls back to Python integers (object arrays) when int64 could overflow, so a plan
    with long decimals can never silently wrap around.
    """
    num, den = factor.numerator, factor.denominator
    fen = np.asarray(fen, dtype=np.int64)
    if fen.size == 0:
        return fen.copy()
    biggest = int(np.abs(fen).max())
    if den < 0:
        num, den = -num, -den
    if 2 * biggest * abs(num) + den < _INT64_SAFE and 2 * den < _INT64_SAFE:
        a = fen * num
        pos = (2 * a + den) // (2 * den)
        neg = -((-2 * a + den) // (2 * den))
        return np.where(a >= 0, pos, neg).astype(np.int64)
    out = [round_half_up_int(int(x) * num, den) for x in fen.tolist()]
    return np.array(out, dtype=np.int64)
