"""Lead (线索) writes: create (查重 first), transfer, mark invalid, and convert once into a
customer + contact. A converted lead is read-only and says what it became."""

from __future__ import annotations

import dataclasses
import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import User
from salesops.core.text import has_control_chars
from salesops.crm.models import Contact, Lead, LeadStatus, Opportunity
from salesops.crm.services.opportunities import OpportunityInput, opportunity_create
from salesops.org.models import Department, Employee
from salesops.org.selectors import department_scope_q
from salesops.sales.models import Customer
from salesops.sales.services._common import (
    create_numbered,
    employee_in_scope,
    require_staff,
    viewer_of,
)
from salesops.sales.services.customers import customer_create
from salesops.sales.services.dedupe import duplicate_confirmed_audit, duplicate_guard

_AUDITED = (
    "company",
    "contact_name",
    "phone",
    "email",
    "source",
    "campaign_code",
    "region",
    "owner",
    "department",
    "status",
)
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LIMITS = {
    "company": 200,
    "contact_name": 64,
    "phone": 32,
    "email": 254,
    "source": 64,
    "campaign_code": 32,
    "region": 64,
    "note": 2000,
}


@dataclasses.dataclass
class LeadInput:
    company: str
    contact_name: str = ""
    phone: str = ""
    email: str = ""
    source: str = ""
    campaign_code: str = ""
    region: str = ""
    note: str = ""


def _clean(data: LeadInput) -> dict[str, str]:
    values = {k: str(v).strip() for k, v in dataclasses.asdict(data).items()}
    errors: list[FieldError] = []
    if not values["company"]:
        errors.append(FieldError("company", _("请填写公司名称")))
    for key, limit in _LIMITS.items():
        if len(values[key]) > limit:
            errors.append(FieldError(key, _("不能超过%(n)d个字符") % {"n": limit}))
        elif has_control_chars(values[key]) and key != "note":
            errors.append(FieldError(key, _("不能包含不可见的控制字符")))
    if values["phone"] and not _PHONE.match(values["phone"]):
        errors.append(FieldError("phone", _("手机号格式不正确")))
    if values["email"] and not _EMAIL.match(values["email"]):
        errors.append(FieldError("email", _("邮箱格式不正确")))
    if has_control_chars(values["note"].replace("\n", "").replace("\r", "").replace("\t", "")):
        errors.append(FieldError("note", _("不能包含不可见的控制字符")))
    if errors:
        raise ServiceError.invalid(errors)
    return values


@transaction.atomic
def lead_create(
    *,
    actor: User | None,
    data: LeadInput,
    owner: Employee | None = None,
    confirm_duplicate: bool = False,
    owner_is_actor: bool = True,
    how_to_confirm: str = "",
    department: Department | None = None,
) -> Lead:
    """Register a lead. The owner defaults to the actor unless ``owner_is_actor`` is
    false (an import: the lead waits for the assignment rules); a lead with no owner is
    seen by admins and the department's managers until assigned, and its ``department``
    (one the actor may browse) says whose assignment rule applies.
    查重 across customers, the pool, leads and contacts first (code ``duplicate``, 409)."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    values = _clean(data)
    if owner is None and owner_is_actor and viewer is not None and viewer.employee is not None:
        owner = viewer.employee
    if owner is not None:
        employee_in_scope(viewer, owner, "owner")
        if not owner.active:
            raise ServiceError("inactive", _("负责人已离职，不能分配线索"), field="owner")
    elif (
        department is not None
        and viewer is not None
        and not Department.objects.filter(department_scope_q(viewer), pk=department.pk).exists()
    ):
        raise ServiceError("out_of_scope", _("该部门不在您的数据权限范围内"), field="department")
    matches = duplicate_guard(
        viewer=viewer,
        name=values["company"],
        phone=values["phone"],
        email=values["email"],
        confirm=confirm_duplicate,
        how_to_confirm=how_to_confirm,
    )
    lead = create_numbered(
        Lead,
        field="code",
        number="",
        prefix="XS",
        day=timezone.localdate(),
        duplicate_message=_("线索编号 %(no)s 已存在"),
        owner=owner,
        department_id=owner.department_id
        if owner is not None
        else (department.pk if department is not None else None),
        created_by=actor if actor is not None and actor.is_authenticated else None,
        **values,
    )
    audit_create(actor=actor, obj=lead, fields=_AUDITED)
    duplicate_confirmed_audit(actor=actor, obj=lead, matches=matches)
    return lead


def _editable(lead: Lead) -> None:
    if lead.status == LeadStatus.CONVERTED:
        raise ServiceError(
            "already_converted",
            _("线索已经转化过了（客户：%(c)s），不能再修改")
            % {"c": lead.customer.name if lead.customer else "-"},
            status=409,
        )


@transaction.atomic
def lead_transfer(*, actor: User | None, lead: Lead, owner: Employee, note: str = "") -> Lead:
    """Hand the lead to another owner in the actor's scope; the department follows."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    _editable(lead)
    employee_in_scope(viewer, owner, "owner")
    if not owner.active:
        raise ServiceError("inactive", _("负责人已离职，不能分配线索"), field="owner")
    before = snapshot(lead, _AUDITED)
    lead.owner, lead.department_id = owner, owner.department_id
    lead.save()
    audit_update(actor=actor, obj=lead, before=before, note=note or _("转移线索"))
    return lead


@transaction.atomic
def lead_invalidate(*, actor: User | None, lead: Lead, reason: str) -> Lead:
    require_staff(viewer_of(actor))
    _editable(lead)
    reason = reason.strip()
    if not reason:
        raise ServiceError("required", _("请填写无效原因"), field="reason")
    if len(reason) > 200 or has_control_chars(reason):
        raise ServiceError("invalid_input", _("无效原因不能超过200个字符"), field="reason")
    before = snapshot(lead, _AUDITED)
    lead.status = LeadStatus.INVALID
    lead.save()
    audit_update(actor=actor, obj=lead, before=before, note=_("标记无效：%(r)s") % {"r": reason})
    return lead


@dataclasses.dataclass
class Converted:
    lead: Lead
    customer: Customer
    contact: Contact
    opportunity: Opportunity | None = None


@transaction.atomic
def lead_convert(
    *,
    actor: User | None,
    lead: Lead,
    confirm_duplicate: bool = False,
    opportunity: OpportunityInput | None = None,
) -> Converted:
    """Turn the lead into a customer (its owner, or the actor's) and a contact, once, and
    an opportunity on it when ``opportunity`` is given (its campaign code from the lead).
    查重 runs again, without the lead itself: a customer created since the lead came in is
    a duplicate like any other."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    locked = Lead.objects.select_for_update().get(pk=lead.pk)
    if locked.status == LeadStatus.CONVERTED:
        raise ServiceError(
            "already_converted",
            _("线索已经转化过了（客户：%(c)s）")
            % {"c": locked.customer.name if locked.customer else "-"},
            status=409,
        )
    if locked.status == LeadStatus.INVALID:
        raise ServiceError("invalid_lead", _("无效线索不能转化"), status=409)
    before = snapshot(locked, _AUDITED)
    # Converted first, so that 查重 no longer finds the lead itself.
    locked.status = LeadStatus.CONVERTED
    locked.save(update_fields=["status"])
    owner = locked.owner
    if owner is None and viewer is not None:
        owner = viewer.employee
    customer = customer_create(
        actor=actor,
        name=locked.company,
        phone=locked.phone,
        source=locked.source,
        owner=owner,
        confirm_duplicate=confirm_duplicate,
    )
    contact = Contact.objects.create(
        customer=customer,
        name=locked.contact_name or locked.company[:64],
        phone=locked.phone,
        email=locked.email,
        decision_maker=True,
    )
    audit_create(actor=actor, obj=contact, fields=("name", "phone", "email"))
    locked.customer, locked.contact, locked.converted_at = customer, contact, timezone.now()
    locked.save()
    audit_update(
        actor=actor,
        obj=locked,
        before=before,
        note=_("转化为客户 %(c)s") % {"c": customer.code},
    )
    opp = None
    if opportunity is not None:
        opp = opportunity_create(actor=actor, customer=customer, data=opportunity, lead=locked)
    return Converted(lead=locked, customer=customer, contact=contact, opportunity=opp)
