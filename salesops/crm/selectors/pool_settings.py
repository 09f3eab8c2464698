"""Reads of the 公海设置 page: who may configure which pool, and each pool with its member
departments, admin, rules per customer level, claim limits and how many customers it
holds. Pools and departments are few (tens, hundreds); the customers of a pool may be
millions, so that count is capped ("10,000+", as on the list pages)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.db.models import Count
from django.http import Http404
from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.core.errors import PermissionDeniedError
from salesops.core.listing import count_capped
from salesops.crm.models import Pool, PoolCustomer
from salesops.crm.rules import PoolRule
from salesops.crm.selectors.pool import pool_map, rule_of
from salesops.org.models import Employee
from salesops.sales.models import CustomerLevel


def may_configure_pools(viewer: Viewer) -> bool:
    """Create, delete, and say who belongs to a pool: admins only."""
    return viewer.is_admin


def may_edit_pool(viewer: Viewer, pool: Pool) -> bool:
    """A pool's rules and limits: admins, and the pool's own admin (公海管理员)."""
    if viewer.is_admin:
        return True
    employee = viewer.employee
    return employee is not None and pool.admin_id is not None and pool.admin_id == employee.pk


def runs_a_pool(viewer: Viewer) -> bool:
    """Whether the 公海 page offers the way to 公海设置 (admins, and pools' own admins)."""
    if viewer.is_admin:
        return True
    return viewer.employee is not None and Pool.objects.filter(admin=viewer.employee).exists()


def editable_pools(viewer: Viewer) -> list[Pool]:
    """The pools whose settings the viewer may open (all for admins, else those they run)."""
    qs = Pool.objects.select_related("admin").prefetch_related("departments", "level_rules")
    if not viewer.is_admin:
        if viewer.employee is None:
            return []
        qs = qs.filter(admin=viewer.employee)
    return list(qs.order_by("-is_default", "name"))


def pool_settings_for_viewer(viewer: Viewer, pk: object) -> Pool:
    """The pool to edit: 404 when there is none, 403 when the viewer may not edit it."""
    try:
        pool = (
            Pool.objects.select_related("admin")
            .prefetch_related("departments", "level_rules")
            .get(pk=int(str(pk)))
        )
    except (Pool.DoesNotExist, ValueError) as exc:
        raise Http404(_("公海不存在")) from exc
    if not may_edit_pool(viewer, pool):
        raise PermissionDeniedError(_("只有管理员和该公海的管理员可以修改公海设置"))
    return pool


def _days(n: int | None, what: str) -> str:
    if n is None:
        return ""
    if what == "followup":
        return _("%(n)d 天未跟进收回") % {"n": n}
    return _("%(n)d 天未成交收回") % {"n": n}


def _rule_text(rule: PoolRule) -> str:
    parts = [
        t for t in (_days(rule.days_no_followup, "followup"), _days(rule.days_no_deal, "deal")) if t
    ]
    return "，".join(parts) or _("不按天数收回")


def rules_summary(pool: Pool) -> list[str]:
    """The pool's rules in words: its days, each level that differs, what is skipped and
    the notice — what the reclaim job will do."""
    if not pool.auto_reclaim:
        return [_("未开启自动收回")]
    base = PoolRule(
        pool_id=pool.pk,
        pool_name=pool.name,
        days_no_followup=pool.days_no_followup,
        days_no_deal=pool.days_no_deal,
        skip_won=pool.skip_won,
        skip_open_opportunity=pool.skip_open_opportunity,
    )
    out = [_rule_text(base)]
    for level, label in CustomerLevel.choices:
        rule = rule_of(pool, level)
        if (rule.days_no_followup, rule.days_no_deal) != (base.days_no_followup, base.days_no_deal):
            out.append(_("%(level)s：%(rule)s") % {"level": label, "rule": _rule_text(rule)})
    if len(out) == 1 and base.days_no_followup is None and base.days_no_deal is None:
        return [_("未设置收回天数，不会自动收回")]
    skips = []
    if pool.skip_won:
        skips.append(_("成交客户不收回"))
    if pool.skip_open_opportunity:
        skips.append(_("有进行中商机不收回"))
    skips.append(_("锁定客户不收回"))
    out.append("，".join(skips))
    if pool.notify_days:
        out.append(_("提前 %(n)d 天提醒负责人") % {"n": pool.notify_days})
    else:
        out.append(_("不提前提醒"))
    return out


def limits_summary(pool: Pool) -> list[str]:
    """The claim limits in words."""
    out = []
    if pool.max_owned is not None:
        counted = _("含成交客户") if pool.count_won else _("成交客户不计")
        out.append(_("每人最多拥有 %(n)d 个客户（%(c)s）") % {"n": pool.max_owned, "c": counted})
    if pool.max_locked is not None:
        out.append(_("每人最多锁定 %(n)d 个客户") % {"n": pool.max_locked})
    if pool.claims_per_day is not None:
        out.append(_("每人每天最多领取 %(n)d 个") % {"n": pool.claims_per_day})
    if pool.former_owner_days:
        out.append(_("前负责人 %(n)d 天内不可领取") % {"n": pool.former_owner_days})
    return out or [_("不限")]


@dataclass
class PoolRow:
    pool: Pool
    departments: list[str]
    members: int  # active employees whose department the pool serves
    customers: int
    capped: bool
    customers_text: str  # "1,234", or "10,000+" past the cap
    rules: list[str]
    limits: list[str]
    can_delete: bool


def pool_rows(viewer: Viewer) -> list[PoolRow]:
    """The 公海设置 list: a bounded number of queries whatever the pools hold (one capped
    count per pool; pools are tens)."""
    pools = editable_pools(viewer)
    mapping, _default = pool_map()
    per_department = dict(
        Employee.objects.filter(active=True)
        .values_list("department_id")
        .annotate(n=Count("id"))
        .values_list("department_id", "n")
    )
    members: Counter[int] = Counter()
    for dept, pool in mapping.items():
        members[pool.pk] += per_department.get(dept, 0)
    rows = []
    for pool in pools:
        n, capped = count_capped(PoolCustomer.objects.filter(pool=pool))
        rows.append(
            PoolRow(
                pool=pool,
                departments=[d.name for d in pool.departments.all()],
                members=members[pool.pk],
                customers=n,
                capped=capped,
                customers_text=f"{n:,}+" if capped else f"{n:,}",
                rules=rules_summary(pool),
                limits=limits_summary(pool),
                can_delete=may_configure_pools(viewer) and not pool.is_default and n == 0,
            )
        )
    return rows
