"""Org screens: departments, employees, the org chart, members, the lazily loaded
genealogy tree and sponsor-change requests. Views parse, authorise (through the
selectors' scopes), call a service and respond; nothing else."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_GET

from salesops.core.access import Viewer, mask_bank_account, mask_phone, request_viewer
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, list_page
from salesops.core.models import ApprovalEvent, ApprovalRequest
from salesops.core.selectors import audit_for_object
from salesops.org import selectors as sel
from salesops.org.access import can_see_personal_info
from salesops.org.forms import DepartmentForm, EmployeeForm, MemberBankForm, SponsorChangeForm
from salesops.org.models import (
    DepartmentKind,
    Member,
    MemberStatus,
    Rank,
    RequestStatus,
)
from salesops.org.search import MEMBER_TEXT
from salesops.org.services.departments import department_create, department_update
from salesops.org.services.employees import employee_create, employee_update
from salesops.org.services.members import can_edit_bank, member_bank_update
from salesops.org.services.sponsor_changes import DOC_TYPE, sponsor_change_request_submit


def _require_admin(viewer: Viewer) -> None:
    if not viewer.is_admin:
        raise PermissionDenied(_("只有系统管理员可以维护组织架构"))


# --- departments ------------------------------------------------------------------------


@login_required
def departments(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    spec = ListSpec(
        title=_lazy("部门"),
        columns=[
            Column("name", _lazy("名称"), lambda d: "\u3000" * d.depth + d.name, sort="path"),
            Column("code", _lazy("编码"), lambda d: d.code, sort="code"),
            Column("kind", _lazy("类型"), lambda d: d.get_kind_display()),
            Column("parent", _lazy("上级部门"), lambda d: d.parent.name if d.parent else ""),
            Column("head", _lazy("负责人"), lambda d: d.head.name if d.head else ""),
            Column("n_employees", _lazy("在职人数"), lambda d: d.n_employees),
        ],
        search_fields=["name", "code"],
        search_hint=_lazy("部门名称或编码"),
        filters=[Filter("kind", _lazy("类型"), DepartmentKind.choices, "kind")],
        default_sort="path",
        export_name="departments",
        create_url=reverse("org:department_create") if viewer.is_admin else "",
        row_link=(lambda d: reverse("org:department_edit", args=[d.pk]))
        if viewer.is_admin
        else None,
    )
    return list_page(request, queryset=sel.departments_for_viewer(viewer), spec=spec)


def _department_form_page(request: HttpRequest, form: DepartmentForm, title: str) -> HttpResponse:
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": title,
            "back_url": reverse("org:departments"),
            "back_label": _("部门"),
        },
    )


@login_required
def department_create_view(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    _require_admin(viewer)
    form = DepartmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            department_create(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("部门已创建"))
            return redirect("org:departments")
    return _department_form_page(request, form, _("新建部门"))


@login_required
def department_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    _require_admin(viewer)
    dept = sel.department_for_viewer(viewer, pk)
    initial = {"name": dept.name, "code": dept.code, "kind": dept.kind, "parent": dept.parent}
    form = DepartmentForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            department_update(
                actor=request.user,  # type: ignore[arg-type]
                department=dept,
                name=form.cleaned_data["name"],
                parent=form.cleaned_data["parent"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("部门已保存"))
            return redirect("org:departments")
    return _department_form_page(request, form, _("编辑部门：%(name)s") % {"name": dept.name})


# --- employees --------------------------------------------------------------------------


def _employee_phone(viewer: Viewer, emp: Any) -> str:
    return emp.phone if can_see_personal_info(viewer, emp.pk) else mask_phone(emp.phone)


@login_required
def employees(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    dept_choices = [
        (str(d["pk"]), d["name"])
        for d in sel.departments_for_viewer(viewer).values("pk", "name")[:500]
    ]
    spec = ListSpec(
        title=_lazy("员工"),
        columns=[
            Column("employee_no", _lazy("工号"), lambda e: e.employee_no, sort="employee_no"),
            Column("name", _lazy("姓名"), lambda e: e.name, sort="name"),
            Column("phone", _lazy("手机号"), lambda e: _employee_phone(viewer, e)),
            Column(
                "department", _lazy("部门"), lambda e: e.department.name, sort="department__path"
            ),
            Column("position", _lazy("岗位"), lambda e: e.position.name if e.position else ""),
            Column("manager", _lazy("直属上级"), lambda e: e.manager.name if e.manager else ""),
            Column("hired_on", _lazy("入职日期"), lambda e: e.hired_on, sort="hired_on"),
            Column("active", _lazy("在职"), lambda e: _("是") if e.active else _("否")),
        ],
        search_fields=["name", "employee_no"],
        search_hint=_lazy("姓名或工号"),
        filters=[
            Filter("department", _lazy("部门"), dept_choices, "department_id"),
            Filter("active", _lazy("在职"), [("1", _lazy("在职")), ("0", _lazy("离职"))], "active"),
        ],
        date_filters=[DateRangeFilter("hired_on", _lazy("入职日期"), "hired_on")],
        default_sort="employee_no",
        export_name="employees",
        create_url=reverse("org:employee_create") if viewer.is_admin else "",
        row_link=lambda e: reverse("org:employee_detail", args=[e.pk]),
    )
    return list_page(request, queryset=sel.employees_for_viewer(viewer), spec=spec)


@login_required
def employee_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    emp = sel.employee_for_viewer(viewer, pk)
    return render(
        request,
        "org/employee_detail.html",
        {
            "emp": emp,
            "phone": _employee_phone(viewer, emp),
            "reports": list(sel.employees_for_viewer(viewer).filter(manager=emp)[:100]),
            "member_count": sel.members_for_viewer(viewer).filter(owner=emp).count(),
            "log": audit_for_object(emp, show_personal=can_see_personal_info(viewer, emp.pk)),
            "can_edit": viewer.is_admin,
        },
    )


@login_required
def employee_create_view(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    _require_admin(viewer)
    form = EmployeeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        data.pop("active", None)
        try:
            emp = employee_create(actor=request.user, **data)  # type: ignore[arg-type]
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("员工已创建"))
            return redirect("org:employee_detail", pk=emp.pk)
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": _("新建员工"),
            "back_url": reverse("org:employees"),
            "back_label": _("员工"),
        },
    )


@login_required
def employee_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    _require_admin(viewer)
    emp = sel.employee_for_viewer(viewer, pk)
    initial = {
        f: getattr(emp, f)
        for f in ("employee_no", "name", "phone", "email", "department", "position")
    }
    initial.update(manager=emp.manager, hired_on=emp.hired_on, active=emp.active)
    form = EmployeeForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            employee_update(
                actor=request.user,  # type: ignore[arg-type]
                employee=emp,
                name=d["name"],
                phone=d["phone"],
                department=d["department"],
                position=d["position"],
                manager=d["manager"],
                active=d["active"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("员工已保存"))
            return redirect("org:employee_detail", pk=emp.pk)
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": _("编辑员工：%(name)s") % {"name": emp.name},
            "back_url": reverse("org:employee_detail", args=[emp.pk]),
            "back_label": emp.name,
        },
    )


# --- org chart --------------------------------------------------------------------------


@login_required
def chart(request: HttpRequest) -> HttpResponse:
    return render(request, "org/chart.html", {"data_url": reverse("org:chart_data")})


@login_required
@require_GET
def chart_data(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"roots": sel.org_chart(request_viewer(request))})


# --- members ----------------------------------------------------------------------------


def _member_phone(viewer: Viewer, m: Member) -> str:
    return m.phone if can_see_personal_info(viewer, m.owner_id) else mask_phone(m.phone)


@login_required
def members(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    spec = ListSpec(
        title=_lazy("会员"),
        columns=[
            Column("member_no", _lazy("会员编号"), lambda m: m.member_no, sort="member_no"),
            Column("name", _lazy("姓名"), lambda m: m.name, sort="name"),
            Column("phone", _lazy("手机号"), lambda m: _member_phone(viewer, m)),
            Column("sponsor", _lazy("推荐人"), lambda m: str(m.sponsor) if m.sponsor else ""),
            Column("depth", _lazy("层级"), lambda m: m.depth, sort="depth"),
            Column(
                "downline", _lazy("下线人数"), lambda m: m.downline_count, sort="downline_count"
            ),
            Column("title", _lazy("职级"), lambda m: m.get_title_display()),
            Column("status", _lazy("状态"), lambda m: m.get_status_display()),
            Column("joined_on", _lazy("加入日期"), lambda m: m.joined_on, sort="joined_on"),
        ],
        search_fields=["member_no", "name"],
        search_indexes=[("", MEMBER_TEXT)],
        search_hint=_lazy("会员编号或姓名"),
        filters=[
            Filter("status", _lazy("状态"), MemberStatus.choices, "status"),
            Filter("title", _lazy("职级"), Rank.choices, "title"),
        ],
        date_filters=[DateRangeFilter("joined_on", _lazy("加入日期"), "joined_on")],
        default_sort="member_no",
        export_name="members",
        row_link=lambda m: reverse("org:member_detail", args=[m.pk]),
    )
    return list_page(request, queryset=sel.members_for_viewer(viewer), spec=spec)


@login_required
def member_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    member = sel.member_for_viewer(viewer, pk)
    return render(
        request,
        "org/member_detail.html",
        {
            "member": member,
            "phone": _member_phone(viewer, member),
            "bank_account": _member_bank_account(viewer, member),
            "can_edit_bank": can_edit_bank(viewer),
            "upline": sel.member_upline(viewer, member),
            "children": list(sel.member_children(viewer, member)[: sel.CHILDREN_PAGE]),
            "downline_total": sel.member_downline_count(viewer, member),
            "sponsor_history": sel.member_sponsor_history(member),
            "rank_history": sel.member_rank_history(member),
            "log": audit_for_object(
                member, show_personal=can_see_personal_info(viewer, member.owner_id)
            ),
        },
    )


def _member_bank_account(viewer: Viewer, m: Member) -> str:
    """Masked like the phone, for viewers who may not see personal information."""
    if can_see_personal_info(viewer, m.owner_id):
        return m.bank_account
    return mask_bank_account(m.bank_account)


@login_required
def member_bank_edit(request: HttpRequest, pk: int) -> HttpResponse:
    """收款信息: finance and admins maintain where a member's bonuses are paid."""
    viewer = request_viewer(request)
    member = sel.member_for_viewer(viewer, pk)
    if not can_edit_bank(viewer):  # (the service refuses too; no form for them)
        raise PermissionDenied(_("只有财务或管理员可以修改收款信息"))
    form = MemberBankForm(request.POST or None, initial={"bank_name": member.bank_name})
    if member.bank_account:
        form.fields["bank_account"].help_text = _("当前账号 %(account)s；留空表示不修改") % {
            "account": _member_bank_account(viewer, member)
        }
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        account = "" if d["clear_account"] else (d["bank_account"] or member.bank_account)
        try:
            member_bank_update(
                actor=request.user,  # type: ignore[arg-type]
                member=member,
                bank_name=d["bank_name"],
                bank_account=account,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("收款信息已保存"))
            return redirect("org:member_detail", pk=member.pk)
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": _("收款信息：%(name)s") % {"name": member.name},
            "back_url": reverse("org:member_detail", args=[member.pk]),
            "back_label": member.name,
        },
    )


@login_required
def genealogy(request: HttpRequest) -> HttpResponse:
    """The genealogy tree: a root (the viewer's own membership, a chosen member, or the
    top of the network in scope) whose nodes load their recruits on click."""
    viewer = request_viewer(request)
    wanted = request.GET.get("root", "").strip()
    root: Member | None = None
    error = ""
    if wanted:
        try:
            root = sel.member_by_no_for_viewer(viewer, wanted)
        except Http404:
            error = _("会员 %(no)s 不存在或无权查看") % {"no": wanted}
    if root is None and viewer.member is not None:
        root = sel.member_for_viewer(viewer, viewer.member.pk)
    top = sel.members_for_viewer(viewer).annotate(n_children=Count("sponsored"))
    if root is not None:
        nodes = list(top.filter(pk=root.pk))
    else:
        # The shallowest members in scope: the network's roots for company-wide viewers,
        # the top of their own members' lines for everyone else (index order: depth, path).
        nodes = list(top.order_by("depth", "path")[: sel.CHILDREN_PAGE])
    return render(
        request,
        "org/genealogy.html",
        {"root": root, "nodes": nodes, "error": error, "wanted": wanted},
    )


@login_required
@require_GET
def genealogy_children(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: one node's direct recruits (a page of them), with their counts."""
    viewer = request_viewer(request)
    member = sel.member_for_viewer(viewer, pk)
    try:
        offset = max(int(request.GET.get("offset", 0)), 0)
    except ValueError:
        offset = 0
    page = list(sel.member_children(viewer, member)[offset : offset + sel.CHILDREN_PAGE + 1])
    more = len(page) > sel.CHILDREN_PAGE
    return render(
        request,
        "org/_genealogy_nodes.html",
        {
            "nodes": page[: sel.CHILDREN_PAGE],
            "parent": member,
            "more": more,
            "next_offset": offset + sel.CHILDREN_PAGE,
        },
    )


# --- sponsor-change requests ------------------------------------------------------------


@login_required
def sponsor_changes(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    spec = ListSpec(
        title=_lazy("推荐人变更申请"),
        columns=[
            Column("id", _lazy("编号"), lambda r: r.pk, sort="id"),
            Column("member", _lazy("会员"), lambda r: str(r.member)),
            Column("new_sponsor", _lazy("新推荐人"), lambda r: str(r.new_sponsor)),
            Column(
                "effective_on", _lazy("生效日期"), lambda r: r.effective_on, sort="effective_on"
            ),
            Column("status", _lazy("状态"), lambda r: r.get_status_display()),
            Column("requested_by", _lazy("申请人"), lambda r: str(r.requested_by)),
            Column(
                "created_at",
                _lazy("申请时间"),
                lambda r: format_datetime(r.created_at),
                sort="created_at",
            ),
        ],
        search_fields=["member__member_no", "member__name", "new_sponsor__member_no"],
        search_hint=_lazy("会员编号或姓名"),
        filters=[Filter("status", _lazy("状态"), RequestStatus.choices, "status")],
        date_filters=[
            DateRangeFilter("created", _lazy("申请时间"), "created_at", is_datetime=True)
        ],
        default_sort="-created_at",
        export_name="sponsor_changes",
        create_url=reverse("org:sponsor_change_create"),
        row_link=lambda r: reverse("org:sponsor_change_detail", args=[r.pk]),
    )
    return list_page(request, queryset=sel.sponsor_change_requests_for_viewer(viewer), spec=spec)


@login_required
def sponsor_change_create(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    initial: dict[str, Any] = {}
    if request.GET.get("member"):
        initial["member_no"] = sel.member_for_viewer(viewer, request.GET["member"]).member_no
    form = SponsorChangeForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        member = new_sponsor = None
        try:
            member = sel.member_by_no_for_viewer(viewer, d["member_no"])
        except Http404:
            form.add_error("member_no", _("会员不存在或无权操作"))
        new_sponsor = Member.objects.filter(member_no=d["new_sponsor_no"].strip()).first()
        if new_sponsor is None:
            form.add_error("new_sponsor_no", _("新推荐人不存在"))
        if member is not None and new_sponsor is not None:
            try:
                req = sponsor_change_request_submit(
                    actor=request.user,  # type: ignore[arg-type]
                    member=member,
                    new_sponsor=new_sponsor,
                    effective_on=d["effective_on"],
                    reason=d["reason"],
                )
            except ServiceError as exc:
                renamed = exc.renamed({"new_sponsor": "new_sponsor_no", "member": "member_no"})
                apply_service_error(form, renamed)
            else:
                messages.success(request, _("申请已提交，等待审批"))
                return redirect("org:sponsor_change_detail", pk=req.pk)
    return render(
        request,
        "org/form.html",
        {
            "form": form,
            "title": _("申请变更推荐人"),
            "back_url": reverse("org:sponsor_changes"),
            "back_label": _("推荐人变更"),
        },
    )


@login_required
def sponsor_change_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    req = sel.sponsor_change_request_for_viewer(viewer, pk)
    approval = (
        ApprovalRequest.objects.filter(doc_type=DOC_TYPE, object_id=str(req.pk))
        .order_by("-id")
        .first()
    )
    events = (
        list(ApprovalEvent.objects.filter(request=approval).select_related("actor").order_by("at"))
        if approval
        else []
    )
    return render(
        request,
        "org/sponsor_change_detail.html",
        {"req": req, "approval": approval, "events": events, "log": audit_for_object(req)},
    )
