"""Merging two customers (客户合并): the duplicate's rows — contacts, follow-ups,
opportunities, orders, quotes, contracts, receipts, visits, complaints, and whatever a
later module points at a customer — move to the customer kept, found through the model
relations rather than a list, so no module's rows are left behind. Blank fields of the
kept customer are filled from the duplicate; the duplicate's pool entry (a one-to-one
row) is dropped; then the duplicate is deleted. One audit entry per moved relation and
one for the deletion, with a note naming both."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models, transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record, audit_update, snapshot
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, RoleCode, User
from salesops.sales.models import Customer, CustomerStatus
from salesops.sales.services._common import viewer_of

MERGERS = (RoleCode.ADMIN, RoleCode.DIRECTOR, RoleCode.MANAGER)
_FILLED = ("phone", "id_number", "address", "source", "industry")


@dataclass
class Merged:
    kept: Customer
    moved: dict[str, int] = field(default_factory=dict)  # model label: rows moved


def _relations() -> list[models.ForeignObjectRel]:
    return [
        rel
        for rel in Customer._meta.related_objects
        if rel.field.concrete and not rel.many_to_many and rel.related_model is not Customer
    ]


@transaction.atomic
def customer_merge(*, actor: User | None, keep: Customer, drop: Customer) -> Merged:
    """Move everything of ``drop`` to ``keep`` and delete ``drop``. Both must be in the
    actor's scope (the callers fetch them through it); managers, directors and admins."""
    viewer = viewer_of(actor)
    if viewer is not None and not (viewer.is_admin or viewer.has_role(*MERGERS)):
        raise PermissionDeniedError(_("只有销售经理、销售总监和管理员可以合并客户"))
    if keep.pk == drop.pk:
        raise ServiceError("same_customer", _("不能与自己合并"), field="other")
    keep = Customer.objects.select_for_update().get(pk=keep.pk)
    drop = Customer.objects.select_for_update().get(pk=drop.pk)
    if keep.owner_id is None:
        raise ServiceError("in_pool", _("保留的客户在公海中，请先领取再合并"), field="keep")
    note = _("客户 %(drop)s（%(dc)s）合并到 %(keep)s（%(kc)s）") % {
        "drop": drop.name,
        "dc": drop.code,
        "keep": keep.name,
        "kc": keep.code,
    }
    result = Merged(kept=keep)
    for rel in _relations():
        model = rel.related_model
        name = rel.field.name
        rows = model._default_manager.filter(**{name: drop})
        if rel.one_to_one:  # e.g. the duplicate's pool membership: the kept one's stands
            count = rows.count()
            rows.delete()
        else:
            count = rows.update(**{name: keep})
        if count:
            result.moved[model._meta.label_lower] = count
            audit_record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=keep,
                changes={model._meta.label_lower: (str(count), "")},
                note=note,
            )
    before = snapshot(keep, (*_FILLED, "status", "last_followup_at"))
    for name in _FILLED:
        if not getattr(keep, name) and getattr(drop, name):
            setattr(keep, name, getattr(drop, name))
    if drop.status == CustomerStatus.WON and keep.status != CustomerStatus.WON:
        keep.status, keep.won_at = CustomerStatus.WON, keep.won_at or drop.won_at
    if drop.last_followup_at and (
        keep.last_followup_at is None or drop.last_followup_at > keep.last_followup_at
    ):
        keep.last_followup_at = drop.last_followup_at
    keep.save()
    audit_update(actor=actor, obj=keep, before=before, note=note)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=drop,
        changes={"name": (drop.name, ""), "code": (drop.code, "")},
        note=note,
    )
    drop.delete()
    return result
