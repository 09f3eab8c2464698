"""Run I/O at scale keeps exactly what the row-by-row version produced: the ADBC read gives
the same arrays as Django's cursor, the column-wise build_rows gives the same rows (text
byte for byte) as the previous loop over members, and bulk_insert stores every value as
given on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from contextlib import nullcontext
from dataclasses import fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.compensation.engine.explain import LineItem
from salesops.compensation.engine.money import from_fen
from salesops.compensation.engine.network import PeriodInput
from salesops.compensation.engine.plan import LeadershipBonus, RankPlan, load_rank_plan
from salesops.compensation.engine.schedule import Period
from salesops.compensation.engine.vectorised import PeriodResult, compute_period
from salesops.compensation.models import CommissionLine, CommissionResult, CommissionRun
from salesops.compensation.selectors.plans import SEED_PLAN_PATH
from salesops.compensation.services.plans import plan_version_ensure_seed
from salesops.compensation.services.runio import (
    LINE_COLUMNS,
    RESULT_COLUMNS,
    Rows,
    _adbc_connect,
    _read,
    _Reader,
    build_rows,
    bulk_insert,
    index_of,
    money_decimal,
    read_period_input,
    staged,
    store_settings,
)
from salesops.compensation.tests import test_runs
from salesops.core import pgpartition
from salesops.core.models import ImportJob
from salesops.core.sqlitedb import checkpoint_after
from salesops.factories import MemberFactory
from salesops.org.models import Member, RankHistory, SponsorHistory
from salesops.sales.models import Order, OrderKind, OrderStatus, Return

world = test_runs.world  # the seed-examples fixture: SM01, SR00-SR03, SR99
PLAN = load_rank_plan(SEED_PLAN_PATH)
OCT = Period(2026, 10)


# --------------------------------------------------------------------------- the oracle


def _money(fen: int) -> Decimal:
    return from_fen(fen)


def oracle_build_rows(
    run: CommissionRun, res: PeriodResult, pks: npt.NDArray[np.int64], member_nos: list[str]
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], Decimal]:
    """build_rows as it was before the column-wise version (one loop over members)."""
    pk_of_no = dict(zip(member_nos, pks.tolist(), strict=True))
    keep = np.flatnonzero(
        (res.pv != 0) | (res.total != 0) | (res.paid_as >= 0) | (res.sr_count > 0)
    )
    results: list[tuple[Any, ...]] = []
    lines: list[tuple[Any, ...]] = []
    by_earner = np.argsort(res.line_earner, kind="stable")
    bounds = np.searchsorted(res.line_earner[by_earner], np.arange(res.pv.size + 1))
    columns = [
        getattr(res, c)[keep].tolist()
        for c in ("pv", "pv_by_cutoff", "sr_count", "sr_volume", "sales_bonus",
                  "morning_star", "open_star", "override", "total")
    ]  # fmt: skip
    paid = res.paid_as[keep].tolist()
    title = res.title[keep].tolist()
    run_id = run.pk
    for k, i in enumerate(keep.tolist()):
        pk = int(pks[i])
        pv, cut, src, srv, sales, morning, open_, override, total = (c[k] for c in columns)
        results.append(
            (run_id, pk, res.rank_code(paid[k]), res.rank_code(title[k]), _money(pv),
             _money(cut), src, _money(srv), _money(sales), _money(morning), _money(open_),
             _money(override), _money(total))
        )  # fmt: skip
        if total == 0:
            continue
        own = by_earner[bounds[i] : bounds[i + 1]]
        mine = replace(
            res,
            line_earner=res.line_earner[own],
            line_source=res.line_source[own],
            line_generation=res.line_generation[own],
            line_amount=res.line_amount[own],
        )
        item: LineItem
        for seq, item in enumerate(mine.lines_for(i), start=1):
            lines.append(
                (run_id, pk, seq, item.rule, item.name, item.amount, item.formula,
                 json.dumps(dict(item.inputs), ensure_ascii=False, sort_keys=True),
                 pk_of_no[item.source_member] if item.source_member else None,
                 item.generation)
            )  # fmt: skip
    total_fen = int(res.total[keep].sum())
    return results, lines, from_fen(total_fen)


def assert_same_rows(run: CommissionRun, res: PeriodResult, pks: Any, nos: list[str]) -> None:
    want_results, want_lines, want_total = oracle_build_rows(run, res, pks, nos)
    results, lines, total = build_rows(run, res, pks, nos)
    assert isinstance(results, Rows)
    assert list(results) == want_results
    assert list(lines) == want_lines
    assert total == want_total
    # Same Python types too (what the database driver is handed), and amounts with
    # their two decimals.
    for got, want in ((list(results), want_results), (list(lines), want_lines)):
        for g, w in zip(got, want, strict=True):
            assert [type(v) for v in g] == [type(v) for v in w]
            assert [str(v) for v in g] == [str(v) for v in w]


# --------------------------------------------------------------------------- build_rows


def test_money_decimal_is_the_fen_as_a_two_decimal_column() -> None:
    got = money_decimal(np.array([-1, 0, 5, 123456, 10**18 - 1, -(10**18) + 1], np.int64))
    assert [str(v) for v in got.to_list()] == [
        "-0.01", "0.00", "0.05", "1234.56", "9999999999999999.99", "-9999999999999999.99"
    ]  # fmt: skip
    for fen in (10**18, -(10**18), 2**63 - 1):
        with pytest.raises(ValueError):
            money_decimal(np.array([fen], np.int64))


@pytest.mark.django_db
def test_build_rows_equals_the_loop_on_the_seed_examples(world: dict[str, Member]) -> None:
    run = CommissionRun(pk=41, period=OCT.first)
    inp, pks, nos = read_period_input(PLAN, OCT)
    res = compute_period(PLAN, inp, OCT)
    assert_same_rows(run, res, pks, nos)
    _results, lines, total = build_rows(run, res, pks, nos)
    assert total == Decimal("14615.38") + Decimal("5576.92") + 4 * Decimal("4076.92")
    sm = [row for row in lines if row[1] == world["sm"].pk]
    assert [(r[2], r[3], str(r[5])) for r in sm] == [
        (1, "sales_bonus", "4615.38"),
        (2, "morning_star", "4000.00"),
        (3, "open_star", "2000.00"),
        (4, "override", "1000.00"),
        (5, "override", "1000.00"),
        (6, "override", "1000.00"),
        (7, "override", "1000.00"),
    ]
    assert sm[3][8] == world["sr0"].pk and sm[3][9] == 1


def test_build_rows_of_an_empty_network() -> None:
    inp = PeriodInput(
        member_ids=[], sponsor=np.zeros(0, np.int64), terminated=np.zeros(0, np.bool_),
        prev_title=np.zeros(0, np.int8), order_member=np.zeros(0, np.int64),
        order_fen=np.zeros(0, np.int64), order_day=np.zeros(0, np.int32),
        order_aro=np.zeros(0, np.bool_),
    )  # fmt: skip
    res = compute_period(PLAN, inp, OCT)
    results, lines, total = build_rows(CommissionRun(pk=1), res, np.zeros(0, np.int64), [])
    assert (len(results), len(lines), total) == (0, 0, Decimal("0.00"))


# Member numbers with every character JSON has to escape, and others it must not.
MEMBER_NO = st.text(
    alphabet=st.sampled_from(list('AZ09-_ "\\\n\t\x01中文é/,\ue000')), min_size=1, max_size=6
)


@st.composite
def periods(draw: st.DrawFn) -> tuple[RankPlan, PeriodInput]:
    n = draw(st.integers(1, 45))
    nos = draw(st.lists(MEMBER_NO, min_size=n, max_size=n, unique=True))
    sponsor = np.array(
        [-1] + [draw(st.sampled_from([-1, i - 1, draw(st.integers(0, i - 1))])) for i in
                range(1, n)],
        dtype=np.int64,
    )  # fmt: skip
    k = draw(st.integers(0, 4 * n))
    fen = st.one_of(
        st.sampled_from([2_000_000, 1_000_000, 5_000_000, 1_999_999, 650_000]),
        st.integers(-300_000, 6_000_000),
    )
    start = OCT.day_number(OCT.first)
    lead = draw(st.sampled_from([Decimal(0), Decimal("123.45")]))
    plan = replace(
        PLAN,
        volume=replace(PLAN.volume, aro_counts=draw(st.booleans())),
        override=replace(PLAN.override, compression=draw(st.booleans())),
        leadership=(LeadershipBonus("BB", "领导奖 \"BB\"", lead),
                    LeadershipBonus("BBB", "BBB", lead)),
    )  # fmt: skip
    inp = PeriodInput(
        member_ids=nos,
        sponsor=sponsor,
        terminated=np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), np.bool_),
        prev_title=np.array(
            draw(st.lists(st.integers(-1, len(PLAN.ranks) - 1), min_size=n, max_size=n)),
            np.int8,
        ),
        order_member=np.array(
            draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)), np.int64
        ),
        order_fen=np.array(draw(st.lists(fen, min_size=k, max_size=k)), np.int64),
        order_day=np.array(
            draw(st.lists(st.integers(start - 2, start + 32), min_size=k, max_size=k)),
            np.int32,
        ),
        order_aro=np.array(draw(st.lists(st.booleans(), min_size=k, max_size=k)), np.bool_),
    )
    return plan, inp


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(periods(), st.integers(1, 10**6))
def test_build_rows_equals_the_loop_on_random_networks(
    case: tuple[RankPlan, PeriodInput], first_pk: int
) -> None:
    plan, inp = case
    res = compute_period(plan, inp, OCT)
    n = len(inp.member_ids)
    pks = first_pk + np.arange(n, dtype=np.int64) * 3
    assert_same_rows(CommissionRun(pk=9), res, pks, list(inp.member_ids))


def test_random_networks_reach_every_kind_of_line() -> None:
    """The property above is only worth something if its networks produce each rule,
    escaped source numbers and leadership lines: check one example has them all."""
    n = 12
    nos = [f'S"{i}\\中' for i in range(n)]
    sponsor = np.array([-1, *range(n - 1)], dtype=np.int64)  # a chain
    start = OCT.day_number(OCT.first)
    plan = replace(PLAN, leadership=tuple(replace(lb, amount=Decimal("9.99"))
                                          for lb in PLAN.leadership))  # fmt: skip
    inp = PeriodInput(
        member_ids=nos, sponsor=sponsor, terminated=np.zeros(n, np.bool_),
        prev_title=np.full(n, len(PLAN.ranks) - 1, np.int8),
        order_member=np.arange(n, dtype=np.int64), order_fen=np.full(n, 6_000_000, np.int64),
        order_day=np.full(n, start + 2, np.int32), order_aro=np.zeros(n, np.bool_),
    )  # fmt: skip
    res = compute_period(plan, inp, OCT)
    pks = np.arange(100, 100 + n, dtype=np.int64)
    _r, lines, _t = build_rows(CommissionRun(pk=3), res, pks, nos)
    rules = {row[3] for row in lines}
    assert {"sales_bonus", "morning_star", "open_star", "override"} <= rules
    assert any('S\\"3\\\\中' in row[7] for row in lines)
    assert_same_rows(CommissionRun(pk=3), res, pks, nos)


# --------------------------------------------------------------------------- reads


def _moves_and_history(world: dict[str, Member]) -> None:
    """A sponsor move during the month and titles held before, so every query matters."""
    lone = world["lone"]
    SponsorHistory.objects.filter(member=lone).update(valid_to=dt.date(2026, 10, 15))
    SponsorHistory.objects.create(
        member=lone, sponsor=world["sr1"], valid_from=dt.date(2026, 10, 15), reason="move"
    )
    RankHistory.objects.create(member=world["sm"], period=dt.date(2026, 8, 1), title="SR")
    RankHistory.objects.create(member=world["sm"], period=dt.date(2026, 9, 1), title="SM")
    RankHistory.objects.create(member=world["sr2"], period=dt.date(2026, 9, 1), title="SE")
    RankHistory.objects.create(member=world["sr3"], period=dt.date(2026, 10, 1), title="SM")
    MemberFactory(member_no="NEW1", sponsor=world["sm"])  # no orders, still in the network


def assert_same_input(
    a: tuple[PeriodInput, Any, list[str]], b: tuple[PeriodInput, Any, list[str]]
) -> None:
    (ia, pa, na), (ib, pb, nb) = a, b
    assert na == nb and list(ia.member_ids) == list(ib.member_ids)
    np.testing.assert_array_equal(pa, pb)

    # Orders come back in the database's order (the fast path reads id ranges side by
    # side): compare them as a multiset of rows.
    def by_row(inp: PeriodInput) -> npt.NDArray[np.int64]:
        return np.lexsort((inp.order_aro, inp.order_fen, inp.order_day, inp.order_member))

    oa, ob = by_row(ia), by_row(ib)
    for f in fields(PeriodInput):
        if f.name == "member_ids":
            continue
        x, y = getattr(ia, f.name), getattr(ib, f.name)
        assert x.dtype == y.dtype, f.name
        if f.name.startswith("order_"):
            x, y = x[oa], y[ob]
        np.testing.assert_array_equal(x, y, err_msg=f.name)


@pytest.mark.django_db(transaction=True)
def test_adbc_read_equals_the_cursor_read_on_a_file_sqlite_db(
    world: dict[str, Member], tmp_path: Path
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite lane")
    _moves_and_history(world)
    copy = tmp_path / "copy.sqlite3"
    connection.ensure_connection()
    with sqlite3.connect(copy) as dest:
        connection.connection.backup(dest)
    # Child processes read the file through ADBC, the month's orders in id ranges side
    # by side.
    reader = _Reader(sqlite_path=str(copy))
    try:
        fast = _read(reader, PLAN, OCT)
    finally:
        reader.close()
    slow = _read(_Reader(), PLAN, OCT)
    assert_same_input(fast, slow)
    inp = slow[0]
    assert inp.order_fen.size == 10  # 11 in-month orders and one return
    assert int(inp.order_fen.sum()) == 130_500_00 - 500_00
    assert inp.prev_title[slow[2].index("SM01")] == PLAN.rank_codes.index("SM")
    assert inp.prev_title[slow[2].index("SR02")] == PLAN.rank_codes.index("SE")
    assert inp.sponsor[slow[2].index("SR99")] == slow[2].index("SR01")


@pytest.mark.django_db(transaction=True)
def test_adbc_read_equals_the_cursor_read_on_postgresql(world: dict[str, Member]) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the PostgreSQL lane")
    _moves_and_history(world)
    probe = _adbc_connect()
    assert probe is not None  # the fast path really runs here
    probe.close()
    fast = read_period_input(PLAN, OCT)
    slow = read_period_input(PLAN, OCT, fast=False)
    assert_same_input(fast, slow)
    assert slow[0].order_fen.size == 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fast", [True, False])
def test_each_order_and_return_reads_as_its_member_day_amount_and_kind(
    world: dict[str, Member], fast: bool
) -> None:
    # The edges of what the read packs into one integer (member, day of month, ARO) and
    # of the amount the database keeps in fen: the month's first and last day, a fen,
    # large amounts, and a return of an ARO order on the last day.
    first = test_runs.order(world["sr1"], "0.01", 1, kind=OrderKind.ARO)
    test_runs.order(world["sr2"], "9999999999999.99", 31)  # exact as SQLite's REAL too
    test_runs.order(world["sr3"], "123456789.99", 31, kind=OrderKind.ARO)
    Return.objects.create(
        return_no="RT-EDGE", original_order=first, return_date=dt.date(2026, 10, 31),
        total_amount=Decimal("0.01"),
    )  # fmt: skip
    Order.objects.create(
        order_no="SO-VOID", order_date=dt.date(2026, 10, 2), credited_member=world["sr1"],
        total_amount=Decimal("1"), status=OrderStatus.CANCELLED,
    )  # fmt: skip
    want = sorted(
        [
            (o.credited_member.member_no, OCT.day_number(o.order_date),
             int(o.total_amount * 100), o.kind == OrderKind.ARO)
            for o in Order.objects.filter(
                order_date__range=(OCT.first, OCT.last), status=OrderStatus.CONFIRMED
            ).select_related("credited_member")
        ]
        + [
            (r.original_order.credited_member.member_no, OCT.day_number(r.return_date),
             -int(r.total_amount * 100), r.original_order.kind == OrderKind.ARO)
            for r in Return.objects.select_related("original_order__credited_member")
        ]
    )  # fmt: skip
    inp, _pks, nos = read_period_input(PLAN, OCT, fast=fast)
    got = sorted(
        zip(
            [nos[i] for i in inp.order_member.tolist()],
            inp.order_day.tolist(),
            inp.order_fen.tolist(),
            inp.order_aro.tolist(),
            strict=True,
        )
    )
    assert got == want


@pytest.mark.django_db
def test_reads_inside_a_transaction_use_djangos_connection(world: dict[str, Member]) -> None:
    # The test's own transaction holds uncommitted rows a second connection cannot see.
    assert _adbc_connect() is None
    inp, _pks, nos = read_period_input(PLAN, OCT)
    assert "SM01" in nos and inp.order_fen.size == 10


# --------------------------------------------------------------------------- inserts


@pytest.mark.django_db
def test_bulk_insert_round_trip() -> None:
    _bulk_insert_round_trip(stage=False)


@pytest.mark.django_db(transaction=True)
def test_bulk_insert_round_trip_through_staged_files() -> None:
    # Outside a transaction SQLite stores Rows frames through attached scratch files
    # written by ADBC; what lands must be the same as binding the rows from Python.
    _bulk_insert_round_trip(stage=True)


def _bulk_insert_round_trip(*, stage: bool) -> None:
    version = plan_version_ensure_seed()
    run = CommissionRun.objects.create(period=OCT.first, plan_version=version)
    a, b = MemberFactory(member_no="A1"), MemberFactory(member_no="B2")
    results = [
        (run.pk, a.pk, "SM", "", "30000.00", "-0.05", 4, "80000.00", "4615.38", "0.00",
         "0.00", "-1234567.89", "14615.38"),
        (run.pk, b.pk, "", "SR", "0.00", "0.00", 0, "0.00", "0.00", "0.00", "0.00", "0.00",
         "0.00"),
    ]  # fmt: skip
    tricky = json.dumps({"source": 'B"2\\,\n中', "pv": "1.00"}, ensure_ascii=False, sort_keys=True)
    lines = [
        (run.pk, a.pk, 1, "sales_bonus", "销售奖金", "4615.38", "个人业绩 30000.00 ≥ 20000", "{}",
         None, None),
        (run.pk, a.pk, 2, "override", 'a "quoted", name', "-0.01", 'x,y\n"z"', tricky, b.pk, 3),
    ]  # fmt: skip
    import polars as pl

    frame = pl.DataFrame(lines, schema=list(LINE_COLUMNS), orient="row", infer_schema_length=None)
    result_rows = Rows(pl.DataFrame(results, schema=list(RESULT_COLUMNS), orient="row"))
    line_rows = Rows(frame)
    tables = (
        (CommissionResult, RESULT_COLUMNS, result_rows),
        (CommissionLine, LINE_COLUMNS, line_rows),
    )
    with staged(run.pk, *tables) if stage else nullcontext(), transaction.atomic():
        if stage and connection.vendor == "sqlite":
            assert result_rows.staged_as and line_rows.staged_as
        if stage and connection.vendor == "postgresql":
            assert result_rows.partition == line_rows.partition == run.pk
        bulk_insert(CommissionResult, RESULT_COLUMNS, result_rows)
        bulk_insert(CommissionLine, LINE_COLUMNS, line_rows)
        # Plain tuples (what adjustments pass) go the same way.
        bulk_insert(CommissionLine, LINE_COLUMNS, [(*lines[1][:2], 3, *lines[1][3:])])
    assert result_rows.staged_as is None and line_rows.staged_as is None  # detached
    if stage and connection.vendor == "postgresql":
        for model in (CommissionResult, CommissionLine):
            table = model._meta.db_table
            with connection.cursor() as cur:
                assert pgpartition.attached_partition(cur, table, run.pk) == (True, True)
    got = list(
        CommissionResult.objects.filter(run=run).order_by("member_id").values_list(*(
            c.removesuffix("_id") + ("_id" if c.endswith("_id") else "") for c in RESULT_COLUMNS
        ))
    )  # fmt: skip
    want = [tuple(Decimal(v) if 4 <= k != 6 else v for k, v in enumerate(r)) for r in results]
    assert got == want
    stored = list(
        CommissionLine.objects.filter(run=run).order_by("seq").values_list(
            "seq", "rule", "name", "amount", "formula", "inputs", "source_member_id",
            "generation",
        )
    )  # fmt: skip
    assert stored == [
        (1, "sales_bonus", "销售奖金", Decimal("4615.38"), "个人业绩 30000.00 ≥ 20000", {},
         None, None),
        (2, "override", 'a "quoted", name', Decimal("-0.01"), 'x,y\n"z"', json.loads(tricky),
         b.pk, 3),
        (3, "override", 'a "quoted", name', Decimal("-0.01"), 'x,y\n"z"', json.loads(tricky),
         b.pk, 3),
    ]  # fmt: skip
    assert CommissionResult.objects.get(run=run, member=a).adjustment == Decimal("0.00")


@pytest.mark.django_db(transaction=True)
def test_store_settings_last_only_for_the_store_transaction() -> None:
    def sync() -> str:
        with connection.cursor() as cur:
            cur.execute("SHOW synchronous_commit")
            return str(cur.fetchone()[0])

    if connection.vendor != "postgresql":
        with transaction.atomic():
            store_settings()  # nothing to set: must not fail
        return
    before = sync()
    with transaction.atomic():
        store_settings()
        assert sync() == "off"
    assert sync() == before


def _wal_file_with_uncopied_rows(path: Path) -> tuple[sqlite3.Connection, int]:
    """A WAL-mode SQLite file whose last commit is still only in its WAL, and a reader
    that keeps it so (the last connection to close would copy it); and the file's size."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE t (v TEXT)")
    conn.commit()
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    keep = sqlite3.connect(path)
    keep.execute("SELECT count(*) FROM t").fetchall()
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 2000)
    conn.commit()
    conn.close()
    return keep, path.stat().st_size


@pytest.mark.django_db(transaction=True)
def test_the_store_checkpoints_the_wal_after_its_commit_on_a_thread(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        with checkpoint_after():  # PostgreSQL checkpoints by itself: nothing to do
            pass
        return
    path = tmp_path / "run.sqlite3"
    keep, size = _wal_file_with_uncopied_rows(path)
    try:

        def autocheckpoint() -> int:
            with connection.cursor() as cur:
                cur.execute("PRAGMA wal_autocheckpoint")
                return int(cur.fetchone()[0])

        before = autocheckpoint()
        name = connection.settings_dict["NAME"]
        connection.settings_dict["NAME"] = str(path)  # which file: the store's database
        try:
            with checkpoint_after():
                assert autocheckpoint() == 0  # no copy inside the store's commit
                assert path.stat().st_size == size
        finally:
            connection.settings_dict["NAME"] = name
        assert autocheckpoint() == before
        for thread in [t for t in threading.enumerate() if t.name == "wal-checkpoint"]:
            thread.join(timeout=30)
        assert path.stat().st_size > size + 2000 * 500  # the rows copied into the file
    finally:
        keep.close()


@pytest.mark.django_db
def test_deleting_a_run_still_deletes_its_results_and_lines() -> None:
    # Results and lines have no database constraints: Django cascades the deletion.
    version = plan_version_ensure_seed()
    run = CommissionRun.objects.create(period=OCT.first, plan_version=version)
    other = CommissionRun.objects.create(period=OCT.first, plan_version=version, status="failed")
    a, b = MemberFactory(member_no="A1"), MemberFactory(member_no="B2")
    for r in (run, other):
        bulk_insert(CommissionResult, RESULT_COLUMNS, [
            (r.pk, a.pk, "", "", *["0.00"] * 2, 0, *["0.00"] * 6)])  # fmt: skip
        bulk_insert(CommissionLine, LINE_COLUMNS, [
            (r.pk, a.pk, 1, "override", "n", "1.00", "f", "{}", b.pk, 1)])  # fmt: skip
    run.delete()
    assert not CommissionResult.objects.filter(run_id=run.pk).exists()
    assert not CommissionLine.objects.filter(run_id=run.pk).exists()
    assert CommissionResult.objects.filter(run=other).count() == 1
    assert CommissionLine.objects.filter(run=other, source_member=b).count() == 1


@settings(max_examples=200, deadline=None)
@given(
    keys=st.sets(st.integers(0, 3_000_000), max_size=60),
    extra=st.lists(st.integers(-5, 3_000_005), max_size=60),
)
def test_index_of_finds_each_key_and_nothing_else(keys: set[int], extra: list[int]) -> None:
    # Dense keys go through a lookup table, sparse ones (a few huge ids) a binary search.
    ordered = np.array(sorted(keys), dtype=np.int64)
    values = np.array([*keys, *extra], dtype=np.int64)
    where = {k: i for i, k in enumerate(ordered.tolist())}
    want = [where.get(v, -1) for v in values.tolist()]
    got = index_of(ordered, values)
    assert got.dtype == np.int64 and got.tolist() == want


@pytest.mark.django_db(transaction=True)
def test_staging_that_cannot_attach_falls_back_to_binding_rows() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite lane")
    version = plan_version_ensure_seed()
    run = CommissionRun.objects.create(period=OCT.first, plan_version=version)
    a = MemberFactory(member_no="A1")
    import polars as pl

    rows = Rows(
        pl.DataFrame(
            [(run.pk, a.pk, 1, "override", "n", "1.00", "f", "{}", None, 1)],
            schema=list(LINE_COLUMNS),
            orient="row",
        )
    )
    with connection.cursor() as cur:  # the scratch name is taken
        cur.execute("ATTACH DATABASE ':memory:' AS salesops_stage_0")
    try:
        with staged(run.pk, (CommissionLine, LINE_COLUMNS, rows)), transaction.atomic():
            assert rows.staged_as is None
            bulk_insert(CommissionLine, LINE_COLUMNS, rows)
    finally:
        with connection.cursor() as cur:
            cur.execute("DETACH DATABASE salesops_stage_0")
    assert list(CommissionLine.objects.filter(run=run).values_list("amount", flat=True)) == [
        Decimal("1.00")
    ]


# --------------------------------------------------------------------------- partitions


def _line_rows(run: CommissionRun, member: Member, count: int) -> Any:
    import polars as pl

    return Rows(
        pl.DataFrame(
            [(run.pk, member.pk, k, "override", "n", "1.00", "f", "{}", None, 1)
             for k in range(1, count + 1)],
            schema=list(LINE_COLUMNS),
            orient="row",
        )
    )  # fmt: skip


@pytest.fixture
def pg_run() -> tuple[CommissionRun, Member]:
    """A queued run of October and a member, on PostgreSQL (where results and lines are
    partitioned) only."""
    if connection.vendor != "postgresql":
        pytest.skip("results and lines are partitioned on PostgreSQL only")
    version = plan_version_ensure_seed()
    run = CommissionRun.objects.create(period=OCT.first, plan_version=version)
    return run, MemberFactory(member_no="A1")


def _partition_tables() -> set[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT relname FROM pg_class WHERE relkind = 'r' "
            "AND relname ~ '^compensation_commission(line|result)_p[0-9]+$'"
        )
        return {r[0] for r in cur.fetchall()}


@pytest.mark.django_db(transaction=True)
def test_a_runs_partition_is_indexed_before_and_attached_in_the_store(
    pg_run: tuple[CommissionRun, Member], caplog: pytest.LogCaptureFixture
) -> None:
    run, a = pg_run
    rows = _line_rows(run, a, 3)
    table = CommissionLine._meta.db_table
    with staged(run.pk, (CommissionLine, LINE_COLUMNS, rows)):
        with connection.cursor() as cur:  # written, indexed, not yet part of the table
            assert pgpartition.attached_partition(cur, table, run.pk) == (False, True)
        assert not CommissionLine.objects.filter(run=run).exists()
        with transaction.atomic():
            bulk_insert(CommissionLine, LINE_COLUMNS, rows)
            assert CommissionLine.objects.filter(run=run).count() == 3
    name = pgpartition.partition_name(table, run.pk)
    with connection.cursor() as cur:
        assert pgpartition.attached_partition(cur, table, run.pk) == (True, True)
        # Each index of the table has the partition's own index attached under it (the
        # attach adopted them rather than building its own), and no other index.
        cur.execute(
            "SELECT count(*) FROM pg_index x JOIN pg_inherits i ON i.inhrelid = x.indexrelid "
            "WHERE x.indrelid = to_regclass(%s)",
            [name],
        )
        adopted = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM pg_index WHERE indrelid = to_regclass(%s)", [name])
        assert adopted == cur.fetchone()[0] == 2  # (id, run) and (run, member, seq)
        cur.execute(
            "SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'c'",
            [name],
        )
        assert cur.fetchone()[0] == 2  # the table's own checks; the bound check is gone
    # Ids are one block taken from the table's sequence, in row order; the next line
    # through the ORM follows on.
    ids = list(CommissionLine.objects.filter(run=run).order_by("seq").values_list("id", flat=True))
    assert ids == list(range(ids[0], ids[0] + 3))
    assert "could not reserve ids" not in caplog.text  # not one nextval per row
    last = ids[-1]
    more = CommissionLine.objects.create(
        run=run, member=a, seq=9, rule="override", name="n", amount=1, formula="f"
    )
    assert more.pk > last and CommissionLine.objects.filter(run=run).count() == 4


@pytest.mark.django_db(transaction=True)
def test_a_store_that_fails_leaves_no_partition_behind(
    pg_run: tuple[CommissionRun, Member],
) -> None:
    run, a = pg_run
    rows = _line_rows(run, a, 2)
    with (
        pytest.raises(RuntimeError),
        staged(run.pk, (CommissionLine, LINE_COLUMNS, rows)),
        transaction.atomic(),
    ):
        bulk_insert(CommissionLine, LINE_COLUMNS, rows)  # attached …
        raise RuntimeError("crash before the commit")  # … and rolled back
    assert rows.partition is None
    assert not CommissionLine.objects.filter(run=run).exists()
    table = CommissionLine._meta.db_table
    assert pgpartition.partition_name(table, run.pk) not in _partition_tables()


@pytest.mark.django_db(transaction=True)
def test_partitions_abandoned_by_a_dead_run_are_dropped_by_the_next_store(
    pg_run: tuple[CommissionRun, Member],
) -> None:
    run, a = pg_run
    version = run.plan_version
    dead = CommissionRun.objects.create(period=OCT.first, plan_version=version, status="failed")
    busy = CommissionRun.objects.create(
        period=dt.date(2026, 9, 1), plan_version=version, status="running"
    )
    table = CommissionLine._meta.db_table
    with connection.cursor() as cur:  # what a process killed before attaching leaves
        for r in (dead, busy):
            pgpartition.create_unattached(cur, table, r.pk)
    rows = _line_rows(run, a, 1)
    with staged(run.pk, (CommissionLine, LINE_COLUMNS, rows)), transaction.atomic():
        bulk_insert(CommissionLine, LINE_COLUMNS, rows)
    # The dead run's table is gone; a running run's (another period's) is its own.
    names = _partition_tables()
    assert pgpartition.partition_name(table, dead.pk) not in names
    assert pgpartition.partition_name(table, busy.pk) in names
    assert pgpartition.partition_name(table, run.pk) in names
    with connection.cursor() as cur:
        pgpartition.drop(cur, table, busy.pk)


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_rows_are_already_partitioned_inserts_beside_them(
    pg_run: tuple[CommissionRun, Member],
) -> None:
    # Ids reused (a test database's sequences reset): this run's partition holds rows
    # already, so the store copies into it instead of writing a new one.
    run, a = pg_run
    first = _line_rows(run, a, 2)
    with staged(run.pk, (CommissionLine, LINE_COLUMNS, first)), transaction.atomic():
        bulk_insert(CommissionLine, LINE_COLUMNS, first)
    again = _line_rows(run, a, 1)
    with staged(run.pk, (CommissionLine, LINE_COLUMNS, again)), transaction.atomic():
        assert again.partition is None
        bulk_insert(CommissionLine, LINE_COLUMNS, again)
    assert CommissionLine.objects.filter(run=run).count() == 3


@pytest.mark.django_db
@pytest.mark.parametrize("fast", [True, False])
def test_orders_of_an_import_still_applying_are_not_read(
    world: dict[str, Member], fast: bool
) -> None:
    """A chunked import's committed orders stay out of a run until the job is done, as
    they stay out of every list (sales.selectors.not_importing_q)."""
    baseline = read_period_input(PLAN, OCT, fast=fast)[0].order_fen
    job = ImportJob.objects.create(entity="orders", file_path="x.csv", status="running")
    hidden = test_runs.order(world["sr1"], "777", 3)
    Order.objects.filter(pk=hidden.pk).update(import_job=job)
    assert np.array_equal(read_period_input(PLAN, OCT, fast=fast)[0].order_fen, baseline)
    ImportJob.objects.filter(pk=job.pk).update(status="done")
    seen = read_period_input(PLAN, OCT, fast=fast)[0].order_fen
    assert seen.size == baseline.size + 1 and int(seen.sum()) == int(baseline.sum()) + 777_00
