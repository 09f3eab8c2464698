"""Statements (结算单): a member's lines with their formulas, and the member's own list."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from salesops.compensation import selectors
from salesops.core.access import Viewer, viewer_for
from salesops.core.errors import NotFoundError


def _viewer(request: HttpRequest) -> Viewer:
    return viewer_for(request.user)  # type: ignore[arg-type]


@login_required
def statement(request: HttpRequest, pk: int, member_no: str) -> HttpResponse:
    viewer = _viewer(request)
    try:
        run, result, lines = selectors.statement_for_viewer(viewer, pk, member_no)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None
    context: dict[str, Any] = {
        "run": run,
        "result": result,
        "lines": lines,
        "can_manage": selectors.can_manage_runs(viewer),
    }
    return render(request, "compensation/statement.html", context)


@login_required
def my_statements(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    if viewer.member is None:
        raise Http404(_("您不是直销会员"))
    return render(
        request,
        "compensation/my_statements.html",
        {"results": selectors.my_results(viewer)[:36]},
    )
