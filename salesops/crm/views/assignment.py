"""线索分配规则: each team's rule (轮流 / 按地区) and its members with their capacity and
regions, one member per line; for managers (their teams), directors and admins."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.access import request_viewer
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.forms import SalesOpsForm, apply_service_error
from salesops.crm.models import AssignmentMode, AssignmentRule, Lead, LeadStatus
from salesops.crm.services import assignment
from salesops.org.models import Department
from salesops.org.selectors import departments_for_viewer
from salesops.sales.forms import BootstrapMixin


class RuleForm(BootstrapMixin, SalesOpsForm):
    department = forms.ModelChoiceField(
        label=gettext_lazy("适用部门"), queryset=Department.objects.none()
    )
    mode = forms.ChoiceField(label=gettext_lazy("分配方式"), choices=AssignmentMode.choices)
    members = forms.CharField(
        label=gettext_lazy("成员"),
        widget=forms.Textarea,
        max_length=20000,
        help_text=gettext_lazy(
            "每行一名成员：工号 容量 负责地区（地区用逗号分隔，按地区分配时必填；"
            "容量默认 30 条进行中的线索）"
        ),
    )
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args: Any, departments: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        self.fields["members"].widget.attrs["rows"] = 6
        self._style()


@login_required
def assignment_rules(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    if not (viewer.is_admin or viewer.has_role(*assignment.RULE_EDITORS)):
        raise PermissionDeniedError(_("只有销售经理、销售总监和管理员可以设置线索分配规则"))
    departments = departments_for_viewer(viewer).order_by("path")
    rules = list(
        AssignmentRule.objects.filter(department__in=departments)
        .select_related("department")
        .prefetch_related("members__employee")
        .order_by("department__path")
    )
    initial: dict[str, Any] = {}
    wanted = request.GET.get("department", "")
    current = next((r for r in rules if str(r.department_id) == wanted), None)
    if current is not None:
        initial = {
            "department": current.department_id,
            "mode": current.mode,
            "active": current.active,
            "members": "\n".join(
                f"{m.employee.employee_no} {m.capacity} {m.regions}".strip()
                for m in current.members.all()
            ),
        }
    form = RuleForm(request.POST or None, departments=departments, initial=initial)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            assignment.assignment_rule_save(
                actor=request.user,  # type: ignore[arg-type]
                department=d["department"],
                mode=d["mode"],
                members=assignment.parse_member_lines(d["members"]),
                active=d["active"],
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("线索分配规则已保存"))
            return redirect("crm:assignment_rules")
    load = dict(
        Lead.objects.filter(
            Q(status__in=(LeadStatus.NEW, LeadStatus.FOLLOWING)),
            owner__in=[m.employee_id for r in rules for m in r.members.all()],
        )
        .values_list("owner_id")
        .annotate(n=Count("id"))
        .values_list("owner_id", "n")
    )
    return render(
        request,
        "crm/assignment_rules.html",
        {
            "rules": [
                (r, [(m, load.get(m.employee_id, 0)) for m in r.members.all()]) for r in rules
            ],
            "form": form,
            "breadcrumbs": [{"label": _("客户关系"), "url": reverse("crm:leads")}],
        },
    )
