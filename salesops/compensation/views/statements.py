"""Statements (结算单) and disputes (奖金疑问): the page, the PDF, the member's own list,
the dispute list and thread. Views parse, authorise through the selectors, call a
service and respond."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.compensation import selectors
from salesops.compensation.models import Dispute, DisputeStatus
from salesops.compensation.rights import is_finance
from salesops.compensation.services.disputes import (
    dispute_close,
    dispute_open,
    dispute_reply,
    dispute_rights,
    is_line_owner,
)
from salesops.compensation.services.statements import (
    Statement,
    StatementLine,
    statement_build,
    statement_pdf,
)
from salesops.core.access import Viewer, request_viewer
from salesops.core.errors import NotFoundError, ServiceError
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, list_page


def _statement(request: HttpRequest, pk: int, member_no: str) -> Statement:
    viewer = request_viewer(request)
    try:
        access = selectors.statement_for_viewer(viewer, pk, member_no)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None
    return statement_build(run=access.run, result=access.result, view=access.view)


def _can_ask(request: HttpRequest, st: Statement) -> bool:
    """Only the member themselves asks, on the current run (finance answers elsewhere)."""
    viewer = request_viewer(request)
    return (
        st.show_disputes and is_line_owner(viewer, st.result.member_id) and not is_finance(viewer)
    )


@login_required
def statement(request: HttpRequest, pk: int, member_no: str) -> HttpResponse:
    st = _statement(request, pk, member_no)
    viewer = request_viewer(request)
    context: dict[str, Any] = {
        "st": st,
        "run": st.run,
        "result": st.result,
        "can_manage": is_finance(viewer),
        "can_ask": _can_ask(request, st),
    }
    return render(request, "compensation/statement.html", context)


@login_required
def statement_pdf_view(request: HttpRequest, pk: int, member_no: str) -> HttpResponse:
    st = _statement(request, pk, member_no)
    try:
        data = statement_pdf(st)
    except ServiceError as exc:
        if exc.code != "pdf_font_missing":
            raise
        back = reverse("compensation:statement", args=[pk, member_no])
        return render(
            request,
            "compensation/statement_pdf_error.html",
            {"message": exc.message, "back_url": back, "st": st},
            status=exc.status,
        )
    resp = HttpResponse(data, content_type="application/pdf")
    name = f"statement-{st.run.period:%Y-%m}-{st.result.member.member_no}.pdf"
    resp["Content-Disposition"] = f'inline; filename="{name}"'
    return resp


@login_required
def my_statements(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    if viewer.member is None:
        # Admin sees this menu entry too: an explanation and the way to everyone's
        # statements, not a 404.
        return render(
            request,
            "compensation/my_statements.html",
            {"not_member": True, "can_manage": is_finance(viewer)},
        )
    return render(
        request,
        "compensation/my_statements.html",
        {"results": selectors.my_results(viewer)[:36]},
    )


# --------------------------------------------------------------------------- disputes


def _thread(
    request: HttpRequest, sl: StatementLine, *, can_ask: bool, error: str = ""
) -> HttpResponse:
    return render(
        request,
        "compensation/_statement_thread.html",
        {"sl": sl, "can_ask": can_ask, "error": error},
    )


@login_required
@require_POST
def dispute_open_view(request: HttpRequest, line_id: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    try:
        line = selectors.line_for_dispute(viewer, line_id)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None
    error = ""
    dispute: Dispute | None
    try:
        dispute = dispute_open(
            actor=request.user,  # type: ignore[arg-type]
            line=line,
            body=request.POST.get("body", ""),
        )
    except ServiceError as exc:
        error = str(exc.message)
        dispute = Dispute.objects.filter(line=line).first()
    if request.htmx:  # type: ignore[attr-defined]
        if dispute is not None:
            dispute = Dispute.objects.prefetch_related("messages__author").get(pk=dispute.pk)
        return _thread(
            request, StatementLine(line=line, dispute=dispute), can_ask=True, error=error
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("疑问已提交，财务会尽快答复"))
    return redirect(
        reverse("compensation:statement", args=[line.run_id, line.member.member_no])
        + f"#line-{line.pk}"
    )


def _dispute_spec(viewer: Viewer) -> ListSpec:
    def period(d: Dispute) -> str:
        return f"{d.line.run.period:%Y-%m}"

    def when(d: Dispute) -> str:
        return timezone.localtime(d.updated_at).strftime("%Y-%m-%d %H:%M")

    return ListSpec(
        title=gettext_lazy("奖金疑问"),
        columns=[
            Column(
                "id",
                gettext_lazy("编号"),
                lambda d: f"#{d.pk}",
                sort="id",
                link=lambda d: reverse("compensation:dispute_detail", args=[d.pk]),
            ),
            Column(
                "member",
                gettext_lazy("会员编号"),
                lambda d: d.member.member_no,
                sort="member__member_no",
            ),
            Column("name", gettext_lazy("姓名"), lambda d: d.member.name),
            Column("period", gettext_lazy("结算月份"), period, sort="line__run__period"),
            Column("line", gettext_lazy("奖项"), lambda d: d.line.name),
            Column("amount", gettext_lazy("金额"), lambda d: d.line.amount, money=True),
            Column("status", gettext_lazy("状态"), lambda d: d.get_status_display(), sort="status"),
            Column("messages", gettext_lazy("消息数"), lambda d: d.messages_count),
            Column("updated_at", gettext_lazy("更新时间"), when, sort="updated_at"),
        ],
        search_fields=["member__member_no"] if is_finance(viewer) else [],
        search_hint=gettext_lazy("会员编号"),
        filters=[Filter("status", gettext_lazy("状态"), DisputeStatus.choices, "status")],
        date_filters=[
            DateRangeFilter("updated", gettext_lazy("更新时间"), "updated_at", is_datetime=True)
        ],
        default_sort="-updated_at",
        export_name="disputes",
        row_link=lambda d: reverse("compensation:dispute_detail", args=[d.pk]),
    )


@login_required
def disputes(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    if viewer.member is None and not is_finance(viewer):
        raise Http404(_("没有可查看的奖金疑问"))
    return list_page(
        request,
        queryset=selectors.disputes_for(viewer),
        spec=_dispute_spec(viewer),
    )


def _dispute_context(request: HttpRequest, dispute: Dispute, error: str = "") -> dict[str, Any]:
    rights = dispute_rights(request_viewer(request), dispute)
    open_ = dispute.status != DisputeStatus.CLOSED
    return {
        "dispute": dispute,
        "line": dispute.line,
        "thread": list(selectors.dispute_messages(dispute)),
        "can_reply": open_ and rights.may_act,
        "can_close": open_ and rights.may_act,
        "is_finance": rights.finance,
        "statement_url": reverse(
            "compensation:statement", args=[dispute.line.run_id, dispute.member.member_no]
        ),
        "error": error,
    }


def _dispute(request: HttpRequest, pk: int) -> Dispute:
    try:
        return selectors.dispute_for_viewer(request_viewer(request), pk)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None


@login_required
def dispute_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dispute = _dispute(request, pk)
    return render(request, "compensation/dispute_detail.html", _dispute_context(request, dispute))


@login_required
@require_POST
def dispute_reply_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    dispute = _dispute(request, pk)
    try:
        dispute_reply(
            actor=request.user,  # type: ignore[arg-type]
            dispute=dispute,
            body=request.POST.get("body", ""),
        )
    except ServiceError as exc:
        dispute = _dispute(request, pk)
        ctx = _dispute_context(request, dispute, error=str(exc.message))
        return render(request, "compensation/dispute_detail.html", ctx, status=exc.status)
    messages.success(request, _("回复已发送"))
    return redirect("compensation:dispute_detail", pk=dispute.pk)


@login_required
@require_POST
def dispute_close_view(request: HttpRequest, pk: int) -> HttpResponseBase:
    dispute = _dispute(request, pk)
    try:
        dispute_close(actor=request.user, dispute=dispute)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("疑问已关闭"))
    return redirect("compensation:dispute_detail", pk=dispute.pk)
