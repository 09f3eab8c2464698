"""Read side of the approval engine: what a user may see, the inbox tabs, one request.

A user sees a request they submitted or hold (or held) a task on; an admin sees all; and
one request's page is open to whoever may read its document (``can_view`` of its type).
Everything else is not found.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Count, F, OuterRef, Prefetch, Q, QuerySet, Subquery

from salesops.core.access import viewer_for
from salesops.core.approvals.registry import document_types
from salesops.core.errors import NotFoundError, PermissionDeniedError
from salesops.core.models import (
    ApprovalEvent,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
    ApprovalTask,
    TaskStatus,
    User,
)

INBOX_TABS = ("pending", "done", "mine")
ACTED = (TaskStatus.APPROVED, TaskStatus.REJECTED, TaskStatus.RETURNED)


def _not_found() -> NotFoundError:
    from django.utils.translation import gettext as _

    return NotFoundError(_("审批单不存在或无权查看"))


def requests_visible_q(user: User) -> Q:
    if viewer_for(user).is_admin:
        return Q()
    return Q(submitted_by=user) | Q(
        pk__in=ApprovalTask.objects.filter(approver=user).values("request_id")
    )


def pending_tasks_q(user: User) -> Q:
    """Requests with a task waiting for ``user`` on the request's current step."""
    return Q(
        status=ApprovalStatus.PENDING,
        pk__in=ApprovalTask.objects.filter(
            approver=user,
            status=TaskStatus.PENDING,
            request__status=ApprovalStatus.PENDING,
            step__order=F("request__current_step"),
        ).values("request_id"),
    )


def done_tasks_q(user: User) -> Q:
    return Q(
        pk__in=ApprovalTask.objects.filter(approver=user, status__in=ACTED).values("request_id")
    )


def mine_q(user: User) -> Q:
    return Q(submitted_by=user)


def tab_q(user: User, tab: str) -> Q:
    return {"pending": pending_tasks_q, "done": done_tasks_q, "mine": mine_q}[tab](user)


def approval_requests_for(user: User) -> QuerySet[ApprovalRequest]:
    """Requests the user may see, with what an inbox row shows (bounded queries)."""
    return _with_row_fields(ApprovalRequest.objects.filter(requests_visible_q(user)), user)


def _with_row_fields(qs: QuerySet[ApprovalRequest], user: User) -> QuerySet[ApprovalRequest]:
    step_name = ApprovalStep.objects.filter(
        flow=OuterRef("flow"), order=OuterRef("current_step")
    ).values("name")[:1]
    my_task = ApprovalTask.objects.filter(
        request=OuterRef("pk"), approver=user, status__in=ACTED
    ).order_by("-acted_at", "-id")
    my_pending = ApprovalTask.objects.filter(
        request=OuterRef("pk"),
        approver=user,
        status=TaskStatus.PENDING,
        step__order=OuterRef("current_step"),
    ).values("pk")[:1]
    return qs.select_related("submitted_by", "flow").annotate(
        current_step_name=Subquery(step_name),
        my_action=Subquery(my_task.values("status")[:1]),
        my_acted_at=Subquery(my_task.values("acted_at")[:1]),
        my_task_id=Subquery(my_pending),
    )


def inbox(user: User, *, tab: str, q: str = "") -> QuerySet[ApprovalRequest]:
    """One inbox tab (待我审批 / 我已审批 / 我发起的), optionally searched by title."""
    if tab not in INBOX_TABS:
        tab = "pending"
    qs = approval_requests_for(user).filter(tab_q(user, tab))
    if q:
        qs = qs.filter(title__icontains=q[:100])
    if tab == "done":
        return qs.order_by(F("my_acted_at").desc(nulls_last=True), "-pk")
    return qs.order_by("-submitted_at", "-pk")


def inbox_counts(user: User) -> dict[str, int]:
    return {"pending": ApprovalRequest.objects.filter(pending_tasks_q(user)).count()}


def approval_request_for_user(user: User, request_id: Any) -> ApprovalRequest:
    """The access helper: one request the user may see, with steps, tasks and history.
    Besides the submitter, the approvers with a task and admin, whoever may read the
    document may read its request (the document type's ``can_view``): e.g. an approver of a
    later step, whose task does not exist yet."""
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        raise _not_found() from None
    obj = _with_detail(approval_requests_for(user)).filter(pk=pk).first()
    if obj is None:
        every = _with_row_fields(ApprovalRequest.objects.all(), user)
        obj = _with_detail(every).filter(pk=pk).first()
        if obj is None or not _document_visible(user, obj):
            raise _not_found()
    return obj


def _document_visible(user: User, obj: ApprovalRequest) -> bool:
    entry = next((d for d in document_types() if d.doc_type == obj.doc_type), None)
    return entry is not None and entry.visible_to(user, obj.object_id)


def _with_detail(qs: QuerySet[ApprovalRequest]) -> QuerySet[ApprovalRequest]:
    return qs.prefetch_related(
        Prefetch(
            "tasks",
            queryset=ApprovalTask.objects.select_related("approver", "step").order_by(
                "step__order", "id"
            ),
        ),
        Prefetch(
            "events",
            queryset=ApprovalEvent.objects.select_related("actor").order_by("at", "id"),
        ),
        Prefetch("flow__steps", queryset=ApprovalStep.objects.select_related("approver_role")),
    )


def pending_task_for(request: ApprovalRequest, user: User) -> ApprovalTask | None:
    """The user's task on the current step, if any (uses the prefetched tasks)."""
    if request.status != ApprovalStatus.PENDING:
        return None
    for task in request.tasks.all():
        if (
            task.approver_id == user.pk
            and task.status == TaskStatus.PENDING
            and task.step.order == request.current_step
        ):
            return task
    return None


# ---------------------------------------------------------------------------------------
# Flows (admin only)
# ---------------------------------------------------------------------------------------


def _require_flow_admin(user: User) -> None:
    from django.utils.translation import gettext as _

    if not viewer_for(user).is_admin:
        raise PermissionDeniedError(_("只有系统管理员可以配置审批流程"))


def _steps_prefetch() -> Prefetch:
    return Prefetch(
        "steps",
        queryset=ApprovalStep.objects.select_related("approver_role")
        .prefetch_related(Prefetch("approver_users", queryset=User.objects.order_by("id")))
        .order_by("order"),
    )


def approval_flows_for(user: User) -> QuerySet[ApprovalFlow]:
    """Every flow with its steps and request count (a fixed number of queries a page);
    admins only."""
    _require_flow_admin(user)
    return ApprovalFlow.objects.annotate(n_requests=Count("requests")).prefetch_related(
        _steps_prefetch()
    )


def approval_flow_for_admin(user: User, flow_id: Any) -> ApprovalFlow:
    """The access helper of a flow: admins only (403), an unknown id is a 404."""
    from django.utils.translation import gettext as _

    _require_flow_admin(user)
    try:
        pk = int(flow_id)
    except (TypeError, ValueError):
        pk = 0
    obj = approval_flows_for(user).filter(pk=pk).first()
    if obj is None:
        raise NotFoundError(_("审批流程不存在"))
    return obj
