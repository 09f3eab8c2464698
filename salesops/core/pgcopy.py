"""PostgreSQL's binary COPY format, written from a polars frame without a loop per row.

Text COPY (CSV) makes the server parse every number and every quoted string; the binary
format hands it the values as they are stored. For a million statement lines that is a
few seconds of server time less (see README, "Commission run in the app").

The stream is built column-wise with Arrow compute: each field becomes a binary column
(its 4-byte length, then its bytes), and ``binary_join_element_wise`` lays the fields of a
row side by side; the data buffer of that column is then the COPY payload for its rows.

Field encodings (PostgreSQL's ``*_recv`` functions):

* ``int8`` / ``int4`` / ``int2`` — big-endian two's complement;
* ``text`` — the UTF-8 bytes;
* ``jsonb`` — the version byte 1, then the JSON text;
* ``money`` — ``numeric`` from a polars ``Decimal`` column of scale 2 (its integers are
  the fen, read as they are) or from a decimal text with exactly two decimals
  (``-?\\d+\\.\\d\\d``): ndigits, weight, sign, dscale, then base-10000 digits. Always
  five digits (four integer groups, one for the two decimals), weight 3, dscale 2: the
  server strips the leading and trailing zero digits itself. Up to 16 integer digits.
* a null is the length -1 and no bytes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

Kind = Literal["int8", "int4", "int2", "text", "jsonb", "money"]

SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
ROWS_PER_CHUNK = 200_000
_NULL = b"\xff\xff\xff\xff"
_BIN = pa.large_binary()
_INT_WIDTH = {"int8": 8, "int4": 4, "int2": 2}


class EncodeError(ValueError):
    """A value that does not fit its column's kind (nothing was sent)."""


def binary_copy_chunks(
    frame: pl.DataFrame, kinds: Sequence[Kind], *, rows_per_chunk: int = ROWS_PER_CHUNK
) -> Iterator[bytes | memoryview]:
    """The COPY ... FROM STDIN (FORMAT binary) stream of ``frame`` (its columns in order,
    each of the given kind): the signature, then the rows in chunks, then the trailer."""
    if len(kinds) != frame.width:
        raise ValueError(f"{frame.width} columns, {len(kinds)} kinds")
    yield SIGNATURE
    for start in range(0, frame.height, rows_per_chunk):
        yield _rows(frame.slice(start, rows_per_chunk), kinds)
    yield TRAILER


def _rows(frame: pl.DataFrame, kinds: Sequence[Kind]) -> memoryview:
    n = frame.height
    pieces: list[pa.Array] = [_fixed(np.full((n, 1), frame.width, dtype=">i2"))]
    for series, kind in zip(frame.iter_columns(), kinds, strict=True):
        pieces.extend(_field(series, kind))
    row = pc.binary_join_element_wise(*pieces, pa.scalar(b"", _BIN))
    offsets = np.frombuffer(row.buffers()[1], dtype=np.int64, count=n + 1, offset=row.offset * 8)
    return memoryview(row.buffers()[2])[int(offsets[0]) : int(offsets[-1])]


def _field(series: pl.Series, kind: Kind) -> list[pa.Array]:
    """The pieces (binary columns, one value per row) that make up this field."""
    nulls = series.is_null().to_numpy()
    if kind in _INT_WIDTH:
        width = _INT_WIDTH[kind]
        values = series.fill_null(0).cast(pl.Int64).to_numpy()
        bound = 2 ** (8 * width - 1)
        if values.size and (values.min() < -bound or values.max() >= bound):
            raise EncodeError(f"{series.name}: value out of range for {kind}")
        rec = np.empty(values.size, dtype=[("n", ">i4"), ("v", f">i{width}")])
        rec["n"] = width
        rec["v"] = values
        return [_nullable(_fixed(rec), nulls)]
    if kind == "money":
        return [_nullable(_money(series), nulls)]
    if kind in ("text", "jsonb"):
        data = series.fill_null("").to_arrow().cast(pa.large_string()).cast(_BIN)
        lengths = pc.binary_length(data).to_numpy(zero_copy_only=False).astype(np.int64)
        if kind == "jsonb":
            head = np.empty(lengths.size, dtype=[("n", ">i4"), ("version", "u1")])
            head["n"] = lengths + 1
            head["version"] = 1
        else:
            head = np.empty(lengths.size, dtype=[("n", ">i4")])
            head["n"] = lengths
        if not nulls.any():
            return [_fixed(head), data]
        # A null is its length alone: the length piece says -1, the data piece is empty.
        return [_nullable(_fixed(head), nulls), pc.if_else(pa.array(nulls), b"", data)]
    raise ValueError(f"unknown kind {kind!r}")


def _money(series: pl.Series) -> pa.Array:
    if isinstance(series.dtype, pl.Decimal):
        return _numeric(_decimal_fen(series), series.name)
    text = series.fill_null("0.00")
    ok = text.str.contains(r"^-?\d{1,16}\.\d\d$")
    if not ok.all():
        bad = text.filter(~ok).head(1).to_list()
        raise EncodeError(f"{series.name}: not a two-decimal amount: {bad[0]!r}")
    fen = text.str.replace(".", "", literal=True).cast(pl.Int64).to_numpy()
    return _numeric(fen, series.name)


def _decimal_fen(series: pl.Series) -> npt.NDArray[np.int64]:
    """The values of a polars Decimal column in fen (its nulls as 0), read straight from
    the 128-bit integers Arrow stores them as."""
    if series.dtype.scale != 2:  # type: ignore[attr-defined]
        raise EncodeError(f"{series.name}: a decimal with {series.dtype} is not two-decimal")
    array = series.fill_null(0).to_arrow()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    words = np.frombuffer(
        array.buffers()[1], dtype=np.int64, count=2 * len(array), offset=16 * array.offset
    ).reshape(-1, 2)
    low, high = words[:, 0], words[:, 1]
    if not np.array_equal(high, low >> 63):  # beyond 64 bits of fen
        raise EncodeError(f"{series.name}: an amount out of range")
    return low


def _numeric(fen: npt.NDArray[np.int64], name: str) -> pa.Array:
    """``numeric`` fields of amounts in fen: at most 16 integer digits."""
    if fen.size and (int(fen.min()) <= -(10**18) or int(fen.max()) >= 10**18):
        raise EncodeError(f"{name}: an amount over 16 integer digits")
    whole, cents = np.divmod(np.abs(fen), 100)
    rec = np.empty(
        fen.size,
        dtype=[("n", ">i4"), ("ndigits", ">i2"), ("weight", ">i2"), ("sign", ">u2"),
               ("dscale", ">i2"), ("digits", ">i2", (5,))],
    )  # fmt: skip
    rec["n"] = 8 + 2 * 5
    rec["ndigits"] = 5
    rec["weight"] = 3
    rec["sign"] = np.where(fen < 0, 0x4000, 0)
    rec["dscale"] = 2
    digits = rec["digits"]
    for k, power in enumerate((10**12, 10**8, 10**4, 1)):
        digits[:, k] = whole // power % 10_000
    digits[:, 4] = cents * 100
    return _fixed(rec)


def _fixed(values: npt.NDArray[np.void] | npt.NDArray[np.int16]) -> pa.Array:
    """A binary column whose row ``i`` is the bytes of ``values[i]``."""
    raw = np.ascontiguousarray(values).view(np.uint8).reshape(len(values), -1)
    width = raw.shape[1]
    fixed = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(width), len(values), [None, pa.py_buffer(raw)]
    )
    return fixed.cast(_BIN)


def _nullable(values: pa.Array, nulls: npt.NDArray[np.bool_]) -> pa.Array:
    if not nulls.any():
        return values
    return pc.if_else(pa.array(nulls), pa.scalar(_NULL, _BIN), values)
