"""Statements and disputes API: the same selectors as the pages, so the same visibility
(own statement in full; upline as the plan allows; anything else 404). Money is a string
with two decimals."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from salesops.compensation import selectors
from salesops.compensation.models import Dispute, DisputeStatus
from salesops.compensation.selectors import VIEW_FULL
from salesops.compensation.services.disputes import (
    BODY_MAX,
    dispute_close,
    dispute_open,
    dispute_reply,
)
from salesops.compensation.services.statements import (
    Statement,
    StatementLine,
    progress_text,
    statement_build,
)
from salesops.core.access import Viewer
from salesops.core.api.common import (
    ERRORS,
    MAX_PAGE,
    PageOut,
    api_viewer,
    money_str,
    paginate,
)
from salesops.core.api.types import BodyIn, Id, NotBlank, Search
from salesops.core.errors import NotFoundError
from salesops.core.text import NO_CONTROL_PATTERN

router = Router(tags=["compensation"])
MemberNo = Annotated[str, Field(min_length=1, max_length=32, pattern=NO_CONTROL_PATTERN)]


# --------------------------------------------------------------------------- statements


class MessageOut(Schema):
    id: int
    author: str
    body: str
    created_at: datetime.datetime


class DisputeBrief(Schema):
    id: int
    status: str
    messages: list[MessageOut]


class LineOut(Schema):
    id: int
    rule: str
    name: str
    amount: str
    formula: str
    source_member: str | None
    generation: int | None
    source_period: str | None
    dispute: DisputeBrief | None = None


class GenerationOut(Schema):
    generation: int
    subtotal: str
    source_members: list[str]
    lines: list[LineOut]


class ProgressOut(Schema):
    next_rank: str
    missing: list[str]
    text: str


class StatementOut(Schema):
    run_id: int
    period: str
    member_no: str
    member_name: str
    view: str
    paid_as: str
    pv: str
    total: str
    title: str | None = None
    pv_by_cutoff: str | None = None
    sr_count: int | None = None
    sr_volume: str | None = None
    adjustment: str | None = None
    payable: str | None = None
    lines: list[LineOut] | None = None
    overrides: list[GenerationOut] | None = None
    adjustments: list[LineOut] | None = None
    progress: ProgressOut | None = None


def _message_out(m: Any) -> dict[str, Any]:
    return {
        "id": m.pk,
        "author": str(m.author) if m.author is not None else "",
        "body": m.body,
        "created_at": m.created_at,
    }


def _line_out(sl: StatementLine, *, disputes: bool) -> dict[str, Any]:
    ln = sl.line
    out: dict[str, Any] = {
        "id": ln.pk,
        "rule": ln.rule,
        "name": ln.name,
        "amount": money_str(ln.amount),
        "formula": ln.formula,
        "source_member": ln.source_member.member_no if ln.source_member is not None else None,
        "generation": ln.generation,
        "source_period": f"{ln.source_period:%Y-%m}" if ln.source_period else None,
        "dispute": None,
    }
    if disputes and sl.dispute is not None:
        out["dispute"] = {
            "id": sl.dispute.pk,
            "status": sl.dispute.status,
            "messages": [_message_out(m) for m in sl.dispute.messages.all()],
        }
    return out


def _statement_out(st: Statement) -> dict[str, Any]:
    r = st.result
    out: dict[str, Any] = {
        "run_id": st.run.pk,
        "period": f"{st.run.period:%Y-%m}",
        "member_no": r.member.member_no,
        "member_name": r.member.name,
        "view": st.view,
        "paid_as": r.paid_as,
        "pv": money_str(r.pv),
        "total": money_str(r.total),
    }
    if not st.show_lines:
        return out
    d = st.show_disputes
    out.update(
        title=r.title,
        pv_by_cutoff=money_str(r.pv_by_cutoff),
        sr_count=r.sr_count,
        sr_volume=money_str(r.sr_volume),
        adjustment=money_str(st.adjustment),
        payable=money_str(st.payable),
        lines=[_line_out(sl, disputes=d) for sl in st.lines],
        overrides=[
            {
                "generation": g.generation,
                "subtotal": money_str(g.subtotal),
                "source_members": [
                    sl.line.source_member.member_no
                    for sl in g.lines
                    if sl.line.source_member is not None
                ],
                "lines": [_line_out(sl, disputes=d) for sl in g.lines],
            }
            for g in st.overrides
        ],
        adjustments=[_line_out(sl, disputes=d) for sl in st.adjustments],
    )
    if st.progress is not None:
        out["progress"] = {
            "next_rank": st.progress.next_rank,
            "missing": [s.text for s in st.progress.missing],
            "text": progress_text(st.progress),
        }
    return out


class MineOut(Schema):
    results: list[StatementOut]


@router.get("/comp/statements/mine", response={200: MineOut, **ERRORS}, summary="我的结算单")
def statements_mine(request: HttpRequest) -> Any:
    """The viewer's own statements (current run of each period), newest first, at most 36."""
    viewer = api_viewer(request)
    if viewer.member is None:
        raise NotFoundError(_("您不是直销会员"))
    # my_results holds only the viewer's own results in current (hence finished) runs:
    # what statement_for_viewer would look up again for each, answering the full view.
    return {
        "results": [
            _statement_out(statement_build(run=r.run, result=r, view=VIEW_FULL))
            for r in selectors.my_results(viewer)[:36]
        ]
    }


@router.get(
    "/comp/runs/{run_id}/statements/{member_no}",
    response={200: StatementOut, **ERRORS},
    summary="结算单",
)
def statement_get(request: HttpRequest, run_id: Id, member_no: MemberNo) -> Any:
    access = selectors.statement_for_viewer(api_viewer(request), run_id, member_no)
    return _statement_out(statement_build(run=access.run, result=access.result, view=access.view))


# --------------------------------------------------------------------------- disputes


class DisputeOut(Schema):
    id: int
    status: str
    member_no: str
    period: str
    line_id: int
    line_name: str
    line_amount: str
    line_formula: str
    messages_count: int
    updated_at: datetime.datetime


class DisputeDetailOut(DisputeOut):
    messages: list[MessageOut]


class DisputePage(PageOut):
    results: list[DisputeOut]


class DisputeListIn(Schema):
    q: Search = Field("", description="会员编号")
    status: DisputeStatus | None = None
    page: int = Field(1, ge=1, le=MAX_PAGE)


class DisputeIn(BodyIn):
    line_id: Id
    body: Annotated[str, NotBlank, Field(max_length=BODY_MAX)]


class MessageIn(BodyIn):
    body: Annotated[str, NotBlank, Field(max_length=BODY_MAX)]


def _dispute_out(d: Dispute, *, messages: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": d.pk,
        "status": d.status,
        "member_no": d.member.member_no,
        "period": f"{d.line.run.period:%Y-%m}",
        "line_id": d.line_id,
        "line_name": d.line.name,
        "line_amount": money_str(d.line.amount),
        "line_formula": d.line.formula,
        "messages_count": getattr(d, "messages_count", 0),
        "updated_at": d.updated_at,
    }
    if messages:
        out["messages"] = [_message_out(m) for m in selectors.dispute_messages(d)]
    return out


@router.get("/comp/disputes", response={200: DisputePage, **ERRORS}, summary="奖金疑问列表")
def disputes_list(request: HttpRequest, params: Query[DisputeListIn]) -> Any:
    """Finance: every dispute (filter by status, search by member no); a member: their own."""
    viewer = api_viewer(request)
    qs = selectors.disputes_for(viewer)
    if params.status:
        qs = qs.filter(status=params.status)
    if params.q.strip():
        qs = qs.filter(member__member_no__icontains=params.q.strip())
    rows, meta = paginate(qs.order_by("-updated_at", "-id"), params.page)
    return {**meta, "results": [_dispute_out(d) for d in rows]}


def _reload(viewer: Viewer, pk: int) -> dict[str, Any]:
    return _dispute_out(selectors.dispute_for_viewer(viewer, pk), messages=True)


@router.post("/comp/disputes", response={201: DisputeDetailOut, **ERRORS}, summary="提出疑问")
def disputes_create(request: HttpRequest, payload: DisputeIn) -> Any:
    """Ask about one line of one's own statement; a second question on it adds a message."""
    viewer = api_viewer(request)
    line = selectors.line_for_dispute(viewer, payload.line_id)
    dispute = dispute_open(actor=request.auth, line=line, body=payload.body)  # type: ignore[attr-defined]
    return Status(201, _reload(viewer, dispute.pk))


@router.get("/comp/disputes/{dispute_id}", response={200: DisputeDetailOut, **ERRORS})
def disputes_get(request: HttpRequest, dispute_id: Id) -> Any:
    return _reload(api_viewer(request), dispute_id)


@router.post(
    "/comp/disputes/{dispute_id}/messages",
    response={201: DisputeDetailOut, **ERRORS},
    summary="回复疑问",
)
def disputes_reply(request: HttpRequest, dispute_id: Id, payload: MessageIn) -> Any:
    viewer = api_viewer(request)
    dispute = selectors.dispute_for_viewer(viewer, dispute_id)
    dispute_reply(actor=request.auth, dispute=dispute, body=payload.body)  # type: ignore[attr-defined]
    return Status(201, _reload(viewer, dispute_id))


@router.post(
    "/comp/disputes/{dispute_id}/close",
    response={200: DisputeDetailOut, **ERRORS},
    summary="关闭疑问",
)
def disputes_close(request: HttpRequest, dispute_id: Id) -> Any:
    viewer = api_viewer(request)
    dispute = selectors.dispute_for_viewer(viewer, dispute_id)
    dispute_close(actor=request.auth, dispute=dispute)  # type: ignore[attr-defined]
    return _reload(viewer, dispute_id)
