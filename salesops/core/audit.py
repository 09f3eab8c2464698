"""The audit log service: every change to money, plans, permissions or personal data is
recorded here as one row per field (who, when, object, field, before → after)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from salesops.core.models import AuditAction, AuditLog, User


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, models.Model):
        return str(value.pk)
    return str(value)


def object_type_of(obj: models.Model | type[models.Model]) -> str:
    return obj._meta.label_lower


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, str]:
    """Field values as text, for a before/after comparison (FKs by id)."""
    out: dict[str, str] = {}
    for name in fields:
        f = obj._meta.get_field(name)
        attname = getattr(f, "attname", name)
        out[name] = _text(getattr(obj, attname))
    return out


def audit_record(
    *,
    actor: User | None,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    changes: Mapping[str, tuple[Any, Any]] | None = None,
    note: str = "",
    object_repr: str = "",
) -> list[AuditLog]:
    """Write audit rows: one per changed field, or one row when no field is named.
    ``object_repr`` names an object that has no row (e.g. the username a failed login
    tried)."""
    otype = object_type or (object_type_of(obj) if obj is not None else "")
    oid = object_id or (str(obj.pk) if obj is not None and obj.pk is not None else "")
    orepr = (object_repr or (str(obj) if obj is not None else ""))[:200]
    actor_obj = actor if actor is not None and actor.is_authenticated else None
    rows = []
    for fname, (before, after) in (changes or {}).items():
        b, a = _text(before), _text(after)
        if b == a:
            continue
        rows.append(
            AuditLog(
                actor=actor_obj,
                action=action,
                object_type=otype,
                object_id=oid,
                object_repr=orepr,
                field=fname,
                before=b,
                after=a,
                note=note,
            )
        )
    if not changes:
        rows.append(
            AuditLog(
                actor=actor_obj,
                action=action,
                object_type=otype,
                object_id=oid,
                object_repr=orepr,
                note=note,
            )
        )
    return AuditLog.objects.bulk_create(rows)


def audit_create(*, actor: User | None, obj: models.Model, fields: Iterable[str]) -> None:
    after = snapshot(obj, fields)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=obj,
        changes={k: ("", v) for k, v in after.items() if v != ""} or None,
    )


def audit_update(
    *, actor: User | None, obj: models.Model, before: Mapping[str, str], note: str = ""
) -> None:
    """Compare ``before`` (a ``snapshot``) with the object now and log what changed."""
    after = snapshot(obj, before.keys())
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=obj, changes=changes, note=note)


def audit_save(obj: models.Model, *, actor: User | None, note: str = "", **values: Any) -> None:
    """Set ``values`` on ``obj``, save those fields and log what changed (``audit_update``)."""
    before = snapshot(obj, values.keys())
    for name, value in values.items():
        setattr(obj, name, value)
    obj.save(update_fields=list(values))
    audit_update(actor=actor, obj=obj, before=before, note=note)
