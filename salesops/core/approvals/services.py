"""Writes of the approval engine: flows (audited, they are permissions) and the life of a
request — submit, approve / reject / send back, resubmit, cancel.

Concurrency: every action locks the request row (``select_for_update``) and claims the
task with a conditional ``update(... status=pending)``, so two clicks on the same task, or
two countersigners finishing a step together, can never both advance the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import models, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.access import viewer_for
from salesops.core.approvals.registry import (
    DocumentType,
    document_type,
    rank_role_approvers,
    run_callback,
)
from salesops.core.audit import audit_create, audit_record, snapshot
from salesops.core.errors import FieldError, NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.models import (
    ApprovalEvent,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
    ApprovalTask,
    AuditAction,
    Role,
    SignMode,
    TaskStatus,
    User,
)
from salesops.core.notifications import Text, notify, notify_many
from salesops.core.text import require_no_control_chars
from salesops.core.transitions import Transitions, claim, transition


class EventAction(models.TextChoices):
    """What the history timeline of a request shows (ApprovalEvent.action)."""

    SUBMIT = "submit", gettext_lazy("提交")
    APPROVE = "approve", gettext_lazy("同意")
    REJECT = "reject", gettext_lazy("驳回")
    RETURN = "return", gettext_lazy("退回")
    RESUBMIT = "resubmit", gettext_lazy("重新提交")
    CANCEL = "cancel", gettext_lazy("撤回")
    FINISH = "finish", gettext_lazy("审批通过")


ACTIONS = {
    "approve": TaskStatus.APPROVED,
    "reject": TaskStatus.REJECTED,
    "return": TaskStatus.RETURNED,
}
# Which status each status may be reached from (a request is created PENDING and comes
# back to it when resubmitted after 退回; a task is created PENDING and is acted on once).
REQUEST_MOVES = Transitions(
    ApprovalStatus,
    {
        ApprovalStatus.APPROVED: (ApprovalStatus.PENDING,),
        ApprovalStatus.REJECTED: (ApprovalStatus.PENDING,),
        ApprovalStatus.RETURNED: (ApprovalStatus.PENDING,),
        ApprovalStatus.CANCELLED: (ApprovalStatus.PENDING,),
        ApprovalStatus.PENDING: (ApprovalStatus.RETURNED,),
    },
)
TASK_MOVES = Transitions(
    TaskStatus,
    {
        TaskStatus.APPROVED: (TaskStatus.PENDING,),
        TaskStatus.REJECTED: (TaskStatus.PENDING,),
        TaskStatus.RETURNED: (TaskStatus.PENDING,),
        TaskStatus.SKIPPED: (TaskStatus.PENDING,),  # the step was decided by someone else
    },
)
FLOW_FIELDS = ("doc_type", "name", "min_amount", "max_amount", "priority", "active")
COMMENT_MAX = 2000


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


# ---------------------------------------------------------------------------------------
# Flows
# ---------------------------------------------------------------------------------------


@dataclass
class StepSpec:
    """One step of a flow: approvers by ``role`` (a Role or its code) or named ``users``."""

    name: str
    mode: str = SignMode.SINGLE
    role: Role | str | None = None
    users: Sequence[User] = field(default_factory=list)


def _step_spec(raw: StepSpec | Mapping[str, Any]) -> StepSpec:
    if isinstance(raw, StepSpec):
        return raw
    return StepSpec(
        name=str(raw.get("name", "")),
        mode=str(raw.get("mode", SignMode.SINGLE)),
        role=raw.get("role"),
        users=list(raw.get("users") or []),
    )


def _clean_steps(
    raw_steps: Iterable[StepSpec | Mapping[str, Any]],
) -> list[tuple[StepSpec, Role | None]]:
    specs = [_step_spec(s) for s in raw_steps]
    errors: list[FieldError] = []
    if not specs:
        errors.append(FieldError("steps", _("至少需要一个审批节点")))
    out: list[tuple[StepSpec, Role | None]] = []
    for i, spec in enumerate(specs, start=1):
        prefix = f"steps.{i}"
        if not spec.name.strip():
            errors.append(FieldError(f"{prefix}.name", _("请填写节点名称")))
        if spec.mode not in SignMode.values:
            errors.append(FieldError(f"{prefix}.mode", _("审批方式无效")))
        role_obj: Role | None = None
        if isinstance(spec.role, Role):
            role_obj = spec.role
        elif spec.role:
            role_obj = Role.objects.filter(code=spec.role).first()
            if role_obj is None:
                errors.append(FieldError(f"{prefix}.role", _("角色不存在")))
        has_users = bool(list(spec.users))
        if spec.role and has_users:
            errors.append(FieldError(f"{prefix}.role", _("审批角色和指定审批人只能选一种")))
        elif not spec.role and not has_users:
            errors.append(FieldError(f"{prefix}.role", _("请选择审批角色或指定审批人")))
        out.append((spec, role_obj))
    if errors:
        raise ServiceError("invalid_flow", errors[0].message, errors=errors)
    return out


def _to_amount(value: Any, field_name: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ServiceError("invalid_amount", _("金额格式不正确"), field=field_name) from None
    if not amount.is_finite() or amount < 0:
        raise ServiceError("invalid_amount", _("金额不能为负数"), field=field_name)
    return amount.quantize(Decimal("0.01"))


def _validate_flow(flow: ApprovalFlow) -> None:
    document_type(flow.doc_type)
    if not flow.name.strip():
        raise ServiceError("invalid_flow", _("请填写流程名称"), field="name")
    if (
        flow.min_amount is not None
        and flow.max_amount is not None
        and flow.min_amount >= flow.max_amount
    ):
        raise ServiceError("invalid_flow", _("金额下限必须小于金额上限"), field="max_amount")


def _write_steps(flow: ApprovalFlow, steps: list[tuple[StepSpec, Role | None]]) -> None:
    for order, (spec, role_obj) in enumerate(steps, start=1):
        step = ApprovalStep.objects.create(
            flow=flow, order=order, name=spec.name.strip(), mode=spec.mode, approver_role=role_obj
        )
        if spec.users:
            step.approver_users.set(list(spec.users))


StepKey = tuple[str, str, int | None, frozenset[int]]


def _steps_key(steps: list[tuple[StepSpec, Role | None]]) -> list[StepKey]:
    return [
        (
            spec.name.strip(),
            spec.mode,
            role_obj.pk if role_obj else None,
            frozenset(u.pk for u in spec.users),
        )
        for spec, role_obj in steps
    ]


def _flow_steps_key(flow: ApprovalFlow) -> list[StepKey]:
    return [
        (s.name, s.mode, s.approver_role_id, frozenset(u.pk for u in s.approver_users.all()))
        for s in flow.steps.order_by("order").prefetch_related("approver_users")
    ]


def describe_steps(flow: ApprovalFlow) -> str:
    """The steps as one line of text, for the audit log and the flow list."""
    parts = []
    for step in flow.steps.all().select_related("approver_role").prefetch_related("approver_users"):
        who = (
            step.approver_role.code
            if step.approver_role
            else ",".join(u.username for u in sorted(step.approver_users.all(), key=lambda u: u.pk))
        )
        parts.append(f"{step.order}.{step.name}[{step.mode}:{who}]")
    return " → ".join(parts)


def _require_admin(actor: User) -> None:
    if not viewer_for(actor).is_admin:
        raise PermissionDeniedError(_("只有系统管理员可以配置审批流程"))


@transaction.atomic
def approval_flow_create(
    *,
    actor: User | None,
    doc_type: str,
    name: str,
    steps: Iterable[StepSpec | Mapping[str, Any]],
    min_amount: Decimal | int | str | None = None,
    max_amount: Decimal | int | str | None = None,
    priority: int = 0,
    active: bool = True,
) -> ApprovalFlow:
    """A flow for one document type. ``actor=None`` is the system (demo data, setup)."""
    if actor is not None:
        _require_admin(actor)
    flow = ApprovalFlow(
        doc_type=doc_type,
        name=name,
        min_amount=_to_amount(min_amount, "min_amount"),
        max_amount=_to_amount(max_amount, "max_amount"),
        priority=priority,
        active=active,
    )
    _validate_flow(flow)
    cleaned = _clean_steps(steps)
    flow.save()
    _write_steps(flow, cleaned)
    audit_create(actor=actor, obj=flow, fields=FLOW_FIELDS)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=flow,
        changes={"steps": ("", describe_steps(flow))},
    )
    return flow


@transaction.atomic
def approval_flow_update(
    *,
    actor: User | None,
    flow: ApprovalFlow,
    name: str | None = None,
    steps: Iterable[StepSpec | Mapping[str, Any]] | None = None,
    min_amount: Any = UNSET,
    max_amount: Any = UNSET,
    priority: int | None = None,
    active: bool | None = None,
) -> ApprovalFlow:
    """Change a flow. Arguments left out keep their value (``min_amount=None`` clears it).

    Steps of a flow that requests already went through are history: changing them makes
    a new version of the flow (the old one is deactivated, its requests keep their steps)
    and that new flow is returned.
    """
    if actor is not None:
        _require_admin(actor)
    flow = ApprovalFlow.objects.select_for_update().get(pk=flow.pk)
    before = snapshot(flow, FLOW_FIELDS)
    if name is not None:
        flow.name = name
    if min_amount is not UNSET:
        flow.min_amount = _to_amount(min_amount, "min_amount")
    if max_amount is not UNSET:
        flow.max_amount = _to_amount(max_amount, "max_amount")
    if priority is not None:
        flow.priority = priority
    if active is not None:
        flow.active = active
    _validate_flow(flow)
    cleaned = _clean_steps(steps) if steps is not None else None
    if cleaned is not None and _steps_key(cleaned) == _flow_steps_key(flow):
        cleaned = None  # the same steps sent back (e.g. by the edit form) change nothing
    old_steps = describe_steps(flow)

    if cleaned is not None and flow.requests.exists():
        new_flow = ApprovalFlow.objects.create(
            doc_type=flow.doc_type,
            name=flow.name,
            min_amount=flow.min_amount,
            max_amount=flow.max_amount,
            priority=flow.priority,
            active=flow.active,
        )
        _write_steps(new_flow, cleaned)
        ApprovalFlow.objects.filter(pk=flow.pk).update(active=False)
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=flow,
            changes={"active": (before["active"], False)},
            note=_("流程已有审批记录，修改节点生成新版本 #%(id)s") % {"id": new_flow.pk},
        )
        audit_create(actor=actor, obj=new_flow, fields=FLOW_FIELDS)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=new_flow,
            changes={"steps": (old_steps, describe_steps(new_flow))},
            note=_("由流程 #%(id)s 修改而来") % {"id": flow.pk},
        )
        return new_flow

    flow.save()
    changes: dict[str, tuple[Any, Any]] = {}
    after = snapshot(flow, FLOW_FIELDS)
    changes.update({k: (before[k], after[k]) for k in FLOW_FIELDS if before[k] != after[k]})
    if cleaned is not None:
        flow.steps.all().delete()
        _write_steps(flow, cleaned)
        new_steps = describe_steps(flow)
        if new_steps != old_steps:
            changes["steps"] = (old_steps, new_steps)
    if changes:
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=flow, changes=changes)
    return flow


def choose_flow(doc_type: str, amount: Decimal | None) -> ApprovalFlow:
    """The active flow whose thresholds hold the amount (min ≤ amount < max), highest
    priority first. Without an amount only flows without thresholds match."""
    flows = ApprovalFlow.objects.filter(doc_type=doc_type, active=True)
    if amount is None:
        flows = flows.filter(min_amount__isnull=True, max_amount__isnull=True)
    else:
        flows = flows.filter(
            Q(min_amount__isnull=True) | Q(min_amount__lte=amount),
            Q(max_amount__isnull=True) | Q(max_amount__gt=amount),
        )
    flow = flows.order_by("-priority", "id").first()
    if flow is None:
        label = document_type(doc_type).label
        if amount is None:
            msg = _("“%(label)s”没有适用的审批流程，请联系管理员配置") % {"label": label}
        else:
            msg = _("“%(label)s”没有适用于金额 %(amount)s 的审批流程，请联系管理员配置") % {
                "label": label,
                "amount": amount,
            }
        raise ServiceError("no_flow", msg)
    return flow


# ---------------------------------------------------------------------------------------
# Approvers
# ---------------------------------------------------------------------------------------


def resolve_approvers(step: ApprovalStep, submitter: User) -> list[User]:
    """The users who approve ``step`` for ``submitter``, nearest first; never the
    submitter. Named users as configured; for a role, the active users holding it, ranked
    by the approver ranking the org module registers (whose data scope covers the
    submitter: own manager chain first, then department heads; else everyone with it)."""
    if step.approver_role_id is None:
        return [
            u
            for u in step.approver_users.filter(is_active=True).order_by("id")
            if u.pk != submitter.pk
        ]
    candidates = [
        u
        for u in User.objects.filter(role_id=step.approver_role_id, is_active=True)
        .select_related("role")
        .order_by("id")
        if u.pk != submitter.pk
    ]
    if not candidates:
        return candidates
    return rank_role_approvers(candidates, submitter)


def _step_approvers(step: ApprovalStep, submitter: User) -> list[User]:
    users = resolve_approvers(step, submitter)
    if step.mode == SignMode.SINGLE:
        return users[:1]
    return users


def _check_all_steps(flow: ApprovalFlow, submitter: User) -> list[ApprovalStep]:
    steps = list(flow.steps.select_related("approver_role").order_by("order"))
    if not steps:
        raise ServiceError("no_steps", _("审批流程“%(name)s”没有审批节点") % {"name": flow.name})
    for step in steps:
        if not resolve_approvers(step, submitter):
            raise ServiceError(
                "no_approver",
                _("审批节点“%(step)s”找不到审批人，请联系管理员配置") % {"step": step.name},
            )
    return steps


# ---------------------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------------------


def request_url(request: ApprovalRequest) -> str:
    return reverse("core:approval_detail", args=[request.pk])


def _event(request: ApprovalRequest, *, actor: User | None, action: str, comment: str = "") -> None:
    ApprovalEvent.objects.create(
        request=request,
        actor=actor,
        action=action,
        step_order=request.current_step,
        comment=comment,
    )


def _audit(
    request: ApprovalRequest,
    *,
    actor: User | None,
    action: str,
    before: Mapping[str, str],
    comment: str = "",
) -> None:
    after = snapshot(request, ("status", "current_step"))
    note = f"{action}: {comment}" if comment else action
    changes = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    audit_record(
        actor=actor, action=AuditAction.APPROVAL, obj=request, changes=changes or None, note=note
    )


def _open_step(request: ApprovalRequest, step: ApprovalStep) -> list[ApprovalTask]:
    approvers = _step_approvers(step, request.submitted_by)
    if not approvers:
        raise ServiceError(
            "no_approver",
            _("审批节点“%(step)s”找不到审批人，请联系管理员配置") % {"step": step.name},
        )
    tasks = ApprovalTask.objects.bulk_create(
        [ApprovalTask(request=request, step=step, approver=u) for u in approvers]
    )
    doc_label = document_type(request.doc_type).label
    # Rendered in each language, so every approver reads it in their own.
    notify_many(
        users=approvers,
        title=lambda: _("待审批：%(title)s") % {"title": request.title},
        body=lambda: (
            _("%(who)s 提交的%(doc)s等待您审批（%(step)s）")
            % {"who": request.submitted_by, "doc": doc_label, "step": step.name}
        ),
        url=request_url(request),
    )
    return tasks


def _start(request: ApprovalRequest) -> None:
    steps = _check_all_steps(request.flow, request.submitted_by)
    request.current_step = steps[0].order
    request.save(update_fields=["current_step"])
    _open_step(request, steps[0])


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ServiceError("invalid_title", _("请填写审批标题"), field="title")
    return title[:200]


@transaction.atomic
def approval_submit(
    *,
    actor: User,
    doc_type: str,
    object_id: str | int,
    title: str,
    amount: Decimal | int | str | None = None,
) -> ApprovalRequest:
    """Start the approval of one document: choose the flow by amount, check every step
    has an approver, open step 1 and notify its approvers."""
    document_type(doc_type)
    oid = str(object_id)
    if not oid or len(oid) > 64:
        raise ServiceError("invalid_object", _("单据ID无效"), field="object_id")
    title = _clean_title(title)
    value = _to_amount(amount, "amount")
    if ApprovalRequest.objects.filter(
        doc_type=doc_type, object_id=oid, status=ApprovalStatus.PENDING
    ).exists():
        raise ServiceError("already_pending", _("该单据已在审批中，请勿重复提交"), status=409)
    flow = choose_flow(doc_type, value)
    request = ApprovalRequest.objects.create(
        doc_type=doc_type,
        object_id=oid,
        title=title,
        amount=value,
        flow=flow,
        submitted_by=actor,
    )
    _start(request)
    _event(request, actor=actor, action=EventAction.SUBMIT)
    audit_record(
        actor=actor,
        action=AuditAction.APPROVAL,
        obj=request,
        changes={"status": ("", request.status), "flow": ("", flow.pk)},
        note=EventAction.SUBMIT,
    )
    return request


def approval_submit_again(
    *,
    actor: User,
    doc_type: str,
    object_id: str | int,
    title: str,
    amount: Any = UNSET,
) -> ApprovalRequest:
    """``approval_submit`` for a document that may have been sent back (退回) before: when
    the latest request of the document is a returned one of this submitter, that request
    is resubmitted (``approval_resubmit``, with ``title`` and ``amount``) rather than a
    second one opened beside it."""
    last = (
        ApprovalRequest.objects.filter(doc_type=doc_type, object_id=str(object_id))
        .order_by("-submitted_at", "-id")
        .first()
    )
    if (
        last is not None
        and last.status == ApprovalStatus.RETURNED
        and last.submitted_by_id == actor.pk
    ):
        return approval_resubmit(actor=actor, request_id=last.pk, title=title, amount=amount)
    return approval_submit(
        actor=actor,
        doc_type=doc_type,
        object_id=object_id,
        title=title,
        amount=None if amount is UNSET else amount,
    )


def _locked_request(request_id: Any) -> ApprovalRequest:
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        pk = 0
    obj = (
        ApprovalRequest.objects.select_for_update()
        .select_related("flow", "submitted_by")
        .filter(pk=pk)
        .first()
    )
    if obj is None:
        raise NotFoundError(_("审批单不存在或无权查看"))
    return obj


def _may_see(actor: User, request: ApprovalRequest) -> bool:
    return (
        viewer_for(actor).is_admin
        or request.submitted_by_id == actor.pk
        or request.tasks.filter(approver=actor).exists()
    )


def _skip_pending(request: ApprovalRequest, *, exclude: int | None = None) -> list[User]:
    """Close the other open tasks of a request; returns their approvers."""
    pending = request.tasks.filter(status=TaskStatus.PENDING)
    if exclude is not None:
        pending = pending.exclude(pk=exclude)
    users = [t.approver for t in pending.select_related("approver")]
    claim(pending, TaskStatus.SKIPPED, allowed=TASK_MOVES, acted_at=timezone.now())
    return users


def _notify_submitter(request: ApprovalRequest, title: Text, comment: str = "") -> None:
    notify(user=request.submitted_by, title=title, body=comment, url=request_url(request))


def _finish(
    request: ApprovalRequest, *, status: str, actor: User, doc: DocumentType, comment: str
) -> None:
    transition(
        request, status, allowed=REQUEST_MOVES, audit=False, decided_at=timezone.now()
    )  # audited by the caller (_audit)
    if status == ApprovalStatus.APPROVED:
        _event(request, actor=None, action=EventAction.FINISH)
        run_callback(doc.on_approved, request, actor)
        _notify_submitter(request, lambda: _("审批已通过：%(t)s") % {"t": request.title}, comment)
    elif status == ApprovalStatus.REJECTED:
        run_callback(doc.on_rejected, request, actor)
        _notify_submitter(request, lambda: _("审批被驳回：%(t)s") % {"t": request.title}, comment)
    elif status == ApprovalStatus.RETURNED:
        run_callback(doc.on_returned, request, actor)
        _notify_submitter(request, lambda: _("审批被退回：%(t)s") % {"t": request.title}, comment)


@transaction.atomic
def approval_act(
    *, actor: User, task_id: int | str, action: str, comment: str = ""
) -> ApprovalRequest:
    """An approver approves, rejects or sends back (退回) their task on the current step.

    SINGLE and ORSIGN steps are decided by the first action (other tasks are skipped);
    a COUNTERSIGN step needs every approver's approval and one rejection decides it.
    Rejecting or sending back needs a comment.
    """
    if action not in ACTIONS:
        raise ServiceError("invalid_action", _("无效的审批操作"), field="action")
    comment = (comment or "").strip()[:COMMENT_MAX]
    require_no_control_chars(comment, "comment")
    if action in ("reject", "return") and not comment:
        raise ServiceError("comment_required", _("驳回或退回时必须填写审批意见"), field="comment")
    try:
        tid = int(task_id)
    except (TypeError, ValueError):
        tid = 0
    found = ApprovalTask.objects.filter(pk=tid).values_list("request_id", flat=True).first()
    if found is None:
        raise NotFoundError(_("审批任务不存在"))
    request = _locked_request(found)
    if not _may_see(actor, request):
        raise NotFoundError(_("审批任务不存在"))
    task = ApprovalTask.objects.select_related("step").get(pk=tid)
    if task.approver_id != actor.pk:
        raise PermissionDeniedError(_("您不是该任务的审批人"), code="not_approver")
    if task.status != TaskStatus.PENDING:
        raise ServiceError("task_done", _("该任务已处理，请勿重复操作"), status=409)
    if request.status != ApprovalStatus.PENDING or task.step.order != request.current_step:
        raise ServiceError("task_not_current", _("该审批单当前不在您的审批节点"), status=409)
    now = timezone.now()
    claimed = claim(
        ApprovalTask.objects.filter(pk=task.pk),
        ACTIONS[action],
        allowed=TASK_MOVES,
        acted_at=now,
        comment=comment,
    )
    if claimed != 1:
        raise ServiceError("task_done", _("该任务已处理，请勿重复操作"), status=409)

    doc = document_type(request.doc_type)
    before = snapshot(request, ("status", "current_step"))
    _event(request, actor=actor, action=action, comment=comment)
    if action == "reject":
        _skip_pending(request)
        _finish(request, status=ApprovalStatus.REJECTED, actor=actor, doc=doc, comment=comment)
    elif action == "return":
        _skip_pending(request)
        _finish(request, status=ApprovalStatus.RETURNED, actor=actor, doc=doc, comment=comment)
    else:
        step_open = request.tasks.filter(step=task.step, status=TaskStatus.PENDING)
        if task.step.mode == SignMode.COUNTERSIGN and step_open.exists():
            pass  # wait for the other countersigners
        else:
            claim(step_open, TaskStatus.SKIPPED, allowed=TASK_MOVES, acted_at=now)
            next_step = (
                request.flow.steps.filter(order__gt=task.step.order).order_by("order").first()
            )
            if next_step is None:
                _finish(
                    request, status=ApprovalStatus.APPROVED, actor=actor, doc=doc, comment=comment
                )
            else:
                request.current_step = next_step.order
                request.save(update_fields=["current_step"])
                _open_step(request, next_step)
    _audit(request, actor=actor, action=action, before=before, comment=comment)
    return request


def _own_request(actor: User, request_id: Any) -> ApprovalRequest:
    request = _locked_request(request_id)
    if request.submitted_by_id != actor.pk:
        if _may_see(actor, request):
            raise PermissionDeniedError(_("只有提交人可以执行此操作"), code="not_submitter")
        raise NotFoundError(_("审批单不存在或无权查看"))
    return request


@transaction.atomic
def approval_resubmit(
    *,
    actor: User,
    request_id: int | str,
    title: str | None = None,
    amount: Any = UNSET,
) -> ApprovalRequest:
    """The submitter sends a returned (退回) request again; it starts over at step 1,
    through the flow the (possibly changed) amount chooses now."""
    request = _own_request(actor, request_id)
    if not REQUEST_MOVES.allows(request.status, ApprovalStatus.PENDING):
        raise ServiceError("not_returned", _("只有已退回的审批单可以重新提交"), status=409)
    before = snapshot(request, ("status", "current_step"))
    if title is not None:
        request.title = _clean_title(title)
    if amount is not UNSET:
        request.amount = _to_amount(amount, "amount")
    request.flow = choose_flow(request.doc_type, request.amount)
    transition(request, ApprovalStatus.PENDING, allowed=REQUEST_MOVES, save=False)
    request.decided_at = None
    request.save(update_fields=["title", "amount", "flow", "status", "decided_at"])
    _start(request)
    _event(request, actor=actor, action=EventAction.RESUBMIT)
    _audit(request, actor=actor, action=EventAction.RESUBMIT, before=before)
    return request


@transaction.atomic
def approval_cancel(*, actor: User, request_id: int | str) -> ApprovalRequest:
    """The submitter withdraws (撤回) a pending request; open tasks are closed and their
    approvers told. The document type's ``on_cancelled`` callback runs if it has one."""
    request = _own_request(actor, request_id)
    if not REQUEST_MOVES.allows(request.status, ApprovalStatus.CANCELLED):
        raise ServiceError("not_pending", _("只有审批中的单据可以撤回"), status=409)
    before = snapshot(request, ("status", "current_step"))
    approvers = _skip_pending(request)
    transition(
        request,
        ApprovalStatus.CANCELLED,
        allowed=REQUEST_MOVES,
        audit=False,
        decided_at=timezone.now(),
    )  # audited below (_audit)
    _event(request, actor=actor, action=EventAction.CANCEL)
    doc = document_type(request.doc_type)
    run_callback(doc.on_cancelled, request, actor)
    if approvers:
        notify_many(
            users=approvers,
            title=lambda: _("审批已撤回：%(t)s") % {"t": request.title},
            url=request_url(request),
        )
    _audit(request, actor=actor, action=EventAction.CANCEL, before=before)
    return request
