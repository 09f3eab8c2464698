"""API bearer tokens: issued on username/password (through the login throttle), stored
hashed, expiring, capped per user, revocable, and void once the password changes."""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.db import OperationalError
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record
from salesops.core.errors import ServiceError
from salesops.core.locks import no_lock_wait
from salesops.core.models import ApiToken, AuditAction, User
from salesops.core.selectors import live_tokens_for, password_fingerprint
from salesops.core.throttle import client_address, client_user_agent, login_authenticate

LABEL_MAX = 100

logger = logging.getLogger(__name__)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_hash(key: str) -> str:
    """The stored form of a plain token (what the API keeps on the request to revoke it)."""
    return _hash(key)


def token_issue(
    *,
    username: str,
    password: str,
    request: HttpRequest | None = None,
    label: str = "",
) -> tuple[str, ApiToken]:
    """Check the credentials (throttled, audited) and return (plain token, stored row).
    Past SALESOPS_API_TOKENS_PER_USER live tokens, the oldest are revoked."""
    user = login_authenticate(request=request, username=username, password=password, channel="api")
    key = secrets.token_urlsafe(32)
    now = timezone.now()
    address = client_address(request)
    row = ApiToken.objects.create(
        user=user,
        key_hash=_hash(key),
        expires_at=now + datetime.timedelta(days=settings.SALESOPS_API_TOKEN_DAYS),
        password_fingerprint=password_fingerprint(user),
        label=label.strip()[:LABEL_MAX],
        created_address=address or None,
        created_user_agent=client_user_agent(request),
    )
    _enforce_cap(user=user, keep=row, address=address)
    return key, row


def _enforce_cap(*, user: User, keep: ApiToken, address: str) -> None:
    cap = max(1, int(settings.SALESOPS_API_TOKENS_PER_USER))
    live = list(live_tokens_for(user).exclude(pk=keep.pk).values_list("pk", flat=True))
    surplus = live[cap - 1 :]
    if surplus:
        _revoke(
            user=user,
            actor=user,
            pks=surplus,
            address=address,
            reason=_("超过每人令牌上限 %(cap)d 个，撤销最早的令牌") % {"cap": cap},
        )


def _idle_expired(row: ApiToken, now: datetime.datetime) -> bool:
    idle_days = int(settings.SALESOPS_API_TOKEN_IDLE_DAYS)
    if idle_days <= 0:
        return False
    seen = row.last_used_at or row.created_at
    return seen < now - datetime.timedelta(days=idle_days)


def token_user(key: str) -> User | None:
    """The active user a token belongs to, or None (unknown, expired, revoked, idle too
    long, issued before the last password change, inactive)."""
    if not key or len(key) > 200:
        return None
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user", "user__role")
        .filter(key_hash=_hash(key), expires_at__gt=now, revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    if not constant_time_compare(row.password_fingerprint, password_fingerprint(row.user)):
        return None
    if _idle_expired(row, now):
        return None
    _touch(row)
    return row.user


def _revoke(*, user: User, actor: User, pks: list[int], address: str, reason: str) -> int:
    now = timezone.now()
    n = ApiToken.objects.filter(user=user, pk__in=pks, revoked_at__isnull=True).update(
        revoked_at=now
    )
    if n:
        audit_record(
            actor=actor,
            action=AuditAction.REVOKE,
            obj=user,
            note=_("撤销 API 令牌 %(n)d 个（id=%(ids)s）：%(reason)s；地址：%(address)s")
            % {
                "n": n,
                "ids": ",".join(str(pk) for pk in sorted(pks)),
                "reason": reason,
                "address": address or "-",
            },
        )
    return n


def token_revoke(*, user: User, pk: int, address: str = "") -> None:
    """The user revokes one of their own tokens (撤销). Another user's id is not found."""
    if not ApiToken.objects.filter(user=user, pk=pk, revoked_at__isnull=True).exists():
        raise ServiceError("not_found", _("令牌不存在或已撤销"), status=404)
    _revoke(user=user, actor=user, pks=[pk], address=address, reason=_("用户撤销"))


def token_revoke_current(*, user: User, key_hash: str, address: str = "") -> None:
    """DELETE /api/auth/token: the token the call was made with."""
    pks = list(
        ApiToken.objects.filter(user=user, key_hash=key_hash, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    _revoke(user=user, actor=user, pks=pks, address=address, reason=_("通过 API 退出"))


def token_revoke_all(*, user: User, actor: User, address: str = "", reason: str = "") -> int:
    """Every live token of the user (撤销全部, a password change)."""
    pks = list(
        ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True)
    )
    return _revoke(user=user, actor=actor, pks=pks, address=address, reason=reason or _("撤销全部"))


def tokens_purge(*, now: datetime.datetime) -> int:
    """Expired and revoked token rows (the scheduled purge); tokens void by a password
    change go once they are revoked or expire."""
    deleted, _detail = ApiToken.objects.filter(
        Q(expires_at__lt=now) | Q(revoked_at__isnull=False)
    ).delete()
    return deleted


def _touch(row: ApiToken) -> None:
    """Record the token's use, at most once per ``SALESOPS_TOKEN_TOUCH_SECONDS`` and
    never at the cost of the request: when another writer holds the lock (a long import
    on SQLite) the write is skipped at once, the next use after it records it. Without
    this every API call was a write and waited out the busy timeout behind an import."""
    every = int(settings.SALESOPS_TOKEN_TOUCH_SECONDS)
    if every <= 0:
        return
    now = timezone.now()
    due = now - datetime.timedelta(seconds=every)
    if row.last_used_at is not None and row.last_used_at > due:
        return
    try:
        with no_lock_wait():
            # conditional: of two requests at once only one writes
            ApiToken.objects.filter(
                Q(last_used_at__isnull=True) | Q(last_used_at__lte=due), pk=row.pk
            ).update(last_used_at=now)
    except OperationalError:
        logger.info("token %s: last use not recorded (database busy)", row.pk)
