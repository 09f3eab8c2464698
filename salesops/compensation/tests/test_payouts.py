"""Payouts (奖金发放): batches by pay date from closed months' real runs, the refusal of an
open month, reconciliation, the bank .xlsx, the approval lifecycle, permissions, the
member's bank details, and one browser flow."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import json
import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from salesops.compensation import doctypes
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PayoutBatch,
    PayoutItem,
    PayoutKind,
    PayoutStatus,
    PeriodStatus,
    RunStatus,
)
from salesops.compensation.selectors.payouts import (
    members_without_account,
    negative_members,
    pay_schedule,
    payable_dates,
    payout_reconciliation,
)
from salesops.compensation.services.payouts import (
    payout_batch_build,
    payout_batch_export,
    payout_batch_submit,
)
from salesops.compensation.services.runs import commission_run_start
from salesops.core.approvals import approval_act, approval_cancel
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import (
    ApprovalRequest,
    ApprovalStatus,
    ApprovalTask,
    AuditAction,
    AuditLog,
    RoleCode,
    TaskStatus,
)
from salesops.core.selectors import audit_for_object
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member
from salesops.org.services.members import member_bank_update
from salesops.sales.models import Order

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
OCT, NOV, DEC = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)
DEC10, FEB10 = dt.date(2026, 12, 10), dt.date(2027, 2, 10)
_order_no = itertools.count(1)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks", "frozen_today")]


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def frozen_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Runs refuse future months: the tests live on 2027-01-15, after December."""
    monkeypatch.setattr(timezone, "localdate", lambda *a, **k: dt.date(2027, 1, 15))


def order(member: Member, month: dt.date, amount: str, day: int) -> Order:
    return Order.objects.create(
        order_no=f"PO{next(_order_no):06d}",
        order_date=month.replace(day=day),
        credited_member=member,
        total_amount=Decimal(amount),
    )


@pytest.fixture
def finance(db: None) -> Any:
    return UserFactory(username="fin", role=role(RoleCode.FINANCE))


@pytest.fixture
def finance2(db: None) -> Any:
    return UserFactory(username="fin2", role=role(RoleCode.FINANCE))


@pytest.fixture
def admin(db: None) -> Any:
    return UserFactory(username="adm", role=role(RoleCode.ADMIN))


@pytest.fixture
def network(db: None) -> dict[str, Any]:
    """SM01 with four SRs, and a lone SR99. SM01 has 4 SRs in October (paid as SM, override
    4000), 3 in November (SSE, 3000) and 2 in December (SSE, 2000)."""
    sm = MemberFactory(member_no="SM01")
    member_bank_update(actor=None, member=sm, bank_name="工商银行", bank_account="6222020000001234")
    srs = [MemberFactory(member_no=f"SR0{k}", sponsor=sm) for k in range(4)]
    for k, sr in enumerate(srs):
        member_bank_update(
            actor=None, member=sr, bank_name="建设银行", bank_account=f"62170000000000{k:02d}"
        )
    lone = MemberFactory(member_no="SR99")  # no bank account
    for month, active_srs in ((OCT, 4), (NOV, 3), (DEC, 2)):
        order(sm, month, "20000", 5)
        order(sm, month, "10000", 25)
        for sr in srs[:active_srs]:
            order(sr, month, "20000", 25)
        order(lone, month, "15000", 10)
        order(lone, month, "5000", 21)
    return {"sm": sm, "lone": lone, **{f"sr{k}": s for k, s in enumerate(srs)}}


def run_and_close(actor: Any, capture: Any, month: dt.date, *, close: bool = True) -> CommissionRun:
    with capture(execute=True):
        run = commission_run_start(actor=actor, period=month)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    if close:  # the close approval is built elsewhere: arrange its outcome directly
        CommissionPeriod.objects.filter(period=month).update(
            status=PeriodStatus.CLOSED, closed_at=timezone.now()
        )
    return run


def post_adjustment(run: CommissionRun, member: Member, amount: str, source: dt.date) -> None:
    """What the adjustments service leaves: an adjustment line and the result's sum."""
    CommissionLine.objects.create(
        run=run, member=member, seq=99, rule="adjustment", name="调整", amount=Decimal(amount),
        formula=f"调整 {amount}", inputs={}, source_period=source,
    )  # fmt: skip
    CommissionResult.objects.filter(run=run, member=member).update(adjustment=Decimal(amount))


@pytest.fixture
def closed(
    network: dict[str, Member], finance: Any, django_capture_on_commit_callbacks: Any
) -> dict[dt.date, CommissionRun]:
    runs = {m: run_and_close(finance, django_capture_on_commit_callbacks, m) for m in (OCT, NOV)}
    dec = run_and_close(finance, django_capture_on_commit_callbacks, DEC, close=False)
    # A return posted after November's close claws back more than SR99 earns in December.
    post_adjustment(dec, network["lone"], "-6000.00", NOV)
    CommissionPeriod.objects.filter(period=DEC).update(
        status=PeriodStatus.CLOSED, closed_at=timezone.now()
    )
    runs[DEC] = dec
    return runs


def items_of(batch: PayoutBatch) -> list[tuple[str, str, str, Decimal]]:
    return list(
        PayoutItem.objects.filter(batch=batch)
        .order_by("member__member_no", "period", "kind")
        .values_list("member__member_no", "period", "kind", "amount")
    )


def approve_task(approver: Any, request: ApprovalRequest, action: str = "approve") -> None:
    task = ApprovalTask.objects.get(request=request, approver=approver, status=TaskStatus.PENDING)
    approval_act(actor=approver, task_id=task.pk, action=action, comment="意见")


# --------------------------------------------------------------------------- schedule/build


def test_schedule_follows_the_plan(closed: Any) -> None:
    dec10 = pay_schedule(DEC10)
    assert (dec10.monthly, dec10.override, dec10.not_closed) == ([OCT], [], [])
    feb10 = pay_schedule(FEB10)
    assert (feb10.monthly, feb10.override, feb10.not_closed) == ([DEC], [OCT, NOV, DEC], [])
    assert pay_schedule(dt.date(2027, 1, 10)).monthly == [NOV]
    assert payable_dates() == [FEB10, dt.date(2027, 1, 10), DEC10]


def test_dec10_batch_holds_october_monthly_items(closed: Any, finance: Any) -> None:
    batch = payout_batch_build(actor=finance, pay_date=DEC10)
    oct_ = OCT
    assert items_of(batch) == [
        ("SM01", oct_, "monthly", Decimal("10615.38")),
        ("SR00", oct_, "monthly", Decimal("4076.92")),
        ("SR01", oct_, "monthly", Decimal("4076.92")),
        ("SR02", oct_, "monthly", Decimal("4076.92")),
        ("SR03", oct_, "monthly", Decimal("4076.92")),
        ("SR99", oct_, "monthly", Decimal("5576.92")),
    ]
    assert (batch.status, batch.total, batch.items_count) == (
        PayoutStatus.DRAFT, Decimal("32499.98"), 6,
    )  # fmt: skip
    # Each item points at the result it was paid from.
    item = PayoutItem.objects.get(batch=batch, member__member_no="SM01")
    assert item.result is not None and item.result.run_id == closed[OCT].pk
    assert AuditLog.objects.filter(
        object_type="compensation.payoutbatch", object_id=str(batch.pk), action=AuditAction.CREATE
    ).exists()


def test_feb10_batch_holds_december_monthly_and_the_quarters_overrides(
    closed: Any, finance: Any
) -> None:
    batch = payout_batch_build(actor=finance, pay_date=FEB10)
    assert items_of(batch) == [
        ("SM01", OCT, "override", Decimal("4000.00")),
        ("SM01", NOV, "override", Decimal("3000.00")),
        ("SM01", DEC, "monthly", Decimal("7115.38")),
        ("SM01", DEC, "override", Decimal("2000.00")),
        ("SR00", DEC, "monthly", Decimal("4076.92")),
        ("SR01", DEC, "monthly", Decimal("4076.92")),
        ("SR99", DEC, "adjustment", Decimal("-6000.00")),
        ("SR99", DEC, "monthly", Decimal("5576.92")),
    ]
    assert batch.total == Decimal("23846.14")
    assert batch.items_count == 8
    # SR99's clawback exceeds the pay: carried as it is and flagged.
    assert negative_members(batch)[0] == 1
    assert negative_members(batch)[1][0].amount == Decimal("-423.08")
    count, flagged = members_without_account(batch)
    assert (count, [m.member_no for m in flagged]) == (1, ["SR99"])


def test_open_month_is_refused_naming_the_months(
    network: Any, finance: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run_and_close(finance, django_capture_on_commit_callbacks, OCT)
    run_and_close(finance, django_capture_on_commit_callbacks, DEC, close=False)
    with pytest.raises(ServiceError) as exc:
        payout_batch_build(actor=finance, pay_date=FEB10)
    assert exc.value.code == "months_not_closed"
    assert str(exc.value.message) == (
        "以下月份尚未结账，不能生成 2027-02-10 的发放批次：2026-11、2026-12"
    )
    assert not PayoutBatch.objects.exists()
    with pytest.raises(ServiceError) as none:
        payout_batch_build(actor=finance, pay_date=dt.date(2026, 12, 11))
    assert none.value.code == "no_months"


def test_rebuild_replaces_items_but_never_once_pending(
    closed: Any, finance: Any, finance2: Any
) -> None:
    batch = payout_batch_build(actor=finance, pay_date=DEC10)
    PayoutItem.objects.filter(batch=batch, member__member_no="SR99").delete()
    again = payout_batch_build(actor=finance, pay_date=DEC10)
    assert again.pk == batch.pk
    assert (again.total, again.items_count) == (Decimal("32499.98"), 6)
    payout_batch_submit(actor=finance, batch=again)
    with pytest.raises(ServiceError) as exc:
        payout_batch_build(actor=finance, pay_date=DEC10)
    assert exc.value.code == "batch_locked"


# --------------------------------------------------------------------------- reconciliation


def test_reconciliation_is_zero_and_catches_a_tampered_item(closed: Any, finance: Any) -> None:
    batch = payout_batch_build(actor=finance, pay_date=FEB10)
    rows = payout_reconciliation(batch)
    got = [(r.month, r.kind, r.statement, r.batch, r.difference) for r in rows]
    assert got == [
        (OCT, "override", Decimal("4000.00"), Decimal("4000.00"), Decimal("0.00")),
        (NOV, "override", Decimal("3000.00"), Decimal("3000.00"), Decimal("0.00")),
        (DEC, "monthly", Decimal("20846.14"), Decimal("20846.14"), Decimal("0.00")),
        (DEC, "override", Decimal("2000.00"), Decimal("2000.00"), Decimal("0.00")),
        (DEC, "adjustment", Decimal("-6000.00"), Decimal("-6000.00"), Decimal("0.00")),
    ]
    assert all(r.ok for r in rows)
    PayoutItem.objects.filter(batch=batch, member__member_no="SR00").update(
        amount=Decimal("4076.93")
    )
    bad = {(r.month, r.kind): r for r in payout_reconciliation(batch)}
    assert bad[(DEC, "monthly")].difference == Decimal("0.01")
    assert not bad[(DEC, "monthly")].ok


# --------------------------------------------------------------------------- approval


def test_approval_lifecycle_with_two_finance_users(
    closed: Any, finance: Any, finance2: Any
) -> None:
    batch = payout_batch_build(actor=finance, pay_date=DEC10)
    with pytest.raises(ServiceError) as early:
        payout_batch_export(actor=finance, batch=batch)
    assert early.value.code == "not_approved"

    req = payout_batch_submit(actor=finance, batch=batch)
    batch.refresh_from_db()
    assert (batch.status, req.amount, req.doc_type) == (
        PayoutStatus.PENDING, Decimal("32499.98"), doctypes.PAYOUT_BATCH,
    )  # fmt: skip
    # The submitter is never their own approver.
    assert not ApprovalTask.objects.filter(request=req, approver=finance).exists()

    approve_task(finance2, req, "return")
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.DRAFT
    again = payout_batch_submit(actor=finance, batch=batch)
    assert again.pk == req.pk  # the returned request is resubmitted, not duplicated
    approve_task(finance2, again, "reject")
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.REJECTED

    third = payout_batch_submit(actor=finance, batch=batch)
    approval_cancel(actor=finance, request_id=third.pk)
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.DRAFT

    fourth = payout_batch_submit(actor=finance, batch=batch)
    approve_task(finance2, fourth, "approve")
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.APPROVED and batch.approved_at is not None
    fourth.refresh_from_db()
    assert fourth.status == ApprovalStatus.APPROVED
    with pytest.raises(ServiceError):
        payout_batch_submit(actor=finance, batch=batch)


def test_approval_refused_when_batch_changed_after_submit(
    closed: Any, finance: Any, finance2: Any
) -> None:
    batch = payout_batch_build(actor=finance, pay_date=DEC10)
    req = payout_batch_submit(actor=finance, batch=batch)
    PayoutBatch.objects.filter(pk=batch.pk).update(total=Decimal("1.00"))
    with pytest.raises(ServiceError) as exc:
        approve_task(finance2, req)
    assert exc.value.code == "batch_changed"
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.PENDING


# --------------------------------------------------------------------------- export


def approved_batch(finance: Any, finance2: Any, pay_date: dt.date) -> PayoutBatch:
    batch = payout_batch_build(actor=finance, pay_date=pay_date)
    approve_task(finance2, payout_batch_submit(actor=finance, batch=batch))
    batch.refresh_from_db()
    return batch


def test_export_xlsx_totals_accounts_and_audit(
    closed: Any, network: Any, finance: Any, finance2: Any, admin: Any
) -> None:
    # A name that a spreadsheet would run as a formula is written as text.
    Member.objects.filter(member_no="SR01").update(name="=HYPERLINK(1)")
    batch = approved_batch(finance, finance2, FEB10)
    wb = load_workbook(io.BytesIO(payout_batch_export(actor=finance, batch=batch)))
    assert wb.sheetnames == ["发放汇总", "发放明细"]
    rows = [list(r) for r in wb["发放汇总"].iter_rows(values_only=True)]
    assert rows[0] == ["会员编号", "姓名", "开户银行", "银行账号", "金额", "明细", "备注"]
    by_no = {r[0]: r for r in rows[1:-1]}
    assert list(by_no) == ["SM01", "SR00", "SR01", "SR99"]
    sm = by_no["SM01"]
    assert sm[2:5] == ["工商银行", "6222020000001234", 16115.38]
    assert sm[5] == ("2026-10 季度评估 4000.00; 2026-11 季度评估 3000.00; "
                     "2026-12 月度奖金 7115.38; 2026-12 季度评估 2000.00")  # fmt: skip
    assert by_no["SR01"][1] == "'=HYPERLINK(1)"
    assert by_no["SR99"][3] is None or by_no["SR99"][3] == ""
    assert by_no["SR99"][4] == -423.08
    assert "缺少银行账号" in by_no["SR99"][6] and "扣回" in by_no["SR99"][6]
    total_row = rows[-1]
    assert total_row[0] == "合计"
    assert Decimal(str(total_row[4])) == batch.total == Decimal("23846.14")
    assert sum(Decimal(str(r[4])) for r in rows[1:-1]) == batch.total
    detail = list(wb["发放明细"].iter_rows(values_only=True))
    assert len(detail) == 1 + batch.items_count
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.EXPORTED and batch.exported_at is not None

    # An admin may export too, but sees the accounts masked: full numbers are finance's.
    wb2 = load_workbook(io.BytesIO(payout_batch_export(actor=admin, batch=batch)))
    masked = {r[0]: r[3] for r in wb2["发放汇总"].iter_rows(min_row=2, values_only=True)}
    assert masked["SM01"] == "************1234"
    exports = AuditLog.objects.filter(
        object_type="compensation.payoutbatch", object_id=str(batch.pk), action=AuditAction.EXPORT
    )
    assert exports.count() == 2


# --------------------------------------------------------------------------- permissions


def test_members_and_reps_cannot_touch_payouts(
    closed: Any, network: Any, finance: Any, stock: Any, client: Client
) -> None:
    batch = payout_batch_build(actor=finance, pay_date=DEC10)
    member_user = UserFactory(username="mem", role=role(RoleCode.MEMBER))
    Member.objects.filter(pk=network["sm"].pk).update(user=member_user)
    for user in (member_user, stock.rep_user):
        with pytest.raises(PermissionDeniedError):
            payout_batch_build(actor=user, pay_date=DEC10)
        with pytest.raises(PermissionDeniedError):
            payout_batch_submit(actor=user, batch=batch)
        with pytest.raises(PermissionDeniedError):
            payout_batch_export(actor=user, batch=batch)
        client.force_login(user)
        assert client.get(reverse("compensation:payouts")).status_code == 403
        detail = reverse("compensation:payout_detail", args=[batch.pk])
        assert client.get(detail).status_code == 404
        submit = reverse("compensation:payout_submit", args=[batch.pk])
        assert client.post(submit).status_code == 404
    batch.refresh_from_db()
    assert batch.status == PayoutStatus.DRAFT


@pytest.fixture
def api(client: Client) -> Any:
    tokens: dict[str, str] = {}

    def call(method: str, path: str, user: str, body: object = None) -> Any:
        if user not in tokens:
            resp = client.post(
                "/api/auth/token",
                data=json.dumps({"username": user, "password": "pw-for-tests"}),
                content_type="application/json",
            )
            tokens[user] = resp.json()["token"]
        kwargs: dict[str, object] = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user]}"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call


def test_api_build_items_submit_export_and_permissions(
    closed: Any, finance: Any, finance2: Any, stock: Any, api: Any
) -> None:
    resp = api("post", "/api/comp/payouts", "fin", {"pay_date": "2027-02-10"})
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["total"], body["items_count"], body["status"]) == ("23846.14", 8, "draft")
    assert body["reconciled"] is True
    assert body["members_without_account"] == 1 and body["negative_members"] == 1
    assert {r["difference"] for r in body["reconciliation"]} == {"0.00"}
    bid = body["id"]

    listed = api("get", "/api/comp/payouts?q=2027-02", "fin").json()
    assert [b["id"] for b in listed["results"]] == [bid]
    items = api("get", f"/api/comp/payouts/{bid}/items?q=SM01", "fin").json()
    assert items["count"] == 4
    assert items["results"][0]["bank_account"] == "************1234"
    assert {i["amount"] for i in items["results"]} == {"4000.00", "3000.00", "7115.38", "2000.00"}

    # Exporting changes the batch (已导出) and is audited: POST only.
    assert api("get", f"/api/comp/payouts/{bid}/export", "fin").status_code == 405
    refused = api("post", f"/api/comp/payouts/{bid}/export", "fin")
    assert (refused.status_code, refused.json()["code"]) == (409, "not_approved")
    assert api("post", f"/api/comp/payouts/{bid}/submit", "fin").json()["status"] == "pending"
    approve_task(finance2, ApprovalRequest.objects.get(object_id=str(bid)))
    xlsx = api("post", f"/api/comp/payouts/{bid}/export", "fin")
    assert xlsx.status_code == 200
    assert api("get", f"/api/comp/payouts/{bid}", "fin").json()["status"] == "exported"
    assert xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    wb = load_workbook(io.BytesIO(xlsx.content))
    assert wb["发放汇总"].cell(row=2, column=4).value == "6222020000001234"

    # A rep: 403 on the collection, 404 on a batch.
    assert api("get", "/api/comp/payouts", "alice").status_code == 403
    assert api("post", "/api/comp/payouts", "alice", {"pay_date": "2026-12-10"}).status_code == 403
    assert api("get", f"/api/comp/payouts/{bid}", "alice").status_code == 404
    assert api("get", f"/api/comp/payouts/{bid}/items", "alice").status_code == 404
    assert api("post", f"/api/comp/payouts/{bid}/export", "alice").status_code == 404


# --------------------------------------------------------------------------- pages


def test_pages_list_detail_and_query_counts(
    closed: Any, finance: Any, client: Client, django_assert_max_num_queries: Any
) -> None:
    client.force_login(finance)
    page = client.get(reverse("compensation:payouts"))
    assert page.status_code == 200
    assert 'value="2027-02-10"' in page.content.decode()
    resp = client.post(reverse("compensation:payout_build"), {"pay_date": "2027-02-10"})
    batch = PayoutBatch.objects.get(pay_date=FEB10)
    assert resp.status_code == 302 and resp["Location"] == reverse(
        "compensation:payout_detail", args=[batch.pk]
    )
    url = reverse("compensation:payout_detail", args=[batch.pk])
    with django_assert_max_num_queries(22):
        html = client.get(url).content.decode()
    assert "¥23,846.14" in html
    assert 'id="warn-no-account"' in html and 'id="warn-negative"' in html
    warning = re.search(r'id="warn-negative">\s*<strong>([^<]*)</strong>([^<]*)<', html)
    assert warning is not None
    assert (warning[1], warning[2].split()[0]) == ("1 位会员应发合计为负（扣回大于应发）", "：")
    assert "已平" in html
    assert html.count('class="money recon-diff">0.00<') == 5
    searched = client.get(url, {"q": "SR0"}).content.decode()
    assert "SR00" in searched and "SM01" not in searched.split('id="list-results"')[1]
    # More items than a page: the query count does not grow with them.
    many = [MemberFactory(member_no=f"X{k:03d}") for k in range(30)]
    PayoutItem.objects.bulk_create(
        PayoutItem(batch=batch, member=m, period=DEC, kind=PayoutKind.MONTHLY, amount=1)
        for m in many
    )
    with django_assert_max_num_queries(22):
        assert client.get(url).status_code == 200
    searched = client.get(reverse("compensation:payouts"), {"q": "2027-02"}).content.decode()
    assert url in searched


def test_pay_date_beyond_the_calendar_is_an_input_error(
    closed: Any, finance: Any, client: Client, api: Any
) -> None:
    # The schedule of 9999-12-31 would reach year 10000: refused, never a 500. The API's
    # schema declares the year range (core/api/types.py IsoDate), so it is a 422 there.
    for day in ("9999-12-31", "0001-01-01"):
        resp = api("post", "/api/comp/payouts", "fin", {"pay_date": day})
        assert (resp.status_code, resp.json()["code"]) == (422, "invalid_input"), day
        assert [f["field"] for f in resp.json()["fields"]] == ["pay_date"]
    client.force_login(finance)
    resp = client.post(reverse("compensation:payout_build"), {"pay_date": "9999-12-31"})
    assert resp.status_code == 302
    assert not PayoutBatch.objects.exists()


# --------------------------------------------------------------------------- bank details


def test_bank_account_edit_is_audited_and_masked(
    network: Any, finance: Any, admin: Any, client: Client
) -> None:
    member = network["lone"]
    client.force_login(finance)
    edit = reverse("org:member_bank_edit", args=[member.pk])
    resp = client.post(edit, {"bank_name": "农业银行", "bank_account": "6228 4800 1234 5678"})
    assert resp.status_code == 302
    member.refresh_from_db()
    assert (member.bank_name, member.bank_account) == ("农业银行", "6228480012345678")
    rows = {
        r.field: (r.before, r.after)
        for r in AuditLog.objects.filter(object_type="org.member", object_id=str(member.pk))
        if r.field.startswith("bank")
    }
    # The audit row never holds the full number.
    assert rows == {"bank_name": ("", "农业银行"), "bank_account": ("", "************5678")}
    # Finance has no personal-information right: the detail page masks the account.
    html = client.get(reverse("org:member_detail", args=[member.pk])).content.decode()
    assert "************5678" in html and "6228480012345678" not in html
    # Blank keeps the account; an admin (with the right) sees it in full.
    client.post(edit, {"bank_name": "农业银行", "bank_account": ""})
    member.refresh_from_db()
    assert member.bank_account == "6228480012345678"
    client.force_login(admin)
    html = client.get(reverse("org:member_detail", args=[member.pk])).content.decode()
    assert "6228480012345678" in html
    logged = audit_for_object(member, show_personal=False)
    assert all("6228480012345678" not in (r.before + r.after) for r in logged)
    with pytest.raises(ServiceError) as bad:
        member_bank_update(actor=finance, member=member, bank_name="x", bank_account="12ab")
    assert bad.value.field == "bank_account"


def test_bank_account_edit_refused_to_a_rep(network: Any, stock: Any, client: Client) -> None:
    client.force_login(stock.rep_user)
    resp = client.post(
        reverse("org:member_bank_edit", args=[network["sm"].pk]),
        {"bank_name": "x", "bank_account": "12345678"},
    )
    assert resp.status_code in (403, 404)
    # The service itself refuses, whatever the caller (not only the page).
    with pytest.raises(PermissionDeniedError):
        member_bank_update(
            actor=stock.rep_user, member=network["sm"], bank_name="x", bank_account="12345678"
        )
    network["sm"].refresh_from_db()
    assert network["sm"].bank_account == "6222020000001234"


# --------------------------------------------------------------------------- browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_finance_builds_a_batch_in_the_browser(
    closed: Any, finance: Any, finance2: Any, browser_page: Any
) -> None:
    page = browser_page
    page.goto("/login/?next=/comp/payouts/")
    page.fill("#id_username", "fin")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url("**/comp/payouts/")
    page.select_option("#payout-date", "2026-12-10")
    page.click("#payout-build")
    page.wait_for_selector("#reconciliation")
    assert page.inner_text("#payout-total") == "¥32,499.98"
    assert page.inner_text("#recon-status").strip() == "已平"
    diffs = page.locator("#reconciliation .recon-diff").all_inner_texts()
    assert diffs and set(diffs) == {"0.00"}
    page.once("dialog", lambda d: d.accept())
    page.click("#payout-submit")
    page.wait_for_selector(".alert-success")
    assert PayoutBatch.objects.get(pay_date=DEC10).status == PayoutStatus.PENDING


@pytest.mark.django_db
def test_payout_plans_take_the_rank_plan_in_force_not_any_active_version() -> None:
    # An active employee-commission plan (another kind) must not stand in for the rank
    # plan, and a superseded rank version still rules its months: the same rule as runs.
    from pathlib import Path

    from django.conf import settings

    from salesops.compensation.models import CompPlanVersion, PlanStatus
    from salesops.compensation.selectors.payouts import _Plans
    from salesops.compensation.services.plans import plan_version_in_force

    text = (Path(settings.PROJECT_DIR) / "plans" / "sales-commission.toml").read_text("utf-8")
    CompPlanVersion.objects.create(
        code="sales-commission", version=1, name="提成", source_path="x.toml", text=text,
        effective_from=dt.date(2026, 1, 1), status=PlanStatus.ACTIVE,
    )  # fmt: skip
    month = dt.date(2026, 10, 1)
    in_force = plan_version_in_force(month)  # stores the seed on first use
    got = _Plans().version_for(month)
    assert got == in_force and got.code != "sales-commission"
    assert _Plans().plan(got).rank_codes  # parses as a rank plan
