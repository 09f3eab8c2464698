"""Pages of after-sales (售后): return visits (回访: the 待回访 list the rule job fills, the
visit page that logs one), complaints (投诉: list, the detail with its deadline, history,
resolution and the customer's confirmation), customer feedback (客户反馈), and their
customer-page tabs. Forms keep what was typed when the service refuses it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, Scene, list_page
from salesops.core.selectors import audit_for_object
from salesops.crm.forms import (
    ComplaintForm,
    ConfirmForm,
    FeedbackForm,
    FeedbackHandleForm,
    ResolveForm,
    VisitLogForm,
)
from salesops.crm.models import (
    Complaint,
    ComplaintCategory,
    ComplaintSeverity,
    ComplaintStatus,
    Contact,
    Feedback,
    FeedbackKind,
    ReturnVisit,
    VisitForm,
    VisitStatus,
)
from salesops.crm.selectors.aftersales import (
    CUSTOMER_TAB,
    complaint_events,
    complaint_for_viewer,
    complaint_overdue_q,
    complaint_search_q,
    complaints_for,
    feedback_for,
    feedback_for_viewer,
    feedback_search_q,
    visit_due_q,
    visit_for_viewer,
    visit_search_q,
    visits_for,
)
from salesops.crm.services.complaints import (
    ComplaintInput,
    complaint_confirm,
    complaint_create,
    complaint_resolve,
    feedback_create,
    feedback_handle,
)
from salesops.crm.services.visits import VisitInput, visit_log
from salesops.org.selectors import employees_for_viewer
from salesops.sales.models import Customer
from salesops.sales.selectors import customer_for_viewer


def _crumbs() -> list[dict[str, str]]:
    return [{"label": _("客户关系"), "url": reverse("crm:visits")}]


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _customer_link(x: Any) -> str:
    return reverse("sales:customer_detail", args=[x.customer_id])


def _mine(viewer: Viewer, scenes: list[Scene]) -> list[Scene]:
    if viewer.employee is not None:
        scenes.insert(0, Scene("mine", gettext_lazy("我负责的"), Q(owner=viewer.employee)))
    return scenes


# ------------------------------------------------------------------ return visits


def visit_source(v: ReturnVisit) -> str:
    if v.contract_id is not None and v.contract is not None:
        return _("合同 %(no)s") % {"no": v.contract}
    if v.order_id is not None and v.order is not None:
        return _("订单 %(no)s") % {"no": v.order.order_no}
    return _("客户回访")


def _satisfaction(v: ReturnVisit) -> str:
    return v.get_satisfaction_display() if v.satisfaction else "-"


def _visit_action(v: ReturnVisit) -> str:
    url = reverse("crm:visit_detail", args=[v.pk])
    if v.status == VisitStatus.PENDING:
        return format_html(
            '<a class="btn btn-sm btn-outline-primary py-0" href="{}">{}</a>', url, _("登记回访")
        )
    return format_html('<a href="{}">{}</a>', url, _("查看"))


def _visit_status(v: ReturnVisit) -> str:
    today = timezone.localdate()
    if v.status == VisitStatus.PENDING and v.due_on is not None and v.due_on <= today:
        return format_html('<span class="badge text-bg-warning">{}</span>', _("待回访"))
    if v.status == VisitStatus.PENDING:
        return format_html('<span class="badge text-bg-light">{}</span>', _("未到期"))
    return format_html('<span class="badge text-bg-success">{}</span>', _("已回访"))


def _visit_spec(viewer: Viewer) -> ListSpec:
    today = timezone.localdate()
    scenes = _mine(
        viewer,
        [
            Scene("due", gettext_lazy("待回访"), visit_due_q(today)),
            Scene("done", gettext_lazy("已回访"), Q(status=VisitStatus.DONE)),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
    )
    return ListSpec(
        title=gettext_lazy("回访"),
        columns=[
            Column(
                "customer", gettext_lazy("客户"), lambda x: x.customer.name, link=_customer_link
            ),
            Column("source", gettext_lazy("回访依据"), visit_source),
            Column(
                "due_on",
                gettext_lazy("计划回访日期"),
                lambda x: x.due_on.isoformat() if x.due_on else "-",
                sort="due_on",
            ),
            Column(
                "status", gettext_lazy("状态"), lambda x: x.get_status_display(), html=_visit_status
            ),
            Column("form", gettext_lazy("回访形式"), lambda x: x.get_form_display()),
            Column("satisfaction", gettext_lazy("客户满意度"), _satisfaction),
            Column(
                "outcome",
                gettext_lazy("回访结果"),
                lambda x: _short(x.outcome) if x.outcome else "-",
            ),
            Column(
                "visited_at",
                gettext_lazy("回访时间"),
                lambda x: format_datetime(x.visited_at) if x.visited_at else "-",
                sort="visited_at",
            ),
            Column("owner", gettext_lazy("回访人"), lambda x: x.owner.name),
            Column("action", gettext_lazy("操作"), lambda x: "", html=_visit_action, export=False),
        ],
        search_hint=gettext_lazy("客户 / 回访结果"),
        extra_search=visit_search_q,
        filters=[
            Filter("status", gettext_lazy("状态"), list(VisitStatus.choices), "status"),
            Filter("form", gettext_lazy("回访形式"), list(VisitForm.choices), "form"),
        ],
        date_filters=[DateRangeFilter("due_on", gettext_lazy("计划回访日期"), "due_on")],
        scenes=scenes,
        default_sort="due_on",
        export_name="visits",
    )


@login_required
def visits(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=visits_for(viewer),
        spec=_visit_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


def _visit_input(form: VisitLogForm) -> VisitInput:
    d = form.cleaned_data
    return VisitInput(
        form=d["form"], outcome=d["outcome"], satisfaction=d["satisfaction"], contact=d["contact"]
    )


@login_required
def visit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A visit: its source and result; a planned one has the form that logs it."""
    viewer = request_viewer(request)
    staff_only(viewer)
    visit = visit_for_viewer(viewer, pk)
    form = None
    if visit.status == VisitStatus.PENDING:
        form = VisitLogForm(
            request.POST or None,
            contacts=Contact.objects.filter(customer_id=visit.customer_id),
            initial={"form": visit.form},
        )
        if request.method == "POST" and form.is_valid():
            try:
                visit_log(actor=request.user, visit=visit, data=_visit_input(form))  # type: ignore[arg-type]
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(request, _("回访已登记"))
                return redirect("crm:visit_detail", pk=pk)
    return render(
        request,
        "crm/visit_detail.html",
        {
            "visit": visit,
            "source": visit_source(visit),
            "form": form,
            "today": timezone.localdate(),
            "audit_rows": audit_for_object(visit, show_personal=True),
            "breadcrumbs": _crumbs(),
        },
        status=400 if form is not None and form.errors else 200,
    )


@login_required
def visit_new(request: HttpRequest, pk: int) -> HttpResponse:
    """A visit logged on a customer without a plan."""
    viewer = request_viewer(request)
    staff_only(viewer)
    customer: Customer = customer_for_viewer(viewer, pk)
    form = VisitLogForm(request.POST or None, contacts=Contact.objects.filter(customer=customer))
    back = reverse("sales:customer_detail", args=[customer.pk])
    if request.method == "POST" and form.is_valid():
        try:
            visit_log(actor=request.user, customer=customer, data=_visit_input(form))  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("回访已登记"))
            return redirect(back)
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("登记回访：%(name)s") % {"name": customer.name},
            "back_url": back,
            "section": _("客户关系"),
        },
    )


# ------------------------------------------------------------------ complaints


def _deadline(c: Complaint) -> str:
    text = format_datetime(c.deadline)
    if c.status == ComplaintStatus.OPEN and c.deadline < timezone.now():
        return format_html('<span class="text-danger fw-semibold">{} {}</span>', text, _("已超时"))
    return text


_SEVERITY_BADGE = {
    "urgent": "text-bg-danger",
    "serious": "text-bg-warning",
    "normal": "text-bg-light",
}


def _severity(c: Complaint) -> str:
    return format_html(
        '<span class="badge {}">{}</span>',
        _SEVERITY_BADGE.get(c.severity, ""),
        c.get_severity_display(),
    )


def _complaint_spec(viewer: Viewer) -> ListSpec:
    now = timezone.now()
    scenes = _mine(
        viewer,
        [
            Scene("open", gettext_lazy("处理中"), Q(status=ComplaintStatus.OPEN)),
            Scene("overdue", gettext_lazy("已超时"), complaint_overdue_q(now)),
            Scene("resolved", gettext_lazy("待客户确认"), Q(status=ComplaintStatus.RESOLVED)),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
    )
    return ListSpec(
        title=gettext_lazy("投诉"),
        columns=[
            Column(
                "code",
                gettext_lazy("投诉编号"),
                lambda x: x.code,
                sort="code",
                link=lambda x: reverse("crm:complaint_detail", args=[x.pk]),
            ),
            Column(
                "title",
                gettext_lazy("投诉主题"),
                lambda x: _short(x.title),
                link=lambda x: reverse("crm:complaint_detail", args=[x.pk]),
            ),
            Column(
                "customer", gettext_lazy("客户"), lambda x: x.customer.name, link=_customer_link
            ),
            Column("category", gettext_lazy("投诉类别"), lambda x: x.get_category_display()),
            Column(
                "severity",
                gettext_lazy("严重程度"),
                lambda x: x.get_severity_display(),
                html=_severity,
            ),
            Column("status", gettext_lazy("状态"), lambda x: x.get_status_display()),
            Column(
                "deadline",
                gettext_lazy("处理时限"),
                lambda x: format_datetime(x.deadline),
                sort="deadline",
                html=_deadline,
            ),
            Column(
                "escalation",
                gettext_lazy("已升级"),
                lambda x: _("%(n)d 级") % {"n": x.escalation_level} if x.escalation_level else "-",
            ),
            Column("owner", gettext_lazy("处理人"), lambda x: x.owner.name),
            Column(
                "received_at",
                gettext_lazy("受理时间"),
                lambda x: format_datetime(x.received_at),
                sort="received_at",
            ),
        ],
        search_hint=gettext_lazy("编号 / 主题 / 客户"),
        extra_search=complaint_search_q,
        filters=[
            Filter("status", gettext_lazy("状态"), list(ComplaintStatus.choices), "status"),
            Filter(
                "severity", gettext_lazy("严重程度"), list(ComplaintSeverity.choices), "severity"
            ),
            Filter(
                "category", gettext_lazy("投诉类别"), list(ComplaintCategory.choices), "category"
            ),
        ],
        date_filters=[
            DateRangeFilter(
                "received_at", gettext_lazy("受理时间"), "received_at", is_datetime=True
            )
        ],
        scenes=scenes,
        default_sort="-id",
        export_name="complaints",
    )


@login_required
def complaints(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=complaints_for(viewer),
        spec=_complaint_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


@login_required
def complaint_new(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer: Customer = customer_for_viewer(viewer, pk)
    owners = employees_for_viewer(viewer).filter(active=True).order_by("employee_no")
    form = ComplaintForm(
        request.POST or None,
        contacts=Contact.objects.filter(customer=customer),
        owners=owners,
        initial={"severity": ComplaintSeverity.NORMAL},
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            c = complaint_create(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                owner=d["owner"],
                data=ComplaintInput(
                    title=d["title"],
                    content=d["content"],
                    category=d["category"],
                    severity=d["severity"],
                    contact=d["contact"],
                ),
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("投诉已登记，编号 %(no)s") % {"no": c.code})
            return redirect("crm:complaint_detail", pk=c.pk)
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("登记投诉：%(name)s") % {"name": customer.name},
            "back_url": reverse("sales:customer_detail", args=[customer.pk]),
            "section": _("客户关系"),
        },
    )


def _complaint_page(
    request: HttpRequest,
    c: Complaint,
    *,
    resolve_form: ResolveForm | None = None,
    confirm_form: ConfirmForm | None = None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "crm/complaint_detail.html",
        {
            "c": c,
            "overdue": c.status == ComplaintStatus.OPEN and c.deadline < timezone.now(),
            "events": complaint_events(c),
            "resolve_form": resolve_form or ResolveForm(),
            "confirm_form": confirm_form or ConfirmForm(),
            "audit_rows": audit_for_object(c, show_personal=True),
            "breadcrumbs": [{"label": _("客户关系"), "url": reverse("crm:complaints")}],
        },
        status=status,
    )


@login_required
def complaint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    return _complaint_page(request, complaint_for_viewer(viewer, pk))


@login_required
@require_POST
def complaint_resolve_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    c = complaint_for_viewer(viewer, pk)
    form = ResolveForm(request.POST)
    if form.is_valid():
        try:
            complaint_resolve(
                actor=request.user,  # type: ignore[arg-type]
                complaint=c,
                resolution=form.cleaned_data["resolution"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("已记录处理结果，等待客户确认"))
            return redirect("crm:complaint_detail", pk=pk)
    return _complaint_page(request, c, resolve_form=form, status=400)


@login_required
@require_POST
def complaint_confirm_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    c = complaint_for_viewer(viewer, pk)
    form = ConfirmForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            complaint_confirm(
                actor=request.user,  # type: ignore[arg-type]
                complaint=c,
                satisfied=d["satisfied"],
                note=d["note"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            done = _("客户满意，投诉已关闭") if d["satisfied"] else _("客户不满意，投诉已重新打开")
            messages.success(request, done)
            return redirect("crm:complaint_detail", pk=pk)
    return _complaint_page(request, complaint_for_viewer(viewer, pk), confirm_form=form, status=400)


# ------------------------------------------------------------------ feedback


def _feedback_handled(f: Feedback) -> str:
    if f.handled:
        return format_html('<span class="badge text-bg-success">{}</span>', _("已处理"))
    return format_html('<span class="badge text-bg-warning">{}</span>', _("未处理"))


def _feedback_spec(viewer: Viewer) -> ListSpec:
    scenes = _mine(
        viewer,
        [
            Scene("open", gettext_lazy("未处理"), Q(handled=False)),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
    )
    return ListSpec(
        title=gettext_lazy("客户反馈"),
        columns=[
            Column(
                "created_at",
                gettext_lazy("反馈时间"),
                lambda x: format_datetime(x.created_at),
                sort="created_at",
            ),
            Column(
                "customer", gettext_lazy("客户"), lambda x: x.customer.name, link=_customer_link
            ),
            Column("kind", gettext_lazy("反馈类型"), lambda x: x.get_kind_display()),
            Column(
                "content",
                gettext_lazy("反馈内容"),
                lambda x: _short(x.content, 60),
                link=lambda x: reverse("crm:feedback_detail", args=[x.pk]),
            ),
            Column(
                "handled",
                gettext_lazy("处理状态"),
                lambda x: _("已处理") if x.handled else _("未处理"),
                html=_feedback_handled,
            ),
            Column("reply", gettext_lazy("处理说明"), lambda x: x.reply or "-"),
            Column("owner", gettext_lazy("记录人"), lambda x: x.owner.name),
        ],
        search_hint=gettext_lazy("客户 / 反馈内容"),
        extra_search=feedback_search_q,
        filters=[Filter("kind", gettext_lazy("反馈类型"), list(FeedbackKind.choices), "kind")],
        scenes=scenes,
        default_sort="-created_at",
        export_name="feedback",
    )


@login_required
def feedback_list(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=feedback_for(viewer),
        spec=_feedback_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


@login_required
def feedback_new(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer: Customer = customer_for_viewer(viewer, pk)
    form = FeedbackForm(request.POST or None, contacts=Contact.objects.filter(customer=customer))
    back = reverse("sales:customer_detail", args=[customer.pk])
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            feedback_create(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                kind=d["kind"],
                content=d["content"],
                contact=d["contact"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("客户反馈已记录"))
            return redirect(back)
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("记录客户反馈：%(name)s") % {"name": customer.name},
            "back_url": back,
            "section": _("客户关系"),
        },
    )


@login_required
def feedback_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A feedback and, while unhandled, the form that marks it handled."""
    viewer = request_viewer(request)
    staff_only(viewer)
    fb = feedback_for_viewer(viewer, pk)
    form = None if fb.handled else FeedbackHandleForm(request.POST or None)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            feedback_handle(actor=request.user, feedback=fb, reply=form.cleaned_data["reply"])  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("反馈已处理"))
            return redirect("crm:feedback_detail", pk=pk)
    return render(
        request,
        "crm/feedback_detail.html",
        {
            "fb": fb,
            "form": form,
            "audit_rows": audit_for_object(fb, show_personal=True),
            "breadcrumbs": [{"label": _("客户关系"), "url": reverse("crm:feedback")}],
        },
        status=400 if form is not None and form.errors else 200,
    )


# ------------------------------------------------------------------ customer page tabs


def _can_write(viewer: Viewer, customer: Customer) -> bool:
    return customer.owner_id is not None and viewer.employee is not None


def visits_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    rows = list(visits_for(viewer).filter(customer_id=customer.pk).order_by("-id")[:CUSTOMER_TAB])
    return render_to_string(
        "crm/_customer_visits.html",
        {
            "customer": customer,
            "rows": [(v, visit_source(v)) for v in rows],
            "can_write": _can_write(viewer, customer),
            "today": timezone.localdate(),
        },
        request=request,
    )


def complaints_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    rows = list(
        complaints_for(viewer).filter(customer_id=customer.pk).order_by("-id")[:CUSTOMER_TAB]
    )
    now = timezone.now()
    return render_to_string(
        "crm/_customer_complaints.html",
        {
            "customer": customer,
            "rows": [(c, c.status == ComplaintStatus.OPEN and c.deadline < now) for c in rows],
            "can_write": _can_write(viewer, customer),
        },
        request=request,
    )


def feedback_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    rows = list(feedback_for(viewer).filter(customer_id=customer.pk).order_by("-id")[:CUSTOMER_TAB])
    return render_to_string(
        "crm/_customer_feedback.html",
        {"customer": customer, "rows": rows, "can_write": _can_write(viewer, customer)},
        request=request,
    )
