"""Reads of quotes, contracts, receivable plans and receipts, in the viewer's scope as
customers are (by owner, or by department for department scopes). Ids from users become
objects only through the ``…_for_viewer`` helpers: outside the scope the answer is 404.
Finance (scope 全部) sees every receipt it confirms."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.access import Viewer, viewer_for
from salesops.core.models import User
from salesops.org.access import employee_scope_q
from salesops.sales.models import (
    Contract,
    ContractLine,
    ContractStatus,
    Customer,
    Quote,
    QuoteLine,
    Receipt,
    ReceiptStatus,
    ReceivablePlan,
)


def _scoped(viewer: Viewer, prefix: str = "") -> Q:
    return employee_scope_q(viewer, owner=f"{prefix}owner", department=f"{prefix}department")


def _get(qs: QuerySet[Any], pk: object, message: str) -> Any:
    try:
        return qs.get(pk=int(str(pk)))
    except (qs.model.DoesNotExist, ValueError, OverflowError) as exc:
        raise Http404(message) from exc


def _visible(fn: Any) -> Any:
    def visible_to(user: User, object_id: str) -> bool:
        try:
            fn(viewer_for(user), object_id)
        except Http404:
            return False
        return True

    return visible_to


# ------------------------------------------------------------------------------ quotes


def quotes_for(viewer: Viewer) -> QuerySet[Quote]:
    if not viewer.is_staff:
        return Quote.objects.none()
    return Quote.objects.filter(_scoped(viewer)).select_related("customer", "owner", "department")


def quote_for_viewer(viewer: Viewer, pk: object) -> Quote:
    return _get(quotes_for(viewer), pk, _("报价单不存在或无权访问"))  # type: ignore[no-any-return]


def quote_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return (
        Q(quote_no__icontains=text) | Q(title__icontains=text) | Q(customer__name__icontains=text)
    )


def quote_lines(quote: Quote) -> list[QuoteLine]:
    return list(quote.lines.select_related("product"))


quote_visible_to = _visible(quote_for_viewer)


# --------------------------------------------------------------------------- contracts


def contracts_for(viewer: Viewer, *, versions: bool = False) -> QuerySet[Contract]:
    """The viewer's contracts; the current version of each unless ``versions``."""
    if not viewer.is_staff:
        return Contract.objects.none()
    qs = Contract.objects.filter(_scoped(viewer))
    if not versions:
        qs = qs.exclude(status=ContractStatus.SUPERSEDED)
    return qs.select_related("customer", "owner", "department")


def contract_for_viewer(viewer: Viewer, pk: object) -> Contract:
    return _get(  # type: ignore[no-any-return]
        contracts_for(viewer, versions=True).select_related("our_signatory", "quote", "amends"),
        pk,
        _("合同不存在或无权访问"),
    )


def contract_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return (
        Q(contract_no__icontains=text) | Q(name__icontains=text) | Q(customer__name__icontains=text)
    )


def contract_lines(contract: Contract) -> list[ContractLine]:
    return list(contract.lines.select_related("product"))


def contract_versions(contract: Contract) -> list[Contract]:
    return list(
        Contract.objects.filter(contract_no=contract.contract_no)
        .order_by("version")
        .only("pk", "contract_no", "version", "status", "amount", "change_reason", "created_at")
    )


def contract_plans(contract: Contract) -> list[ReceivablePlan]:
    return list(contract.plans.order_by("period"))


def contract_receipts(contract: Contract) -> list[Receipt]:
    return list(contract.receipts.select_related("plan").order_by("-received_on", "-id"))


def open_amendment(contract: Contract) -> Contract | None:
    return (
        Contract.objects.filter(contract_no=contract.contract_no, version__gt=contract.version)
        .order_by("-version")
        .first()
    )


contract_visible_to = _visible(contract_for_viewer)


def _pk(object_id: str) -> int | None:
    try:
        pk = int(object_id)
    except ValueError:
        return None
    return pk if 0 < pk < 2**63 else None


def contract_attachments_viewable(viewer: Viewer, object_id: str) -> bool:
    """A contract's attachments (附件, core.registry.Attachable) are seen by whoever sees
    the contract, any version."""
    pk = _pk(object_id)
    return pk is not None and contracts_for(viewer, versions=True).filter(pk=pk).exists()


def contract_attachments_editable(viewer: Viewer, object_id: str) -> bool:
    """…and changed by them too (as the contract's plans and receipts are), except on a
    version an amendment replaced, which stays as it was signed."""
    pk = _pk(object_id)
    return pk is not None and contracts_for(viewer).filter(pk=pk).exists()


# ------------------------------------------------------------- plans and receipts


def plans_for(viewer: Viewer) -> QuerySet[ReceivablePlan]:
    if not viewer.is_staff:
        return ReceivablePlan.objects.none()
    return (
        ReceivablePlan.objects.filter(_scoped(viewer, "contract__"))
        .exclude(contract__status=ContractStatus.SUPERSEDED)
        .select_related("contract", "contract__customer", "contract__owner")
    )


def overdue_q(day: datetime.date | None = None) -> Q:
    """Instalments past their date and not fully received (逾期)."""
    from django.db.models import F

    day = day or timezone.localdate()
    return Q(due_on__lt=day, received__lt=F("amount"))


def receipts_for(viewer: Viewer) -> QuerySet[Receipt]:
    if not viewer.is_staff:
        return Receipt.objects.none()
    return Receipt.objects.filter(_scoped(viewer)).select_related(
        "contract", "customer", "owner", "plan"
    )


def receipt_for_viewer(viewer: Viewer, pk: object) -> Receipt:
    return _get(receipts_for(viewer), pk, _("回款不存在或无权访问"))  # type: ignore[no-any-return]


def receipt_search_q(text: str) -> Q:
    text = text.strip()
    if not text:
        return Q()
    return (
        Q(receipt_no__icontains=text)
        | Q(contract__contract_no__icontains=text)
        | Q(customer__name__icontains=text)
    )


receipt_visible_to = _visible(receipt_for_viewer)


def month_receipts_by_rep(
    year: int, month: int, employee_ids: list[int] | None = None
) -> dict[int, Decimal]:
    """Confirmed receipts of a month per rep (what the employee commission is paid on):
    one grouped query on the (owner, status, received_on) index."""
    start = datetime.date(year, month, 1)
    end = datetime.date(year + month // 12, month % 12 + 1, 1)
    qs = Receipt.objects.filter(
        status=ReceiptStatus.APPROVED, received_on__gte=start, received_on__lt=end
    )
    if employee_ids is not None:
        qs = qs.filter(owner_id__in=employee_ids)
    rows = qs.values("owner_id").annotate(total=Sum("amount")).order_by()
    return {r["owner_id"]: r["total"] for r in rows}


# ---------------------------------------------------------------------- customer tabs


def customer_quotes(viewer: Viewer, customer: Customer, limit: int = 20) -> list[Quote]:
    return list(quotes_for(viewer).filter(customer=customer).order_by("-quote_date", "-id")[:limit])


def customer_contracts(viewer: Viewer, customer: Customer, limit: int = 20) -> list[Contract]:
    return list(
        contracts_for(viewer).filter(customer=customer).order_by("-start_on", "-id")[:limit]
    )


def customer_receipts(viewer: Viewer, customer: Customer, limit: int = 20) -> list[Receipt]:
    return list(
        receipts_for(viewer).filter(customer=customer).order_by("-received_on", "-id")[:limit]
    )
