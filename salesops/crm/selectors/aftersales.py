"""Reads of after-sales records — return visits (回访), complaints (投诉) and customer
feedback (客户反馈) — in the viewer's scope as opportunities are: by owner, or by
department for department scopes. Members see none."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.crm.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Feedback,
    ReturnVisit,
    VisitStatus,
)
from salesops.org.access import employee_scope_q

CUSTOMER_TAB = 20


def _scope(viewer: Viewer) -> Q:
    return employee_scope_q(viewer, owner="owner", department="department")


def _get(qs: QuerySet[Any], pk: object, message: str) -> Any:
    try:
        return qs.get(pk=int(str(pk)))
    except (qs.model.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404(message) from exc


def visits_for(viewer: Viewer) -> QuerySet[ReturnVisit]:
    if not viewer.is_staff:
        return ReturnVisit.objects.none()
    return ReturnVisit.objects.filter(_scope(viewer)).select_related(
        "customer", "owner", "contract", "order", "contact", "visited_by"
    )


def visit_for_viewer(viewer: Viewer, pk: object) -> ReturnVisit:
    return _get(visits_for(viewer), pk, _("回访不存在或无权访问"))


def visit_due_q(today: datetime.date) -> Q:
    """Planned visits whose date has come (待回访)."""
    return Q(status=VisitStatus.PENDING, due_on__lte=today)


def visit_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return Q(customer__name__icontains=text) | Q(outcome__icontains=text)


def complaints_for(viewer: Viewer) -> QuerySet[Complaint]:
    if not viewer.is_staff:
        return Complaint.objects.none()
    return Complaint.objects.filter(_scope(viewer)).select_related(
        "customer", "owner", "department", "contact"
    )


def complaint_for_viewer(viewer: Viewer, pk: object) -> Complaint:
    return _get(complaints_for(viewer), pk, _("投诉不存在或无权访问"))


def complaint_overdue_q(now: datetime.datetime) -> Q:
    return Q(status=ComplaintStatus.OPEN, deadline__lt=now)


def complaint_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return Q(code__icontains=text) | Q(title__icontains=text) | Q(customer__name__icontains=text)


def complaint_events(complaint: Complaint) -> list[ComplaintEvent]:
    return list(
        ComplaintEvent.objects.filter(complaint=complaint)
        .select_related("notified", "actor")
        .order_by("at", "id")
    )


def feedback_for(viewer: Viewer) -> QuerySet[Feedback]:
    if not viewer.is_staff:
        return Feedback.objects.none()
    return Feedback.objects.filter(_scope(viewer)).select_related("customer", "owner", "contact")


def feedback_for_viewer(viewer: Viewer, pk: object) -> Feedback:
    return _get(feedback_for(viewer), pk, _("客户反馈不存在或无权访问"))


def feedback_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return Q(customer__name__icontains=text) | Q(content__icontains=text)
