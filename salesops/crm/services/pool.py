"""Public pool (公海) writes: release, claim, assign, lock, and the scheduled reclaim.

Every move writes a ``PoolMove``; the claim limits count those rows (claims today, the
former owner's cool-down). The reclaim is set-based: per pool, one scan picks the due
customers (an OR over the pool's levels and rules) and those due within the notice days,
and the due move in batches; a customer claimed meanwhile is left alone (each batch
re-checks that it is still due), and a second run finds nothing due. The plain
statement of the rule is ``crm.rules``."""

from __future__ import annotations

import datetime
from collections import Counter
from dataclasses import dataclass
from typing import Any

from django.db import connection, models, transaction
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    DateTimeField,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record, audit_update, snapshot
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, Notification, RoleCode, User
from salesops.core.notifications import Text, notify
from salesops.crm.models import (
    Opportunity,
    OpportunityStatus,
    Pool,
    PoolCustomer,
    PoolMove,
    PoolMoveKind,
)
from salesops.crm.selectors.pool import member_pools, pool_map, rule_of
from salesops.org.access import employee_scope_q
from salesops.org.models import Employee
from salesops.sales.models import Customer, CustomerLevel, CustomerStatus
from salesops.sales.services._common import employee_in_scope, require_staff, viewer_of

_AUDITED = ("owner", "department", "locked")
BATCH = 2000


def _scoped(actor: User | None, customer: Customer) -> None:
    viewer = viewer_of(actor)
    require_staff(viewer)
    if viewer is None:
        return
    q = employee_scope_q(viewer, owner="owner", department="department")
    if not Customer.objects.filter(q, pk=customer.pk).exists():
        raise PermissionDeniedError(_("客户不存在或无权访问"))


def _pool_of(customer: Customer) -> Pool:
    mapping, default = pool_map()
    pool = mapping.get(customer.department_id, default)
    if pool is None:
        raise ServiceError("no_pool", _("没有可放入的公海，请管理员先设置默认公海"), status=409)
    return pool


@transaction.atomic
def customer_release(*, actor: User | None, customer: Customer, reason: str) -> PoolCustomer:
    """放入公海: the owner (or a manager in scope) gives the customer back to its pool."""
    _scoped(actor, customer)
    reason = reason.strip()
    if not reason:
        raise ServiceError("required", _("请填写放入公海的原因"), field="reason")
    if len(reason) > 200:
        raise ServiceError("invalid_input", _("原因不能超过200个字符"), field="reason")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    if locked.owner_id is None:
        raise ServiceError("in_pool", _("客户已在公海中"), status=409)
    pool = _pool_of(locked)
    now = timezone.now()
    before = snapshot(locked, _AUDITED)
    former = locked.owner
    entry = PoolCustomer.objects.create(
        customer=locked, pool=pool, entered_at=now, former_owner=former, reason=reason
    )
    PoolMove.objects.create(
        customer=locked,
        pool=pool,
        kind=PoolMoveKind.RELEASE,
        employee=former,
        at=now,
        rule=reason,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    locked.owner, locked.owner_since, locked.locked = None, None, False
    locked.save(update_fields=["owner", "owner_since", "locked", "updated_at"])
    audit_update(
        actor=actor,
        obj=locked,
        before=before,
        note=_("放入%(pool)s：%(r)s") % {"pool": pool.name, "r": reason},
    )
    customer.owner, customer.owner_id = None, None
    return entry


def _owned_count(employee: Employee, pool: Pool) -> int:
    qs = Customer.objects.filter(owner=employee)
    if not pool.count_won:
        qs = qs.exclude(status=CustomerStatus.WON)
    return qs.count()


def _check_limits(
    employee: Employee, pool: Pool, customer: Customer, now: datetime.datetime, claim: bool
) -> None:
    owned = _owned_count(employee, pool) if pool.max_owned is not None else 0
    if pool.max_owned is not None and owned >= pool.max_owned:
        raise ServiceError(
            "pool_limit",
            _("%(name)s 已拥有 %(n)d 个客户，达到%(pool)s的上限 %(max)d 个")
            % {
                "name": employee.name,
                "n": owned,
                "pool": pool.name,
                "max": pool.max_owned,
            },
            status=409,
        )
    if not claim:
        return
    day_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    if pool.claims_per_day is not None:
        today = PoolMove.objects.filter(
            employee=employee, kind=PoolMoveKind.CLAIM, at__gte=day_start
        ).count()
        if today >= pool.claims_per_day:
            raise ServiceError(
                "claim_daily_limit",
                _("今天已领取 %(n)d 个客户，%(pool)s每人每天最多领取 %(max)d 个")
                % {"n": today, "pool": pool.name, "max": pool.claims_per_day},
                status=409,
            )
    if pool.former_owner_days:
        since = now - datetime.timedelta(days=pool.former_owner_days)
        last = (
            PoolMove.objects.filter(
                customer=customer,
                employee=employee,
                kind__in=(PoolMoveKind.RELEASE, PoolMoveKind.RECLAIM),
                at__gte=since,
            )
            .order_by("-at")
            .first()
        )
        if last is not None:
            until = last.at + datetime.timedelta(days=pool.former_owner_days)
            raise ServiceError(
                "former_owner_cooldown",
                _(
                    "您是该客户的前负责人，%(pool)s规定 %(d)d 天内不能重新领取"
                    "（%(until)s 之后可领取）"
                )
                % {
                    "pool": pool.name,
                    "d": pool.former_owner_days,
                    "until": timezone.localtime(until).strftime("%Y-%m-%d %H:%M"),
                },
                status=409,
            )


def _take(
    *, actor: User | None, customer: Customer, employee: Employee, kind: str, note: str
) -> Customer:
    entry = (
        PoolCustomer.objects.select_for_update()
        .select_related("pool")
        .filter(customer_id=customer.pk)
        .first()
    )
    if entry is None:
        raise ServiceError("not_in_pool", _("客户不在公海中（可能已被他人领取）"), status=409)
    pool = entry.pool
    now = timezone.now()
    _check_limits(employee, pool, customer, now, claim=kind == PoolMoveKind.CLAIM)
    row = Customer.objects.select_for_update().get(pk=customer.pk)
    before = snapshot(row, _AUDITED)
    row.owner, row.department_id, row.owner_since = employee, employee.department_id, now
    row.save(update_fields=["owner", "department", "owner_since", "updated_at"])
    entry.delete()
    PoolMove.objects.create(
        customer=row,
        pool=pool,
        kind=kind,
        employee=employee,
        at=now,
        actor=actor if actor is not None and actor.is_authenticated else None,
    )
    audit_update(actor=actor, obj=row, before=before, note=note % {"pool": pool.name})
    return row


@transaction.atomic
def pool_claim(*, actor: User, customer: Customer) -> Customer:
    """领取: a member of the customer's pool takes it, within the pool's limits."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    employee = viewer.employee if viewer is not None else None
    if employee is None:
        raise ServiceError("not_pool_member", _("只有员工可以领取公海客户"), status=403)
    entry = PoolCustomer.objects.filter(customer_id=customer.pk).first()
    if entry is not None and entry.pool_id not in {p.pk for p in member_pools(employee)}:
        raise ServiceError(
            "not_pool_member",
            _("您不是%(pool)s的成员，不能领取其中的客户") % {"pool": entry.pool.name},
            status=403,
        )
    return _take(
        actor=actor,
        customer=customer,
        employee=employee,
        kind=PoolMoveKind.CLAIM,
        note=_("从%(pool)s领取"),
    )


@transaction.atomic
def pool_assign(*, actor: User, customer: Customer, employee: Employee) -> Customer:
    """分配: the pool's admin, a manager or an admin gives a pool customer to an employee
    in their scope (the owned-customers limit still holds; the daily claim limit and the
    cool-down are for claims)."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    entry = PoolCustomer.objects.select_related("pool").filter(customer_id=customer.pk).first()
    if viewer is not None and not viewer.is_admin:
        runs = entry is not None and entry.pool.admin_id == getattr(viewer.employee, "pk", None)
        if not runs and viewer.role == RoleCode.REP:
            raise PermissionDeniedError(_("只有公海管理员或经理可以分配公海客户"))
    employee_in_scope(viewer, employee, "owner")
    if not employee.active:
        raise ServiceError("inactive", _("负责人已离职，不能分配客户"), field="owner")
    return _take(
        actor=actor,
        customer=customer,
        employee=employee,
        kind=PoolMoveKind.ASSIGN,
        note=_("从%(pool)s分配"),
    )


@transaction.atomic
def customer_lock(*, actor: User | None, customer: Customer, locked: bool) -> Customer:
    """锁定 (never reclaimed) or unlock; an owner may lock at most the pool's limit."""
    _scoped(actor, customer)
    row = Customer.objects.select_for_update().get(pk=customer.pk)
    if row.owner_id is None:
        raise ServiceError("in_pool", _("公海中的客户不能锁定"), status=409)
    if row.locked == locked:
        return row
    if locked:
        pool = _pool_of(row)
        if pool.max_locked is not None:
            n = Customer.objects.filter(owner_id=row.owner_id, locked=True).count()
            if n >= pool.max_locked:
                raise ServiceError(
                    "lock_limit",
                    _("负责人已锁定 %(n)d 个客户，达到%(pool)s的上限 %(max)d 个")
                    % {"n": n, "pool": pool.name, "max": pool.max_locked},
                    status=409,
                )
    before = snapshot(row, _AUDITED)
    row.locked = locked
    row.save(update_fields=["locked", "updated_at"])
    audit_update(actor=actor, obj=row, before=before, note=_("锁定") if locked else _("解锁"))
    return row


# ------------------------------------------------------------------------------ reclaim


def _level_rules(pool: Pool, kind: str, at: datetime.datetime) -> dict[str, Q]:
    """{level: the customers of that level whose rule ``kind`` is due at ``at``}, for the
    levels of the pool that have that rule."""
    out: dict[str, Q] = {}
    for level in CustomerLevel.values:
        rule = rule_of(pool, level)
        days = rule.days_no_followup if kind == "followup" else rule.days_no_deal
        if days is None:
            continue
        cutoff = at - datetime.timedelta(days=days)
        if kind == "followup":
            q = Q(owner_since__lte=cutoff) & (
                Q(last_followup_at__isnull=True) | Q(last_followup_at__lte=cutoff)
            )
        else:
            q = Q(owner_since__lte=cutoff) & (
                Q(won_at__isnull=True) | Q(won_at__lt=F("owner_since"))
            )
        out[level] = Q(level=level) & q
    return out


def _rule_q(pool: Pool, kind: str, at: datetime.datetime) -> Q | None:
    """The customers of the pool's levels whose rule ``kind`` is due at ``at``: one OR
    over the levels that have that rule (None when no level has it)."""
    return _any(*_level_rules(pool, kind, at).values())


def _any(*qs: Q | None) -> Q | None:
    found = [q for q in qs if q is not None]
    if not found:
        return None
    out = found[0]
    for q in found[1:]:
        out |= q
    return out


def _reclaimable(pool: Pool, departments: list[int]) -> QuerySet[Customer]:
    """The pool's owned customers that its rules may send back at all (not locked, and
    not won or with an open opportunity where the pool says so)."""
    qs = Customer.objects.filter(owner__isnull=False, locked=False, department_id__in=departments)
    if pool.skip_won:
        qs = qs.exclude(status=CustomerStatus.WON)
    if pool.skip_open_opportunity:
        qs = qs.exclude(
            Exists(
                Opportunity.objects.filter(
                    customer_id=OuterRef("pk"), status=OpportunityStatus.OPEN
                )
            )
        )
    return qs


@dataclass
class Reclaimed:
    moved: int
    noticed: int
    by_pool: dict[str, int]


def _departments_by_pool() -> dict[int, tuple[Pool, list[int]]]:
    mapping, _default = pool_map()
    out: dict[int, tuple[Pool, list[int]]] = {}
    for dept, pool in mapping.items():
        out.setdefault(pool.pk, (pool, []))[1].append(dept)
    return out


def _reason(pool: Pool, kind: str, level: str) -> str:
    rule = rule_of(pool, level)
    if kind == "followup":
        return _("%(d)d 天未跟进，收回到%(pool)s") % {"d": rule.days_no_followup, "pool": pool.name}
    return _("%(d)d 天未成交，收回到%(pool)s") % {"d": rule.days_no_deal, "pool": pool.name}


def _flag(q: Q | None) -> Case | Value:
    if q is None:
        return Value(False, output_field=BooleanField())
    return Case(When(q, then=Value(True)), default=Value(False), output_field=BooleanField())


@dataclass
class _Scan:
    """One pool's customers due now, and the owners of those due only by the end of the
    notice days."""

    due: list[int]
    soon: Counter[int]


def _scan(pool: Pool, departments: list[int], now: datetime.datetime) -> _Scan | None:
    """One read of the pool's customers for the whole run: those due now by either rule
    and, with notice days, those due by then. The reclaim used to read the table once
    per rule for the moves — again for each batch of 2,000, from the start, so a run over
    a million customers read it dozens of times — and once per rule for the notices."""
    due_now = _any(_rule_q(pool, "followup", now), _rule_q(pool, "deal", now))
    if due_now is None:
        return None
    later = now + datetime.timedelta(days=pool.notify_days) if pool.notify_days else now
    # The same rules later: whatever is due now is due then.
    due_later = _any(_rule_q(pool, "followup", later), _rule_q(pool, "deal", later))
    rows = (
        _reclaimable(pool, departments)
        .filter(due_later)
        .annotate(_now=_flag(due_now))
        .order_by("pk")
        .values_list("pk", "owner_id", "_now")
    )
    out = _Scan(due=[], soon=Counter())
    for pk, owner, is_due in rows.iterator(chunk_size=5000):
        if is_due:
            out.due.append(pk)
        else:
            out.soon[owner] += 1
    return out


def _move(
    pool: Pool, departments: list[int], ids: list[int], now: datetime.datetime
) -> list[tuple[int, int]]:
    """Move one batch of due customers to the pool; returns (customer, former owner) of
    those moved. Read again under the write lock: a customer claimed, followed up or
    locked since the scan keeps its owner.

    Set-based: the pool rows and the moves are ``INSERT … SELECT`` from the customers,
    the rule's text a ``CASE`` over the levels (the follow-up rule named when both are
    due, the order the moves always had) — building 4,000 model instances a batch in
    Python was three quarters of a million-customer run."""
    followups = _level_rules(pool, "followup", now)
    deals = _level_rules(pool, "deal", now)
    due_now = _any(*followups.values(), *deals.values())
    rule_text = Case(
        *(When(q, then=Value(_reason(pool, "followup", lv))) for lv, q in followups.items()),
        *(When(Q(level=lv), then=Value(_reason(pool, "deal", lv))) for lv in deals),
        output_field=CharField(),
    )
    with transaction.atomic():
        rows = list(
            _reclaimable(pool, departments)
            .filter(due_now, pk__in=ids)
            .order_by("pk")
            .values_list("pk", "owner_id")
        )
        if not rows:
            return []
        moved = Customer.objects.filter(pk__in=[pk for pk, _owner in rows]).order_by()
        _insert_select(
            PoolCustomer,
            moved,
            customer_id=F("pk"),
            pool_id=Value(pool.pk),
            entered_at=Value(now, output_field=DateTimeField()),
            former_owner_id=F("owner_id"),
            reason=rule_text,
        )
        _insert_select(
            PoolMove,
            moved,
            customer_id=F("pk"),
            pool_id=Value(pool.pk),
            kind=Value(str(PoolMoveKind.RECLAIM)),
            employee_id=F("owner_id"),
            at=Value(now, output_field=DateTimeField()),
            rule=rule_text,
        )
        moved.update(owner=None, owner_since=None, updated_at=now)
    return rows


def _insert_select(model: type[models.Model], source: QuerySet[Customer], **columns: Any) -> None:
    """``INSERT INTO model (columns) SELECT … FROM source``: one statement for a batch.
    Each value is an expression over the source's rows; the select is compiled by the
    ORM (its parameters adapted as for any query)."""
    names = [f"_c{i}" for i in range(len(columns))]
    select = source.annotate(**dict(zip(names, columns.values(), strict=True))).values_list(*names)
    sql, params = select.query.sql_with_params()
    qn = connection.ops.quote_name
    column_of = {f.attname: str(f.column) for f in model._meta.concrete_fields}
    targets = ", ".join(qn(column_of[name]) for name in columns)
    with connection.cursor() as cur:
        cur.execute(f"INSERT INTO {qn(model._meta.db_table)} ({targets}) {sql}", params)


def pool_reclaim(now: datetime.datetime | None = None) -> Reclaimed:
    """Move every due customer to its pool, and tell owners of customers due within the
    pool's notice days (once a day). Idempotent: a second run moves nothing.

    Set-based: one read of each pool's customers finds both the due and the soon due
    (``_scan``); the due move in batches of ``BATCH``, each its own short transaction."""
    now = now or timezone.now()
    moved_by_pool: Counter[str] = Counter()
    lost_by_owner: Counter[int] = Counter()
    soon: Counter[int] = Counter()
    for pool, departments in _departments_by_pool().values():
        if not pool.auto_reclaim:
            continue
        scan = _scan(pool, departments, now)
        if scan is None:
            continue
        for i in range(0, len(scan.due), BATCH):
            rows = _move(pool, departments, scan.due[i : i + BATCH], now)
            moved_by_pool[pool.name] += len(rows)
            lost_by_owner.update(owner for _pk, owner in rows)
        soon.update(scan.soon)
    noticed = _notify(now, lost_by_owner, soon)
    if moved_by_pool:
        audit_record(
            actor=None,
            action=AuditAction.UPDATE,
            object_type="crm.pool",
            object_id="reclaim",
            note=_("自动收回 %(n)d 个客户到公海") % {"n": sum(moved_by_pool.values())},
        )
    return Reclaimed(
        moved=sum(moved_by_pool.values()), noticed=noticed, by_pool=dict(moved_by_pool)
    )


def _notify(now: datetime.datetime, lost_by_owner: Counter[int], soon: Counter[int]) -> int:
    """Owners who lost customers now, and owners whose customers fall due within the
    pool's notice days: one message each, at most once a day per kind."""
    day = timezone.localdate(now).isoformat()
    users = dict(Employee.objects.filter(user__isnull=False).values_list("pk", "user_id"))
    sent = 0
    for owner, n in lost_by_owner.items():
        if owner in users:
            sent += _notify_once(
                users[owner],
                f"/crm/pool/?moved={day}",
                _text("lost", n),
            )
    for owner, n in soon.items():
        if owner in users:
            sent += _notify_once(
                users[owner],
                f"/crm/pool/?notice={day}",
                _text("soon", n),
            )
    return sent


def _text(kind: str, n: int) -> Text:
    def render() -> str:
        if kind == "lost":
            return _("%(n)d 个客户已被收回到公海") % {"n": n}
        return _("%(n)d 个客户即将被收回到公海，请及时跟进") % {"n": n}

    return render


def _notify_once(user_id: int, url: str, title: Text) -> int:
    if Notification.objects.filter(user_id=user_id, url=url).exists():
        return 0
    notify(user=User(pk=user_id), title=title, url=url)
    return 1


def pool_reclaim_job(now: datetime.datetime) -> str:
    """The scheduled job (``crm.pool_reclaim``)."""
    done = pool_reclaim(now)
    return _("收回 %(n)d 个客户，发出提醒 %(m)d 条") % {"n": done.moved, "m": done.noticed}
