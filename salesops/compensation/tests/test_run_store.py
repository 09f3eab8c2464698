"""A run's store on SQLite commits in ranges (issue 11, no lock-ups): the rows arrive in
several transactions, nobody sees a run's rows before it is done, and a store that fails
part-way leaves none of them behind — nor does a worker that died (the stale-run job)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import polars as pl
import pytest
from django.db import IntegrityError, connection

from salesops.compensation import selectors
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    RunStatus,
)
from salesops.compensation.services import runs as run_service
from salesops.compensation.services.plans import plan_version_ensure_seed
from salesops.compensation.services.runio import (
    LINE_COLUMNS,
    RESULT_COLUMNS,
    Rows,
    run_rows_delete,
    staged,
    staged_copy_in_chunks,
)
from salesops.core.access import viewer_for
from salesops.core.models import RoleCode
from salesops.factories import UserFactory, role

OCT = dt.date(2026, 10, 1)
# More than the first range (runio.STORE_FIRST_CHUNK), so that a tiny time target makes
# several ranges after it.
ROWS = 20_000


def _results(run: CommissionRun, count: int, *, duplicate_last: bool = False) -> Rows:
    members = list(range(1, count + 1))
    if duplicate_last:
        members[-1] = 1  # (run, member) is unique: the last range fails
    n = len(members)
    frame = pl.DataFrame(
        {
            "run_id": [run.pk] * n,
            "member_id": members,
            "paid_as": ["SR"] * n,
            "title": [""] * n,
            "pv": ["100.00"] * n,
            "pv_by_cutoff": ["100.00"] * n,
            "sr_count": [0] * n,
            "sr_volume": ["0.00"] * n,
            "sales_bonus": ["1.00"] * n,
            "morning_star": ["0.00"] * n,
            "open_star": ["0.00"] * n,
            "override": ["0.00"] * n,
            "total": ["1.00"] * n,
        }
    ).select(RESULT_COLUMNS)
    return Rows(frame)


def _no_lines() -> Rows:
    schema: dict[str, Any] = {c: pl.String for c in LINE_COLUMNS}
    schema.update(
        run_id=pl.Int64, member_id=pl.Int64, seq=pl.Int64, source_member_id=pl.Int64,
        generation=pl.Int64,
    )  # fmt: skip
    return Rows(pl.DataFrame(schema=schema))


def _result(run: CommissionRun, member_id: int) -> CommissionResult:
    zero = Decimal("0.00")
    money = dict.fromkeys(
        ("pv", "pv_by_cutoff", "sr_volume", "sales_bonus", "morning_star", "open_star",
         "override"),
        zero,
    )  # fmt: skip
    return CommissionResult(
        run=run, member_id=member_id, paid_as="SR", sr_count=0, total=Decimal("1.00"), **money
    )


@pytest.fixture
def running(db: None) -> CommissionRun:
    version = plan_version_ensure_seed()
    CommissionPeriod.objects.get_or_create(period=OCT)
    return CommissionRun.objects.create(period=OCT, plan_version=version, status=RunStatus.RUNNING)


@pytest.fixture
def tiny_ranges(settings: Any) -> None:
    settings.SALESOPS_RUN_WRITE_CHUNK_SECONDS = 0.000001
    settings.SALESOPS_WRITE_PAUSE_SECONDS = 0


def sqlite_only() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL stores in one COPY transaction, which blocks no other writer")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("tiny_ranges")
def test_a_sqlite_store_commits_in_ranges_and_switches_the_month_at_the_end(
    running: CommissionRun,
) -> None:
    sqlite_only()
    results = _results(running, ROWS)
    with staged(running.pk, (CommissionResult, RESULT_COLUMNS, results)):
        assert results.staged_as
        ranges = staged_copy_in_chunks(
            CommissionResult, RESULT_COLUMNS, results, check=lambda: None
        )
    assert ranges > 2
    assert CommissionResult.objects.filter(run=running).count() == ROWS
    # the whole store: rows in ranges, then the month's switch and DONE
    run_rows_delete(running.pk)
    run_service._store(running, _results(running, ROWS), _no_lines(), Decimal("1"), ignored=0)
    running.refresh_from_db()
    assert running.status == RunStatus.DONE and running.members_count == ROWS
    assert CommissionPeriod.objects.get(period=OCT).current_run_id == running.pk
    assert CommissionResult.objects.filter(run=running).count() == ROWS


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("tiny_ranges")
def test_a_store_failing_part_way_leaves_no_rows_and_the_month_as_it_was(
    running: CommissionRun,
) -> None:
    sqlite_only()
    with pytest.raises(IntegrityError):
        run_service._store(
            running, _results(running, ROWS, duplicate_last=True), _no_lines(), Decimal("1"),
            ignored=0,
        )  # fmt: skip
    assert not CommissionResult.objects.filter(run=running).exists()
    assert CommissionPeriod.objects.get(period=OCT).current_run_id is None


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("tiny_ranges")
def test_a_run_reset_while_it_stores_stops_at_the_next_range(running: CommissionRun) -> None:
    sqlite_only()
    results = _results(running, ROWS)
    seen: list[int] = []

    def reset_after_first_range() -> None:
        seen.append(CommissionResult.objects.filter(run=running).count())
        if len(seen) == 2:
            # what a 重置 by finance does meanwhile, committed with this range
            CommissionRun.objects.filter(pk=running.pk).update(status=RunStatus.FAILED)
            return
        run_service._storable(running)

    with (
        staged(running.pk, (CommissionResult, RESULT_COLUMNS, results)),
        pytest.raises(Exception, match="该结算已被重置"),
    ):
        staged_copy_in_chunks(
            CommissionResult, RESULT_COLUMNS, results, check=reset_after_first_range
        )
    assert seen[0] == 0 and seen[1] > 0  # the first range was committed
    left = CommissionResult.objects.filter(run=running).count()
    assert len(seen) == 3 and seen[1] < left < ROWS  # stopped at the range after the reset
    assert run_service.failed_runs_purge() == left
    assert not CommissionResult.objects.filter(run=running).exists()


@pytest.mark.django_db
def test_a_runs_rows_are_shown_only_once_it_is_done(running: CommissionRun) -> None:
    finance = UserFactory(username="fin-rs", role=role(RoleCode.FINANCE))
    viewer = viewer_for(finance)
    CommissionResult.objects.bulk_create([_result(running, k) for k in (1, 2)])
    assert not selectors.results_for(viewer, running).exists()  # still storing
    CommissionRun.objects.filter(pk=running.pk).update(status=RunStatus.FAILED)
    running.refresh_from_db()
    assert not selectors.results_for(viewer, running).exists()
    CommissionRun.objects.filter(pk=running.pk).update(status=RunStatus.DONE)
    running.refresh_from_db()
    assert selectors.results_for(viewer, running).count() == 2


@pytest.mark.django_db
def test_the_stale_run_job_removes_what_a_dead_worker_left(running: CommissionRun) -> None:
    done = CommissionRun.objects.create(
        period=dt.date(2026, 9, 1), plan_version=running.plan_version, status=RunStatus.DONE
    )
    for run in (running, done):
        CommissionResult.objects.bulk_create([_result(run, k) for k in range(1, 4)])
        CommissionLine.objects.create(
            run=run, member_id=1, seq=1, rule="sales_bonus", name="x", amount=Decimal("1")
        )
    # the worker died mid-store long ago: the job fails the run and removes its rows
    CommissionRun.objects.filter(pk=running.pk).update(
        started_at=dt.datetime(2026, 10, 1, tzinfo=dt.UTC)
    )
    note = run_service.commission_runs_reset_stale(now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
    assert "清理了未完成结果 4 行" in note
    running.refresh_from_db()
    assert running.status == RunStatus.FAILED
    assert not CommissionResult.objects.filter(run=running).exists()
    assert not CommissionLine.objects.filter(run=running).exists()
    assert CommissionResult.objects.filter(run=done).count() == 3  # a done run keeps its rows
    assert run_service.failed_runs_purge() == 0  # idempotent
