"""审批中心 (inbox, request detail, actions), the flow settings (list, detail, new, edit;
admins only) and the notifications page.

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
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from salesops.core.access import viewer_for
from salesops.core.approvals import selectors
from salesops.core.approvals.registry import doc_type_label, document_type, document_types
from salesops.core.approvals.services import (
    EventAction,
    approval_act,
    approval_cancel,
    approval_flow_create,
    approval_flow_update,
    approval_resubmit,
)
from salesops.core.display import format_datetime
from salesops.core.errors import FieldError, ServiceError
from salesops.core.forms.approvals import (
    MAX_STEPS,
    STEP_OPS,
    FlowForm,
    StepForm,
    apply_step_op,
    approver_users,
    step_initial,
    step_initial_from_flow,
    step_keys,
)
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, Scene, list_page
from salesops.core.models import (
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalStep,
    Notification,
    Role,
    SignMode,
    TaskStatus,
    User,
)
from salesops.core.notifications import (
    notification_for_user,
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
    return format_datetime(value)


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
        date_filters=[
            DateRangeFilter("submitted", gettext_lazy("提交时间"), "submitted_at", is_datetime=True)
        ],
        default_scene_with_rows=False,  # the view sorts by the tab it was asked for
        default_sort="-my_acted_at" if tab == "done" else "-submitted_at",
        export_name="approvals",
        row_link=lambda r: _detail_url(r.pk),
    )


@login_required
@require_http_methods(["GET", "POST"])  # POST: batch actions, saved scenes
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


def _flows_admin(request: HttpRequest) -> User:
    user = _user(request)
    if not viewer_for(user).is_admin:
        raise PermissionDenied(_("只有系统管理员可以配置审批流程"))
    return user


def _flow_url(flow: ApprovalFlow) -> str:
    return reverse("core:approval_flow_detail", args=[flow.pk])


def _approvers_text(step: ApprovalStep) -> str:
    if step.approver_role is not None:
        return str(step.approver_role)
    return _("、").join(str(u) for u in step.approver_users.all())


def steps_text(flow: ApprovalFlow) -> str:
    """经理审批（单人审批：销售经理） → 财务（会签：张三、李四）, from prefetched steps."""
    return " → ".join(
        _("%(step)s（%(mode)s：%(approvers)s）")
        % {"step": s.name, "mode": SignMode(s.mode).label, "approvers": _approvers_text(s)}
        for s in flow.steps.all()
    )


@login_required
@require_http_methods(["GET", "POST"])  # POST: batch actions, saved scenes
def approval_flows(request: HttpRequest) -> HttpResponseBase:
    user = _flows_admin(request)
    spec = ListSpec(
        title=gettext_lazy("审批流程"),
        columns=[
            Column("name", gettext_lazy("名称"), lambda f: f.name, sort="name", link=_flow_url),
            Column("doc_type", gettext_lazy("单据类型"), lambda f: doc_type_label(f.doc_type)),
            Column("min_amount", gettext_lazy("金额下限"), lambda f: f.min_amount, money=True),
            Column("max_amount", gettext_lazy("金额上限"), lambda f: f.max_amount, money=True),
            Column("priority", gettext_lazy("优先级"), lambda f: f.priority, sort="priority"),
            Column("steps", gettext_lazy("审批节点"), steps_text),
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
        create_url=reverse("core:approval_flow_create"),
        row_link=_flow_url,
    )
    return list_page(request, queryset=selectors.approval_flows_for(user), spec=spec)


@login_required
@require_GET
def approval_flow_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from salesops.core.selectors import audit_for_object

    user = _flows_admin(request)
    flow = _service(lambda: selectors.approval_flow_for_admin(user, pk))
    steps = [
        {"step": s, "mode": SignMode(s.mode).label, "approvers": _approvers_text(s)}
        for s in flow.steps.all()
    ]
    ctx = {
        "flow": flow,
        "doc_label": doc_type_label(flow.doc_type),
        "steps": steps,
        "audit_rows": audit_for_object(flow),
    }
    return render(request, "core/approvals/flow_detail.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def approval_flow_new(request: HttpRequest) -> HttpResponse:
    user = _flows_admin(request)
    return _flow_form_page(request, user, None)


@login_required
@require_http_methods(["GET", "POST"])
def approval_flow_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _flows_admin(request)
    flow = _service(lambda: selectors.approval_flow_for_admin(user, pk))
    return _flow_form_page(request, user, flow)


def _user_label(u: User) -> str:
    if not u.display_name:
        return u.username
    return _("%(name)s（%(code)s）") % {"name": u.display_name, "code": u.username}


class _StepRows:
    """Builds the step rows of one page; role and user choices are read once."""

    def __init__(self, flow: ApprovalFlow | None) -> None:
        self.users = approver_users(flow)
        self.role_choices: list[tuple[Any, str]] = [("", _("（指定审批人）"))] + [
            (r.code, str(r)) for r in Role.objects.order_by("id")
        ]
        self.user_choices = [(u.pk, _user_label(u)) for u in self.users]

    def form(
        self, key: str, *, data: Any = None, initial: dict[str, Any] | None = None
    ) -> StepForm:
        return StepForm(
            data,
            prefix=f"step-{key}",
            initial=initial,
            users=self.users,
            role_choices=self.role_choices,
            user_choices=self.user_choices,
        )


def _apply_flow_errors(exc: ServiceError, form: FlowForm, rows: list[tuple[str, StepForm]]) -> str:
    """Put a service's field errors next to their fields; returns the steps-level error."""
    steps_error = ""
    errors = exc.errors or [FieldError(exc.field, exc.message)]
    for err in errors:
        message = str(err.message)
        parts = err.field.split(".")
        if parts[0] == "steps" and len(parts) == 3 and parts[1].isdigit():
            index = int(parts[1]) - 1
            if 0 <= index < len(rows):
                step_form = rows[index][1]
                step_form.add_error(parts[2] if parts[2] in step_form.fields else None, message)
                continue
        if parts[0] == "steps":
            steps_error = message
        elif err.field in form.fields:
            form.add_error(err.field, message)
        else:
            form.add_error(None, message)
    return steps_error


def _save_flow(user: User, flow: ApprovalFlow | None, form: FlowForm, specs: list[Any]) -> Any:
    data = form.cleaned_data
    common = {
        "name": data["name"],
        "steps": specs,
        "min_amount": data["min_amount"],
        "max_amount": data["max_amount"],
        "priority": data["priority"],
        "active": data["active"],
    }
    if flow is None:
        return approval_flow_create(actor=user, doc_type=data["doc_type"], **common)
    return approval_flow_update(actor=user, flow=flow, **common)


def _flow_form_page(request: HttpRequest, user: User, flow: ApprovalFlow | None) -> HttpResponse:
    """New / edit flow. ``op`` = add / remove:<key> / up:<key> / down:<key> redraws the
    steps (only them for htmx) without saving; anything else saves."""
    builder = _StepRows(flow)
    flow_initial = FlowForm.initial_for(flow) if flow else None
    steps_error = ""
    if request.method == "POST":
        keys = step_keys(request.POST)
        op = request.POST.get("op", "save")
        if op.partition(":")[0] in STEP_OPS:
            keys = apply_step_op(keys, op)
            rows = [(k, builder.form(k, initial=step_initial(request.POST, k))) for k in keys]
            if getattr(request, "htmx", False):
                return render(
                    request, "core/approvals/_flow_steps.html", _steps_ctx(rows, steps_error)
                )
            posted: dict[str, Any] = {n: request.POST.get(n, "") for n in FlowForm.base_fields}
            posted["active"] = bool(request.POST.get("active"))
            form = FlowForm(initial={**(flow_initial or {}), **posted}, flow=flow)
        else:
            form = FlowForm(request.POST, initial=flow_initial, flow=flow)
            rows = [(k, builder.form(k, data=request.POST)) for k in keys]
            valid = [form.is_valid()] + [f.is_valid() for _k, f in rows]
            if not keys:
                steps_error = _("至少需要一个审批节点")
            if all(valid) and not steps_error:
                specs = [f.spec() for _k, f in rows]
                try:
                    saved = _service(lambda: _save_flow(user, flow, form, specs))
                except ServiceError as exc:
                    steps_error = _apply_flow_errors(exc, form, rows)
                else:
                    if flow is not None and saved.pk != flow.pk:
                        messages.success(
                            request,
                            _("流程已有审批记录，已生成新版本 #%(id)s，原流程已停用")
                            % {"id": saved.pk},
                        )
                    else:
                        messages.success(request, _("已保存审批流程：%(n)s") % {"n": saved.name})
                    return HttpResponseRedirect(_flow_url(saved))
    else:
        form = FlowForm(initial=flow_initial, flow=flow)
        initials = step_initial_from_flow(flow) if flow else [{}]
        rows = [(str(i), builder.form(str(i), initial=ini)) for i, ini in enumerate(initials, 1)]
    ctx = {
        "flow": flow,
        "form": form,
        "in_use": flow is not None and getattr(flow, "n_requests", 0) > 0,
        **_steps_ctx(rows, steps_error),
    }
    return render(request, "core/approvals/flow_form.html", ctx)


def _steps_ctx(rows: list[tuple[str, StepForm]], steps_error: str) -> dict[str, Any]:
    return {
        "step_rows": [
            {"key": k, "form": f, "first": i == 0, "last": i == len(rows) - 1}
            for i, (k, f) in enumerate(rows)
        ],
        "steps_error": steps_error,
        "can_add": len(rows) < MAX_STEPS,
    }


# ---------------------------------------------------------------------------------------
# Notifications
# ---------------------------------------------------------------------------------------


def _open_link(n: Notification) -> str:
    """The title, leading to the message's page. Clicked, htmx POSTs to 打开 (marks it
    read, answers HX-Redirect): following a link (GET) never writes. Without JavaScript
    the plain link still leads there, unread."""
    return format_html(
        '<a href="{}" hx-post="{}" hx-swap="none">{}</a>',
        reverse("core:notification_open", args=[n.pk]),
        reverse("core:notification_open", args=[n.pk]),
        n.shown_title,
    )


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
@require_http_methods(["GET", "POST"])  # POST: batch actions, saved scenes
def notifications(request: HttpRequest) -> HttpResponseBase:
    user = _user(request)
    spec = ListSpec(
        title=gettext_lazy("消息通知"),
        columns=[
            Column("title", gettext_lazy("标题"), lambda n: n.shown_title, html=_open_link),
            Column("body", gettext_lazy("内容"), lambda n: n.shown_body),
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
@require_http_methods(["GET", "POST"])
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a message's link; a POST (the list's htmx click) marks it read on the way.
    A GET only redirects: nothing on a read path writes (issue 11)."""
    user = _user(request)
    if request.method == "POST":
        row = _service(lambda: notification_mark_read(user=user, notification_id=pk))
    else:
        row = _service(lambda: notification_for_user(user, pk))
    url = row.url if row.url.startswith("/") and not row.url.startswith("//") else ""
    return _done(request, url or reverse("core:notifications"))


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
