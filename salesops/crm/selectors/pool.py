"""Which pool a customer belongs to, who is a member of a pool, the rule for a customer,
and the pool's list. Departments are few (hundreds): the department → pool map is built
in one query and used by the set-based reclaim."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from salesops.core.access import Viewer
from salesops.crm.models import Opportunity, OpportunityStatus, Pool, PoolCustomer
from salesops.crm.rules import Facts, PoolRule, explain
from salesops.org.models import Employee
from salesops.org.selectors import nearest_assignment
from salesops.sales.models import Customer, CustomerStatus


def pool_map() -> tuple[dict[int, Pool], Pool | None]:
    """{department id: its pool} (the nearest department up the tree that a pool lists)
    and the default pool for departments no pool lists."""
    pools = list(Pool.objects.prefetch_related("departments", "level_rules"))
    default = next((p for p in pools if p.is_default), None)
    direct: dict[int, Pool] = {}
    for p in pools:
        for d in p.departments.all():
            direct.setdefault(d.pk, p)
    return nearest_assignment(direct, default), default


def pool_for_department(department_id: int | None) -> Pool | None:
    mapping, default = pool_map()
    if department_id is None:
        return default
    return mapping.get(department_id, default)


def rule_of(pool: Pool, level: str) -> PoolRule:
    """The pool's rule for a customer level (a level rule's days where it sets them)."""
    followup, deal = pool.days_no_followup, pool.days_no_deal
    for lr in pool.level_rules.all():
        if lr.level == level:
            followup = lr.days_no_followup if lr.days_no_followup is not None else followup
            deal = lr.days_no_deal if lr.days_no_deal is not None else deal
    return PoolRule(
        pool_id=pool.pk,
        pool_name=pool.name,
        days_no_followup=followup,
        days_no_deal=deal,
        skip_won=pool.skip_won,
        skip_open_opportunity=pool.skip_open_opportunity,
        auto_reclaim=pool.auto_reclaim,
    )


def facts_of(customer: Customer) -> Facts:
    return Facts(
        owner_since=customer.owner_since,
        last_followup_at=customer.last_followup_at,
        locked=customer.locked,
        won=customer.status == CustomerStatus.WON,
        won_at=customer.won_at,
        open_opportunity=Opportunity.objects.filter(
            customer_id=customer.pk, status=OpportunityStatus.OPEN
        ).exists(),
    )


def countdown(customer: Customer, now: datetime.datetime | None = None) -> str:
    """The customer's explained countdown, "" for a customer in a pool or without one."""
    if customer.owner_id is None:
        return ""
    pool = pool_for_department(customer.department_id)
    if pool is None:
        return ""
    return explain(rule_of(pool, customer.level), facts_of(customer), now or timezone.now())


def member_pools(employee: Employee | None) -> list[Pool]:
    """The pools whose member departments hold the employee's department (up the tree);
    the default pool's members are everyone whose department no pool lists."""
    if employee is None:
        return []
    mapping, default = pool_map()
    pool = mapping.get(employee.department_id, default)
    return [pool] if pool is not None else []


def pools_for(viewer: Viewer) -> list[Pool]:
    """The pools a viewer may open: all for admins, else their own and those they run."""
    if viewer.is_admin:
        return list(Pool.objects.order_by("name"))
    own = member_pools(viewer.employee)
    run = list(Pool.objects.filter(admin=viewer.employee)) if viewer.employee else []
    seen: dict[int, Pool] = {p.pk: p for p in [*own, *run]}
    return sorted(seen.values(), key=lambda p: p.name)


def pool_customers_for(viewer: Viewer, pool: Pool | None = None) -> QuerySet[PoolCustomer]:
    pools = pools_for(viewer)
    ids = [p.pk for p in pools if pool is None or p.pk == pool.pk]
    return (
        PoolCustomer.objects.filter(pool_id__in=ids)
        .select_related("customer", "pool", "former_owner")
        .order_by("-entered_at", "-customer_id")
    )


def pool_search_q(term: str) -> Q:
    return Q(customer__name__icontains=term) | Q(customer__code=term)
