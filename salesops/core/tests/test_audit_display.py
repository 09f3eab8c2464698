"""The audit log as a person reads it: verbose names, field labels, choice labels, 是/否,
foreign keys by name and local times — the same on the 操作日志 page, in its export and in
every 操作记录 tab, in Chinese and in English."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from salesops.compensation.models import PayoutBatch, PayoutStatus
from salesops.core.audit import audit_create, audit_record, audit_save
from salesops.core.models import AuditAction, AuditLog, RoleCode, User
from salesops.core.selectors import audit_entries, audit_for_object, audit_object_type_choices
from salesops.factories import UserFactory, role

UTC = datetime.UTC
# 06:30 UTC is 14:30 in Asia/Shanghai (settings.TIME_ZONE).
APPROVED_AT = datetime.datetime(2026, 10, 5, 6, 30, 15, 123456, tzinfo=UTC)
LOGGED_AT = datetime.datetime(2026, 10, 6, 1, 2, 3, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="root", display_name="管理员", role=role(RoleCode.ADMIN))


def _changes(stock: Any, admin: User) -> PayoutBatch:
    """An employee moved to another team and set inactive; a payout batch created and
    approved: a FK, a boolean, a choice field and a datetime."""
    AuditLog.objects.all().delete()
    audit_save(stock.rep, actor=admin, department=stock.other_team, active=False)
    batch = PayoutBatch.objects.create(pay_date=datetime.date(2026, 10, 10))
    audit_create(actor=admin, obj=batch, fields=["status"])
    audit_save(batch, actor=admin, status=PayoutStatus.APPROVED, approved_at=APPROVED_AT)
    AuditLog.objects.update(at=LOGGED_AT)
    return batch


def _shown(entries: Any) -> set[tuple[str, str, str, str, str]]:
    return {(e.type_label, e.field_label, e.before, e.after, e.at_text) for e in entries}


def test_object_log_reads_labels_names_and_local_times(stock, admin: User) -> None:  # type: ignore[no-untyped-def]
    batch = _changes(stock, admin)
    assert _shown(audit_for_object(stock.rep)) == {
        ("员工", "部门", "华东一组", "华南一组", "2026-10-06 09:02"),
        ("员工", "在职", "是", "否", "2026-10-06 09:02"),
    }
    assert _shown(audit_for_object(batch)) == {
        ("奖金发放批次", "状态", "", "草稿", "2026-10-06 09:02"),
        ("奖金发放批次", "状态", "草稿", "已批准", "2026-10-06 09:02"),
        ("奖金发放批次", "批准时间", "", "2026-10-05 14:30", "2026-10-06 09:02"),
    }
    # The stored row keeps the codes: the display is a reading of it.
    stored = AuditLog.objects.get(field="approved_at")
    assert stored.after == "2026-10-05 06:30:15.123456+00:00"
    assert AuditLog.objects.get(field="active").after == "False"


def test_object_log_in_english(stock, admin: User) -> None:  # type: ignore[no-untyped-def]
    batch = _changes(stock, admin)
    with translation.override("en"):
        assert _shown(audit_for_object(stock.rep)) == {
            ("Employee", "Department", "华东一组", "华南一组", "2026-10-06 09:02"),
            ("Employee", "Active", "Yes", "No", "2026-10-06 09:02"),
        }
        assert _shown(audit_for_object(batch)) == {
            ("Payout batch", "Status", "", "Draft", "2026-10-06 09:02"),
            ("Payout batch", "Status", "Draft", "Approved", "2026-10-06 09:02"),
            ("Payout batch", "Approved at", "", "2026-10-05 14:30", "2026-10-06 09:02"),
        }


def test_unknown_types_fields_and_ids_show_as_stored(db: None) -> None:
    audit_record(actor=None, action=AuditAction.EXPORT, object_type="orders", note="q=''")
    audit_record(
        actor=None,
        action=AuditAction.UPDATE,
        object_type="org.employee",
        object_id="1",
        changes={"department": ("999999", "not-an-id"), "gone_field": ("a", "b")},
    )
    shown = {
        (e.type_label, e.field_label, e.before, e.after)
        for e in audit_entries(AuditLog.objects.all())
    }
    assert shown == {
        ("orders", "", "", ""),
        ("员工", "部门", "999999", "not-an-id"),
        ("员工", "gone_field", "a", "b"),
    }


def test_audit_page_renders_the_same_and_resolves_names_per_model_not_per_row(
    stock, admin: User, client: Client, django_assert_num_queries
) -> None:  # type: ignore[no-untyped-def]
    _changes(stock, admin)
    client.force_login(admin)
    client.get("/audit/")  # warm the session
    # Session, user, role, employee and member (one query), count, page, notifications,
    # the viewer's saved scenes of the list: 8; plus one query for every department named.
    with django_assert_num_queries(9):
        resp = client.get("/audit/?object_type=org.employee")
    cells = [[c["value"] for c in r["cells"]] for r in resp.context["rows"]]
    assert sorted(cells) == sorted(
        [
            ["2026-10-06 09:02", "管理员", "修改", "员工", str(stock.rep.pk), "爱丽丝", "部门",
             "华东一组", "华南一组", ""],
            ["2026-10-06 09:02", "管理员", "修改", "员工", str(stock.rep.pk), "爱丽丝", "在职",
             "是", "否", ""],
        ]
    )  # fmt: skip
    # Twenty more department moves: still one query for all the departments on the page.
    for _ in range(10):
        audit_save(stock.rep, actor=admin, department=stock.team)
        audit_save(stock.rep, actor=admin, department=stock.other_team)
    with django_assert_num_queries(9):
        resp = client.get("/audit/?object_type=org.employee")
    assert len(resp.context["rows"]) == 20
    html = client.get(reverse("org:employee_detail", args=[stock.rep.pk])).content.decode()
    log = html[html.index("so-object-log") : html.index("</table>", html.index("so-object-log"))]
    assert "<td>部门</td><td>华南一组</td><td>华东一组</td>" in log
    assert "<td>在职</td><td>是</td><td>否</td>" in log
    assert "department" not in log and "True" not in log and "+00:00" not in log


def test_audit_export_is_readable_and_local(stock, admin: User, client: Client) -> None:  # type: ignore[no-untyped-def]
    _changes(stock, admin)
    client.force_login(admin)
    resp = client.get("/audit/?export=xlsx&object_type=compensation.payoutbatch&sort=field")
    ws = load_workbook(io.BytesIO(b"".join(resp.streaming_content))).active  # type: ignore[attr-defined]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert sorted(tuple(r[i] or "" for i in (0, 3, 6, 7, 8)) for r in rows) == [
        ("2026-10-06 09:02", "奖金发放批次", "批准时间", "", "2026-10-05 14:30"),
        ("2026-10-06 09:02", "奖金发放批次", "状态", "", "草稿"),
        ("2026-10-06 09:02", "奖金发放批次", "状态", "草稿", "已批准"),
    ]


def test_object_type_filter_lists_models_by_verbose_name(db: None) -> None:
    choices = dict(audit_object_type_choices())
    assert choices["compensation.disputemessage"] == "疑问回复"
    assert choices["org.employee"] == "员工"
    assert "auth.permission" not in choices


def test_one_to_one_and_self_references_show_names(stock, admin: User) -> None:  # type: ignore[no-untyped-def]
    AuditLog.objects.all().delete()
    audit_create(actor=admin, obj=stock.rep, fields=["user", "manager"])
    shown = {(e.field_label, e.after) for e in audit_for_object(stock.rep)}
    assert shown == {("登录账号", str(stock.rep_user)), ("直属上级", "鲍勃")}
    assert str(stock.rep_user) != str(stock.rep_user.pk)
