"""The binary COPY encoder, read back by a decoder written from PostgreSQL's format
description (the PostgreSQL lane also round-trips it through the server: see
compensation/tests/test_runio.py)."""

from __future__ import annotations

import json
import struct
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesops.core.pgcopy import SIGNATURE, TRAILER, EncodeError, Kind, binary_copy_chunks


def _numeric(raw: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack(">hhHh", raw[:8])
    digits = struct.unpack(f">{ndigits}h", raw[8:])
    assert all(0 <= d < 10_000 for d in digits)
    value = sum(Decimal(d) * Decimal(10_000) ** (weight - i) for i, d in enumerate(digits))
    assert sign in (0, 0x4000)
    return (-value if sign else value).quantize(Decimal(1).scaleb(-dscale))


def decode(stream: bytes, kinds: list[Kind]) -> list[tuple[Any, ...]]:
    assert stream.startswith(SIGNATURE) and stream.endswith(TRAILER)
    pos, rows = len(SIGNATURE), []
    while True:
        (count,) = struct.unpack_from(">h", stream, pos)
        pos += 2
        if count == -1:
            break
        assert count == len(kinds)
        row: list[Any] = []
        for kind in kinds:
            (size,) = struct.unpack_from(">i", stream, pos)
            pos += 4
            if size == -1:
                row.append(None)
                continue
            raw = stream[pos : pos + size]
            pos += size
            if kind in ("int8", "int4", "int2"):
                row.append(int.from_bytes(raw, "big", signed=True))
            elif kind == "text":
                row.append(raw.decode())
            elif kind == "jsonb":
                assert raw[0] == 1
                row.append(json.loads(raw[1:].decode()))
            else:
                row.append(_numeric(raw))
        rows.append(tuple(row))
    assert pos == len(stream)
    return rows


def stream_of(frame: pl.DataFrame, kinds: list[Kind], chunk: int = 3) -> bytes:
    return b"".join(bytes(c) for c in binary_copy_chunks(frame, kinds, rows_per_chunk=chunk))


KINDS: list[Kind] = ["int8", "int4", "int2", "text", "jsonb", "money"]


def test_every_kind_with_nulls_and_awkward_text() -> None:
    rows = [
        (2**63 - 1, -(2**31), 32767, 'a "q", b\n中文\t\\', '{"k": "值"}', "-1234567.89"),
        (None, None, None, None, None, None),
        (0, 7, -1, "", "{}", "0.00"),
        (-5, 1, 2, "x", "[1, 2]", "9999999999999999.99"),
    ]
    frame = pl.DataFrame(
        rows,
        schema={"a": pl.Int64, "b": pl.Int64, "c": pl.Int64, "d": pl.String, "e": pl.String,
                "f": pl.String},
        orient="row",
    )  # fmt: skip
    got = decode(stream_of(frame, KINDS), KINDS)
    assert got == [
        (2**63 - 1, -(2**31), 32767, 'a "q", b\n中文\t\\', {"k": "值"}, Decimal("-1234567.89")),
        (None, None, None, None, None, None),
        (0, 7, -1, "", {}, Decimal("0.00")),
        (-5, 1, 2, "x", [1, 2], Decimal("9999999999999999.99")),
    ]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-(10**18) + 1, 10**18 - 1), min_size=1, max_size=40))
def test_money_is_exact_for_any_amount_in_fen(fens: list[int]) -> None:
    text = [str((Decimal(f) / 100).quantize(Decimal("0.01"))) for f in fens]
    frame = pl.DataFrame({"m": text})
    got = [r[0] for r in decode(stream_of(frame, ["money"]), ["money"])]
    assert got == [Decimal(t) for t in text]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(-(10**18) + 1, 10**18 - 1)), min_size=1,
                max_size=40))  # fmt: skip
def test_money_from_a_decimal_column_is_exact(fens: list[int | None]) -> None:
    # Chunks of three rows: each chunk is a slice of the column, read at an offset.
    values = [None if f is None else Decimal(f).scaleb(-2) for f in fens]
    frame = pl.DataFrame({"m": pl.Series(values, dtype=pl.Decimal(18, 2))})
    got = [r[0] for r in decode(stream_of(frame, ["money"]), ["money"])]
    assert got == values


@pytest.mark.parametrize(
    "series",
    [pl.Series([Decimal("1.5")], dtype=pl.Decimal(18, 1)),
     pl.Series([Decimal("10000000000000000.00")], dtype=pl.Decimal(38, 2)),
     pl.Series([Decimal("-10000000000000000.00")], dtype=pl.Decimal(38, 2)),
     pl.Series([Decimal("1" * 30 + ".00")], dtype=pl.Decimal(38, 2)),
     # Beyond 64 bits although its low word alone reads as 0.05.
     pl.Series([Decimal(2**64 + 5).scaleb(-2)], dtype=pl.Decimal(38, 2))],
)  # fmt: skip
def test_decimals_that_do_not_fit_are_refused(series: pl.Series) -> None:
    with pytest.raises(EncodeError):
        stream_of(pl.DataFrame({"v": series}), ["money"])


@pytest.mark.parametrize(
    ("value", "kind"),
    [(2**31, "int4"), (-(2**15) - 1, "int2"), ("1.5", "money"), ("1e3", "money"),
     ("12345678901234567.00", "money")],
)  # fmt: skip
def test_values_that_do_not_fit_are_refused(value: Any, kind: Kind) -> None:
    frame = pl.DataFrame({"v": [value]})
    with pytest.raises(EncodeError):
        stream_of(frame, [kind])


def test_an_empty_frame_is_signature_and_trailer() -> None:
    frame = pl.DataFrame(schema={"a": pl.Int64})
    assert stream_of(frame, ["int8"]) == SIGNATURE + TRAILER
