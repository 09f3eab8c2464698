"""The API's validation rules, one explicit case per finding of issue 11: bodies of the
wrong JSON type, unknown fields, dates that are not ISO strings, floats for money, months,
depth and step_months — each refused with 422 and declared in the OpenAPI schema — and a
caller without the right gets 403 before any 422 about what it sent."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from salesops.core.models import RoleCode
from salesops.core.text import NO_CONTROL_PATTERN
from salesops.core.tokens import token_issue
from salesops.factories import CustomerFactory, MemberFactory, ProductFactory, UserFactory, role

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(client: Client, stock):  # type: ignore[no-untyped-def]
    UserFactory(username="adam", role=role(RoleCode.ADMIN))
    UserFactory(username="mia", role=role(RoleCode.MEMBER))
    tokens: dict[str, str] = {}

    def send(method: str, path: str, user: str, body: Any = None, raw: bytes | None = None):  # type: ignore[no-untyped-def]
        if user not in tokens:
            tokens[user] = token_issue(username=user, password="pw-for-tests")[0]
        kwargs: dict[str, Any] = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user]}"}
        if raw is not None or body is not None:
            data = raw if raw is not None else json.dumps(body)
            kwargs.update(data=data, content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return send


@pytest.mark.parametrize("body", [[1, 2, 3], "x", 5, None, True])
def test_patch_body_must_be_an_object(call, stock, body) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, name="甲")
    resp = call("patch", f"/api/customers/{c.pk}", "alice", raw=json.dumps(body).encode())
    assert resp.status_code == 422
    assert resp.json() == {
        "code": "invalid_input",
        "message": "输入有误，请检查后重试",
        "fields": [{"field": "body", "message": "格式无效，应为对象"}],
    }
    c.refresh_from_db()
    assert c.name == "甲"


def test_unknown_fields_and_coercion_are_refused(call, stock) -> None:  # type: ignore[no-untyped-def]
    resp = call("post", "/api/customers", "alice", {"name": "甲", "nickname": "x"})
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "nickname", "message": "不支持的字段"}]
    resp = call("post", "/api/customers", "alice", {"name": 5, "confirm_duplicate": "true"})
    assert resp.json()["fields"] == [
        {"field": "name", "message": "请输入文本"},
        {"field": "confirm_duplicate", "message": "请输入是或否（true/false）"},
    ]
    resp = call("post", "/api/customers", "alice", {"name": "甲", "owner_id": str(stock.rep.pk)})
    assert resp.json()["fields"] == [{"field": "owner_id", "message": "请输入整数"}]


def test_control_characters_are_refused_by_the_schema(call) -> None:  # type: ignore[no-untyped-def]
    resp = call("post", "/api/customers", "alice", {"name": "甲", "address": "路\x07号"})
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "address", "message": "不能包含不可见的控制字符"}]


@pytest.mark.parametrize("on", ["0", "20261005", "2026-02-30", "2026-1-5", "1e3"])
def test_dates_are_iso_strings_only(call, on) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(sku="P-A")
    resp = call("get", f"/api/products/{product.pk}?on={on}", "adam")
    assert resp.status_code == 422
    assert resp.json()["fields"] == [
        {"field": "on", "message": "请输入有效的日期（如 2026-10-05）"}
    ]
    assert call("get", f"/api/products/{product.pk}?on=2026-10-05", "adam").status_code == 200


def test_money_is_a_string_or_an_integer_never_a_float(call, stock) -> None:  # type: ignore[no-untyped-def]
    product = ProductFactory(sku="P-A")
    c = CustomerFactory(owner=stock.rep)
    body = {
        "order_date": "2026-10-05",
        "customer_id": c.pk,
        "lines": [{"product_id": product.pk, "quantity": 1.5, "unit_price": "1e3"}],
    }
    resp = call("post", "/api/orders", "alice", body)
    assert resp.status_code == 422
    assert resp.json()["fields"] == [
        {
            "field": "lines.0.quantity",
            "message": '请以字符串（如 "12.50"）或整数传入金额和数量，不能用浮点数',
        },
        {"field": "lines.0.unit_price", "message": '请输入有效的数字，最多两位小数（如 "12.50"）'},
    ]


@pytest.mark.parametrize(
    ("url", "field", "message"),
    [
        ("/api/comp/runs?period=000000", "period", "请输入月份，格式 YYYY-MM"),
        ("/api/comp/runs?period=2026-13", "period", "请输入月份，格式 YYYY-MM"),
        ("/api/comp/reports/compliance?from=2026-00", "from", "请输入月份，格式 YYYY-MM"),
        (
            "/api/comp/reports/projection?step_months=5",
            "step_months",
            "取值无效，可选：1, 3, 6, 12",
        ),
        ("/api/comp/periods?status=bogus", "status", None),
        ("/api/customers/0", "customer_id", "不能小于 1"),
    ],
)
def test_query_and_path_rules(call, url, field, message) -> None:  # type: ignore[no-untyped-def]
    resp = call("get", url, "adam")
    assert resp.status_code == 422, resp.content
    [error] = resp.json()["fields"]
    assert error["field"] == field
    if message is not None:
        assert error["message"] == message


def test_depth_below_one_is_422(call, stock) -> None:  # type: ignore[no-untyped-def]
    m = MemberFactory(member_no="M-1", owner=stock.rep)
    resp = call("get", f"/api/members/{m.pk}/downline?depth=-1", "adam")
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "depth", "message": "不能小于 1"}]


@pytest.mark.parametrize(
    ("user", "method", "path"),
    [
        ("alice", "post", "/api/comp/runs"),
        ("alice", "post", "/api/comp/payouts"),
        ("alice", "get", "/api/comp/runs?period=garbage&page=-5"),
        ("alice", "post", "/api/comp/plans"),
        ("alice", "get", "/api/comp/reports/projection?step_months=5"),
        ("mia", "post", "/api/customers"),
        ("mia", "post", "/api/orders"),
        ("charlie", "post", "/api/imports/customers/dry-run"),
    ],
)
def test_permission_is_checked_before_validation(call, user, method, path) -> None:  # type: ignore[no-untyped-def]
    """A caller without the right learns nothing about the body's rules: 403, not 422."""
    raw = b'[1, "garbage", {"x": null}]' if method == "post" else None
    resp = call(method, path, user, raw=raw)
    assert resp.status_code == 403, resp.content
    assert resp.json()["code"] == "permission_denied"


def test_admin_with_the_same_garbage_gets_422(call) -> None:  # type: ignore[no-untyped-def]
    resp = call("post", "/api/comp/runs", "adam", raw=b'[1, "garbage"]')
    assert resp.status_code == 422


def test_openapi_declares_the_rules(client: Client) -> None:
    schema = client.get("/api/openapi.json").json()
    comps = schema["components"]["schemas"]

    def param(path: str, name: str) -> dict[str, Any]:
        [p] = [p for p in schema["paths"][path]["get"]["parameters"] if p["name"] == name]
        return p["schema"]  # type: ignore[no-any-return]

    customer = comps["CustomerIn"]
    assert customer["additionalProperties"] is False
    assert customer["properties"]["name"]["minLength"] == 1
    assert customer["properties"]["address"]["pattern"] == NO_CONTROL_PATTERN
    assert param("/api/products/{product_id}", "on")["anyOf"][0]["format"] == "date"
    assert param("/api/comp/reports/projection", "step_months")["enum"] == [1, 3, 6, 12]
    assert param("/api/members/{member_id}/downline", "depth")["anyOf"][0]["minimum"] == 1
    assert param("/api/customers/{customer_id}", "customer_id")["minimum"] == 1
    assert "1[0-2]" in param("/api/comp/runs", "period")["pattern"]
    quantity = comps["OrderLineIn"]["properties"]["quantity"]["anyOf"]
    assert [q["type"] for q in quantity] == ["string", "integer"]
    assert quantity[1]["minimum"] == 1
