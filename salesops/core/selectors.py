"""Read-side helpers of core: dashboard figures, filtered by the viewer's scope."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import models
from django.db.models import QuerySet
from django.db.models.query import ModelIterable
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _lazy

from salesops.core.access import Viewer, mask_bank_account, mask_id_number, mask_phone, viewer_for
from salesops.core.audit import object_type_of
from salesops.core.display import format_count, format_datetime, parse_stored_datetime
from salesops.core.models import (
    ApiToken,
    ApprovalTask,
    AuditLog,
    ImportJob,
    ImportJobStatus,
    LoginThrottle,
    SavedScene,
    TaskStatus,
    User,
    UserSession,
)
from salesops.core.registry import Card, dashboard_panels

OBJECT_LOG_LIMIT = 200


def import_jobs_running_ids() -> list[int]:
    """The import jobs applying now. A chunked import commits its rows chunk by chunk; a
    list hides the rows of these jobs until the job is done (``sales.order_scope_q``).
    One query on a small table, by its status index."""
    return list(
        ImportJob.objects.filter(status=ImportJobStatus.RUNNING).values_list("pk", flat=True)
    )


def dashboard_cards(viewer: Viewer, *, today: datetime.date) -> list[Card]:
    """The home page: every registered panel's cards for this viewer, in panel order."""
    return [card for panel in dashboard_panels() for card in panel.cards(viewer, today)]


def approvals_panel(viewer: Viewer, today: datetime.date) -> list[Card]:
    """Core's own figure: tasks waiting for the viewer."""
    pending = ApprovalTask.objects.filter(approver=viewer.user, status=TaskStatus.PENDING).count()
    return [
        Card(
            key="pending-approvals",
            label=_lazy("待我审批"),
            value=format_count(pending),
            url=reverse("core:approvals_inbox"),
        )
    ]


# Audit values of these fields are personal information (个人信息): masked like the
# record itself for viewers who may not see it unmasked.
PERSONAL_FIELDS = {
    "phone": mask_phone,
    "id_number": mask_id_number,
    "bank_account": mask_bank_account,
}


AUDIT_BATCH = 500


@dataclass(frozen=True)
class AuditEntry:
    """One audit row as a person reads it: the object's type by its verbose name, the field
    by its label, choice values by their labels, booleans as 是/否, foreign keys by the
    object's name and stored datetimes in the installation's time zone. ``field``,
    ``action`` and ``object_id`` keep the stored codes (for filters and tests)."""

    log: AuditLog
    type_label: str
    field_label: str
    before: str
    after: str

    @property
    def at(self) -> datetime.datetime:
        return self.log.at

    @property
    def at_text(self) -> str:
        return format_datetime(self.log.at)

    @property
    def actor(self) -> User | None:
        return self.log.actor

    @property
    def action(self) -> str:
        return self.log.action

    @property
    def action_label(self) -> str:
        return str(self.log.get_action_display())

    @property
    def object_type(self) -> str:
        return self.log.object_type

    @property
    def object_id(self) -> str:
        return self.log.object_id

    @property
    def object_repr(self) -> str:
        return self.log.object_repr

    @property
    def field(self) -> str:
        return self.log.field

    @property
    def note(self) -> str:
        return self.log.note


def audited_model(object_type: str) -> type[models.Model] | None:
    """The model an audit ``object_type`` (``app_label.modelname``) names, if any: exports,
    imports and the demo log types that are not models."""
    if "." not in object_type:
        return None
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def audit_object_type_choices() -> list[tuple[str, str]]:
    """The 对象类型 filter: our own models by verbose name (from the app registry, not a
    ``SELECT DISTINCT`` over the log)."""
    out = [
        (m._meta.label_lower, str(m._meta.verbose_name))
        for m in apps.get_models()
        if m.__module__.startswith("salesops.")
    ]
    return sorted(out, key=lambda c: c[0])


def _model_field(model: type[models.Model] | None, name: str) -> models.Field[Any, Any] | None:
    if model is None or not name:
        return None
    try:
        f = model._meta.get_field(name)
    except FieldDoesNotExist:
        return None
    return f if isinstance(f, models.Field) else None


# Audit fields that are no model field: an attachment (附件) uploaded to or removed from
# the object (core.attachments).
_OTHER_FIELDS: dict[str, str | Promise] = {"attachment": gettext_lazy("附件")}

_BOOLEAN_TEXT: dict[str, str | Promise] = {
    "True": gettext_lazy("是"),
    "False": gettext_lazy("否"),
}


def _valid_pk(model: type[models.Model], raw: str) -> Any:
    try:
        return model._meta.pk.to_python(raw) if model._meta.pk is not None else None
    except (ValidationError, TypeError, ValueError):
        return None


def audit_entries(
    rows: Iterable[AuditLog], *, mask: Callable[[str, str], str] | None = None
) -> list[AuditEntry]:
    """Audit rows made readable (see ``AuditEntry``). Foreign keys are resolved with one
    query per related model for all ``rows`` together, never one per row. ``mask(field,
    value)`` hides personal values before anything else reads them."""
    rows = list(rows)
    # Pass 1: which related objects are named, per related model.
    wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
    plan: list[tuple[AuditLog, type[models.Model] | None, models.Field[Any, Any] | None]] = []
    for row in rows:
        model = audited_model(row.object_type)
        f = _model_field(model, row.field)
        plan.append((row, model, f))
        if f is not None and (f.many_to_one or f.one_to_one) and f.related_model is not None:
            related = f.related_model
            assert isinstance(related, type)
            for raw in (row.before, row.after):
                pk = _valid_pk(related, raw) if raw else None
                if pk is not None:
                    wanted[related].add(pk)
    names: dict[type[models.Model], dict[str, str]] = {
        related: {str(pk): str(obj) for pk, obj in related._default_manager.in_bulk(pks).items()}
        for related, pks in wanted.items()
    }

    def show(f: models.Field[Any, Any] | None, raw: str) -> str:
        if raw == "" or f is None:
            return raw
        if (f.many_to_one or f.one_to_one) and f.related_model is not None:
            related = f.related_model
            assert isinstance(related, type)
            pk = _valid_pk(related, raw)
            return names.get(related, {}).get(str(pk), raw)
        if f.choices:
            labels = {str(k): str(v) for k, v in f.flatchoices}
            return labels.get(raw, raw)
        if isinstance(f, models.BooleanField):
            return str(_BOOLEAN_TEXT.get(raw, raw))
        if isinstance(f, models.DateTimeField):
            at = parse_stored_datetime(raw)
            return format_datetime(at) if at is not None else raw
        return raw

    out = []
    for row, model, f in plan:
        before, after = row.before, row.after
        if mask is not None and row.field:
            before, after = mask(row.field, before), mask(row.field, after)
        out.append(
            AuditEntry(
                log=row,
                type_label=str(model._meta.verbose_name) if model is not None else row.object_type,
                field_label=(
                    str(f.verbose_name)
                    if f is not None
                    else str(_OTHER_FIELDS.get(row.field, row.field))
                ),
                before=show(f, before),
                after=show(f, after),
            )
        )
    return out


def mask_personal(field: str, value: str) -> str:
    masker = PERSONAL_FIELDS.get(field)
    return masker(value) if masker is not None else value


class AuditEntryIterable(ModelIterable):  # type: ignore[type-arg]
    """Yields ``AuditEntry`` objects instead of ``AuditLog`` rows, resolved a batch at a
    time: a list page resolves its page's foreign keys in one query per model, and a large
    export streams in constant memory."""

    def __iter__(self) -> Iterator[AuditEntry]:  # type: ignore[override]
        batch: list[AuditLog] = []
        for row in super().__iter__():
            batch.append(row)
            if len(batch) >= AUDIT_BATCH:
                yield from audit_entries(batch)
                batch = []
        yield from audit_entries(batch)


def audit_for_object(
    obj: models.Model, *, show_personal: bool = False, limit: int = OBJECT_LOG_LIMIT
) -> list[AuditEntry]:
    """The 操作记录 tab: the latest audit rows of one object, newest first.

    The caller has checked that the viewer may see ``obj`` and says whether they may see
    its personal fields unmasked (``can_see_personal_info``); otherwise the before/after
    values of those fields are masked here, so no detail page can leak them.
    """
    rows = (
        AuditLog.objects.filter(object_type=object_type_of(obj), object_id=str(obj.pk))
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )
    return audit_entries(rows, mask=None if show_personal else mask_personal)


def audit_log_for(user: User) -> QuerySet[AuditLog]:
    """The whole log, for admins only, unmasked; it yields readable ``AuditEntry`` objects."""
    if not viewer_for(user).is_admin:
        raise PermissionDenied(_("只有系统管理员可以查看操作日志"))
    qs = AuditLog.objects.select_related("actor")
    qs._iterable_class = AuditEntryIterable
    return qs


def saved_scenes_for(user: User, list_key: str) -> list[SavedScene]:
    """The user's own saved scenes of one list (never anyone else's), in saved order."""
    return list(SavedScene.objects.filter(user=user, list_key=list_key).order_by("id"))


# ------------------------------------------------------------------ accounts (issue 11)


def password_fingerprint(user: User) -> str:
    """A keyed digest of the user's password hash: it changes whenever the password does,
    by whatever path (own change, an admin's reset, ``set_password`` in a shell), and
    reveals nothing about it. Tokens and session records carry the one of their login, so
    a password change voids them without any signal (Django's session auth hash idea)."""
    return salted_hmac(
        "salesops.core.password_fingerprint", user.password, algorithm="sha256"
    ).hexdigest()


def live_tokens_for(user: User) -> QuerySet[ApiToken]:
    """The user's API tokens that still work: not revoked, not expired, issued under the
    current password. Newest first."""
    return ApiToken.objects.filter(
        user=user,
        revoked_at__isnull=True,
        expires_at__gt=timezone.now(),
        password_fingerprint=password_fingerprint(user),
    ).order_by("-created_at", "-pk")


def live_sessions_for(user: User) -> QuerySet[UserSession]:
    """The user's web logins that can still be in use (not expired, same password)."""
    return UserSession.objects.filter(
        user=user,
        expires_at__gt=timezone.now(),
        password_fingerprint=password_fingerprint(user),
    ).order_by("-created_at", "-pk")


def lockouts_for(user: User) -> QuerySet[LoginThrottle]:
    """Current login lockouts (admins only; anyone else gets PermissionDenied)."""
    if not viewer_for(user).is_admin:
        raise PermissionDenied(_("只有系统管理员可以查看登录锁定"))
    return LoginThrottle.objects.filter(locked_until__gt=timezone.now())
