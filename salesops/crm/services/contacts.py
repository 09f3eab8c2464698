"""Contacts (联系人) of a customer: name, phone, e-mail, role and the decision-maker flag.
Personal data: every create, change and delete lands in the audit log. The phone and
e-mail go through the one 查重 first (code ``duplicate``, 409); going on past it takes an
explicit confirmation and is audited, as for leads and customers."""

from __future__ import annotations

import dataclasses
import re

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_record, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import AuditAction, User
from salesops.core.text import has_control_chars
from salesops.crm.models import Contact
from salesops.crm.selectors.contacts import contact_duplicates
from salesops.sales.models import Customer
from salesops.sales.services._common import require_staff, viewer_of
from salesops.sales.services.dedupe import duplicate_confirmed_audit, duplicate_guard

_AUDITED = ("name", "phone", "email", "title", "decision_maker")
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIMITS = {"name": 64, "phone": 32, "email": 254, "title": 64}


@dataclasses.dataclass
class ContactInput:
    name: str
    phone: str = ""
    email: str = ""
    title: str = ""
    decision_maker: bool = False


def _clean(data: ContactInput) -> ContactInput:
    values = {k: str(getattr(data, k) or "").strip() for k in _LIMITS}
    errors: list[FieldError] = []
    if not values["name"]:
        errors.append(FieldError("name", _("请填写联系人姓名")))
    for key, limit in _LIMITS.items():
        if len(values[key]) > limit:
            errors.append(FieldError(key, _("不能超过%(n)d个字符") % {"n": limit}))
        elif has_control_chars(values[key]):
            errors.append(FieldError(key, _("不能包含不可见的控制字符")))
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors.append(FieldError("phone", _("手机号格式不正确")))
    if values["email"] and not _EMAIL.match(values["email"]):
        errors.append(FieldError("email", _("邮箱格式不正确")))
    if errors:
        raise ServiceError.invalid(errors)
    return ContactInput(decision_maker=bool(data.decision_maker), **values)


def _writable(customer: Customer) -> None:
    if customer.owner_id is None:
        raise ServiceError("in_pool", _("客户在公海中，请先领取再维护联系人"))


@transaction.atomic
def contact_create(
    *,
    actor: User | None,
    customer: Customer,
    data: ContactInput,
    confirm_duplicate: bool = False,
    how_to_confirm: str = "",
) -> Contact:
    """A new contact on a customer the caller resolved in scope. 查重 on its phone and
    e-mail first (``contact_duplicates``); ``confirm_duplicate`` goes on past a match."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    _writable(customer)
    values = _clean(data)
    matches = duplicate_guard(
        viewer=viewer,
        matches=contact_duplicates(
            viewer, customer=customer, phone=values.phone, email=values.email
        ),
        confirm=confirm_duplicate,
        how_to_confirm=how_to_confirm,
    )
    contact = Contact.objects.create(customer=customer, **dataclasses.asdict(values))
    audit_create(actor=actor, obj=contact, fields=_AUDITED)
    duplicate_confirmed_audit(actor=actor, obj=contact, matches=matches)
    return contact


@transaction.atomic
def contact_update(
    *,
    actor: User | None,
    contact: Contact,
    data: ContactInput,
    confirm_duplicate: bool = False,
    how_to_confirm: str = "",
) -> Contact:
    """Change a contact. A phone or e-mail that changed goes through 查重 (the contact
    itself is no match); ``confirm_duplicate`` goes on past a match."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    contact = Contact.objects.select_for_update().select_related("customer").get(pk=contact.pk)
    _writable(contact.customer)
    values = _clean(data)
    matches = duplicate_guard(
        viewer=viewer,
        matches=contact_duplicates(
            viewer,
            customer=contact.customer,
            phone=values.phone,
            email=values.email,
            contact=contact,
        ),
        confirm=confirm_duplicate,
        how_to_confirm=how_to_confirm,
    )
    before = snapshot(contact, _AUDITED)
    for key, value in dataclasses.asdict(values).items():
        setattr(contact, key, value)
    contact.save()
    audit_update(actor=actor, obj=contact, before=before)
    duplicate_confirmed_audit(actor=actor, obj=contact, matches=matches, update=True)
    return contact


@transaction.atomic
def contact_delete(*, actor: User | None, contact: Contact) -> None:
    """Remove a contact; its follow-ups stay (their contact link is cleared)."""
    require_staff(viewer_of(actor))
    contact = Contact.objects.select_for_update().select_related("customer").get(pk=contact.pk)
    _writable(contact.customer)
    before = snapshot(contact, _AUDITED)
    pk = contact.pk
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=contact,
        changes={k: (v, "") for k, v in before.items() if v != ""},
        note=_("客户 %(c)s") % {"c": contact.customer.code},
    )
    Contact.objects.filter(pk=pk).delete()
