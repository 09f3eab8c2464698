"""Reads of follow-ups (跟进记录) and contacts, already in the viewer's scope: a follow-up
or a contact is seen by whoever sees its customer (or its lead)."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesops.core.access import Viewer, mask_phone
from salesops.crm.models import Activity, Contact
from salesops.crm.selectors.leads import leads_for
from salesops.org.access import can_see_personal_info
from salesops.sales.selectors import customers_for

TIMELINE = 20


def activities_for(viewer: Viewer) -> QuerySet[Activity]:
    if not viewer.is_staff:
        return Activity.objects.none()
    customers = customers_for(viewer).order_by().values("pk")
    leads = leads_for(viewer).order_by().values("pk")
    return Activity.objects.filter(Q(customer__in=customers) | Q(lead__in=leads)).select_related(
        "customer", "lead", "contact", "employee"
    )


def activity_for_viewer(viewer: Viewer, pk: object) -> Activity:
    try:
        return activities_for(viewer).get(pk=int(str(pk)))
    except (Activity.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404(_("跟进记录不存在或无权访问")) from exc


def activity_writer(viewer: Viewer, activity: Activity) -> bool:
    """Who may change a follow-up the viewer sees (its attachments): the employee who
    logged it, or an admin. A follow-up records what that person did; others add their own."""
    if viewer.is_admin:
        return True
    return viewer.employee is not None and activity.employee_id == viewer.employee.pk


def activity_attachments_viewable(viewer: Viewer, object_id: str) -> bool:
    """A follow-up's attachments (core.registry.Attachable): whoever sees the follow-up."""
    try:
        activity_for_viewer(viewer, object_id)
    except Http404:
        return False
    return True


def activity_attachments_editable(viewer: Viewer, object_id: str) -> bool:
    try:
        activity = activity_for_viewer(viewer, object_id)
    except Http404:
        return False
    return activity_writer(viewer, activity)


def activity_search_q(text: str) -> Q:
    """Customer or lead name, or the content, contains the text."""
    text = text.strip()
    if not text:
        return Q()
    return (
        Q(customer__name__icontains=text)
        | Q(lead__company__icontains=text)
        | Q(content__icontains=text)
    )


def due_q(today: datetime.date) -> Q:
    """Next steps due today or earlier that no later follow-up has taken."""
    return Q(next_on__lte=today, done=False)


def customer_timeline(customer_id: int, limit: int = TIMELINE) -> list[Activity]:
    """The latest follow-ups of a customer the caller already sees (one indexed query)."""
    return list(
        Activity.objects.filter(customer_id=customer_id)
        .select_related("contact", "employee")
        .order_by("-at", "-id")[:limit]
    )


def contacts_for(viewer: Viewer) -> QuerySet[Contact]:
    if not viewer.is_staff:
        return Contact.objects.none()
    customers = customers_for(viewer).order_by().values("pk")
    return Contact.objects.filter(customer__in=customers).select_related("customer")


def contact_for_viewer(viewer: Viewer, pk: object) -> Contact:
    try:
        return contacts_for(viewer).get(pk=int(str(pk)))
    except (Contact.DoesNotExist, ValueError) as exc:
        raise Http404(_("联系人不存在或无权访问")) from exc


def contact_phone(viewer: Viewer, contact: Contact) -> str:
    """Full for whoever may see the customer's personal data, masked otherwise."""
    if can_see_personal_info(viewer, contact.customer.owner_id):
        return contact.phone
    return mask_phone(contact.phone)
