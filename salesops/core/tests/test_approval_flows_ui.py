"""审批流程设置 screens: create / edit a flow with its steps, row operations over htmx,
errors next to the fields, admin only, bounded queries on the list."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import expect

from salesops.core.approvals import StepSpec, approval_flow_create, register_document_type
from salesops.core.approvals.registry import unregister_document_type
from salesops.core.models import (
    ApprovalFlow,
    ApprovalStep,
    AuditLog,
    RoleCode,
    SignMode,
    User,
)
from salesops.factories import UserFactory, role

DOC = "test.expense"
NEW = "/approvals/flows/new/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def doc() -> Iterator[str]:
    register_document_type(
        DOC, label="测试报销", on_approved=lambda r: None, on_rejected=lambda r: None
    )
    yield DOC
    unregister_document_type(DOC)


@pytest.fixture
def admin(db: None) -> User:
    return UserFactory(username="root", display_name="管理员", role=role(RoleCode.ADMIN))


@pytest.fixture
def admin_client(client: Client, admin: User) -> Client:
    client.force_login(admin)
    return client


def _steps(flow: ApprovalFlow) -> list[tuple[int, str, str, str | None, list[str]]]:
    return [
        (
            s.order,
            s.name,
            s.mode,
            s.approver_role.code if s.approver_role else None,
            sorted(u.username for u in s.approver_users.all()),
        )
        for s in flow.steps.order_by("order")
    ]


def _post(stock: Any, **over: Any) -> dict[str, Any]:
    """A valid two-step flow as the browser posts it."""
    data: dict[str, Any] = {
        "op": "save",
        "doc_type": DOC,
        "name": "报销审批",
        "min_amount": "0",
        "max_amount": "5000",
        "priority": "5",
        "active": "on",
        "steps": ["1", "2"],
        "step-1-name": "经理审批",
        "step-1-mode": SignMode.SINGLE,
        "step-1-role": RoleCode.MANAGER,
        "step-2-name": "会签",
        "step-2-mode": SignMode.COUNTERSIGN,
        "step-2-role": "",
        "step-2-users": [stock.manager_user.pk, stock.outsider_user.pk],
    }
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def _db_state() -> tuple[int, int, int]:
    return (ApprovalFlow.objects.count(), ApprovalStep.objects.count(), AuditLog.objects.count())


def test_admin_creates_two_step_flow(stock, doc, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    page = admin_client.get(NEW)
    assert page.status_code == 200
    assert '<option value="test.expense">测试报销</option>' in page.content.decode()
    assert [r["key"] for r in page.context["step_rows"]] == ["1"]

    resp = admin_client.post(NEW, _post(stock))

    flow = ApprovalFlow.objects.get()
    assert resp.status_code == 302
    assert resp["Location"] == f"/approvals/flows/{flow.pk}/"
    assert (
        flow.doc_type,
        flow.name,
        flow.min_amount,
        flow.max_amount,
        flow.priority,
        flow.active,
    ) == (DOC, "报销审批", Decimal("0.00"), Decimal("5000.00"), 5, True)
    assert _steps(flow) == [
        (1, "经理审批", "single", "manager", []),
        (2, "会签", "all", None, ["bob", "charlie"]),
    ]
    audit = AuditLog.objects.filter(object_type="core.approvalflow", object_id=str(flow.pk))
    assert sorted((a.action, a.field, a.after) for a in audit) == [
        ("create", "active", "True"),
        ("create", "doc_type", DOC),
        ("create", "max_amount", "5000.00"),
        ("create", "min_amount", "0.00"),
        ("create", "name", "报销审批"),
        ("create", "priority", "5"),
        ("create", "steps", "1.经理审批[single:manager] → 2.会签[all:bob,charlie]"),
    ]
    assert {a.actor.username for a in audit} == {"root"}


def test_detail_shows_steps_and_operation_log(stock, doc, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    admin_client.post(NEW, _post(stock))
    flow = ApprovalFlow.objects.get()
    resp = admin_client.get(f"/approvals/flows/{flow.pk}/")
    assert resp.status_code == 200
    assert [(s["step"].name, str(s["mode"]), s["approvers"]) for s in resp.context["steps"]] == [
        ("经理审批", "单人审批", "销售经理"),
        ("会签", "会签", "bob、charlie"),
    ]
    assert len(resp.context["audit_rows"]) == 7
    body = resp.content.decode()
    assert "操作记录" in body
    assert f'href="/approvals/flows/{flow.pk}/edit/"' in body


def test_htmx_row_operations_redraw_steps_without_saving(stock, doc, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    def op(data: dict[str, Any], value: str) -> list[tuple[str, str]]:
        resp = admin_client.post(NEW, {**data, "op": value}, HTTP_HX_REQUEST="true")
        assert resp.status_code == 200
        assert resp.templates[0].name == "core/approvals/_flow_steps.html"
        return [(r["key"], r["form"].initial["name"]) for r in resp.context["step_rows"]]

    data = _post(stock)
    before = _db_state()
    assert op(data, "add") == [("1", "经理审批"), ("2", "会签"), ("3", "")]
    assert op(data, "up:2") == [("2", "会签"), ("1", "经理审批")]
    assert op(data, "down:1") == [("2", "会签"), ("1", "经理审批")]
    assert op(data, "down:2") == [("1", "经理审批"), ("2", "会签")]  # already last
    assert op(data, "remove:1") == [("2", "会签")]
    assert _db_state() == before


def test_row_operation_without_htmx_redraws_the_page(stock, doc, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = admin_client.post(NEW, _post(stock, op="remove:2"))
    assert resp.status_code == 200
    assert [r["key"] for r in resp.context["step_rows"]] == ["1"]
    assert resp.context["form"].initial["name"] == "报销审批"
    assert not resp.context["form"].is_bound
    assert ApprovalFlow.objects.count() == 0


@pytest.mark.parametrize(
    ("over", "field", "message"),
    [
        ({"min_amount": "5000", "max_amount": "5000"}, "max_amount", "金额下限必须小于金额上限"),
        ({"min_amount": "6000"}, "max_amount", "金额下限必须小于金额上限"),
        ({"min_amount": "-1"}, "min_amount", "金额不能为负数"),
        ({"max_amount": "abc"}, "max_amount", "金额格式不正确"),
        ({"name": "  "}, "name", "请填写流程名称"),
        ({"doc_type": "nope.unknown"}, "doc_type", None),
        ({"step-1-role": ""}, "step-1-role", "请选择审批角色或指定审批人"),
        ({"step-2-role": RoleCode.FINANCE}, "step-2-role", "审批角色和指定审批人只能选一种"),
        ({"step-1-name": ""}, "step-1-name", "请填写节点名称"),
        ({"step-2-users": ["999999"]}, "step-2-users", "审批人不存在或已停用"),
    ],
)
def test_bad_input_shows_errors_and_saves_nothing(  # type: ignore[no-untyped-def]
    stock, doc, admin_client: Client, over, field, message
) -> None:
    before = _db_state()
    resp = admin_client.post(NEW, _post(stock, **over))
    assert resp.status_code == 200
    if field.startswith("step-"):
        key, name = field.split("-")[1], field.split("-")[2]
        row = next(r for r in resp.context["step_rows"] if r["key"] == key)
        errors = row["form"].errors[name]
    else:
        errors = resp.context["form"].errors[field]
    if message is None:  # Django's own (Chinese) invalid-choice message
        assert errors[0].startswith("选择一个有效的选项")
    else:
        assert errors == [message]
        assert message in resp.content.decode()
    assert _db_state() == before


def test_no_steps_is_an_error(stock, doc, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    before = _db_state()
    resp = admin_client.post(NEW, _post(stock, steps=[]))
    assert resp.status_code == 200
    assert resp.context["steps_error"] == "至少需要一个审批节点"
    assert '<div class="alert alert-danger py-2 small" id="error-steps">至少需要一个审批节点' in (
        resp.content.decode()
    )
    assert _db_state() == before


@pytest.fixture
def flow(stock, doc, admin) -> ApprovalFlow:  # type: ignore[no-untyped-def]
    return approval_flow_create(
        actor=admin,
        doc_type=DOC,
        name="报销",
        max_amount="1000",
        steps=[StepSpec(name="经理", role=RoleCode.MANAGER)],
    )


def _edit_post(stock: Any, **over: Any) -> dict[str, Any]:
    return _post(stock, doc_type="ignored", name="报销", min_amount="", max_amount="1000", **over)


def test_edit_page_is_prefilled(stock, flow, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = admin_client.get(f"/approvals/flows/{flow.pk}/edit/")
    assert resp.status_code == 200
    assert resp.context["form"].initial["name"] == "报销"
    assert resp.context["form"].fields["doc_type"].disabled is True
    assert [(r["key"], r["form"].initial) for r in resp.context["step_rows"]] == [
        ("1", {"name": "经理", "mode": "single", "role": "manager", "users": []})
    ]


def test_edit_changes_steps_in_place_when_unused(stock, flow, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = admin_client.post(f"/approvals/flows/{flow.pk}/edit/", _edit_post(stock))
    assert resp.status_code == 302
    assert resp["Location"] == f"/approvals/flows/{flow.pk}/"
    flow.refresh_from_db()
    assert (flow.doc_type, flow.name, flow.priority) == (DOC, "报销", 5)
    assert ApprovalFlow.objects.count() == 1
    assert _steps(flow) == [
        (1, "经理审批", "single", "manager", []),
        (2, "会签", "all", None, ["bob", "charlie"]),
    ]
    change = AuditLog.objects.get(
        object_type="core.approvalflow", object_id=str(flow.pk), action="update", field="steps"
    )
    assert (change.before, change.after) == (
        "1.经理[single:manager]",
        "1.经理审批[single:manager] → 2.会签[all:bob,charlie]",
    )


def test_edit_of_a_flow_in_use_makes_a_new_version(stock, flow, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    from salesops.core.approvals import approval_submit

    approval_submit(actor=stock.rep_user, doc_type=DOC, object_id="1", title="差旅", amount=100)
    # Same steps, other fields changed: the flow itself changes, no new version.
    same = {
        "steps": ["1"],
        "step-1-name": "经理",
        "step-2-name": None,
        "step-2-mode": None,
        "step-2-role": None,
        "step-2-users": None,
    }
    resp = admin_client.post(
        f"/approvals/flows/{flow.pk}/edit/", _edit_post(stock, **{**same, "priority": "9"})
    )
    assert resp["Location"] == f"/approvals/flows/{flow.pk}/"
    assert list(ApprovalFlow.objects.values_list("pk", "priority", "active")) == [
        (flow.pk, 9, True)
    ]

    resp = admin_client.post(f"/approvals/flows/{flow.pk}/edit/", _edit_post(stock))

    new = ApprovalFlow.objects.exclude(pk=flow.pk).get()
    assert resp.status_code == 302
    assert resp["Location"] == f"/approvals/flows/{new.pk}/"
    flow.refresh_from_db()
    assert (flow.active, new.active, new.name, new.priority) == (False, True, "报销", 5)
    assert _steps(flow) == [(1, "经理", "single", "manager", [])]
    assert _steps(new) == [
        (1, "经理审批", "single", "manager", []),
        (2, "会签", "all", None, ["bob", "charlie"]),
    ]


def test_edit_bad_input_changes_nothing(stock, flow, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    before = _db_state()
    resp = admin_client.post(
        f"/approvals/flows/{flow.pk}/edit/",
        _edit_post(stock, **{"step-1-users": [stock.rep_user.pk]}),
    )
    assert resp.status_code == 200
    row = resp.context["step_rows"][0]
    assert row["form"].errors["role"] == ["审批角色和指定审批人只能选一种"]
    assert _db_state() == before
    assert _steps(flow) == [(1, "经理", "single", "manager", [])]


def test_non_admin_gets_403(stock, flow, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stock.manager_user)
    before = _db_state()
    urls = [
        "/approvals/flows/",
        NEW,
        f"/approvals/flows/{flow.pk}/",
        f"/approvals/flows/{flow.pk}/edit/",
    ]
    assert [client.get(u).status_code for u in urls] == [403, 403, 403, 403]
    assert client.post(NEW, _post(stock)).status_code == 403
    assert client.post(f"/approvals/flows/{flow.pk}/edit/", _edit_post(stock)).status_code == 403
    assert client.post(NEW, _post(stock, op="add"), HTTP_HX_REQUEST="true").status_code == 403
    assert _db_state() == before


def test_unknown_flow_is_404_for_admin(doc, admin_client: Client) -> None:  # type: ignore[no-untyped-def]
    assert admin_client.get("/approvals/flows/424242/").status_code == 404
    assert admin_client.get("/approvals/flows/424242/edit/").status_code == 404


def test_list_has_create_button_links_and_bounded_queries(  # type: ignore[no-untyped-def]
    stock, doc, admin, admin_client: Client, django_assert_max_num_queries
) -> None:
    def make(n: int) -> None:
        for i in range(n):
            approval_flow_create(
                actor=None,
                doc_type=DOC,
                name=f"流程{i:02d}",
                steps=[
                    StepSpec(name="经理", role=RoleCode.MANAGER),
                    StepSpec(name="会签", mode=SignMode.COUNTERSIGN, users=[stock.manager_user]),
                ],
            )

    make(2)
    admin_client.get("/approvals/flows/")  # warm the session / role caches
    # 11: the page also reads the viewer's saved scenes of this list (one indexed query).
    with django_assert_max_num_queries(11):
        small = admin_client.get("/approvals/flows/")
    make(20)
    with django_assert_max_num_queries(11):
        big = admin_client.get("/approvals/flows/")
    assert small.status_code == big.status_code == 200
    assert len(big.context["rows"]) == 20
    body = big.content.decode()
    assert 'href="/approvals/flows/new/"' in body
    first = big.context["rows"][0]["obj"]
    assert f'href="/approvals/flows/{first.pk}/"' in body
    assert big.context["rows"][0]["cells"][5]["value"] == (
        "经理（单人审批：销售经理） → 会签（会签：bob）"
    )


@pytest.mark.browser
def test_admin_builds_a_flow_in_the_browser(stock, doc, admin, browser_page) -> None:  # type: ignore[no-untyped-def]
    page = browser_page
    page.goto("/login/?next=/approvals/flows/new/")
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url("**/approvals/flows/new/")

    page.select_option("#id_doc_type", DOC)
    page.fill("#id_name", "网页流程")
    page.fill("#id_step-1-name", "经理审批")
    page.select_option("#id_step-1-role", RoleCode.MANAGER)
    page.click("#btn-add-step")
    expect(page.locator("tr.flow-step-row")).to_have_count(2)
    page.fill("#id_step-2-name", "会签")
    page.select_option("#id_step-2-mode", SignMode.COUNTERSIGN)
    page.select_option(
        "#id_step-2-users", [str(stock.manager_user.pk), str(stock.outsider_user.pk)]
    )
    page.click("#step-row-2 button[value='up:2']")
    expect(page.locator("tr.flow-step-row").first).to_have_id("step-row-2")
    assert page.input_value("#id_step-2-name") == "会签"  # the row kept what was typed
    page.click("#btn-save")
    page.wait_for_url("**/approvals/flows/*/")

    flow = ApprovalFlow.objects.get()
    assert page.url.endswith(f"/approvals/flows/{flow.pk}/")
    assert _steps(flow) == [
        (1, "会签", "all", None, ["bob", "charlie"]),
        (2, "经理审批", "single", "manager", []),
    ]
