"""In-app notifications (站内消息): created by services, read in the header badge and on
the notifications page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from salesops.core.errors import NotFoundError
from salesops.core.models import Notification, User

TITLE_MAX = 200
URL_MAX = 300

# What a message says: plain text (e.g. what a person typed) is shown as it is; a callable
# such as ``lambda: _("审批已通过：%(t)s") % {"t": title}`` is rendered in every UI
# language, so the reader sees it in theirs rather than in the sender's.
Text = str | Callable[[], str]


def _render(text: Text) -> str:
    return str(text() if callable(text) else text)


def _fields(title: Text, body: Text, url: str) -> dict[str, Any]:
    with translation.override(settings.LANGUAGE_CODE):
        fields: dict[str, Any] = {
            "title": _render(title)[:TITLE_MAX],
            "body": _render(body),
            "url": str(url)[:URL_MAX],
            "texts": {},
        }
    if callable(title) or callable(body):
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                fields["texts"][code] = [_render(title)[:TITLE_MAX], _render(body)]
    return fields


def notify(*, user: User, title: Text, body: Text = "", url: str = "") -> Notification:
    """One message to one user (inside the caller's transaction)."""
    return Notification.objects.create(user=user, **_fields(title, body, url))


def notify_many(
    *, users: Iterable[User], title: Text, body: Text = "", url: str = ""
) -> list[Notification]:
    """The same message to several users in one insert (each user once)."""
    fields = _fields(title, body, url)
    seen: set[int] = set()
    rows = []
    for user in users:
        if user.pk in seen:
            continue
        seen.add(user.pk)
        rows.append(Notification(user=user, **fields))
    return Notification.objects.bulk_create(rows)


def unread_count(user: User) -> int:
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def notifications_for(user: User, *, unread_only: bool = False) -> QuerySet[Notification]:
    """The user's own notifications, newest first (nobody reads anyone else's)."""
    qs = Notification.objects.filter(user=user)
    if unread_only:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-at", "-id")


def notification_for_user(user: User, notification_id: int | str) -> Notification:
    """The access helper: a notification of another user is simply not found."""
    try:
        pk = int(notification_id)
    except (TypeError, ValueError):
        pk = 0
    row = Notification.objects.filter(user=user, pk=pk).first()
    if row is None:
        raise NotFoundError(_("消息不存在"))
    return row


@transaction.atomic
def notification_mark_read(*, user: User, notification_id: int | str) -> Notification:
    row = notification_for_user(user, notification_id)
    if row.read_at is None:
        row.read_at = timezone.now()
        Notification.objects.filter(pk=row.pk, read_at__isnull=True).update(read_at=row.read_at)
    return row


@transaction.atomic
def notification_mark_all_read(*, user: User) -> int:
    """Mark every unread message of the user read; returns how many changed."""
    return Notification.objects.filter(user=user, read_at__isnull=True).update(
        read_at=timezone.now()
    )
