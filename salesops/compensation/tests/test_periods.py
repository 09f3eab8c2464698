"""Month close (月结) through the approval: the lifecycle with two finance users, what a
closing or closed month refuses, the rank history it writes (and the next month reads),
sponsor moves by effective date, and stuck runs (重置)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.compensation.models import (
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PeriodStatus,
    RunStatus,
)
from salesops.compensation.services.periods import period_close_submit
from salesops.compensation.services.runs import (
    commission_run_reset,
    commission_run_start,
    commission_runs_reset_stale,
)
from salesops.compensation.tests.periods_world import (
    IMMEDIATE,
    OCT,
    SEP,
    World,
    build_world,
    close_month,
    order,
    pending_task,
    run_month,
)
from salesops.core.approvals import approval_act, approval_cancel, approval_resubmit
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import ApprovalStatus, AuditLog
from salesops.factories import MemberFactory
from salesops.org.models import Member, RankHistory
from salesops.org.services.sponsor_changes import sponsor_change_apply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def w(db: None) -> World:
    return build_world()


def test_close_approved_closes_and_writes_rank_history(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    state = CommissionPeriod.objects.get(period=SEP)
    request = period_close_submit(actor=w.fin1, period=state)
    state.refresh_from_db()
    assert (state.status, state.close_requested_by_id) == (PeriodStatus.CLOSING, w.fin1.pk)
    assert (
        request.amount
        == run.total
        == Decimal("14615.38") + Decimal("5576.92") + 4 * Decimal("4076.92")
    )
    assert request.title == "奖金月结 2026-09"
    # The submitter never approves their own request: only fin2 has a task.
    assert not request.tasks.filter(approver=w.fin1).exists()
    approval_act(actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="approve")
    state.refresh_from_db()
    assert state.status == PeriodStatus.CLOSED
    assert state.closed_at is not None
    history = dict(
        RankHistory.objects.filter(period=SEP).values_list("member__member_no", "paid_as")
    )
    assert history == {"SM01": "SM", "SR00": "SR", "SR01": "SR", "SR02": "SR", "SR03": "SR",
                       "SR99": "SR"}  # fmt: skip
    titles = dict(Member.objects.values_list("member_no", "title"))
    assert titles == {"SM01": "SM", "SR00": "SR", "SR01": "SR", "SR02": "SR", "SR03": "SR",
                      "SR99": "SR"}  # fmt: skip
    # Audited: the period's status and every member's title change.
    assert AuditLog.objects.filter(
        object_type="compensation.commissionperiod", field="status", after="closed"
    ).exists()
    title_rows = AuditLog.objects.filter(object_type="org.member", field="title")
    assert sorted(title_rows.values_list("after", flat=True)) == ["SM"] + ["SR"] * 5
    assert {r.actor_id for r in title_rows} == {w.fin2.pk}


def test_close_rejected_returns_to_open_and_can_run_again(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    state = CommissionPeriod.objects.get(period=SEP)
    request = period_close_submit(actor=w.fin1, period=state)
    approval_act(
        actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="reject", comment="数据有误"
    )
    state.refresh_from_db()
    assert state.status == PeriodStatus.OPEN
    assert not RankHistory.objects.exists()
    assert Member.objects.get(member_no="SM01").title == ""
    again = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    assert again.status == RunStatus.DONE
    # Withdrawn (撤回) by the submitter: back to OPEN as well.
    second = period_close_submit(actor=w.fin1, period=state)
    approval_cancel(actor=w.fin1, request_id=second.pk)
    state.refresh_from_db()
    assert state.status == PeriodStatus.OPEN
    # Sent back (退回): OPEN.
    third = period_close_submit(actor=w.fin1, period=state)
    approval_act(
        actor=w.fin2, task_id=pending_task(third, w.fin2).pk, action="return", comment="补充说明"
    )
    state.refresh_from_db()
    assert state.status == PeriodStatus.OPEN


def test_close_resubmitted_after_a_rerun_with_another_total_is_refused(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    # Given a close request sent back (退回): the month is open again and is rerun with a
    # late order, so its total is no longer the one on the request.
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    state = CommissionPeriod.objects.get(period=SEP)
    request = period_close_submit(actor=w.fin1, period=state)
    approval_act(
        actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="return", comment="补充"
    )
    order(w.lone, "1000", dt.date(2026, 9, 12))
    rerun = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    assert rerun.total != request.amount
    approval_resubmit(actor=w.fin1, request_id=request.pk)
    # When fin2 approves the stale request, then the close is refused and nothing changes.
    with pytest.raises(ServiceError) as exc:
        approval_act(actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="approve")
    assert (exc.value.code, exc.value.status) == ("period_changed", 409)
    state.refresh_from_db()
    assert state.status == PeriodStatus.OPEN
    assert not RankHistory.objects.exists()


def test_closing_and_closed_months_refuse_runs(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    state = CommissionPeriod.objects.get(period=SEP)
    request = period_close_submit(actor=w.fin1, period=state)
    with pytest.raises(ServiceError) as exc:
        commission_run_start(actor=w.fin1, period=SEP)
    assert (exc.value.code, exc.value.status) == ("period_closing", 409)
    assert "正在结账审批中" in str(exc.value.message)
    with pytest.raises(ServiceError) as exc:
        period_close_submit(actor=w.fin2, period=state)
    assert exc.value.code == "period_closing"
    approval_act(actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="approve")
    with pytest.raises(ServiceError) as exc:
        commission_run_start(actor=w.fin1, period=SEP)
    assert (exc.value.code, exc.value.status) == ("period_closed", 409)
    assert CommissionRun.objects.filter(period=SEP).count() == 1


def test_store_refuses_a_month_that_went_closing_while_queued(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    good = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        late = commission_run_start(actor=w.fin1, period=SEP)
    CommissionPeriod.objects.filter(period=SEP).update(status=PeriodStatus.CLOSING)
    for callback in callbacks:
        callback()
    late.refresh_from_db()
    assert (late.status, late.error) == (RunStatus.FAILED, "该月份正在结账审批中，结果未保存")
    assert CommissionPeriod.objects.get(period=SEP).current_run_id == good.pk


def test_close_needs_a_finished_run_nothing_running_and_finance(
    w: World, stock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    state = CommissionPeriod.objects.create(period=SEP)
    with pytest.raises(ServiceError) as exc:
        period_close_submit(actor=w.fin1, period=state)
    assert exc.value.code == "no_result"
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    with django_capture_on_commit_callbacks(execute=False):
        commission_run_start(actor=w.fin1, period=SEP)
    with pytest.raises(ServiceError) as exc:
        period_close_submit(actor=w.fin1, period=state)
    assert exc.value.code == "run_in_progress"
    with pytest.raises(PermissionDeniedError):
        period_close_submit(actor=stock.rep_user, period=state)
    state.refresh_from_db()
    assert state.status == PeriodStatus.OPEN
    this_month = CommissionPeriod.objects.create(period=timezone.localdate().replace(day=1))
    with pytest.raises(ServiceError) as exc:
        period_close_submit(actor=w.fin1, period=this_month)
    assert exc.value.code == "period_not_ended"


def test_next_month_reads_the_closed_rank_history_as_title(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    close_month(w, SEP)
    # Prove the title comes from the rank history, not from Member.title.
    Member.objects.update(title="")
    order(w.lone, "100", dt.date(2026, 10, 3))
    order(w.srs[0], "13000", dt.date(2026, 10, 3))
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    rows = dict(
        CommissionResult.objects.filter(run=oct_run).values_list("member__member_no", "title")
    )
    # SM01 has no October volume but is kept for its one trained SR: title SM from history.
    assert rows == {"SR99": "SR", "SR00": "SR", "SM01": "SM"}
    paid = CommissionResult.objects.get(run=oct_run, member=w.lone).paid_as
    assert paid == ""  # pv 100 qualifies for nothing; the title never drops


def test_a_higher_title_from_history_is_kept_in_the_next_month(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    close_month(w, SEP)
    order(w.sm, "13000", dt.date(2026, 10, 3))
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    sm = CommissionResult.objects.get(run=oct_run, member=w.sm)
    assert (sm.paid_as, sm.title) == ("SR", "SM")
    close_month(w, OCT)
    assert RankHistory.objects.get(member=w.sm, period=OCT).title == "SM"
    assert Member.objects.get(pk=w.sm.pk).title == "SM"


# --------------------------------------------------------------------------- sponsor moves


def _sm_override(run: CommissionRun, sm: Member) -> Decimal:
    return CommissionResult.objects.get(run=run, member=sm).override


def test_sponsor_move_effective_after_the_month_does_not_change_it(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    other = MemberFactory(member_no="UP02")
    sponsor_change_apply(
        actor=w.fin1, member=w.srs[0], new_sponsor=other, effective_on=dt.date(2026, 10, 1),
        reason="调整",
    )  # fmt: skip
    run = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    sm = CommissionResult.objects.get(run=run, member=w.sm)
    assert (sm.paid_as, sm.sr_count, sm.override, sm.total) == (
        "SM", 4, Decimal("4000.00"), Decimal("14615.38"),
    )  # fmt: skip
    assert not CommissionResult.objects.filter(run=run, member=other).exists()


@pytest.mark.parametrize("effective", [dt.date(2026, 9, 1), dt.date(2026, 9, 30)])
def test_sponsor_move_effective_in_or_before_the_month_applies(
    w: World, effective: dt.date, django_capture_on_commit_callbacks: Any
) -> None:
    """The month's tree is the one in force on its last day (seed-plan: a move applies
    from its effective date), so a move effective on any day of the month counts."""
    other = MemberFactory(member_no="UP02", joined_on=dt.date(2026, 1, 1))
    sponsor_change_apply(
        actor=w.fin1, member=w.srs[0], new_sponsor=other, effective_on=effective, reason="调整"
    )
    run = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    sm = CommissionResult.objects.get(run=run, member=w.sm)
    # Three SRs are left: SSE needs 2 SRs and 30000, SM needs 4 → paid as SSE.
    assert (sm.paid_as, sm.sr_count, sm.override) == ("SSE", 3, Decimal("3000.00"))
    up = CommissionResult.objects.get(run=run, member=other)
    assert (up.sr_count, up.sr_volume) == (1, Decimal("20000.00"))


# --------------------------------------------------------------------------- stuck runs


def test_the_scheduled_job_resets_only_stale_runs_and_is_idempotent(
    w: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.COMP_RUN_STALE_MINUTES = 30
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        stuck = commission_run_start(actor=w.fin1, period=SEP)
    CommissionRun.objects.filter(pk=stuck.pk).update(
        status=RunStatus.RUNNING, started_at=now - dt.timedelta(minutes=31)
    )
    assert commission_runs_reset_stale(now=now - dt.timedelta(minutes=2)) == "重置了 0 个超时的结算"
    assert CommissionRun.objects.get(pk=stuck.pk).status == RunStatus.RUNNING
    assert commission_runs_reset_stale(now=now) == "重置了 1 个超时的结算"
    reset = CommissionRun.objects.get(pk=stuck.pk)
    assert (reset.status, reset.error) == (RunStatus.FAILED, "超时未完成，已由系统自动重置")
    assert AuditLog.objects.filter(
        object_type="compensation.commissionrun", object_id=str(stuck.pk), field="status",
        before="running", after="failed", actor=None,
    ).count() == 1  # fmt: skip
    assert commission_runs_reset_stale(now=now) == "重置了 0 个超时的结算"


def test_stale_run_can_be_reset_and_the_month_rerun(
    w: World, stock: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.COMP_RUN_STALE_MINUTES = 30
    with django_capture_on_commit_callbacks(execute=False):
        stuck = commission_run_start(actor=w.fin1, period=SEP)
    CommissionRun.objects.filter(pk=stuck.pk).update(
        status=RunStatus.RUNNING, started_at=timezone.now() - dt.timedelta(minutes=29)
    )
    stuck.refresh_from_db()
    with pytest.raises(ServiceError) as exc:
        commission_run_reset(actor=w.fin2, run=stuck)
    assert (exc.value.code, exc.value.status) == ("run_not_stale", 409)
    with pytest.raises(PermissionDeniedError):
        commission_run_reset(actor=stock.rep_user, run=stuck)
    CommissionRun.objects.filter(pk=stuck.pk).update(
        started_at=timezone.now() - dt.timedelta(minutes=31)
    )
    stuck.refresh_from_db()
    reset = commission_run_reset(actor=w.fin2, run=stuck)
    assert reset.status == RunStatus.FAILED
    assert reset.error == "超时未完成，已由 财务二 重置"
    assert AuditLog.objects.filter(
        object_type="compensation.commissionrun", object_id=str(stuck.pk), field="status",
        before="running", after="failed", actor=w.fin2,
    ).exists()  # fmt: skip
    with pytest.raises(ServiceError) as exc:
        commission_run_reset(actor=w.fin2, run=reset)
    assert exc.value.code == "run_not_active"
    again = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    assert again.status == RunStatus.DONE


def test_a_reset_run_that_finishes_late_stores_nothing(
    w: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.COMP_RUN_STALE_MINUTES = 5
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        queued = commission_run_start(actor=w.fin1, period=SEP)
    CommissionRun.objects.filter(pk=queued.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=6)
    )
    queued.refresh_from_db()
    commission_run_reset(actor=w.fin1, run=queued)
    for callback in callbacks:
        callback()  # the worker finally picks it up: nothing to claim
    queued.refresh_from_db()
    assert queued.status == RunStatus.FAILED
    assert queued.error.startswith("超时未完成")
    assert not CommissionResult.objects.filter(run=queued).exists()
    assert CommissionPeriod.objects.get(period=SEP).current_run_id is None


def test_close_request_is_the_approval_of_record(
    w: World, django_capture_on_commit_callbacks: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    request = close_month(w, SEP)
    assert request.status == ApprovalStatus.APPROVED
    assert request.object_id == str(CommissionPeriod.objects.get(period=SEP).pk)


# --------------------------------------------------------------------------- screens


def _login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_month_search_and_run_start_refuse_years_that_are_no_date(w: World, api: Any) -> None:
    # "0000-01" looks like a month but is no date: the list finds nothing (no 500).
    c = _login(w.fin1)
    page = c.get(reverse("compensation:periods"), {"q": "0000-01"})
    assert (page.status_code, page.context["paginator"].count) == (200, 0)
    listed = api("get", "/api/comp/periods?q=0000-01", w.fin1)
    assert (listed.status_code, listed.json()["count"]) == (200, 0)
    # A run of year 1 is an input error, and no month row is created for it.
    started = api("post", "/api/comp/runs", w.fin1, {"period": "0001-01"})
    # The schema's month pattern (years 1900–2999) refuses it before the service does.
    assert (started.status_code, started.json()["code"]) == (422, "invalid_input")
    assert not CommissionPeriod.objects.exists()


def test_periods_list_paginates_searches_and_bounds_queries(
    w: World, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    for month in range(1, 9):  # months without runs
        CommissionPeriod.objects.create(period=dt.date(2025, month, 1))
    c = _login(w.fin1)
    url = reverse("compensation:periods")
    with django_assert_max_num_queries(10):
        resp = c.get(url)
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "2026-09" in body and "2026-10" in body and "14,615.38" not in body
    sep_total = CommissionPeriod.objects.get(period=SEP).current_run.total  # type: ignore[union-attr]
    assert f"{sep_total:,.2f}" in body

    def rows(q: str) -> str:  # the table only: the search box's hint names a month too
        return c.get(url, {"q": q}).content.decode().split('id="list-table"', 1)[1]

    found = rows("2026-09")
    assert "2026-09" in found and "2026-10" not in found and "2025-01" not in found
    year = rows("2025")
    assert "2025-08" in year and "2026-09" not in year
    small = c.get(url, {"size": "20", "page": "2"})
    assert small.status_code == 200


def test_period_page_requests_close_and_shows_adjustments(
    w: World, stock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    sep = CommissionPeriod.objects.get(period=SEP)
    c = _login(w.fin1)
    page = c.get(reverse("compensation:period_detail", args=[sep.pk])).content.decode()
    assert 'id="btn-request-close"' in page and "未申请" in page
    resp = c.post(reverse("compensation:period_close", args=[sep.pk]))
    assert resp.status_code == 302
    sep.refresh_from_db()
    assert sep.status == PeriodStatus.CLOSING
    page = c.get(reverse("compensation:period_detail", args=[sep.pk])).content.decode()
    assert 'id="btn-request-close"' not in page
    assert "奖金月结 2026-09" in page and "审批中" in page
    # fin2 approves; a late return; October's run posts the clawback.
    from salesops.core.models import ApprovalRequest

    request = ApprovalRequest.objects.get()
    approval_act(actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="approve")
    from salesops.sales.models import Return

    Return.objects.create(
        return_no="RT-L", original_order=w.sr_orders[3], return_date=dt.date(2026, 9, 28),
        total_amount=Decimal("20000"),
    )  # fmt: skip
    oct_run = run_month(w.fin1, django_capture_on_commit_callbacks, OCT)
    page = c.get(reverse("compensation:period_detail", args=[sep.pk])).content.decode()
    assert "已结账" in page and "已通过" in page
    assert "2026-09 重算 10115.38 − 原结算 14615.38 = −4500.00" in page
    assert f"#{oct_run.pk}" in page
    oct_state = CommissionPeriod.objects.get(period=OCT)
    oct_page = c.get(reverse("compensation:period_detail", args=[oct_state.pk])).content.decode()
    assert "本月调整 (2)" in oct_page and "4,500.00" in oct_page
    # The button follows the service's rule: a month not yet ended offers no 申请结账,
    # even with a finished run (the service would refuse it: period_not_ended).
    this_month = timezone.localdate().replace(day=1)
    run_month(w.fin1, django_capture_on_commit_callbacks, this_month)
    now_state = CommissionPeriod.objects.get(period=this_month)
    assert now_state.current_run is not None
    now_page = c.get(reverse("compensation:period_detail", args=[now_state.pk])).content.decode()
    assert 'id="btn-request-close"' not in now_page
    # Others: 403 on the list and the close, 404 on a month.
    rep = _login(stock.rep_user)
    assert rep.get(reverse("compensation:periods")).status_code == 403
    assert rep.get(reverse("compensation:period_detail", args=[sep.pk])).status_code == 404
    assert rep.post(reverse("compensation:period_close", args=[oct_state.pk])).status_code == 403


def test_reset_button_only_on_a_stale_run(
    w: World, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.COMP_RUN_STALE_MINUTES = 30
    with django_capture_on_commit_callbacks(execute=False):
        run = commission_run_start(actor=w.fin1, period=SEP)
    c = _login(w.fin1)
    url = reverse("compensation:run_detail", args=[run.pk])
    assert 'id="btn-run-reset"' not in c.get(url).content.decode()
    refused = c.post(reverse("compensation:run_reset", args=[run.pk]), follow=True)
    assert "暂不能重置" in refused.content.decode()
    CommissionRun.objects.filter(pk=run.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=45)
    )
    assert 'id="btn-run-reset"' in c.get(url).content.decode()
    done = c.post(reverse("compensation:run_reset", args=[run.pk]), follow=True)
    assert "已重置" in done.content.decode()
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED


# --------------------------------------------------------------------------- API


@pytest.fixture
def api(client: Client, settings: Any) -> Any:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    tokens: dict[str, str] = {}

    def call(method: str, path: str, user: Any, body: object = None) -> Any:
        if user.username not in tokens:
            user.set_password("pw-for-tests")
            user.save(update_fields=["password"])
            resp = client.post(
                "/api/auth/token",
                data=json.dumps({"username": user.username, "password": "pw-for-tests"}),
                content_type="application/json",
            )
            tokens[user.username] = resp.json()["token"]
        kwargs: dict[str, object] = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user.username]}"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call


def test_api_runs_start_progress_results_and_reset(
    w: World, stock: Any, api: Any, settings: Any, django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        started = api("post", "/api/comp/runs", w.fin1, {"period": "2026-09"})
    assert started.status_code == 201, started.content
    run_id = started.json()["id"]
    got = api("get", f"/api/comp/runs/{run_id}", w.fin1).json()
    assert (got["status"], got["progress"], got["members_count"], got["is_current"]) == (
        "done", 100, 6, True,
    )  # fmt: skip
    assert got["total"] == "36499.98"
    with django_capture_on_commit_callbacks(execute=True):
        rerun = api("post", "/api/comp/runs", w.fin1, {"period": "2026-09"}).json()["id"]
    # Fixed cost (token, user, viewer) + count + page + current runs: no query per run.
    with django_assert_max_num_queries(10):
        listed = api("get", "/api/comp/runs?period=2026-09", w.fin1).json()
    assert [(r["id"], r["is_current"]) for r in listed["results"]] == [
        (rerun, True), (run_id, False),
    ]  # fmt: skip
    run_id = rerun
    results = api("get", f"/api/comp/runs/{run_id}/results", w.fin1).json()
    assert results["count"] == 6
    sm = next(r for r in results["results"] if r["member_no"] == "SM01")
    assert (sm["paid_as"], sm["override"], sm["total"], sm["adjustment"]) == (
        "SM", "4000.00", "14615.38", "0.00",
    )  # fmt: skip
    one = api("get", f"/api/comp/runs/{run_id}/results?q=SR99", w.fin1).json()
    assert [r["member_no"] for r in one["results"]] == ["SR99"]
    bad = api("post", "/api/comp/runs", w.fin1, {"period": "2026/9"})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")
    # Reset: fresh runs refuse (409), stale ones go to failed.
    settings.COMP_RUN_STALE_MINUTES = 30
    with django_capture_on_commit_callbacks(execute=False):
        queued = api("post", "/api/comp/runs", w.fin1, {"period": "2026-10"}).json()
    fresh = api("post", f"/api/comp/runs/{queued['id']}/reset", w.fin2)
    assert (fresh.status_code, fresh.json()["code"]) == (409, "run_not_stale")
    CommissionRun.objects.filter(pk=queued["id"]).update(
        created_at=timezone.now() - dt.timedelta(hours=1)
    )
    assert api("get", f"/api/comp/runs/{queued['id']}", w.fin1).json()["can_reset"] is True
    reset = api("post", f"/api/comp/runs/{queued['id']}/reset", w.fin2)
    assert (reset.status_code, reset.json()["status"]) == (200, "failed")
    # Everyone else: 403 on lists and starts, 404 on a run.
    rep = stock.rep_user
    assert api("get", "/api/comp/runs", rep).status_code == 403
    assert api("post", "/api/comp/runs", rep, {"period": "2026-09"}).status_code == 403
    assert api("get", f"/api/comp/runs/{run_id}", rep).status_code == 404
    assert api("get", f"/api/comp/runs/{run_id}/results", rep).status_code == 404
    assert api("post", f"/api/comp/runs/{run_id}/reset", rep).status_code == 404


def test_api_periods_list_detail_and_close(
    w: World, stock: Any, api: Any, django_capture_on_commit_callbacks: Any,
    django_assert_max_num_queries: Any,
) -> None:  # fmt: skip
    run = run_month(w.fin1, django_capture_on_commit_callbacks, SEP)
    sep = CommissionPeriod.objects.get(period=SEP)
    for month in range(1, 13):
        CommissionPeriod.objects.create(period=dt.date(2025, month, 1))
    api("get", "/api/me", w.fin1)  # the token is issued outside the counted request
    with django_assert_max_num_queries(10):
        every = api("get", "/api/comp/periods", w.fin1).json()
    assert (every["count"], every["pages"], len(every["results"])) == (13, 1, 13)
    listed = api("get", "/api/comp/periods?q=2026-09", w.fin1).json()
    assert listed["count"] == 1
    assert listed["results"][0] == {
        "id": sep.pk, "period": "2026-09", "status": "open", "status_display": "未结账",
        "current_run_id": run.pk, "total": "36499.98", "close_requested_by": "",
        "closed_at": None,
    }  # fmt: skip
    closed = api("post", f"/api/comp/periods/{sep.pk}/close", w.fin1)
    assert closed.status_code == 201, closed.content
    body = closed.json()
    assert (body["period"]["status"], body["approval"]["status"]) == ("closing", "pending")
    again = api("post", f"/api/comp/periods/{sep.pk}/close", w.fin1)
    assert (again.status_code, again.json()["code"]) == (409, "period_closing")
    from salesops.core.models import ApprovalRequest

    request = ApprovalRequest.objects.get(pk=body["approval"]["id"])
    approval_act(actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="approve")
    detail = api("get", f"/api/comp/periods/{sep.pk}", w.fin1).json()
    assert (detail["status"], detail["close_approval"]["status"]) == ("closed", "approved")
    assert [r["id"] for r in detail["runs"]] == [run.pk]
    assert detail["adjustments_for"] == {"lines": 0, "total": "0.00"}
    refused = api("post", "/api/comp/runs", w.fin1, {"period": "2026-09"})
    assert (refused.status_code, refused.json()["code"]) == (409, "period_closed")
    rep = stock.rep_user
    assert api("get", "/api/comp/periods", rep).status_code == 403
    assert api("get", f"/api/comp/periods/{sep.pk}", rep).status_code == 404
    assert api("post", f"/api/comp/periods/{sep.pk}/close", rep).status_code == 403
    assert api("get", "/api/comp/periods/999999", w.fin1).status_code == 404


# --------------------------------------------------------------------------- browser


def _browser_log_in(page: Any, username: str) -> None:
    page.context.clear_cookies()
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_finance1_requests_close_finance2_approves(
    transactional_db: None, browser_page: Any, settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    w = build_world()
    run = commission_run_start(actor=w.fin1, period=SEP)  # runs on commit (immediate tasks)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    sep = CommissionPeriod.objects.get(period=SEP)
    page = browser_page

    _browser_log_in(page, "fin1")
    page.goto("/comp/periods/")
    page.click(f"#list-table a[href='/comp/periods/{sep.pk}/']")
    page.wait_for_selector("#btn-request-close")
    page.once("dialog", lambda dialog: dialog.accept())  # data-confirm: 确定申请结账？
    page.click("#btn-request-close")
    page.wait_for_selector("#close-approval-status")
    assert page.inner_text("#period-status").strip() == "结账审批中"
    assert page.inner_text("#close-approval-status").strip() == "审批中"

    _browser_log_in(page, "fin2")
    page.goto("/approvals/")
    page.wait_for_selector("#list-table tbody tr")
    page.click("#list-table a:has-text('奖金月结 2026-09')")
    page.wait_for_selector("#approval-comment")
    page.fill("#approval-comment", "核对无误")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#btn-approve")
    page.wait_for_selector("text=已通过")

    page.goto(f"/comp/periods/{sep.pk}/")
    assert page.inner_text("#period-status").strip() == "已结账"
    assert page.inner_text("#close-approval-status").strip() == "已通过"
    assert page.locator("#btn-request-close").count() == 0
    sep.refresh_from_db()
    assert sep.status == PeriodStatus.CLOSED
    assert RankHistory.objects.filter(period=SEP).count() == 6
