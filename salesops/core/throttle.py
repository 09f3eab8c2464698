"""Login throttling for the login page and POST /api/auth/token, per account and per
client address, stored in the database (``LoginThrottle``) so every web process and the
API share one count, and an admin can see and lift a lockout.

Why our own and not django-axes: axes needs ``request`` in every ``authenticate()`` call
(Django's test client ``login()``, our token service), plugs in as an authentication
backend plus middleware and keeps its own models and admin; what we need is two counters,
a lockout list with an audited unlock and the audit rows of issue 11, in about the space
of axes' configuration.

Rules: ``SALESOPS_LOGIN_FAILURE_LIMIT`` failures for one account (from any address), or
``SALESOPS_LOGIN_ADDRESS_FAILURE_LIMIT`` failures from one address (for any accounts; an
office behind one NAT address shares it, so its limit is higher), within
``SALESOPS_LOGIN_LOCKOUT_MINUTES`` lock that account / address for that many minutes.
While locked nothing is checked: the right password is refused too. A successful login
clears the account's count (not the address's, or one valid account would let an
address spray guesses at the others).
"""

from __future__ import annotations

import datetime
import ipaddress
import math

from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.access import viewer_for
from salesops.core.audit import audit_record
from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, LoginThrottle, ThrottleScope, User

USERNAME_MAX = 150
USER_AGENT_MAX = 300


def client_address(request: HttpRequest | None) -> str:
    """The client's IP address: REMOTE_ADDR, or behind a reverse proxy that appends the
    client to X-Forwarded-For (nginx ``$proxy_add_x_forwarded_for``) the last entry, when
    SALESOPS_TRUST_X_FORWARDED_FOR is on. "" when unknown or not an IP address."""
    if request is None:
        return ""
    raw = request.META.get("REMOTE_ADDR", "")
    if settings.SALESOPS_TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            raw = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(raw))
    except ValueError:
        return ""


def client_user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return str(request.META.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]


def normalise_username(username: str) -> str:
    return username.strip().casefold()[:USERNAME_MAX]


def _lockout_minutes() -> int:
    return max(1, int(settings.SALESOPS_LOGIN_LOCKOUT_MINUTES))


def _limit(scope: str) -> int:
    if scope == ThrottleScope.ADDRESS:
        return max(1, int(settings.SALESOPS_LOGIN_ADDRESS_FAILURE_LIMIT))
    return max(1, int(settings.SALESOPS_LOGIN_FAILURE_LIMIT))


def locked_message(minutes: int) -> str:
    return _("登录失败次数过多，账号已临时锁定，请 %(minutes)d 分钟后再试或联系管理员解锁") % {
        "minutes": minutes
    }


class LoginLockedError(ServiceError):
    def __init__(self, minutes: int) -> None:
        super().__init__(code="login_locked", message=locked_message(minutes), status=429)


INVALID_CREDENTIALS = gettext_lazy("用户名或密码不正确")


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    keys = [(ThrottleScope.ACCOUNT.value, normalise_username(username))]
    if address:
        keys.append((ThrottleScope.ADDRESS.value, address))
    return [(scope, key) for scope, key in keys if key]


def lock_remaining(*, username: str, address: str, now: datetime.datetime) -> int:
    """Minutes (rounded up, ≥ 1) until the account and the address are both unlocked;
    0 when neither is locked. One indexed query."""
    from django.db.models import Q

    cond = Q()
    for scope, key in _keys(username, address):
        cond |= Q(scope=scope, key=key)
    if not cond:
        return 0
    until = (
        LoginThrottle.objects.filter(cond, locked_until__gt=now)
        .order_by("-locked_until")
        .values_list("locked_until", flat=True)
        .first()
    )
    if until is None:
        return 0
    return max(1, math.ceil((until - now).total_seconds() / 60))


def _address_note(address: str, channel: str) -> str:
    where = _("网页") if channel == "web" else "API"
    return _("地址：%(address)s；方式：%(channel)s") % {
        "address": address or "-",
        "channel": where,
    }


def _count_failure(
    *, scope: str, key: str, username: str, address: str, now: datetime.datetime
) -> LoginThrottle | None:
    """Add one failure to a counter; returns the row when this failure locked it."""
    window = datetime.timedelta(minutes=_lockout_minutes())
    defaults = {"window_started_at": now, "last_failure_at": now}
    # get_or_create already survives a concurrent create (it retries the get); the row is
    # counted below, under its lock.
    LoginThrottle.objects.get_or_create(scope=scope, key=key, defaults=defaults)
    row = LoginThrottle.objects.select_for_update().get(scope=scope, key=key)
    if row.locked_until is not None and row.locked_until > now:
        return None  # already locked (a concurrent attempt got there first)
    if row.failures and now - row.window_started_at > window:
        row.failures = 0  # the earlier failures are older than the window: forgotten
    if row.failures == 0:
        row.window_started_at = now
    row.failures += 1
    row.last_failure_at = now
    row.last_username = username[:USERNAME_MAX]
    row.last_address = address or None
    newly_locked = row.failures >= _limit(scope)
    if newly_locked:
        row.locked_at = now
        row.locked_until = now + window
    row.save()
    return row if newly_locked else None


@transaction.atomic
def login_failure_record(*, username: str, address: str, channel: str) -> None:
    """Count a failed login against the account and the address, audit it, and audit
    a lockout when this failure reached a limit. The password is never recorded."""
    now = timezone.now()
    note = _address_note(address, channel)
    audit_record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="core.user",
        object_repr=username[:USERNAME_MAX],
        note=note,
    )
    for scope, key in _keys(username, address):
        locked = _count_failure(scope=scope, key=key, username=username, address=address, now=now)
        if locked is not None:
            audit_record(
                actor=None,
                action=AuditAction.LOCKOUT,
                obj=locked,
                note=_("%(scope)s锁定：%(key)s，失败 %(n)d 次，锁定至 %(until)s；%(note)s")
                % {
                    "scope": locked.get_scope_display(),
                    "key": key,
                    "n": locked.failures,
                    "until": timezone.localtime(locked.locked_until).strftime("%Y-%m-%d %H:%M"),
                    "note": note,
                },
            )


def login_authenticate(
    *, request: HttpRequest | None, username: str, password: str, channel: str
) -> User:
    """Check a username and password through the throttle: a locked account or address is
    refused before the password is looked at (``LoginLockedError``, 429), a wrong password
    is counted (``ServiceError`` invalid_credentials, 401), a success is audited and clears
    the account's count. ``channel`` is "web" or "api" (for the audit note)."""
    address = client_address(request)
    now = timezone.now()
    minutes = lock_remaining(username=username, address=address, now=now)
    if minutes:
        audit_record(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            object_type="core.user",
            object_repr=username[:USERNAME_MAX],
            note=_("已锁定，拒绝登录；") + _address_note(address, channel),
        )
        raise LoginLockedError(minutes)
    user = authenticate(request, username=username, password=password)
    if user is None or not user.is_active:
        login_failure_record(username=username, address=address, channel=channel)
        raise ServiceError("invalid_credentials", INVALID_CREDENTIALS, status=401)
    assert isinstance(user, User)
    login_success_record(user=user, username=username, address=address, channel=channel)
    return user


@transaction.atomic
def login_success_record(*, user: User, username: str, address: str, channel: str) -> None:
    LoginThrottle.objects.filter(
        scope=ThrottleScope.ACCOUNT, key=normalise_username(username), failures__gt=0
    ).delete()
    audit_record(
        actor=user,
        action=AuditAction.LOGIN,
        obj=user,
        note=_address_note(address, channel),
    )


@transaction.atomic
def lockout_unlock(*, actor: User, pk: int) -> LoginThrottle:
    """Lift one lockout (admins only), audited."""
    if not viewer_for(actor).is_admin:
        raise PermissionDenied(_("只有系统管理员可以解除登录锁定"))
    row = LoginThrottle.objects.select_for_update().filter(pk=pk).first()
    if row is None:
        raise ServiceError("not_found", _("该锁定记录不存在或已解除"), status=404)
    audit_record(
        actor=actor,
        action=AuditAction.UNLOCK,
        obj=row,
        note=_("%(scope)s解锁：%(key)s（失败 %(n)d 次）")
        % {"scope": row.get_scope_display(), "key": row.key, "n": row.failures},
    )
    row.delete()
    return row


def throttle_purge(*, now: datetime.datetime) -> int:
    """Counters whose window and lock are both over (the scheduled purge)."""
    window = datetime.timedelta(minutes=_lockout_minutes())
    from django.db.models import Q

    stale = LoginThrottle.objects.filter(last_failure_at__lt=now - window).filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    )
    deleted, _detail = stale.delete()
    return deleted
