"""审批中心 pages and the approvals API: tabs, detail, actions, 404 for strangers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client

from salesops.core.approvals import (
    StepSpec,
    approval_act,
    approval_flow_create,
    approval_submit,
    register_document_type,
)
from salesops.core.approvals.registry import unregister_document_type
from salesops.core.models import (
    ApprovalRequest,
    ApprovalStatus,
    ApprovalTask,
    RoleCode,
    TaskStatus,
    User,
)
from salesops.factories import EmployeeFactory, UserFactory, role

DOC = "test.leave"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    # PBKDF2 makes each stock user cost ~1 s; these tests are not about hashing.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def doc() -> Iterator[list[str]]:
    outcomes: list[str] = []
    register_document_type(
        DOC,
        label="测试请假",
        on_approved=lambda r: outcomes.append(f"approved:{r.object_id}"),
        on_rejected=lambda r: outcomes.append(f"rejected:{r.object_id}"),
        url=lambda object_id: f"/leave/{object_id}/",
    )
    yield outcomes
    unregister_document_type(DOC)


@pytest.fixture
def flow(stock, doc):  # type: ignore[no-untyped-def]
    director = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="多拉", department=stock.company, user=director)
    return approval_flow_create(
        actor=None,
        doc_type=DOC,
        name="请假",
        steps=[
            StepSpec(name="经理审批", role="manager"),
            StepSpec(name="总监审批", role="director"),
        ],
    )


def _submit(user: User, n: int = 1) -> ApprovalRequest:
    return approval_submit(actor=user, doc_type=DOC, object_id=str(n), title=f"请假{n}")


def _pending(req: ApprovalRequest, user: User) -> ApprovalTask:
    return ApprovalTask.objects.get(request=req, approver=user, status=TaskStatus.PENDING)


def _titles(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return [row["obj"].title for row in resp.context["rows"]]


def test_inbox_tabs(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    r1, r2 = _submit(stock.rep_user, 1), _submit(stock.rep_user, 2)
    approval_act(
        actor=stock.manager_user, task_id=_pending(r1, stock.manager_user).pk, action="approve"
    )
    client.force_login(stock.manager_user)
    resp = client.get("/approvals/")
    assert resp.status_code == 200
    assert _titles(resp) == ["请假2"]
    assert "待我审批（1）" in resp.content.decode()
    assert _titles(client.get("/approvals/?scene=done")) == ["请假1"]
    assert _titles(client.get("/approvals/?scene=mine")) == []
    client.force_login(stock.rep_user)
    assert _titles(client.get("/approvals/?scene=mine")) == ["请假2", "请假1"]
    assert _titles(client.get("/approvals/?scene=mine&q=请假1")) == ["请假1"]
    assert _titles(client.get("/approvals/")) == []
    assert r2.status == ApprovalStatus.PENDING


def test_inbox_queries_are_bounded(stock, flow, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for n in range(25):
        _submit(stock.rep_user, n)
    client.force_login(stock.manager_user)
    with django_assert_max_num_queries(12):
        resp = client.get("/approvals/")
    assert len(resp.context["rows"]) == 20
    assert resp.context["paginator"].count == 25
    with django_assert_max_num_queries(12):
        assert client.get("/approvals/?page=2").status_code == 200


def test_detail_visible_to_submitter_and_approver_only(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    req = _submit(stock.rep_user)
    url = f"/approvals/{req.pk}/"
    client.force_login(stock.outsider_user)
    assert client.get(url).status_code == 404
    client.force_login(stock.rep_user)
    resp = client.get(url)
    assert resp.status_code == 200
    assert resp.context["my_task"] is None
    assert resp.context["can_cancel"] is True
    assert resp.context["doc_url"] == "/leave/1/"
    client.force_login(stock.manager_user)
    resp = client.get(url)
    assert resp.context["my_task"].approver == stock.manager_user
    body = resp.content.decode()
    assert 'id="btn-approve"' in body
    assert "经理审批" in body
    assert client.get("/approvals/999999/").status_code == 404


def test_act_through_the_page(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    req = _submit(stock.rep_user)
    task = _pending(req, stock.manager_user)
    url = f"/approvals/tasks/{task.pk}/reject/"
    client.force_login(stock.outsider_user)
    assert client.post(url, {"comment": "x"}).status_code == 404
    client.force_login(stock.rep_user)
    assert client.post(url, {"comment": "x"}).status_code == 403
    client.force_login(stock.manager_user)
    # htmx without a comment: the error comes back in the panel, nothing changes.
    resp = client.post(url, {"comment": ""}, HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert "驳回或退回时必须填写审批意见" in resp.content.decode()
    resp = client.post(
        f"/approvals/tasks/{task.pk}/approve/", {"comment": "好"}, HTTP_HX_REQUEST="true"
    )
    assert resp.status_code == 204
    assert resp["HX-Redirect"] == f"/approvals/{req.pk}/"
    req.refresh_from_db()
    assert (req.status, req.current_step) == (ApprovalStatus.PENDING, 2)
    # A second click on the same task is refused, without htmx: redirect with a message.
    resp = client.post(f"/approvals/tasks/{task.pk}/approve/", {"request_id": req.pk})
    assert resp.status_code == 302
    shown = [str(m) for m in client.get(resp["Location"]).context["messages"]]
    assert shown == ["已处理：请假1", "该任务已处理，请勿重复操作"]
    assert client.get(url).status_code == 405


def test_cancel_and_resubmit_buttons(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    req = _submit(stock.rep_user)
    client.force_login(stock.manager_user)
    assert client.post(f"/approvals/{req.pk}/cancel/").status_code == 403
    client.force_login(stock.outsider_user)
    assert client.post(f"/approvals/{req.pk}/cancel/").status_code == 404
    client.force_login(stock.rep_user)
    resp = client.post(f"/approvals/{req.pk}/cancel/")
    assert resp.status_code == 302
    req.refresh_from_db()
    assert req.status == ApprovalStatus.CANCELLED


def test_flow_list_admin_only(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stock.manager_user)
    assert client.get("/approvals/flows/").status_code == 403
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    client.force_login(admin)
    resp = client.get("/approvals/flows/")
    assert resp.status_code == 200
    assert [row["obj"].name for row in resp.context["rows"]] == ["请假"]


# --------------------------------------------------------------------------- API


def _auth(client: Client, username: str) -> dict[str, str]:
    resp = client.post(
        "/api/auth/token",
        data=json.dumps({"username": username, "password": "pw-for-tests"}),
        content_type="application/json",
    )
    return {"HTTP_AUTHORIZATION": f"Bearer {resp.json()['token']}"}


def test_api_inbox_detail_and_act(stock, flow, doc, client: Client) -> None:  # type: ignore[no-untyped-def]
    req = _submit(stock.rep_user)
    bob = _auth(client, "bob")
    body = client.get("/api/approvals/inbox?tab=pending", **bob).json()
    assert (body["count"], body["page"], body["page_size"]) == (1, 1, 20)
    item = body["items"][0]
    assert (item["title"], item["current_step_name"], item["doc_label"]) == (
        "请假1",
        "经理审批",
        "测试请假",
    )
    task_id = item["my_task_id"]
    assert (
        client.get("/api/approvals/inbox?tab=pending&page_size=500", **bob).json()["page_size"]
        == 100
    )

    resp = client.post(
        f"/api/approvals/tasks/{task_id}/return", data="{}", content_type="application/json", **bob
    )
    # The schema declares the comment required for 退回 (RequiredCommentIn): 422 on the field.
    assert resp.status_code == 422
    assert (resp.json()["code"], [f["field"] for f in resp.json()["fields"]]) == (
        "invalid_input",
        ["comment"],
    )
    resp = client.post(
        f"/api/approvals/tasks/{task_id}/approve",
        data=json.dumps({"comment": "同意"}),
        content_type="application/json",
        **bob,
    )
    assert resp.status_code == 200
    detail = resp.json()
    assert (detail["status"], detail["current_step"]) == ("pending", 2)
    assert [e["action"] for e in detail["events"]] == ["submit", "approve"]
    resp = client.post(
        f"/api/approvals/tasks/{task_id}/approve", data="{}", content_type="application/json", **bob
    )
    assert (resp.status_code, resp.json()["code"]) == (409, "task_done")

    dora = _auth(client, "dora")
    task2 = client.get("/api/approvals/inbox", **dora).json()["items"][0]["my_task_id"]
    resp = client.post(
        f"/api/approvals/tasks/{task2}/reject",
        data=json.dumps({"comment": "不批"}),
        content_type="application/json",
        **dora,
    )
    assert resp.json()["status"] == "rejected"
    assert doc == ["rejected:1"]
    assert (
        client.get("/api/approvals/inbox?tab=done", **dora).json()["items"][0]["my_action"]
        == "rejected"
    )
    assert client.get(f"/api/approvals/{req.pk}", **bob).status_code == 200


def test_api_strangers_get_404(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    req = _submit(stock.rep_user)
    task = _pending(req, stock.manager_user)
    charlie = _auth(client, "charlie")
    assert client.get(f"/api/approvals/{req.pk}", **charlie).status_code == 404
    resp = client.post(
        f"/api/approvals/tasks/{task.pk}/approve",
        data="{}",
        content_type="application/json",
        **charlie,
    )
    assert resp.status_code == 404
    assert client.post(f"/api/approvals/{req.pk}/cancel", **charlie).status_code == 404
    assert client.get("/api/approvals/inbox?tab=mine", **charlie).json()["count"] == 0
    assert client.get("/api/approvals/inbox?tab=bogus", **charlie).status_code == 422


def test_api_cancel_and_resubmit(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    req = _submit(stock.rep_user)
    approval_act(
        actor=stock.manager_user,
        task_id=_pending(req, stock.manager_user).pk,
        action="return",
        comment="补材料",
    )
    alice = _auth(client, "alice")
    resp = client.post(f"/api/approvals/{req.pk}/resubmit", **alice)
    assert resp.status_code == 200
    assert (resp.json()["status"], resp.json()["current_step"]) == ("pending", 1)
    resp = client.post(f"/api/approvals/{req.pk}/cancel", **alice)
    assert resp.json()["status"] == "cancelled"
    resp = client.post(f"/api/approvals/{req.pk}/cancel", **alice)
    assert (resp.status_code, resp.json()["code"]) == (409, "not_pending")


def test_detail_shows_latest_round_and_history(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    from salesops.core.approvals import approval_resubmit

    req = _submit(stock.rep_user)
    approval_act(
        actor=stock.manager_user,
        task_id=_pending(req, stock.manager_user).pk,
        action="return",
        comment="补材料",
    )
    approval_resubmit(actor=stock.rep_user, request_id=req.pk)
    client.force_login(stock.rep_user)
    resp = client.get(f"/approvals/{req.pk}/")
    steps = resp.context["steps"]
    assert [(s["step"].name, s["state"]) for s in steps] == [
        ("经理审批", "current"),
        ("总监审批", "todo"),
    ]
    assert [t.status for t in steps[0]["tasks"]] == [TaskStatus.PENDING]
    assert [(e["event"].action, str(e["label"])) for e in resp.context["events"]] == [
        ("submit", "提交"),
        ("return", "退回"),
        ("resubmit", "重新提交"),
    ]
    body = resp.content.decode()
    assert "补材料" in body
    assert 'id="btn-cancel"' in body
    assert len(resp.context["audit_rows"]) == 4
