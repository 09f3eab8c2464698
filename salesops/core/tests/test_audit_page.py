"""操作日志 page (admin only) and the per-object 操作记录 selector."""

from __future__ import annotations

import pytest
from django.test import Client

from salesops.core.audit import audit_record
from salesops.core.models import AuditAction, AuditLog, RoleCode
from salesops.core.selectors import audit_for_object
from salesops.factories import UserFactory, role


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    # PBKDF2 makes each stock user cost ~1 s; these tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_audit_page_is_admin_only(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stock.manager_user)
    assert client.get("/audit/").status_code == 403


def test_audit_page_filters(stock, client: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    AuditLog.objects.all().delete()
    for i in range(22):
        audit_record(
            actor=stock.manager_user,
            action=AuditAction.UPDATE,
            obj=stock.rep,
            changes={"name": (f"旧{i}", f"新{i}")},
        )
    audit_record(actor=admin, action=AuditAction.CREATE, obj=stock.team)
    client.force_login(admin)
    with django_assert_max_num_queries(10):
        resp = client.get("/audit/")
    assert resp.status_code == 200
    assert resp.context["paginator"].count == 23
    assert len(resp.context["rows"]) == 20

    def count(query: str) -> int:
        return client.get("/audit/?" + query).context["paginator"].count

    assert count("object_type=org.department") == 1
    assert count("action=update") == 22
    assert count("actor=bob") == 22
    assert count("actor=ro") == 1
    assert count("q=华东") == 1
    assert count("date_from=2000-01-01&date_to=2000-12-31") == 0
    assert count("date_from=not-a-date") == 23
    # Paging keeps the filters.
    page2 = client.get("/audit/?actor=bob&page=2")
    assert len(page2.context["rows"]) == 2
    assert "actor=bob" in page2.context["page_query"]


def test_audit_export_is_recorded(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    client.force_login(admin)
    resp = client.get("/audit/?export=xlsx&action=update")
    assert resp.status_code == 200
    assert AuditLog.objects.filter(action=AuditAction.EXPORT, object_type="audit_log").count() == 1


def test_audit_for_object(stock) -> None:  # type: ignore[no-untyped-def]
    audit_record(
        actor=stock.manager_user,
        action=AuditAction.UPDATE,
        obj=stock.rep,
        changes={"phone": ("13800000001", "13900000002"), "name": ("甲", "乙")},
    )
    audit_record(
        actor=stock.manager_user,
        action=AuditAction.UPDATE,
        obj=stock.outsider,
        changes={"phone": ("3", "4")},
    )
    rows = audit_for_object(stock.rep, show_personal=True)
    assert {(r.field, r.before, r.after) for r in rows if r.action == AuditAction.UPDATE} == {
        ("phone", "13800000001", "13900000002"),
        ("name", "甲", "乙"),
    }
    assert all(r.object_id == str(stock.rep.pk) for r in rows)


def test_audit_for_object_masks_personal_fields_by_default(stock) -> None:  # type: ignore[no-untyped-def]
    audit_record(
        actor=stock.manager_user,
        action=AuditAction.UPDATE,
        obj=stock.rep,
        changes={"phone": ("13800000001", "13900000002"), "name": ("甲", "乙")},
    )
    rows = audit_for_object(stock.rep)
    assert {(r.field, r.before, r.after) for r in rows if r.action == AuditAction.UPDATE} == {
        ("phone", "138****0001", "139****0002"),
        ("name", "甲", "乙"),
    }
    # Masking is for display only: the stored row keeps the real values.
    assert AuditLog.objects.filter(field="phone", before="13800000001").exists()
