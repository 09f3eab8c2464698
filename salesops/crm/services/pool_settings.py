"""公海设置: pools with their member departments and admin, the reclaim rules per customer
level, the claim limits and the notice days.

Admins create, delete and say who belongs to a pool; a pool's own admin (公海管理员) may
change its rules and limits, not its members. Every change is audited — the rules decide
who owns which customers — on the pool, and on each level rule as its own row. The next
run of the reclaim job (``crm.pool_reclaim``) reads the rules as saved here."""

from __future__ import annotations

import dataclasses
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record, snapshot
from salesops.core.errors import FieldError, PermissionDeniedError, ServiceError
from salesops.core.listing import count_capped
from salesops.core.models import AuditAction, User
from salesops.core.text import has_control_chars
from salesops.crm.models import Pool, PoolCustomer, PoolLevelRule, PoolMove
from salesops.crm.selectors.pool_settings import may_configure_pools, may_edit_pool
from salesops.org.models import Department, Employee
from salesops.sales.models import CustomerLevel
from salesops.sales.services._common import require_staff, viewer_of

DAYS_MAX = 3650  # ten years: more is a typo, not a rule
LIMIT_MAX = 1_000_000

_RULE_FIELDS = (
    "auto_reclaim",
    "days_no_followup",
    "days_no_deal",
    "skip_won",
    "skip_open_opportunity",
    "notify_days",
    "max_owned",
    "count_won",
    "max_locked",
    "claims_per_day",
    "former_owner_days",
)
_MEMBER_FIELDS = ("name", "admin", "is_default")
_AUDITED = (*_MEMBER_FIELDS, *_RULE_FIELDS)
_LEVEL_AUDITED = ("level", "days_no_followup", "days_no_deal")


@dataclasses.dataclass
class LevelDays:
    """A level's own days; None where the level uses the pool's."""

    days_no_followup: int | None = None
    days_no_deal: int | None = None


@dataclasses.dataclass
class PoolRules:
    auto_reclaim: bool = True
    days_no_followup: int | None = None
    days_no_deal: int | None = None
    skip_won: bool = True
    skip_open_opportunity: bool = True
    notify_days: int | None = 3
    max_owned: int | None = None
    count_won: bool = False
    max_locked: int | None = None
    claims_per_day: int | None = None
    former_owner_days: int | None = 0
    levels: dict[str, LevelDays] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class PoolMembers:
    """Who belongs to the pool: admins only may set it."""

    name: str
    admin_no: str = ""  # 工号 of the pool's admin, "" for none
    departments: list[Department] = dataclasses.field(default_factory=list)
    is_default: bool = False


def level_field(level: str, what: str) -> str:
    """The input that carries a level's days (``level_A_followup``), for the form and the
    errors alike."""
    return f"level_{level}_{what}"


def _check_days(errors: list[FieldError], field: str, value: int | None, hint: str) -> None:
    if value is not None and not 1 <= value <= DAYS_MAX:
        errors.append(
            FieldError(
                field, _("天数应在 1 到 %(max)d 之间（%(hint)s）") % {"max": DAYS_MAX, "hint": hint}
            )
        )


def _check_rules(rules: PoolRules) -> list[FieldError]:
    errors: list[FieldError] = []
    blank_pool = _("留空表示不按此规则收回")
    _check_days(errors, "days_no_followup", rules.days_no_followup, blank_pool)
    _check_days(errors, "days_no_deal", rules.days_no_deal, blank_pool)
    for level, days in rules.levels.items():
        if level not in CustomerLevel.values:
            errors.append(FieldError("levels", _("未知的客户级别 %(l)s") % {"l": level}))
            continue
        blank_level = _("留空则使用公海的天数")
        _check_days(errors, level_field(level, "followup"), days.days_no_followup, blank_level)
        _check_days(errors, level_field(level, "deal"), days.days_no_deal, blank_level)
    if rules.notify_days is None or not 0 <= rules.notify_days <= DAYS_MAX:
        errors.append(
            FieldError(
                "notify_days",
                _("提前提醒天数应在 0 到 %(max)d 之间（0 表示不提醒）") % {"max": DAYS_MAX},
            )
        )
    if rules.former_owner_days is None or not 0 <= rules.former_owner_days <= DAYS_MAX:
        errors.append(
            FieldError(
                "former_owner_days",
                _("前负责人不可领取天数应在 0 到 %(max)d 之间（0 表示不限制）") % {"max": DAYS_MAX},
            )
        )
    for field in ("max_owned", "max_locked", "claims_per_day"):
        value = getattr(rules, field)
        if value is None:
            continue
        if value < 0:
            errors.append(FieldError(field, _("上限不能为负数（留空表示不限）")))
        elif value > LIMIT_MAX:
            errors.append(FieldError(field, _("上限不能超过 %(max)d") % {"max": LIMIT_MAX}))
    return errors


def _others(pool: Pool | None) -> QuerySet[Pool]:
    qs = Pool.objects.all()
    return qs.exclude(pk=pool.pk) if pool is not None else qs


def _check_members(members: PoolMembers, pool: Pool | None) -> tuple[str, Employee | None]:
    """Raise every field's error at once (the rules' errors are added by the caller)."""
    errors: list[FieldError] = []
    name = members.name.strip()
    if not name:
        errors.append(FieldError("name", _("请填写公海名称")))
    elif len(name) > 64 or has_control_chars(name):
        errors.append(FieldError("name", _("公海名称不能超过64个字符，且不能含控制字符")))
    elif _others(pool).filter(name=name).exists():
        errors.append(FieldError("name", _("公海 %(n)s 已存在") % {"n": name}))
    admin: Employee | None = None
    admin_no = members.admin_no.strip()
    if admin_no:
        admin = Employee.objects.filter(employee_no=admin_no).first()
        if admin is None:
            errors.append(FieldError("admin_no", _("工号 %(no)s 不存在") % {"no": admin_no}))
        elif not admin.active:
            errors.append(
                FieldError(
                    "admin_no", _("%(name)s 已离职，不能担任公海管理员") % {"name": admin.name}
                )
            )
    taken = (
        Pool.departments.through.objects.filter(
            department_id__in=[d.pk for d in members.departments],
            pool__in=_others(pool),
        )
        .select_related("pool", "department")
        .order_by("department__path")
    )
    for row in taken:
        errors.append(
            FieldError(
                "departments",
                _("部门 %(d)s 已是%(p)s的成员部门，一个部门只能属于一个公海")
                % {"d": row.department.name, "p": row.pool.name},
            )
        )
    if pool is not None and pool.is_default and not members.is_default:
        errors.append(
            FieldError(
                "is_default",
                _("必须有一个默认公海：请在另一个公海上勾选“默认公海”，本公海随之取消默认"),
            )
        )
    if errors:
        raise ServiceError.invalid(errors)
    return name, admin


def _require(actor: User | None, pool: Pool | None, members: bool) -> None:
    viewer = viewer_of(actor)
    require_staff(viewer)
    if viewer is None:  # a system write (demo builder, tests' set-up)
        return
    if members and not may_configure_pools(viewer):
        raise PermissionDeniedError(_("只有管理员可以新建公海或修改公海的成员和管理员"))
    if pool is not None and not may_edit_pool(viewer, pool):
        raise PermissionDeniedError(_("只有管理员和该公海的管理员可以修改公海设置"))


def _departments_text(pool: Pool) -> str:
    return "、".join(d.name for d in pool.departments.order_by("path"))


def _save_levels(actor: User | None, pool: Pool, levels: dict[str, LevelDays]) -> None:
    current = {lr.level: lr for lr in PoolLevelRule.objects.filter(pool=pool)}
    for level in CustomerLevel.values:
        days = levels.get(level, LevelDays())
        row = current.get(level)
        empty = days.days_no_followup is None and days.days_no_deal is None
        if row is None and empty:
            continue
        if row is None:
            row = PoolLevelRule.objects.create(
                pool=pool,
                level=level,
                days_no_followup=days.days_no_followup,
                days_no_deal=days.days_no_deal,
            )
            _audit(actor, AuditAction.CREATE, row, {}, snapshot(row, _LEVEL_AUDITED))
        elif empty:
            before = snapshot(row, _LEVEL_AUDITED)
            _audit(actor, AuditAction.DELETE, row, before, {})
            row.delete()
        else:
            before = snapshot(row, _LEVEL_AUDITED)
            row.days_no_followup, row.days_no_deal = days.days_no_followup, days.days_no_deal
            row.save(update_fields=["days_no_followup", "days_no_deal"])
            _audit(actor, AuditAction.UPDATE, row, before, snapshot(row, _LEVEL_AUDITED))


def _audit(
    actor: User | None,
    action: str,
    obj: Any,
    before: dict[str, str],
    after: dict[str, str],
    note: str = "",
) -> None:
    keys = dict.fromkeys([*before, *after])
    changes = {k: (before.get(k, ""), after.get(k, "")) for k in keys}
    changes = {k: v for k, v in changes.items() if v[0] != v[1]}
    if changes or action != AuditAction.UPDATE:
        audit_record(
            actor=actor, action=action, obj=obj, changes=changes or None, note=note or _("公海设置")
        )


def _apply_rules(pool: Pool, rules: PoolRules) -> None:
    for field in _RULE_FIELDS:
        setattr(pool, field, getattr(rules, field))


def _take_default(actor: User | None, pool: Pool) -> None:
    """This pool becomes the default: the former default stops being it (audited there)."""
    for other in Pool.objects.select_for_update().filter(is_default=True).exclude(pk=pool.pk):
        before = snapshot(other, ("is_default",))
        other.is_default = False
        other.save(update_fields=["is_default"])
        _audit(
            actor,
            AuditAction.UPDATE,
            other,
            before,
            snapshot(other, ("is_default",)),
            note=_("默认公海改为%(p)s") % {"p": pool.name},
        )


@transaction.atomic
def pool_create(*, actor: User | None, members: PoolMembers, rules: PoolRules) -> Pool:
    """A new pool (admins only). Codes: ``invalid_input`` (every field's error at once),
    ``permission_denied``."""
    _require(actor, None, members=True)
    errors = _check_rules(rules)
    try:
        name, admin = _check_members(members, None)
    except ServiceError as exc:
        raise ServiceError.invalid([*exc.errors, *errors]) from None
    if errors:
        raise ServiceError.invalid(errors)
    pool = Pool(name=name, admin=admin, is_default=members.is_default)
    _apply_rules(pool, rules)
    pool.save()
    pool.departments.set(members.departments)
    _save_levels(actor, pool, rules.levels)
    if pool.is_default:
        _take_default(actor, pool)
    after = {**snapshot(pool, _AUDITED), "departments": _departments_text(pool)}
    _audit(actor, AuditAction.CREATE, pool, {}, {k: v for k, v in after.items() if v != ""})
    return pool


@transaction.atomic
def pool_update(
    *, actor: User | None, pool: Pool, rules: PoolRules, members: PoolMembers | None = None
) -> Pool:
    """Change a pool's rules and limits (admins and the pool's admin), and with ``members``
    its name, departments, admin and default flag (admins only)."""
    _require(actor, pool, members=members is not None)
    pool = Pool.objects.select_for_update().get(pk=pool.pk)
    errors = _check_rules(rules)
    name, admin = pool.name, pool.admin
    if members is not None:
        try:
            name, admin = _check_members(members, pool)
        except ServiceError as exc:
            raise ServiceError.invalid([*exc.errors, *errors]) from None
    if errors:
        raise ServiceError.invalid(errors)
    before = {**snapshot(pool, _AUDITED), "departments": _departments_text(pool)}
    pool.name, pool.admin = name, admin
    _apply_rules(pool, rules)
    if members is not None:
        pool.is_default = members.is_default
    pool.save()
    if members is not None:
        pool.departments.set(members.departments)
        if pool.is_default:
            _take_default(actor, pool)
    _save_levels(actor, pool, rules.levels)
    after = {**snapshot(pool, _AUDITED), "departments": _departments_text(pool)}
    _audit(actor, AuditAction.UPDATE, pool, before, after)
    return pool


@transaction.atomic
def pool_delete(*, actor: User | None, pool: Pool) -> None:
    """Remove an unused pool (admins only). Refused for the default pool, a pool that still
    holds customers, and one with a history of moves (that log is kept: a pool no longer
    used can lose its departments and stop reclaiming instead)."""
    _require(actor, None, members=True)
    pool = Pool.objects.select_for_update().get(pk=pool.pk)
    if pool.is_default:
        raise ServiceError("default_pool", _("默认公海不能删除"), status=409)
    n, capped = count_capped(PoolCustomer.objects.filter(pool=pool))
    if n:
        raise ServiceError(
            "pool_not_empty",
            _("%(p)s中还有 %(n)s 个客户，不能删除；请先分配或由成员领取这些客户")
            % {"p": pool.name, "n": f"{n:,}+" if capped else str(n)},
            status=409,
        )
    if PoolMove.objects.filter(pool=pool).exists():
        raise ServiceError(
            "pool_has_history",
            _(
                "%(p)s已有领取、放入或收回记录，记录需要保留，不能删除；"
                "如不再使用，可移除其成员部门并关闭自动收回"
            )
            % {"p": pool.name},
            status=409,
        )
    before = {**snapshot(pool, _AUDITED), "departments": _departments_text(pool)}
    _audit(actor, AuditAction.DELETE, pool, {k: v for k, v in before.items() if v != ""}, {})
    for row in PoolLevelRule.objects.filter(pool=pool):
        _audit(actor, AuditAction.DELETE, row, snapshot(row, _LEVEL_AUDITED), {})
    pool.delete()
