"""Plan versions in the app: upload with every problem listed, version numbering, the
draft → pending → active → superseded lifecycle through approvals, which version is in
force for a month, refusals for closed months, hostile uploads, permissions, the screens
and the API, and one flow in a real browser."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as dj_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from salesops.compensation import doctypes
from salesops.compensation.models import (
    CommissionPeriod,
    CommissionRun,
    CompPlanVersion,
    PeriodStatus,
    PlanStatus,
    RunStatus,
)
from salesops.compensation.services.plans import (
    MAX_PLAN_BYTES,
    PlanInvalidError,
    plan_activation_submit,
    plan_version_create,
    plan_version_delete_draft,
    plan_version_ensure_seed,
    plan_version_in_force,
    plan_version_update_draft,
)
from salesops.core.approvals import approval_act, approval_cancel
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import (
    ApprovalRequest,
    ApprovalStatus,
    ApprovalTask,
    AuditLog,
    RoleCode,
    TaskStatus,
    User,
)
from salesops.core.tokens import token_issue
from salesops.factories import UserFactory, role

pytestmark = pytest.mark.django_db

PLANS = Path(dj_settings.PROJECT_DIR) / "plans"
SEED_TEXT = (PLANS / "seed-rank-plan.toml").read_text(encoding="utf-8")
COMMISSION_TEXT = (PLANS / "sales-commission.toml").read_text(encoding="utf-8")
OCT, NOV, DEC = dt.date(2026, 10, 1), dt.date(2026, 11, 1), dt.date(2026, 12, 1)
PASSWORD = "pw-for-tests"


def seed_text(version: int = 1, *, name: str = "直销职级奖金制度(种子方案)") -> str:
    """The seed plan with another ``[plan] version`` (and name)."""
    text = SEED_TEXT.replace("version = 1\n", f"version = {version}\n", 1)
    return text.replace('name = "直销职级奖金制度(种子方案)"', f'name = "{name}"', 1)


def broken_seed() -> str:
    """The seed with three mistakes in three tables."""
    text = SEED_TEXT.replace("early_cutoff_day = 20 ", "early_cutoff_day = 40 ", 1)
    text = text.replace("vat_divisor = 1.17", 'vat_divisor = "abc"', 1)
    return text.replace('qualifying_rank = "SR"', 'qualifying_rank = "XX"', 1)


BROKEN_ISSUES = [
    ("broken.toml", "volume.early_cutoff_day", "must be between 1 and 31, got 40"),
    ("broken.toml", "volume.vat_divisor", "must be a number, got 'abc'"),
    ("broken.toml", "ranks.qualifying_rank", "unknown rank 'XX'"),
]


@pytest.fixture
def fin1(db: None) -> User:
    return UserFactory(username="fin1", display_name="财务甲", role=role(RoleCode.FINANCE))


@pytest.fixture
def fin2(db: None) -> User:
    return UserFactory(username="fin2", display_name="财务乙", role=role(RoleCode.FINANCE))


@pytest.fixture
def rep(db: None) -> User:
    return UserFactory(username="rep1", role=role(RoleCode.REP))


def create(actor: User, text: str = SEED_TEXT, month: dt.date = NOV, **kw: Any) -> CompPlanVersion:
    return plan_version_create(
        actor=actor, text=text, source_name=kw.pop("source_name", "p.toml"), effective_from=month,
        **kw,
    )  # fmt: skip


def task_of(request: ApprovalRequest, user: User) -> ApprovalTask:
    return ApprovalTask.objects.get(request=request, approver=user, status=TaskStatus.PENDING)


def activate(submitter: User, approver: User, version: CompPlanVersion) -> CompPlanVersion:
    request = plan_activation_submit(actor=submitter, version=version)
    approval_act(actor=approver, task_id=task_of(request, approver).pk, action="approve")
    version.refresh_from_db()
    return version


def statuses() -> dict[int, str]:
    return dict(CompPlanVersion.objects.values_list("version", "status"))


# --------------------------------------------------------------------------- upload


def test_every_issue_is_listed_with_file_key_and_reason(fin1: User) -> None:
    with pytest.raises(PlanInvalidError) as caught:
        create(fin1, broken_seed(), source_name="broken.toml")
    exc = caught.value
    assert [(i.file, i.key, i.reason) for i in exc.issues] == BROKEN_ISSUES
    assert str(exc.message).splitlines() == [
        "方案文件有 3 处错误：",
        "broken.toml volume.early_cutoff_day: must be between 1 and 31, got 40",
        "broken.toml volume.vat_divisor: must be a number, got 'abc'",
        "broken.toml ranks.qualifying_rank: unknown rank 'XX'",
    ]
    assert exc.as_dict()["issues"] == [
        {"file": f, "key": k, "reason": r} for f, k, r in BROKEN_ISSUES
    ]
    assert (exc.status, exc.code) == (422, "plan_invalid")
    assert not CompPlanVersion.objects.exists()


def test_a_valid_upload_is_a_draft_and_audited(fin1: User) -> None:
    v = create(fin1, "\ufeff" + SEED_TEXT, note="首次上传", source_name="C:\\plans\\seed.toml")
    assert (v.code, v.name, v.version, v.status, v.effective_from, v.source_path, v.note) == (
        "seed-rank", "直销职级奖金制度(种子方案)", 1, PlanStatus.DRAFT, NOV, "seed.toml",
        "首次上传",
    )  # fmt: skip
    assert v.text == SEED_TEXT  # BOM dropped
    rows = AuditLog.objects.filter(object_type="compensation.compplanversion", object_id=str(v.pk))
    assert sorted((r.action, r.field, r.after) for r in rows) == [
        ("create", "code", "seed-rank"),
        ("create", "effective_from", "2026-11-01"),
        ("create", "name", "直销职级奖金制度(种子方案)"),
        ("create", "note", "首次上传"),
        ("create", "source_path", "seed.toml"),
        ("create", "status", "draft"),
        ("create", "version", "1"),
    ]
    assert {r.actor_id for r in rows} == {fin1.pk}


def test_versions_are_numbered_per_family_and_stale_files_are_refused(fin1: User) -> None:
    seed = plan_version_ensure_seed()
    assert (seed.code, seed.version) == ("seed-rank", 1)
    # The same file (its own version 1 = the highest stored) becomes v2 of the family.
    v2 = create(fin1, seed_text(1))
    v3 = create(fin1, seed_text(3))
    assert (v2.version, v3.version) == (2, 3)
    # Another family starts at 1.
    assert create(fin1, COMMISSION_TEXT).version == 1
    # A file whose own version is below the family's highest is an old copy.
    with pytest.raises(ServiceError) as caught:
        create(fin1, seed_text(2))
    assert (caught.value.code, caught.value.field) == ("plan_version_stale", "text")
    assert "文件中的版本号 2 低于已有的版本 v3" in str(caught.value.message)
    assert CompPlanVersion.objects.filter(code="seed-rank").count() == 3


@pytest.mark.parametrize(
    "month", [dt.date(2026, 11, 2), dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "2026-11-01", None]
)
def test_effective_from_must_be_the_first_day_of_a_month(fin1: User, month: Any) -> None:
    with pytest.raises(ServiceError) as caught:
        create(fin1, month=month)
    assert (caught.value.code, caught.value.field) == ("invalid_effective_from", "effective_from")
    assert not CompPlanVersion.objects.exists()


def test_draft_can_be_edited_and_deleted_but_not_once_submitted(fin1: User, fin2: User) -> None:
    v = create(fin1)
    plan_version_update_draft(
        actor=fin1, version=v, text=seed_text(1, name="新名称"), effective_from=DEC, note="改"
    )
    v.refresh_from_db()
    assert (v.name, v.effective_from, v.note, v.version) == ("新名称", DEC, "改", 1)
    changed = AuditLog.objects.filter(object_id=str(v.pk), action="update")
    assert sorted(r.field for r in changed) == ["effective_from", "name", "note", "text"]

    with pytest.raises(ServiceError) as caught:
        plan_version_update_draft(actor=fin1, version=v, text=COMMISSION_TEXT)
    assert caught.value.code == "plan_code_changed"

    gone = create(fin1, seed_text(2))
    plan_version_delete_draft(actor=fin1, version=gone)
    assert not CompPlanVersion.objects.filter(pk=gone.pk).exists()
    assert AuditLog.objects.filter(object_id=str(gone.pk), action="delete").exists()

    plan_activation_submit(actor=fin1, version=v)
    for call in (
        lambda: plan_version_update_draft(actor=fin1, version=v, note="x"),
        lambda: plan_version_delete_draft(actor=fin1, version=v),
        lambda: plan_activation_submit(actor=fin1, version=v),
    ):
        with pytest.raises(ServiceError) as caught:
            call()
        assert caught.value.code == "plan_not_draft"


# --------------------------------------------------------------------------- lifecycle


def test_approval_activates_and_supersedes_the_older_version(fin1: User, fin2: User) -> None:
    seed = plan_version_ensure_seed()  # v1, active since 2000-01
    v2 = create(fin1, seed_text(2))
    request = plan_activation_submit(actor=fin1, version=v2)
    v2.refresh_from_db()
    assert v2.status == PlanStatus.PENDING
    assert (request.doc_type, request.object_id, request.title) == (
        doctypes.PLAN_ACTIVATION, str(v2.pk),
        "奖金方案生效：直销职级奖金制度(种子方案) v2（2026-11 起）",
    )  # fmt: skip
    # The submitter has no task of their own request.
    assert not ApprovalTask.objects.filter(request=request, approver=fin1).exists()

    approval_act(actor=fin2, task_id=task_of(request, fin2).pk, action="approve")
    v2.refresh_from_db()
    seed.refresh_from_db()
    assert (v2.status, seed.status) == (PlanStatus.ACTIVE, PlanStatus.SUPERSEDED)
    assert v2.activated_at is not None
    log = AuditLog.objects.filter(
        field="status", action="update", object_type="compensation.compplanversion"
    )
    assert sorted((r.object_id, r.before, r.after, r.note, r.actor_id) for r in log) == sorted([
        (str(v2.pk), "draft", "pending", "submit", fin1.pk),
        (str(v2.pk), "pending", "active", "approved", fin2.pk),
        (str(seed.pk), "active", "superseded", "superseded by v2", fin2.pk),
    ])  # fmt: skip


def test_reject_return_and_cancel_send_the_version_back_to_draft(fin1: User, fin2: User) -> None:
    v = create(fin1)
    request = plan_activation_submit(actor=fin1, version=v)
    approval_act(actor=fin2, task_id=task_of(request, fin2).pk, action="reject", comment="比例不对")
    v.refresh_from_db()
    assert v.status == PlanStatus.DRAFT

    # Sent back (退回): back to draft; submitting again resubmits the same request.
    request = plan_activation_submit(actor=fin1, version=v)
    approval_act(actor=fin2, task_id=task_of(request, fin2).pk, action="return", comment="补充说明")
    v.refresh_from_db()
    assert v.status == PlanStatus.DRAFT
    again = plan_activation_submit(actor=fin1, version=v)
    assert again.pk == request.pk
    assert again.status == ApprovalStatus.PENDING

    approval_cancel(actor=fin1, request_id=again.pk)
    v.refresh_from_db()
    assert v.status == PlanStatus.DRAFT
    assert ApprovalRequest.objects.filter(object_id=str(v.pk)).count() == 2


def test_a_later_effective_version_stays_active(fin1: User, fin2: User) -> None:
    seed = plan_version_ensure_seed()  # v1 from 2000-01
    v2 = activate(fin1, fin2, create(fin1, seed_text(2), DEC))
    seed.refresh_from_db()
    assert (seed.status, v2.status) == (PlanStatus.SUPERSEDED, PlanStatus.ACTIVE)
    # v3 starts before v2: it takes Nov only; v2 still takes over from Dec.
    v3 = activate(fin1, fin2, create(fin1, seed_text(3), NOV))
    v2.refresh_from_db()
    assert statuses() == {1: "superseded", 2: "active", 3: "active"}
    assert [plan_version_in_force(m).version for m in (OCT, NOV, DEC, dt.date(2027, 5, 9))] == [
        1, 3, 2, 2,
    ]  # fmt: skip
    assert v3.status == PlanStatus.ACTIVE
    # v4 from Dec supersedes both (their months are on or before Dec), yet the superseded
    # v3 still rules November and v1 October.
    activate(fin1, fin2, create(fin1, seed_text(4), DEC))
    assert statuses() == {1: "superseded", 2: "superseded", 3: "superseded", 4: "active"}
    assert [plan_version_in_force(m).version for m in (OCT, NOV, DEC)] == [1, 3, 4]


def test_in_force_picks_the_version_by_month(fin1: User, fin2: User) -> None:
    # Without any version: the seed plan, created on first use, in force since 2000-01.
    seed = plan_version_in_force(OCT)
    assert (seed.code, seed.version, seed.effective_from, seed.status) == (
        "seed-rank", 1, dt.date(2000, 1, 1), PlanStatus.ACTIVE,
    )  # fmt: skip
    v1 = activate(fin1, fin2, create(fin1, seed_text(1), OCT))
    v2 = activate(fin1, fin2, create(fin1, seed_text(2), NOV))
    assert plan_version_in_force(dt.date(2026, 9, 30)) == seed
    assert plan_version_in_force(dt.date(2026, 10, 31)) == v1
    assert plan_version_in_force(NOV) == v2
    assert plan_version_in_force(dt.date(2026, 11, 15)) == v2
    # A draft, a pending version and a commission plan never rule a rank-plan month.
    plan_activation_submit(actor=fin1, version=create(fin1, seed_text(3), DEC))
    create(fin1, seed_text(4), DEC)
    activate(fin1, fin2, create(fin1, COMMISSION_TEXT, DEC))
    assert plan_version_in_force(DEC) == v2


def test_a_draft_of_the_seed_code_never_stands_in_for_the_seed(fin1: User) -> None:
    # Nothing seeded yet; a draft "seed-rank" v1 is uploaded (effective later).
    draft = create(fin1, seed_text(1), DEC)
    assert draft.status == PlanStatus.DRAFT
    seed = plan_version_in_force(OCT)
    assert seed != draft
    assert (seed.status, seed.effective_from) == (PlanStatus.ACTIVE, dt.date(2000, 1, 1))
    assert seed.version > draft.version
    assert plan_version_ensure_seed() == seed  # found again, not created twice


def test_an_older_version_cannot_outrank_a_newer_one_of_the_same_month(
    fin1: User, fin2: User
) -> None:
    v1 = create(fin1, seed_text(1), NOV)
    activate(fin1, fin2, create(fin1, seed_text(2), NOV))
    with pytest.raises(ServiceError) as caught:
        plan_activation_submit(actor=fin1, version=v1)
    assert caught.value.code == "newer_version_same_month"


# --------------------------------------------------------------------------- refusals


def test_submit_is_refused_when_the_month_or_a_later_one_is_closed(fin1: User, fin2: User) -> None:
    CommissionPeriod.objects.create(
        period=dt.date(2026, 9, 1),
        status=PeriodStatus.CLOSED,
        closed_at=dt.datetime(2026, 10, 5, tzinfo=dt.UTC),
    )
    fine = create(fin1, seed_text(1), OCT)  # September closed: October may change
    plan_activation_submit(actor=fin1, version=fine)
    CommissionPeriod.objects.create(
        period=NOV, status=PeriodStatus.CLOSED, closed_at=dt.datetime(2026, 12, 5, tzinfo=dt.UTC)
    )
    for k, month in enumerate((OCT, NOV), start=2):
        v = create(fin1, seed_text(k), month)
        with pytest.raises(ServiceError) as caught:
            plan_activation_submit(actor=fin1, version=v)
        assert (caught.value.code, caught.value.status) == ("period_closed", 409)
        assert "2026-11 已结账" in str(caught.value.message)
        v.refresh_from_db()
        assert v.status == PlanStatus.DRAFT
    assert not ApprovalRequest.objects.exclude(object_id=str(fine.pk)).exists()


def test_approval_is_refused_when_the_month_closed_meanwhile(fin1: User, fin2: User) -> None:
    v = create(fin1, seed_text(1), OCT)
    request = plan_activation_submit(actor=fin1, version=v)
    CommissionPeriod.objects.create(period=DEC, status=PeriodStatus.CLOSING)
    with pytest.raises(ServiceError) as caught:
        approval_act(actor=fin2, task_id=task_of(request, fin2).pk, action="approve")
    assert caught.value.code == "period_closed"
    v.refresh_from_db()
    request.refresh_from_db()
    assert (v.status, request.status) == (PlanStatus.PENDING, ApprovalStatus.PENDING)


def test_submit_is_refused_while_a_run_of_a_covered_month_is_running(
    fin1: User, fin2: User
) -> None:
    seed = plan_version_ensure_seed()
    CommissionRun.objects.create(period=DEC, plan_version=seed, status=RunStatus.RUNNING)
    v = create(fin1, seed_text(1), NOV)
    with pytest.raises(ServiceError) as caught:
        plan_activation_submit(actor=fin1, version=v)
    assert caught.value.code == "run_in_progress"
    # A run of an earlier month is not affected.
    later = create(fin1, seed_text(2), dt.date(2027, 1, 1))
    plan_activation_submit(actor=fin1, version=later)


# --------------------------------------------------------------------------- hostile input


HOSTILE = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@HOSTILE
@given(data=st.binary(max_size=3000))
@example(data=b"\x00" * 10)
@example(data=b"\xff\xfe[plan]")
@example(data=b"[plan]\ncode = 'x\x00'\n")
@example(data=b"a = " + b"[" * 5000)
@example(data=b"a" * (MAX_PLAN_BYTES + 1))
@example(data=SEED_TEXT.encode("utf-16"))
def test_hostile_uploads_never_fail_the_server_nor_store_anything(
    data: bytes, fin1: User, client: Client
) -> None:
    client.force_login(fin1)
    before = (CompPlanVersion.objects.count(), AuditLog.objects.count())
    upload = SimpleUploadedFile("evil.toml", data, content_type="application/octet-stream")
    resp = client.post(
        reverse("compensation:plan_new"), {"file": upload, "effective_from": "2026-11", "note": ""}
    )
    assert resp.status_code == 422
    assert (CompPlanVersion.objects.count(), AuditLog.objects.count()) == before


@HOSTILE
@given(text=st.text(max_size=2000))
@example(text="[plan]\ncode='seed-rank'\x00")
@example(text="\ud800")
@example(text="x = " + "{a=" * 3000)
def test_hostile_text_through_the_api_answers_4xx_and_stores_nothing(
    text: str, fin1: User, client: Client
) -> None:
    key, _row = token_issue(username="fin1", password=PASSWORD)
    body = json.dumps({"text": text, "effective_from": "2026-11-01"})
    resp = client.post(
        "/api/comp/plans", body, content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )  # fmt: skip
    assert resp.status_code in (400, 422), resp.content
    assert resp.json()["code"] in (
        "plan_invalid",
        "plan_empty",
        "plan_not_utf8",
        "invalid_input",
        "invalid_request",
    )
    assert not CompPlanVersion.objects.exists()


def test_a_huge_paste_is_refused_before_parsing(fin1: User) -> None:
    huge = SEED_TEXT + "#" * MAX_PLAN_BYTES
    with pytest.raises(ServiceError) as caught:
        create(fin1, huge)
    assert caught.value.code == "plan_too_large"
    with pytest.raises(ServiceError) as caught:
        create(fin1, SEED_TEXT.encode("gbk", errors="ignore"))
    assert caught.value.code == "plan_not_utf8"
    with pytest.raises(ServiceError) as caught:
        create(fin1, SEED_TEXT + "\x00")
    assert caught.value.code == "plan_nul"
    with pytest.raises(ServiceError) as caught:
        create(fin1, SEED_TEXT, note="备\x1b注")
    assert (caught.value.code, caught.value.field) == ("control_character", "note")
    assert not CompPlanVersion.objects.exists()


# --------------------------------------------------------------------------- permissions


def test_only_finance_and_admins_manage_plans(fin1: User, rep: User, client: Client) -> None:
    v = create(fin1)
    with pytest.raises(PermissionDeniedError):
        create(rep)
    for call in (
        lambda: plan_version_update_draft(actor=rep, version=v, note="x"),
        lambda: plan_version_delete_draft(actor=rep, version=v),
        lambda: plan_activation_submit(actor=rep, version=v),
    ):
        with pytest.raises(PermissionDeniedError):
            call()
    client.force_login(rep)
    for url in (
        reverse("compensation:plans"),
        reverse("compensation:plan_new"),
        reverse("compensation:plan_detail", args=[v.pk]),
        reverse("compensation:plan_edit", args=[v.pk]),
    ):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("compensation:plan_submit", args=[v.pk])).status_code == 403
    assert client.post(reverse("compensation:plan_delete", args=[v.pk])).status_code == 403
    key, _row = token_issue(username="rep1", password=PASSWORD)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/comp/plans", **auth).status_code == 403
    assert client.get(f"/api/comp/plans/{v.pk}", **auth).status_code == 403
    body = json.dumps({"text": SEED_TEXT, "effective_from": "2026-11-01"})
    resp = client.post("/api/comp/plans", body, content_type="application/json", **auth)
    assert resp.status_code == 403
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    assert create(admin, seed_text(2)).version == 2
    v.refresh_from_db()
    assert (v.status, CompPlanVersion.objects.count()) == (PlanStatus.DRAFT, 2)


# --------------------------------------------------------------------------- screens


def test_list_is_paginated_searchable_filterable_with_bounded_queries(
    fin1: User, client: Client, django_assert_max_num_queries: Any
) -> None:
    for k in range(1, 26):
        create(fin1, seed_text(k), source_name=f"s{k}.toml")
    create(fin1, COMMISSION_TEXT)
    client.force_login(fin1)
    url = reverse("compensation:plans")
    with django_assert_max_num_queries(12):
        resp = client.get(url)
    assert resp.status_code == 200
    rows = resp.context["page"].object_list
    assert len(rows) == 20
    body = resp.content.decode()
    assert "职级奖金" in body and "草稿" in body
    resp = client.get(url, {"q": "提成"})
    assert [v.code for v in resp.context["page"].object_list] == ["sales-commission"]
    assert "销售提成" in resp.content.decode()
    resp = client.get(url, {"status": "active"})
    assert list(resp.context["page"].object_list) == []
    resp = client.get(url, {"page": 2})
    assert len(resp.context["page"].object_list) == 6


def test_new_page_lists_issues_and_keeps_the_text(fin1: User, client: Client) -> None:
    client.force_login(fin1)
    url = reverse("compensation:plan_new")
    assert client.get(url).status_code == 200
    text = broken_seed()
    resp = client.post(
        url, {"text": text, "effective_from": "2026-11", "source_name": "broken.toml"}
    )
    assert resp.status_code == 422
    assert [(i.file, i.key, i.reason) for i in resp.context["issues"]] == BROKEN_ISSUES
    body = resp.content.decode()
    assert "volume.vat_divisor" in body and "must be a number, got &#x27;abc&#x27;" in body
    assert resp.context["form"]["text"] == text
    # An uploaded file is kept in the text box too.
    upload = SimpleUploadedFile("broken.toml", text.encode())
    resp = client.post(url, {"file": upload, "effective_from": "2026-11", "text": ""})
    assert resp.status_code == 422
    assert resp.context["form"]["text"] == text
    assert [i.file for i in resp.context["issues"]] == ["broken.toml"] * 3
    resp = client.post(url, {"text": SEED_TEXT, "effective_from": "11/2026"})
    assert (resp.status_code, resp.context["error_field"]) == (422, "effective_from")
    assert not CompPlanVersion.objects.exists()

    resp = client.post(url, {"text": SEED_TEXT, "effective_from": "2026-11", "note": "备注"})
    v = CompPlanVersion.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == reverse("compensation:plan_detail", args=[v.pk])
    assert (v.effective_from, v.note, v.source_path) == (NOV, "备注", "plan.toml")


def test_detail_shows_summary_diff_and_buttons_by_status(
    fin1: User, fin2: User, client: Client
) -> None:
    v1 = create(fin1, seed_text(1))
    v2 = create(
        fin1,
        seed_text(2).replace("{ min_pv = 20000, rate = 0.20 }", "{ min_pv = 20000, rate = 0.22 }"),
    )
    client.force_login(fin1)
    resp = client.get(reverse("compensation:plan_detail", args=[v2.pk]))
    assert resp.status_code == 200
    body = resp.content.decode()
    assert [r.code for r in resp.context["summary"]["ranks"]] == [
        "SR", "SE", "SSE", "SM", "SSM", "SD", "SSD", "TE",
    ]  # fmt: skip
    assert "资深销售总监" in body
    diff = [line for _css, line in resp.context["diff"]]
    assert "-  { min_pv = 20000, rate = 0.20 }," in diff
    assert "+  { min_pv = 20000, rate = 0.22 }," in diff
    assert "-version = 1" in diff and "+version = 2" in diff
    assert 'id="plan-submit"' in body and 'id="plan-edit"' in body
    assert 'id="plan-approval"' not in body

    client.post(reverse("compensation:plan_submit", args=[v2.pk]))
    body = client.get(reverse("compensation:plan_detail", args=[v2.pk])).content.decode()
    assert 'id="plan-submit"' not in body and 'id="plan-edit"' not in body
    assert 'id="plan-approval"' in body and "审批中" in body
    # The first version has nothing to compare with.
    resp = client.get(reverse("compensation:plan_detail", args=[v1.pk]))
    assert resp.context["diff"] == [] and "这是该方案的第一个版本" in resp.content.decode()
    # A commission plan shows its tiers.
    c = create(fin1, COMMISSION_TEXT)
    resp = client.get(reverse("compensation:plan_detail", args=[c.pk]))
    tiers = resp.context["summary"]["tiers"]
    assert [(str(t["start"]), str(t["end"]), str(t["rate"])) for t in tiers] == [
        ("0", "0.6", "0.02"), ("0.6", "0.8", "0.03"), ("0.8", "1.0", "0.04"),
    ]  # fmt: skip


def test_edit_and_delete_a_draft_on_screen(fin1: User, client: Client) -> None:
    v = create(fin1)
    client.force_login(fin1)
    url = reverse("compensation:plan_edit", args=[v.pk])
    assert client.get(url).context["form"]["text"] == SEED_TEXT
    resp = client.post(url, {"text": seed_text(1, name="改名"), "effective_from": "2026-12"})
    assert resp.status_code == 302
    v.refresh_from_db()
    assert (v.name, v.effective_from) == ("改名", DEC)
    resp = client.post(reverse("compensation:plan_delete", args=[v.pk]))
    assert resp.status_code == 302
    assert not CompPlanVersion.objects.exists()


# --------------------------------------------------------------------------- API


def test_api_create_list_get_and_submit(fin1: User, fin2: User, client: Client) -> None:
    key, _row = token_issue(username="fin1", password=PASSWORD)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    bad = json.dumps(
        {"text": broken_seed(), "effective_from": "2026-11-01", "source_name": "broken.toml"}
    )
    resp = client.post("/api/comp/plans", bad, content_type="application/json", **auth)
    assert resp.status_code == 422
    out = resp.json()
    assert out["code"] == "plan_invalid"
    assert [(i["file"], i["key"], i["reason"]) for i in out["issues"]] == BROKEN_ISSUES
    assert len(out["fields"]) == 3

    good = json.dumps({"text": SEED_TEXT, "effective_from": "2026-11-01", "note": "API"})
    resp = client.post("/api/comp/plans", good, content_type="application/json", **auth)
    assert resp.status_code == 201
    created = resp.json()
    assert (created["code"], created["version"], created["kind"], created["status"]) == (
        "seed-rank", 1, "rank", "draft",
    )  # fmt: skip
    assert created["text"] == SEED_TEXT and created["approval_id"] is None

    listed = client.get("/api/comp/plans", {"q": "seed"}, **auth).json()
    assert (listed["count"], [r["id"] for r in listed["results"]]) == (1, [created["id"]])
    assert client.get("/api/comp/plans", {"status": "active"}, **auth).json()["count"] == 0
    assert client.get("/api/comp/plans/999999", **auth).status_code == 404

    resp = client.post(f"/api/comp/plans/{created['id']}/submit", **auth)
    assert resp.status_code == 200
    assert (resp.json()["approval_status"], resp.json()["plan"]["status"]) == ("pending", "pending")
    again = client.post(f"/api/comp/plans/{created['id']}/submit", **auth)
    assert (again.status_code, again.json()["code"]) == (409, "plan_not_draft")
    detail = client.get(f"/api/comp/plans/{created['id']}", **auth).json()
    assert detail["approval_id"] == resp.json()["approval_id"]


# --------------------------------------------------------------------------- browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_upload_fix_submit_and_approve_in_the_browser(browser_page: Any) -> None:
    UserFactory(username="fin1", display_name="财务甲", role=role(RoleCode.FINANCE))
    UserFactory(username="fin2", display_name="财务乙", role=role(RoleCode.FINANCE))
    page = browser_page

    def log_in(username: str) -> None:
        page.context.clear_cookies()
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)

    log_in("fin1")
    page.goto("/comp/plans/")
    page.click("text=新建")
    page.fill("#plan-effective-from", "2026-11")
    broken = SEED_TEXT.replace('qualifying_rank = "SR"', 'qualifying_rank = "XX"', 1)
    page.fill("#plan-text", broken)
    page.click("#plan-save")
    page.wait_for_selector("#plan-issues")
    assert page.inner_text("#plan-issues .issue-key").strip() == "ranks.qualifying_rank"
    assert page.inner_text("#plan-issues .issue-reason").strip() == "unknown rank 'XX'"
    assert page.input_value("#plan-text") == broken

    page.fill("#plan-text", SEED_TEXT)
    page.click("#plan-save")
    page.wait_for_selector("#plan-submit")
    version = CompPlanVersion.objects.get()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#plan-submit")
    page.wait_for_selector("#plan-approval")
    assert "审批中" in page.inner_text("#plan-status")

    request = ApprovalRequest.objects.get(object_id=str(version.pk))
    log_in("fin2")
    page.goto(f"/approvals/{request.pk}/")
    page.wait_for_selector("#approval-comment")
    page.fill("#approval-comment", "同意")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#btn-approve")
    page.wait_for_selector("text=已通过")

    page.goto("/comp/plans/")
    row = page.locator("#list-table tbody tr", has_text="seed-rank")
    cells = [c.strip() for c in row.locator("td:not(.list-select)").all_inner_texts()]
    assert cells[:6] == [
        "seed-rank",
        "直销职级奖金制度(种子方案)",
        "v1",
        "职级奖金",
        "2026-11",
        "生效",
    ]
    version.refresh_from_db()
    assert version.status == PlanStatus.ACTIVE
