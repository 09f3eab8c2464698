"""Commission runs through the database: the seed's worked examples, re-runs, refusals,
failures that keep the previous results, and who may see what."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PeriodStatus,
    RunStatus,
)
from salesops.compensation.services.runs import commission_run_start
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import RoleCode
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member, SponsorHistory
from salesops.sales.models import Order, OrderKind, Return

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
OCT = dt.date(2026, 10, 1)
_order_no = itertools.count(1)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


def order(member: Member, amount: str, day: int, kind: str = OrderKind.REGULAR) -> Order:
    return Order.objects.create(
        order_no=f"SO{next(_order_no):06d}",
        order_date=dt.date(2026, 10, day),
        kind=kind,
        credited_member=member,
        total_amount=Decimal(amount),
    )


@pytest.fixture
def world(db: None) -> dict[str, Any]:
    """An SM with 4 personally trained SRs (seed example 2) and a lone SR (example 1)."""
    sm = MemberFactory(member_no="SM01")
    order(sm, "20000", 5)
    order(sm, "10000", 25)
    srs = []
    for k in range(4):
        sr = MemberFactory(member_no=f"SR0{k}", sponsor=sm)
        order(sr, "20000", 25)
        srs.append(sr)
    # A return in the month lowers SR00's pv: 20500 - 500 = 20000.
    extra = order(srs[0], "500", 26)
    Return.objects.create(
        return_no="RT0001", original_order=extra, return_date=dt.date(2026, 10, 27),
        total_amount=Decimal("500"),
    )  # fmt: skip
    lone = MemberFactory(member_no="SR99")
    order(lone, "15000", 10, kind=OrderKind.ARO)
    order(lone, "5000", 21)
    # An order outside the period is not counted.
    Order.objects.create(
        order_no="SO-SEPT", order_date=dt.date(2026, 9, 30), credited_member=lone,
        total_amount=Decimal("7777"),
    )  # fmt: skip
    return {"sm": sm, "lone": lone, **{f"sr{k}": s for k, s in enumerate(srs)}}


@pytest.fixture
def finance(db: None) -> Any:
    return UserFactory(username="fin", role=role(RoleCode.FINANCE))


def run_period(actor: Any, capture: Any, period: dt.date = OCT) -> CommissionRun:
    with capture(execute=True):
        run = commission_run_start(actor=actor, period=period)
    run.refresh_from_db()
    return run


def lines_of(run: CommissionRun) -> list[tuple[Any, ...]]:
    return list(
        CommissionLine.objects.filter(run=run)
        .order_by("member__member_no", "seq")
        .values_list(
            "member__member_no", "seq", "rule", "amount", "formula", "inputs",
            "source_member__member_no", "generation",
        )
    )  # fmt: skip


def test_run_reproduces_the_seed_examples(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(finance, django_capture_on_commit_callbacks)
    assert run.status == RunStatus.DONE, run.error
    assert run.progress == 100
    sm = CommissionResult.objects.get(run=run, member=world["sm"])
    assert (sm.paid_as, sm.pv, sm.pv_by_cutoff, sm.sr_count, sm.sr_volume) == (
        "SM", Decimal("30000.00"), Decimal("20000.00"), 4, Decimal("80000.00"),
    )  # fmt: skip
    assert (sm.sales_bonus, sm.morning_star, sm.open_star, sm.override, sm.total) == (
        Decimal("4615.38"), Decimal("4000.00"), Decimal("2000.00"), Decimal("4000.00"),
        Decimal("14615.38"),
    )  # fmt: skip
    lone = CommissionResult.objects.get(run=run, member=world["lone"])
    assert (lone.paid_as, lone.pv, lone.total) == ("SR", Decimal("20000.00"), Decimal("5576.92"))
    sm_lines = [ln for ln in lines_of(run) if ln[0] == "SM01"]
    assert [(ln[2], ln[3], ln[6], ln[7]) for ln in sm_lines] == [
        ("sales_bonus", Decimal("4615.38"), None, None),
        ("morning_star", Decimal("4000.00"), None, None),
        ("open_star", Decimal("2000.00"), None, None),
        ("override", Decimal("1000.00"), "SR00", 1),
        ("override", Decimal("1000.00"), "SR01", 1),
        ("override", Decimal("1000.00"), "SR02", 1),
        ("override", Decimal("1000.00"), "SR03", 1),
    ]
    assert sm_lines[0][4] == "个人业绩 30000.00 ≥ 20000 → 20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38"
    assert sm_lines[3][4] == "第1代 SR00 个人业绩 20000.00 × 5% = 1000.00"
    # Each SR: 20000 → 3076.92 sales bonus, no morning star (nothing by the 20th),
    # open star 1000.
    assert CommissionResult.objects.get(run=run, member=world["sr0"]).total == Decimal("4076.92")
    assert run.members_count == 6
    assert run.total == Decimal("14615.38") + Decimal("5576.92") + 4 * Decimal("4076.92")
    assert run.ignored_orders == 0
    state = CommissionPeriod.objects.get(period=OCT)
    assert state.current_run_id == run.pk


def test_rerun_gives_identical_lines_and_switches_current(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    first = run_period(finance, django_capture_on_commit_callbacks)
    second = run_period(finance, django_capture_on_commit_callbacks)
    assert (first.status, second.status) == (RunStatus.DONE, RunStatus.DONE)
    assert len(lines_of(first)) == 7 + 3 + 4 * 2
    assert lines_of(first) == lines_of(second)
    assert CommissionPeriod.objects.get(period=OCT).current_run_id == second.pk
    assert CommissionResult.objects.filter(run=first).count() == 6  # old rows kept


def test_second_start_while_running_is_refused(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False):
        queued = commission_run_start(actor=finance, period=OCT)
    with pytest.raises(ServiceError) as exc:
        commission_run_start(actor=finance, period=dt.date(2026, 10, 15))
    assert (exc.value.code, exc.value.status) == ("run_in_progress", 409)
    CommissionRun.objects.filter(pk=queued.pk).update(status=RunStatus.RUNNING)
    with pytest.raises(ServiceError) as exc:
        commission_run_start(actor=finance, period=OCT)
    assert exc.value.code == "run_in_progress"
    assert CommissionRun.objects.filter(period=OCT).count() == 1


def test_active_run_unique_constraint_backs_up_the_check(
    world: dict[str, Member], finance: Any
) -> None:
    from django.db import IntegrityError, transaction

    from salesops.compensation.services.plans import plan_version_ensure_seed

    version = plan_version_ensure_seed()
    CommissionRun.objects.create(period=OCT, plan_version=version)
    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionRun.objects.create(period=OCT, plan_version=version)


def test_failed_run_leaves_previous_current_results(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    good = run_period(finance, django_capture_on_commit_callbacks)
    # Inject a sponsor cycle SM01 → SR00 → SM01 into the network history.
    SponsorHistory.objects.filter(member=world["sm"]).update(sponsor=world["sr0"])
    bad = run_period(finance, django_capture_on_commit_callbacks)
    assert bad.status == RunStatus.FAILED
    assert bad.error == "推荐关系存在循环：SM01 → SR00"
    assert CommissionResult.objects.filter(run=bad).count() == 0
    assert CommissionLine.objects.filter(run=bad).count() == 0
    assert CommissionPeriod.objects.get(period=OCT).current_run_id == good.pk
    # A new start is allowed after the failure.
    SponsorHistory.objects.filter(member=world["sm"]).update(sponsor=None)
    again = run_period(finance, django_capture_on_commit_callbacks)
    assert again.status == RunStatus.DONE
    assert lines_of(again) == lines_of(good)


def test_unknown_title_fails_the_run(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    Member.objects.filter(pk=world["lone"].pk).update(title="XX")
    run = run_period(finance, django_capture_on_commit_callbacks)
    assert (run.status, run.error) == (RunStatus.FAILED, "会员 SR99 的职级 XX 不在方案中")
    assert CommissionPeriod.objects.get(period=OCT).current_run_id is None


def test_closed_period_and_non_finance_are_refused(world: dict[str, Member], stock: Any) -> None:
    finance = UserFactory(username="fin2", role=role(RoleCode.FINANCE))
    CommissionPeriod.objects.create(period=OCT, status=PeriodStatus.CLOSED)
    with pytest.raises(ServiceError) as exc:
        commission_run_start(actor=finance, period=OCT)
    assert exc.value.code == "period_closed"
    with pytest.raises(PermissionDeniedError):
        commission_run_start(actor=stock.rep_user, period=dt.date(2026, 9, 1))
    with pytest.raises(ServiceError) as exc:
        commission_run_start(actor=finance, period=dt.date(2099, 1, 1))
    assert exc.value.code == "period_in_future"


# --------------------------------------------------------------------------- screens


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_start_from_screen_and_progress(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    c = login(finance)
    assert c.get(reverse("compensation:runs")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        resp = c.post(
            reverse("compensation:run_start"), {"period": "2026-10"}, HTTP_HX_REQUEST="true"
        )
    run = CommissionRun.objects.get()
    assert resp.status_code == 204
    assert resp["HX-Redirect"] == reverse("compensation:run_detail", args=[run.pk])
    detail = c.get(resp["HX-Redirect"])
    assert detail.status_code == 200
    assert "100%" in detail.content.decode()
    assert "hx-trigger" not in detail.content.decode()
    progress = c.get(reverse("compensation:run_progress", args=[run.pk]))
    assert 'id="run-members">6<' in progress.content.decode()
    # A running run polls every second.
    CommissionRun.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING, progress=30)
    running = c.get(reverse("compensation:run_progress", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in running and "30%" in running
    # Starting again while that one is running answers the error fragment.
    busy = c.post(reverse("compensation:run_start"), {"period": "2026-10"}, HTTP_HX_REQUEST="true")
    assert busy.status_code == 409
    assert "该月份已有结算正在进行" in busy.content.decode()


def test_results_list_search_and_bounded_queries(
    world: dict[str, Member],
    finance: Any,
    django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:
    run = run_period(finance, django_capture_on_commit_callbacks)
    c = login(finance)
    url = reverse("compensation:run_results", args=[run.pk])
    with django_assert_max_num_queries(12):
        resp = c.get(url)
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "SM01" in body and "SR99" in body and "14,615.38" in body
    found = c.get(url, {"q": "SR99"}).content.decode()
    assert "SR99" in found and "SM01" not in found


def test_member_sees_only_own_statement(
    world: dict[str, Member], finance: Any, stock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(finance, django_capture_on_commit_callbacks)
    member_user = UserFactory(username="sm01", role=role(RoleCode.MEMBER))
    Member.objects.filter(pk=world["sm"].pk).update(user=member_user)
    c = login(member_user)
    own = c.get(reverse("compensation:statement", args=[run.pk, "SM01"]))
    body = own.content.decode()
    assert own.status_code == 200
    assert "第1代 SR00 个人业绩 20000.00 × 5% = 1000.00" in body
    assert "14,615.38" in body
    assert c.get(reverse("compensation:statement", args=[run.pk, "SR00"])).status_code == 404
    assert c.get(reverse("compensation:run_detail", args=[run.pk])).status_code == 404
    assert c.get(reverse("compensation:runs")).status_code == 403
    mine = c.get(reverse("compensation:my_statements")).content.decode()
    assert "2026-10" in mine and "14,615.38" in mine
    rep = login(stock.rep_user)
    assert rep.get(reverse("compensation:statement", args=[run.pk, "SM01"])).status_code == 404
    assert rep.get(reverse("compensation:run_results", args=[run.pk])).status_code == 404
    assert rep.post(reverse("compensation:run_start"), {"period": "2026-10"}).status_code == 403
    # Finance sees anyone's statement.
    assert (
        login(finance).get(reverse("compensation:statement", args=[run.pk, "SR00"])).status_code
        == 200
    )


def test_period_closed_while_queued_fails_inside_the_store_transaction(
    world: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    good = run_period(finance, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        late = commission_run_start(actor=finance, period=OCT)
    CommissionPeriod.objects.filter(period=OCT).update(status=PeriodStatus.CLOSED)
    for callback in callbacks:
        callback()
    late.refresh_from_db()
    assert (late.status, late.error) == (RunStatus.FAILED, "该月份已结账，结果未保存")
    assert CommissionResult.objects.filter(run=late).count() == 0
    assert CommissionPeriod.objects.get(period=OCT).current_run_id == good.pk
