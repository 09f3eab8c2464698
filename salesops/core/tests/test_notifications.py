"""In-app notifications: notify, unread count, the page, mark read, the API."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from salesops.core.models import Notification
from salesops.core.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notify,
    notify_many,
    unread_count,
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    # PBKDF2 makes each stock user cost ~1 s; these tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _auth(client: Client, username: str) -> dict[str, str]:
    resp = client.post(
        "/api/auth/token",
        data=json.dumps({"username": username, "password": "pw-for-tests"}),
        content_type="application/json",
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {resp.json()['token']}"}


def test_notify_and_unread_count(stock) -> None:  # type: ignore[no-untyped-def]
    n = notify(user=stock.rep_user, title="你好", body="内容", url="/approvals/1/")
    notify_many(users=[stock.rep_user, stock.manager_user, stock.rep_user], title="群发")
    assert unread_count(stock.rep_user) == 2
    assert unread_count(stock.manager_user) == 1
    assert notification_mark_read(user=stock.rep_user, notification_id=n.pk).read_at is not None
    assert unread_count(stock.rep_user) == 1
    assert notification_mark_all_read(user=stock.rep_user) == 1
    assert unread_count(stock.rep_user) == 0
    assert unread_count(stock.manager_user) == 1


def test_page_lists_only_my_messages(stock, client: Client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for i in range(25):
        notify(user=stock.rep_user, title=f"消息{i}")
    notify(user=stock.manager_user, title="别人的")
    client.force_login(stock.rep_user)
    with django_assert_max_num_queries(10):
        resp = client.get("/notifications/")
    assert resp.status_code == 200
    assert [r["obj"].title for r in resp.context["rows"]][:2] == ["消息24", "消息23"]
    assert resp.context["paginator"].count == 25
    assert "别人的" not in resp.content.decode()
    assert client.get("/notifications/?scene=unread&q=消息3").context["paginator"].count == 1


def test_mark_read_htmx_and_open(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    mine = notify(user=stock.rep_user, title="a", url="/approvals/7/")
    other = notify(user=stock.manager_user, title="b")
    client.force_login(stock.rep_user)
    assert client.post(f"/notifications/{other.pk}/read/").status_code == 404
    resp = client.post(f"/notifications/{mine.pk}/read/", HTTP_HX_REQUEST="true")
    assert (resp.status_code, resp.content.decode()) == (200, "已读")
    mine2 = notify(user=stock.rep_user, title="c", url="https://evil.example/")
    resp = client.get(f"/notifications/{mine2.pk}/open/")
    assert resp["Location"] == "/notifications/"  # only local links are followed
    resp = client.get(f"/notifications/{mine.pk}/open/")
    assert resp["Location"] == "/approvals/7/"
    notify(user=stock.rep_user, title="d")
    resp = client.post("/notifications/read-all/", HTTP_HX_REQUEST="true")
    assert resp["HX-Redirect"] == "/notifications/"
    assert Notification.objects.filter(user=stock.rep_user, read_at__isnull=True).count() == 0
    assert Notification.objects.get(pk=other.pk).read_at is None


def test_api_list_and_read(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    a = notify(user=stock.rep_user, title="a")
    notify(user=stock.rep_user, title="b", body="正文")
    other = notify(user=stock.manager_user, title="x")
    alice = _auth(client, "alice")
    body = client.get("/api/notifications?page_size=1", **alice).json()
    assert (body["count"], body["unread"], body["page_size"]) == (2, 2, 1)
    assert body["items"][0]["title"] == "b"
    resp = client.post(f"/api/notifications/{a.pk}/read", **alice)
    assert (resp.status_code, resp.json()["read"]) == (200, True)
    assert client.post(f"/api/notifications/{other.pk}/read", **alice).status_code == 404
    assert client.get("/api/notifications?unread=true", **alice).json()["count"] == 1
    assert client.post("/api/notifications/read-all", **alice).json() == {"marked": 1}
