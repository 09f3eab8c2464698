"""Follow-ups (跟进记录): logged on a customer (or a lead) by the employee who made the
contact. Each one moves the customer's ``last_followup_at`` — what the pool's "N days
without a follow-up" rule reads — and its ``next_followup_on``; it closes the next step
the previous follow-ups had planned. Due next steps are reminded by a scheduled job."""

from __future__ import annotations

import dataclasses
import datetime
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.attachments import MAX_PER_OBJECT, attachment_add, attachment_check
from salesops.core.errors import FieldError, ServiceError
from salesops.core.models import Notification, User
from salesops.core.notifications import Text, notify
from salesops.core.text import has_control_chars
from salesops.crm.models import Activity, ActivityKind, Contact, Lead, LeadStatus, Opportunity
from salesops.org.models import Employee
from salesops.sales.models import Customer
from salesops.sales.services._common import require_staff, viewer_of

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

CONTENT_MAX = 5000
NEXT_STEP_MAX = 300
# How far back a follow-up may be logged (yesterday's call, last week's visit).
BACKDATE_DAYS = 365
# How far ahead a next step may be planned.
PLAN_DAYS = 366


@dataclasses.dataclass
class FollowupInput:
    kind: str
    content: str
    next_step: str = ""
    next_on: datetime.date | None = None
    at: datetime.datetime | None = None  # None: now


def _text_ok(value: str) -> bool:
    return not has_control_chars(value.replace("\n", "").replace("\r", "").replace("\t", ""))


def _clean(data: FollowupInput, now: datetime.datetime) -> FollowupInput:
    errors: list[FieldError] = []
    kind = (data.kind or "").strip()
    content = (data.content or "").strip()
    next_step = (data.next_step or "").strip()
    if kind not in ActivityKind.values:
        errors.append(FieldError("kind", _("请选择跟进方式")))
    if not content:
        errors.append(FieldError("content", _("请填写跟进内容")))
    elif len(content) > CONTENT_MAX:
        errors.append(FieldError("content", _("不能超过%(n)d个字符") % {"n": CONTENT_MAX}))
    elif not _text_ok(content):
        errors.append(FieldError("content", _("不能包含不可见的控制字符")))
    if len(next_step) > NEXT_STEP_MAX:
        errors.append(FieldError("next_step", _("不能超过%(n)d个字符") % {"n": NEXT_STEP_MAX}))
    elif has_control_chars(next_step):
        errors.append(FieldError("next_step", _("不能包含不可见的控制字符")))
    at = data.at or now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + datetime.timedelta(minutes=5):
        errors.append(FieldError("at", _("跟进时间不能晚于现在")))
    elif at < now - datetime.timedelta(days=BACKDATE_DAYS):
        errors.append(FieldError("at", _("跟进时间不能早于 %(n)d 天前") % {"n": BACKDATE_DAYS}))
    today = timezone.localdate(now)
    if data.next_on is not None:
        if data.next_on < today:
            errors.append(FieldError("next_on", _("下次跟进日期不能早于今天")))
        elif data.next_on > today + datetime.timedelta(days=PLAN_DAYS):
            errors.append(FieldError("next_on", _("下次跟进日期不能晚于一年以后")))
    elif next_step:
        errors.append(FieldError("next_on", _("填写了下一步，请同时填写下次跟进日期")))
    if errors:
        raise ServiceError.invalid(errors)
    return FollowupInput(kind, content, next_step, data.next_on, min(at, now))


@transaction.atomic
def followup_create(
    *,
    actor: User,
    data: FollowupInput,
    customer: Customer | None = None,
    lead: Lead | None = None,
    contact: Contact | None = None,
    opportunity: Opportunity | None = None,
    attachments: Sequence[UploadedFile] = (),
) -> Activity:
    """Log a follow-up on a customer or a lead the caller already resolved in scope, with
    its attachments (附件: photos of a visit, the minutes of a meeting).

    The employee is the actor's own record (an account without one cannot log contacts);
    a customer in the pool must be claimed first; a converted lead is followed up on its
    customer. Every file is checked before anything is written, so a refused one leaves
    no follow-up behind. Codes: ``invalid_input``, ``no_employee``, ``in_pool``,
    ``converted``, ``contact_mismatch``, and ``core.attachments``' codes on the field
    ``attachments``."""
    viewer = viewer_of(actor)
    require_staff(viewer)
    if (customer is None) == (lead is None):
        raise ServiceError("invalid_input", _("请选择客户或线索"), field="customer")
    employee: Employee | None = viewer.employee if viewer is not None else None
    if employee is None:
        raise ServiceError("no_employee", _("只有员工账号可以填写跟进记录"))
    now = timezone.now()
    values = _clean(data, now)
    _check_attachments(attachments)
    if customer is not None:
        customer = Customer.objects.select_for_update().get(pk=customer.pk)
        if customer.owner_id is None:
            raise ServiceError("in_pool", _("客户在公海中，请先领取再跟进"))
        if contact is not None and contact.customer_id != customer.pk:
            raise ServiceError(
                "contact_mismatch", _("联系人不属于该客户"), field="contact", status=400
            )
        if opportunity is not None and opportunity.customer_id != customer.pk:
            raise ServiceError(
                "opportunity_mismatch",
                _("商机不属于该客户"),
                field="opportunity",
                status=400,
            )
    else:
        assert lead is not None
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.status == LeadStatus.CONVERTED:
            raise ServiceError("converted", _("线索已转化，请在客户上填写跟进记录"))
        if contact is not None or opportunity is not None:
            raise ServiceError(
                "contact_mismatch", _("线索没有联系人档案和商机"), field="contact", status=400
            )
    at = values.at
    assert at is not None
    subject = Q(customer=customer) if customer is not None else Q(lead=lead)
    # The next steps planned before are taken by this contact.
    Activity.objects.filter(subject, done=False, next_on__isnull=False).update(done=True)
    activity = Activity.objects.create(
        customer=customer,
        lead=lead,
        contact=contact,
        opportunity=opportunity,
        kind=values.kind,
        content=values.content,
        next_step=values.next_step,
        next_on=values.next_on,
        employee=employee,
        at=at,
    )
    if customer is not None:
        latest = customer.last_followup_at is None or at >= customer.last_followup_at
        fields: dict[str, object] = {}
        if latest:
            fields["last_followup_at"] = at
            fields["next_followup_on"] = values.next_on
        elif values.next_on is not None:
            fields["next_followup_on"] = values.next_on
        if fields:
            Customer.objects.filter(pk=customer.pk).update(**fields)
    else:
        assert lead is not None
        if lead.last_followup_at is None or at >= lead.last_followup_at:
            Lead.objects.filter(pk=lead.pk).update(last_followup_at=at)
    for upload in attachments:
        try:
            attachment_add(actor=actor, obj=activity, upload=upload)
        except ServiceError as exc:
            raise exc.renamed({"file": "attachments"}) from None
    return activity


def _check_attachments(attachments: Sequence[UploadedFile]) -> None:
    if len(attachments) > MAX_PER_OBJECT:
        raise ServiceError(
            "too_many",
            _("每条记录最多 %(n)d 个附件") % {"n": MAX_PER_OBJECT},
            field="attachments",
        )
    for upload in attachments:
        try:
            attachment_check(upload)
        except ServiceError as exc:
            raise exc.renamed({"file": "attachments"}) from None


# ------------------------------------------------------------------ reminders


@dataclasses.dataclass(frozen=True)
class Reminded:
    activities: int
    notices: int


def _reminder_text(n: int) -> Text:
    def render() -> str:
        return _("您有 %(n)d 项跟进计划今天到期，请及时跟进") % {"n": n}

    return render


def followup_reminders(now: datetime.datetime) -> Reminded:
    """Next steps due today or earlier, not taken and not yet reminded: one notice per
    person (the customer's owner, else who planned it) per day, then marked reminded.
    Idempotent: a second run the same day finds nothing."""
    today = timezone.localdate(now)
    due = Activity.objects.filter(next_on__lte=today, reminded=False, done=False)
    per_user: Counter[int] = Counter()
    ids: list[int] = []
    rows = due.values_list("pk", "customer__owner__user_id", "employee__user_id").order_by()
    for pk, owner_user, writer_user in rows.iterator(chunk_size=5000):
        ids.append(pk)
        user = owner_user or writer_user
        if user is not None:
            per_user[user] += 1
    url = f"/crm/followups/?scene=due&day={today.isoformat()}"
    sent = 0
    with transaction.atomic():
        for start in range(0, len(ids), 2000):
            Activity.objects.filter(pk__in=ids[start : start + 2000]).update(reminded=True)
        for user_id, n in per_user.items():
            if Notification.objects.filter(user_id=user_id, url=url).exists():
                continue
            notify(user=User(pk=user_id), title=_reminder_text(n), url=url)
            sent += 1
    return Reminded(activities=len(ids), notices=sent)


def followup_reminders_job(now: datetime.datetime) -> str:
    """The scheduled job (``crm.followup_reminders``)."""
    done = followup_reminders(now)
    return _("到期跟进计划 %(n)d 项，发出提醒 %(m)d 条") % {"n": done.activities, "m": done.notices}
