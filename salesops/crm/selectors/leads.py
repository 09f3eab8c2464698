"""Reads of leads (线索), already in the viewer's scope, and the CRM's part of 查重."""

from __future__ import annotations

import dataclasses

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.core.models import DataScope, RoleCode
from salesops.crm.models import Contact, Lead, LeadStatus
from salesops.org.access import employee_scope_q
from salesops.sales.dedupe import (
    LIMIT,
    Keys,
    Match,
    customer_match,
    holder_text,
    key_batches,
)


def leads_for(viewer: Viewer) -> QuerySet[Lead]:
    """Leads in the viewer's scope, as customers are: by owner, or by the lead's department
    for department scopes. An unassigned lead of a department is also seen by whoever
    has a team there (scope 本人及下属, a sales manager): they are the ones who assign it."""
    if viewer.role == RoleCode.MEMBER and not viewer.is_admin:
        return Lead.objects.none()
    q = employee_scope_q(viewer, owner="owner", department="department")
    emp = viewer.employee
    if viewer.scope == DataScope.SELF_AND_SUBORDINATES and emp is not None and not viewer.is_admin:
        q |= Q(owner__isnull=True, department_id=emp.department_id)
    return Lead.objects.filter(q).select_related("owner", "department", "customer")


def lead_for_viewer(viewer: Viewer, pk: object) -> Lead:
    try:
        return leads_for(viewer).get(pk=int(str(pk)))
    except (Lead.DoesNotExist, ValueError) as exc:
        raise Http404(_("线索不存在或无权访问")) from exc


def lead_search_q(viewer: Viewer, text: str) -> Q:
    """Company, code or contact contain the text, or the phone matches in full (as for
    customers: masked digits cannot be probed)."""
    text = text.strip()
    if not text:
        return Q()
    q = Q(company__icontains=text) | Q(code__icontains=text) | Q(contact_name__icontains=text)
    q |= Q(phone=text)
    if viewer.can_view_personal_info:
        q |= Q(phone__icontains=text)
    return q


def _lead_match(viewer: Viewer | None, lead: Lead, on: str) -> Match:
    visible = viewer is not None and leads_for(viewer).filter(pk=lead.pk).exists()
    return Match(
        kind="lead",
        id=lead.pk if visible else None,
        label=lead.company if visible else "",
        owner=lead.owner.name if lead.owner else "",
        department=lead.department.name if lead.department else "",
        in_pool=False,
        visible=visible,
        on=on,
    )


def crm_duplicates(viewer: Viewer | None, keys: Keys) -> list[Match]:
    """查重 over open leads (a converted lead is its customer, found there) and contacts
    (a contact's match is its customer). Registered with ``sales.dedupe``."""
    out: list[Match] = []
    open_leads = Lead.objects.exclude(status=LeadStatus.CONVERTED).select_related(
        "owner", "department"
    )
    for on, field in (("name", "company_key"), ("phone", "phone_key"), ("email", "email_key")):
        value = getattr(keys, on)
        if value:
            rows = open_leads.filter(**{field: value}).order_by("pk")[:LIMIT]
            out += [_lead_match(viewer, lead, on) for lead in rows]
    for on, field in (("phone", "phone_key"), ("email", "email_key")):
        value = getattr(keys, on)
        if value:
            contacts = (
                Contact.objects.filter(**{field: value})
                .select_related("customer__owner", "customer__department")
                .order_by("pk")[:LIMIT]
            )
            for c in contacts:
                m = customer_match(viewer, c.customer, on)
                out.append(m if m.in_pool else dataclasses.replace(m, kind="contact"))
    return out


def crm_held_keys(on: str, keys: list[str]) -> dict[str, str]:
    """The import 查重 over open leads and contacts (``sales.dedupe.held_keys``)."""
    out: dict[str, str] = {}
    lead_field = {"name": "company_key", "phone": "phone_key", "email": "email_key"}[on]
    contact_field = {"phone": "phone_key", "email": "email_key"}.get(on)
    for batch in key_batches(keys):
        leads = (
            Lead.objects.exclude(status=LeadStatus.CONVERTED)
            .filter(**{f"{lead_field}__in": batch})
            .order_by("pk")
            .values_list(lead_field, "owner__name", "department__name")
        )
        for key, owner, dept in leads:
            out.setdefault(key, holder_text(owner, dept))
        if contact_field is None:
            continue
        contacts = (
            Contact.objects.filter(**{f"{contact_field}__in": batch})
            .order_by("pk")
            .values_list(
                contact_field,
                "customer__owner_id",
                "customer__owner__name",
                "customer__department__name",
            )
        )
        for key, owner_id, owner, dept in contacts:
            out.setdefault(key, holder_text(owner, dept, in_pool=owner_id is None))
    return out
