"""The 查重 rule at every create: a duplicate stops the create with code ``duplicate`` (409)
and says what it matched, scoped (``sales.dedupe``); the user may go on only by confirming,
and a create past a warning is audited with what it matched."""

from __future__ import annotations

from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.core.audit import audit_record
from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, User
from salesops.sales.dedupe import Match, find_duplicates


def duplicate_guard(
    *,
    viewer: Viewer | None,
    name: str = "",
    phone: str = "",
    email: str = "",
    confirm: bool = False,
    matches: list[Match] | None = None,
    how_to_confirm: str = "",
) -> list[Match]:
    """Raise ``duplicate`` when anything matches and the user has not confirmed (the
    message says how: ``how_to_confirm``, by default the form's 仍要创建 box); return
    the matches (for ``duplicate_confirmed_audit`` once the record exists)."""
    found = (
        matches
        if matches is not None
        else find_duplicates(viewer, name=name, phone=phone, email=email)
    )
    if found and not confirm:
        first = found[0]
        field = {"name": "name", "phone": "phone", "email": "email"}[first.on]
        message = (
            _("疑似重复（%(n)d 条）：%(first)s。%(how)s")
            % {"n": len(found), "first": first.message, "how": how_to_confirm}
            if how_to_confirm
            else _("疑似重复（%(n)d 条）：%(first)s。确认无误后可勾选“仍要创建”。")
            % {"n": len(found), "first": first.message}
        )
        raise ServiceError(
            "duplicate",
            message,
            field=field,
            status=409,
        )
    return found


def duplicate_confirmed_audit(
    *, actor: User | None, obj: object, matches: list[Match], update: bool = False
) -> None:
    """The create (or, with ``update``, the change) went on past a 查重 warning: say so
    on the record's log."""
    if not matches:
        return
    described = "; ".join(f"{m.kind}#{m.id or '-'} {m.owner or '-'} ({m.on})" for m in matches)
    note = _("确认重复后仍保存：%(m)s") if update else _("确认重复后仍创建：%(m)s")
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE if update else AuditAction.CREATE,
        obj=obj,  # type: ignore[arg-type]
        note=(note % {"m": described})[:500],
    )
