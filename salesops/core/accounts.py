"""A user's own account: web login records (我的登录会话), ending other sessions, and
changing the password (which ends every other session and revokes every API token)."""

from __future__ import annotations

import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record
from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, User, UserSession
from salesops.core.selectors import password_fingerprint
from salesops.core.throttle import client_address, client_user_agent
from salesops.core.tokens import token_revoke_all


def _end_session(session_key: str) -> None:
    store = import_module(settings.SESSION_ENGINE).SessionStore
    store(session_key=session_key).delete()


def session_record_login(*, request: HttpRequest, user: User) -> UserSession | None:
    """After ``login()``: remember this browser session (address, client, expiry), so the
    user sees it on 我的登录会话 and can end it from elsewhere."""
    key = request.session.session_key
    if not key:
        return None
    row, _created = UserSession.objects.update_or_create(
        session_key=key,
        defaults={
            "user": user,
            "expires_at": request.session.get_expiry_date(),
            "address": client_address(request) or None,
            "user_agent": client_user_agent(request),
            "password_fingerprint": password_fingerprint(user),
        },
    )
    return row


def session_record_logout(*, request: HttpRequest, user: User) -> None:
    """Before ``logout()``: forget this session's record and audit the logout."""
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).delete()
    audit_record(
        actor=user,
        action=AuditAction.LOGOUT,
        obj=user,
        note=_("地址：%(address)s") % {"address": client_address(request) or "-"},
    )


def _end_sessions(*, user: User, rows: list[UserSession]) -> int:
    for row in rows:
        _end_session(row.session_key)
    UserSession.objects.filter(user=user, pk__in=[r.pk for r in rows]).delete()
    return len(rows)


@transaction.atomic
def session_revoke(*, request: HttpRequest, user: User, pk: int) -> None:
    """End one of the user's other web sessions (撤销). The current one is ended by 退出."""
    row = UserSession.objects.filter(user=user, pk=pk).first()
    if row is None:
        raise ServiceError("not_found", _("会话不存在或已结束"), status=404)
    if row.session_key == request.session.session_key:
        raise ServiceError("current_session", _("当前会话请使用“退出”结束"))
    _end_sessions(user=user, rows=[row])
    audit_record(
        actor=user,
        action=AuditAction.REVOKE,
        obj=user,
        note=_("结束网页会话 1 个（登录于 %(at)s，地址 %(from)s）；地址：%(address)s")
        % {
            "at": timezone.localtime(row.created_at).strftime("%Y-%m-%d %H:%M"),
            "from": row.address or "-",
            "address": client_address(request) or "-",
        },
    )


@transaction.atomic
def sessions_end_others(*, request: HttpRequest, user: User, reason: str = "") -> int:
    """退出其他设备: every web session of the user except this one."""
    current = request.session.session_key or ""
    rows = list(UserSession.objects.filter(user=user).exclude(session_key=current))
    n = _end_sessions(user=user, rows=rows)
    if n:
        audit_record(
            actor=user,
            action=AuditAction.REVOKE,
            obj=user,
            note=_("结束其他网页会话 %(n)d 个：%(reason)s；地址：%(address)s")
            % {
                "n": n,
                "reason": reason or _("退出其他设备"),
                "address": client_address(request) or "-",
            },
        )
    return n


@transaction.atomic
def password_change(*, request: HttpRequest, user: User, new_password: str) -> None:
    """The user sets a new password (already validated by the form, validators included).
    Every API token is revoked and every other web session ended; this session stays
    logged in (``update_session_auth_hash``). The password itself is never logged."""
    user.set_password(new_password)
    user.save(update_fields=["password"])
    address = client_address(request)
    audit_record(
        actor=user,
        action=AuditAction.PASSWORD,
        obj=user,
        note=_("用户修改了自己的密码；地址：%(address)s") % {"address": address or "-"},
    )
    old_key = request.session.session_key
    update_session_auth_hash(request, user)  # cycles the session key
    UserSession.objects.filter(session_key=old_key).update(
        session_key=request.session.session_key or "",
        password_fingerprint=password_fingerprint(user),
    )
    reason = _("修改密码")
    token_revoke_all(user=user, actor=user, address=address, reason=reason)
    sessions_end_others(request=request, user=user, reason=reason)


def accounts_purge(*, now: datetime.datetime) -> str:
    """Scheduled job: expired and revoked API tokens, ended web-session records, and
    login counters whose window and lock are over."""
    from salesops.core.throttle import throttle_purge
    from salesops.core.tokens import tokens_purge

    tokens = tokens_purge(now=now)
    sessions, _detail = UserSession.objects.filter(expires_at__lt=now).delete()
    counters = throttle_purge(now=now)
    return _("已清理令牌 %(t)d 个、会话记录 %(s)d 个、登录计数 %(c)d 个") % {
        "t": tokens,
        "s": sessions,
        "c": counters,
    }
