"""审批中心 (inbox, request detail, actions), the flow list and the notifications page.

Views parse, authorise (through the selectors), call a service and respond; a request the
user may not see is a 404, an action they may not take a 403.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from salesops.core.access import viewer_for
from salesops.core.approvals import selectors
from salesops.core.approvals.registry import doc_type_label, document_type, document_types
from salesops.core.approvals.services import (
    EventAction,
    approval_act,
    approval_cancel,
    approval_resubmit,
    describe_steps,
)
from salesops.core.errors import ServiceError
from salesops.core.listing import Column, Filter, ListSpec, Scene, list_page
from salesops.core.models import (
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStatus,
    Notification,
    SignMode,
    TaskStatus,
    User,
)
from salesops.core.notifications import (
    notification_mark_all_read,
    notification_mark_read,
    notifications_for,
)

STATUS_BADGE = {
    ApprovalStatus.PENDING: "primary",
    ApprovalStatus.APPROVED: "success",
    ApprovalStatus.REJECTED: "danger",
    ApprovalStatus.RETURNED: "warning",
    ApprovalStatus.CANCELLED: "secondary",
}


def fmt_time(value: datetime.datetime | None) -> str:
    """2026-10-05 14:30 in the site's time zone."""
    if value is None:
        return ""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _service(fn: Callable[[], Any]) -> Any:
    """Run a service; a not-found is a 404 and a refusal a 403, like everywhere."""
    try:
        return fn()
    except ServiceError as exc:
        if exc.status == 404:
            raise Http404(str(exc.message)) from exc
        if exc.status == 403:
            raise PermissionDenied(str(exc.message)) from exc
        raise


def _detail_url(pk: int) -> str:
    return reverse("core:approval_detail", args=[pk])


def _done(request: HttpRequest, url: str) -> HttpResponse:
    """After an action: htmx follows HX-Redirect, a plain form a 302."""
    if getattr(request, "htmx", False):
        resp = HttpResponse(status=204)
        resp["HX-Redirect"] = url
        return resp
    return HttpResponseRedirect(url)


# ---------------------------------------------------------------------------------------
# Inbox and detail
# ---------------------------------------------------------------------------------------


def inbox_spec(user: User, *, tab: str, pending_count: int) -> ListSpec:
    return ListSpec(
        title=gettext_lazy("审批中心"),
        columns=[
            Column(
                "title",
                gettext_lazy("标题"),
                lambda r: r.title,
                sort="title",
                link=lambda r: _detail_url(r.pk),
            ),
            Column("doc_type", gettext_lazy("单据类型"), lambda r: doc_type_label(r.doc_type)),
            Column("amount", gettext_lazy("金额"), lambda r: r.amount, sort="amount", money=True),
            Column("submitted_by", gettext_lazy("提交人"), lambda r: str(r.submitted_by)),
            Column(
                "step",
                gettext_lazy("当前节点"),
                lambda r: r.current_step_name if r.status == ApprovalStatus.PENDING else "",
            ),
            Column("status", gettext_lazy("状态"), lambda r: r.get_status_display(), sort="status"),
            Column(
                "my_action",
                gettext_lazy("我的处理"),
                lambda r: TaskStatus(r.my_action).label if r.my_action else "",
            ),
            Column(
                "submitted_at",
                gettext_lazy("提交时间"),
                lambda r: fmt_time(r.submitted_at),
                sort="submitted_at",
            ),
        ],
        search_fields=["title"],
        search_hint=gettext_lazy("按标题搜索"),
        filters=[
            Filter("status", gettext_lazy("状态"), ApprovalStatus.choices, "status"),
            Filter(
                "doc_type",
                gettext_lazy("单据类型"),
                [(d.doc_type, d.label) for d in document_types()],
                "doc_type",
            ),
        ],
        scenes=[
            Scene(
                "pending",
                _("待我审批（%(n)s）") % {"n": pending_count}
                if pending_count
                else gettext_lazy("待我审批"),
                selectors.pending_tasks_q(user),
            ),
            Scene("done", gettext_lazy("我已审批"), selectors.done_tasks_q(user)),
            Scene("mine", gettext_lazy("我发起的"), selectors.mine_q(user)),
        ],
        default_sort="-my_acted_at" if tab == "done" else "-submitted_at",
        export_name="approvals",
        row_link=lambda r: _detail_url(r.pk),
    )


@login_required
@require_GET
def approvals_inbox(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    tab = request.GET.get("scene", "pending")
    counts = selectors.inbox_counts(user)
    spec = inbox_spec(user, tab=tab, pending_count=counts["pending"])
    return list_page(
        request,
        queryset=selectors.approval_requests_for(user),
        spec=spec,
        template="core/approvals/inbox.html",
    )


def _steps_view(obj: ApprovalRequest) -> list[dict[str, Any]]:
    """Each step of the flow with its tasks of the latest round (tasks of a round sent
    back were all closed before the resubmit, so they are older than its event)."""
    round_start = max(
        (e.at for e in obj.events.all() if e.action in (EventAction.SUBMIT, EventAction.RESUBMIT)),
        default=None,
    )
    by_step: dict[int, list[Any]] = {}
    for task in obj.tasks.all():
        if round_start is None or task.acted_at is None or task.acted_at >= round_start:
            by_step.setdefault(task.step.order, []).append(task)
    out = []
    for step in sorted(obj.flow.steps.all(), key=lambda s: s.order):
        if obj.status == ApprovalStatus.APPROVED or step.order < obj.current_step:
            state = "done"
        elif step.order == obj.current_step:
            state = "current" if obj.status == ApprovalStatus.PENDING else "stopped"
        else:
            state = "todo"
        out.append(
            {
                "step": step,
                "mode": SignMode(step.mode).label,
                "tasks": by_step.get(step.order, []),
                "state": state,
            }
        )
    return out


@login_required
@require_GET
def approval_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from salesops.core.selectors import audit_for_object

    user = _user(request)
    obj = _service(lambda: selectors.approval_request_for_user(user, pk))
    doc = document_type(obj.doc_type) if obj.doc_type in _known_types() else None
    events = [
        {
            "event": e,
            "label": EventAction(e.action).label if e.action in EventAction.values else e.action,
            "at": fmt_time(e.at),
        }
        for e in obj.events.all()
    ]
    ctx = {
        "obj": obj,
        "doc_label": doc_type_label(obj.doc_type),
        "doc_url": doc.document_url(obj.object_id) if doc else "",
        "status_badge": STATUS_BADGE.get(obj.status, "secondary"),
        "submitted_at": fmt_time(obj.submitted_at),
        "decided_at": fmt_time(obj.decided_at),
        "steps": _steps_view(obj),
        "events": events,
        "my_task": selectors.pending_task_for(obj, user),
        "is_submitter": obj.submitted_by_id == user.pk,
        "can_cancel": obj.submitted_by_id == user.pk and obj.status == ApprovalStatus.PENDING,
        "can_resubmit": obj.submitted_by_id == user.pk and obj.status == ApprovalStatus.RETURNED,
        "audit_rows": audit_for_object(obj),
    }
    return render(request, "core/approvals/detail.html", ctx)


def _known_types() -> set[str]:
    return {d.doc_type for d in document_types()}


@login_required
@require_POST
def approval_task_act(request: HttpRequest, task_id: int, action: str) -> HttpResponse:
    user = _user(request)
    comment = request.POST.get("comment", "")
    try:
        obj = _service(
            lambda: approval_act(actor=user, task_id=task_id, action=action, comment=comment)
        )
    except ServiceError as exc:
        request_id = request.POST.get("request_id", "")
        if getattr(request, "htmx", False):
            return render(
                request,
                "core/approvals/_action_error.html",
                {"error": exc.message, "comment": comment},
                status=200,
            )
        messages.error(request, str(exc.message))
        target = (
            _detail_url(int(request_id))
            if request_id.isdigit()
            else reverse("core:approvals_inbox")
        )
        return HttpResponseRedirect(target)
    messages.success(request, _("已处理：%(t)s") % {"t": obj.title})
    return _done(request, _detail_url(obj.pk))


@login_required
@require_POST
def approval_request_resubmit(request: HttpRequest, pk: int) -> HttpResponse:
    return _submitter_action(request, pk, approval_resubmit, _("已重新提交"))


@login_required
@require_POST
def approval_request_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _submitter_action(request, pk, approval_cancel, _("已撤回"))


def _submitter_action(
    request: HttpRequest, pk: int, service: Callable[..., ApprovalRequest], done: str
) -> HttpResponse:
    user = _user(request)
    try:
        _service(lambda: service(actor=user, request_id=pk))
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return _done(request, _detail_url(pk))
    messages.success(request, done)
    return _done(request, _detail_url(pk))


# ---------------------------------------------------------------------------------------
# Flows (admin)
# ---------------------------------------------------------------------------------------


@login_required
@require_GET
def approval_flows(request: HttpRequest) -> HttpResponseBase:
    if not viewer_for(_user(request)).is_admin:
        raise PermissionDenied(_("只有系统管理员可以查看审批流程"))
    spec = ListSpec(
        title=gettext_lazy("审批流程"),
        columns=[
            Column("name", gettext_lazy("名称"), lambda f: f.name, sort="name"),
            Column("doc_type", gettext_lazy("单据类型"), lambda f: doc_type_label(f.doc_type)),
            Column("min_amount", gettext_lazy("金额下限"), lambda f: f.min_amount, money=True),
            Column("max_amount", gettext_lazy("金额上限"), lambda f: f.max_amount, money=True),
            Column("priority", gettext_lazy("优先级"), lambda f: f.priority, sort="priority"),
            Column("steps", gettext_lazy("审批节点"), describe_steps),
            Column("requests", gettext_lazy("审批单数"), lambda f: f.n_requests),
            Column("active", gettext_lazy("启用"), lambda f: _("是") if f.active else _("否")),
        ],
        search_fields=["name", "doc_type"],
        filters=[
            Filter(
                "doc_type",
                gettext_lazy("单据类型"),
                [(d.doc_type, d.label) for d in document_types()],
                "doc_type",
            ),
            Filter("active", gettext_lazy("启用"), [("1", _("是")), ("0", _("否"))], "active"),
        ],
        default_sort="doc_type",
        export_name="approval_flows",
    )
    qs = ApprovalFlow.objects.annotate(n_requests=Count("requests"))
    return list_page(request, queryset=qs, spec=spec)


# ---------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------


def _read_button(n: Notification) -> str:
    if n.read_at is not None:
        return ""
    return format_html(
        '<button type="button" class="btn btn-link btn-sm p-0" hx-post="{}" '
        'hx-target="closest td" hx-swap="innerHTML">{}</button>',
        reverse("core:notification_read", args=[n.pk]),
        _("标为已读"),
    )


@login_required
@require_GET
def notifications(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    spec = ListSpec(
        title=gettext_lazy("消息通知"),
        columns=[
            Column(
                "title",
                gettext_lazy("标题"),
                lambda n: n.title,
                link=lambda n: reverse("core:notification_open", args=[n.pk]),
            ),
            Column("body", gettext_lazy("内容"), lambda n: n.body),
            Column("at", gettext_lazy("时间"), lambda n: fmt_time(n.at), sort="at"),
            Column(
                "read",
                gettext_lazy("状态"),
                lambda n: _("已读") if n.read_at else _("未读"),
            ),
            Column("ops", gettext_lazy("操作"), _read_button, export=False),
        ],
        search_fields=["title", "body"],
        scenes=[
            Scene("all", gettext_lazy("全部"), Q()),
            Scene("unread", gettext_lazy("未读"), Q(read_at__isnull=True)),
        ],
        default_sort="-at",
        export_name="notifications",
    )
    return list_page(
        request,
        queryset=notifications_for(user),
        spec=spec,
        template="core/approvals/notifications.html",
    )


@login_required
@require_GET
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a message's link, marking it read on the way."""
    user = _user(request)
    row = _service(lambda: notification_mark_read(user=user, notification_id=pk))
    url = row.url if row.url.startswith("/") and not row.url.startswith("//") else ""
    return HttpResponseRedirect(url or reverse("core:notifications"))


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    _service(lambda: notification_mark_read(user=user, notification_id=pk))
    if getattr(request, "htmx", False):
        return HttpResponse(_("已读"))
    return HttpResponseRedirect(reverse("core:notifications"))


@login_required
@require_POST
def notifications_read_all(request: HttpRequest) -> HttpResponse:
    n = notification_mark_all_read(user=_user(request))
    messages.success(request, _("已将 %(n)s 条消息标为已读") % {"n": n})
    return _done(request, reverse("core:notifications"))
