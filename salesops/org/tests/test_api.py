"""Org API: scopes (404 outside), pagination shape, masking, sponsor-change requests."""

from __future__ import annotations

import pytest
from django.test import Client

from salesops.core.approvals.services import StepSpec, approval_act, approval_flow_create
from salesops.core.models import ApprovalRequest, ApprovalTask, RoleCode
from salesops.core.tokens import token_issue
from salesops.org.models import Member, RequestStatus, SponsorChangeRequest

pytestmark = pytest.mark.django_db


def _auth(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    key, _ = token_issue(username=user.username, password="pw-for-tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_members_list_paginated_scoped_and_masked(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/members?page_size=2", **_auth(net.member_user)).json()
    assert (body["count"], body["page"], body["page_size"]) == (2, 1, 2)
    assert [m["member_no"] for m in body["items"]] == ["M-LEAF", "M-MID"]
    assert body["items"][1]["phone"] == "139****5678"
    body = client.get("/api/members?q=MID", **_auth(stock.rep_user)).json()
    assert [(m["member_no"], m["phone"]) for m in body["items"]] == [("M-MID", "13912345678")]


def test_out_of_scope_member_is_404_everywhere(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(net.member_user)
    for url in (
        f"/api/members/{net.top.pk}",
        f"/api/members/{net.top.pk}/downline",
        f"/api/members/{net.far.pk}/upline",
        f"/api/employees/{stock.rep.pk}",
    ):
        resp = client.get(url, **auth)
        assert resp.status_code == 404, url
        assert resp.json()["code"] == "not_found"
    resp = client.post(
        f"/api/members/{net.side.pk}/sponsor-change-requests",
        data={"new_sponsor_no": "M-FAR", "effective_on": "2026-03-01", "reason": "x"},
        content_type="application/json",
        **auth,
    )
    assert resp.status_code == 404


def test_downline_depth_and_upline(
    client: Client, stock, net, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    auth = _auth(net.director_user)
    client.get("/api/me", **auth)  # not counted: the first call of a token
    with django_assert_max_num_queries(8):
        body = client.get(f"/api/members/{net.top.pk}/downline?depth=1", **auth).json()
    assert body["count"] == 2
    assert [m["member_no"] for m in body["items"]] == ["M-MID", "M-SIDE"]
    body = client.get(f"/api/members/{net.top.pk}/downline", **auth).json()
    assert [m["member_no"] for m in body["items"]] == ["M-MID", "M-LEAF", "M-SIDE"]
    body = client.get(f"/api/members/{net.top.pk}/downline?depth=0", **auth).json()
    assert body["code"] == "invalid_input"
    assert body["fields"] == [{"field": "depth", "message": "不能小于 1"}]
    upline = client.get(f"/api/members/{net.leaf.pk}/upline", **auth).json()
    assert [m["member_no"] for m in upline] == ["M-TOP", "M-MID", "M-LEAF"]


def test_employees_and_departments_are_scoped(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    body = client.get("/api/employees", **_auth(stock.manager_user)).json()
    assert [e["name"] for e in body["items"]] == ["鲍勃", "爱丽丝"]
    assert body["items"][1]["phone"] == stock.rep.phone[:3] + "****" + stock.rep.phone[-4:]
    one = client.get(f"/api/employees/{stock.rep.pk}", **_auth(net.director_user)).json()
    assert one["phone"] == stock.rep.phone
    depts = client.get("/api/departments", **_auth(net.director_user)).json()
    assert [d["code"] for d in depts["items"]] == ["HQ", "T1", "T2"]
    depts = client.get("/api/departments", **_auth(stock.rep_user)).json()
    assert [d["code"] for d in depts["items"]] == ["T1"]


def test_sponsor_change_request_through_approval(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    approval_flow_create(
        actor=None,
        doc_type="org.sponsor_change",
        name="推荐人变更审批",
        steps=[StepSpec(name="管理员审批", role=RoleCode.ADMIN)],
    )
    resp = client.post(
        f"/api/members/{net.leaf.pk}/sponsor-change-requests",
        data={"new_sponsor_no": "M-MID", "effective_on": "2026-03-01", "reason": "x"},
        content_type="application/json",
        **_auth(stock.rep_user),
    )
    assert resp.status_code == 400
    assert resp.json()["code"] == "same_sponsor"
    resp = client.post(
        f"/api/members/{net.mid.pk}/sponsor-change-requests",
        data={"new_sponsor_no": "M-LEAF", "effective_on": "2026-03-01", "reason": "x"},
        content_type="application/json",
        **_auth(stock.rep_user),
    )
    assert resp.json()["code"] == "cycle"
    resp = client.post(
        f"/api/members/{net.mid.pk}/sponsor-change-requests",
        data={"new_sponsor_no": "M-SIDE", "effective_on": "2026-03-01", "reason": "换线"},
        content_type="application/json",
        **_auth(stock.rep_user),
    )
    assert resp.status_code == 201, resp.content
    req = SponsorChangeRequest.objects.get(pk=resp.json()["id"])
    assert req.status == RequestStatus.PENDING
    assert Member.objects.get(pk=net.mid.pk).sponsor_id == net.top.pk  # not before approval

    approval = ApprovalRequest.objects.get(doc_type="org.sponsor_change", object_id=str(req.pk))
    task = ApprovalTask.objects.get(request=approval)
    approval_act(actor=net.admin_user, task_id=task.pk, action="approve", comment="同意")

    req.refresh_from_db()
    mid, leaf = Member.objects.get(pk=net.mid.pk), Member.objects.get(pk=net.leaf.pk)
    assert req.status == RequestStatus.APPROVED
    assert (mid.sponsor_id, mid.depth, leaf.depth) == (net.side.pk, 2, 3)
    assert leaf.path.startswith(Member.objects.get(pk=net.side.pk).path)
    page = client.get(f"/org/sponsor-changes/{req.pk}/")
    assert page.status_code == 302  # login required for the screen
    client.force_login(stock.rep_user)
    assert client.get(f"/org/sponsor-changes/{req.pk}/").status_code == 200
    client.force_login(stock.outsider_user)
    assert client.get(f"/org/sponsor-changes/{req.pk}/").status_code == 404


def test_rejection_leaves_tree_alone(stock, net) -> None:  # type: ignore[no-untyped-def]
    from salesops.org.services.sponsor_changes import sponsor_change_request_submit

    approval_flow_create(
        actor=None,
        doc_type="org.sponsor_change",
        name="推荐人变更审批",
        steps=[StepSpec(name="管理员审批", role=RoleCode.ADMIN)],
    )
    req = sponsor_change_request_submit(
        actor=stock.rep_user,
        member=net.leaf,
        new_sponsor=net.side,
        effective_on=net.leaf.joined_on,
        reason="r",
    )
    task = ApprovalTask.objects.get(request__object_id=str(req.pk))
    approval_act(actor=net.admin_user, task_id=task.pk, action="reject", comment="不同意")
    req.refresh_from_db()
    assert req.status == RequestStatus.REJECTED
    assert Member.objects.get(pk=net.leaf.pk).sponsor_id == net.mid.pk


def test_downline_cursor_pages_reach_the_end(client: Client, stock, db) -> None:  # type: ignore[no-untyped-def]
    from salesops.core.models import RoleCode as RC
    from salesops.factories import MemberFactory, UserFactory, role

    admin = UserFactory(username="cursor-admin", role=role(RC.ADMIN))
    top = MemberFactory(member_no="C-TOP")
    kids = [MemberFactory(member_no=f"C-{i:02d}", sponsor=top) for i in range(5)]
    grandkids = [MemberFactory(member_no=f"C-{i:02d}-G", sponsor=kids[i]) for i in range(3)]
    auth = _auth(admin)
    seen: list[str] = []
    after = ""
    for _ in range(10):
        url = f"/api/members/{top.pk}/downline?page_size=3" + (f"&after={after}" if after else "")
        body = client.get(url, **auth).json()
        assert body["count"] == 8
        seen += [m["member_no"] for m in body["items"]]
        after = body["next_after"] or ""
        if not after:
            break
    assert sorted(seen) == sorted(str(m.member_no) for m in [*kids, *grandkids])
    assert len(seen) == len(set(seen)) == 8
