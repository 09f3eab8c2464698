"""Return visits (回访): planned by rule — N days after a contract in force starts, or
after a confirmed order's date — one task per source and rule, by a scheduled job that
also tells each owner how many new visits are due; logging the visit closes the task.
A visit may also be logged on a customer without a task (an extra call after a problem).
"""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import User
from salesops.core.notifications import Text, notify
from salesops.core.text import has_control_chars
from salesops.crm.models import (
    Contact,
    ReturnVisit,
    Satisfaction,
    VisitForm,
    VisitRule,
    VisitSource,
    VisitStatus,
)
from salesops.org.models import Employee
from salesops.sales.models import (
    CONTRACT_IN_FORCE,
    Contract,
    Customer,
    Order,
    OrderStatus,
)
from salesops.sales.services._common import require_staff, viewer_of

OUTCOME_MAX = 2000
BACKDATE_DAYS = 365
_AUDITED = ("status", "form", "contact", "outcome", "satisfaction", "visited_at", "visited_by")


def lookback_days() -> int:
    """A visit whose date passed longer ago than this is not planned any more (a new rule,
    or a first run on old data, does not flood the list with last year's contracts)."""
    return int(getattr(settings, "SALESOPS_VISIT_LOOKBACK_DAYS", 30))


@dataclasses.dataclass
class VisitInput:
    form: str
    outcome: str
    satisfaction: int | None
    contact: Contact | None = None
    at: datetime.datetime | None = None  # None: now


def _clean(data: VisitInput, now: datetime.datetime) -> tuple[str, str, int, datetime.datetime]:
    errors: list[FieldError] = []
    form = (data.form or "").strip()
    outcome = (data.outcome or "").strip()
    if form not in VisitForm.values:
        errors.append(FieldError("form", _("请选择回访形式（电话、上门或微信）")))
    if not outcome:
        errors.append(FieldError("outcome", _("请填写回访结果")))
    elif len(outcome) > OUTCOME_MAX:
        errors.append(FieldError("outcome", _("不能超过%(n)d个字符") % {"n": OUTCOME_MAX}))
    elif has_control_chars(outcome.replace("\n", "").replace("\r", "").replace("\t", "")):
        errors.append(FieldError("outcome", _("不能包含不可见的控制字符")))
    if data.satisfaction is None:
        errors.append(FieldError("satisfaction", _("请选择客户满意度")))
    elif data.satisfaction not in Satisfaction.values:
        errors.append(FieldError("satisfaction", _("客户满意度应为 1～5（5 很满意，1 很不满意）")))
    at = data.at or now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + datetime.timedelta(minutes=5):
        errors.append(FieldError("at", _("回访时间不能晚于现在")))
    elif at < now - datetime.timedelta(days=BACKDATE_DAYS):
        errors.append(FieldError("at", _("回访时间不能早于 %(n)d 天前") % {"n": BACKDATE_DAYS}))
    if errors:
        raise ServiceError.invalid(errors)
    assert data.satisfaction is not None
    return form, outcome, int(data.satisfaction), min(at, now)


def _employee(actor: User | None) -> Employee | None:
    viewer = viewer_of(actor)
    require_staff(viewer)
    return viewer.employee if viewer is not None else None


@transaction.atomic
def visit_log(
    *,
    actor: User | None,
    data: VisitInput,
    visit: ReturnVisit | None = None,
    customer: Customer | None = None,
) -> ReturnVisit:
    """Log a return visit: on a planned task (``visit``, which it closes) or directly on a
    customer the caller already resolved in scope. Codes: ``invalid_input``,
    ``visit_done``, ``in_pool``, ``no_employee``, ``contact_mismatch``."""
    employee = _employee(actor)
    if (visit is None) == (customer is None):
        raise ServiceError("invalid_input", _("请选择回访任务或客户"), field="customer")
    now = timezone.now()
    form, outcome, satisfaction, at = _clean(data, now)
    if visit is not None:
        visit = ReturnVisit.objects.select_for_update().get(pk=visit.pk)
        if visit.status == VisitStatus.DONE:
            raise ServiceError("visit_done", _("该回访已登记，不能重复登记"), status=409)
        customer_id = visit.customer_id
    else:
        assert customer is not None
        if customer.owner_id is None:
            raise ServiceError("in_pool", _("客户在公海中，请先领取再回访"))
        if employee is None:
            raise ServiceError("no_employee", _("只有员工账号可以登记回访"))
        customer_id = customer.pk
    if data.contact is not None and data.contact.customer_id != customer_id:
        raise ServiceError("contact_mismatch", _("联系人不属于该客户"), field="contact")
    values = {
        "status": VisitStatus.DONE,
        "form": form,
        "contact": data.contact,
        "outcome": outcome,
        "satisfaction": satisfaction,
        "visited_at": at,
        "visited_by": employee,
    }
    if visit is not None:
        before = snapshot(visit, _AUDITED)
        for name, value in values.items():
            setattr(visit, name, value)
        visit.save(update_fields=list(values))
        audit_update(actor=actor, obj=visit, before=before)
        return visit
    assert customer is not None and employee is not None
    visit = ReturnVisit.objects.create(
        customer=customer,
        owner=employee,
        department_id=employee.department_id,
        **values,
    )
    audit_create(actor=actor, obj=visit, fields=("customer", "owner", *_AUDITED))
    return visit


# ------------------------------------------------------------------ the rule job


@dataclasses.dataclass(frozen=True)
class Scheduled:
    created: int
    notices: int


def _contract_tasks(
    rule: VisitRule, today: datetime.date, oldest: datetime.date
) -> list[ReturnVisit]:
    base_to = today - datetime.timedelta(days=rule.days)
    base_from = oldest - datetime.timedelta(days=rule.days)
    rows = (
        Contract.objects.filter(
            status__in=CONTRACT_IN_FORCE, start_on__lte=base_to, start_on__gte=base_from
        )
        .order_by()
        .values_list("pk", "contract_no", "customer_id", "owner_id", "department_id", "start_on")
    )
    return [
        ReturnVisit(
            customer_id=customer_id,
            contract_id=pk,
            rule=rule,
            source_key=f"contract:{no}",
            owner_id=owner_id,
            department_id=department_id,
            due_on=start_on + datetime.timedelta(days=rule.days),
            form=rule.form,
        )
        for pk, no, customer_id, owner_id, department_id, start_on in rows.iterator(chunk_size=2000)
    ]


def _order_tasks(rule: VisitRule, today: datetime.date, oldest: datetime.date) -> list[ReturnVisit]:
    base_to = today - datetime.timedelta(days=rule.days)
    base_from = oldest - datetime.timedelta(days=rule.days)
    rows = (
        Order.objects.filter(
            status=OrderStatus.CONFIRMED,
            customer__isnull=False,
            import_job__isnull=True,
            order_date__lte=base_to,
            order_date__gte=base_from,
        )
        .order_by()
        .values_list(
            "pk",
            "customer_id",
            "customer__owner_id",
            "customer__owner__department_id",
            "credited_employee_id",
            "credited_employee__department_id",
            "order_date",
        )
    )
    out = []
    for pk, customer_id, owner, owner_dept, credited, credited_dept, day in rows.iterator(
        chunk_size=2000
    ):
        # The customer's owner visits; a customer in the pool is visited by whoever sold.
        who, dept = (owner, owner_dept) if owner is not None else (credited, credited_dept)
        if who is None or dept is None:
            continue
        out.append(
            ReturnVisit(
                customer_id=customer_id,
                order_id=pk,
                rule=rule,
                source_key=f"order:{pk}",
                owner_id=who,
                department_id=dept,
                due_on=day + datetime.timedelta(days=rule.days),
                form=rule.form,
            )
        )
    return out


def _notice(n: int) -> Text:
    def render() -> str:
        return _("您有 %(n)d 项新的回访任务，请及时回访客户") % {"n": n}

    return render


def visit_schedule(now: datetime.datetime) -> Scheduled:
    """Create the visit tasks the active rules make due by ``now`` (due date today or in
    the last ``lookback_days()``) and tell each owner once how many are new. Idempotent:
    a task exists once per rule and source (a unique constraint), so a second run, or two
    at once, create nothing more."""
    today = timezone.localdate(now)
    oldest = today - datetime.timedelta(days=lookback_days())
    per_owner: Counter[int] = Counter()
    created = 0
    for rule in VisitRule.objects.filter(active=True).order_by("id"):
        if rule.source == VisitSource.CONTRACT:
            tasks = _contract_tasks(rule, today, oldest)
        else:
            tasks = _order_tasks(rule, today, oldest)
        for start in range(0, len(tasks), 1000):
            chunk = tasks[start : start + 1000]
            with transaction.atomic():
                have = set(
                    ReturnVisit.objects.filter(
                        rule=rule, source_key__in=[t.source_key for t in chunk]
                    ).values_list("source_key", flat=True)
                )
                new = [t for t in chunk if t.source_key not in have]
                ReturnVisit.objects.bulk_create(new, ignore_conflicts=True)
            created += len(new)
            per_owner.update(t.owner_id for t in new)
    users = dict(
        Employee.objects.filter(pk__in=list(per_owner), user__isnull=False).values_list(
            "pk", "user_id"
        )
    )
    sent = 0
    with transaction.atomic():
        for owner_id, n in per_owner.items():
            user_id = users.get(owner_id)
            if user_id is None:
                continue
            notify(user=User(pk=user_id), title=_notice(n), url="/crm/visits/?scene=due")
            sent += 1
    return Scheduled(created=created, notices=sent)


def visit_schedule_job(now: datetime.datetime) -> str:
    """The scheduled job (``crm.visit_schedule``)."""
    done = visit_schedule(now)
    return _("新建回访任务 %(n)d 项，发出提醒 %(m)d 条") % {"n": done.created, "m": done.notices}
