"""定时任务: the registered scheduled jobs, when each last ran and how, for admins."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from salesops.core.access import request_viewer
from salesops.core.scheduler import job_rows, scheduled_job_enqueue


def _admin_only(request: HttpRequest) -> None:
    if not request_viewer(request).is_admin:
        raise PermissionDenied(_("只有系统管理员可以管理定时任务"))


@login_required
@require_GET
def jobs(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    return render(request, "core/jobs.html", {"rows": job_rows()})


@login_required
@require_POST
def job_run_now(request: HttpRequest, key: str) -> HttpResponse:
    _admin_only(request)
    try:
        scheduled_job_enqueue(key=key, actor=request.user)  # type: ignore[arg-type]
    except KeyError:
        raise Http404(_("定时任务不存在")) from None
    messages.success(request, _("已加入后台队列，稍后刷新查看结果"))
    return redirect("core:jobs")
