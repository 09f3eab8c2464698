"""The customer list at a million rows, tested at a few: search through the trigram index
(SQLite FTS5 / PostgreSQL pg_trgm) and for one or two characters the gram index, both kept
in step by every writer, the capped count with its 精确统计 link, filter choices from small
tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from salesops.core.access import viewer_for
from salesops.core.imports.engine import run_import
from salesops.core.imports.services import importer_for
from salesops.core.models import RoleCode
from salesops.factories import CustomerFactory, EmployeeFactory, UserFactory, role
from salesops.sales import selectors
from salesops.sales.models import Customer
from salesops.sales.search import CUSTOMER_SHORT, CUSTOMER_TEXT

CUSTOMERS = reverse("sales:customers")


def login(user: Any) -> Client:
    c = Client()
    c.force_login(user)
    return c


def listed(client: Client, q: str, **params: str) -> list[str]:
    resp = client.get(CUSTOMERS, {"q": q, "scene": "all", "size": "100", **params})
    assert resp.status_code == 200
    return sorted(row["obj"].code for row in resp.context["rows"])


def short(text: str) -> list[str]:
    """Codes the gram index alone finds for a term of one or two characters."""
    q = CUSTOMER_SHORT.q(text, ("name", "code"))
    assert q is not None
    return sorted(Customer.objects.filter(q).values_list("code", flat=True))


def indexed(text: str, columns: tuple[str, ...] = ("name", "code", "phone")) -> list[str]:
    """Codes the index alone finds (no fallback), to prove the index is in step."""
    q = CUSTOMER_TEXT.q(text, columns)
    assert q is not None
    return sorted(Customer.objects.filter(q).values_list("code", flat=True))


def _world(stock: Any) -> None:
    CustomerFactory(code="C100", name="上海华为技术有限公司", phone="13800138000", owner=stock.rep)
    CustomerFactory(code="C101", name="客户张伟", phone="13900000001", owner=stock.rep)
    CustomerFactory(code="C102", name="Acme Trading", phone="+86 137-0000-0002", owner=stock.rep)
    CustomerFactory(code="X777", name="深圳腾讯", phone="13700000003", owner=stock.outsider)


# ------------------------------------------------------------------------------ search


def test_search_finds_by_name_fragment_code_and_phone_through_the_index(stock) -> None:
    # Given customers in the rep's and in another team
    _world(stock)
    manager = login(stock.manager_user)
    # When the manager searches (fragments of three characters or more: the index)
    # Then name fragments, codes and phone fragments find exactly the matching rows
    assert listed(manager, "华为技术") == ["C100"]
    assert listed(manager, "acme") == ["C102"]  # case-folded as icontains is
    assert listed(manager, "C10") == ["C100", "C101", "C102"]
    assert listed(manager, "13800138000") == ["C100"]  # full phone
    # A phone fragment: for the owner (the manager has no right to see phones)
    assert listed(manager, "0138") == []
    assert listed(login(stock.rep_user), "0138") == ["C100"]
    assert listed(manager, "深圳腾讯") == []  # outside the manager's scope
    assert listed(manager, '华为"技术') == []  # a quote is text, not query syntax


def test_short_terms_are_answered_by_the_gram_index(stock) -> None:
    _world(stock)
    manager = login(stock.manager_user)
    # One or two characters have no trigram: the gram index answers, anywhere in the name
    assert CUSTOMER_TEXT.q("张伟", ("name",)) is None
    assert short("张伟") == ["C101"]
    assert short("华为") == ["C100"]  # not at the start: 上海华为技术有限公司
    assert short("司") == ["C100"]  # the last character
    assert short("AC") == ["C102"]  # case-folded as icontains is
    assert short("10") == ["C100", "C101", "C102"]  # codes
    # And the list finds the same rows
    assert listed(manager, "张伟") == ["C101"]
    assert listed(manager, "客户") == ["C101"]
    assert listed(manager, "ac") == ["C102"]
    assert listed(manager, "华") == ["C100"]
    assert listed(manager, "深圳") == []  # X777 is outside the manager's scope
    # A phone fragment needs three characters (two digits are in nearly every number)
    assert listed(login(stock.rep_user), "38") == []
    assert listed(login(stock.rep_user), "380") == ["C100"]


def test_a_common_short_term_is_searched_by_icontains(stock, settings) -> None:
    # Given a two-character term in more rows than the index answers with ids
    _world(stock)
    CustomerFactory(code="C103", name="客户李四", owner=stock.rep)
    settings.SALESOPS_GRAM_RARE = 1
    # Then the index declines and the list's icontains finds the rows (a page at once)
    assert CUSTOMER_SHORT.q("客户", ("name", "code")) is None
    assert listed(login(stock.manager_user), "客户") == ["C101", "C103"]
    # A rare one still goes through the index
    assert CUSTOMER_SHORT.q("李四", ("name", "code")) is not None
    assert listed(login(stock.manager_user), "李四") == ["C103"]


def test_the_gram_index_follows_every_writer(stock, tmp_path: Path) -> None:
    # Created, renamed, bulk-updated, deleted
    c = CustomerFactory(code="K1", name="北京字节跳动", owner=stock.rep)
    assert short("跳动") == ["K1"]
    c.name = "北京抖音科技"
    c.save()
    assert short("跳动") == []
    assert short("抖音") == ["K1"]
    Customer.objects.filter(pk=c.pk).update(name="北京火山引擎", code="K2")
    assert short("抖音") == []
    assert short("火山") == ["K2"]
    assert short("K1") == []
    Customer.objects.filter(pk=c.pk).delete()
    assert short("火山") == []
    # bulk_create and the customers import
    admin = UserFactory(username="admin", role=role(RoleCode.ADMIN))
    stock.rep.employee_no = "E9"
    stock.rep.save()
    Customer.objects.bulk_create(
        [
            Customer(code=f"B{i}", name=f"批量{i}号", owner=stock.rep, department=stock.team)
            for i in range(3)
        ]
    )
    assert short("1号") == ["B1"]
    path = tmp_path / "customers.csv"
    path.write_text(
        "客户编号,客户名称,手机号,负责人工号,客户来源,地址\n"
        "B1,改名后的客户,13812345678,E9,展会,上海\n"
        "N1,导入的新客户,13887654321,E9,,\n",
        encoding="utf-8",
    )
    report = run_import(importer=importer_for("customers"), path=path, actor=admin, write=True)
    assert report.errors == []
    assert short("1号") == []
    assert short("改名") == ["B1"]
    assert short("新客") == ["N1"]


def test_phone_fragments_need_the_right_but_the_full_number_does_not(stock) -> None:
    # Given the rep's own customer and the manager's, searched by the rep, who has no
    # right to see other people's phones
    _world(stock)
    other = CustomerFactory(code="C200", name="同组客户", phone="13600000009", owner=stock.manager)
    rep_viewer = viewer_for(stock.rep_user)
    assert not rep_viewer.can_view_personal_info

    def found(text: str) -> list[str]:
        q = selectors.customer_search_q(rep_viewer, text)
        return sorted(Customer.objects.filter(q).values_list("code", flat=True))

    # A fragment of the rep's own customer's phone is found, a colleague's is not
    assert found("0138000") == ["C100"]
    assert found("0000009") == []
    # The full number is found whoever owns it (then filtered by scope on the page)
    assert found("13600000009") == [other.code]


def test_the_index_follows_create_update_delete(stock) -> None:
    # Given a customer created through the ORM
    c = CustomerFactory(code="K1", name="北京字节跳动", phone="13511112222", owner=stock.rep)
    assert indexed("字节跳动") == ["K1"]
    # When it is renamed and its phone changes
    c.name = "北京抖音科技"
    c.phone = "13533334444"
    c.save()
    # Then the old words are gone and the new ones found
    assert indexed("字节跳动") == []
    assert indexed("抖音科技") == ["K1"]
    assert indexed("3333444") == ["K1"]
    assert indexed("1111222") == []
    # A bulk update (no save(), no signal) is followed too
    Customer.objects.filter(pk=c.pk).update(name="北京火山引擎")
    assert indexed("火山引擎") == ["K1"]
    assert indexed("抖音科技") == []
    # And a deletion removes it
    Customer.objects.filter(pk=c.pk).delete()
    assert indexed("火山引擎") == []


def test_the_index_follows_bulk_create_and_the_customers_import(stock, tmp_path: Path) -> None:
    admin = UserFactory(username="admin", role=role(RoleCode.ADMIN))
    stock.rep.employee_no = "E9"
    stock.rep.save()
    Customer.objects.bulk_create(
        [
            Customer(code=f"B{i}", name=f"批量客户{i}号", owner=stock.rep, department=stock.team)
            for i in range(3)
        ]
    )
    assert indexed("量客户1号") == ["B1"]
    path = tmp_path / "customers.csv"
    path.write_text(
        "客户编号,客户名称,手机号,负责人工号,客户来源,地址\n"
        "B1,改名后的客户,13812345678,E9,展会,上海\n"
        "N1,导入的新客户,13887654321,E9,,\n",
        encoding="utf-8",
    )
    report = run_import(importer=importer_for("customers"), path=path, actor=admin, write=True)
    assert report.errors == []
    assert indexed("量客户1号") == []
    assert indexed("改名后") == ["B1"]
    assert indexed("导入的新") == ["N1"]
    assert indexed("87654321") == ["N1"]
    # The new source was recorded for the filter by the database, not by the importer
    assert "展会" in selectors.customer_source_choices(200)


# ------------------------------------------------------------------------------ counting


def test_a_count_over_the_cap_says_plus_and_counts_exactly_on_request(stock, settings) -> None:
    settings.LIST_COUNT_CAP = 5
    for _ in range(8):
        CustomerFactory(owner=stock.rep)
    rep = login(stock.rep_user)
    with CaptureQueriesContext(connection) as ctx:
        capped = rep.get(CUSTOMERS, {"size": "20"})
    body = capped.content.decode()
    assert "共 5+ 条" in body
    assert "精确统计" in body and 'id="list-count-exact"' in body
    assert len(capped.context["rows"]) == 8
    # The count rides on the page's own query: one statement reads the customers
    customer_sql = [q["sql"] for q in ctx.captured_queries if '"sales_customer"' in q["sql"]]
    assert sum("COUNT(" in sql.upper() for sql in customer_sql) == 1
    assert "LIMIT 6" in next(sql for sql in customer_sql if "COUNT(" in sql.upper()).upper()
    # The link asks again with count=exact and gets the exact number
    exact = rep.get(CUSTOMERS + capped.context["count_exact_url"])
    assert "共 8 条" in exact.content.decode()
    assert not exact.context["page"].capped
    # Below the cap the count is exact without asking
    settings.LIST_COUNT_CAP = 100
    assert "共 8 条" in rep.get(CUSTOMERS).content.decode()


def test_a_page_past_the_end_shows_the_last_page(stock, settings) -> None:
    for _ in range(3):
        CustomerFactory(owner=stock.rep)
    resp = login(stock.rep_user).get(CUSTOMERS, {"page": "500"})
    assert resp.context["page"].number == 1
    assert len(resp.context["rows"]) == 3


# ------------------------------------------------------------------------------ choices


def test_filter_choices_read_no_customer_rows(stock) -> None:
    # Given customers with sources
    CustomerFactory(owner=stock.rep, source="展会")
    CustomerFactory(owner=stock.outsider, source="网络")
    director = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="朵拉", department=stock.company, user=director)
    viewer = viewer_for(director)
    with CaptureQueriesContext(connection) as ctx:
        departments = selectors.customer_department_choices(viewer, 200)
        sources = selectors.customer_source_choices(200)
    # Then two queries on small tables give the choices, none reads sales_customer
    assert len(ctx.captured_queries) == 2
    assert not any("sales_customer" in q["sql"] for q in ctx.captured_queries)
    assert [name for _pk, name in departments] == ["华东一组", "华南一组", "示例公司"]
    assert sources == ["展会", "网络"]
    # And the page as a whole stays within twelve queries with the filter widgets shown
    client = login(director)
    with CaptureQueriesContext(connection) as page:
        resp = client.get(CUSTOMERS)
    assert resp.status_code == 200
    assert len(page.captured_queries) <= 12
    widgets = {w["key"]: w["choices"] for w in resp.context["filter_widgets"]}
    assert widgets["source"] == [("展会", "展会"), ("网络", "网络")]
