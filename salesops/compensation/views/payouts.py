"""Payout screens (奖金发放): the batch list with 生成发放批次, and a batch's page with its
items, reconciliation, warnings, 送审 and 导出. Finance/admin only. Views parse, authorise,
call a service or selector and respond."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.compensation.models import PayoutBatch, PayoutKind, PayoutStatus
from salesops.compensation.rights import finance_only
from salesops.compensation.selectors import payouts as sel
from salesops.compensation.services.payouts import (
    EDITABLE,
    EXPORTABLE,
    payout_batch_build,
    payout_batch_export,
    payout_batch_submit,
)
from salesops.core.access import Viewer, mask_bank_account, request_viewer
from salesops.core.errors import NotFoundError, ServiceError
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, list_page
from salesops.core.xlsx import XLSX_MIME, content_disposition


def _finance_only(viewer: Viewer) -> None:
    finance_only(viewer, _("只有财务或管理员可以管理奖金发放"))


def _batch_or_404(viewer: Viewer, pk: int) -> PayoutBatch:
    try:
        return sel.batch_for_viewer(viewer, pk)
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None


def _batch_spec() -> ListSpec:
    return ListSpec(
        title=gettext_lazy("奖金发放"),
        columns=[
            Column(
                "pay_date", gettext_lazy("发放日期"), lambda b: f"{b.pay_date:%Y-%m-%d}", "pay_date"
            ),
            Column("status", gettext_lazy("状态"), lambda b: b.get_status_display(), "status"),
            Column("items", gettext_lazy("笔数"), lambda b: b.items_count, "items_count"),
            Column("total", gettext_lazy("发放合计"), lambda b: b.total, "total", money=True),
            Column("created_by", gettext_lazy("创建人"), lambda b: b.created_by or ""),
            Column("approved_at", gettext_lazy("批准时间"), lambda b: b.approved_at or ""),
            Column("exported_at", gettext_lazy("导出时间"), lambda b: b.exported_at or ""),
        ],
        search_fields=["pay_date"],
        search_hint=gettext_lazy("发放日期，如 2026-12"),
        filters=[Filter("status", gettext_lazy("状态"), list(PayoutStatus.choices), "status")],
        date_filters=[DateRangeFilter("pay_date", gettext_lazy("发放日期"), "pay_date")],
        default_sort="-pay_date",
        export_name="payout_batches",
        row_link=lambda b: reverse("compensation:payout_detail", args=[b.pk]),
    )


@login_required
def payouts(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    _finance_only(viewer)
    return list_page(
        request,
        queryset=sel.batches_for(viewer),
        spec=_batch_spec(),
        template="compensation/payouts.html",
        context={"breadcrumbs": [], "pay_dates": sel.payable_dates()},
    )


def _parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise ServiceError(
            code="invalid_date", message=_("请选择发放日期，格式 YYYY-MM-DD"), field="pay_date"
        ) from None


@login_required
@require_POST
def payout_build(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    _finance_only(viewer)
    try:
        batch = payout_batch_build(
            actor=request.user,  # type: ignore[arg-type]
            pay_date=_parse_date(request.POST.get("pay_date", "")),
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("compensation:payouts")
    messages.success(
        request,
        _("发放批次已生成：%(n)s 笔，合计 %(total)s")
        % {"n": batch.items_count, "total": f"{batch.total:,.2f}"},
    )
    return redirect("compensation:payout_detail", pk=batch.pk)


def _item_spec(batch: PayoutBatch) -> ListSpec:
    return ListSpec(
        title=gettext_lazy("发放明细"),
        columns=[
            Column(
                "member_no",
                gettext_lazy("会员编号"),
                lambda i: i.member.member_no,
                "member__member_no",
            ),
            Column("name", gettext_lazy("姓名"), lambda i: i.member.name),
            Column("period", gettext_lazy("结算月份"), lambda i: f"{i.period:%Y-%m}", "period"),
            Column("kind", gettext_lazy("类别"), lambda i: i.get_kind_display(), "kind"),
            Column("amount", gettext_lazy("金额"), lambda i: i.amount, "amount", money=True),
            Column("bank_name", gettext_lazy("开户银行"), lambda i: i.member.bank_name),
            Column(
                "bank_account",
                gettext_lazy("银行账号"),
                lambda i: mask_bank_account(i.member.bank_account) or _("缺少银行账号"),
            ),
        ],
        search_fields=["member__member_no"],
        search_hint=gettext_lazy("会员编号"),
        filters=[Filter("kind", gettext_lazy("类别"), list(PayoutKind.choices), "kind")],
        default_sort="member__member_no",
        export_name=f"payout_items_{batch.pay_date:%Y%m%d}",
    )


@login_required
def payout_detail(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    batch = _batch_or_404(viewer, pk)
    recon = sel.payout_reconciliation(batch)
    no_account_count, no_account = sel.members_without_account(batch)
    negative_count, negative = sel.negative_members(batch)
    queryset = sel.items_for(viewer, batch).order_by("member__member_no", "period", "kind")
    return list_page(
        request,
        queryset=queryset,
        spec=_item_spec(batch),
        template="compensation/payout_detail.html",
        context={
            "batch": batch,
            "breadcrumbs": [
                {"label": _("奖金发放"), "url": reverse("compensation:payouts")},
            ],
            "recon": recon,
            "recon_ok": all(r.ok for r in recon),
            "recon_batch": sum((r.batch for r in recon), Decimal("0.00")),
            "recon_statement": sum((r.statement or Decimal(0) for r in recon), Decimal("0.00")),
            "no_account_count": no_account_count,
            "no_account": no_account,
            "negative_count": negative_count,
            "negative": negative,
            "can_build": batch.status in EDITABLE,
            "can_submit": batch.status in EDITABLE and batch.items_count > 0,
            "can_download": batch.status in EXPORTABLE,
        },
    )


@login_required
@require_POST
def payout_submit(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    batch = _batch_or_404(viewer, pk)
    try:
        payout_batch_submit(actor=request.user, batch=batch)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已提交发放审批"))
    return redirect("compensation:payout_detail", pk=batch.pk)


@login_required
@require_POST
def payout_export(request: HttpRequest, pk: int) -> HttpResponseBase:
    viewer = request_viewer(request)
    batch = _batch_or_404(viewer, pk)
    try:
        data = payout_batch_export(actor=request.user, batch=batch)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("compensation:payout_detail", pk=batch.pk)
    return xlsx_download(data, batch)


def xlsx_download(data: bytes, batch: PayoutBatch) -> HttpResponse:
    filename = _("奖金发放_%(date)s.xlsx") % {"date": f"{batch.pay_date:%Y%m%d}"}
    response = HttpResponse(data, content_type=XLSX_MIME)
    response["Content-Disposition"] = content_disposition(
        filename, f"payout_{batch.pay_date:%Y%m%d}.xlsx"
    )
    return response
