"""members.csv / orders.csv → :class:`PeriodInput`, validated, with polars and NumPy.

Contract (see also cli.py):

* UTF-8, a header row, comma separated; extra columns are ignored; line numbers count
  the header as line 1 (a field with a line break inside quotes shifts them).
* Ids are strings. When every ``member_id`` in members.csv is an integer (digits only),
  member ids are integers: ``007`` and ``7`` are the same member, and output is sorted
  numerically. The same holds for ``order_id`` within orders.csv.
* Every problem is reported as ``file:line: reason``; nothing is computed if any.

Speed: orders.csv is first read with typed columns (integer ids, the kind as an enum),
which polars parses in parallel; if that read fails, it is read again as plain strings
so each bad value can be reported with its line.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import polars as pl

from .network import KIND_ARO, KIND_RETURN, KINDS, STATUSES, PeriodInput, find_cycles, tree_levels

MEMBER_COLUMNS = ("member_id", "sponsor_id", "joined_on", "status", "title")
ORDER_COLUMNS = ("order_id", "member_id", "order_date", "amount", "kind", "original_order_id")
_INT_ID = r"^[0-9]{1,18}$"
_AMOUNT = r"^[+-]?[0-9]{1,15}(\.[0-9]{1,2})?$"
_DATE_FMT = "%Y-%m-%d"
_ROW = "__row"


@dataclass(frozen=True, order=True)
class InputIssue:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


class InputError(Exception):
    """Bad input: ``issues`` holds every problem found, each with file and line."""

    def __init__(self, issues: Sequence[InputIssue]) -> None:
        self.issues = sorted(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


@dataclass(frozen=True)
class LoadedInput:
    input: PeriodInput
    integer_ids: bool
    #: member number → position in output order (numeric or string sort of member_id)
    output_order: npt.NDArray[np.int64]


class _Issues:
    def __init__(self) -> None:
        self.items: list[InputIssue] = []

    def add(self, file: str, line: int, reason: str) -> None:
        self.items.append(InputIssue(file, line, reason))

    def add_rows(self, file: str, df: pl.DataFrame, mask: pl.Series | pl.Expr, reason: str,
                 value_col: str | None = None, limit: int = 1000) -> None:  # fmt: skip
        """One issue per row where ``mask`` holds; ``{v}`` in reason is the row's value."""
        bad = df.filter(mask).head(limit)
        if bad.height == 0:
            return
        rows = bad[_ROW].to_list()
        values = bad[value_col].to_list() if value_col else [None] * len(rows)
        for row, v in zip(rows, values, strict=True):
            self.items.append(InputIssue(file, int(row) + 2, reason.format(v=_show(v))))

    def check(
        self, file: str, df: pl.DataFrame, checks: Sequence[tuple[pl.Expr, str, str | None]]
    ) -> None:
        """Run many row checks with one parallel pass: ``(bad-row mask, reason, value
        column)``; rows are only gathered for the checks that failed somewhere."""
        if not checks or df.height == 0:
            return
        anys = df.select(
            mask.fill_null(False).any().alias(str(k)) for k, (mask, _, _) in enumerate(checks)
        ).row(0)
        for hit, (mask, reason, col) in zip(anys, checks, strict=True):
            if hit:
                self.add_rows(file, df, mask.fill_null(False), reason, col)


def _show(v: object) -> str:
    if v is None:
        return "''"
    s = str(v)
    return repr(s if len(s) <= 40 else s[:40] + "…")


def _scan_csv(path: Path, file: str, ncols: int) -> list[InputIssue]:
    """Slow line-by-line scan, only after polars refused a file: find what is wrong."""
    issues: list[InputIssue] = []
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return [InputIssue(file, 0, f"cannot read: {exc}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return [InputIssue(file, line, "not UTF-8 text")]
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for rec in reader:
            line = reader.line_num
            if line == 1 or not rec:
                continue
            if len(rec) != ncols:
                issues.append(InputIssue(file, line, f"expected {ncols} fields, found {len(rec)}"))
    except csv.Error as exc:
        issues.append(InputIssue(file, reader.line_num, f"bad CSV: {exc}"))
    return issues


def _read(
    path: Path, file: str, required: Sequence[str], schema: dict[str, pl.DataType] | None
) -> tuple[pl.DataFrame | None, list[InputIssue]]:
    """Read a CSV (typed when ``schema`` is given); None with issues if it cannot be."""
    try:
        header = pl.read_csv(path, n_rows=0, infer_schema=False).columns
    except pl.exceptions.NoDataError:
        return None, [InputIssue(file, 1, "empty file: the header row is missing")]
    except (OSError, pl.exceptions.PolarsError) as exc:
        return None, [InputIssue(file, 1, f"cannot read: {str(exc).splitlines()[0]}")]
    header = [h.lstrip("\ufeff").strip() for h in header]
    missing = [c for c in required if c not in header]
    if missing:
        return None, [InputIssue(file, 1, f"missing column {c}") for c in missing]
    try:
        if schema is None:
            df = pl.read_csv(path, infer_schema=False, new_columns=header)
        else:
            full = {c: schema.get(c, pl.String) for c in header}
            df = pl.read_csv(path, schema_overrides=full, new_columns=header)
    except (pl.exceptions.PolarsError, OSError) as exc:
        if schema is not None:
            raise _TypedReadFailed from exc
        found = _scan_csv(path, file, len(header))
        return None, found or [InputIssue(file, 0, f"bad CSV: {str(exc).splitlines()[0]}")]
    df = df.select(required).with_row_index(_ROW)
    # A blank line reads as a row of nulls; it is not an error, just nothing.
    return df.filter(~pl.all_horizontal(pl.col(c).is_null() for c in required)), []


class _TypedReadFailed(Exception):
    pass


def _int_lookup(
    keys: npt.NDArray[np.int64], queries: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Position of each query in ``keys`` (unique) or -1; dense table when ids are dense."""
    n = keys.size
    if n == 0:
        return np.full(queries.size, -1, dtype=np.int64)
    kmin, kmax = int(keys.min()), int(keys.max())
    if kmin >= 0 and kmax < 16 * n + 1024:
        lut = np.full(kmax + 1, -1, dtype=np.int64)
        lut[keys[::-1]] = np.arange(n - 1, -1, -1, dtype=np.int64)  # first row wins
        if queries.size and int(queries.min()) >= 0 and int(queries.max()) <= kmax:
            return lut[queries]
        ok = (queries >= 0) & (queries <= kmax)
        out = np.full(queries.size, -1, dtype=np.int64)
        out[ok] = lut[queries[ok]]
        return out
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    pos = np.searchsorted(sk, queries).clip(0, n - 1)
    return np.where(sk[pos] == queries, order[pos], -1).astype(np.int64)


def _first_of_duplicates(df: pl.DataFrame, col: str) -> pl.DataFrame:
    """Rows whose ``col`` value appeared on an earlier row, with that earlier row."""
    nonnull = df.filter(pl.col(col).is_not_null())
    first = nonnull.group_by(col).agg(pl.col(_ROW).min().alias("__first"))
    dup = nonnull.join(first, on=col).filter(pl.col(_ROW) != pl.col("__first"))
    return dup.sort(_ROW)


def _has_duplicates_int(values: npt.NDArray[np.int64]) -> bool:
    if values.size < 2:
        return False
    if bool(np.all(values[1:] > values[:-1])):
        return False
    s = np.sort(values)
    return bool(np.any(s[1:] == s[:-1]))


def load_members(
    path: Path | str, rank_codes: Sequence[str], issues: _Issues, file: str | None = None
) -> tuple[pl.DataFrame | None, bool]:
    """Validate members.csv; returns (frame with member number order, integer ids?)."""
    p = Path(path)
    file = file or str(path)
    df, read_issues = _read(p, file, MEMBER_COLUMNS, None)
    issues.items.extend(read_issues)
    if df is None:
        return None, False
    df = df.with_columns(pl.col(c).str.strip_chars() for c in MEMBER_COLUMNS).with_columns(
        pl.col(c).replace("", None) for c in MEMBER_COLUMNS
    )
    mid = pl.col("member_id")
    ids_present = df["member_id"].drop_nulls()
    integer = ids_present.len() > 0 and bool(ids_present.str.contains(_INT_ID).all())
    if integer:
        df = df.with_columns(mid.cast(pl.Int64).alias("__key"))
        sp = pl.col("sponsor_id")
        df = df.with_columns(
            pl.when(sp.str.contains(_INT_ID)).then(sp.cast(pl.Int64, strict=False)).alias("__sp")
        )
        key_arr = df["__key"].drop_nulls().to_numpy()
        dup_possible = _has_duplicates_int(key_arr)
    else:
        df = df.with_columns(mid.alias("__key"), pl.col("sponsor_id").alias("__sp"))
        keys = df["__key"].drop_nulls()
        dup_possible = keys.n_unique() != keys.len()
    if dup_possible:
        for dup in _first_of_duplicates(df, "__key").head(1000).iter_rows(named=True):
            issues.add(
                file,
                dup[_ROW] + 2,
                f"duplicate member_id {_show(dup['member_id'])} "
                f"(first on line {dup['__first'] + 2})",
            )
    issues.check(
        file,
        df,
        [
            (mid.is_null(), "member_id is empty", None),
            (
                pl.col("joined_on").str.to_date(_DATE_FMT, strict=False).is_null(),
                "joined_on is not a date: {v}",
                "joined_on",
            ),
            (
                ~pl.col("status").is_in(list(STATUSES)).fill_null(False),
                "status must be active or terminated, not {v}",
                "status",
            ),
            (
                pl.col("title").is_not_null() & ~pl.col("title").is_in(list(rank_codes)),
                f"title must be empty or one of {', '.join(rank_codes)}, not {{v}}",
                "title",
            ),
        ],
    )
    # Number members by row; unknown sponsors.
    keyed = df.filter(pl.col("__key").is_not_null()).unique("__key", keep="first")
    index = keyed.select(pl.col("__key"), pl.col(_ROW).alias("__sponsor_row"))
    df = df.join(index, left_on="__sp", right_on="__key", how="left", maintain_order="left")
    issues.add_rows(
        file,
        df,
        pl.col("sponsor_id").is_not_null() & pl.col("__sponsor_row").is_null(),
        "unknown sponsor_id {v}",
        "sponsor_id",
    )
    return df, integer


def load_input(
    members_path: Path | str, orders_path: Path | str, rank_codes: Sequence[str]
) -> LoadedInput:
    """Read and validate both files; raise :class:`InputError` listing every problem."""
    issues = _Issues()
    mfile, ofile = str(members_path), str(orders_path)
    members, integer = load_members(members_path, rank_codes, issues, mfile)
    if members is None:
        # Orders cannot be checked against members; still report their own problems.
        _load_orders(Path(orders_path), ofile, None, False, issues)
        raise InputError(issues.items)

    # Member numbers follow rows; rows with an unusable id are dropped from the network
    # (the run stops anyway because they are reported).
    n = members.height
    rows = members[_ROW].to_numpy().astype(np.int64)
    row_to_num = np.full(int(rows.max()) + 1 if rows.size else 1, -1, dtype=np.int64)
    row_to_num[rows] = np.arange(n, dtype=np.int64)
    sponsor_rows = members["__sponsor_row"].fill_null(-1).to_numpy().astype(np.int64)
    sponsor = np.where(sponsor_rows >= 0, row_to_num[sponsor_rows.clip(0)], -1).astype(np.int64)

    tree = tree_levels(sponsor)
    if tree.unreached.size:
        lines = (members[_ROW].to_numpy() + 2).tolist()
        ids = members["member_id"].to_list()
        for cyc in find_cycles(sponsor, tree.unreached):
            path = " → ".join(str(ids[k]) for k in [*cyc, cyc[0]])
            issues.add(mfile, lines[cyc[0]], f"sponsor cycle: {path}")

    orders = _load_orders(Path(orders_path), ofile, members, integer, issues)
    if issues.items or orders is None:
        raise InputError(issues.items)

    codes = list(rank_codes)
    titles = members["title"].replace_strict(
        {c: i for i, c in enumerate(codes)}, default=-1, return_dtype=pl.Int8
    )
    if integer:
        key = members["__key"].to_numpy()
        output_order = np.argsort(key, kind="stable").astype(np.int64)
    else:
        output_order = (
            members.select(pl.arg_sort_by("member_id", maintain_order=True)).to_series().to_numpy()
        ).astype(np.int64)
    inp = PeriodInput(
        member_ids=members["member_id"].to_list(),
        sponsor=sponsor,
        terminated=(members["status"] == "terminated").to_numpy(),
        prev_title=titles.to_numpy().astype(np.int8),
        order_member=orders["member"],
        order_fen=orders["fen"],
        order_day=orders["day"].astype(np.int32),
        order_aro=orders["aro"].astype(np.bool_),
    )
    return LoadedInput(input=inp, integer_ids=integer, output_order=output_order)


def _peek_integer_order_ids(path: Path) -> bool:
    try:
        head = pl.read_csv(path, n_rows=2000, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError):
        return False
    ok = True
    for c in ("order_id", "original_order_id"):
        if c in head.columns:
            vals = head[c].drop_nulls()
            vals = vals.filter(vals != "")
            ok = ok and bool(vals.str.contains(_INT_ID).all())
    return ok


def _load_orders(
    path: Path,
    file: str,
    members: pl.DataFrame | None,
    integer_members: bool,
    issues: _Issues,
) -> dict[str, npt.NDArray[np.int64]] | None:
    """Validate orders.csv; returns arrays (member number, fen, day, aro) or None."""
    int_orders = _peek_integer_order_ids(path)
    schema: dict[str, pl.DataType] = {
        "order_id": pl.Int64() if int_orders else pl.String(),
        "member_id": pl.Int64() if integer_members else pl.String(),
        "order_date": pl.String(),
        "amount": pl.String(),
        "kind": pl.Enum(list(KINDS)),
        "original_order_id": pl.Int64() if int_orders else pl.String(),
    }
    try:
        df, read_issues = _read(path, file, ORDER_COLUMNS, schema)
    except _TypedReadFailed:
        df, read_issues = _read(path, file, ORDER_COLUMNS, None)
    issues.items.extend(read_issues)
    if df is None:
        return None
    before = len(issues.items)

    # Normalise column types whichever read succeeded.
    exprs: list[pl.Expr] = []
    if df.schema["kind"] == pl.String:
        exprs.append(
            pl.col("kind")
            .replace_strict({k: i for i, k in enumerate(KINDS)}, default=None, return_dtype=pl.Int8)
            .alias("__kind")
        )
    else:
        exprs.append(pl.col("kind").to_physical().cast(pl.Int8).alias("__kind"))
    for c in ("order_id", "original_order_id"):
        if df.schema[c] == pl.String:
            col = pl.col(c).replace("", None)
            exprs.append(
                pl.when(col.str.contains(_INT_ID)).then(col.cast(pl.Int64, strict=False))
                .alias(f"__{c}") if int_orders else col.alias(f"__{c}")
            )  # fmt: skip
        else:
            exprs.append(pl.col(c).alias(f"__{c}"))
    if df.schema["member_id"] == pl.String and integer_members:
        col = pl.col("member_id")
        exprs.append(
            pl.when(col.str.contains(_INT_ID)).then(col.cast(pl.Int64, strict=False)).alias("__mid")
        )
    else:
        exprs.append(pl.col("member_id").alias("__mid"))
    exprs.append(pl.col("order_date").str.to_date(_DATE_FMT, strict=False).alias("__date"))
    amount_ok = pl.col("amount").str.contains(_AMOUNT).fill_null(False)
    exprs.append(
        pl.when(amount_ok)
        .then(pl.col("amount").cast(pl.Decimal(18, 2), strict=False).to_physical().cast(pl.Int64))
        .alias("__fen")
    )
    df = df.with_columns(exprs)

    # Members.
    n_bad_member = 0
    member = np.full(df.height, -1, dtype=np.int64)
    if members is not None:
        if integer_members:
            mids = df["__mid"]
            keys = members["__key"].to_numpy().astype(np.int64)
            member = _int_lookup(keys, mids.fill_null(-1).to_numpy().astype(np.int64))
        else:
            idx = members.select(
                pl.col("__key"), pl.int_range(pl.len(), dtype=pl.Int64).alias("__m")
            ).unique("__key", keep="first")
            member = (
                df.select("__mid")
                .join(idx, left_on="__mid", right_on="__key", how="left", maintain_order="left")[
                    "__m"
                ]
                .fill_null(-1)
                .to_numpy()
                .astype(np.int64)
            )
        n_bad_member = int(np.count_nonzero(member < 0))

    # Value checks, in one parallel pass.
    is_return = pl.col("__kind") == KIND_RETURN
    not_return = pl.col("__kind") != KIND_RETURN
    checks: list[tuple[pl.Expr, str, str | None]] = [
        (pl.col("__order_id").is_null() & pl.col("order_id").is_null(), "order_id is empty", None),
        (pl.col("__date").is_null(), "order_date is not a date: {v}", "order_date"),
        (pl.col("__kind").is_null(), "kind must be regular, aro or return, not {v}", "kind"),
        (is_return & (pl.col("__fen") >= 0), "a return must have a negative amount, not {v}",
         "amount"),
        (not_return & (pl.col("__fen") < 0), "a negative amount {v} is only allowed on a return",
         "amount"),
        (is_return & pl.col("__original_order_id").is_null(),
         "a return needs its original_order_id", None),
        (not_return & pl.col("__original_order_id").is_not_null(),
         "original_order_id is only for returns", "original_order_id"),
    ]  # fmt: skip
    if int_orders and df.schema["order_id"] == pl.String:
        checks.append(
            (pl.col("__order_id").is_null() & pl.col("order_id").is_not_null(),
             "order_id {v} is not an integer like the others", "order_id")
        )  # fmt: skip
    issues.check(file, df, checks)
    bad_amount = df.filter(pl.col("__fen").is_null()).head(1000)
    for row, v in zip(bad_amount[_ROW].to_list(), bad_amount["amount"].to_list(), strict=True):
        issues.add(file, row + 2, _amount_reason(v))
    if n_bad_member:
        issues.add_rows(file, df, pl.Series(member < 0), "unknown member_id {v}", "member_id")

    # Duplicate order ids: cheap check first (ids usually ascend), details only if needed.
    ids = df["__order_id"]
    if ids.dtype == pl.Int64 and ids.null_count() == 0:
        dup_possible = _has_duplicates_int(ids.to_numpy())
    else:
        present = ids.drop_nulls()
        dup_possible = present.n_unique() != present.len()
    if dup_possible:
        for dup in _first_of_duplicates(df, "__order_id").head(1000).iter_rows(named=True):
            issues.add(
                file, dup[_ROW] + 2,
                f"duplicate order_id {_show(dup['order_id'])} "
                f"(first on line {dup['__first'] + 2})",
            )  # fmt: skip

    # Returns: the original order must exist, be a sale, and be the same member's.
    returns = df.filter(is_return & pl.col("__original_order_id").is_not_null())
    aro_of_return = np.zeros(0, dtype=np.bool_)
    if returns.height:
        originals = df.filter(pl.col("__order_id").is_in(returns["__original_order_id"].implode()))
        originals = originals.select(
            pl.col("__order_id").alias("__original_order_id"),
            pl.col("__kind").alias("__orig_kind"),
            pl.col("__mid").alias("__orig_mid"),
        ).unique("__original_order_id", keep="first")
        returns = returns.join(originals, on="__original_order_id", how="left",
                               maintain_order="left")  # fmt: skip
        issues.check(
            file,
            returns,
            [
                (pl.col("__orig_kind").is_null(),
                 "original order {v} of this return is not in the file", "original_order_id"),
                (pl.col("__orig_kind") == KIND_RETURN,
                 "original order {v} is itself a return", "original_order_id"),
                (pl.col("__orig_kind").is_not_null() & (pl.col("__orig_mid") != pl.col("__mid")),
                 "original order {v} belongs to another member", "original_order_id"),
            ],
        )  # fmt: skip
        aro_of_return = (returns["__orig_kind"] == KIND_ARO).fill_null(False).to_numpy()

    if len(issues.items) > before or members is None:
        return None
    kind = df["__kind"].to_numpy()
    aro = kind == KIND_ARO
    if returns.height:
        ret_pos = (
            df.with_row_index("__pos")
            .filter(is_return & pl.col("__original_order_id").is_not_null())["__pos"]
            .to_numpy()
        )
        aro[ret_pos] = aro_of_return
    return {
        "member": member,
        "fen": df["__fen"].to_numpy().astype(np.int64),
        "day": df["__date"].to_physical().to_numpy().astype(np.int64),
        "aro": aro,
    }


def _amount_reason(v: object) -> str:
    if v is None:
        return "amount is empty"
    s = str(v).strip().lower()
    if s.lstrip("+-") in ("inf", "infinity", "nan"):
        return f"amount is not finite: {_show(v)}"
    try:
        float(s)
    except ValueError:
        return f"amount is not a number: {_show(v)}"
    if "e" in s:
        return f"amount must be written as digits with up to two decimals: {_show(v)}"
    if "." in s and len(s.split(".", 1)[1]) > 2:
        return f"amount has more than two decimals: {_show(v)}"
    return f"amount is out of range: {_show(v)}"
