"""Leads (线索): create with 查重, convert once, scope; the same through the pages and API."""

from __future__ import annotations

import pytest
from django.test import Client

from salesops.core.access import viewer_for
from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog
from salesops.crm.models import Contact, Lead, LeadStatus
from salesops.crm.services.leads import LeadInput, lead_convert, lead_create
from salesops.factories import CustomerFactory
from salesops.sales.dedupe import find_duplicates
from salesops.sales.models import Customer


def _lead(stock, company: str = "上海华为技术有限公司", phone: str = "13812345678", **kw):  # type: ignore[no-untyped-def]
    return lead_create(
        actor=kw.pop("actor", stock.rep_user),
        data=LeadInput(company=company, contact_name="王经理", phone=phone, source="展会"),
        **kw,
    )


def test_create_defaults_owner_and_numbers(stock) -> None:  # type: ignore[no-untyped-def]
    lead = _lead(stock)
    assert lead.owner == stock.rep and lead.department_id == stock.rep.department_id
    assert lead.code.startswith("XS") and lead.status == LeadStatus.NEW
    assert lead.company_key == "华为技术" and lead.phone_key == "13812345678"
    assert AuditLog.objects.filter(object_type="crm.lead", object_id=str(lead.pk)).exists()


def test_duplicate_against_a_customer_the_rep_cannot_see(stock) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, name="华为技术（集团）有限公司", phone="13900000000")
    with pytest.raises(ServiceError) as exc:
        _lead(stock, company="华为技术有限公司", phone="")
    assert (exc.value.code, exc.value.status, exc.value.field) == ("duplicate", 409, "name")
    assert "已存在：由 查理（华南一组）负责" in str(exc.value.message)
    assert "华为技术（集团）" not in str(exc.value.message)  # the record itself is not shown
    lead = _lead(stock, company="华为技术有限公司", phone="", confirm_duplicate=True)
    notes = AuditLog.objects.filter(object_id=str(lead.pk), object_type="crm.lead")
    assert any(n.note.startswith("确认重复后仍创建：customer#- 查理 (name)") for n in notes)


def test_duplicate_found_by_phone_in_other_forms_and_among_leads(stock) -> None:  # type: ignore[no-untyped-def]
    _lead(stock, company="甲公司贸易部", phone="+86 138-1234-5678")
    with pytest.raises(ServiceError) as exc:
        _lead(stock, company="乙公司贸易部", phone="13812345678", actor=stock.outsider_user)
    assert exc.value.field == "phone"
    assert "已存在：由 爱丽丝（华东一组）负责" in str(exc.value.message)


def test_duplicates_answer_respects_scope(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, name="杭州阿里巴巴网络技术有限公司", phone="13700000000")
    rep = find_duplicates(viewer_for(stock.rep_user), name="阿里巴巴网络技术股份有限公司")
    outsider = find_duplicates(viewer_for(stock.outsider_user), name="阿里巴巴网络技术")
    manager = find_duplicates(viewer_for(stock.manager_user), phone="137 0000 0000")
    assert [(m.kind, m.id, m.visible) for m in rep] == [("customer", c.pk, True)]
    assert [(m.kind, m.id, m.visible, m.label) for m in outsider] == [("customer", None, False, "")]
    assert outsider[0].message == "已存在：由 爱丽丝（华东一组）负责"
    assert [(m.id, m.on) for m in manager] == [(c.pk, "phone")]


def test_person_names_are_no_criterion(stock) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, name="张伟", phone="13600000000")
    assert find_duplicates(viewer_for(stock.rep_user), name="张伟") == []


def test_pool_customer_says_claimable(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.outsider, name="深圳市大疆创新科技有限公司")
    Customer.objects.filter(pk=c.pk).update(owner=None)
    (m,) = find_duplicates(viewer_for(stock.rep_user), name="大疆创新科技")
    assert (m.kind, m.in_pool, m.message) == ("pool", True, "在公海中，可领取")


def test_convert_once_into_customer_and_contact(stock) -> None:  # type: ignore[no-untyped-def]
    lead = _lead(stock)
    done = lead_convert(actor=stock.rep_user, lead=lead)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONVERTED and lead.customer == done.customer
    assert (done.customer.name, done.customer.phone, done.customer.owner) == (
        "上海华为技术有限公司",
        "13812345678",
        stock.rep,
    )
    contact = Contact.objects.get(customer=done.customer)
    assert (contact.name, contact.decision_maker, lead.contact) == ("王经理", True, contact)
    with pytest.raises(ServiceError) as exc:
        lead_convert(actor=stock.rep_user, lead=lead)
    assert exc.value.code == "already_converted"
    assert "线索已经转化过了" in str(exc.value.message)
    assert Customer.objects.count() == 1


def test_convert_checks_duplicates_without_the_lead_itself(stock) -> None:  # type: ignore[no-untyped-def]
    lead = _lead(stock, phone="13500000000")
    CustomerFactory(owner=stock.outsider, name="其他公司名称", phone="13500000000")
    with pytest.raises(ServiceError) as exc:
        lead_convert(actor=stock.rep_user, lead=lead)
    assert exc.value.code == "duplicate"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW  # nothing half-done
    done = lead_convert(actor=stock.rep_user, lead=lead, confirm_duplicate=True)
    assert done.customer.phone_key == "13500000000"


# ------------------------------------------------------------------------------ API


def test_api_create_list_get_convert(stock, api) -> None:  # type: ignore[no-untyped-def]
    body = {"company": "南京苏宁易购有限公司", "contact_name": "李总", "phone": "13311112222"}
    resp = api("post", "/api/crm/leads", "alice", body)
    assert resp.status_code == 201, resp.content
    lead_id = resp.json()["id"]
    assert resp.json()["owner_id"] == stock.rep.pk and resp.json()["status"] == "new"
    assert api("get", "/api/crm/leads", "alice").json()["count"] == 1
    assert api("get", "/api/crm/leads", "charlie").json()["count"] == 0
    assert api("get", f"/api/crm/leads/{lead_id}", "charlie").status_code == 404
    assert api("post", f"/api/crm/leads/{lead_id}/convert", "charlie", {}).status_code == 404
    resp = api("post", f"/api/crm/leads/{lead_id}/convert", "alice", {})
    assert resp.status_code == 200
    out = resp.json()
    assert set(out) == {"customer_id", "contact_id", "opportunity_id"}
    assert Customer.objects.get(pk=out["customer_id"]).name == "南京苏宁易购有限公司"
    again = api("post", f"/api/crm/leads/{lead_id}/convert", "alice", {})
    assert (again.status_code, again.json()["code"]) == (409, "already_converted")


def test_api_duplicate_code_and_duplicates_endpoint(stock, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.outsider, name="苏宁易购集团股份有限公司", phone="13311112222")
    resp = api("post", "/api/crm/leads", "alice", {"company": "苏宁易购有限公司"})
    assert (resp.status_code, resp.json()["code"]) == (409, "duplicate")
    resp = api("get", "/api/crm/duplicates?name=苏宁易购&phone=133-1111-2222", "alice")
    assert resp.status_code == 200
    assert resp.json()["matches"] == [
        {
            "kind": "customer",
            "id": None,
            "name": "",
            "owner": "查理",
            "department": "华南一组",
            "in_pool": False,
            "visible": False,
            "on": "name",
            "message": "已存在：由 查理（华南一组）负责",
        }
    ]
    mine = api("get", "/api/crm/duplicates?phone=13311112222", "charlie").json()["matches"]
    assert [(m["id"], m["visible"], m["on"]) for m in mine] == [(c.pk, True, "phone")]


def test_api_refuses_bad_input(stock, api) -> None:  # type: ignore[no-untyped-def]
    assert api("post", "/api/crm/leads", "alice", {"company": ""}).status_code == 422
    assert (
        api("post", "/api/crm/leads", "alice", {"company": "x", "phone": "abc"}).status_code == 422
    )
    assert api("post", "/api/crm/leads", "alice", {"company": "x\x07"}).status_code == 422
    assert api("post", "/api/crm/leads", "alice", [1, 2]).status_code == 422
    assert Lead.objects.count() == 0


# ---------------------------------------------------------------------------- pages


def _login(client: Client, user) -> None:  # type: ignore[no-untyped-def]
    client.force_login(user)


def test_pages_create_with_duplicate_confirm_and_convert(stock, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, name="华为技术有限公司")
    _login(client, stock.rep_user)
    form = {"company": "上海华为技术有限公司", "owner": stock.rep.pk}
    resp = client.post("/crm/leads/new/", form)
    body = resp.content.decode()
    assert resp.status_code == 200 and 'id="duplicate-warning"' in body
    assert "已存在：由 查理（华南一组）负责" in body
    resp = client.post("/crm/leads/new/", {**form, "confirm_duplicate": "on"})
    lead = Lead.objects.get()
    assert resp.status_code == 302 and resp["Location"] == f"/crm/leads/{lead.pk}/"
    detail = client.get(f"/crm/leads/{lead.pk}/").content.decode()
    assert 'id="lead-duplicates"' in detail and 'id="convert-form"' in detail
    resp = client.post(f"/crm/leads/{lead.pk}/convert/")  # without confirming: refused
    assert resp.status_code == 302 and Customer.objects.filter(owner=stock.rep).count() == 0
    resp = client.post(f"/crm/leads/{lead.pk}/convert/", {"confirm_duplicate": "on"})
    customer = Customer.objects.get(owner=stock.rep)
    assert resp["Location"] == f"/sales/customers/{customer.pk}/"
    detail = client.get(f"/crm/leads/{lead.pk}/").content.decode()
    assert 'id="lead-converted"' in detail and 'id="convert-form"' not in detail


def test_list_page_scoped_and_bounded(stock, client, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    for i in range(25):
        _lead(stock, company=f"测试公司{i:02d}号有限公司", phone="")
    _lead(stock, company="别人的公司有限公司", phone="", actor=stock.outsider_user)
    _login(client, stock.rep_user)
    with django_assert_max_num_queries(14):
        body = client.get("/crm/leads/").content.decode()
    assert "测试公司24号有限公司" in body and "别人的公司" not in body
    _login(client, stock.outsider_user)
    assert (
        client.get(f"/crm/leads/{Lead.objects.filter(owner=stock.rep).first().pk}/").status_code
        == 404
    )


def test_duplicates_page(stock, client) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, name="华为技术有限公司")
    _login(client, stock.rep_user)
    body = client.get("/crm/duplicates/", {"name": "华为技术（集团）"}).content.decode()
    assert "已存在：由 查理（华南一组）负责" in body
    body = client.get("/crm/duplicates/", {"name": "完全不同的新公司"}).content.decode()
    assert 'id="no-duplicates"' in body
