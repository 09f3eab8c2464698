"""Sales API: scopes (out of scope → 404), masking, money as strings, error bodies."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import Client

from salesops.core.models import RoleCode
from salesops.factories import CustomerFactory, MemberFactory, UserFactory, role
from salesops.sales.models import Order
from salesops.sales.services.orders import order_create
from salesops.sales.tests.conftest import DAY


@pytest.fixture
def api(client: Client):  # type: ignore[no-untyped-def]
    tokens: dict[str, str] = {}

    def call(method: str, path: str, user: str, body: object = None):  # type: ignore[no-untyped-def]
        if user not in tokens:
            resp = client.post(
                "/api/auth/token",
                data=json.dumps({"username": user, "password": "pw-for-tests"}),
                content_type="application/json",
            )
            tokens[user] = resp.json()["token"]
        kwargs: dict[str, object] = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user]}"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call


def test_customer_list_scoped_and_masked(stock, api, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    mine = CustomerFactory(owner=stock.rep, phone="13812345678", id_number="110101199001011234")
    CustomerFactory(owner=stock.outsider, phone="13900000000")
    for _i in range(3):
        CustomerFactory(owner=stock.rep)

    rep = api("get", "/api/customers", "alice").json()
    assert rep["count"] == 4
    row = next(r for r in rep["results"] if r["id"] == mine.pk)
    assert (row["phone"], row["id_number"]) == ("13812345678", "110101199001011234")

    api("get", "/api/me", "bob")  # the token is issued outside the counted request
    with django_assert_max_num_queries(8):
        mgr = api("get", "/api/customers", "bob").json()
    assert mgr["count"] == 4
    row = next(r for r in mgr["results"] if r["id"] == mine.pk)
    assert (row["phone"], row["id_number"]) == ("138****5678", "110101********1234")

    assert api("get", "/api/customers", "charlie").json()["count"] == 1


def test_customer_search_by_full_phone_while_masked(stock, api) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep, phone="13812345678", name="甲")
    CustomerFactory(owner=stock.rep, phone="13812340000", name="乙")
    body = api("get", "/api/customers?q=13812345678", "bob").json()
    assert [r["name"] for r in body["results"]] == ["甲"]
    # Partial digits cannot probe a masked number.
    assert api("get", "/api/customers?q=1234", "bob").json()["count"] == 0
    assert api("get", "/api/customers?q=1234", "alice").json()["count"] == 2


def test_customer_detail_out_of_scope_is_404(stock, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, phone="13812345678")
    assert api("get", f"/api/customers/{c.pk}", "alice").json()["phone"] == "13812345678"
    assert api("get", f"/api/customers/{c.pk}", "bob").json()["phone"] == "138****5678"
    resp = api("get", f"/api/customers/{c.pk}", "charlie")
    assert resp.status_code == 404
    assert resp.json() == {"code": "not_found", "message": "对象不存在或无权访问", "fields": []}
    resp = api("patch", f"/api/customers/{c.pk}", "charlie", {"name": "改名"})
    assert resp.status_code == 404


def test_customer_create_and_duplicate_warning(stock, api) -> None:  # type: ignore[no-untyped-def]
    resp = api("post", "/api/customers", "alice", {"name": "张三", "phone": "13812345678"})
    assert resp.status_code == 201
    assert resp.json()["owner_id"] == stock.rep.pk
    resp = api("post", "/api/customers", "charlie", {"name": "李四", "phone": "13812345678"})
    assert resp.status_code == 409
    # charlie may not see alice's customer: told who holds it, never which record.
    said = (
        f"疑似重复（1 条）：已存在：由 {stock.rep.name}（{stock.rep.department.name}）负责。"
        "确认无误后可勾选“仍要创建”。"
    )
    assert resp.json() == {
        "code": "duplicate",
        "message": said,
        "fields": [{"field": "phone", "message": said}],
    }
    body = {"name": "李四", "phone": "13812345678", "confirm_duplicate": True}
    assert api("post", "/api/customers", "charlie", body).status_code == 201


def test_customer_create_field_errors(stock, api) -> None:  # type: ignore[no-untyped-def]
    resp = api("post", "/api/customers", "alice", {"name": "", "phone": "x"})
    assert resp.status_code == 422  # the schema's rules (minLength, pattern), before the service
    assert resp.json()["fields"] == [
        {"field": "name", "message": "不能为空"},
        {"field": "phone", "message": "手机号格式不正确"},
    ]
    resp = api("post", "/api/customers", "alice", {"name": "  "})
    assert resp.json()["fields"] == [
        {"field": "name", "message": "不能为空，也不能包含不可见的控制字符"}
    ]
    resp = api("post", "/api/customers", "alice", {"name": "甲", "owner_id": stock.outsider.pk})
    assert resp.status_code == 404
    assert resp.json()["fields"] == [{"field": "owner_id", "message": "员工不存在或无权访问"}]


def test_patch_keeps_masked_phone(stock, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, phone="13812345678")
    resp = api("patch", f"/api/customers/{c.pk}", "bob", {"name": "新名", "phone": "138****5678"})
    assert resp.status_code == 200
    c.refresh_from_db()
    assert (c.name, c.phone) == ("新名", "13812345678")


def test_products_readable_by_everyone(stock, catalogue, api) -> None:  # type: ignore[no-untyped-def]
    body = api("get", "/api/products", "charlie").json()
    assert [p["sku"] for p in body["results"]] == ["P-A", "P-B"]
    detail = api("get", f"/api/products/{catalogue[1].pk}?on=2026-10-05", "charlie").json()
    assert detail["price"]["list_price"] == "33.33"
    assert detail["price"]["member_price"] == "25.00"
    assert api("get", "/api/products/999999", "charlie").status_code == 404


def test_order_create_computes_total(stock, catalogue, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    body = {
        "order_date": "2026-10-05",
        "customer_id": c.pk,
        "lines": [
            {"product_id": catalogue[0].pk, "quantity": "0.5", "unit_price": "0.05"},
            {"product_id": catalogue[1].pk, "quantity": "3"},
        ],
    }
    resp = api("post", "/api/orders", "alice", body)
    assert resp.status_code == 201, resp.content
    out = resp.json()
    assert out["order_no"] == "SO202610050001"
    assert out["total_amount"] == "100.02"
    assert [(x["quantity"], x["unit_price"], x["amount"]) for x in out["lines"]] == [
        ("0.50", "0.05", "0.03"),
        ("3.00", "33.33", "99.99"),
    ]
    assert Order.objects.get().total_amount == Decimal("100.02")


def test_order_for_out_of_scope_customer_is_404(stock, catalogue, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.outsider)
    body = {
        "order_date": "2026-10-05",
        "customer_id": c.pk,
        "lines": [{"product_id": catalogue[0].pk, "quantity": "1"}],
    }
    resp = api("post", "/api/orders", "alice", body)
    assert resp.status_code == 404
    assert resp.json()["fields"] == [{"field": "customer_id", "message": "客户不存在或无权访问"}]


def test_order_line_errors_name_the_line(stock, catalogue, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    body = {
        "order_date": "2026-10-05",
        "customer_id": c.pk,
        "lines": [{"product_id": catalogue[0].pk, "quantity": "0"}],
    }
    resp = api("post", "/api/orders", "alice", body)
    assert resp.status_code == 422  # quantity > 0 is in the schema (its pattern and minimum)
    assert resp.json()["fields"] == [
        {"field": "lines.0.quantity", "message": '请输入大于 0 的数字，最多两位小数（如 "12.50"）'}
    ]
    body["lines"] = []
    resp = api("post", "/api/orders", "alice", body)
    assert (resp.status_code, resp.json()["fields"]) == (
        422,
        [{"field": "lines", "message": "至少 1 项"}],
    )


def _book(stock, catalogue, owner):  # type: ignore[no-untyped-def]
    return order_create(
        actor=None,
        order_date=DAY,
        customer=CustomerFactory(owner=owner),
        lines=[{"product": catalogue[0], "quantity": "2"}],
    )


def test_orders_scoped(stock, catalogue, api, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    mine = _book(stock, catalogue, stock.rep)
    theirs = _book(stock, catalogue, stock.outsider)
    assert [o["id"] for o in api("get", "/api/orders", "alice").json()["results"]] == [mine.pk]
    api("get", "/api/me", "bob")  # the token is issued outside the counted request
    with django_assert_max_num_queries(8):
        body = api("get", "/api/orders", "bob").json()
    assert [o["id"] for o in body["results"]] == [mine.pk]
    assert api("get", f"/api/orders/{theirs.pk}", "alice").status_code == 404
    assert api("get", f"/api/orders/{mine.pk}", "charlie").status_code == 404
    detail = api("get", f"/api/orders/{mine.pk}", "bob").json()
    assert (detail["total_amount"], detail["returned_amount"]) == ("200.00", "0.00")


def test_member_sees_only_own_orders(stock, catalogue, api) -> None:  # type: ignore[no-untyped-def]
    user = UserFactory(username="mia", role=role(RoleCode.MEMBER))
    me = MemberFactory(user=user)
    child = MemberFactory(sponsor=me)
    own = order_create(
        actor=None, order_date=DAY, member=me, lines=[{"product": catalogue[0], "quantity": "1"}]
    )
    order_create(
        actor=None, order_date=DAY, member=child, lines=[{"product": catalogue[0], "quantity": "1"}]
    )
    body = api("get", "/api/orders", "mia").json()
    assert [o["id"] for o in body["results"]] == [own.pk]
    assert body["results"][0]["total_amount"] == "80.00"
    assert api("get", "/api/customers", "mia").json()["count"] == 0


def test_return_via_api(stock, catalogue, api) -> None:  # type: ignore[no-untyped-def]
    order = _book(stock, catalogue, stock.rep)
    line = order.lines.get()
    body = {"return_date": "2026-10-06", "lines": [{"order_line_id": line.pk, "quantity": "1"}]}
    assert api("post", f"/api/orders/{order.pk}/returns", "charlie", body).status_code == 404
    resp = api("post", f"/api/orders/{order.pk}/returns", "alice", body)
    assert resp.status_code == 201, resp.content
    assert resp.json()["total_amount"] == "100.00"
    assert resp.json()["lines"] == [
        {"order_line_id": line.pk, "quantity": "1.00", "amount": "100.00"}
    ]
    body["lines"][0]["quantity"] = "2"
    resp = api("post", f"/api/orders/{order.pk}/returns", "alice", body)
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_lines"
    assert [r["return_no"] for r in api("get", "/api/returns", "bob").json()["results"]] == [
        "RT202610060001"
    ]
    assert api("get", "/api/returns", "charlie").json()["count"] == 0
    assert api("get", f"/api/orders/{order.pk}", "alice").json()["returned_amount"] == "100.00"
