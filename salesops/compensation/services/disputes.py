"""Disputes (奖金疑问): a member queries one line of their statement, finance answers.

The thread stays on the line: one dispute per line, a second question adds a message.
Status moves OPEN → ANSWERED (finance replies) → OPEN (the member replies) and either
side may close it; a question on a closed line reopens it. Every step is audited and
notifies the other side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    Dispute,
    DisputeMessage,
    DisputeStatus,
)
from salesops.compensation.rights import is_finance
from salesops.core.access import Viewer, viewer_for
from salesops.core.audit import audit_create, audit_record
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, RoleCode, User
from salesops.core.notifications import Text, notify, notify_many
from salesops.core.text import has_control_chars
from salesops.core.transitions import Transitions, transition

BODY_MAX = 2000

# Which status each status may be reached from (a question reopens a closed thread).
DISPUTE_MOVES = Transitions(
    DisputeStatus,
    {
        DisputeStatus.OPEN: (DisputeStatus.OPEN, DisputeStatus.ANSWERED, DisputeStatus.CLOSED),
        DisputeStatus.ANSWERED: (DisputeStatus.OPEN, DisputeStatus.ANSWERED),
        DisputeStatus.CLOSED: (DisputeStatus.OPEN, DisputeStatus.ANSWERED),
    },
)


def _clean_body(body: str) -> str:
    text = (body or "").strip()
    if has_control_chars(text):
        raise ServiceError(code="invalid_character", message=_("内容含有非法字符"), field="body")
    if not text:
        raise ServiceError(code="body_required", message=_("请填写内容"), field="body")
    if len(text) > BODY_MAX:
        raise ServiceError(
            code="body_too_long",
            message=_("内容不能超过 %(max)d 个字") % {"max": BODY_MAX},
            field="body",
        )
    return text


def is_line_owner(viewer: Viewer, member_id: int) -> bool:
    """Only the member whose statement it is asks about a line."""
    return viewer.member is not None and viewer.member.pk == member_id


@dataclass(frozen=True)
class DisputeRights:
    """Who ``viewer`` is in a dispute's thread: its member, or finance answering it."""

    owner: bool
    finance: bool  # finance/admin who is not the member

    @property
    def may_act(self) -> bool:
        """May reply to the thread and close it (while it is open)."""
        return self.owner or self.finance


def dispute_rights(viewer: Viewer, dispute: Dispute) -> DisputeRights:
    owner = is_line_owner(viewer, dispute.member_id)
    return DisputeRights(owner=owner, finance=is_finance(viewer) and not owner)


def _transition(*, actor: User, dispute: Dispute, to: str, note: str) -> None:
    """The one place a dispute changes status: refuses a move ``DISPUTE_MOVES`` does not
    allow (from a closed thread: "该疑问已关闭")."""
    before = dispute.status
    if before == DisputeStatus.CLOSED and not DISPUTE_MOVES.allows(before, to):
        raise ServiceError(code="dispute_closed", message=_("该疑问已关闭"), status=409)
    if before == to:
        DISPUTE_MOVES.check(before, to)
        dispute.save(update_fields=["updated_at"])
        return
    transition(dispute, to, allowed=DISPUTE_MOVES, audit=False, save=False)
    dispute.save(update_fields=["status", "updated_at"])
    audit_record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=dispute,
        changes={"status": (before, to)},
        note=note,
    )


def _finance_users() -> Iterable[User]:
    return User.objects.filter(is_active=True, role__code=RoleCode.FINANCE).order_by("pk")


def _url(dispute: Dispute) -> str:
    return reverse("compensation:dispute_detail", args=[dispute.pk])


def _add_message(*, actor: User, dispute: Dispute, body: str) -> DisputeMessage:
    msg = DisputeMessage.objects.create(dispute=dispute, author=actor, body=body)
    audit_record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=msg,
        changes={"dispute": ("", dispute.pk), "body": ("", body)},
    )
    return msg


def _tell_finance(*, actor: User, dispute: Dispute, title: Text, body: str) -> None:
    users = [u for u in _finance_users() if u.pk != actor.pk]
    notify_many(users=users, title=title, body=body[:200], url=_url(dispute))


def _tell_member(*, actor: User, dispute: Dispute, title: Text, body: str) -> None:
    member_user = dispute.member.user
    if member_user is not None and member_user.pk != actor.pk:
        notify(user=member_user, title=title, body=body[:200], url=_url(dispute))


@transaction.atomic
def dispute_open(*, actor: User, line: CommissionLine, body: str) -> Dispute:
    """A member asks about one line of their own statement (the period's current run).

    A second question on the same line adds a message to the existing thread (and
    reopens it if it was answered or closed).
    """
    viewer = viewer_for(actor)
    if not is_line_owner(viewer, line.member_id):
        raise PermissionDeniedError(_("只能对自己的结算明细提出疑问"))
    assert viewer.member is not None  # is_line_owner holds only for a member
    text = _clean_body(body)
    # Lock the line: two questions at once must still make a single thread.
    line = (
        CommissionLine.objects.select_for_update(of=("self",)).select_related("run").get(pk=line.pk)
    )
    current = CommissionPeriod.objects.filter(period=line.run.period, current_run_id=line.run_id)
    if not current.exists():
        raise ServiceError(
            code="line_not_current",
            message=_("该结算结果已被重新计算，请在最新结算单上提问"),
            status=409,
        )
    dispute = Dispute.objects.select_related("member__user").filter(line=line).first()
    if dispute is None:
        dispute = Dispute.objects.create(
            line=line, member_id=line.member_id, status=DisputeStatus.OPEN, created_by=actor
        )
        audit_create(actor=actor, obj=dispute, fields=["line", "member", "status"])
    else:
        _transition(actor=actor, dispute=dispute, to=DisputeStatus.OPEN, note="question")
    _add_message(actor=actor, dispute=dispute, body=text)
    member_no = viewer.member.member_no
    _tell_finance(
        actor=actor,
        dispute=dispute,
        title=lambda: _("会员 %(no)s 对结算明细提出疑问") % {"no": member_no},
        body=text,
    )
    return dispute


@transaction.atomic
def dispute_reply(*, actor: User, dispute: Dispute, body: str) -> DisputeMessage:
    """Finance answers (→ 已答复) or the member replies (→ 待答复); nobody else may."""
    viewer = viewer_for(actor)
    text = _clean_body(body)
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("member__user")
        .get(pk=dispute.pk)
    )
    rights = dispute_rights(viewer, dispute)
    if not rights.may_act:
        raise PermissionDeniedError(_("无权回复该疑问"))
    finance = rights.finance
    if dispute.status == DisputeStatus.CLOSED:
        raise ServiceError(code="dispute_closed", message=_("该疑问已关闭"), status=409)
    if finance:
        _transition(actor=actor, dispute=dispute, to=DisputeStatus.ANSWERED, note="answer")
        msg = _add_message(actor=actor, dispute=dispute, body=text)
        _tell_member(
            actor=actor, dispute=dispute, title=lambda: _("财务已答复您的奖金疑问"), body=text
        )
        return msg
    _transition(actor=actor, dispute=dispute, to=DisputeStatus.OPEN, note="reply")
    msg = _add_message(actor=actor, dispute=dispute, body=text)
    _tell_finance(
        actor=actor,
        dispute=dispute,
        title=lambda: _("会员 %(no)s 回复了奖金疑问") % {"no": dispute.member.member_no},
        body=text,
    )
    return msg


@transaction.atomic
def dispute_close(*, actor: User, dispute: Dispute) -> Dispute:
    """Finance or the member closes the thread; the other side is told."""
    viewer = viewer_for(actor)
    dispute = (
        Dispute.objects.select_for_update(of=("self",))
        .select_related("member__user")
        .get(pk=dispute.pk)
    )
    rights = dispute_rights(viewer, dispute)
    if not rights.may_act:
        raise PermissionDeniedError(_("无权关闭该疑问"))
    owner = rights.owner
    # Closing a closed thread: _transition refuses it (dispute_closed, 409).
    _transition(actor=actor, dispute=dispute, to=DisputeStatus.CLOSED, note="close")

    def title() -> str:
        return _("奖金疑问 #%(id)s 已关闭") % {"id": dispute.pk}

    if owner:
        _tell_finance(actor=actor, dispute=dispute, title=title, body="")
    else:
        _tell_member(actor=actor, dispute=dispute, title=title, body="")
    return dispute
