"""Merging a duplicate customer moves every row that points at it — contacts, follow-ups,
opportunities, orders, quotes, contracts, receipts, the rest — and deletes it, audited;
only managers, directors and admins merge, and only customers in their scope."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditLog
from salesops.crm.models import Activity, ActivityKind, Contact, Opportunity, PoolCustomer
from salesops.crm.services.opportunities import OpportunityInput, opportunity_create
from salesops.factories import CustomerFactory, priced_product
from salesops.sales.models import Contract, Customer, Order, Quote
from salesops.sales.services.merge import customer_merge
from salesops.sales.services.orders import order_create
from salesops.sales.services.quotes import QuoteInput, QuoteLineInput, quote_create


def _everything(stock, customer):  # type: ignore[no-untyped-def]
    Contact.objects.create(customer=customer, name="王经理")
    Activity.objects.create(customer=customer, kind=ActivityKind.CALL, content="电话回访",
                            employee=stock.rep, at=timezone.now())  # fmt: skip
    opportunity_create(
        actor=None,
        customer=customer,
        data=OpportunityInput(name="续约", amount=Decimal(100), close_on=datetime.date(2027, 1, 1)),
    )
    product = priced_product("100")
    order_create(actor=None, order_date=timezone.localdate(), customer=customer,
                 lines=[{"product": product, "quantity": Decimal(1)}])  # fmt: skip
    lines = [QuoteLineInput(product, Decimal(2))]
    quote_create(actor=None, customer=customer, data=QuoteInput(title="报价", lines=lines))
    Contract.objects.create(
        contract_no="HT-M-1", name="合同", customer=customer, owner=customer.owner,
        department=customer.department, amount=Decimal(100), start_on=timezone.localdate(),
        end_on=timezone.localdate(),
    )  # fmt: skip


def test_a_merge_moves_every_row_and_deletes_the_duplicate(stock) -> None:
    keep = CustomerFactory(owner=stock.rep, department=stock.team, name="青禾商贸", phone="")
    drop = CustomerFactory(owner=stock.rep, department=stock.team, name="青禾商贸有限公司",
                           phone="13900001111", address="杭州市西湖区")  # fmt: skip
    _everything(stock, drop)
    done = customer_merge(actor=stock.manager_user, keep=keep, drop=drop)
    assert not Customer.objects.filter(pk=drop.pk).exists()
    for model in (Contact, Activity, Opportunity, Order, Quote, Contract):
        assert model.objects.filter(customer=keep).count() == 1, model
    assert done.moved["crm.contact"] == 1 and done.moved["sales.contract"] == 1
    keep.refresh_from_db()
    assert (keep.phone, keep.address) == ("13900001111", "杭州市西湖区")  # blanks filled
    assert keep.phone_key == "13900001111"
    notes = {
        str(n)
        for n in AuditLog.objects.filter(note__contains="合并到").values_list("note", flat=True)
    }
    assert any(str(drop.code) in n and str(keep.code) in n for n in notes)
    assert AuditLog.objects.filter(object_id=str(drop.pk), action="delete").exists()


def test_a_pool_duplicate_loses_its_pool_entry(stock) -> None:
    from salesops.crm.models import Pool

    keep = CustomerFactory(owner=stock.rep, department=stock.team)
    drop = CustomerFactory(owner=None, department=stock.team)
    pool = Pool.objects.create(name="测试公海")
    PoolCustomer.objects.create(customer=drop, pool=pool, entered_at=timezone.now())
    customer_merge(actor=stock.manager_user, keep=keep, drop=drop)
    assert not PoolCustomer.objects.exists()
    pooled = CustomerFactory(owner=None, department=stock.team)
    with pytest.raises(ServiceError) as err:  # the kept one must be owned
        customer_merge(actor=stock.manager_user, keep=pooled, drop=keep)
    assert err.value.code == "in_pool"


def test_only_managers_merge_and_only_in_scope(stock, api, client) -> None:
    keep = CustomerFactory(owner=stock.rep, department=stock.team)
    drop = CustomerFactory(owner=stock.rep, department=stock.team)
    other_team = CustomerFactory(owner=stock.outsider, department=stock.other_team)
    with pytest.raises(PermissionDeniedError):
        customer_merge(actor=stock.rep_user, keep=keep, drop=drop)
    resp = api("post", f"/api/customers/{keep.pk}/merge", "alice", {"other_id": drop.pk})
    assert resp.status_code == 403
    resp = api("post", f"/api/customers/{keep.pk}/merge", "bob", {"other_id": other_team.pk})
    assert resp.status_code == 404 and resp.json()["code"] == "not_found"
    resp = api("post", f"/api/customers/{keep.pk}/merge", "bob", {"other_id": keep.pk})
    assert resp.status_code == 400 and resp.json()["code"] == "same_customer"
    # the page: a preview first, then the merge once confirmed
    client.force_login(stock.manager_user)
    url = f"/sales/customers/{keep.pk}/merge/"
    page = client.post(url, {"other_code": drop.code}).content.decode()
    assert "merge-preview" in page and drop.name in page
    assert Customer.objects.filter(pk=drop.pk).exists()
    assert client.post(url, {"other_code": other_team.code, "confirm": "on"}).status_code == 200
    assert Customer.objects.filter(pk=other_team.pk).exists()
    assert client.post(url, {"other_code": drop.code, "confirm": "on"}).status_code == 302
    assert not Customer.objects.filter(pk=drop.pk).exists()
    client.force_login(stock.rep_user)
    assert client.get(url).status_code == 403
    assert "customer-merge" not in client.get(f"/sales/customers/{keep.pk}/").content.decode()
