"""Complaints (投诉) and customer feedback (客户反馈).

A complaint is received with a category and a severity; its deadline is the receipt time
plus the severity's days (``SALESOPS_COMPLAINT_DAYS``; calendar days — working-day
precision is not needed). Open past its deadline it is escalated up the owner's management
chain: level 1 (the owner's manager) at the deadline, level 2 (their manager) one more
period later, and so on up to ``MAX_LEVELS`` — each level notified and recorded once per
round by an idempotent scheduled job. Resolved, it waits for the customer's confirmation:
satisfied closes it; not satisfied reopens it for a new round with a new deadline.
"""

from __future__ import annotations

import dataclasses
import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import User
from salesops.core.notifications import notify
from salesops.core.text import has_control_chars
from salesops.crm.models import (
    Complaint,
    ComplaintCategory,
    ComplaintEvent,
    ComplaintSeverity,
    ComplaintStatus,
    Contact,
    Feedback,
    FeedbackKind,
)
from salesops.org.models import Department, Employee
from salesops.sales.models import Customer
from salesops.sales.services._common import (
    create_numbered,
    employee_in_scope,
    require_staff,
    viewer_of,
)

DEFAULT_DAYS = {"urgent": 1, "serious": 3, "normal": 7}
MAX_LEVELS = 3
TEXT_MAX = 5000
NOTE_MAX = 500
_AUDITED = (
    "title",
    "category",
    "severity",
    "owner",
    "status",
    "deadline",
    "round",
    "escalation_level",
    "resolution",
    "confirm_note",
)

# Which transitions each status allows (compensation/services/disputes.py's pattern).
_ALLOWED = {
    ComplaintStatus.OPEN: {ComplaintStatus.RESOLVED},
    ComplaintStatus.RESOLVED: {ComplaintStatus.CLOSED, ComplaintStatus.OPEN},
    ComplaintStatus.CLOSED: set(),
}


def deadline_days(severity: str) -> int:
    """Days to handle a complaint of this severity (a setting, by severity code)."""
    days = {**DEFAULT_DAYS, **getattr(settings, "SALESOPS_COMPLAINT_DAYS", {})}
    return max(1, int(days.get(severity, DEFAULT_DAYS["normal"])))


def _text(
    errors: list[FieldError], field: str, value: str, label: str, limit: int, required: bool = True
) -> str:
    value = (value or "").strip()
    if not value:
        if required:
            errors.append(FieldError(field, _("请填写%(f)s") % {"f": label}))
    elif len(value) > limit:
        errors.append(FieldError(field, _("不能超过%(n)d个字符") % {"n": limit}))
    elif has_control_chars(value.replace("\n", "").replace("\r", "").replace("\t", "")):
        errors.append(FieldError(field, _("不能包含不可见的控制字符")))
    return value


def _raise(errors: list[FieldError]) -> None:
    if errors:
        raise ServiceError.invalid(errors)


def _event(
    c: Complaint,
    kind: str,
    *,
    actor: User | None,
    at: datetime.datetime,
    note: str = "",
    level: int = 0,
    notified: Employee | None = None,
) -> ComplaintEvent:
    return ComplaintEvent.objects.create(
        complaint=c,
        kind=kind,
        round=c.round,
        level=level,
        notified=notified,
        note=note,
        actor=actor if actor is not None and actor.is_authenticated else None,
        at=at,
    )


def _tell(employee: Employee | None, title: str, c: Complaint) -> None:
    if employee is not None and employee.user_id is not None:
        notify(user=User(pk=employee.user_id), title=title, url=f"/crm/complaints/{c.pk}/")


@dataclasses.dataclass
class ComplaintInput:
    title: str
    content: str
    category: str
    severity: str
    contact: Contact | None = None


@transaction.atomic
def complaint_create(
    *,
    actor: User | None,
    customer: Customer,
    data: ComplaintInput,
    owner: Employee | None = None,
) -> Complaint:
    """Receive a complaint on a customer the caller already resolved in scope. The owner
    (处理人) defaults to the customer's; the deadline follows the severity."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    errors: list[FieldError] = []
    title = _text(errors, "title", data.title, _("投诉主题"), 200)
    content = _text(errors, "content", data.content, _("投诉内容"), TEXT_MAX)
    if data.category not in ComplaintCategory.values:
        errors.append(FieldError("category", _("请选择投诉类别")))
    if data.severity not in ComplaintSeverity.values:
        errors.append(FieldError("severity", _("请选择严重程度（一般、严重或紧急）")))
    if data.contact is not None and data.contact.customer_id != customer.pk:
        errors.append(FieldError("contact", _("联系人不属于该客户")))
    _raise(errors)
    if owner is None:
        owner = customer.owner or (viewer.employee if viewer is not None else None)
    if owner is None:
        raise ServiceError("invalid_input", _("请选择处理人"), field="owner")
    employee_in_scope(viewer, owner, "owner")
    if not owner.active:
        raise ServiceError("inactive", _("处理人已离职，不能负责投诉"), field="owner")
    now = timezone.now()
    c = create_numbered(
        Complaint,
        field="code",
        number="",
        prefix="TS",
        day=timezone.localdate(now),
        duplicate_message=_("投诉编号 %(no)s 已存在"),
        customer=customer,
        contact=data.contact,
        title=title,
        content=content,
        category=data.category,
        severity=data.severity,
        owner=owner,
        department_id=owner.department_id,
        received_at=now,
        deadline=now + datetime.timedelta(days=deadline_days(data.severity)),
        created_by=actor if actor is not None and actor.is_authenticated else None,
    )
    _event(c, ComplaintEvent.Kind.CREATED, actor=actor, at=now)
    audit_create(actor=actor, obj=c, fields=_AUDITED)
    if viewer is None or viewer.employee != owner:
        _tell(owner, _("新投诉 %(no)s：%(t)s，请在 %(d)s 前处理") % {
            "no": c.code, "t": title, "d": timezone.localtime(c.deadline).strftime("%Y-%m-%d %H:%M")
        }, c)  # fmt: skip
    return c


def _locked(c: Complaint) -> Complaint:
    return Complaint.objects.select_for_update(of=("self",)).get(pk=c.pk)


def _transition(c: Complaint, to: str) -> None:
    if to not in _ALLOWED[ComplaintStatus(c.status)]:
        if c.status == ComplaintStatus.OPEN:
            raise ServiceError("not_resolved", _("投诉尚未解决，不能由客户确认"), status=409)
        raise ServiceError(
            "bad_status",
            _("投诉当前状态为「%(s)s」，不能执行此操作") % {"s": c.get_status_display()},
            status=409,
        )
    c.status = to


@transaction.atomic
def complaint_resolve(*, actor: User | None, complaint: Complaint, resolution: str) -> Complaint:
    """The owner (or anyone who sees it) records how it was resolved; the customer's
    confirmation is next."""
    require_staff(viewer_of(actor))
    c = _locked(complaint)
    errors: list[FieldError] = []
    resolution = _text(errors, "resolution", resolution, _("处理结果"), TEXT_MAX)
    _raise(errors)
    before = snapshot(c, _AUDITED)
    _transition(c, ComplaintStatus.RESOLVED)
    now = timezone.now()
    c.resolution, c.resolved_at = resolution, now
    c.save(update_fields=["status", "resolution", "resolved_at", "updated_at"])
    _event(c, ComplaintEvent.Kind.RESOLVED, actor=actor, at=now, note=resolution)
    audit_update(actor=actor, obj=c, before=before)
    return c


@transaction.atomic
def complaint_confirm(
    *, actor: User | None, complaint: Complaint, satisfied: bool, note: str = ""
) -> Complaint:
    """The customer's answer (客户确认) to a resolved complaint: satisfied closes it; not
    satisfied (a note saying why is required) reopens it — a new round, a new deadline,
    escalations counted again. Codes: ``not_resolved`` (still open), ``bad_status``."""
    require_staff(viewer_of(actor))
    c = _locked(complaint)
    errors: list[FieldError] = []
    note = _text(errors, "note", note, _("客户意见"), NOTE_MAX, required=not satisfied)
    if c.status != ComplaintStatus.RESOLVED:
        _transition(c, ComplaintStatus.CLOSED)  # raises the status's refusal
    _raise(errors)
    before = snapshot(c, _AUDITED)
    now = timezone.now()
    if satisfied:
        _transition(c, ComplaintStatus.CLOSED)
        c.confirmed_at, c.confirm_note = now, note
        c.save(update_fields=["status", "confirmed_at", "confirm_note", "updated_at"])
        _event(c, ComplaintEvent.Kind.CONFIRMED, actor=actor, at=now, note=note)
    else:
        _transition(c, ComplaintStatus.OPEN)
        c.round += 1
        c.escalation_level = 0
        c.deadline = now + datetime.timedelta(days=deadline_days(c.severity))
        c.confirm_note, c.resolved_at = note, None
        c.save(
            update_fields=[
                "status", "round", "escalation_level", "deadline", "confirm_note",
                "resolved_at", "updated_at",
            ]
        )  # fmt: skip
        _event(c, ComplaintEvent.Kind.REOPENED, actor=actor, at=now, note=note)
        _tell(c.owner, _("投诉 %(no)s 客户不满意，已重新打开：%(n)s") % {
            "no": c.code, "n": note}, c)  # fmt: skip
    audit_update(actor=actor, obj=c, before=before)
    return c


# ------------------------------------------------------------------ escalation job


def _chain(owner: Employee, levels: int) -> list[Employee]:
    """The owner's manager, their manager, … (at most ``levels``); where the managers end
    (a rep with none recorded, a manager at the top), the heads (负责人) of the last one's
    department and of the departments above it, so an overdue complaint always reaches
    someone while anyone is named."""
    out: list[Employee] = []
    current = owner
    seen = {owner.pk}
    while len(out) < levels and current.manager_id is not None:
        manager = Employee.objects.filter(pk=current.manager_id).first()
        if manager is None or manager.pk in seen:
            break
        out.append(manager)
        seen.add(manager.pk)
        current = manager
    dept = Department.objects.filter(pk=current.department_id).first()
    while len(out) < levels and dept is not None:
        if dept.head_id is not None and dept.head_id not in seen:
            head = Employee.objects.filter(pk=dept.head_id, active=True).first()
            if head is not None:
                out.append(head)
                seen.add(head.pk)
        dept = Department.objects.filter(pk=dept.parent_id).first() if dept.parent_id else None
    return out


def due_level(c: Complaint, now: datetime.datetime) -> int:
    """How many levels an open complaint should have been escalated by ``now``: one at its
    deadline, one more each further period of its severity."""
    if c.status != ComplaintStatus.OPEN or now <= c.deadline:
        return 0
    period = datetime.timedelta(days=deadline_days(c.severity))
    return min(MAX_LEVELS, 1 + int((now - c.deadline) / period))


@dataclasses.dataclass(frozen=True)
class Escalated:
    complaints: int
    escalations: int


def complaint_escalations(now: datetime.datetime) -> Escalated:
    """Escalate every open complaint past its deadline to the levels it is due (the
    owner's manager first), each level notified and recorded once per round. Idempotent:
    run again at the same ``now`` it finds nothing; a level with no manager above is
    skipped."""
    touched = escalations = 0
    candidates = (
        Complaint.objects.filter(status=ComplaintStatus.OPEN, deadline__lt=now)
        .filter(escalation_level__lt=MAX_LEVELS)
        .order_by("deadline")
        .values_list("pk", flat=True)
    )
    for pk in list(candidates[:5000]):
        with transaction.atomic():
            c = (
                Complaint.objects.select_for_update(of=("self",))
                .select_related("owner", "customer")
                .get(pk=pk)
            )
            target = due_level(c, now)
            if target <= c.escalation_level:
                continue
            chain = _chain(c.owner, target)
            before = snapshot(c, _AUDITED)
            done = 0
            for level in range(c.escalation_level + 1, target + 1):
                if level > len(chain):
                    break
                manager = chain[level - 1]
                try:
                    with transaction.atomic():
                        _event(
                            c,
                            ComplaintEvent.Kind.ESCALATED,
                            actor=None,
                            at=now,
                            level=level,
                            notified=manager,
                            note=_("超过处理时限 %(d)s 未解决，升级至 %(m)s")
                            % {
                                "d": timezone.localtime(c.deadline).strftime("%Y-%m-%d %H:%M"),
                                "m": manager.name,
                            },
                        )
                except IntegrityError:  # recorded by a run at the same time
                    continue
                _tell(
                    manager,
                    _("投诉 %(no)s（%(c)s）超时未解决，由 %(o)s 处理，已升级至您（第 %(l)d 级）")
                    % {"no": c.code, "c": c.customer.name, "o": c.owner.name, "l": level},
                    c,
                )
                done += 1
            # Levels without a manager above count as passed: no one is left to tell.
            c.escalation_level = target if target > len(chain) else c.escalation_level + done
            c.save(update_fields=["escalation_level"])
            audit_update(actor=None, obj=c, before=before, note=_("超时升级"))
            touched += 1
            escalations += done
    return Escalated(complaints=touched, escalations=escalations)


def complaint_escalations_job(now: datetime.datetime) -> str:
    """The scheduled job (``crm.complaint_escalation``)."""
    done = complaint_escalations(now)
    return _("超时投诉 %(n)d 件，升级通知 %(m)d 条") % {"n": done.complaints, "m": done.escalations}


# ------------------------------------------------------------------ feedback


@transaction.atomic
def feedback_create(
    *, actor: User | None, customer: Customer, kind: str, content: str, contact: Contact | None
) -> Feedback:
    """Record a customer's suggestion, question, praise …; the recorder owns it."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    errors: list[FieldError] = []
    if kind not in FeedbackKind.values:
        errors.append(FieldError("kind", _("请选择反馈类型")))
    content = _text(errors, "content", content, _("反馈内容"), TEXT_MAX)
    if contact is not None and contact.customer_id != customer.pk:
        errors.append(FieldError("contact", _("联系人不属于该客户")))
    _raise(errors)
    employee = viewer.employee if viewer is not None else customer.owner
    if employee is None:
        raise ServiceError("no_employee", _("只有员工账号可以记录客户反馈"))
    fb = Feedback.objects.create(
        customer=customer,
        kind=kind,
        content=content,
        contact=contact,
        owner=employee,
        department_id=employee.department_id,
    )
    audit_create(actor=actor, obj=fb, fields=("customer", "kind", "content", "owner"))
    return fb


@transaction.atomic
def feedback_handle(*, actor: User | None, feedback: Feedback, reply: str) -> Feedback:
    """Mark feedback handled, saying how (once)."""
    require_staff(viewer_of(actor))
    fb = Feedback.objects.select_for_update().get(pk=feedback.pk)
    if fb.handled:
        raise ServiceError("already_handled", _("该反馈已处理"), status=409)
    errors: list[FieldError] = []
    reply = _text(errors, "reply", reply, _("处理说明"), NOTE_MAX)
    _raise(errors)
    before = snapshot(fb, ("handled", "reply"))
    fb.handled, fb.reply, fb.handled_at = True, reply, timezone.now()
    fb.save(update_fields=["handled", "reply", "handled_at"])
    audit_update(actor=actor, obj=fb, before=before)
    return fb
