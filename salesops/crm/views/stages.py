"""The sales processes page (销售流程): the stage groups, their stages with win rates and
the departments that use them. Admins and sales directors only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.core.access import Viewer, request_viewer
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.models import RoleCode
from salesops.crm.forms import StageGroupForm
from salesops.crm.models import StageGroup
from salesops.crm.services.stages import parse_stage_lines, stage_group_save


def _admin(request: HttpRequest) -> Viewer:
    viewer = request_viewer(request)
    if not viewer.has_role(RoleCode.DIRECTOR):
        raise PermissionDenied(_("只有管理员和销售总监可以配置销售流程"))
    return viewer


@login_required
def stage_groups(request: HttpRequest) -> HttpResponse:
    _admin(request)
    groups = list(StageGroup.objects.prefetch_related("stages", "departments"))
    return render(
        request,
        "crm/stage_groups.html",
        {
            "groups": groups,
            "breadcrumbs": [{"label": _("客户关系"), "url": reverse("crm:opportunities")}],
        },
    )


@login_required
def stage_group_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin(request)
    group = get_object_or_404(StageGroup, pk=pk) if pk is not None else None
    initial = {}
    if group is not None:
        initial = {
            "name": group.name,
            "departments": list(group.departments.all()),
            "stages": "\n".join(
                f"{s.name} {s.probability}%" for s in group.stages.order_by("order")
            ),
        }
    form = StageGroupForm(
        request.POST or None,
        initial=initial,
        is_default=group is not None and group.is_default,
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            saved = stage_group_save(
                actor=request.user,  # type: ignore[arg-type]
                group=group,
                name=d["name"],
                departments=list(d.get("departments") or []),
                lines=parse_stage_lines(d["stages"]),
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("销售流程 %(g)s 已保存") % {"g": saved.name})
            return redirect("crm:stage_groups")
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("编辑销售流程") if group else _("新建销售流程"),
            "back_url": reverse("crm:stage_groups"),
            "section": _("销售流程"),
        },
    )
