"""API bearer tokens: issued on username/password, stored hashed, expiring."""

from __future__ import annotations

import datetime
import hashlib
import logging
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.db import OperationalError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.errors import ServiceError
from salesops.core.locks import no_lock_wait
from salesops.core.models import ApiToken, User

logger = logging.getLogger(__name__)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def token_issue(*, username: str, password: str) -> tuple[str, ApiToken]:
    """Check the credentials and return (plain token, stored row)."""
    user = authenticate(username=username, password=password)
    if user is None or not user.is_active:
        raise ServiceError("invalid_credentials", _("用户名或密码不正确"), status=401)
    key = secrets.token_urlsafe(32)
    row = ApiToken.objects.create(
        user=user,
        key_hash=_hash(key),
        expires_at=timezone.now() + datetime.timedelta(days=settings.SALESOPS_API_TOKEN_DAYS),
    )
    return key, row


def token_user(key: str) -> User | None:
    """The active user a token belongs to, or None (unknown, expired, inactive)."""
    if not key or len(key) > 200:
        return None
    row = (
        ApiToken.objects.select_related("user", "user__role")
        .filter(key_hash=_hash(key), expires_at__gt=timezone.now())
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    _touch(row)
    return row.user


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
