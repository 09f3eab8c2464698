"""Payouts API (奖金发放): list and build batches, their items, 送审 and the bank .xlsx.
Finance/admin only, same rules as the UI: anyone else gets 403 on the collection and 404
on a batch. Money is a string with two decimals."""

from __future__ import annotations

import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.compensation.models import PayoutBatch, PayoutItem
from salesops.compensation.rights import finance_only
from salesops.compensation.selectors import payouts as sel
from salesops.compensation.services.payouts import (
    payout_batch_build,
    payout_batch_export,
    payout_batch_submit,
)
from salesops.compensation.views.payouts import xlsx_download
from salesops.core.access import Viewer, mask_bank_account
from salesops.core.api.auth import requires
from salesops.core.api.common import (
    ERRORS,
    MAX_PAGE,
    PageOut,
    api_viewer,
    money_str,
    paginate,
)
from salesops.core.api.types import BodyIn, Id, IsoDate, Search

router = Router(tags=["compensation"])
PAGE_SIZE = 50


def _viewer(request: HttpRequest) -> Viewer:
    viewer = api_viewer(request)
    finance_only(viewer, _("只有财务或管理员可以管理奖金发放"))
    return viewer


def _batch(request: HttpRequest, batch_id: Id) -> tuple[Viewer, PayoutBatch]:
    viewer = api_viewer(request)
    return viewer, sel.batch_for_viewer(viewer, batch_id)


finance = requires(lambda viewer: finance_only(viewer, _("只有财务或管理员可以管理奖金发放")))


class PageIn(Schema):
    q: Search = ""
    page: int = Field(1, ge=1, le=MAX_PAGE)


class BatchOut(Schema):
    id: int
    pay_date: datetime.date
    status: str
    status_label: str
    total: str
    items_count: int
    created_at: datetime.datetime
    approved_at: datetime.datetime | None
    exported_at: datetime.datetime | None


class BatchPage(PageOut):
    results: list[BatchOut]


class ReconOut(Schema):
    month: str
    kind: str
    statement: str | None
    batch: str
    difference: str | None


class BatchDetailOut(BatchOut):
    reconciliation: list[ReconOut]
    reconciled: bool
    members_without_account: int
    negative_members: int


class BatchIn(BodyIn):
    pay_date: IsoDate


class ItemOut(Schema):
    member_no: str
    member_name: str
    period: str
    kind: str
    amount: str
    bank_name: str
    bank_account: str


class ItemPage(PageOut):
    results: list[ItemOut]


def _batch_out(b: PayoutBatch) -> dict[str, Any]:
    return {
        "id": b.pk,
        "pay_date": b.pay_date,
        "status": b.status,
        "status_label": str(b.get_status_display()),
        "total": money_str(b.total),
        "items_count": b.items_count,
        "created_at": b.created_at,
        "approved_at": b.approved_at,
        "exported_at": b.exported_at,
    }


def _detail(b: PayoutBatch) -> dict[str, Any]:
    recon = sel.payout_reconciliation(b)
    return {
        **_batch_out(b),
        "reconciliation": [
            {
                "month": f"{r.month:%Y-%m}",
                "kind": r.kind,
                "statement": None if r.statement is None else money_str(r.statement),
                "batch": money_str(r.batch),
                "difference": None if r.difference is None else money_str(r.difference),
            }
            for r in recon
        ],
        "reconciled": all(r.ok for r in recon),
        "members_without_account": sel.members_without_account(b)[0],
        "negative_members": sel.negative_members(b)[0],
    }


@router.get(
    "/comp/payouts", response={200: BatchPage, **ERRORS}, summary="奖金发放批次列表", auth=finance
)
def payouts_list(request: HttpRequest, params: Query[PageIn]) -> Any:
    qs = sel.batches_for(_viewer(request))
    if params.q:
        qs = qs.filter(pay_date__icontains=params.q)
    rows, meta = paginate(qs.order_by("-pay_date"), params.page, PAGE_SIZE)
    return {**meta, "results": [_batch_out(b) for b in rows]}


@router.post(
    "/comp/payouts", response={201: BatchDetailOut, **ERRORS}, summary="生成发放批次", auth=finance
)
def payouts_build(request: HttpRequest, payload: BatchIn) -> Any:
    _viewer(request)
    batch = payout_batch_build(actor=request.auth, pay_date=payload.pay_date)  # type: ignore[attr-defined]
    return Status(201, _detail(batch))


@router.get(
    "/comp/payouts/{batch_id}", response={200: BatchDetailOut, **ERRORS}, summary="发放批次详情"
)
def payouts_get(request: HttpRequest, batch_id: Id) -> Any:
    return _detail(_batch(request, batch_id)[1])


@router.get(
    "/comp/payouts/{batch_id}/items", response={200: ItemPage, **ERRORS}, summary="发放明细"
)
def payouts_items(request: HttpRequest, batch_id: Id, params: Query[PageIn]) -> Any:
    viewer, batch = _batch(request, batch_id)
    qs = sel.items_for(viewer, batch)
    if params.q:
        qs = qs.filter(member__member_no__icontains=params.q)
    rows, meta = paginate(
        qs.order_by("member__member_no", "period", "kind"), params.page, PAGE_SIZE
    )
    items: list[PayoutItem] = rows
    return {
        **meta,
        "results": [
            {
                "member_no": i.member.member_no,
                "member_name": i.member.name,
                "period": f"{i.period:%Y-%m}",
                "kind": i.kind,
                "amount": money_str(i.amount),
                "bank_name": i.member.bank_name,
                "bank_account": mask_bank_account(i.member.bank_account),
            }
            for i in items
        ],
    }


@router.post(
    "/comp/payouts/{batch_id}/submit", response={200: BatchDetailOut, **ERRORS}, summary="送审"
)
def payouts_submit(request: HttpRequest, batch_id: Id) -> Any:
    batch = _batch(request, batch_id)[1]
    payout_batch_submit(actor=request.auth, batch=batch)  # type: ignore[attr-defined]
    batch.refresh_from_db()
    return _detail(batch)


@router.post(
    "/comp/payouts/{batch_id}/export",
    response={200: None, **ERRORS},
    summary="导出银行文件(.xlsx)",
    description="POST: the first export moves an approved batch to 已导出 (and every "
    "export is audited), so it is not a GET.",
)
def payouts_export(request: HttpRequest, batch_id: Id) -> HttpResponse:
    batch = _batch(request, batch_id)[1]
    data = payout_batch_export(actor=request.auth, batch=batch)  # type: ignore[attr-defined]
    return xlsx_download(data, batch)
