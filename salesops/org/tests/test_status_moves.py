"""org's status tables: members and sponsor-change requests (``core/transitions.py``)."""

from __future__ import annotations

import pytest

from salesops.core.approvals import StepSpec, approval_act, approval_flow_create
from salesops.core.errors import ServiceError
from salesops.core.models import ApprovalTask, AuditAction, AuditLog, RoleCode
from salesops.core.tests.status_tables import Table, check_move, check_table, every_pair, table
from salesops.org.models import Member, MemberStatus, RequestStatus, SponsorChangeRequest
from salesops.org.services.members import MEMBER_MOVES, member_terminate
from salesops.org.services.sponsor_changes import (
    REQUEST_MOVES,
    sponsor_change_request_rejected,
    sponsor_change_request_submit,
)

M, R = MemberStatus, RequestStatus

TABLES: dict[str, Table] = {
    # The member form edits the status freely (and saves it unchanged); 终止 ends one.
    "member": table(
        MEMBER_MOVES,
        Member,
        (M.ACTIVE, M.ACTIVE),
        (M.ACTIVE, M.TERMINATED),
        (M.TERMINATED, M.ACTIVE),
        (M.TERMINATED, M.TERMINATED),
    ),
    # Filed PENDING; a request sent back and resubmitted stays RETURNED while in approval.
    "sponsor_change": table(
        REQUEST_MOVES,
        SponsorChangeRequest,
        *[(before, to) for before in (R.PENDING, R.RETURNED) for to in (R.APPROVED, R.REJECTED)],
        (R.PENDING, R.RETURNED),
        (R.RETURNED, R.RETURNED),
        (R.PENDING, R.DRAFT),  # 撤回
        (R.RETURNED, R.DRAFT),
    ),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_table_allows_exactly_the_described_moves(name: str) -> None:
    check_table(TABLES[name])


@pytest.mark.parametrize("name, before, to", every_pair(TABLES))
def test_move(name: str, before: str, to: str) -> None:
    check_move(TABLES[name], before, to)


# --------------------------------------------------------------------------- through services


def _filed(stock, net) -> SponsorChangeRequest:  # type: ignore[no-untyped-def]
    approval_flow_create(
        actor=None,
        doc_type="org.sponsor_change",
        name="推荐人变更审批",
        steps=[StepSpec(name="管理员审批", role=RoleCode.ADMIN)],
    )
    return sponsor_change_request_submit(
        actor=stock.rep_user,
        member=net.leaf,
        new_sponsor=net.side,
        effective_on=net.leaf.joined_on,
        reason="r",
    )


def test_a_decided_request_cannot_be_decided_again(stock, net) -> None:  # type: ignore[no-untyped-def]
    req = _filed(stock, net)
    task = ApprovalTask.objects.get(request__object_id=str(req.pk))
    approval_act(actor=net.admin_user, task_id=task.pk, action="approve")
    with pytest.raises(ServiceError) as err:
        sponsor_change_request_rejected(req.pk, actor=net.admin_user)
    assert (err.value.code, str(err.value.message)) == (
        "invalid_transition",
        "不能从“已通过”变为“已驳回”",
    )
    req.refresh_from_db()
    assert req.status == R.APPROVED
    assert Member.objects.get(pk=net.leaf.pk).sponsor_id == net.side.pk


def test_terminating_a_member_is_audited_through_the_table(stock, net) -> None:  # type: ignore[no-untyped-def]
    member_terminate(actor=net.admin_user, member=net.far, reason="退出")
    net.far.refresh_from_db()
    assert net.far.status == M.TERMINATED
    row = AuditLog.objects.get(
        object_type="org.member",
        object_id=str(net.far.pk),
        field="status",
        action=AuditAction.UPDATE,
    )
    assert (row.before, row.after, row.note) == (M.ACTIVE, M.TERMINATED, "退出")
