"""The approval engine: flows, routing, sign modes, send-back, callbacks, concurrency."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from salesops.core.approvals import (
    StepSpec,
    approval_act,
    approval_cancel,
    approval_flow_create,
    approval_flow_update,
    approval_resubmit,
    approval_submit,
    approval_submit_again,
    register_document_type,
)
from salesops.core.approvals.registry import unregister_document_type
from salesops.core.approvals.services import resolve_approvers
from salesops.core.errors import ServiceError
from salesops.core.models import (
    ApprovalEvent,
    ApprovalRequest,
    ApprovalStatus,
    ApprovalTask,
    AuditLog,
    Notification,
    RoleCode,
    SignMode,
    TaskStatus,
    User,
)
from salesops.factories import EmployeeFactory, UserFactory, role

DOC = "test.expense"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    # PBKDF2 makes each stock user cost ~1 s; these tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@dataclass
class Calls:
    log: list[tuple[str, int, str]]


@pytest.fixture
def calls() -> Iterator[Calls]:
    log: list[tuple[str, int, str]] = []

    def cb(outcome: str):  # type: ignore[no-untyped-def]
        def inner(request: ApprovalRequest, actor: User | None = None) -> None:
            log.append((outcome, request.pk, actor.username if actor else ""))

        return inner

    register_document_type(
        DOC,
        label="测试报销",
        on_approved=cb("approved"),
        on_rejected=cb("rejected"),
        on_returned=cb("returned"),
        on_cancelled=cb("cancelled"),
        url=lambda object_id: f"/expenses/{object_id}/",
    )
    yield Calls(log)
    unregister_document_type(DOC)


@pytest.fixture
def director(stock) -> User:  # type: ignore[no-untyped-def]
    user = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="多拉", department=stock.company, user=user)
    return user


def _flow(steps: list[StepSpec], **kw: object):  # type: ignore[no-untyped-def]
    return approval_flow_create(actor=None, doc_type=DOC, name="测试流程", steps=steps, **kw)


def _submit(user: User, amount: object = None, object_id: str = "1") -> ApprovalRequest:
    return approval_submit(
        actor=user, doc_type=DOC, object_id=object_id, title="差旅报销", amount=amount
    )


def _task(request: ApprovalRequest, user: User) -> ApprovalTask:
    return ApprovalTask.objects.get(request=request, approver=user, status=TaskStatus.PENDING)


def test_sequential_two_step_flow(stock, director, calls) -> None:  # type: ignore[no-untyped-def]
    _flow(
        [
            StepSpec(name="经理审批", role=RoleCode.MANAGER),
            StepSpec(name="总监审批", role=RoleCode.DIRECTOR),
        ]
    )
    req = _submit(stock.rep_user)
    assert req.status == ApprovalStatus.PENDING
    assert req.current_step == 1
    assert list(req.tasks.values_list("approver__username", flat=True)) == ["bob"]

    req = approval_act(
        actor=stock.manager_user,
        task_id=_task(req, stock.manager_user).pk,
        action="approve",
        comment="同意",
    )
    assert (req.status, req.current_step) == (ApprovalStatus.PENDING, 2)
    assert calls.log == []

    req = approval_act(actor=director, task_id=_task(req, director).pk, action="approve")
    assert req.status == ApprovalStatus.APPROVED
    assert req.decided_at is not None
    assert calls.log == [("approved", req.pk, "dora")]
    assert list(req.events.values_list("action", "step_order", "actor__username")) == [
        ("submit", 1, "alice"),
        ("approve", 1, "bob"),
        ("approve", 2, "dora"),
        ("finish", 2, None),
    ]


def test_countersign_needs_everyone(stock, calls) -> None:  # type: ignore[no-untyped-def]
    u1, u2 = UserFactory(username="fin1"), UserFactory(username="fin2")
    _flow([StepSpec(name="会签", mode=SignMode.COUNTERSIGN, users=[u1, u2])])
    req = _submit(stock.rep_user)
    req = approval_act(actor=u1, task_id=_task(req, u1).pk, action="approve")
    assert req.status == ApprovalStatus.PENDING
    assert calls.log == []
    req = approval_act(actor=u2, task_id=_task(req, u2).pk, action="approve")
    assert req.status == ApprovalStatus.APPROVED
    assert calls.log == [("approved", req.pk, "fin2")]


def test_countersign_one_reject_rejects(stock, calls) -> None:  # type: ignore[no-untyped-def]
    u1, u2, u3 = (UserFactory(username=f"cs{i}") for i in range(3))
    _flow([StepSpec(name="会签", mode=SignMode.COUNTERSIGN, users=[u1, u2, u3])])
    req = _submit(stock.rep_user)
    approval_act(actor=u1, task_id=_task(req, u1).pk, action="approve")
    req = approval_act(actor=u2, task_id=_task(req, u2).pk, action="reject", comment="超标")
    assert req.status == ApprovalStatus.REJECTED
    assert dict(req.tasks.values_list("approver__username", "status")) == {
        "cs0": TaskStatus.APPROVED,
        "cs1": TaskStatus.REJECTED,
        "cs2": TaskStatus.SKIPPED,
    }
    assert calls.log == [("rejected", req.pk, "cs1")]


def test_orsign_first_decides_and_others_skip(stock, calls) -> None:  # type: ignore[no-untyped-def]
    u1, u2 = UserFactory(username="or1"), UserFactory(username="or2")
    _flow([StepSpec(name="或签", mode=SignMode.ORSIGN, users=[u1, u2])])
    req = _submit(stock.rep_user)
    t2 = _task(req, u2)
    req = approval_act(actor=u1, task_id=_task(req, u1).pk, action="approve")
    assert req.status == ApprovalStatus.APPROVED
    t2.refresh_from_db()
    assert t2.status == TaskStatus.SKIPPED
    with pytest.raises(ServiceError) as exc:
        approval_act(actor=u2, task_id=t2.pk, action="approve")
    assert exc.value.code == "task_done"
    assert calls.log == [("approved", req.pk, "or1")]


def test_single_step_takes_the_nearest_manager(stock, calls) -> None:  # type: ignore[no-untyped-def]
    # Another manager elsewhere does not cover alice; bob (her manager) does.
    other = UserFactory(username="mgr2", role=role(RoleCode.MANAGER))
    EmployeeFactory(name="别组经理", department=stock.other_team, user=other)
    _flow([StepSpec(name="经理审批", role=RoleCode.MANAGER)])
    req = _submit(stock.rep_user)
    assert list(req.tasks.values_list("approver__username", flat=True)) == ["bob"]


def test_role_without_covering_user_falls_back_to_everyone_with_it(stock, director, calls) -> None:  # type: ignore[no-untyped-def]
    # The outsider's team has no manager: every manager gets asked (countersign shows all).
    step = _flow([StepSpec(name="经理", mode=SignMode.ORSIGN, role=RoleCode.MANAGER)]).steps.get()
    assert [u.username for u in resolve_approvers(step, stock.outsider_user)] == ["bob"]
    # The director covers the whole company by scope.
    step = _flow([StepSpec(name="总监", role=RoleCode.DIRECTOR)], priority=-1).steps.get()
    assert [u.username for u in resolve_approvers(step, stock.outsider_user)] == ["dora"]


def test_reject_ends_request_and_needs_a_comment(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)])
    req = _submit(stock.rep_user)
    task = _task(req, stock.manager_user)
    with pytest.raises(ServiceError) as exc:
        approval_act(actor=stock.manager_user, task_id=task.pk, action="reject", comment="  ")
    assert (exc.value.code, exc.value.field) == ("comment_required", "comment")
    req = approval_act(actor=stock.manager_user, task_id=task.pk, action="reject", comment="不符")
    assert req.status == ApprovalStatus.REJECTED
    assert calls.log == [("rejected", req.pk, "bob")]
    with pytest.raises(ServiceError) as exc:
        approval_resubmit(actor=stock.rep_user, request_id=req.pk)
    assert exc.value.code == "not_returned"


def test_submitting_again_resumes_the_submitters_returned_request(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理审批", role=RoleCode.MANAGER)])

    def again(user: User) -> ApprovalRequest:
        return approval_submit_again(
            actor=user, doc_type=DOC, object_id="7", title="差旅报销（补）", amount="12.50"
        )

    first = again(stock.rep_user)  # nothing before: a new request
    approval_act(
        actor=stock.manager_user,
        task_id=_task(first, stock.manager_user).pk,
        action="return",
        comment="补",
    )
    # Someone else submitting opens a request of their own beside the returned one …
    peer = UserFactory(username="ann", role=role(RoleCode.REP))
    EmployeeFactory(name="安", department=stock.team, manager=stock.manager, user=peer)
    other = again(peer)
    assert other.pk != first.pk
    approval_cancel(actor=peer, request_id=other.pk)
    # … and then the returned one is no longer the document's latest: a new request.
    third = again(stock.rep_user)
    assert third.pk not in (first.pk, other.pk)
    approval_act(
        actor=stock.manager_user,
        task_id=_task(third, stock.manager_user).pk,
        action="return",
        comment="补",
    )
    resumed = again(stock.rep_user)  # the submitter's returned request, resubmitted
    assert resumed.pk == third.pk
    assert (resumed.status, resumed.title, resumed.amount) == (
        ApprovalStatus.PENDING,
        "差旅报销（补）",
        Decimal("12.50"),
    )
    assert ApprovalRequest.objects.filter(doc_type=DOC, object_id="7").count() == 3


def test_send_back_and_resubmit_starts_again(stock, director, calls) -> None:  # type: ignore[no-untyped-def]
    _flow(
        [
            StepSpec(name="经理审批", role=RoleCode.MANAGER),
            StepSpec(name="总监审批", role=RoleCode.DIRECTOR),
        ]
    )
    req = _submit(stock.rep_user)
    approval_act(
        actor=stock.manager_user, task_id=_task(req, stock.manager_user).pk, action="approve"
    )
    req = approval_act(
        actor=director, task_id=_task(req, director).pk, action="return", comment="请补充发票"
    )
    assert req.status == ApprovalStatus.RETURNED
    assert calls.log == [("returned", req.pk, "dora")]
    with pytest.raises(ServiceError) as exc:
        approval_resubmit(actor=stock.manager_user, request_id=req.pk)
    assert exc.value.code == "not_submitter"

    req = approval_resubmit(actor=stock.rep_user, request_id=req.pk, title="差旅报销（补发票）")
    assert (req.status, req.current_step, req.title) == (
        ApprovalStatus.PENDING,
        1,
        "差旅报销（补发票）",
    )
    assert req.decided_at is None
    approval_act(
        actor=stock.manager_user, task_id=_task(req, stock.manager_user).pk, action="approve"
    )
    req = approval_act(actor=director, task_id=_task(req, director).pk, action="approve")
    assert req.status == ApprovalStatus.APPROVED
    assert calls.log == [("returned", req.pk, "dora"), ("approved", req.pk, "dora")]
    assert list(req.events.values_list("action", flat=True)) == [
        "submit",
        "approve",
        "return",
        "resubmit",
        "approve",
        "approve",
        "finish",
    ]


def test_amount_routing(stock, director, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)], max_amount=Decimal("10000"))
    big = _flow(
        [StepSpec(name="经理", role=RoleCode.MANAGER), StepSpec(name="总监", role="director")],
        min_amount=Decimal("10000"),
    )
    small = _submit(stock.rep_user, amount="9999.99", object_id="1")
    assert small.flow.steps.count() == 1
    large = _submit(stock.rep_user, amount=10000, object_id="2")
    assert large.flow_id == big.pk
    assert large.amount == Decimal("10000.00")
    # A higher-priority flow wins where thresholds overlap.
    vip = _flow([StepSpec(name="总监", role="director")], min_amount=50000, priority=10)
    assert _submit(stock.rep_user, amount=60000, object_id="3").flow_id == vip.pk
    with pytest.raises(ServiceError) as exc:
        _submit(stock.rep_user, amount=None, object_id="4")
    assert exc.value.code == "no_flow"
    assert exc.value.message == "“测试报销”没有适用的审批流程，请联系管理员配置"


def test_no_approver_is_an_error_at_submit(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="财务审核", role=role(RoleCode.FINANCE))])  # a role nobody holds
    with pytest.raises(ServiceError) as exc:
        _submit(stock.rep_user)
    assert exc.value.code == "no_approver"
    assert exc.value.message == "审批节点“财务审核”找不到审批人，请联系管理员配置"
    assert ApprovalRequest.objects.count() == 0


def test_double_action_refused(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)])
    req = _submit(stock.rep_user)
    task = _task(req, stock.manager_user)
    approval_act(actor=stock.manager_user, task_id=task.pk, action="approve")
    with pytest.raises(ServiceError) as exc:
        approval_act(actor=stock.manager_user, task_id=task.pk, action="reject", comment="x")
    assert (exc.value.code, exc.value.status) == ("task_done", 409)
    assert calls.log == [("approved", req.pk, "bob")]


def test_non_approver_refused(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)])
    req = _submit(stock.rep_user)
    task = _task(req, stock.manager_user)
    with pytest.raises(ServiceError) as exc:  # the submitter sees it, but is not the approver
        approval_act(actor=stock.rep_user, task_id=task.pk, action="approve")
    assert (exc.value.code, exc.value.status) == ("not_approver", 403)
    with pytest.raises(ServiceError) as exc:  # a stranger does not even see it
        approval_act(actor=stock.outsider_user, task_id=task.pk, action="approve")
    assert exc.value.status == 404
    with pytest.raises(ServiceError) as exc:
        approval_act(actor=stock.manager_user, task_id=task.pk, action="delete")
    assert exc.value.code == "invalid_action"
    assert calls.log == []


def test_cancel_by_submitter_only_while_pending(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)])
    req = _submit(stock.rep_user)
    with pytest.raises(ServiceError) as exc:
        approval_cancel(actor=stock.outsider_user, request_id=req.pk)
    assert exc.value.status == 404
    req = approval_cancel(actor=stock.rep_user, request_id=req.pk)
    assert req.status == ApprovalStatus.CANCELLED
    assert list(req.tasks.values_list("status", flat=True)) == [TaskStatus.SKIPPED]
    assert calls.log == [("cancelled", req.pk, "alice")]
    with pytest.raises(ServiceError) as exc:
        approval_cancel(actor=stock.rep_user, request_id=req.pk)
    assert exc.value.code == "not_pending"
    assert Notification.objects.filter(user=stock.manager_user).count() == 2  # task + withdrawn


def test_duplicate_pending_submit_refused(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)])
    _submit(stock.rep_user)
    with pytest.raises(ServiceError) as exc:
        _submit(stock.rep_user)
    assert exc.value.code == "already_pending"


def test_notifications_reach_approvers_and_submitter(stock, director, calls) -> None:  # type: ignore[no-untyped-def]
    _flow(
        [
            StepSpec(name="经理审批", role=RoleCode.MANAGER),
            StepSpec(name="总监审批", role="director"),
        ]
    )
    req = _submit(stock.rep_user)
    note = Notification.objects.get(user=stock.manager_user)
    assert note.title == "待审批：差旅报销"
    assert note.body == "alice 提交的测试报销等待您审批（经理审批）"
    assert note.url == f"/approvals/{req.pk}/"
    approval_act(
        actor=stock.manager_user, task_id=_task(req, stock.manager_user).pk, action="approve"
    )
    assert Notification.objects.filter(user=director).count() == 1
    approval_act(
        actor=director, task_id=_task(req, director).pk, action="reject", comment="预算不足"
    )
    mine = Notification.objects.get(user=stock.rep_user)
    assert (mine.title, mine.body) == ("审批被驳回：差旅报销", "预算不足")


def test_every_action_is_audited(stock, calls) -> None:  # type: ignore[no-untyped-def]
    _flow([StepSpec(name="经理", role=RoleCode.MANAGER)])
    req = _submit(stock.rep_user)
    approval_act(
        actor=stock.manager_user,
        task_id=_task(req, stock.manager_user).pk,
        action="return",
        comment="补充",
    )
    approval_resubmit(actor=stock.rep_user, request_id=req.pk)
    approval_act(
        actor=stock.manager_user, task_id=_task(req, stock.manager_user).pk, action="approve"
    )
    rows = AuditLog.objects.filter(
        object_type="core.approvalrequest", object_id=str(req.pk)
    ).order_by("id")
    assert [(r.actor.username, r.action, r.field, r.before, r.after, r.note) for r in rows] == [
        ("alice", "approval", "status", "", "pending", "submit"),
        ("alice", "approval", "flow", "", str(req.flow_id), "submit"),
        ("bob", "approval", "status", "pending", "returned", "return: 补充"),
        ("alice", "approval", "status", "returned", "pending", "resubmit"),
        ("bob", "approval", "status", "pending", "approved", "approve"),
    ]
    assert ApprovalEvent.objects.filter(request=req).count() == 5


def test_flow_validation_and_audited_update(stock, calls) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ServiceError) as exc:
        _flow([])
    assert exc.value.errors[0].field == "steps"
    with pytest.raises(ServiceError) as exc:
        _flow([StepSpec(name="x", role=RoleCode.MANAGER)], min_amount=10, max_amount=5)
    assert exc.value.field == "max_amount"
    with pytest.raises(ServiceError) as exc:
        approval_flow_create(actor=None, doc_type="nope", name="x", steps=[])
    assert exc.value.code == "unknown_doc_type"
    with pytest.raises(ServiceError) as exc:
        _flow([StepSpec(name="x")])
    assert exc.value.errors[0].field == "steps.1.role"
    with pytest.raises(ServiceError) as exc:  # only admins configure flows
        approval_flow_create(
            actor=stock.manager_user,
            doc_type=DOC,
            name="x",
            steps=[StepSpec(name="x", role="manager")],
        )
    assert exc.value.status == 403

    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    flow = approval_flow_create(
        actor=admin, doc_type=DOC, name="报销", steps=[{"name": "经理", "role": "manager"}]
    )
    flow = approval_flow_update(actor=admin, flow=flow, name="报销流程", max_amount="5000")
    rows = AuditLog.objects.filter(
        object_type="core.approvalflow", object_id=str(flow.pk), action="update"
    )
    assert sorted((r.field, r.before, r.after) for r in rows) == [
        ("max_amount", "", "5000.00"),
        ("name", "报销", "报销流程"),
    ]
    # Steps of a flow in use: a new version, the old one retired.
    _submit(stock.rep_user, amount=100)
    new = approval_flow_update(
        actor=admin,
        flow=flow,
        steps=[
            StepSpec(name="经理", role="manager"),
            StepSpec(name="再审", users=[stock.manager_user]),
        ],
    )
    assert new.pk != flow.pk
    flow.refresh_from_db()
    assert (flow.active, new.active, new.steps.count()) == (False, True, 2)
