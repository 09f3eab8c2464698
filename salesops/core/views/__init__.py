"""Login page, the dashboard and the language switch live here; module views live in
their apps."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from salesops.core.access import request_viewer
from salesops.core.selectors import dashboard_figures


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    today = timezone.localdate()
    month_start = today.replace(day=1)
    figures = dashboard_figures(viewer, month_start=month_start, today=today)
    return render(
        request,
        "core/dashboard.html",
        {"figures": figures, "viewer": viewer, "month": month_start.strftime("%Y-%m")},
    )


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok " + datetime.datetime.now(tz=datetime.UTC).isoformat())
