"""A token's use is recorded at most once per SALESOPS_TOKEN_TOUCH_SECONDS (issue 11)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesops.core.models import ApiToken
from salesops.core.selectors import password_fingerprint
from salesops.core.tokens import _hash, token_user
from salesops.factories import UserFactory

pytestmark = pytest.mark.django_db

UPDATE_RE = re.compile(r"^\s*UPDATE\b", re.IGNORECASE)


def _token(last_used_at: dt.datetime | None) -> ApiToken:
    user = UserFactory()
    return ApiToken.objects.create(
        user=user,
        password_fingerprint=password_fingerprint(user),
        key_hash=_hash("k"),
        expires_at=timezone.now() + dt.timedelta(days=1),
        last_used_at=last_used_at,
    )


def _updates(ctx: CaptureQueriesContext) -> int:
    return sum(1 for q in ctx.captured_queries if UPDATE_RE.match(q["sql"]))


def test_first_use_is_recorded_then_not_again_within_the_interval(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_TOKEN_TOUCH_SECONDS = 300
    row = _token(None)
    with CaptureQueriesContext(connection) as first:
        assert token_user("k") == row.user
    row.refresh_from_db()
    assert row.last_used_at is not None
    recorded = row.last_used_at
    with CaptureQueriesContext(connection) as second:
        assert token_user("k") == row.user
    row.refresh_from_db()
    assert (_updates(first), _updates(second), row.last_used_at) == (1, 0, recorded)


def test_use_after_the_interval_is_recorded(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_TOKEN_TOUCH_SECONDS = 300
    old = timezone.now() - dt.timedelta(seconds=301)
    row = _token(old)
    token_user("k")
    row.refresh_from_db()
    assert row.last_used_at is not None and row.last_used_at > old


def test_zero_interval_never_writes(settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_TOKEN_TOUCH_SECONDS = 0
    row = _token(None)
    with CaptureQueriesContext(connection) as ctx:
        assert token_user("k") == row.user
    row.refresh_from_db()
    assert (_updates(ctx), row.last_used_at) == (0, None)
