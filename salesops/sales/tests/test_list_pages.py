"""The complete list pages on the sales lists: date ranges, page size and jump, one
capped count, selection with batch export and 转移负责人, saved scenes and the default
scene per role."""

from __future__ import annotations

import datetime
import io
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from salesops.core import listing
from salesops.core.access import viewer_for
from salesops.core.models import AuditAction, AuditLog, RoleCode, SavedScene, User
from salesops.factories import (
    CustomerFactory,
    DepartmentFactory,
    EmployeeFactory,
    UserFactory,
    role,
)
from salesops.org.models import Department
from salesops.sales import selectors
from salesops.sales.models import Customer, Order
from salesops.sales.services.orders import order_create

ORDERS = reverse("sales:orders")
CUSTOMERS = reverse("sales:customers")


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _orders(stock: Any, catalogue: Any, n: int, *, start: datetime.date) -> list[Order]:
    customer = CustomerFactory(owner=stock.rep, name="订单客户")
    return [
        order_create(
            actor=stock.rep_user,
            order_date=start + datetime.timedelta(days=i),
            customer=customer,
            lines=[{"product": catalogue[0], "quantity": "1"}],
        )
        for i in range(n)
    ]


def _numbers(resp: Any) -> list[str]:
    return [row["obj"].order_no for row in resp.context["rows"]]


# ------------------------------------------------------------------ date range, pages


def test_orders_date_range_is_inclusive_on_both_ends(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    made = _orders(stock, catalogue, 10, start=datetime.date(2026, 10, 1))
    resp = login(stock.rep_user).get(
        ORDERS, {"order_date_from": "2026-10-03", "order_date_to": "2026-10-05"}
    )
    assert resp.status_code == 200
    assert _numbers(resp) == [made[4].order_no, made[3].order_no, made[2].order_no]
    body = resp.content.decode()
    assert "共 3 条" in body
    assert 'value="2026-10-03"' in body and 'value="2026-10-05"' in body
    # The range survives paging and sorting links.
    assert "order_date_from=2026-10-03&amp;order_date_to=2026-10-05" in body


def test_orders_bad_date_and_reversed_range_show_a_message_not_an_error(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    _orders(stock, catalogue, 4, start=datetime.date(2026, 10, 1))
    client = login(stock.rep_user)
    bad = client.get(ORDERS, {"order_date_from": "2026-13-45"})
    assert bad.status_code == 200
    assert "下单日期：日期格式不正确，请按 2026-10-05 的格式填写" in bad.content.decode()
    assert len(bad.context["rows"]) == 4  # the unreadable range is not applied
    backwards = client.get(ORDERS, {"order_date_from": "2026-10-04", "order_date_to": "2026-10-02"})
    assert backwards.status_code == 200
    assert "下单日期：开始日期晚于结束日期" in backwards.content.decode()
    assert len(backwards.context["rows"]) == 4
    chinese = client.get(ORDERS, {"order_date_from": "2026年10月04日"})
    assert len(chinese.context["rows"]) == 1


def test_orders_page_size_and_page_jump(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    made = _orders(stock, catalogue, 55, start=datetime.date(2026, 9, 1))
    newest_first = [o.order_no for o in sorted(made, key=lambda o: o.order_date, reverse=True)]
    client = login(stock.rep_user)
    first = client.get(ORDERS)
    assert len(first.context["rows"]) == 20
    assert "1 / 3" in first.content.decode()
    fifty = client.get(ORDERS, {"size": "50"})
    assert _numbers(fifty) == newest_first[:50]
    assert "1 / 2" in fifty.content.decode()
    jumped = client.get(ORDERS, {"size": "50", "page": "2"})
    assert _numbers(jumped) == newest_first[50:]
    body = jumped.content.decode()
    assert 'id="list-page-no"' in body and 'max="2"' in body
    beyond = client.get(ORDERS, {"page": "99"})  # past the end: the last page
    assert beyond.context["page"].number == 3
    assert _numbers(beyond) == newest_first[40:]
    odd = client.get(ORDERS, {"size": "33"})  # only 20/50/100
    assert len(odd.context["rows"]) == 20


def _count_queries(ctx: CaptureQueriesContext, table: str = "sales_order") -> int:
    """COUNTs over the list's table (the header's notification badge counts its own)."""
    return sum(1 for q in ctx.captured_queries if "COUNT(" in q["sql"] and f'"{table}"' in q["sql"])


def test_orders_page_counts_once_and_queries_do_not_grow_with_rows(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    client = login(stock.rep_user)
    _orders(stock, catalogue, 5, start=datetime.date(2026, 9, 1))
    client.get(ORDERS, {"size": "50"})  # warm session and role caches
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(ORDERS, {"size": "50"}).context["rows"]) == 5
    _orders(stock, catalogue, 45, start=datetime.date(2026, 10, 1))
    with CaptureQueriesContext(connection) as big:
        assert len(client.get(ORDERS, {"size": "50"}).context["rows"]) == 50
    assert len(big.captured_queries) == len(small.captured_queries)
    assert len(big.captured_queries) <= 12
    assert _count_queries(big) == 1


def test_a_count_over_the_cap_shows_a_plus_and_a_link_to_count_exactly(  # type: ignore[no-untyped-def]
    stock, catalogue, monkeypatch
) -> None:
    monkeypatch.setattr(listing, "COUNT_CAP", 10)
    _orders(stock, catalogue, 25, start=datetime.date(2026, 9, 1))
    client = login(stock.rep_user)
    with CaptureQueriesContext(connection) as ctx:
        capped = client.get(ORDERS)
    body = capped.content.decode()
    assert "共 10+ 条" in body and 'id="list-count-exact"' in body
    assert _count_queries(ctx) == 1
    order_sql = [q["sql"] for q in ctx.captured_queries if '"sales_order"' in q["sql"]]
    count_sql = next(sql for sql in order_sql if "COUNT(" in sql)
    assert "LIMIT 11" in count_sql.upper()
    assert len(capped.context["rows"]) == 20 and capped.context["page"].has_next
    exact = client.get(ORDERS, {"count": "exact"})
    assert "共 25 条" in exact.content.decode()
    # The pager keeps counting exactly once asked to.
    assert "count=exact" in exact.context["page_query"]


# ----------------------------------------------------------------------- batch actions


def _batch(client: Client, url: str, key: str, ids: list[int], value: str = "") -> Any:
    data: dict[str, Any] = {"list_action": "batch", "batch": key, "ids": [str(i) for i in ids]}
    if value:
        data["value"] = value
    return client.post(url, data)


def test_export_selected_orders_gives_exactly_those_rows_and_is_audited(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    mine = _orders(stock, catalogue, 5, start=datetime.date(2026, 10, 1))
    theirs = order_create(
        actor=stock.outsider_user,
        order_date=datetime.date(2026, 10, 1),
        customer=CustomerFactory(owner=stock.outsider),
        lines=[{"product": catalogue[0], "quantity": "1"}],
    )
    picked = [mine[1].pk, mine[3].pk, theirs.pk]
    resp = _batch(login(stock.rep_user), ORDERS, "export_selected", picked)
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(resp.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "订单号"
    assert [r[0] for r in rows[1:]] == [mine[3].order_no, mine[1].order_no]
    log = AuditLog.objects.get(action=AuditAction.EXPORT, object_type="orders")
    assert log.actor == stock.rep_user
    assert log.note == f"导出所选 2 条：id={mine[1].pk},{mine[3].pk}"  # as posted, minus theirs


def test_batch_without_selection_or_with_an_undeclared_action(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    client = login(stock.rep_user)
    none = _batch(client, ORDERS, "export_selected", [])
    assert none.status_code == 302
    assert _batch(client, ORDERS, "transfer", [1]).status_code == 403  # orders declare none
    assert _batch(client, ORDERS, "delete_everything", [1]).status_code == 403


def test_batch_post_needs_csrf(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    order = _orders(stock, catalogue, 1, start=datetime.date(2026, 10, 1))[0]
    client = Client(enforce_csrf_checks=True)
    client.force_login(stock.rep_user)
    resp = _batch(client, ORDERS, "export_selected", [order.pk])
    assert resp.status_code == 403


def test_transfer_moves_customers_in_scope_and_ignores_the_others(stock) -> None:  # type: ignore[no-untyped-def]
    a1 = CustomerFactory(owner=stock.rep, name="甲")
    a2 = CustomerFactory(owner=stock.rep, name="乙")
    c1 = CustomerFactory(owner=stock.outsider, name="丙")
    client = login(stock.manager_user)
    resp = _batch(client, CUSTOMERS, "transfer", [a1.pk, a2.pk, c1.pk], stock.manager.employee_no)
    assert resp.status_code == 302
    owners = dict(Customer.objects.values_list("name", "owner_id"))
    assert owners == {"甲": stock.manager.pk, "乙": stock.manager.pk, "丙": stock.outsider.pk}
    texts = [str(m) for m in client.get(CUSTOMERS).context["messages"]]
    assert "1 条所选记录不在您的数据范围内，已忽略" in texts
    assert f"已将 2 位客户转移给 {stock.manager}" in texts
    logs = AuditLog.objects.filter(object_type="sales.customer", field="owner").order_by("id")
    assert [(log.object_id, log.before, log.after) for log in logs] == [
        (str(a1.pk), str(stock.rep.pk), str(stock.manager.pk)),
        (str(a2.pk), str(stock.rep.pk), str(stock.manager.pk)),
    ]
    assert {log.actor for log in logs} == {stock.manager_user}


def test_a_rep_posting_another_reps_customer_gets_it_ignored(stock) -> None:  # type: ignore[no-untyped-def]
    own = CustomerFactory(owner=stock.rep, name="自己的")
    other = CustomerFactory(owner=stock.outsider, name="别人的")
    client = login(stock.rep_user)
    resp = _batch(client, CUSTOMERS, "transfer", [other.pk], stock.rep.employee_no)
    assert resp.status_code == 302
    assert Customer.objects.get(pk=other.pk).owner == stock.outsider
    texts = [str(m) for m in client.get(CUSTOMERS).context["messages"]]
    assert texts == ["1 条所选记录不在您的数据范围内，已忽略"]
    # Nor can the rep hand their own customer to someone outside their scope.
    _batch(client, CUSTOMERS, "transfer", [own.pk], stock.outsider.employee_no)
    assert Customer.objects.get(pk=own.pk).owner == stock.rep
    texts = [str(m) for m in client.get(CUSTOMERS).context["messages"]]
    assert texts == [f"工号 {stock.outsider.employee_no} 不在您的数据权限范围内"]
    assert not AuditLog.objects.filter(field="owner").exists()


def test_the_customers_page_declares_transfer_with_a_confirmation(stock) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep)
    body = login(stock.rep_user).get(CUSTOMERS).content.decode()
    assert 'id="batch-transfer"' in body
    assert 'data-confirm="把所选客户转移给该工号的员工？"' in body
    assert 'id="batch-export_selected"' in body
    assert 'name="ids"' in body and 'form="list-batch"' in body


# ----------------------------------------------------------------------- saved scenes


def _save(client: Client, url: str, name: str, *, default: bool = False, **query: str) -> Any:
    data = {"list_action": "save_scene", "name": name}
    if default:
        data["is_default"] = "1"
    qs = "&".join(f"{k}={v}" for k, v in query.items())
    return client.post(f"{url}?{qs}", data)


def test_saved_scene_is_a_tab_for_its_owner_only(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    _orders(stock, catalogue, 3, start=datetime.date(2026, 10, 1))
    alice = login(stock.rep_user)
    resp = _save(alice, ORDERS, "十月上旬", order_date_from="2026-10-02", status="")
    assert resp.status_code == 302
    scene = SavedScene.objects.get()
    assert (scene.user, scene.list_key, scene.name) == (stock.rep_user, "sales:orders", "十月上旬")
    assert scene.query == "order_date_from=2026-10-02"
    page = alice.get(ORDERS)
    assert [s["name"] for s in page.context["saved_scenes"]] == ["十月上旬"]
    opened = alice.get(ORDERS + "?" + scene.query)
    assert len(opened.context["rows"]) == 2
    assert opened.context["saved_scenes"][0]["active"] is True
    # Another user never sees it, nor can delete it.
    charlie = login(stock.outsider_user)
    assert charlie.get(ORDERS).context["saved_scenes"] == []
    charlie.post(ORDERS, {"list_action": "delete_scene", "scene_id": str(scene.pk)})
    assert SavedScene.objects.filter(pk=scene.pk).exists()
    texts = [str(m) for m in charlie.get(ORDERS).context["messages"]]
    assert texts == ["场景不存在"]
    assert AuditLog.objects.filter(object_type="core.savedscene", action="create").count() == 4


def test_one_default_scene_per_user_and_list_applies_on_the_bare_address(stock, catalogue) -> None:  # type: ignore[no-untyped-def]
    _orders(stock, catalogue, 5, start=datetime.date(2026, 10, 1))
    alice = login(stock.rep_user)
    _save(alice, ORDERS, "前两天", default=True, order_date_to="2026-10-02")
    _save(alice, ORDERS, "最后一天", default=True, order_date_from="2026-10-05")
    defaults = SavedScene.objects.filter(user=stock.rep_user, is_default=True)
    assert list(defaults.values_list("name", flat=True)) == ["最后一天"]
    bare = alice.get(ORDERS)
    assert len(bare.context["rows"]) == 1
    assert 'id="list-reset" href="/sales/orders/"' in bare.content.decode()
    first = SavedScene.objects.get(name="前两天")
    alice.post(ORDERS, {"list_action": "default_scene", "scene_id": str(first.pk)})
    assert list(defaults.values_list("name", flat=True)) == ["前两天"]
    assert len(alice.get(ORDERS).context["rows"]) == 2
    # Explicit filters win over the default; deleting it leaves the built-in default.
    assert len(alice.get(ORDERS, {"order_date_from": "2026-10-04"}).context["rows"]) == 2
    alice.post(ORDERS, {"list_action": "delete_scene", "scene_id": str(first.pk)})
    assert len(alice.get(ORDERS).context["rows"]) == 5
    # Someone else's list is untouched by alice's default.
    assert len(login(stock.manager_user).get(ORDERS).context["rows"]) == 5


def test_saved_scene_name_is_required_and_unique(stock) -> None:  # type: ignore[no-untyped-def]
    alice = login(stock.rep_user)
    _save(alice, ORDERS, "  ")
    assert [str(m) for m in alice.get(ORDERS).context["messages"]] == ["请填写场景名称"]
    _save(alice, ORDERS, "甲")
    _save(alice, ORDERS, "甲", q="x")
    assert [str(m) for m in alice.get(ORDERS).context["messages"]] == [
        "场景“甲”已保存",
        "已有同名场景",
    ]
    assert SavedScene.objects.count() == 1


# ---------------------------------------------------------------- default scene per role


def _people(stock: Any) -> dict[str, Any]:
    hq = stock.company
    director = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="总监", department=hq, user=director)
    finance = UserFactory(username="fiona", role=role(RoleCode.FINANCE))
    EmployeeFactory(name="财务", department=hq, user=finance)
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    staff_admin = UserFactory(username="root2", role=role(RoleCode.ADMIN))
    EmployeeFactory(name="管理员", department=hq, user=staff_admin)
    return {
        "admin": admin,
        "staff_admin": staff_admin,
        "director": director,
        "finance": finance,
        "manager": stock.manager_user,
        "rep": stock.rep_user,
    }


def test_customers_default_scene_has_rows_for_every_role(stock) -> None:  # type: ignore[no-untyped-def]
    for _i in range(3):
        CustomerFactory(owner=stock.rep)
    CustomerFactory(owner=stock.outsider)
    expected = {
        # role: (active tab, rows); nobody but the rep owns a customer
        "admin": ("all", 4),
        "staff_admin": ("all", 4),
        "director": ("all", 4),
        "finance": ("all", 4),
        "manager": ("subordinates", 3),
        "rep": ("mine", 3),
    }
    got = {}
    for name, user in _people(stock).items():
        resp = login(user).get(CUSTOMERS)
        assert resp.status_code == 200, name
        active = [s["key"] for s in resp.context["scene_links"] if s["active"]]
        got[name] = (active[0] if active else "", len(resp.context["rows"]))
    assert got == expected
    # The tab the viewer asked for is kept even when empty.
    resp = login(User.objects.get(username="dora")).get(CUSTOMERS, {"scene": "mine"})
    assert len(resp.context["rows"]) == 0


def test_finding_the_default_scene_uses_exists_not_count(stock) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep)
    client = login(stock.manager_user)
    client.get(CUSTOMERS)
    with CaptureQueriesContext(connection) as ctx:
        client.get(CUSTOMERS)
    assert _count_queries(ctx, "sales_customer") == 1  # the page's own capped count only
    exists = [q for q in ctx.captured_queries if "LIMIT 1" in q["sql"].upper()]
    assert exists  # the empty 我负责的 was probed with EXISTS


def test_customer_department_filter_lists_the_departments_of_the_viewers_scope(
    stock: Any,
) -> None:
    # Given customers in the rep's team and in the other team, and a third empty team
    DepartmentFactory(name="空的组", code="T3", parent=stock.company)
    CustomerFactory(owner=stock.rep, department=stock.team)
    CustomerFactory(owner=stock.outsider, department=stock.other_team)
    director_user = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="朵拉", department=stock.company, user=director_user)

    # When each viewer's department choices are read
    def choices(user: User) -> list[tuple[int, str]]:
        return selectors.customer_department_choices(viewer_for(user), 200)

    # Then the choices are the departments the viewer's scope covers, read from the
    # department and employee tables (never a scan of the customers: a department with
    # no customers yet is offered and finds none)
    assert choices(director_user) == [
        (stock.team.pk, "华东一组"),
        (stock.other_team.pk, "华南一组"),
        (stock.company.pk, "示例公司"),
        (Department.objects.get(code="T3").pk, "空的组"),
    ]
    assert choices(stock.manager_user) == [(stock.team.pk, "华东一组")]
    assert choices(stock.outsider_user) == [(stock.other_team.pk, "华南一组")]
    assert choices(director_user)[:1] == selectors.customer_department_choices(
        viewer_for(director_user), 1
    )
