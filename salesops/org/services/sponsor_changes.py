"""Sponsor changes (变更推荐人): a dated, audited move of a member and their whole downline
under a new sponsor, and the request document that routes such a move through approval.

The current tree (``Member.path``) always reflects the latest applied move; the tree as of
any earlier date is read from SponsorHistory (see ``salesops.org.selectors``).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr
from django.utils.translation import gettext as _

from salesops.core.approvals.services import approval_submit
from salesops.core.audit import audit_record
from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, User
from salesops.core.transitions import Transitions, transition
from salesops.org.models import (
    Member,
    MemberStatus,
    RequestStatus,
    SponsorChangeRequest,
    SponsorHistory,
)
from salesops.org.paths import child_path, path_depth, path_ids, subtree_bounds

DOC_TYPE = "org.sponsor_change"
# Which status each status may be reached from (a request is filed PENDING). A request
# sent back (退回) and resubmitted through the approval engine stays RETURNED meanwhile,
# so every decision may come from either.
_IN_APPROVAL = (RequestStatus.PENDING, RequestStatus.RETURNED)
REQUEST_MOVES = Transitions(
    RequestStatus,
    {
        RequestStatus.APPROVED: _IN_APPROVAL,
        RequestStatus.REJECTED: _IN_APPROVAL,
        RequestStatus.RETURNED: _IN_APPROVAL,
        RequestStatus.DRAFT: _IN_APPROVAL,  # 撤回
    },
)


def sponsor_change_check(
    *, member: Member, new_sponsor: Member, effective_on: datetime.date | None = None
) -> None:
    """Refuse a move that would break the tree; ``member``/``new_sponsor`` must be fresh."""
    if new_sponsor.pk == member.pk:
        raise ServiceError("self_sponsor", _("会员不能成为自己的推荐人"), field="new_sponsor")
    lo, hi = subtree_bounds(member.path)
    if lo <= new_sponsor.path < hi:
        raise ServiceError(
            "cycle",
            _("新推荐人 %(sponsor)s 是该会员的下线，变更后会形成循环") % {"sponsor": new_sponsor},
            field="new_sponsor",
        )
    if member.sponsor_id == new_sponsor.pk:
        raise ServiceError("same_sponsor", _("新推荐人与当前推荐人相同"), field="new_sponsor")
    if new_sponsor.status != MemberStatus.ACTIVE:
        raise ServiceError("sponsor_inactive", _("新推荐人已终止"), field="new_sponsor")
    if effective_on is not None:
        current = (
            SponsorHistory.objects.filter(member=member, valid_to__isnull=True)
            .order_by("-valid_from", "-id")
            .first()
        )
        if current is not None and effective_on < current.valid_from:
            raise ServiceError(
                "effective_too_early",
                _("生效日期不能早于当前推荐关系的生效日期 %(date)s")
                % {"date": current.valid_from.isoformat()},
                field="effective_on",
            )


@transaction.atomic
def sponsor_change_apply(
    *,
    actor: User | None,
    member: Member,
    new_sponsor: Member,
    effective_on: datetime.date,
    reason: str,
) -> Member:
    """Move ``member`` (and the whole downline) under ``new_sponsor`` from ``effective_on``.

    Closes the open SponsorHistory row at ``effective_on`` and opens a new one; every path
    and depth in the subtree is rewritten by one UPDATE over the subtree's key range.
    """
    # Lock and re-read both rows: the tree may have moved since the caller loaded them.
    locked = {
        m.pk: m
        for m in Member.objects.select_for_update().filter(pk__in=[member.pk, new_sponsor.pk])
    }
    fresh, sponsor = locked.get(member.pk), locked.get(new_sponsor.pk)
    if fresh is None or sponsor is None:
        raise ServiceError("not_found", _("会员不存在"), status=404)
    sponsor_change_check(member=fresh, new_sponsor=sponsor, effective_on=effective_on)
    reason = reason.strip()
    if not reason:
        raise ServiceError("required", _("请填写变更原因"), field="reason")

    old_sponsor_id = fresh.sponsor_id
    recorded_by = actor if actor is not None and actor.is_authenticated else None
    SponsorHistory.objects.filter(member=fresh, valid_to__isnull=True).update(valid_to=effective_on)
    SponsorHistory.objects.create(
        member=fresh,
        sponsor=sponsor,
        valid_from=effective_on,
        recorded_by=recorded_by,
        reason=reason[:200],
    )
    old = fresh.path
    new = child_path(sponsor.path, fresh.pk)
    lo, hi = subtree_bounds(old)
    delta = path_depth(new) - path_depth(old)
    Member.objects.filter(path__gte=lo, path__lt=hi).update(
        path=Concat(Value(new), Substr("path", len(old) + 1)), depth=F("depth") + delta
    )
    Member.objects.filter(pk=fresh.pk).update(sponsor=sponsor)
    moved = fresh.downline_count + 1
    old_line, new_line = set(path_ids(old)[:-1]), set(path_ids(sponsor.path))
    Member.objects.filter(pk__in=old_line - new_line).update(
        downline_count=F("downline_count") - moved
    )
    Member.objects.filter(pk__in=new_line - old_line).update(
        downline_count=F("downline_count") + moved
    )
    fresh.refresh_from_db(fields=["path", "depth", "sponsor", "downline_count"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=fresh,
        changes={"sponsor": (old_sponsor_id, sponsor.pk)},
        note=_("推荐人变更，生效日期 %(date)s：%(reason)s")
        % {"date": effective_on.isoformat(), "reason": reason},
    )
    member.path, member.depth, member.sponsor_id = fresh.path, fresh.depth, fresh.sponsor_id
    return fresh


# ---------------------------------------------------------------------------------------
# The request document (申请变更推荐人), approved through salesops.core.approvals.


@transaction.atomic
def sponsor_change_request_submit(
    *,
    actor: User,
    member: Member,
    new_sponsor: Member,
    effective_on: datetime.date,
    reason: str,
) -> SponsorChangeRequest:
    """File a request and start its approval. The move itself happens on approval."""
    member.refresh_from_db(fields=["path", "sponsor", "status"])
    new_sponsor.refresh_from_db(fields=["path", "sponsor", "status"])
    sponsor_change_check(member=member, new_sponsor=new_sponsor, effective_on=effective_on)
    reason = reason.strip()
    if not reason:
        raise ServiceError("required", _("请填写变更原因"), field="reason")
    if SponsorChangeRequest.objects.filter(member=member, status__in=_IN_APPROVAL).exists():
        raise ServiceError("already_pending", _("该会员已有未完成的推荐人变更申请"), field="member")
    req = SponsorChangeRequest.objects.create(
        member=member,
        new_sponsor=new_sponsor,
        effective_on=effective_on,
        reason=reason,
        status=RequestStatus.PENDING,
        requested_by=actor,
    )
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=req,
        changes={
            "member": ("", member.pk),
            "new_sponsor": ("", new_sponsor.pk),
            "effective_on": ("", effective_on.isoformat()),
        },
        note=reason,
    )
    approval_submit(
        actor=actor,
        doc_type=DOC_TYPE,
        object_id=str(req.pk),
        title=_("推荐人变更：%(member)s → %(sponsor)s")
        % {"member": member, "sponsor": new_sponsor},
        amount=None,
    )
    return req


def _request_from(obj: Any) -> SponsorChangeRequest:
    """The request behind an approval callback argument (an ApprovalRequest or an id)."""
    object_id = getattr(obj, "object_id", obj)
    return (
        SponsorChangeRequest.objects.select_for_update()
        .select_related("member", "new_sponsor", "requested_by")
        .get(pk=int(object_id))
    )


def _set_status(req: SponsorChangeRequest, status: str, actor: User | None) -> None:
    before = transition(req, status, allowed=REQUEST_MOVES, audit=False)
    audit_record(
        actor=actor, action=AuditAction.UPDATE, obj=req, changes={"status": (before, status)}
    )


def sponsor_change_request_approved(approval: Any, *, actor: User | None = None) -> None:
    """Approval callback: re-validate against today's tree, then apply the move."""
    req = _request_from(approval)
    if not REQUEST_MOVES.allows(req.status, RequestStatus.APPROVED):
        raise ServiceError("bad_state", _("该申请不在审批中"))
    sponsor_change_apply(
        actor=actor,
        member=req.member,
        new_sponsor=req.new_sponsor,
        effective_on=req.effective_on,
        reason=req.reason,
    )
    _set_status(req, RequestStatus.APPROVED, actor)


def sponsor_change_request_rejected(approval: Any, *, actor: User | None = None) -> None:
    req = _request_from(approval)
    _set_status(req, RequestStatus.REJECTED, actor)


def sponsor_change_request_returned(approval: Any, *, actor: User | None = None) -> None:
    req = _request_from(approval)
    _set_status(req, RequestStatus.RETURNED, actor)


def sponsor_change_request_cancelled(approval: Any, *, actor: User | None = None) -> None:
    """撤回 by the submitter: back to draft, so a new request may be filed."""
    req = _request_from(approval)
    _set_status(req, RequestStatus.DRAFT, actor)
