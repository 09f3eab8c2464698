"""Follow-ups (跟进记录) and contacts (联系人): what a follow-up moves on the customer, the
rules that refuse bad ones (service, page and API), the due reminders, the scopes, and the
audit of contacts (personal data)."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog, Notification
from salesops.crm.models import Activity, Contact, Pool, PoolCustomer
from salesops.crm.selectors.pool import countdown
from salesops.crm.services.contacts import ContactInput, contact_create, contact_delete
from salesops.crm.services.followups import FollowupInput, followup_create, followup_reminders
from salesops.crm.services.leads import LeadInput, lead_create
from salesops.crm.services.pool import customer_release
from salesops.factories import CustomerFactory


def _log(stock, customer, **kw):  # type: ignore[no-untyped-def]
    data = {"kind": "call", "content": "电话沟通需求", **kw}
    return followup_create(actor=stock.rep_user, customer=customer, data=FollowupInput(**data))


def test_a_follow_up_moves_the_customer_and_closes_the_earlier_next_step(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    first = _log(stock, c, next_step="发送报价", next_on=tomorrow)
    c.refresh_from_db()
    assert c.last_followup_at == first.at
    assert c.next_followup_on == tomorrow
    assert first.employee == stock.rep and not first.done
    second = _log(stock, c, kind="visit", content="上门拜访")
    c.refresh_from_db()
    first.refresh_from_db()
    assert first.done  # the planned step was taken by the later contact
    assert c.last_followup_at == second.at
    assert c.next_followup_on is None  # the latest follow-up planned nothing


def test_a_backdated_follow_up_never_moves_the_last_contact_back(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    now = _log(stock, c)
    _log(stock, c, at=timezone.now() - datetime.timedelta(days=3))
    c.refresh_from_db()
    assert c.last_followup_at == now.at


def test_the_pool_countdown_restarts_with_a_follow_up(stock) -> None:  # type: ignore[no-untyped-def]
    pool = Pool.objects.create(name="华东公海", days_no_followup=30)
    pool.departments.add(stock.team)
    c = CustomerFactory(owner=stock.rep, owner_since=timezone.now() - datetime.timedelta(days=40))
    c.last_followup_at = timezone.now() - datetime.timedelta(days=28)
    c.save(update_fields=["last_followup_at"])
    assert countdown(c) == "未跟进 28 天，规则：30 天未跟进收回，2 天后进入华东公海"
    _log(stock, c)
    c.refresh_from_db()
    assert countdown(c) == "未跟进 0 天，规则：30 天未跟进收回，30 天后进入华东公海"


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"kind": "fax"}, "kind"),
        ({"content": "   "}, "content"),
        ({"content": "x" * 5001}, "content"),
        ({"content": "bad\x00text"}, "content"),
        ({"next_step": "回访", "next_on": None}, "next_on"),
        ({"next_on": datetime.date(2020, 1, 1)}, "next_on"),
        ({"at": timezone.now() + datetime.timedelta(days=1)}, "at"),
        ({"at": timezone.now() - datetime.timedelta(days=400)}, "at"),
    ],
)
def test_bad_follow_ups_are_refused_with_the_field(stock, kw, field) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    with pytest.raises(ServiceError) as err:
        _log(stock, c, **kw)
    assert err.value.code == "invalid_input" and err.value.field == field
    assert not Activity.objects.exists()


def test_a_pool_customer_must_be_claimed_first_and_a_contact_must_be_its_own(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    other = CustomerFactory(owner=stock.rep)
    theirs = Contact.objects.create(customer=other, name="王五")
    with pytest.raises(ServiceError) as err:
        followup_create(
            actor=stock.rep_user,
            customer=c,
            contact=theirs,
            data=FollowupInput("call", "电话"),
        )
    assert err.value.code == "contact_mismatch"
    customer_release(actor=stock.rep_user, customer=c, reason="暂无需求")
    c.refresh_from_db()
    with pytest.raises(ServiceError) as err:
        _log(stock, c)
    assert err.value.code == "in_pool"
    assert PoolCustomer.objects.filter(customer=c).exists()


def test_a_lead_takes_follow_ups_until_converted(stock) -> None:  # type: ignore[no-untyped-def]
    lead = lead_create(actor=stock.rep_user, data=LeadInput(company="远景科技有限公司"))
    a = followup_create(actor=stock.rep_user, lead=lead, data=FollowupInput("wechat", "加了微信"))
    lead.refresh_from_db()
    assert lead.last_followup_at == a.at


def test_reminders_once_per_person_per_day_to_the_owner(stock) -> None:  # type: ignore[no-untyped-def]
    c1 = CustomerFactory(owner=stock.rep)
    c2 = CustomerFactory(owner=stock.rep)
    today = timezone.localdate()
    for c in (c1, c2):
        _log(stock, c, next_step="回电", next_on=today)
    # a step planned for later is not due; a step already taken is not reminded
    c3 = CustomerFactory(owner=stock.rep)
    _log(stock, c3, next_step="回电", next_on=today + datetime.timedelta(days=3))
    now = timezone.now()
    done = followup_reminders(now)
    assert (done.activities, done.notices) == (2, 1)
    note = Notification.objects.get(user=stock.rep_user)
    assert "2" in note.title
    again = followup_reminders(now)
    assert (again.activities, again.notices) == (0, 0)
    assert Notification.objects.filter(user=stock.rep_user).count() == 1


def test_contacts_are_audited_as_personal_data(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    contact = contact_create(
        actor=stock.rep_user,
        customer=c,
        data=ContactInput(name="王经理", phone="13800138000", decision_maker=True),
    )
    assert AuditLog.objects.filter(object_type="crm.contact", object_id=str(contact.pk)).exists()
    with pytest.raises(ServiceError) as err:
        contact_create(actor=stock.rep_user, customer=c, data=ContactInput(name="李", phone="abc"))
    assert err.value.field == "phone"
    contact_delete(actor=stock.rep_user, contact=contact)
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert AuditLog.objects.filter(
        object_type="crm.contact", object_id=str(contact.pk), action="delete"
    ).exists()


# ------------------------------------------------------------------ pages


def test_the_customer_page_shows_the_timeline_and_contacts_tabs(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    Contact.objects.create(customer=c, name="王经理", phone="13800138000")
    _log(stock, c, content="第一次电话，客户关注交期")
    client.force_login(stock.rep_user)
    url = reverse("sales:customer_detail", args=[c.pk])
    page = client.get(url).content.decode()
    assert "跟进记录" in page and "联系人" in page
    assert "第一次电话，客户关注交期" in page
    assert 'id="followup-form"' in page
    # The other tabs load when first shown: the 联系人 tab's placeholder, then its content
    assert f'hx-get="{url}?part=contacts"' in page
    assert "王经理" in client.get(url, {"part": "contacts"}).content.decode()
    assert client.get(url, {"part": "nothing-of-that-name"}).status_code == 404
    # Another rep's customer: no tab of it either
    client.force_login(stock.outsider_user)
    assert client.get(url, {"part": "contacts"}).status_code == 404


def test_the_follow_up_form_keeps_what_was_typed_when_refused(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    client.force_login(stock.rep_user)
    url = reverse("crm:customer_followup", args=[c.pk])
    resp = client.post(url, {"kind": "call", "content": "谈了价格", "next_step": "寄样品"})
    assert resp.status_code == 200
    page = resp.content.decode()
    assert "填写了下一步，请同时填写下次跟进日期" in page and "谈了价格" in page
    assert not Activity.objects.exists()
    ok = client.post(url, {"kind": "call", "content": "谈了价格"})
    assert ok.status_code == 302 and Activity.objects.count() == 1


def test_pages_of_another_teams_customer_are_not_found(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    theirs = CustomerFactory(owner=stock.outsider)
    contact = Contact.objects.create(customer=theirs, name="赵六")
    client.force_login(stock.rep_user)
    for url in (
        reverse("crm:customer_followup", args=[theirs.pk]),
        reverse("crm:contact_new", args=[theirs.pk]),
        reverse("crm:contact_edit", args=[contact.pk]),
    ):
        assert client.get(url).status_code == 404
    assert client.post(reverse("crm:contact_delete", args=[contact.pk])).status_code == 404
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_the_follow_up_list_is_scoped_and_bounded(
    stock, client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    mine = [CustomerFactory(owner=stock.rep) for _ in range(3)]
    theirs = CustomerFactory(owner=stock.outsider)
    for c in mine:
        _log(stock, c, content=f"跟进 {c.name}")
    followup_create(
        actor=stock.outsider_user, customer=theirs, data=FollowupInput("call", "他们的秘密")
    )
    client.force_login(stock.rep_user)
    client.get(reverse("crm:followups"))  # warm the caches of the session and menu
    with django_assert_max_num_queries(12):
        page = client.get(reverse("crm:followups")).content.decode()
    assert all(f"跟进 {c.name}" in page for c in mine)
    assert "他们的秘密" not in page
    assert 'id="list-q"' in page  # a list searched by extra_search only has its search box
    found = client.get(reverse("crm:followups"), {"q": mine[0].name, "scene": "all"})
    rows = found.content.decode()
    assert f"跟进 {mine[0].name}" in rows and f"跟进 {mine[1].name}" not in rows
    for c in mine[1:]:
        _log(stock, c, content="再跟进")
    with django_assert_max_num_queries(12):
        client.get(reverse("crm:followups"))


# ------------------------------------------------------------------ API


def test_api_follow_ups_and_contacts(stock, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    made = api(
        "post",
        f"/api/crm/customers/{c.pk}/contacts",
        "alice",
        {"name": "王经理", "phone": "13800138000", "decision_maker": True},
    )
    assert made.status_code == 201, made.content
    contact_id = made.json()["id"]
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    resp = api(
        "post",
        "/api/crm/followups",
        "alice",
        {
            "customer_id": c.pk,
            "contact_id": contact_id,
            "kind": "meeting",
            "content": "方案会",
            "next_step": "出报价",
            "next_on": tomorrow,
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["kind"], body["contact_id"], body["next_on"]) == ("meeting", contact_id, tomorrow)
    listed = api("get", f"/api/crm/followups?customer_id={c.pk}", "alice").json()
    assert listed["count"] == 1
    # the manager sees it, another team's rep does not
    assert api("get", f"/api/crm/followups?customer_id={c.pk}", "bob").json()["count"] == 1
    assert api("get", f"/api/crm/followups?customer_id={c.pk}", "charlie").json()["count"] == 0
    patched = api("patch", f"/api/crm/contacts/{contact_id}", "alice", {"title": "采购经理"})
    assert patched.status_code == 200 and patched.json()["title"] == "采购经理"
    assert api("delete", f"/api/crm/contacts/{contact_id}", "charlie").status_code == 404
    assert api("delete", f"/api/crm/contacts/{contact_id}", "alice").status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "call", "content": "x"},  # neither customer nor lead
        {"customer_id": 1, "lead_id": 1, "kind": "call", "content": "x"},
        {"customer_id": 1, "kind": "fax", "content": "x"},
        {"customer_id": 1, "kind": "call", "content": ""},
        {"customer_id": 1, "kind": "call", "content": "x", "next_step": "回访"},
        {"customer_id": 1, "kind": "call", "content": "x", "next_on": "2020-01-01"},
        {"customer_id": 1, "kind": "call", "content": "x", "next_on": "0"},
    ],
)
def test_api_refuses_bad_follow_ups(stock, api, body) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    if "customer_id" in body:
        body = {**body, "customer_id": c.pk}
    resp = api("post", "/api/crm/followups", "alice", body)
    assert resp.status_code in (400, 422), resp.content
    assert "code" in resp.json()
    assert not Activity.objects.exists()


def test_api_follow_up_on_another_teams_customer_is_not_found(stock, api) -> None:  # type: ignore[no-untyped-def]
    theirs = CustomerFactory(owner=stock.outsider)
    resp = api(
        "post",
        "/api/crm/followups",
        "alice",
        {"customer_id": theirs.pk, "kind": "call", "content": "x"},
    )
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    assert not Activity.objects.exists()
