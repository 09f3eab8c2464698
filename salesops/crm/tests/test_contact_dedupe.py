"""查重 of a contact's phone and e-mail at its create and change, as for leads: refused
with the matches listed and a 仍要创建 box; going on past it is audited; a rep who may
not see the match reads only who holds it; the contact itself and its own customer are
no duplicates. The form, the API and the service."""

from __future__ import annotations

import pytest
from django.test import Client

from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog
from salesops.crm.models import Contact
from salesops.crm.services.contacts import ContactInput, contact_create, contact_update
from salesops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

THEIR_PHONE = "139 1234 5678"


@pytest.fixture
def theirs(stock) -> Contact:  # type: ignore[no-untyped-def]
    """A contact of the outsider's customer (another team: the rep may not see it)."""
    customer = CustomerFactory(
        name="深圳南山精密机械有限公司", owner=stock.outsider, department=stock.other_team
    )
    return Contact.objects.create(
        customer=customer, name="赵六", phone="+86 13912345678", email="zhao@nanshan.example"
    )


def _post(client: Client, url: str, **values: str):  # type: ignore[no-untyped-def]
    return client.post(url, {"name": "王芳", "title": "采购经理", **values})


def test_a_duplicate_phone_is_refused_then_saved_with_confirmation_and_audited(
    stock, theirs, client: Client
) -> None:
    mine = CustomerFactory(owner=stock.rep, department=stock.team)
    client.force_login(stock.rep_user)
    url = f"/crm/customers/{mine.pk}/contacts/new/"
    resp = _post(client, url, phone=THEIR_PHONE)
    page = resp.content.decode()
    assert resp.status_code == 200
    assert "疑似重复（1 条）：已存在：由 查理（华南一组）负责" in page
    assert 'id="contact-duplicates"' in page and 'id="duplicate-warning"' in page
    assert 'type="checkbox" name="confirm_duplicate"' in page
    assert "深圳南山精密机械有限公司" not in page and "赵六" not in page  # never the record
    assert f'value="{THEIR_PHONE}"' in page  # the input is kept
    assert not Contact.objects.filter(customer=mine).exists()

    resp = _post(client, url, phone=THEIR_PHONE, confirm_duplicate="on")
    assert resp.status_code == 302
    contact = Contact.objects.get(customer=mine)
    log = AuditLog.objects.filter(object_type="crm.contact", object_id=str(contact.pk))
    assert log.filter(action="create", field="phone", after=THEIR_PHONE).exists()
    confirmed = log.get(note__startswith="确认重复后仍创建")
    assert (confirmed.actor, confirmed.note) == (
        stock.rep_user,
        "确认重复后仍创建：contact#- 查理 (phone)",
    )


def test_an_e_mail_matches_too_and_a_visible_match_names_the_customer(
    stock, theirs, client: Client
) -> None:
    theirs.customer.owner, theirs.customer.department = stock.rep, stock.team
    theirs.customer.save()
    mine = CustomerFactory(owner=stock.rep, department=stock.team)
    client.force_login(stock.manager_user)
    resp = _post(client, f"/crm/customers/{mine.pk}/contacts/new/", email="ZHAO@nanshan.example")
    page = resp.content.decode()
    assert "疑似重复（1 条）：已存在：深圳南山精密机械有限公司（负责人 爱丽丝）" in page
    assert f'href="/sales/customers/{theirs.customer_id}/"' in page


def test_the_contact_itself_and_its_own_customer_are_no_duplicates(
    stock, theirs, client: Client
) -> None:
    mine = CustomerFactory(owner=stock.rep, department=stock.team, phone="13800001111")
    client.force_login(stock.rep_user)
    # The company's own number on its contact.
    assert (
        _post(client, f"/crm/customers/{mine.pk}/contacts/new/", phone="13800001111").status_code
        == 302
    )
    contact = Contact.objects.get(customer=mine)
    # Saving it again unchanged, or changing only its title, finds nothing.
    url = f"/crm/contacts/{contact.pk}/edit/"
    assert _post(client, url, phone="13800001111", title="总经理").status_code == 302
    assert Contact.objects.get(pk=contact.pk).title == "总经理"
    # Changing the phone to the other team's contact's is a duplicate.
    resp = _post(client, url, phone=THEIR_PHONE)
    page = resp.content.decode()
    assert "已存在：由 查理（华南一组）负责" in page and "仍要保存" in page
    assert Contact.objects.get(pk=contact.pk).phone == "13800001111"
    assert _post(client, url, phone=THEIR_PHONE, confirm_duplicate="on").status_code == 302
    assert Contact.objects.get(pk=contact.pk).phone == THEIR_PHONE
    log = AuditLog.objects.filter(object_type="crm.contact", object_id=str(contact.pk))
    assert log.filter(field="phone", before="13800001111", after=THEIR_PHONE).exists()
    assert log.get(note__startswith="确认重复后仍保存").action == "update"
    # Now its own number again: still no match with itself.
    assert _post(client, url, phone=THEIR_PHONE, title="董事长").status_code == 302


def test_the_service_and_the_api_refuse_a_duplicate_until_confirmed(stock, theirs, api) -> None:
    mine = CustomerFactory(owner=stock.rep, department=stock.team)
    with pytest.raises(ServiceError) as exc:
        contact_create(
            actor=stock.rep_user, customer=mine, data=ContactInput(name="王芳", phone=THEIR_PHONE)
        )
    assert (exc.value.code, exc.value.field, exc.value.status) == ("duplicate", "phone", 409)

    path = f"/api/crm/customers/{mine.pk}/contacts"
    resp = api("post", path, "alice", {"name": "王芳", "phone": THEIR_PHONE})
    assert resp.status_code == 409
    body = resp.json()
    assert body["code"] == "duplicate"
    assert "已存在：由 查理（华南一组）负责" in body["message"]
    assert "confirm_duplicate" in body["message"] and "深圳南山" not in body["message"]
    resp = api(
        "post", path, "alice", {"name": "王芳", "phone": THEIR_PHONE, "confirm_duplicate": True}
    )
    assert resp.status_code == 201
    created = Contact.objects.get(pk=resp.json()["id"])

    other = contact_create(actor=stock.rep_user, customer=mine, data=ContactInput(name="李雷"))
    patch = f"/api/crm/contacts/{other.pk}"
    assert api("patch", patch, "alice", {"email": "zhao@nanshan.example"}).status_code == 409
    resp = api(
        "patch", patch, "alice", {"email": "zhao@nanshan.example", "confirm_duplicate": True}
    )
    assert resp.status_code == 200
    assert api("patch", patch, "alice", {"title": "财务"}).status_code == 200  # itself: no match
    notes = set(
        AuditLog.objects.filter(
            object_type="crm.contact", object_id__in=[str(created.pk), str(other.pk)]
        )
        .exclude(note="")
        .values_list("object_id", "note")
    )
    assert notes == {
        (str(created.pk), "确认重复后仍创建：contact#- 查理 (phone)"),
        (str(other.pk), "确认重复后仍保存：contact#- 查理 (email)"),
    }
    contact_update(
        actor=stock.rep_user,
        contact=other,
        data=ContactInput(name="李雷", email="zhao@nanshan.example", title="财务经理"),
    )
