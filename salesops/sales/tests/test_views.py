"""Sales screens: scopes (404 outside), masking in list/detail/export, bounded queries,
forms with Chinese field errors, orders and returns through the UI."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from salesops.core.models import AuditAction, AuditLog, RoleCode
from salesops.factories import CustomerFactory, EmployeeFactory, UserFactory, role
from salesops.sales.models import Customer, Order, OrderStatus, Return
from salesops.sales.services.orders import order_create
from salesops.sales.tests.conftest import DAY


def _login(client: Client, user) -> Client:  # type: ignore[no-untyped-def]
    client.force_login(user)
    return client


def _xlsx_rows(resp) -> list[list[object]]:  # type: ignore[no-untyped-def]
    data = b"".join(resp.streaming_content) if resp.streaming else resp.content
    sheet = load_workbook(io.BytesIO(data)).active
    return [list(r) for r in sheet.iter_rows(values_only=True)]


# ---------------------------------------------------------------------------- customers


def test_rep_list_shows_own_customers_only(stock, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep, name="我的客户")
    CustomerFactory(owner=stock.outsider, name="别人的客户")
    body = _login(client, stock.rep_user).get("/sales/customers/").content.decode()
    assert "我的客户" in body
    assert "别人的客户" not in body
    assert "下属负责的" not in body  # a rep's scope has no subordinates tab


def test_manager_sees_team_with_masked_phones(stock, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep, name="团队客户", phone="13812345678")
    for i in range(25):
        CustomerFactory(owner=stock.rep, name=f"批量{i}")
    CustomerFactory(owner=stock.outsider, name="别人的客户")
    _login(client, stock.manager_user)
    with django_assert_max_num_queries(14):
        body = client.get("/sales/customers/?scene=all&q=团队").content.decode()
    assert "团队客户" in body
    assert "138****5678" in body
    assert "13812345678" not in body
    with django_assert_max_num_queries(14):
        body = client.get("/sales/customers/?scene=subordinates").content.decode()
    assert "共 26 条" in body
    assert "别人的客户" not in body
    assert "我负责的" in body and "下属负责的" in body


def test_search_by_full_phone_finds_masked_row(stock, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep, name="甲", phone="13812345678")
    CustomerFactory(owner=stock.rep, name="乙", phone="13900000000")
    body = (
        _login(client, stock.manager_user)
        .get("/sales/customers/?scene=all&q=13812345678")
        .content.decode()
    )
    assert "共 1 条" in body
    assert "138****5678" in body


def test_export_masks_phone_and_is_audited(stock, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep, name="甲", code="C1", phone="13812345678")
    CustomerFactory(owner=stock.outsider, name="外", code="C2", phone="13900000000")
    resp = _login(client, stock.manager_user).get("/sales/customers/?scene=all&export=xlsx")
    rows = _xlsx_rows(resp)
    assert rows[0][:3] == ["客户编号", "客户名称", "手机号"]
    assert [r[:3] for r in rows[1:]] == [["C1", "甲", "138****5678"]]
    assert AuditLog.objects.filter(action=AuditAction.EXPORT, object_type="customers").count() == 1

    client.force_login(stock.rep_user)
    rows = _xlsx_rows(client.get("/sales/customers/?export=xlsx"))
    assert [r[:3] for r in rows[1:]] == [["C1", "甲", "13812345678"]]


def test_detail_masks_for_manager_full_for_owner_and_director(stock, client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, phone="13812345678")
    url = f"/sales/customers/{c.pk}/"
    assert "13812345678" in _login(client, stock.rep_user).get(url).content.decode()
    body = _login(client, stock.manager_user).get(url).content.decode()
    assert "138****5678" in body and "13812345678" not in body
    director = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(department=stock.company, user=director)
    assert "13812345678" in _login(client, director).get(url).content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/sales/customers/{pk}/",
        "/sales/customers/{pk}/edit/",
        "/sales/customers/{pk}/reassign/",
    ],
)
def test_outsider_gets_404(stock, client, path) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    resp = _login(client, stock.outsider_user).get(path.format(pk=c.pk))
    assert resp.status_code == 404
    resp = client.post(f"/sales/customers/{c.pk}/delete/")
    assert resp.status_code == 404
    assert Customer.objects.filter(pk=c.pk).exists()


def test_create_form_shows_chinese_errors_and_duplicate_warning(stock, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, phone="13812345678")
    _login(client, stock.rep_user)
    resp = client.post("/sales/customers/new/", {"name": "", "owner": stock.rep.pk})
    assert resp.status_code == 200
    assert "这个字段是必填项。" in resp.content.decode()
    resp = client.post(
        "/sales/customers/new/", {"name": "张三", "phone": "13812345678", "owner": stock.rep.pk}
    )
    body = resp.content.decode()
    held = f"已存在：由 {stock.outsider.name}（{stock.outsider.department.name}）负责"
    assert f"疑似重复（1 条）：{held}。" in body
    assert 'id="duplicate-warning"' in body
    resp = client.post(
        "/sales/customers/new/",
        {"name": "张三", "phone": "13812345678", "owner": stock.rep.pk, "confirm_duplicate": "on"},
    )
    c = Customer.objects.get(name="张三")
    assert resp.status_code == 302 and resp["Location"] == f"/sales/customers/{c.pk}/"


def test_edit_keeps_masked_phone(stock, client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, phone="13812345678", name="旧名")
    _login(client, stock.manager_user)
    resp = client.post(
        f"/sales/customers/{c.pk}/edit/",
        {"name": "新名", "phone": "138****5678", "id_number": "", "address": "", "source": ""},
    )
    assert resp.status_code == 302
    c.refresh_from_db()
    assert (c.name, c.phone) == ("新名", "13812345678")


def test_reassign_and_audit_tab(stock, client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    _login(client, stock.manager_user)
    resp = client.post(f"/sales/customers/{c.pk}/reassign/", {"owner": stock.manager.pk})
    assert resp.status_code == 302
    c.refresh_from_db()
    assert c.owner == stock.manager
    body = client.get(f"/sales/customers/{c.pk}/").content.decode()
    # The 操作记录 tab names the field and both owners, not "owner" and their ids.
    assert "操作记录" in body and "<td>负责人</td><td>爱丽丝</td><td>鲍勃</td>" in body
    # The rep no longer owns it: 404 for them now.
    assert _login(client, stock.rep_user).get(f"/sales/customers/{c.pk}/").status_code == 404


# ------------------------------------------------------------------------------- orders


def _book(stock, catalogue, owner, qty="2"):  # type: ignore[no-untyped-def]
    return order_create(
        actor=None,
        order_date=DAY,
        customer=CustomerFactory(owner=owner),
        lines=[{"product": catalogue[0], "quantity": qty}],
    )


def test_order_list_scoped_and_bounded(
    stock, catalogue, client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for _i in range(22):
        _book(stock, catalogue, stock.rep)
    theirs = _book(stock, catalogue, stock.outsider)
    _login(client, stock.manager_user)
    # 12: the page's own queries, plus the scope's share of employees and the running
    # imports for the page's walking plan (core/db/plans.py) — constant in rows
    with django_assert_max_num_queries(12):
        body = client.get("/sales/orders/").content.decode()
    assert "共 22 条" in body
    assert theirs.order_no not in body
    assert "¥200.00" in body
    assert client.get(f"/sales/orders/{theirs.pk}/").status_code == 404


def test_order_create_through_form(stock, catalogue, client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, code="C-ME")
    _login(client, stock.rep_user)
    assert client.get(f"/sales/orders/new/?customer={c.pk}").status_code == 200
    row = client.get("/sales/orders/new/line/").content.decode()
    assert 'name="product"' in row and "P-A 营养素" in row
    resp = client.post(
        "/sales/orders/new/",
        {
            "order_date": "2026-10-05",
            "kind": "regular",
            "customer_code": "C-ME",
            "product": [str(catalogue[0].pk), str(catalogue[1].pk), ""],
            "quantity": ["0.5", "3", ""],
            "unit_price": ["0.05", "", ""],
        },
    )
    order = Order.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/sales/orders/{order.pk}/"
    assert order.total_amount == Decimal("100.02")


def test_order_form_line_errors(stock, catalogue, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, code="C-OTHER")
    _login(client, stock.rep_user)
    data = {
        "order_date": "2026-10-05",
        "kind": "regular",
        "customer_code": "C-OTHER",
        "product": [str(catalogue[0].pk)],
        "quantity": ["1"],
        "unit_price": [""],
    }
    body = client.post("/sales/orders/new/", data).content.decode()
    assert "客户不存在或无权访问" in body
    CustomerFactory(owner=stock.rep, code="C-ME")
    data.update(customer_code="C-ME", quantity=["0"])
    body = client.post("/sales/orders/new/", data).content.decode()
    assert "数量必须大于0" in body
    assert Order.objects.count() == 0


def test_return_from_order_detail(stock, catalogue, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    order = _book(stock, catalogue, stock.rep)
    line = order.lines.get()
    _login(client, stock.rep_user)
    resp = client.post(
        f"/sales/orders/{order.pk}/return/",
        {"return_date": "2026-10-06", "reason": "破损", f"qty_{line.pk}": "3"},
    )
    assert resp.status_code == 400
    assert "最多还可退 2.00" in resp.content.decode()
    resp = client.post(
        f"/sales/orders/{order.pk}/return/",
        {"return_date": "2026-10-06", "reason": "破损", f"qty_{line.pk}": "1"},
    )
    assert resp.status_code == 302
    order.refresh_from_db()
    assert order.returned_amount == Decimal("100.00")
    ret = Return.objects.get()
    with django_assert_max_num_queries(10):
        body = client.get("/sales/returns/").content.decode()
    assert ret.return_no in body and "¥100.00" in body
    assert client.get(f"/sales/returns/{ret.pk}/").status_code == 200
    client.force_login(stock.outsider_user)
    assert client.get(f"/sales/returns/{ret.pk}/").status_code == 404
    assert "共 0 条" in client.get("/sales/returns/").content.decode()
    resp = client.post(
        f"/sales/orders/{order.pk}/return/", {"return_date": "2026-10-06", f"qty_{line.pk}": "1"}
    )
    assert resp.status_code == 404


def test_cancel_from_detail(stock, catalogue, client) -> None:  # type: ignore[no-untyped-def]
    order = _book(stock, catalogue, stock.rep)
    _login(client, stock.rep_user)
    body = client.get(f"/sales/orders/{order.pk}/").content.decode()
    assert "取消订单" in body and "¥200.00" in body
    assert client.post(f"/sales/orders/{order.pk}/cancel/").status_code == 302
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED


# ----------------------------------------------------------------------------- products


def test_products_readable_but_only_managers_edit(stock, catalogue, client) -> None:  # type: ignore[no-untyped-def]
    _login(client, stock.rep_user)
    body = client.get("/sales/products/").content.decode()
    assert "营养素" in body and "/sales/products/new/" not in body
    assert client.get("/sales/products/new/").status_code == 404
    assert client.get(f"/sales/products/{catalogue[0].pk}/").status_code == 200
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    _login(client, admin)
    resp = client.post("/sales/products/new/", {"sku": "P-A", "name": "重复", "unit": "件"})
    assert "商品编码 P-A 已存在" in resp.content.decode()


def test_price_list_screens(stock, catalogue, client) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    _login(client, admin)
    resp = client.post(
        "/sales/price-lists/new/", {"name": "2027价目表", "valid_from": "2027-01-01"}
    )
    assert resp.status_code == 302
    url = resp["Location"]
    resp = client.post(
        url,
        {
            "product": catalogue[0].pk,
            "list_price": "100",
            "member_price": "120",
            "pc_price": "90",
        },
    )
    assert "会员价不能高于零售价" in resp.content.decode()
    resp = client.post(
        url,
        {"product": catalogue[0].pk, "list_price": "100", "member_price": "80", "pc_price": "90"},
    )
    assert resp.status_code == 302
    body = client.get("/sales/price-lists/").content.decode()
    assert "2027价目表" in body
    _login(client, stock.rep_user)
    assert client.post(url, {"product": catalogue[0].pk}).status_code == 404


def test_every_page_renders_for_admin(stock, catalogue, client) -> None:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    order = _book(stock, catalogue, stock.rep)
    c = order.customer
    pl = catalogue[0].prices.get().price_list
    _login(client, admin)
    for url in [
        "/sales/customers/",
        "/sales/customers/new/",
        f"/sales/customers/{c.pk}/",
        f"/sales/customers/{c.pk}/edit/",
        f"/sales/customers/{c.pk}/reassign/",
        "/sales/products/",
        "/sales/products/new/",
        f"/sales/products/{catalogue[0].pk}/",
        f"/sales/products/{catalogue[0].pk}/edit/",
        "/sales/price-lists/",
        "/sales/price-lists/new/",
        f"/sales/price-lists/{pl.pk}/",
        f"/sales/price-lists/{pl.pk}/edit/",
        "/sales/orders/",
        "/sales/orders/new/",
        f"/sales/orders/{order.pk}/",
        "/sales/returns/",
    ]:
        assert client.get(url).status_code == 200, url
