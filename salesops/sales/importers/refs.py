"""What the service importers (contacts, opportunities, contracts, receipts, leads) look
up: customers, employees and contracts named in a file, in the importing user's data
scope, a batch a query (``filter_in``). A code outside the scope reads as missing."""

from __future__ import annotations

from collections.abc import Iterable

from salesops.core.imports.common import filter_in
from salesops.core.models import User
from salesops.org.access import employee_scope_q
from salesops.org.models import Employee
from salesops.sales.models import Contract, ContractStatus, Customer
from salesops.sales.selectors import customers_for
from salesops.sales.selectors_deals import contracts_for
from salesops.sales.services._common import viewer_of


def customers_by_code(actor: User | None, codes: Iterable[str]) -> dict[str, Customer]:
    viewer = viewer_of(actor)
    qs = Customer.objects.all() if viewer is None else customers_for(viewer)
    return {c.code: c for c in filter_in(qs, "code", set(codes))}


def employees_by_no(actor: User | None, numbers: Iterable[str]) -> dict[str, Employee]:
    viewer = viewer_of(actor)
    qs = Employee.objects.select_related("department")
    if viewer is not None:
        qs = qs.filter(employee_scope_q(viewer, owner=""))
    return {e.employee_no: e for e in filter_in(qs, "employee_no", set(numbers))}


def contracts_by_no(actor: User | None, numbers: Iterable[str]) -> dict[str, Contract]:
    """The version of each contract number that receipts go to: the oldest one not
    superseded (a pending amendment is newer than the version in force)."""
    viewer = viewer_of(actor)
    qs = (
        Contract.objects.exclude(status=ContractStatus.SUPERSEDED)
        if viewer is None
        else contracts_for(viewer)
    )
    found: dict[str, Contract] = {}
    for contract in filter_in(qs.order_by("-version"), "contract_no", set(numbers)):
        found[contract.contract_no] = contract  # the lowest version comes last
    return found


def column_values(rows: Iterable[dict[str, object]], key: str) -> set[str]:
    return {str(v[key]) for v in rows if v.get(key)}
