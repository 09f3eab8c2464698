"""compensation's status tables: runs, months, plan versions, payout batches, disputes
(``core/transitions.py``)."""

from __future__ import annotations

import pytest

from salesops.compensation.models import (
    CommissionPeriod,
    CommissionRun,
    CompPlanVersion,
    Dispute,
    DisputeStatus,
    PayoutBatch,
    PayoutStatus,
    PeriodStatus,
    PlanStatus,
    RunStatus,
)
from salesops.compensation.services.disputes import DISPUTE_MOVES
from salesops.compensation.services.payouts import EDITABLE, EXPORTABLE, PAYOUT_MOVES
from salesops.compensation.services.periods import PERIOD_MOVES
from salesops.compensation.services.plans import PLAN_MOVES
from salesops.compensation.services.runs import RUN_MOVES
from salesops.core.tests.status_tables import Table, check_move, check_table, every_pair, table

Ru, Pe, Pl, Pa, D = RunStatus, PeriodStatus, PlanStatus, PayoutStatus, DisputeStatus

TABLES: dict[str, Table] = {
    # Queued → claimed by a worker → done; a crash, bad input or 重置 fails an active run.
    "run": table(
        RUN_MOVES,
        CommissionRun,
        (Ru.QUEUED, Ru.RUNNING),
        (Ru.RUNNING, Ru.DONE),
        (Ru.QUEUED, Ru.FAILED),
        (Ru.RUNNING, Ru.FAILED),
    ),
    # 申请结账 → approved; sent back reopens; a request resubmitted as is passes from OPEN.
    "period": table(
        PERIOD_MOVES,
        CommissionPeriod,
        (Pe.OPEN, Pe.CLOSING),
        (Pe.CLOSING, Pe.CLOSED),
        (Pe.OPEN, Pe.CLOSED),
        (Pe.CLOSING, Pe.OPEN),
    ),
    "plan": table(
        PLAN_MOVES,
        CompPlanVersion,
        (Pl.DRAFT, Pl.PENDING),
        (Pl.PENDING, Pl.ACTIVE),
        (Pl.DRAFT, Pl.ACTIVE),  # resubmitted from the approval centre after 退回
        (Pl.PENDING, Pl.DRAFT),  # rejected, returned or withdrawn
        (Pl.ACTIVE, Pl.SUPERSEDED),
    ),
    "payout": table(
        PAYOUT_MOVES,
        PayoutBatch,
        (Pa.DRAFT, Pa.DRAFT),  # rebuilt
        (Pa.REJECTED, Pa.DRAFT),  # rebuilt after a rejection
        (Pa.PENDING, Pa.DRAFT),  # returned or withdrawn
        (Pa.DRAFT, Pa.PENDING),
        (Pa.REJECTED, Pa.PENDING),
        (Pa.PENDING, Pa.APPROVED),
        (Pa.PENDING, Pa.REJECTED),
        (Pa.APPROVED, Pa.EXPORTED),
    ),
    "dispute": table(
        DISPUTE_MOVES,
        Dispute,
        (D.OPEN, D.OPEN),
        (D.ANSWERED, D.OPEN),
        (D.CLOSED, D.OPEN),  # a new question reopens the thread
        (D.OPEN, D.ANSWERED),
        (D.ANSWERED, D.ANSWERED),
        (D.OPEN, D.CLOSED),
        (D.ANSWERED, D.CLOSED),
    ),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_table_allows_exactly_the_described_moves(name: str) -> None:
    check_table(TABLES[name])


@pytest.mark.parametrize("name, before, to", every_pair(TABLES))
def test_move(name: str, before: str, to: str) -> None:
    check_move(TABLES[name], before, to)


def test_payout_screens_offer_what_the_table_allows() -> None:
    assert EDITABLE == (Pa.DRAFT, Pa.REJECTED)
    assert EXPORTABLE == (Pa.APPROVED, Pa.EXPORTED)
