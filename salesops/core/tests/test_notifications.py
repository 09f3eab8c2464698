"""In-app notifications: notify, unread count, the page, mark read, the API."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator

import pytest
from django.apps import apps as django_apps
from django.test import Client
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext_lazy

from salesops.core.approvals import (
    StepSpec,
    approval_act,
    approval_flow_create,
    approval_submit,
    register_document_type,
)
from salesops.core.approvals.registry import unregister_document_type
from salesops.core.models import ApprovalTask, Notification
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
    # following the link (GET) writes nothing; the list's click (POST) marks it read
    assert Notification.objects.get(pk=mine2.pk).read_at is None
    resp = client.post(f"/notifications/{mine2.pk}/open/", HTTP_HX_REQUEST="true")
    assert (resp.status_code, resp["HX-Redirect"]) == (204, "/notifications/")
    assert Notification.objects.get(pk=mine2.pk).read_at is not None
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


# --- the reader's language ---------------------------------------------------------------

LANG_DOC = "test.language"


@pytest.fixture
def language_doc() -> Iterator[None]:
    register_document_type(
        LANG_DOC,
        label=gettext_lazy("推荐人变更"),  # a label with an English translation
        on_approved=lambda request, actor=None: None,
        on_rejected=lambda request, actor=None: None,
        url=lambda object_id: f"/x/{object_id}/",
    )
    yield
    unregister_document_type(LANG_DOC)
    translation.deactivate()


def _cells(client: Client, user, language: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """(title, body) of the user's messages as the API gives them in ``language``; the
    page shows the same words."""
    client.force_login(user)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    api = client.get("/api/notifications", **_auth(client, user.username)).json()["items"]
    shown = [(n["title"], n["body"]) for n in api]
    html = client.get("/notifications/").content.decode()
    for title, body in shown:
        assert escape(title) in html
        assert escape(body) in html
    return shown


def test_notifications_show_in_the_readers_language(stock, language_doc, client: Client) -> None:  # type: ignore[no-untyped-def]
    # given a one-step flow approved by the rep's manager
    approval_flow_create(
        actor=None,
        doc_type=LANG_DOC,
        name="f",
        steps=[StepSpec(name="经理", users=[stock.manager_user])],
    )
    # when the rep submits while using English
    with translation.override("en"):
        request = approval_submit(
            actor=stock.rep_user, doc_type=LANG_DOC, object_id="1", title="Q4"
        )
    # then the manager, reading in Chinese, gets it in Chinese; in English, in English
    assert _cells(client, stock.manager_user, "zh-hans") == [
        ("待审批：Q4", "alice 提交的推荐人变更等待您审批（经理）")
    ]
    assert _cells(client, stock.manager_user, "en") == [
        (
            "Awaiting approval: Q4",
            "Sponsor changes submitted by alice is awaiting your approval (经理)",
        )
    ]

    # when the manager approves while using Chinese, with a comment
    task = ApprovalTask.objects.get(request=request, approver=stock.manager_user)
    with translation.override("zh-hans"):
        approval_act(actor=stock.manager_user, task_id=task.pk, action="approve", comment="同意")
    # then the rep reads the outcome in English (the comment as typed), or in Chinese
    assert _cells(client, stock.rep_user, "en") == [("Approved: Q4", "同意")]
    assert _cells(client, stock.rep_user, "zh-hans") == [("审批已通过：Q4", "同意")]
    # the stored columns (search, exports) hold the default language
    stored = Notification.objects.get(user=stock.rep_user)
    assert (stored.title, stored.body) == ("审批已通过：Q4", "同意")
    assert stored.texts == {"zh-hans": ["审批已通过：Q4", "同意"], "en": ["Approved: Q4", "同意"]}


def test_plain_text_shows_as_written_in_every_language(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    notify(user=stock.rep_user, title="你好", body="内容")
    assert _cells(client, stock.rep_user, "en") == [("你好", "内容")]
    assert Notification.objects.get().texts == {}


def test_migration_localises_existing_titles_it_recognises(stock) -> None:  # type: ignore[no-untyped-def]
    # given rows stored before ``texts`` existed, in either language
    migration = importlib.import_module("salesops.core.migrations.0005_notification_texts")
    rows = [
        Notification.objects.create(user=stock.rep_user, title="Approved: Q4", body="ok"),
        Notification.objects.create(user=stock.rep_user, title="奖金疑问 #7 已关闭"),
        Notification.objects.create(user=stock.rep_user, title="别的消息", body="x"),
    ]
    # when the migration's data step runs
    migration._fill_texts(django_apps, None)
    # then the recognised titles exist in both languages, the others are left as stored
    texts = [Notification.objects.get(pk=r.pk).texts for r in rows]
    assert texts == [
        {"zh-hans": ["审批已通过：Q4", "ok"], "en": ["Approved: Q4", "ok"]},
        {"zh-hans": ["奖金疑问 #7 已关闭", ""], "en": ["Commission query #7 closed", ""]},
        {},
    ]
