"""Customer writes. Phone and ID number are personal data: every change is audited, and so
is every change of owner (负责人)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_record, audit_update, snapshot
from salesops.core.errors import FieldError, PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, User
from salesops.org.access import employee_scope_q
from salesops.org.models import Employee
from salesops.sales.models import Customer
from salesops.sales.services._common import (
    create_numbered,
    employee_by_no,
    employee_in_scope,
    require_staff,
    viewer_of,
)
from salesops.sales.services.dedupe import duplicate_confirmed_audit, duplicate_guard

_AUDITED = ("name", "code", "phone", "id_number", "address", "source", "owner", "department")
_PHONE = re.compile(r"^\+?[0-9][0-9\- ]{4,30}$")


def _clean(*, name: str, phone: str, id_number: str, address: str, source: str) -> dict[str, str]:
    data = {
        "name": name.strip(),
        "phone": phone.strip(),
        "id_number": id_number.strip().upper(),
        "address": address.strip(),
        "source": source.strip(),
    }
    errors = []
    if not data["name"]:
        errors.append(FieldError("name", _("请填写客户名称")))
    elif len(data["name"]) > 200:
        errors.append(FieldError("name", _("客户名称不能超过200个字符")))
    if data["phone"] and not _PHONE.match(data["phone"]):
        errors.append(FieldError("phone", _("手机号格式不正确")))
    if len(data["id_number"]) > 32:
        errors.append(FieldError("id_number", _("证件号码不能超过32个字符")))
    if len(data["address"]) > 300:
        errors.append(FieldError("address", _("地址不能超过300个字符")))
    if len(data["source"]) > 64:
        errors.append(FieldError("source", _("客户来源不能超过64个字符")))
    if errors:
        raise ServiceError.invalid(errors)
    return data


@transaction.atomic
def customer_create(
    *,
    actor: User | None,
    name: str,
    owner: Employee | None = None,
    code: str = "",
    phone: str = "",
    id_number: str = "",
    address: str = "",
    source: str = "",
    confirm_duplicate: bool = False,
) -> Customer:
    """Register a customer. The owner defaults to the actor; the department follows the
    owner. 查重 first (``sales.services.dedupe``): a company name, phone or lead already
    registered raises ``duplicate`` (409) unless the user has seen the warning and confirmed."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    data = _clean(name=name, phone=phone, id_number=id_number, address=address, source=source)
    if owner is None:
        if viewer is None or viewer.employee is None:
            raise ServiceError("required", _("请选择负责人"), field="owner")
        owner = viewer.employee
    employee_in_scope(viewer, owner, "owner")
    matches = duplicate_guard(
        viewer=viewer, name=data["name"], phone=data["phone"], confirm=confirm_duplicate
    )
    customer = create_numbered(
        Customer,
        field="code",
        number=code,
        prefix="C",
        day=timezone.localdate(),
        duplicate_message=_("客户编号 %(no)s 已存在"),
        owner=owner,
        department_id=owner.department_id,
        owner_since=timezone.now(),
        **data,
    )
    audit_create(actor=actor, obj=customer, fields=_AUDITED)
    duplicate_confirmed_audit(actor=actor, obj=customer, matches=matches)
    return customer


@transaction.atomic
def customer_update(
    *,
    actor: User | None,
    customer: Customer,
    name: str,
    phone: str,
    id_number: str = "",
    address: str = "",
    source: str = "",
) -> Customer:
    """Edit the customer's own fields (owner changes go through ``customer_reassign``)."""
    require_staff(viewer_of(actor))
    data = _clean(name=name, phone=phone, id_number=id_number, address=address, source=source)
    before = snapshot(customer, _AUDITED)
    for key, value in data.items():
        setattr(customer, key, value)
    customer.save()
    audit_update(actor=actor, obj=customer, before=before)
    return customer


@transaction.atomic
def customer_reassign(
    *, actor: User | None, customer: Customer, owner: Employee, note: str = ""
) -> Customer:
    """Hand the customer to another owner; the department follows the new owner."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    employee_in_scope(viewer, owner, "owner")
    if not owner.active:
        raise ServiceError("inactive", _("负责人已离职，不能分配客户"), field="owner")
    before = snapshot(customer, _AUDITED)
    customer.owner = owner
    customer.department_id = owner.department_id
    customer.owner_since = timezone.now()
    customer.save(update_fields=["owner", "department", "owner_since", "updated_at"])
    audit_update(actor=actor, obj=customer, before=before, note=note)
    return customer


@dataclass
class CustomersTransferred:
    moved: int
    ignored: int  # ids outside the actor's scope, or unknown
    owner: Employee


@transaction.atomic
def customers_transfer(
    *, actor: User, customer_ids: Sequence[int], owner_no: str, note: str = ""
) -> CustomersTransferred:
    """转移负责人 for several customers at once: each one in the actor's scope goes to the
    employee ``owner_no`` (also in scope, active), audited per customer like a single
    reassignment; ids the actor may not see are ignored and counted, never touched."""
    viewer = viewer_of(actor)
    if viewer is None:
        raise PermissionDeniedError(_("请先登录"))
    require_staff(viewer)
    owner = employee_by_no(viewer, owner_no)
    wanted = list(dict.fromkeys(customer_ids))
    customers = list(
        Customer.objects.select_for_update(of=("self",))  # not the joined owner rows
        .filter(employee_scope_q(viewer, owner="owner", department="department"))
        .filter(pk__in=wanted)
        .order_by("pk")
    )
    moved = 0
    for customer in customers:
        if customer.owner_id == owner.pk:
            continue
        before = snapshot(customer, _AUDITED)
        customer.owner = owner
        customer.department_id = owner.department_id
        customer.owner_since = timezone.now()
        customer.save(update_fields=["owner", "department", "owner_since", "updated_at"])
        audit_update(actor=actor, obj=customer, before=before, note=note or _("批量转移负责人"))
        moved += 1
    return CustomersTransferred(moved=moved, ignored=len(wanted) - len(customers), owner=owner)


@transaction.atomic
def customer_delete(*, actor: User | None, customer: Customer) -> None:
    """Delete a customer that has no orders (orders keep their customer forever)."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    if customer.orders.exists():
        raise ServiceError("has_orders", _("该客户已有订单，不能删除"))
    before = snapshot(customer, _AUDITED)
    audit_record(
        actor=actor,
        action=AuditAction.DELETE,
        obj=customer,
        changes={k: (v, "") for k, v in before.items() if v},
    )
    customer.delete()
