"""Accounts (issue 11): throttled logins (web and API, per account and per address), the
admins' unlock page, revocable and capped tokens, tokens void after a password change,
my sessions, the password page with Django's validators, and the audit rows of each."""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesops.core.accounts import accounts_purge
from salesops.core.models import (
    ApiToken,
    AuditAction,
    AuditLog,
    LoginThrottle,
    RoleCode,
    ThrottleScope,
    User,
    UserSession,
)
from salesops.factories import UserFactory, role

PASSWORD = "pw-for-tests"
LOCKED = "登录失败次数过多，账号已临时锁定，请 15 分钟后再试或联系管理员解锁"


def _web_login(client: Client, username: str, password: str, address: str = "10.0.0.1") -> Any:
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=address)


def _api_token(
    client: Client, username: str, password: str, address: str = "10.0.0.1", **extra: str
) -> Any:
    return client.post(
        "/api/auth/token",
        data=json.dumps(
            {
                "username": username,
                "password": password,
                **{k: v for k, v in extra.items() if not k.startswith("HTTP_")},
            }
        ),
        content_type="application/json",
        REMOTE_ADDR=address,
        HTTP_USER_AGENT="report-script/1.0",
        **{k: v for k, v in extra.items() if k.startswith("HTTP_")},  # headers
    )


def _me(client: Client, token: str) -> int:
    return client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}").status_code


@pytest.fixture
def admin_client(db: None) -> Client:
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    c = Client()
    c.force_login(admin)
    return c


# ------------------------------------------------------------------ throttling


def test_web_thirty_wrong_passwords_then_right_one_is_refused(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        resp = _web_login(client, "alice", f"wrong-{i}", address=f"10.1.0.{i + 1}")
        assert resp.status_code == 200
    # Right password, from yet another address: the account is locked.
    resp = _web_login(client, "alice", PASSWORD, address="10.9.9.9")
    assert resp.status_code == 200
    assert "_auth_user_id" not in client.session
    assert LOCKED in resp.content.decode()
    row = LoginThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key="alice")
    assert row.failures == 5  # counting stops at the lock: the rest were refused unchecked
    assert row.locked_until is not None


def test_api_thirty_wrong_passwords_then_right_one_is_refused(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    codes = [
        _api_token(client, "alice", f"wrong-{i}", address=f"10.2.0.{i + 1}").status_code
        for i in range(30)
    ]
    assert codes == [401] * 5 + [429] * 25
    resp = _api_token(client, "alice", PASSWORD, address="10.9.9.9")
    assert resp.status_code == 429
    assert resp.json() == {"code": "login_locked", "message": LOCKED, "fields": []}
    assert not ApiToken.objects.filter(user=stock.rep_user).exists()


def test_web_and_api_share_the_account_count(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        _web_login(client, "Alice", f"wrong-{i}")  # the username is normalised
    for i in range(2):
        _api_token(client, "alice ", f"wrong-{i}")
    assert _api_token(client, "alice", PASSWORD).status_code == 429


def test_address_lockout_refuses_every_account_from_that_address(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    # 30 guesses at 30 different accounts from one address: no account reaches its limit,
    # the address does (20).
    for i in range(30):
        _web_login(client, f"nobody{i}", "guess", address="192.0.2.7")
    row = LoginThrottle.objects.get(scope=ThrottleScope.ADDRESS, key="192.0.2.7")
    assert row.failures == 20
    assert not LoginThrottle.objects.filter(
        scope=ThrottleScope.ACCOUNT, locked_until__isnull=False
    ).exists()
    resp = _web_login(client, "alice", PASSWORD, address="192.0.2.7")
    assert LOCKED in resp.content.decode()
    assert "_auth_user_id" not in client.session
    assert _api_token(client, "bob", PASSWORD, address="192.0.2.7").status_code == 429
    # The same accounts from another address are fine.
    assert _api_token(client, "alice", PASSWORD, address="192.0.2.8").status_code == 200
    resp = _web_login(client, "bob", PASSWORD, address="192.0.2.8")
    assert resp.status_code == 302
    assert client.session["_auth_user_id"] == str(stock.manager_user.pk)


def test_success_clears_the_account_count(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(4):
        _api_token(client, "alice", f"wrong-{i}")
    assert _api_token(client, "alice", PASSWORD).status_code == 200
    for i in range(4):
        _api_token(client, "alice", f"again-{i}")
    assert _api_token(client, "alice", PASSWORD).status_code == 200


def test_failures_older_than_the_window_are_forgotten(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(4):
        _api_token(client, "alice", f"wrong-{i}")
    LoginThrottle.objects.update(
        window_started_at=timezone.now() - datetime.timedelta(minutes=16),
        last_failure_at=timezone.now() - datetime.timedelta(minutes=16),
    )
    _api_token(client, "alice", "wrong-again")
    assert LoginThrottle.objects.get(scope=ThrottleScope.ACCOUNT).failures == 1
    assert _api_token(client, "alice", PASSWORD).status_code == 200


def test_lock_expires_by_itself(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        _api_token(client, "alice", f"wrong-{i}")
    assert _api_token(client, "alice", PASSWORD).status_code == 429
    LoginThrottle.objects.update(locked_until=timezone.now() - datetime.timedelta(seconds=1))
    assert _api_token(client, "alice", PASSWORD).status_code == 200


def test_limits_come_from_settings(stock, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_LOGIN_FAILURE_LIMIT = 2
    settings.SALESOPS_LOGIN_LOCKOUT_MINUTES = 30
    _api_token(client, "alice", "wrong-1")
    resp = _api_token(client, "alice", "wrong-2")
    assert resp.status_code == 401
    resp = _api_token(client, "alice", PASSWORD)
    assert resp.status_code == 429
    assert "请 30 分钟后再试" in resp.json()["message"]


def test_locked_message_in_english(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        _api_token(client, "alice", f"wrong-{i}")
    resp = client.post(
        "/api/auth/token",
        data=json.dumps({"username": "alice", "password": PASSWORD}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert resp.status_code == 429
    assert resp.json()["message"].startswith("Too many failed logins")


def test_forwarded_for_only_when_trusted(stock, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    _api_token(client, "nobody", "x", address="127.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4")
    assert LoginThrottle.objects.filter(scope=ThrottleScope.ADDRESS, key="127.0.0.1").exists()
    settings.SALESOPS_TRUST_X_FORWARDED_FOR = True
    client.post(
        "/api/auth/token",
        data=json.dumps({"username": "nobody", "password": "x"}),
        content_type="application/json",
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 1.2.3.4",
    )
    assert LoginThrottle.objects.filter(scope=ThrottleScope.ADDRESS, key="1.2.3.4").exists()


# ------------------------------------------------------------------ unlock (admins)


def _lock_alice(client: Client) -> None:
    for i in range(5):
        _web_login(client, "alice", f"wrong-{i}", address=f"10.3.0.{i + 1}")


def test_admin_unlock_lets_the_right_password_in(
    stock, client: Client, admin_client: Client
) -> None:  # type: ignore[no-untyped-def]
    _lock_alice(client)
    row = LoginThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key="alice")
    page = admin_client.get("/system/lockouts/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "alice" in body and "10.3.0.5" in body
    assert f"/system/lockouts/{row.pk}/unlock/" in body
    resp = admin_client.post(f"/system/lockouts/{row.pk}/unlock/")
    assert resp.status_code == 302
    assert not LoginThrottle.objects.filter(pk=row.pk).exists()
    unlock = AuditLog.objects.get(action=AuditAction.UNLOCK)
    assert unlock.actor is not None and unlock.actor.username == "root"
    assert "alice" in unlock.note
    resp = _web_login(client, "alice", PASSWORD, address="10.3.0.6")
    assert resp.status_code == 302
    assert client.session["_auth_user_id"] == str(stock.rep_user.pk)


def test_admin_unlock_selected_as_batch(stock, client: Client, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    _lock_alice(client)
    row = LoginThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key="alice")
    resp = admin_client.post(
        "/system/lockouts/", {"list_action": "batch", "batch": "unlock", "ids": [row.pk]}
    )
    assert resp.status_code == 302
    assert not LoginThrottle.objects.filter(pk=row.pk).exists()
    assert _api_token(client, "alice", PASSWORD).status_code == 200


def test_non_admin_cannot_see_or_unlock(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    _lock_alice(client)
    row = LoginThrottle.objects.get(scope=ThrottleScope.ACCOUNT, key="alice")
    bob = Client()
    bob.force_login(stock.manager_user)
    assert bob.get("/system/lockouts/").status_code == 403
    assert bob.post(f"/system/lockouts/{row.pk}/unlock/").status_code == 403
    assert (
        bob.post(
            "/system/lockouts/", {"list_action": "batch", "batch": "unlock", "ids": [row.pk]}
        ).status_code
        == 403
    )
    assert LoginThrottle.objects.filter(pk=row.pk, locked_until__isnull=False).exists()
    assert not AuditLog.objects.filter(action=AuditAction.UNLOCK).exists()
    # …and no menu entry for them.
    assert "/system/lockouts/" not in bob.get("/").content.decode()


def test_lockout_list_search_filter_and_bounded_queries(db, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    until = now + datetime.timedelta(minutes=10)

    def make(n: int) -> None:
        LoginThrottle.objects.bulk_create(
            LoginThrottle(
                scope=ThrottleScope.ACCOUNT if i % 2 else ThrottleScope.ADDRESS,
                key=f"user{i}" if i % 2 else f"10.8.{i // 250}.{i % 250}",
                failures=5,
                window_started_at=now,
                last_failure_at=now,
                locked_at=now,
                locked_until=until,
            )
            for i in range(LoginThrottle.objects.count(), LoginThrottle.objects.count() + n)
        )

    make(3)
    with CaptureQueriesContext(connection) as small:
        assert admin_client.get("/system/lockouts/").status_code == 200
    make(120)
    with CaptureQueriesContext(connection) as big:
        resp = admin_client.get("/system/lockouts/")
    assert resp.status_code == 200
    assert len(big.captured_queries) == len(small.captured_queries)
    assert "共 123 条" in resp.content.decode()
    resp = admin_client.get("/system/lockouts/", {"q": "user7", "scope": "account"})
    body = resp.content.decode()
    assert "user7" in body and "user9" not in body
    # Expired locks are not listed.
    LoginThrottle.objects.update(locked_until=now - datetime.timedelta(seconds=1))
    assert "共 0 条" in admin_client.get("/system/lockouts/").content.decode()


# ------------------------------------------------------------------ tokens


def test_delete_token_revokes_it(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    token = _api_token(client, "alice", PASSWORD).json()["token"]
    other = _api_token(client, "alice", PASSWORD).json()["token"]
    resp = client.delete(
        "/api/auth/token", HTTP_AUTHORIZATION=f"Bearer {token}", REMOTE_ADDR="10.0.0.9"
    )
    assert resp.status_code == 204
    assert _me(client, token) == 401
    assert _me(client, other) == 200  # only the token used for the call
    assert client.delete("/api/auth/token", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    revoke = AuditLog.objects.get(action=AuditAction.REVOKE)
    assert revoke.actor == stock.rep_user
    assert "10.0.0.9" in revoke.note


def test_password_change_voids_old_tokens_by_any_path(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    token = _api_token(client, "alice", PASSWORD).json()["token"]
    assert _me(client, token) == 200
    # An admin's reset in a shell: no service, no signal.
    user = User.objects.get(username="alice")
    user.set_password("another-long-passphrase")
    user.save()
    assert _me(client, token) == 401
    fresh = _api_token(client, "alice", "another-long-passphrase").json()["token"]
    assert _me(client, fresh) == 200


def test_deactivated_user_token_fails(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    token = _api_token(client, "alice", PASSWORD).json()["token"]
    User.objects.filter(username="alice").update(is_active=False)
    assert _me(client, token) == 401


def test_eleventh_token_revokes_the_oldest(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    tokens = [_api_token(client, "alice", PASSWORD).json()["token"] for _ in range(10)]
    assert all(_me(client, t) == 200 for t in tokens)
    eleventh = _api_token(client, "alice", PASSWORD).json()["token"]
    assert _me(client, tokens[0]) == 401
    assert [_me(client, t) for t in tokens[1:]] == [200] * 9
    assert _me(client, eleventh) == 200
    assert ApiToken.objects.filter(user=stock.rep_user, revoked_at__isnull=True).count() == 10
    assert AuditLog.objects.filter(action=AuditAction.REVOKE, note__contains="上限").count() == 1


def test_token_cap_from_settings(stock, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_API_TOKENS_PER_USER = 2
    a, b, c = (_api_token(client, "alice", PASSWORD).json()["token"] for _ in range(3))
    assert [_me(client, t) for t in (a, b, c)] == [401, 200, 200]


def test_token_lifetime_and_idle_timeout(stock, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_API_TOKEN_DAYS = 2
    resp = _api_token(client, "alice", PASSWORD)
    row = ApiToken.objects.get()
    assert row.expires_at - row.created_at == pytest.approx(
        datetime.timedelta(days=2), abs=datetime.timedelta(seconds=5)
    )
    token = resp.json()["token"]
    settings.SALESOPS_API_TOKEN_IDLE_DAYS = 1
    assert _me(client, token) == 200
    ApiToken.objects.update(last_used_at=timezone.now() - datetime.timedelta(days=1, minutes=1))
    assert _me(client, token) == 401
    settings.SALESOPS_API_TOKEN_IDLE_DAYS = 0
    assert _me(client, token) == 200


def test_token_label_and_origin_recorded(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    _api_token(client, "alice", PASSWORD, address="203.0.113.5", label="报表脚本")
    row = ApiToken.objects.get()
    assert (row.label, row.created_address, row.created_user_agent) == (
        "报表脚本",
        "203.0.113.5",
        "report-script/1.0",
    )
    resp = _api_token(client, "alice", PASSWORD, label="bad\x07label")
    assert resp.status_code == 422


# ------------------------------------------------------------------ my sessions


def test_sessions_page_lists_and_revokes_tokens(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    t1 = _api_token(client, "alice", PASSWORD, label="脚本一").json()["token"]
    t2 = _api_token(client, "alice", PASSWORD, label="脚本二").json()["token"]
    _api_token(client, "bob", PASSWORD, label="鲍勃的脚本")
    browser = Client()
    browser.force_login(stock.rep_user)
    body = browser.get("/account/sessions/").content.decode()
    assert "脚本一" in body and "脚本二" in body and "report-script/1.0" in body
    assert "鲍勃的脚本" not in body
    first = ApiToken.objects.get(label="脚本一")
    assert browser.post("/account/tokens/revoke/", {"pk": first.pk}).status_code == 302
    assert _me(client, t1) == 401
    assert _me(client, t2) == 200
    # Someone else's token id: not found, nothing revoked.
    bobs = ApiToken.objects.get(label="鲍勃的脚本")
    browser.post("/account/tokens/revoke/", {"pk": bobs.pk})
    assert ApiToken.objects.get(pk=bobs.pk).revoked_at is None
    assert browser.post("/account/tokens/revoke-all/").status_code == 302
    assert _me(client, t2) == 401
    assert "脚本二" not in browser.get("/account/sessions/").content.decode()


def test_sessions_page_lists_and_ends_other_web_sessions(stock) -> None:  # type: ignore[no-untyped-def]
    laptop, phone, tablet = Client(), Client(), Client()
    for c, ip in ((laptop, "10.0.0.1"), (phone, "10.0.0.2"), (tablet, "10.0.0.3")):
        assert _web_login(c, "alice", PASSWORD, address=ip).status_code == 302
    assert UserSession.objects.filter(user=stock.rep_user).count() == 3
    body = laptop.get("/account/sessions/").content.decode()
    assert "10.0.0.2" in body and "10.0.0.3" in body
    phone_row = UserSession.objects.get(address="10.0.0.2")
    assert laptop.post("/account/sessions/revoke/", {"pk": phone_row.pk}).status_code == 302
    assert phone.get("/").status_code == 302  # back to the login page
    assert tablet.get("/").status_code == 200
    assert laptop.post("/account/sessions/end-others/").status_code == 302
    assert tablet.get("/").status_code == 302
    assert laptop.get("/").status_code == 200
    assert list(UserSession.objects.values_list("address", flat=True)) == ["10.0.0.1"]
    assert AuditLog.objects.filter(action=AuditAction.REVOKE).count() == 2
    # Logging out forgets the record.
    laptop.post("/logout/")
    assert not UserSession.objects.exists()
    assert AuditLog.objects.filter(action=AuditAction.LOGOUT).count() == 1


def test_sessions_page_queries_bounded(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    browser = Client()
    _web_login(browser, "alice", PASSWORD)
    _api_token(client, "alice", PASSWORD)
    with CaptureQueriesContext(connection) as small:
        browser.get("/account/sessions/")
    for _ in range(8):
        _api_token(client, "alice", PASSWORD)
        _web_login(Client(), "alice", PASSWORD)
    with CaptureQueriesContext(connection) as big:
        body = browser.get("/account/sessions/").content.decode()
    assert body.count('class="token-row"') == 9
    assert body.count("session-other") == 8
    assert len(big.captured_queries) == len(small.captured_queries)


def test_sessions_page_needs_login(db, client: Client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/account/sessions/").status_code == 302
    assert client.post("/account/tokens/revoke-all/").status_code == 302


# ------------------------------------------------------------------ password


def test_password_change_keeps_this_session_and_ends_the_rest(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    token = _api_token(client, "alice", PASSWORD).json()["token"]
    here, elsewhere = Client(), Client()
    _web_login(here, "alice", PASSWORD, address="10.0.0.1")
    _web_login(elsewhere, "alice", PASSWORD, address="10.0.0.2")
    resp = here.post(
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-passphrase",
            "new_password2": "a-much-better-passphrase",
        },
        REMOTE_ADDR="10.0.0.1",
    )
    assert resp.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/").status_code == 302
    assert _me(client, token) == 401
    assert list(UserSession.objects.values_list("address", flat=True)) == ["10.0.0.1"]
    assert UserSession.objects.get().session_key == here.session.session_key
    assert User.objects.get(username="alice").check_password("a-much-better-passphrase")
    row = AuditLog.objects.get(action=AuditAction.PASSWORD)
    assert row.actor == stock.rep_user and "10.0.0.1" in row.note
    # No password, old or new, anywhere in the log.
    for text in AuditLog.objects.values_list("note", "before", "after", "object_repr"):
        assert not any(p in " ".join(text) for p in (PASSWORD, "a-much-better-passphrase"))


@pytest.mark.parametrize(
    ("new", "why"),
    [
        ("short-pw", "至少"),  # MinimumLength 10
        ("1234567890123", "只包含数字"),  # Numeric
        ("password123", "太常见"),  # Common
        ("alicewonderland1", "相似"),  # UserAttributeSimilarity (the e-mail)
    ],
)
def test_password_validators_refuse(stock, new: str, why: str) -> None:  # type: ignore[no-untyped-def]
    User.objects.filter(username="alice").update(email="alicewonderland@example.com")
    c = Client()
    c.force_login(stock.rep_user)
    resp = c.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert resp.status_code == 200
    assert why in resp.content.decode()
    assert User.objects.get(username="alice").check_password(PASSWORD)


def test_password_change_needs_the_old_password(stock) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(stock.rep_user)
    new = "a-much-better-passphrase"
    resp = c.post(
        "/account/password/",
        {"old_password": "wrong", "new_password1": new, "new_password2": new},
    )
    assert resp.status_code == 200
    assert User.objects.get(username="alice").check_password(PASSWORD)


def test_user_menu_links(stock) -> None:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(stock.rep_user)
    body = c.get("/").content.decode()
    assert 'href="/account/sessions/"' in body and 'href="/account/password/"' in body
    assert c.get("/account/password/").status_code == 200


# ------------------------------------------------------------------ audit


def test_every_login_event_is_audited_with_the_address(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    _web_login(client, "alice", PASSWORD, address="198.51.100.1")
    _api_token(client, "alice", PASSWORD, address="198.51.100.2")
    for i in range(5):
        _api_token(client, "alice", f"secret-guess-{i}", address="198.51.100.3")
    _api_token(client, "alice", PASSWORD, address="198.51.100.4")  # refused: locked
    logins = AuditLog.objects.filter(action=AuditAction.LOGIN).order_by("id")
    assert [r.note for r in logins] == [
        "地址：198.51.100.1；方式：网页",
        "地址：198.51.100.2；方式：API",
    ]
    assert all(r.actor == stock.rep_user for r in logins)
    failures = AuditLog.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("id")
    assert failures.count() == 6
    assert {r.object_repr for r in failures} == {"alice"}
    assert "198.51.100.4" in failures.last().note  # type: ignore[union-attr]
    lockout = AuditLog.objects.get(action=AuditAction.LOCKOUT)
    assert "alice" in lockout.note and "198.51.100.3" in lockout.note
    for row in AuditLog.objects.all():
        assert "secret-guess" not in f"{row.note}{row.before}{row.after}{row.object_repr}"


# ------------------------------------------------------------------ purge


def test_purge_job_removes_dead_rows_only(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    live = _api_token(client, "alice", PASSWORD).json()["token"]
    revoked = _api_token(client, "alice", PASSWORD).json()["token"]
    client.delete("/api/auth/token", HTTP_AUTHORIZATION=f"Bearer {revoked}")
    _api_token(client, "nobody", "x")
    now = timezone.now()
    text = accounts_purge(now=now + datetime.timedelta(minutes=20))
    assert "令牌 1 个" in text and "登录计数 2 个" in text
    assert _me(client, live) == 200
    assert ApiToken.objects.count() == 1
    assert not LoginThrottle.objects.exists()


def test_sessions_page_names_the_browser(stock) -> None:  # type: ignore[no-untyped-def]
    firefox = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0"
    laptop, phone = Client(HTTP_USER_AGENT=firefox), Client(HTTP_USER_AGENT="curl/8.1")
    assert _web_login(laptop, "alice", PASSWORD).status_code == 302
    assert _web_login(phone, "alice", PASSWORD, address="10.0.0.2").status_code == 302
    body = laptop.get("/account/sessions/").content.decode()
    assert "Firefox 120 · macOS" in body and "curl/8.1" in body
    assert f'title="{firefox}"' in body  # the whole header stays one hover away
