"""Org screens: scopes (404 outside), masking, lazy genealogy, forms, bounded queries."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse

from salesops.core.models import AuditLog
from salesops.factories import EmployeeFactory, MemberFactory
from salesops.org.models import Department, Employee, Member

pytestmark = pytest.mark.django_db


def _login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def _member_nos(resp) -> list[str]:  # type: ignore[no-untyped-def]
    return [row["obj"].member_no for row in resp.context["rows"]]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("rep_user", ["M-LEAF", "M-MID", "M-TOP"]),
        ("manager_user", ["M-LEAF", "M-MID", "M-TOP"]),
        ("outsider_user", ["M-FAR", "M-SIDE"]),
        ("member_user", ["M-LEAF", "M-MID"]),
        ("director_user", ["M-FAR", "M-LEAF", "M-MID", "M-SIDE", "M-TOP"]),
    ],
)
def test_member_list_is_scoped(client: Client, stock, net, who, expected) -> None:  # type: ignore[no-untyped-def]
    user = getattr(net, who, None) or getattr(stock, who)
    resp = _login(client, user).get(reverse("org:members"))
    assert resp.status_code == 200
    assert _member_nos(resp) == expected


def test_member_detail_out_of_scope_is_404(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    _login(client, net.member_user)
    assert client.get(reverse("org:member_detail", args=[net.leaf.pk])).status_code == 200
    for other in (net.top, net.side, net.far):
        assert client.get(reverse("org:member_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("org:genealogy_children", args=[net.top.pk])).status_code == 404
    _login(client, stock.outsider_user)
    assert client.get(reverse("org:member_detail", args=[net.mid.pk])).status_code == 404


def test_member_detail_shows_upline_history_and_masks_phone(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    resp = _login(client, stock.rep_user).get(reverse("org:member_detail", args=[net.leaf.pk]))
    assert [m.member_no for m in resp.context["upline"]] == ["M-TOP", "M-MID", "M-LEAF"]
    assert len(resp.context["sponsor_history"]) == 1
    resp = client.get(reverse("org:member_detail", args=[net.mid.pk]))
    assert resp.context["phone"] == "13912345678"  # the rep services this member
    assert resp.context["downline_total"] == 1
    assert [c.member_no for c in resp.context["children"]] == ["M-LEAF"]
    resp = _login(client, net.member_user).get(reverse("org:member_detail", args=[net.mid.pk]))
    assert resp.context["phone"] == "139****5678"
    assert [m.member_no for m in resp.context["upline"]] == ["M-MID"]


def test_genealogy_loads_one_level_per_click(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    _login(client, net.director_user)
    resp = client.get(reverse("org:genealogy"), {"root": "M-TOP"})
    assert [(n.member_no, n.n_children) for n in resp.context["nodes"]] == [("M-TOP", 2)]
    part = client.get(reverse("org:genealogy_children", args=[net.top.pk]), HTTP_HX_REQUEST="true")
    assert part.status_code == 200
    assert [(n.member_no, n.n_children) for n in part.context["nodes"]] == [
        ("M-MID", 1),
        ("M-SIDE", 0),
    ]
    assert "M-LEAF" not in part.content.decode()
    # A member starts at themselves; searching outside their line is refused politely.
    _login(client, net.member_user)
    resp = client.get(reverse("org:genealogy"))
    assert [n.member_no for n in resp.context["nodes"]] == ["M-MID"]
    resp = client.get(reverse("org:genealogy"), {"root": "M-TOP"})
    assert [n.member_no for n in resp.context["nodes"]] == ["M-MID"]
    assert resp.context["error"] == "会员 M-TOP 不存在或无权查看"


def test_genealogy_children_paginate(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    for i in range(55):
        MemberFactory(member_no=f"K{i:03d}", sponsor=net.far, joined_on=datetime.date(2025, 1, 1))
    _login(client, net.admin_user)
    url = reverse("org:genealogy_children", args=[net.far.pk])
    first = client.get(url)
    assert len(first.context["nodes"]) == 50
    assert first.context["more"] is True
    second = client.get(url, {"offset": 50})
    assert [n.member_no for n in second.context["nodes"]] == [f"K{i:03d}" for i in range(50, 55)]
    assert second.context["more"] is False


def test_list_pages_have_bounded_queries(
    client: Client, stock, net, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(30):
        MemberFactory(member_no=f"Q{i:03d}", sponsor=net.leaf, owner=stock.rep)
        EmployeeFactory(department=stock.team, manager=stock.manager)
    _login(client, net.director_user)
    for name in ("org:members", "org:employees", "org:departments", "org:sponsor_changes"):
        client.get(reverse(name))  # warm per-user caches (session, viewer)
        with django_assert_max_num_queries(12):
            resp = client.get(reverse(name))
        assert resp.status_code == 200
    with django_assert_max_num_queries(15):  # one query per tab, whatever the sizes
        client.get(reverse("org:member_detail", args=[net.leaf.pk]))
    with django_assert_max_num_queries(8):
        client.get(reverse("org:genealogy_children", args=[net.leaf.pk]))


def test_employee_list_scope_and_detail_404(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    resp = _login(client, stock.manager_user).get(reverse("org:employees"))
    assert [r["obj"].name for r in resp.context["rows"]] == ["鲍勃", "爱丽丝"]
    assert client.get(reverse("org:employee_detail", args=[stock.rep.pk])).status_code == 200
    assert client.get(reverse("org:employee_detail", args=[stock.outsider.pk])).status_code == 404
    resp = client.get(reverse("org:employees"), {"department": str(stock.team.pk), "q": "爱"})
    assert [r["obj"].name for r in resp.context["rows"]] == ["爱丽丝"]
    assert [r["cells"][2]["value"] for r in resp.context["rows"]] == [
        stock.rep.phone[:3] + "****" + stock.rep.phone[-4:]
    ]


def test_employee_detail_shows_operation_log(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    _login(client, net.admin_user)
    resp = client.post(
        reverse("org:employee_edit", args=[stock.rep.pk]),
        {
            "name": "爱丽丝二",
            "phone": "13800000000",
            "department": stock.team.pk,
            "manager": stock.manager.pk,
            "active": "on",
        },
    )
    assert resp.status_code == 302
    resp = client.get(reverse("org:employee_detail", args=[stock.rep.pk]))
    fields = [(row.field, row.after) for row in resp.context["log"] if row.action == "update"]
    assert ("name", "爱丽丝二") in fields
    assert resp.context["emp"].name == "爱丽丝二"


def test_only_admin_edits_org(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    _login(client, net.director_user)
    assert client.get(reverse("org:department_create")).status_code == 403
    assert client.get(reverse("org:employee_create")).status_code == 403
    _login(client, net.admin_user)
    resp = client.post(
        reverse("org:department_create"),
        {"name": "华北一组", "code": "T3", "kind": "team", "parent": stock.company.pk},
    )
    assert resp.status_code == 302
    dept = Department.objects.get(code="T3")
    assert (dept.parent_id, dept.depth) == (stock.company.pk, 1)
    resp = client.post(
        reverse("org:department_create"),
        {"name": "重复", "code": "T3", "kind": "team"},
    )
    assert resp.status_code == 200
    assert resp.context["form"].errors["code"] == ["部门编码 T3 已存在"]
    resp = client.post(
        reverse("org:employee_create"),
        {"employee_no": "E-NEW", "name": "新人", "department": dept.pk},
    )
    assert resp.status_code == 302
    assert Employee.objects.get(employee_no="E-NEW").department_id == dept.pk


def test_org_chart_data_is_scoped(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    resp = _login(client, stock.rep_user).get(reverse("org:chart_data"))
    roots = resp.json()["roots"]
    assert [r["name"] for r in roots] == ["华东一组"]
    assert [c["name"] for c in roots[0]["children"]] == ["爱丽丝"]
    resp = _login(client, net.director_user).get(reverse("org:chart_data"))
    (company,) = resp.json()["roots"]
    assert [c["name"] for c in company["children"]] == ["华东一组", "华南一组", "多拉"]
    assert client.get(reverse("org:chart")).status_code == 200


def test_org_chart_brackets_follow_the_language(client: Client, stock) -> None:  # type: ignore[no-untyped-def]
    # given a rep with a position
    from salesops.factories import PositionFactory

    EmployeeFactory(
        name="Ann",
        department=stock.team,
        manager=stock.manager,
        position=PositionFactory(code="P-AE", name="AE"),
    )
    _login(client, stock.manager_user)

    def people() -> list[str]:
        (team,) = client.get(reverse("org:chart_data")).json()["roots"]
        return [c["name"] for c in team["children"]]

    # when the chart is read in Chinese, then full-width brackets
    assert people() == ["鲍勃", "爱丽丝", "Ann（AE）"]

    # when it is read in English, then "name (position)"
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert people() == ["鲍勃", "爱丽丝", "Ann (AE)"]


def test_member_export_is_recorded(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    resp = _login(client, stock.rep_user).get(reverse("org:members"), {"export": "xlsx"})
    assert resp.status_code == 200
    assert AuditLog.objects.filter(action="export", object_type="members").count() == 1
    assert Member.objects.count() == 5


def test_sponsor_change_form_submits_and_reports_errors(client: Client, stock, net) -> None:  # type: ignore[no-untyped-def]
    from salesops.core.approvals.services import StepSpec, approval_flow_create
    from salesops.core.models import RoleCode
    from salesops.org.models import SponsorChangeRequest

    approval_flow_create(
        actor=None,
        doc_type="org.sponsor_change",
        name="推荐人变更审批",
        steps=[StepSpec(name="管理员审批", role=RoleCode.ADMIN)],
    )
    _login(client, stock.rep_user)
    url = reverse("org:sponsor_change_create")
    resp = client.get(url, {"member": net.leaf.pk})
    assert resp.context["form"].initial == {"member_no": "M-LEAF"}
    data = {"member_no": "M-MID", "new_sponsor_no": "M-LEAF", "effective_on": "2026-03-01"}
    resp = client.post(url, {**data, "reason": "r"})
    assert resp.context["form"].errors["new_sponsor_no"] == [
        "新推荐人 叶（M-LEAF） 是该会员的下线，变更后会形成循环"
    ]
    resp = client.post(url, {**data, "member_no": "M-FAR", "reason": "r"})
    assert resp.context["form"].errors["member_no"] == ["会员不存在或无权操作"]
    resp = client.post(url, {**data, "new_sponsor_no": "M-SIDE", "reason": "换线"})
    req = SponsorChangeRequest.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == reverse("org:sponsor_change_detail", args=[req.pk])
    listing = client.get(reverse("org:sponsor_changes"))
    assert [r["obj"].pk for r in listing.context["rows"]] == [req.pk]
