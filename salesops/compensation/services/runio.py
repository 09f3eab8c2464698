"""Database I/O of commission runs: read a period's network and orders into the engine's
arrays, turn the engine's result into rows, and insert rows in bulk.

Built for a million members and ten million orders (bench/bench_comp_run.py):

* Reads go straight into Arrow columns through ADBC (``adbc-driver-sqlite`` /
  ``adbc-driver-postgresql``) on a second connection to the database Django uses. That
  connection cannot see the uncommitted work of Django's own connection, nor an in-memory
  SQLite database, so inside a transaction (every test) and whenever a driver is missing
  the same SQL runs through Django's cursor instead; both give identical arrays.
* Rows are built column-wise with polars: money is exact decimal text from integer fen,
  and each statement line's name, formula and inputs JSON come from templates that the
  real ``explain.py`` helpers produce with placeholder values, so the text stays
  byte-identical to ``PeriodResult.lines_for`` without a Python loop per member.
* Inserts are COPY on PostgreSQL and large ``executemany`` batches on SQLite, inside the
  caller's single transaction.
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import polars as pl
from django.db import connection, models
from django.utils.translation import gettext as _

from salesops.compensation.engine import explain as ex
from salesops.compensation.engine.money import from_fen
from salesops.compensation.engine.network import PeriodInput, find_cycles, tree_levels
from salesops.compensation.engine.plan import RankPlan
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import PeriodResult
from salesops.compensation.models import CommissionRun
from salesops.org.models import Member, MemberStatus, RankHistory
from salesops.org.selectors import sponsor_edges_as_of
from salesops.sales.models import Order, OrderKind, OrderStatus, Return

logger = logging.getLogger(__name__)

SQLITE_BATCH = 100_000
_LIBPQ_OPTIONS = frozenset(
    ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslpassword", "connect_timeout",
     "application_name", "options", "target_session_attrs", "service", "passfile")
)  # fmt: skip
COPY_CHUNK = 500_000


class RunInputError(Exception):
    """Bad data in the database: the run fails with this message and stores nothing."""


# --------------------------------------------------------------------------- reading


def _adbc_connect() -> Any | None:
    """A DB-API connection (ADBC) to the database Django uses, or None when it could not
    see what Django's connection sees (inside a transaction, an in-memory SQLite
    database) or no driver is installed."""
    if connection.in_atomic_block:
        return None
    conf = connection.settings_dict
    try:
        if connection.vendor == "sqlite":
            name = str(conf["NAME"])
            if not name or name == ":memory:" or "mode=memory" in name:
                return None
            import adbc_driver_sqlite.dbapi as sqlite_dbapi

            return sqlite_dbapi.connect(name)
        if connection.vendor == "postgresql":
            import adbc_driver_postgresql.dbapi as pg_dbapi
            from psycopg.conninfo import make_conninfo

            params = {
                "dbname": conf["NAME"],
                "user": conf.get("USER") or None,
                "password": conf.get("PASSWORD") or None,
                "host": conf.get("HOST") or None,
                "port": conf.get("PORT") or None,
            }
            # Connection options that are libpq's own (TLS and the like) apply here too.
            extra = conf.get("OPTIONS") or {}
            params.update({k: str(v) for k, v in extra.items() if k in _LIBPQ_OPTIONS})
            return pg_dbapi.connect(make_conninfo(**{k: v for k, v in params.items() if v}))
    except ImportError:
        return None
    except Exception:  # e.g. connection options ADBC does not take: the cursor path works
        logger.warning("ADBC connection failed; reading through Django's cursor", exc_info=True)
        return None
    return None


@dataclass
class _Reader:
    """Runs the period's queries through ADBC when possible, else through Django's
    cursor; each answers a polars frame with the given column names and dtypes."""

    adbc: Any | None

    def frame(self, sql: str, params: list[Any], schema: dict[str, Any]) -> pl.DataFrame:
        names = list(schema)
        if self.adbc is not None:
            marks = iter(range(1, len(params) + 1))
            if connection.vendor == "postgresql":
                native = re.sub("%s", lambda _m: f"${next(marks)}", sql)
                args = list(params)
            else:
                native = sql.replace("%s", "?")
                args = [connection.ops.adapt_datefield_value(p) if hasattr(p, "isoformat")
                        else p for p in params]  # fmt: skip
            native = native.replace("%%", "%")
            with self.adbc.cursor() as cur:
                cur.execute(native, args or None)
                table = cur.fetch_arrow_table()
            got = pl.from_arrow(table)
            assert isinstance(got, pl.DataFrame)
            got.columns = names
        else:
            with connection.cursor() as cur:
                cur.execute(sql, params)
                rows = cur.fetchall()
            got = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        return got.cast(schema)  # type: ignore[arg-type]

    def close(self) -> None:
        if self.adbc is not None:
            self.adbc.close()


def _day_of_month(column: str) -> str:
    if connection.vendor == "sqlite":
        # Django stores dates as ISO text: the day is characters 9-10.
        return f"CAST(substr({column}, 9, 2) AS INTEGER)"
    return f"CAST(EXTRACT(DAY FROM {column}) AS INTEGER)"


def read_period_input(
    plan: RankPlan, period: Period, *, fast: bool = True
) -> tuple[PeriodInput, npt.NDArray[np.int64], list[str]]:
    """The network as of the period's last day and the period's orders and returns, as the
    engine's arrays. Also returns the member primary keys and numbers in engine order.

    ``fast=False`` forces Django's cursor (the tests compare both paths)."""
    reader = _Reader(_adbc_connect() if fast else None)
    try:
        return _read(reader, plan, period)
    finally:
        reader.close()


def _read(
    reader: _Reader, plan: RankPlan, period: Period
) -> tuple[PeriodInput, npt.NDArray[np.int64], list[str]]:
    pks, sponsors = sponsor_edges_as_of(period.last)
    n = int(pks.size)
    q = connection.ops.quote_name
    members = reader.frame(
        f"SELECT id, member_no, status, title FROM {q(Member._meta.db_table)} "  # noqa: S608
        "ORDER BY id",
        [],
        {"id": pl.Int64, "member_no": pl.String, "status": pl.String, "title": pl.String},
    )
    all_ids = members["id"].to_numpy()
    pos = np.searchsorted(all_ids, pks)
    if n and (pos >= all_ids.size).any():
        raise RunInputError(_("推荐关系引用了不存在的会员"))
    net = members[pos]
    member_nos: list[str] = net["member_no"].to_list()
    terminated = (net["status"] == str(MemberStatus.TERMINATED)).to_numpy()

    # The title held before the period: the latest rank history row before it, else the
    # member's title.
    history = reader.frame(
        f"SELECT member_id, period, title FROM {q(RankHistory._meta.db_table)} "  # noqa: S608
        "WHERE period < %s",
        [period.first],
        {"member_id": pl.Int64, "period": pl.String, "title": pl.String},
    )
    latest = (
        history.sort("member_id", "period")
        .unique("member_id", keep="last", maintain_order=True)
        .select(pl.col("member_id").alias("id"), pl.col("title").alias("before"))
    )
    titles = (
        net.select("id", "title")
        .join(latest, on="id", how="left", maintain_order="left")
        .select(pl.coalesce("before", "title").alias("title"))
        .to_series()
    )
    codes = plan.rank_codes
    prev = titles.replace_strict(
        {c: i for i, c in enumerate(codes)} | {"": -1}, default=-2, return_dtype=pl.Int8
    ).to_numpy()
    bad = np.flatnonzero(prev == -2)
    if bad.size:
        i = int(bad[0])
        raise RunInputError(
            _("会员 %(no)s 的职级 %(title)s 不在方案中") % {"no": member_nos[i], "title": titles[i]}
        )
    prev_title = prev.astype(np.int8)

    sponsor_idx = np.full(n, -1, dtype=np.int64)
    has = sponsors >= 0
    spos = np.searchsorted(pks, sponsors[has])
    spos_c = np.minimum(spos, max(n - 1, 0))
    if has.any() and not np.all(pks[spos_c] == sponsors[has]):
        raise RunInputError(_("推荐人不在该月份的网络中"))
    sponsor_idx[has] = spos_c
    tree = tree_levels(sponsor_idx)
    if tree.unreached.size:
        cycles = find_cycles(sponsor_idx, tree.unreached)
        shown = "; ".join(" → ".join(member_nos[i] for i in c) for c in cycles[:5])
        raise RunInputError(_("推荐关系存在循环:%(cycles)s") % {"cycles": shown})

    orders = q(Order._meta.db_table)
    returns = q(Return._meta.db_table)
    schema = {"member": pl.Int64, "day": pl.Int32, "fen": pl.Int64, "aro": pl.Int32}
    dates = [period.first, period.last]
    scan, span = "", []
    if connection.vendor == "sqlite":
        # SQLite keeps no histogram: it would look up every order of the month through
        # the date index, one random row read each (minutes at ten million). Scan the id
        # range that holds the month's orders instead: the date index gives the range
        # without touching the table, and ids follow entry order, so the range is about
        # the month's size.
        lo, hi = reader.frame(
            f"SELECT MIN(id), MAX(id) FROM {orders} "  # noqa: S608
            "WHERE order_date >= %s AND order_date <= %s",
            dates,
            {"lo": pl.Int64, "hi": pl.Int64},
        ).row(0)
        scan, span = " NOT INDEXED", [lo or 0, hi or 0]
    id_range = "id >= %s AND id <= %s AND " if span else ""
    sales = reader.frame(
        f"SELECT credited_member_id, {_day_of_month('order_date')}, "  # noqa: S608
        f"CAST(ROUND(total_amount * 100) AS BIGINT), "
        f"CASE WHEN kind = %s THEN 1 ELSE 0 END FROM {orders}{scan} "
        f"WHERE {id_range}status = %s AND credited_member_id IS NOT NULL "
        "AND order_date >= %s AND order_date <= %s",
        [str(OrderKind.ARO), *span, str(OrderStatus.CONFIRMED), *dates],
        schema,
    )
    back = reader.frame(
        f"SELECT o.credited_member_id, {_day_of_month('r.return_date')}, "  # noqa: S608
        f"-CAST(ROUND(r.total_amount * 100) AS BIGINT), "
        f"CASE WHEN o.kind = %s THEN 1 ELSE 0 END FROM {returns} r "
        f"JOIN {orders} o ON o.id = r.original_order_id "
        "WHERE o.credited_member_id IS NOT NULL "
        "AND r.return_date >= %s AND r.return_date <= %s",
        [str(OrderKind.ARO), period.first, period.last],
        schema,
    )
    o_member = np.concatenate([sales["member"].to_numpy(), back["member"].to_numpy()])
    o_day = np.concatenate([sales["day"].to_numpy(), back["day"].to_numpy()])
    o_fen = np.concatenate([sales["fen"].to_numpy(), back["fen"].to_numpy()])
    o_aro = np.concatenate([sales["aro"].to_numpy(), back["aro"].to_numpy()]).astype(np.bool_)
    del sales, back
    k = int(o_member.size)
    opos = np.minimum(np.searchsorted(pks, o_member), max(n - 1, 0))
    if k and (n == 0 or not np.all(pks[opos] == o_member)):
        raise RunInputError(_("有订单归属的会员不在该月份的网络中"))
    inp = PeriodInput(
        member_ids=member_nos,
        sponsor=sponsor_idx,
        terminated=terminated,
        prev_title=prev_title,
        order_member=opos.astype(np.int64),
        order_fen=o_fen.astype(np.int64),
        order_day=(o_day + period.day_number(period.first) - 1).astype(np.int32),
        order_aro=o_aro,
    )
    return inp, pks, member_nos


# --------------------------------------------------------------------------- rows


RESULT_COLUMNS = (
    "run_id", "member_id", "paid_as", "title", "pv", "pv_by_cutoff", "sr_count", "sr_volume",
    "sales_bonus", "morning_star", "open_star", "override", "total",
)  # fmt: skip
LINE_COLUMNS = (
    "run_id", "member_id", "seq", "rule", "name", "amount", "formula", "inputs",
    "source_member_id", "generation",
)  # fmt: skip
MONEY_RESULT_COLUMNS = (
    "pv", "pv_by_cutoff", "sr_volume", "sales_bonus", "morning_star", "open_star", "override",
    "total",
)  # fmt: skip


class Rows(Sequence[tuple[Any, ...]]):
    """Rows held column-wise in a polars frame (columns in insert order). Reads as a
    sequence of tuples for callers that look at single rows; ``bulk_insert`` streams the
    columns without building a tuple per row on PostgreSQL."""

    def __init__(self, frame: pl.DataFrame) -> None:
        self.frame = frame

    def __len__(self) -> int:
        return self.frame.height

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[tuple[Any, ...]]: ...
    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.frame.row(index)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for start in range(0, self.frame.height, SQLITE_BATCH):
            yield from _tuples(self.frame.slice(start, SQLITE_BATCH))

    def column(self, name: str) -> npt.NDArray[Any]:
        return self.frame[name].to_numpy()


def _tuples(frame: pl.DataFrame) -> Iterator[tuple[Any, ...]]:
    """Row tuples of ``frame`` (zip over whole columns: far faster than row by row)."""
    return zip(*(s.to_list() for s in frame.iter_columns()), strict=True)


def money_text(fen: pl.Expr) -> pl.Expr:
    """Integer fen → the exact decimal text ``str(from_fen(fen))`` gives, vectorised."""
    a = fen.abs()
    return pl.concat_str(
        pl.when(fen < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 100).cast(pl.String),
        pl.lit("."),
        (a % 100).cast(pl.String).str.zfill(2),
    )


def _json_str(values: pl.Series) -> pl.Series:
    """The inside of a JSON string literal (``json.dumps(s, ensure_ascii=False)[1:-1]``);
    only the rare values that need escaping go through Python."""
    needs = values.str.contains(r'[\x00-\x1f"\\]')
    if not needs.any():
        return values
    escaped = [
        json.dumps(s, ensure_ascii=False)[1:-1] if flag else s
        for s, flag in zip(values.to_list(), needs.to_list(), strict=True)
    ]
    return pl.Series(values.name, escaped, dtype=pl.String)


# Placeholder values fed to the explain.py helpers: each prints as a token found nowhere
# else in a line, and the token is then replaced by the per-row column.
_SLOTS = {
    "pv": Decimal("987654321.01"),
    "amount": Decimal("987654321.02"),
    "volume": Decimal("987654321.03"),
}
_SOURCE = "\ue000source\ue000"


@dataclass(frozen=True)
class _Template:
    rule: str
    name: str
    formula: list[str | pl.Expr]
    inputs: list[str | pl.Expr]


def _split(text: str, slots: dict[str, pl.Expr]) -> list[str | pl.Expr]:
    """``text`` cut at the placeholder tokens, each replaced by its column expression."""
    tokens = {ex.money(v): slots[k] for k, v in _SLOTS.items() if k in slots}
    if "source" in slots:
        tokens[_SOURCE] = slots["source"]
    if not tokens:
        return [text]
    pattern = "(" + "|".join(re.escape(t) for t in tokens) + ")"
    out: list[str | pl.Expr] = []
    for part in re.split(pattern, text):
        if part in tokens:
            out.append(tokens[part])
        elif part:
            out.append(part)
    return out


def _template(
    item: ex.LineItem, slots: dict[str, pl.Expr], json_slots: dict[str, pl.Expr]
) -> _Template:
    inputs = json.dumps(dict(item.inputs), ensure_ascii=False, sort_keys=True)
    return _Template(item.rule, item.name, _split(item.formula, slots), _split(inputs, json_slots))


def _fill(parts: list[str | pl.Expr]) -> pl.Expr:
    return pl.concat_str([pl.lit(p) if isinstance(p, str) else p for p in parts])


def _line_frame(rows: pl.DataFrame, tpl: _Template, key: int) -> pl.DataFrame:
    """Line rows for ``rows`` (columns member, order, amount_fen, and the slot columns)."""
    return rows.select(
        pl.col("member"),
        pl.lit(key, dtype=pl.Int8).alias("key"),
        pl.col("order"),
        pl.lit(tpl.rule).alias("rule"),
        pl.lit(tpl.name).alias("name"),
        money_text(pl.col("amount_fen")).alias("amount"),
        _fill(tpl.formula).alias("formula"),
        _fill(tpl.inputs).alias("inputs"),
        pl.col("source").alias("source"),
        pl.col("generation").alias("generation"),
    )


def _slot_columns() -> tuple[dict[str, pl.Expr], dict[str, pl.Expr]]:
    plain = {
        "pv": money_text(pl.col("pv_fen")),
        "amount": money_text(pl.col("amount_fen")),
        "volume": money_text(pl.col("volume_fen")),
        "source": pl.col("source_no"),
    }
    return plain, {**plain, "source": pl.col("source_json")}


def _empty_lines() -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "member": pl.Int64, "key": pl.Int8, "order": pl.Int64, "rule": pl.String,
            "name": pl.String, "amount": pl.String, "formula": pl.String, "inputs": pl.String,
            "source": pl.Int64, "generation": pl.Int64,
        }
    )  # fmt: skip


def _lines(
    res: PeriodResult, has_lines: npt.NDArray[np.bool_], member_nos: list[str]
) -> pl.DataFrame:
    """Every statement line of the members in ``has_lines``, in member then ``lines_for``
    order, with the member and source as member numbers (indices)."""
    plan = res.plan
    plain, json_slots = _slot_columns()
    frames: list[pl.DataFrame] = [_empty_lines()]
    paid = res.paid_as.astype(np.int64)
    none = pl.lit(None, dtype=pl.Int64)

    # Sales bonus: one template per tier.
    tier = res.sales_rate_tier.astype(np.int64)
    for t, spec in enumerate(plan.sales_bonus.tiers):
        who = np.flatnonzero(has_lines & (tier == t))
        if not who.size:
            continue
        item = ex.sales_line(plan, _SLOTS["pv"], spec.min_pv, spec.rate, _SLOTS["amount"])
        rows = pl.DataFrame(
            {"member": who, "order": np.zeros(who.size, np.int64), "pv_fen": res.pv[who],
             "amount_fen": res.sales_bonus[who]}
        ).with_columns(source=none, generation=none)  # fmt: skip
        frames.append(_line_frame(rows, _template(item, plain, json_slots), 0))

    # Morning star and open star: one template per paid-as rank with a group.
    for key, rule, bonus, arr in (
        (1, ex.RULE_MORNING, plan.morning_star, res.morning_star),
        (2, ex.RULE_OPEN, plan.open_star, res.open_star),
    ):
        volume = res.pv if bonus.basis == "pv" else res.pv_by_cutoff
        for r, rank in enumerate(plan.ranks):
            group = bonus.group_for(rank.code)
            if group is None:
                continue
            who = np.flatnonzero(has_lines & (paid == r) & (arr > 0))
            if not who.size:
                continue
            item = ex.threshold_line(
                plan, rule, rank.code, _SLOTS["volume"], group.min, _SLOTS["amount"]
            )
            rows = pl.DataFrame(
                {"member": who, "order": np.zeros(who.size, np.int64),
                 "volume_fen": volume[who], "amount_fen": arr[who]}
            ).with_columns(source=none, generation=none)  # fmt: skip
            frames.append(_line_frame(rows, _template(item, plain, json_slots), key))

    # Override and leadership lines, in lines_for's order: generation, then source.
    mine = has_lines[res.line_earner] if res.line_earner.size else np.zeros(0, np.bool_)
    sel = np.flatnonzero(mine)
    earner = res.line_earner[sel]
    source = res.line_source[sel]
    gen = res.line_generation[sel]
    amount = res.line_amount[sel]
    # Each line's position among its earner's lines: by generation, then source, ties in
    # engine order (what lines_for's stable lexsort gives).
    ordinal = np.empty(sel.size, dtype=np.int64)
    ordinal[np.lexsort((sel, source, gen, earner))] = np.arange(sel.size)
    lead = source < 0
    for r, rank in enumerate(plan.ranks):
        who = np.flatnonzero(lead & (paid[earner] == r))
        if not who.size:
            continue
        item = ex.leadership_line(plan, rank.code, rank.leadership, _SLOTS["amount"])
        rows = pl.DataFrame(
            {"member": earner[who], "order": ordinal[who], "amount_fen": amount[who]}
        ).with_columns(source=none, generation=none)
        frames.append(_line_frame(rows, _template(item, plain, json_slots), 3))
    nos = pl.Series("no", member_nos, dtype=pl.String)
    for g in np.unique(gen[~lead]).tolist():
        who = np.flatnonzero(~lead & (gen == g))
        item = ex.override_line(
            plan, _SOURCE, int(g), _SLOTS["pv"], plan.override.rate_for(int(g)), _SLOTS["amount"]
        )
        src = source[who]
        src_no = nos.gather(src)
        rows = pl.DataFrame(
            {"member": earner[who], "order": ordinal[who], "pv_fen": res.pv[src],
             "amount_fen": amount[who], "source": src, "generation": gen[who],
             "source_no": src_no, "source_json": _json_str(src_no)}
        )  # fmt: skip
        frames.append(_line_frame(rows, _template(item, plain, json_slots), 3))
    return pl.concat(frames, how="vertical").sort("member", "key", "order")


def build_rows(
    run: CommissionRun,
    res: PeriodResult,
    pks: npt.NDArray[np.int64],
    member_nos: list[str],
) -> tuple[Rows, Rows, Decimal]:
    """Rows (RESULT_COLUMNS / LINE_COLUMNS) of the members with any volume, rank or bonus
    and of their lines, in member order — identical inputs give identical rows — and the
    run's total. Column-wise: no Python loop over members."""
    keep = (res.pv != 0) | (res.total != 0) | (res.paid_as >= 0) | (res.sr_count > 0)
    idx = np.flatnonzero(keep)
    codes = pl.Series("codes", ["", *(r.code for r in res.plan.ranks)], dtype=pl.String)
    run_id = int(run.pk)
    base = pl.DataFrame(
        {
            "member_id": pks[idx],
            "paid_as": codes.gather(res.paid_as[idx].astype(np.int64) + 1),
            "title": codes.gather(res.title[idx].astype(np.int64) + 1),
            "sr_count": res.sr_count[idx].astype(np.int64),
            **{c: getattr(res, c)[idx].astype(np.int64) for c in MONEY_RESULT_COLUMNS},
        }
    )
    results = base.select(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        "member_id",
        "paid_as",
        "title",
        *(c if c == "sr_count" else money_text(pl.col(c)).alias(c) for c in RESULT_COLUMNS[4:]),
    )
    lines = _lines(res, keep & (res.total != 0), member_nos)
    line_rows = lines.select(
        pl.lit(run_id, dtype=pl.Int64).alias("run_id"),
        pl.Series("member_id", pks[lines["member"].to_numpy()], dtype=pl.Int64),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("member").alias("seq"),
        "rule",
        "name",
        "amount",
        "formula",
        "inputs",
        _gather_nullable(pks, lines["source"]).alias("source_member_id"),
        "generation",
    )
    total_fen = int(res.total[idx].sum())
    return Rows(results), Rows(line_rows), from_fen(total_fen)


def _gather_nullable(values: npt.NDArray[np.int64], index: pl.Series) -> pl.Series:
    """``values[index]`` keeping the index's nulls."""
    pos = index.fill_null(0).to_numpy()
    picked = pl.Series(values[pos] if values.size else np.zeros(pos.size, np.int64))
    return pl.select(pl.when(index.is_null()).then(None).otherwise(picked)).to_series()


# --------------------------------------------------------------------------- inserting


def bulk_insert(
    model: type[models.Model], columns: tuple[str, ...], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Insert ``rows`` (a :class:`Rows` frame or tuples) into ``model``'s table on Django's
    connection, so inside the caller's transaction: COPY on PostgreSQL, ``executemany`` in
    large batches elsewhere. No model instance per row."""
    if not len(rows):
        return
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    cols = ", ".join(q(c) for c in columns)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)") as copy:
                for chunk in _csv_chunks(rows, columns):
                    copy.write(chunk)
            return
        if connection.vendor == "sqlite":
            # Up to 1 GiB of page cache for this connection: indexes of a million-row
            # insert stay in memory until the commit (allowed inside a transaction).
            cur.execute("PRAGMA cache_size")
            (cache_size,) = cur.fetchone()
            cur.execute("PRAGMA cache_size = -1048576")
            try:
                # The sqlite3 cursor itself: Django's wrapper adds nothing to plain
                # values but a pass over each batch.
                marks = ", ".join(["?"] * len(columns))
                sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
                for batch in _batches(rows):
                    cur.cursor.executemany(sql, batch)
            finally:
                cur.execute(f"PRAGMA cache_size = {int(cache_size)}")
            return
        marks = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({cols}) VALUES ({marks})"  # noqa: S608
        for batch in _batches(rows):
            cur.executemany(sql, batch)


def store_settings() -> None:
    """Settings for the store's transaction, on Django's connection, that change only
    speed. PostgreSQL: ``synchronous_commit = off`` for this transaction only — the commit
    returns before its WAL reaches the disk, so a server crash in the next few hundred
    milliseconds may lose this run's commit, as a whole (never part of it: the previous
    results stay current and the run is simply not done); it never affects consistency."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")


def _batches(rows: Sequence[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    if isinstance(rows, Rows):
        for start in range(0, len(rows), SQLITE_BATCH):
            yield list(_tuples(rows.frame.slice(start, SQLITE_BATCH)))
        return
    for start in range(0, len(rows), SQLITE_BATCH):
        yield list(rows[start : start + SQLITE_BATCH])


def _csv_chunks(rows: Sequence[tuple[Any, ...]], columns: tuple[str, ...]) -> Iterator[bytes]:
    """CSV for COPY: an empty field is NULL, a quoted empty field is ''."""
    if isinstance(rows, Rows):
        frame = rows.frame
    else:
        frame = pl.DataFrame(
            list(rows), schema=list(columns), orient="row", infer_schema_length=None
        )
    for start in range(0, frame.height, COPY_CHUNK):
        buf = io.BytesIO()
        _as_text(frame.slice(start, COPY_CHUNK)).write_csv(buf, include_header=False)
        yield buf.getvalue()


def _as_text(frame: pl.DataFrame) -> pl.DataFrame:
    """Values as the text PostgreSQL parses (dates ISO, decimals exact)."""
    out: list[pl.Expr | pl.Series] = []
    for name, dtype in frame.schema.items():
        if dtype == pl.Object:
            out.append(
                pl.Series(name, [None if v is None else str(v) for v in frame[name].to_list()])
            )
        else:
            out.append(pl.col(name))
    return frame.select(out)
