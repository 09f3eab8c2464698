"""The list mechanism's newer parts on their own: day parsing and local-day bounds,
the capped count, batch posts on a core list, saved scenes kept per list."""

from __future__ import annotations

import datetime
import io
from typing import Any

import pytest
from django.db.models import Q
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from salesops.core import listing
from salesops.core.listing import DateRangeFilter, count_capped, paginate, parse_day
from salesops.core.models import AuditAction, AuditLog, RoleCode, SavedScene
from salesops.factories import CustomerFactory, DepartmentFactory, UserFactory, role
from salesops.org.models import Department


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_parse_day_reads_iso_slashes_and_chinese_and_nothing_else() -> None:
    day = datetime.date(2026, 10, 5)
    assert parse_day("2026-10-05") == day
    assert parse_day("2026/10/05") == day
    assert parse_day("2026年10月05日") == day
    assert parse_day("2026-02-30") is None
    assert parse_day("05/10/2026") is None
    assert parse_day("'; DROP TABLE x") is None


def test_a_datetime_range_covers_whole_local_days() -> None:
    q = DateRangeFilter("created", "创建时间", "created_at", is_datetime=True).q(
        datetime.date(2026, 10, 1), datetime.date(2026, 10, 5)
    )
    tz = timezone.get_current_timezone()
    start = datetime.datetime(2026, 10, 1, tzinfo=tz)
    end = datetime.datetime(2026, 10, 6, tzinfo=tz)
    assert q == Q(created_at__gte=start) & Q(created_at__lt=end)
    plain = DateRangeFilter("d", "日期", "order_date").q(None, datetime.date(2026, 10, 5))
    assert plain == Q(order_date__lte=datetime.date(2026, 10, 5))


def test_customers_created_on_a_local_day_late_at_night_count_for_that_day(stock) -> None:  # type: ignore[no-untyped-def]
    late = CustomerFactory(owner=stock.rep, name="深夜客户")
    tz = timezone.get_current_timezone()
    # 23:30 in Shanghai is 15:30 UTC the same day; 00:30 the next day is still 16:30 UTC.
    type(late).objects.filter(pk=late.pk).update(
        created_at=datetime.datetime(2026, 10, 5, 23, 30, tzinfo=tz)
    )
    early = CustomerFactory(owner=stock.rep, name="凌晨客户")
    type(early).objects.filter(pk=early.pk).update(
        created_at=datetime.datetime(2026, 10, 6, 0, 30, tzinfo=tz)
    )
    client = login(stock.rep_user)
    url = reverse("sales:customers")
    on_5th = client.get(url, {"created_from": "2026-10-05", "created_to": "2026-10-05"})
    assert [r["obj"].name for r in on_5th.context["rows"]] == ["深夜客户"]
    on_6th = client.get(url, {"created_from": "2026-10-06"})
    assert [r["obj"].name for r in on_6th.context["rows"]] == ["凌晨客户"]


@pytest.mark.django_db
def test_count_is_capped_unless_asked_to_be_exact(monkeypatch: Any) -> None:
    for i in range(12):
        DepartmentFactory(code=f"D{i:02d}")
    qs = Department.objects.order_by("code")
    monkeypatch.setattr(listing, "COUNT_CAP", 10)
    assert count_capped(qs) == (10, True)
    assert count_capped(qs, exact=True) == (12, False)
    monkeypatch.setattr(listing, "COUNT_CAP", 12)
    assert count_capped(qs) == (12, False)
    page = paginate(qs, size=5, page="3")
    assert (page.number, page.num_pages, page.has_next, len(page.rows)) == (3, 3, False, 2)
    monkeypatch.setattr(listing, "COUNT_CAP", 4)
    capped = paginate(qs, size=5, page="2")
    assert (capped.num_pages, capped.has_next, len(capped.rows)) == (None, True, 5)
    assert paginate(qs, size=5, page="x").number == 1
    assert paginate(qs, size=5, page="-3").number == 1


@pytest.mark.django_db
def test_audit_log_exports_selected_rows_and_a_non_admin_may_not() -> None:
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    for i in range(3):
        AuditLog.objects.create(action=AuditAction.UPDATE, object_type="x.y", object_id=str(i))
    keep = list(AuditLog.objects.order_by("id").values_list("pk", flat=True))[:2]
    client = login(admin)
    page = client.get(reverse("core:audit"))
    assert page.status_code == 200
    body = page.content.decode()
    assert 'id="list-select-all"' in body and 'id="list-reset"' in body
    resp = client.post(
        reverse("core:audit"),
        {"list_action": "batch", "batch": "export_selected", "ids": [str(i) for i in keep]},
    )
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(resp.streaming_content))).active
    ids = [r[4] for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(ids) == ["0", "1"]
    rep = UserFactory(username="rep-a", role=role(RoleCode.REP))
    denied = login(rep).post(
        reverse("core:audit"),
        {"list_action": "batch", "batch": "export_selected", "ids": [str(keep[0])]},
    )
    assert denied.status_code == 403


def test_a_saved_scene_belongs_to_one_list(stock) -> None:  # type: ignore[no-untyped-def]
    client = login(stock.rep_user)
    client.post(
        reverse("sales:orders") + "?q=SO2026", {"list_action": "save_scene", "name": "搜索"}
    )
    assert SavedScene.objects.get().list_key == "sales:orders"
    assert client.get(reverse("sales:returns")).context["saved_scenes"] == []
    assert [s["name"] for s in client.get(reverse("sales:orders")).context["saved_scenes"]] == [
        "搜索"
    ]


def test_an_unknown_list_post_is_refused(stock) -> None:  # type: ignore[no-untyped-def]
    resp = login(stock.rep_user).post(reverse("sales:orders"), {"list_action": "drop"})
    assert resp.status_code == 403


def test_the_approvals_inbox_keeps_its_first_tab_even_when_empty(stock) -> None:  # type: ignore[no-untyped-def]
    resp = login(stock.rep_user).get(reverse("core:approvals_inbox"))
    active = [s["key"] for s in resp.context["scene_links"] if s["active"]]
    assert active == ["pending"]


def test_list_posts_refuse_control_characters(stock) -> None:  # type: ignore[no-untyped-def]
    """A saved scene's name and a batch action's value go through the shared rule
    (core/text.py), as every form field does: nothing is saved, the user is told why."""
    client = login(stock.rep_user)
    resp = client.post(
        reverse("sales:orders"), {"list_action": "save_scene", "name": "搜\x1b索"}, follow=True
    )
    assert not SavedScene.objects.exists()
    assert "不能包含不可见的控制字符" in resp.content.decode()
    admin = UserFactory(username="admin-cc", role=role(RoleCode.ADMIN))
    row = AuditLog.objects.create(action=AuditAction.CREATE, object_type="x", object_id="1")
    batch = login(admin).post(
        reverse("core:audit"),
        {
            "list_action": "batch",
            "batch": "export_selected",
            "ids": [str(row.pk)],
            "value": "a\x00b",
        },
        follow=True,
    )
    assert batch.status_code == 200 and "不能包含不可见的控制字符" in batch.content.decode()
