"""Adjustments (调整) of closed months: a return or an order dated in a closed month that
arrives later is corrected in the next run of an open month, never by changing the closed
month; clawbacks when a return drops an upline's rank; identical data gives identical
lines; a correction is posted once however many months are run."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from salesops.compensation.engine.explain import RULE_ADJUSTMENT as RULE
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    RunStatus,
)
from salesops.compensation.tests.periods_world import (
    IMMEDIATE,
    OCT,
    SEP,
    World,
    build_world,
    close_month,
    order,
    run_month,
)
from salesops.org.models import Member
from salesops.sales.models import Return

NOV = dt.date(2026, 11, 1)
AUG = dt.date(2026, 8, 1)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def closed(db: None, django_capture_on_commit_callbacks: Any) -> World:
    """September run and closed (SM01 paid as SM: 14615.38)."""
    w = build_world()
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    close_month(w, SEP)
    return w


def late_return(w: World, k: int, day: int = 28) -> Return:
    """SR0k's September order is returned in full, recorded after the close."""
    return Return.objects.create(
        return_no=f"RT-LATE-{k}",
        original_order=w.sr_orders[k],
        return_date=dt.date(2026, 9, day),
        total_amount=Decimal("20000"),
    )


def adjustment_lines(run: CommissionRun) -> list[tuple[Any, ...]]:
    return list(
        CommissionLine.objects.filter(run=run, rule=RULE)
        .order_by("member__member_no", "seq")
        .values_list("member__member_no", "seq", "name", "amount", "formula", "inputs",
                     "source_period")
    )  # fmt: skip


def test_late_return_claws_back_the_uplines_rank_bonuses(
    closed: World, django_capture_on_commit_callbacks: Any
) -> None:
    w = closed
    sep_state = CommissionPeriod.objects.get(period=SEP)
    sep_lines_before = CommissionLine.objects.filter(run=sep_state.current_run).count()
    late_return(w, 3)
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    assert oct_run.status == RunStatus.DONE, oct_run.error
    # Recomputed September: SR03's pv is 0, so SM01 has 3 SRs and is paid as SSE:
    # 4615.38 + morning-star 1500 + open-star 1000 + override 3 × 1000 = 10115.38.
    assert adjustment_lines(oct_run) == [
        ("SM01", 1, "调整", Decimal("-4500.00"),
         "2026-09 重算 10115.38 − 原结算 14615.38 = −4500.00",
         {"adjusted_before": "0.00", "closed": "14615.38", "closed_run": sep_state.current_run_id,
          "paid_as_closed": "SM", "paid_as_now": "SSE", "period": "2026-09",
          "recomputed": "10115.38"},
         SEP),
        ("SR03", 1, "调整", Decimal("-4076.92"),
         "2026-09 重算 0.00 − 原结算 4076.92 = −4076.92",
         {"adjusted_before": "0.00", "closed": "4076.92", "closed_run": sep_state.current_run_id,
          "paid_as_closed": "SR", "paid_as_now": "", "period": "2026-09",
          "recomputed": "0.00"},
         SEP),
    ]  # fmt: skip
    # Members with only adjustments get a result row of zero volumes carrying the title.
    sm = CommissionResult.objects.get(run=oct_run, member=w.sm)
    assert (sm.pv, sm.total, sm.adjustment, sm.title, sm.paid_as) == (
        Decimal("0.00"), Decimal("0.00"), Decimal("-4500.00"), "SM", "",
    )  # fmt: skip
    assert CommissionResult.objects.get(run=oct_run, member=w.srs[3]).adjustment == Decimal(
        "-4076.92"
    )
    assert oct_run.members_count == 2
    assert oct_run.total == Decimal("0.00")  # the run's own total excludes adjustments
    # The closed month is untouched.
    sep_state.refresh_from_db()
    assert CommissionLine.objects.filter(run=sep_state.current_run).count() == sep_lines_before
    assert CommissionResult.objects.get(run=sep_state.current_run, member=w.sm).total == Decimal(
        "14615.38"
    )


def test_adjustment_follows_the_members_own_lines_and_rerun_is_identical(
    closed: World, django_capture_on_commit_callbacks: Any
) -> None:
    w = closed
    late_return(w, 3)
    # SM01 also earns in October: 20000 → sales bonus, morning-star, open-star lines first.
    order(w.sm, "20000", dt.date(2026, 10, 5))
    first = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    second = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    sm_lines = list(
        CommissionLine.objects.filter(run=first, member=w.sm)
        .order_by("seq")
        .values_list("seq", "rule", "amount")
    )
    assert [(s, r) for s, r, _a in sm_lines] == [
        (1, "sales_bonus"), (2, "morning_star"), (3, "open_star"), (4, "adjustment"),
    ]  # fmt: skip
    sm = CommissionResult.objects.get(run=first, member=w.sm)
    assert (sm.paid_as, sm.adjustment) == ("SR", Decimal("-4500.00"))
    assert sm.total == sum(a for _s, r, a in sm_lines if r != RULE)
    # Re-running the open month replaces its adjustments with identical ones.
    assert adjustment_lines(first) == adjustment_lines(second)
    assert CommissionPeriod.objects.get(period=OCT).current_run_id == second.pk


def test_correction_is_posted_once_across_later_months(
    closed: World, django_capture_on_commit_callbacks: Any
) -> None:
    w = closed
    late_return(w, 3)
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    # November while October is still open: October's current run already carries it.
    nov_open = run_month(w.fin1, django_capture_on_commit_callbacks, NOV)
    assert adjustment_lines(nov_open) == []
    close_month(w, OCT)
    nov = run_month(w.fin1, django_capture_on_commit_callbacks, NOV)
    assert adjustment_lines(nov) == []
    # A second late return (SR02) after October's adjustment: only the new difference.
    # SM01 now has 2 SRs (40000): SSE again, override 2000 → 9115.38, i.e. −1000.00 more.
    late_return(w, 2)
    nov2 = run_month(w.fin1, django_capture_on_commit_callbacks, NOV)
    lines = {row[0]: row for row in adjustment_lines(nov2)}
    assert set(lines) == {"SM01", "SR02"}
    assert lines["SM01"][3] == Decimal("-1000.00")
    assert (
        lines["SM01"][4] == "2026-09 重算 9115.38 − (原结算 14615.38 + 已调整 −4500.00) = −1000.00"
    )
    assert lines["SR02"][3] == Decimal("-4076.92")
    assert adjustment_lines(oct_run)[0][3] == Decimal("-4500.00")


def test_late_order_pays_the_difference(
    closed: World, django_capture_on_commit_callbacks: Any
) -> None:
    w = closed
    order(w.lone, "5000", dt.date(2026, 9, 15))  # SR99: 25000 (20000 by the 20th)
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    ((no, _seq, _name, amount, formula, _inputs, source),) = adjustment_lines(oct_run)
    # 25000 × 0.9 ÷ 1.17 × 20% = 3846.15, + 1500 + 1000 = 6346.15 (was 5576.92).
    assert (no, amount, source) == ("SR99", Decimal("769.23"), SEP)
    assert formula == "2026-09 重算 6346.15 − 原结算 5576.92 = 769.23"


def test_no_late_data_no_adjustment_and_only_earlier_months(
    closed: World, django_capture_on_commit_callbacks: Any
) -> None:
    w = closed
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    assert adjustment_lines(oct_run) == []
    late_return(w, 3)
    # August is earlier than the closed September: its run never adjusts September.
    aug = run_month(w.fin1, django_capture_on_commit_callbacks, AUG)
    assert aug.status == RunStatus.DONE, aug.error
    assert adjustment_lines(aug) == []
    assert not CommissionResult.objects.filter(run=aug).exclude(adjustment=0).exists()


def test_backdated_sponsor_move_into_a_closed_month_is_adjusted(
    closed: World, django_capture_on_commit_callbacks: Any
) -> None:
    from salesops.org.services.sponsor_changes import sponsor_change_apply

    w = closed
    sponsor_change_apply(
        actor=w.fin1, member=w.srs[0], new_sponsor=w.lone, effective_on=dt.date(2026, 9, 1),
        reason="补录推荐关系",
    )  # fmt: skip
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    lines = {row[0]: row for row in adjustment_lines(oct_run)}
    # SM01 loses SR00 (3 SRs: SSE, −4500.00); SR99 gains one trained SR: paid as SE
    # (15000 pv, 1 SR): override 1000 → 6576.92, +1000.00.
    assert lines["SM01"][3] == Decimal("-4500.00")
    assert lines["SR99"][3] == Decimal("1000.00")
    assert json.loads(json.dumps(lines["SR99"][5]))["paid_as_now"] == "SE"
    assert Member.objects.get(pk=w.srs[0].pk).sponsor_id == w.lone.pk


# --------------------------------------------------------------------------- property


def _recomputed_september() -> dict[int, Decimal]:
    """September computed afresh from today's data (the engine on the database reads)."""
    from salesops.compensation.engine.money import from_fen
    from salesops.compensation.engine.schedule import Period
    from salesops.compensation.engine.vectorised import compute_period
    from salesops.compensation.selectors.plans import rank_plan_of
    from salesops.compensation.services.runio import read_period_input

    state = CommissionPeriod.objects.select_related("current_run__plan_version").get(period=SEP)
    plan = rank_plan_of(state.current_run.plan_version)  # type: ignore[union-attr]
    inp, pks, _nos = read_period_input(plan, Period(2026, 9))
    res = compute_period(plan, inp, Period(2026, 9))
    return {int(pk): from_fen(int(t)) for pk, t in zip(pks, res.total, strict=True) if t}


def _booked_september() -> dict[int, Decimal]:
    """What September has paid so far: its closed result plus every adjustment for it in
    the current run of any month."""
    state = CommissionPeriod.objects.get(period=SEP)
    booked: dict[int, Decimal] = {}
    for member_id, total in CommissionResult.objects.filter(run=state.current_run).values_list(
        "member_id", "total"
    ):
        booked[member_id] = booked.get(member_id, Decimal(0)) + total
    current = CommissionPeriod.objects.exclude(current_run=None).values("current_run")
    for member_id, amount in CommissionLine.objects.filter(
        rule=RULE, source_period=SEP, run__in=current
    ).values_list("member_id", "amount"):
        booked[member_id] = booked.get(member_id, Decimal(0)) + amount
    return {k: v for k, v in booked.items() if v}


_step = st.tuples(
    st.sampled_from(["return", "order"]),
    st.integers(min_value=0, max_value=3),  # which SR (or SM01 for an order when 3)
    st.sampled_from(["500", "5000", "20000"]),
    st.sampled_from([OCT, NOV]),
    st.booleans(),  # close October after this step (once)
)


@hsettings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(_step, min_size=1, max_size=3))
def test_closed_month_plus_adjustments_always_equals_a_fresh_recompute(
    steps: list[tuple[str, int, str, dt.date, bool]],
    db: None,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """Whatever late data arrives and whichever later months are run (in any order,
    October closed or not), September's closed result plus the adjustments posted for it
    equals September recomputed today — a correction is never lost nor paid twice."""
    with transaction.atomic():
        w = build_world()
        run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
        close_month(w, SEP)
        returned: set[int] = set()
        oct_closed = False
        for n, (kind, k, amount, month, close_oct) in enumerate(steps):
            if kind == "return" and k not in returned:
                returned.add(k)
                Return.objects.create(
                    return_no=f"RT-P-{n}", original_order=w.sr_orders[k],
                    return_date=dt.date(2026, 9, 28), total_amount=Decimal(amount),
                )  # fmt: skip
            else:
                who = w.sm if k == 3 else w.srs[k]
                order(who, amount, dt.date(2026, 9, 12))
            if month == OCT and oct_closed:
                month = NOV
            run = run_month(w.fin1, django_capture_on_commit_callbacks, month)
            assert run.status == RunStatus.DONE, run.error
            if close_oct and not oct_closed:
                oct_state = CommissionPeriod.objects.filter(period=OCT).first()
                if oct_state is None or oct_state.current_run_id is None:
                    run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
                close_month(w, OCT)
                oct_closed = True
            assert _booked_september() == _recomputed_september()
        transaction.set_rollback(True)
