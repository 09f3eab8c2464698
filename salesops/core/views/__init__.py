"""Pages of core: the home page (dashboard) and the health check here; the approval
centre, audit log and imports in their own modules."""

from __future__ import annotations

import datetime

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from salesops.core.access import request_viewer
from salesops.core.selectors import dashboard_cards


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    cards = dashboard_cards(viewer, today=timezone.localdate())
    return render(request, "core/dashboard.html", {"cards": cards, "viewer": viewer})


def healthz(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok " + datetime.datetime.now(tz=datetime.UTC).isoformat())
