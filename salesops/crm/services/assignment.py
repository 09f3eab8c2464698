"""Lead assignment rules (线索分配规则): a team's unassigned leads go in turn to its
members (轮流), or to the members whose regions name the lead's region (按地区), each up
to a capacity of open leads; the member assigned longest ago goes first. A lead no member
can take (all full, or no one covers its region) stays unassigned and is reported."""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record, audit_update, snapshot
from salesops.core.errors import FieldError, PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, RoleCode, User
from salesops.core.notifications import notify
from salesops.crm.models import (
    AssignmentMember,
    AssignmentMode,
    AssignmentRule,
    Lead,
    LeadStatus,
)
from salesops.org.access import employee_scope_q
from salesops.org.models import Department, Employee
from salesops.org.selectors import department_scope_q, nearest_assignment
from salesops.sales.services._common import viewer_of

RULE_EDITORS = (RoleCode.ADMIN, RoleCode.DIRECTOR, RoleCode.MANAGER)
OPEN = (LeadStatus.NEW, LeadStatus.FOLLOWING)


@dataclasses.dataclass
class MemberLine:
    employee_no: str
    capacity: int
    regions: str


def parse_member_lines(text: str) -> list[MemberLine]:
    """One member per line: ``工号 容量 地区,地区`` (capacity and regions optional)."""
    out: list[MemberLine] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        parts = raw.replace("，", " ").replace(",", " ").split()
        if not parts:
            continue
        capacity = 30
        if len(parts) > 1 and parts[1].isdigit():
            capacity = int(parts[1])
            regions = parts[2:]
        else:
            regions = parts[1:]
        if not 1 <= capacity <= 10000:
            raise ServiceError(
                "invalid_input",
                _("第 %(n)d 行：容量须在 1 到 10000 之间") % {"n": number},
                field="members",
            )
        out.append(MemberLine(parts[0], capacity, ",".join(regions)[:300]))
    return out


@transaction.atomic
def assignment_rule_save(
    *,
    actor: User,
    department: Department,
    mode: str,
    members: list[MemberLine],
    active: bool = True,
) -> AssignmentRule:
    """Create or replace a department's rule (managers, directors, admins; the department
    and every member in their scope). Audited."""
    viewer = viewer_of(actor)
    assert viewer is not None
    if not (viewer.is_admin or viewer.has_role(*RULE_EDITORS)):
        raise PermissionDeniedError(_("只有销售经理、销售总监和管理员可以设置线索分配规则"))
    errors: list[FieldError] = []
    if mode not in AssignmentMode.values:
        errors.append(FieldError("mode", _("请选择分配方式")))
    if not members:
        errors.append(FieldError("members", _("请至少填写一名成员")))
    if not Department.objects.filter(department_scope_q(viewer), pk=department.pk).exists():
        raise ServiceError(
            "out_of_scope", _("该部门不在您的数据权限范围内"), field="department", status=404
        )
    scope = Employee.objects.filter(employee_scope_q(viewer, owner=""), active=True)
    found = {
        e.employee_no: e for e in scope.filter(employee_no__in=[m.employee_no for m in members])
    }
    missing = [m.employee_no for m in members if m.employee_no not in found]
    if missing:
        errors.append(
            FieldError(
                "members",
                _("工号不存在、已离职或不在您的数据权限范围内：%(nos)s")
                % {"nos": "、".join(missing)},
            )
        )
    if len({m.employee_no for m in members}) != len(members):
        errors.append(FieldError("members", _("同一员工只能出现一次")))
    if mode == AssignmentMode.REGION and any(not m.regions for m in members):
        errors.append(FieldError("members", _("按地区分配时，每名成员都要填写负责地区")))
    if errors:
        raise ServiceError.invalid(errors)
    rule, created = AssignmentRule.objects.select_for_update().get_or_create(
        department=department, defaults={"mode": mode, "active": active}
    )
    before = snapshot(rule, ("mode", "active"))
    old = {
        m.employee.employee_no: (m.capacity, m.regions)
        for m in rule.members.select_related("employee")
    }
    rule.mode, rule.active = mode, active
    rule.save()
    kept = {m.employee_id: m for m in rule.members.all()}
    rule.members.exclude(employee__in=[found[m.employee_no] for m in members]).delete()
    for m in members:
        emp = found[m.employee_no]
        row = kept.get(emp.pk) or AssignmentMember(rule=rule, employee=emp)
        row.capacity, row.regions = m.capacity, m.regions
        row.save()
    new = {m.employee_no: (m.capacity, m.regions) for m in members}
    if created or old != new:
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            obj=rule,
            changes={"members": (str(old) if old else "", str(new))},
        )
    if not created:
        audit_update(actor=actor, obj=rule, before=before)
    return rule


def rules_by_department() -> dict[int, AssignmentRule]:
    """{department id: the active rule of the nearest department up the tree}: two
    queries, whatever the number of leads to place."""
    direct = {r.department_id: r for r in AssignmentRule.objects.filter(active=True)}
    if not direct:
        return {}
    return nearest_assignment(direct, None)


@dataclasses.dataclass
class Assigned:
    assigned: dict[int, int]  # lead id: employee id
    left: dict[int, str]  # lead id: why it stays unassigned


def _pick(
    members: list[AssignmentMember], load: Counter[int], lead: Lead, mode: str
) -> AssignmentMember | None:
    region = (lead.region or "").strip()
    fits = [m for m in members if load[m.employee_id] < m.capacity]
    if mode == AssignmentMode.REGION:
        fits = [m for m in fits if region and any(r in region for r in m.region_list())]
    if not fits:
        return None
    epoch = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    return min(fits, key=lambda m: (m.last_assigned_at or epoch, m.pk))


@transaction.atomic
def leads_auto_assign(
    *, actor: User | None, leads: Iterable[Lead], rule: AssignmentRule
) -> Assigned:
    """Hand out the unassigned ones of ``leads`` by ``rule``; each assignment audited, each
    new owner told once."""
    members = list(rule.members.select_related("employee__user").filter(employee__active=True))
    ids = [m.employee_id for m in members]
    load: Counter[int] = Counter(
        dict(
            Lead.objects.filter(owner_id__in=ids, status__in=OPEN)
            .values_list("owner_id")
            .annotate(n=Count("id"))
            .values_list("owner_id", "n")
        )
    )
    result = Assigned(assigned={}, left={})
    now = timezone.now()
    for lead in (
        Lead.objects.select_for_update()
        .filter(pk__in=[x.pk for x in leads], owner__isnull=True)
        .exclude(status__in=(LeadStatus.CONVERTED, LeadStatus.INVALID))
        .order_by("id")
    ):
        member = _pick(members, load, lead, rule.mode)
        if member is None:
            region = (lead.region or "").strip()
            covered = any(region and any(r in region for r in m.region_list()) for m in members)
            if rule.mode == AssignmentMode.REGION and not covered:
                result.left[lead.pk] = _("没有成员负责地区“%(r)s”") % {"r": region or "-"}
            else:
                result.left[lead.pk] = _("成员都已达到容量上限")
            continue
        before = snapshot(lead, ("owner", "department"))
        lead.owner, lead.department_id = member.employee, member.employee.department_id
        lead.save(update_fields=["owner", "department"])
        audit_update(actor=actor, obj=lead, before=before, note=_("按线索分配规则自动分配"))
        load[member.employee_id] += 1
        member.last_assigned_at = now
        now = now + datetime.timedelta(microseconds=1)  # a strict turn order in one batch
        member.save(update_fields=["last_assigned_at"])
        result.assigned[lead.pk] = member.employee_id
    per_owner = Counter(result.assigned.values())
    users = {m.employee_id: m.employee.user for m in members}
    for employee_id, n in per_owner.items():
        user = users.get(employee_id)
        if user is not None:
            notify(
                user=user,
                title=_("您有 %(n)d 条新分配的线索") % {"n": n},
                url=reverse("crm:leads"),
            )
    return result


@dataclasses.dataclass
class AssignedByRules:
    assigned: int
    left: list[str]  # why each lead not assigned stays so
    without_rule: int  # leads whose department has no active rule


def leads_assign_by_rules(
    *, actor: User | None, leads: Iterable[Lead], fallback_department_id: int | None
) -> AssignedByRules:
    """按规则分配: each lead by the rule of its department (else of
    ``fallback_department_id``, the actor's), the nearest one up the tree."""
    rules = rules_by_department()
    by_rule: dict[int, tuple[AssignmentRule, list[Lead]]] = {}
    without_rule = 0
    for lead in leads:
        rule = rules.get(lead.department_id or fallback_department_id or 0)
        if rule is None:
            without_rule += 1
            continue
        by_rule.setdefault(rule.pk, (rule, []))[1].append(lead)
    out = AssignedByRules(assigned=0, left=[], without_rule=without_rule)
    for rule, group in by_rule.values():
        done = leads_auto_assign(actor=actor, leads=group, rule=rule)
        out.assigned += len(done.assigned)
        out.left += list(done.left.values())
    return out


def unassigned_q() -> Q:
    return Q(owner__isnull=True) & ~Q(status__in=(LeadStatus.CONVERTED, LeadStatus.INVALID))
