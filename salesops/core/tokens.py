"""API bearer tokens: issued on username/password, stored hashed, expiring."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.contrib.auth import authenticate
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.errors import ServiceError
from salesops.core.models import ApiToken, User


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
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=timezone.now())
    return row.user
