"""Quotes, contracts, receivable plans and receipts: the seed's rules held by the
services (a discount beyond the quoting person's limit or a price below the floor waits
for approval and cannot be sent or accepted; a contract is signed only after approval; a
signed version is changed only by an amendment; plans and receipts cannot exceed the
contract; finance confirms receipts) — and the same rules through the API."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesops.core.approvals import approval_act
from salesops.core.approvals.selectors import pending_task_for
from salesops.core.errors import ServiceError
from salesops.core.models import ApprovalRequest, AuditLog, Notification, RoleCode
from salesops.factories import CustomerFactory, UserFactory, priced_product, role
from salesops.sales.models import (
    Contract,
    ContractStatus,
    DiscountLimit,
    PlanStatus,
    Quote,
    QuoteStatus,
    ReceiptMethod,
    ReceiptStatus,
)
from salesops.sales.selectors_deals import month_receipts_by_rep
from salesops.sales.services.contracts import (
    ContractInput,
    PlanInput,
    contract_amend,
    contract_create,
    contract_reminders,
    contract_sign,
    contract_submit,
    contract_terminate,
    plans_add,
)
from salesops.sales.services.quotes import (
    QuoteInput,
    QuoteLineInput,
    quote_accept,
    quote_create,
    quote_send,
    quote_submit,
    quote_update,
)
from salesops.sales.services.receipts import ReceiptInput, receipt_create

TODAY = datetime.date.today
WQY = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def _approve(request: ApprovalRequest, user, action: str = "approve") -> None:  # type: ignore[no-untyped-def]
    task = pending_task_for(request, user)
    assert task is not None, f"{user} has no task on {request}"
    approval_act(actor=user, task_id=task.pk, action=action, comment="意见")


@pytest.fixture
def customer(stock):  # type: ignore[no-untyped-def]
    return CustomerFactory(owner=stock.rep, department=stock.team)


@pytest.fixture
def finance(stock):  # type: ignore[no-untyped-def]
    return UserFactory(username="fiona", role=role(RoleCode.FINANCE))


def _quote(stock, customer, price: str = "80", qty: str = "10", floor=None):  # type: ignore[no-untyped-def]
    product = priced_product("100", floor=floor)
    return quote_create(
        actor=stock.rep_user,
        customer=customer,
        data=QuoteInput(
            title="年度采购报价",
            lines=[QuoteLineInput(product, Decimal(qty), Decimal(price))],
            contact_name="王经理",
        ),
    )


def test_a_quote_within_the_reps_limit_is_ready_at_once(stock, customer) -> None:
    quote = _quote(stock, customer, price="90")
    assert (quote.list_total, quote.total_amount, quote.discount) == (
        Decimal("1000.00"),
        Decimal("900.00"),
        Decimal("10.00"),
    )
    assert quote.valid_until == quote.quote_date + datetime.timedelta(days=30)
    done = quote_submit(actor=stock.rep_user, quote=quote)
    assert done.request is None and done.quote.status == QuoteStatus.APPROVED
    assert quote_send(actor=stock.rep_user, quote=quote).status == QuoteStatus.SENT


def test_a_discount_beyond_the_limit_waits_for_the_manager(stock, customer) -> None:
    quote = _quote(stock, customer, price="80")  # 20 % > the rep's 15 %
    done = quote_submit(actor=stock.rep_user, quote=quote)
    assert done.quote.status == QuoteStatus.PENDING and done.request is not None
    assert "20.00%" in done.quote.approval_reason and "15%" in done.quote.approval_reason
    for attempt in (quote_send, quote_accept):
        with pytest.raises(ServiceError) as err:
            attempt(actor=stock.rep_user, quote=quote)
        assert err.value.code == "needs_approval"
    with pytest.raises(ServiceError) as err:
        quote_update(
            actor=stock.rep_user,
            quote=quote,
            data=QuoteInput(
                title="改", lines=[QuoteLineInput(quote.lines.get().product, Decimal(1))]
            ),
        )
    assert err.value.code == "not_draft"
    _approve(done.request, stock.manager_user)
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.APPROVED
    assert Notification.objects.filter(user=stock.rep_user, title__contains=quote.quote_no).exists()
    accepted = quote_accept(actor=stock.rep_user, quote=quote, into="contract")
    contract = Contract.objects.get(pk=accepted.contract_id)
    assert (contract.status, contract.amount, contract.quote_id) == (
        ContractStatus.DRAFT,
        Decimal("800.00"),
        quote.pk,
    )
    assert contract.customer_signatory == "王经理"
    assert [ln.unit_price for ln in contract.lines.all()] == [Decimal("80.00")]


def test_a_role_limit_is_a_setting(stock, customer) -> None:
    DiscountLimit.objects.create(role=role(RoleCode.REP), max_discount=Decimal(25))
    quote = _quote(stock, customer, price="80")
    assert quote_submit(actor=stock.rep_user, quote=quote).request is None


def test_below_the_floor_needs_approval_whatever_the_discount(stock, customer) -> None:
    quote = _quote(stock, customer, price="95", floor="96")
    done = quote_submit(actor=stock.rep_user, quote=quote)
    assert done.quote.status == QuoteStatus.PENDING
    assert "最低售价" in done.quote.approval_reason
    _approve(done.request, stock.manager_user, action="reject")
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.DRAFT


def test_an_expired_quote_cannot_be_accepted(stock, customer) -> None:
    quote = _quote(stock, customer, price="100")
    quote = quote_submit(actor=stock.rep_user, quote=quote).quote
    Quote.objects.filter(pk=quote.pk).update(valid_until=TODAY() - datetime.timedelta(days=1))
    with pytest.raises(ServiceError) as err:
        quote_accept(actor=stock.rep_user, quote=quote)
    assert err.value.code == "expired"


def test_bad_quote_input_names_each_field(stock, customer) -> None:
    product = priced_product("100")
    unpriced = priced_product("1", valid_from=TODAY() + datetime.timedelta(days=10))
    with pytest.raises(ServiceError) as err:
        quote_create(
            actor=stock.rep_user,
            customer=customer,
            data=QuoteInput(
                title="",
                lines=[
                    QuoteLineInput(product, Decimal(0)),
                    QuoteLineInput(unpriced, Decimal(1)),
                ],
            ),
        )
    fields = {e.field for e in err.value.errors}
    assert fields == {"title", "lines"}
    assert any("没有有效价格" in str(e.message) for e in err.value.errors)


# --------------------------------------------------------------------------- contracts


def _contract(stock, customer, amount: str = "10000"):  # type: ignore[no-untyped-def]
    return contract_create(
        actor=stock.rep_user,
        customer=customer,
        data=ContractInput(
            name="年度供货合同",
            start_on=TODAY() - datetime.timedelta(days=1),
            end_on=TODAY() + datetime.timedelta(days=20),
            amount=Decimal(amount),
        ),
    )


def _signed(stock, customer, amount: str = "10000"):  # type: ignore[no-untyped-def]
    contract = _contract(stock, customer, amount)
    request = contract_submit(actor=stock.rep_user, contract=contract)
    _approve(request, stock.manager_user)
    return contract_sign(
        actor=stock.rep_user,
        contract=contract,
        signed_on=TODAY(),
        customer_signatory="王经理",
        our_signatory=stock.rep,
    )


def test_a_contract_is_signed_only_after_approval(stock, customer) -> None:
    contract = _contract(stock, customer)
    sign = {"signed_on": TODAY(), "customer_signatory": "王", "our_signatory": stock.rep}
    with pytest.raises(ServiceError) as err:
        contract_sign(actor=stock.rep_user, contract=contract, **sign)
    assert err.value.code == "needs_approval"
    request = contract_submit(actor=stock.rep_user, contract=contract)
    with pytest.raises(ServiceError) as err:
        contract_sign(actor=stock.rep_user, contract=contract, **sign)
    assert err.value.code == "needs_approval"
    _approve(request, stock.manager_user)
    signed = contract_sign(actor=stock.rep_user, contract=contract, **sign)
    assert signed.status == ContractStatus.FULFILLING  # it started yesterday
    moves = AuditLog.objects.filter(
        object_type="sales.contract", object_id=str(contract.pk), field="status"
    )
    assert [(m.before, m.after) for m in moves.order_by("id")][-3:] == [
        ("draft", "pending"),
        ("pending", "approved"),
        ("approved", "fulfilling"),
    ]


def test_plans_may_not_exceed_the_contract(stock, customer) -> None:
    contract = _signed(stock, customer)
    due = TODAY() + datetime.timedelta(days=10)
    plans_add(
        actor=stock.rep_user,
        contract=contract,
        plans=[PlanInput(due, Decimal("6000")), PlanInput(due, Decimal("3000"))],
    )
    with pytest.raises(ServiceError) as err:
        plans_add(
            actor=stock.rep_user, contract=contract, plans=[PlanInput(due, Decimal("1000.01"))]
        )
    assert err.value.code == "plans_exceed_contract"
    assert "¥1,000.00" in str(err.value.message)
    assert [p.period for p in contract.plans.order_by("period")] == [1, 2]


def test_receipts_flow_through_finance_and_may_not_exceed(stock, customer, finance) -> None:
    draft = _contract(stock, customer)
    data = ReceiptInput(received_on=TODAY(), amount=Decimal("100"), method=ReceiptMethod.BANK)
    with pytest.raises(ServiceError) as err:
        receipt_create(actor=stock.rep_user, contract=draft, data=data)
    assert err.value.code == "contract_not_signed"
    contract = _signed(stock, customer, "10000")
    (plan,) = plans_add(
        actor=stock.rep_user,
        contract=contract,
        plans=[PlanInput(TODAY() - datetime.timedelta(days=1), Decimal("10000"))],
    )
    data.plan, data.amount = plan, Decimal("6000")
    receipt = receipt_create(actor=stock.rep_user, contract=contract, data=data)
    assert receipt.status == ReceiptStatus.PENDING and receipt.owner_id == stock.rep.pk
    with pytest.raises(ServiceError) as err:  # 6,000 pending + 4,000.01 > 10,000
        receipt_create(
            actor=stock.rep_user,
            contract=contract,
            data=ReceiptInput(TODAY(), Decimal("4000.01"), ReceiptMethod.CASH),
        )
    assert err.value.code == "exceeds_contract" and "¥4,000.00" in str(err.value.message)
    with pytest.raises(ServiceError) as err:  # an overpayment needs its note
        receipt_create(
            actor=stock.rep_user,
            contract=contract,
            data=ReceiptInput(TODAY(), Decimal("4000.01"), ReceiptMethod.CASH, overpayment=True),
        )
    assert err.value.field == "note"
    over = receipt_create(
        actor=stock.rep_user,
        contract=contract,
        data=ReceiptInput(
            TODAY(), Decimal("4000.01"), ReceiptMethod.CASH, overpayment=True, note="客户多付"
        ),
    )
    assert over.overpayment
    request = ApprovalRequest.objects.get(doc_type="sales.receipt", object_id=str(receipt.pk))
    assert pending_task_for(request, stock.manager_user) is None  # finance confirms
    _approve(request, finance)
    receipt.refresh_from_db()
    plan.refresh_from_db()
    contract.refresh_from_db()
    assert receipt.status == ReceiptStatus.APPROVED
    assert (plan.received, plan.status) == (Decimal("6000.00"), PlanStatus.OVERDUE)
    assert contract.received_amount == Decimal("6000.00")
    with CaptureQueriesContext(connection) as ctx:
        by_rep = month_receipts_by_rep(TODAY().year, TODAY().month)
    assert by_rep == {stock.rep.pk: Decimal("6000.00")} and len(ctx.captured_queries) == 1


def test_an_amendment_replaces_the_signed_version(stock, customer, finance) -> None:
    contract = _signed(stock, customer, "10000")
    receipt = receipt_create(
        actor=stock.rep_user,
        contract=contract,
        data=ReceiptInput(TODAY(), Decimal("7000"), ReceiptMethod.BANK),
    )
    _approve(
        ApprovalRequest.objects.get(object_id=str(receipt.pk), doc_type="sales.receipt"), finance
    )
    low = ContractInput(
        name="变更", start_on=contract.start_on, end_on=contract.end_on, amount=Decimal("6999")
    )
    with pytest.raises(ServiceError) as err:
        contract_amend(actor=stock.rep_user, contract=contract, data=low, reason="减量")
    assert err.value.code == "below_received"
    data = ContractInput(
        name="年度供货合同（增补）",
        start_on=contract.start_on,
        end_on=contract.end_on + datetime.timedelta(days=90),
        amount=Decimal("15000"),
    )
    new = contract_amend(actor=stock.rep_user, contract=contract, data=data, reason="增加数量")
    assert (new.version, new.status, new.contract_no) == (
        2,
        ContractStatus.DRAFT,
        contract.contract_no,
    )
    with pytest.raises(ServiceError) as err:
        contract_amend(actor=stock.rep_user, contract=contract, data=data, reason="再改")
    assert err.value.code == "amendment_open"
    _approve(contract_submit(actor=stock.rep_user, contract=new), stock.manager_user)
    contract_sign(
        actor=stock.rep_user,
        contract=new,
        signed_on=TODAY(),
        customer_signatory="王",
        our_signatory=stock.rep,
    )
    contract.refresh_from_db()
    new.refresh_from_db()
    receipt.refresh_from_db()
    assert contract.status == ContractStatus.SUPERSEDED
    assert (new.status, new.received_amount, receipt.contract_id) == (
        ContractStatus.FULFILLING,
        Decimal("7000.00"),
        new.pk,
    )


def test_termination_goes_through_approval(stock, customer) -> None:
    from salesops.factories import EmployeeFactory

    director_user = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="朵拉", department=stock.company, user=director_user)
    contract = _signed(stock, customer)
    with pytest.raises(ServiceError) as err:
        contract_terminate(actor=stock.rep_user, contract=contract, reason="  ")
    assert err.value.field == "reason"
    request = contract_terminate(actor=stock.rep_user, contract=contract, reason="客户破产")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.TERMINATING
    _approve(request, director_user, action="reject")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.FULFILLING
    request = contract_terminate(actor=stock.rep_user, contract=contract, reason="客户破产")
    _approve(request, director_user)
    contract.refresh_from_db()
    assert (contract.status, contract.terminated_on) == (ContractStatus.TERMINATED, TODAY())


def test_reminders_of_expiry_and_overdue_plans_are_sent_once(stock, customer) -> None:
    contract = _signed(stock, customer)  # ends in 20 days: within the 30-day notice
    plans_add(
        actor=stock.rep_user,
        contract=contract,
        plans=[PlanInput(TODAY() - datetime.timedelta(days=2), Decimal("500"))],
    )
    before = Notification.objects.filter(user=stock.rep_user).count()
    done = contract_reminders(timezone.now())
    assert (done.expiring, done.overdue) == (1, 1)
    assert Notification.objects.filter(user=stock.rep_user).count() == before + 2
    again = contract_reminders(timezone.now())
    assert (again.expiring, again.overdue) == (0, 0)


# --------------------------------------------------------------------------- the API


def test_the_api_cannot_skip_a_quotes_approval(stock, customer, finance, api) -> None:
    product = priced_product("100", floor="70")
    body = {
        "customer_id": customer.pk,
        "title": "API 报价",
        "lines": [{"product_id": product.pk, "quantity": "10", "unit_price": "80"}],
    }
    resp = api("post", "/api/sales/quotes", "alice", body)
    assert resp.status_code == 201, resp.content
    quote = resp.json()
    assert (quote["discount"], quote["total_amount"], quote["status"]) == (
        "20.00",
        "800.00",
        "draft",
    )
    assert api("post", "/api/sales/quotes", "charlie", body).status_code == 404
    assert api("get", f"/api/sales/quotes/{quote['id']}", "charlie").status_code == 404
    done = api("post", f"/api/sales/quotes/{quote['id']}/submit", "alice").json()
    assert done["needs_approval"] and done["quote"]["status"] == "pending"
    for step in ("send", "accept"):
        resp = api("post", f"/api/sales/quotes/{quote['id']}/{step}", "alice", {})
        assert resp.status_code == 409 and resp.json()["code"] == "needs_approval", step
    _approve(ApprovalRequest.objects.get(pk=done["approval_id"]), stock.manager_user)
    resp = api("post", f"/api/sales/quotes/{quote['id']}/accept", "alice", {"into": "contract"})
    assert resp.status_code == 200, resp.content
    contract_id = resp.json()["contract_id"]

    # The contract: sign before approval refused, plans and receipts held to its amount.
    sign = {
        "signed_on": TODAY().isoformat(),
        "customer_signatory": "王经理",
        "our_signatory_id": stock.rep.pk,
    }
    resp = api("post", f"/api/sales/contracts/{contract_id}/sign", "alice", sign)
    assert resp.status_code == 409 and resp.json()["code"] == "needs_approval"
    submitted = api("post", f"/api/sales/contracts/{contract_id}/submit", "alice").json()
    _approve(ApprovalRequest.objects.get(pk=submitted["approval_id"]), stock.manager_user)
    resp = api("post", f"/api/sales/contracts/{contract_id}/sign", "alice", sign)
    assert resp.status_code == 200 and resp.json()["status"] in ("signed", "fulfilling")
    due = (TODAY() + datetime.timedelta(days=30)).isoformat()
    over = {"plans": [{"due_on": due, "amount": "500"}, {"due_on": due, "amount": "300.01"}]}
    resp = api("post", f"/api/sales/contracts/{contract_id}/plans", "alice", over)
    assert resp.status_code == 400 and resp.json()["code"] == "plans_exceed_contract"
    resp = api(
        "post",
        f"/api/sales/contracts/{contract_id}/plans",
        "alice",
        {"plans": [{"due_on": due, "amount": "800"}]},
    )
    assert resp.status_code == 201 and resp.json()["plans"][0]["status"] == "due"
    plan_id = resp.json()["plans"][0]["id"]
    receipt = {"contract_id": contract_id, "plan_id": plan_id, "received_on": TODAY().isoformat(),
               "amount": "800.01", "method": "wechat"}  # fmt: skip
    resp = api("post", "/api/sales/receipts", "alice", receipt)
    assert resp.status_code == 400 and resp.json()["code"] == "exceeds_contract"
    receipt["amount"] = "800"
    assert api("post", "/api/sales/receipts", "charlie", receipt).status_code == 404
    resp = api("post", "/api/sales/receipts", "alice", receipt)
    assert resp.status_code == 201 and resp.json()["status"] == "pending"
    assert api("get", "/api/sales/receipts", "charlie").json()["count"] == 0
    assert api("get", "/api/sales/receipts", "fiona").json()["count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"title": "x", "lines": []},
        {"title": " ", "lines": [{"product_id": 1, "quantity": "1"}]},
        {"title": "x", "lines": [{"product_id": 1, "quantity": "-1"}]},
        {"title": "x", "lines": [{"product_id": 1, "quantity": "1", "unit_price": "1e3"}]},
        {"title": "x\u0000", "lines": [{"product_id": 1, "quantity": "1"}]},
        [1, 2],
    ],
)
def test_bad_quote_bodies_are_refused_without_500(stock, customer, api, body) -> None:
    if isinstance(body, dict):
        body = {"customer_id": customer.pk, **body}
    resp = api("post", "/api/sales/quotes", "alice", body)
    assert resp.status_code in (400, 422), resp.content


# ---------------------------------------------------------------------------- the pages


def test_the_pages_show_the_rules_and_refuse_as_the_services_do(stock, customer, client) -> None:
    client.force_login(stock.rep_user)
    product = priced_product("100")
    resp = client.post(
        f"/sales/customers/{customer.pk}/quotes/new/",
        {"title": "页面报价", "product_1": product.pk, "quantity_1": "2", "price_1": "50"},
    )
    assert resp.status_code == 302, resp.content.decode()[:2000]
    quote = Quote.objects.get(title="页面报价")
    client.post(f"/sales/quotes/{quote.pk}/submit/")
    page = client.get(f"/sales/quotes/{quote.pk}/").content.decode()
    assert "审批中" in page and "50.00%" in page
    resp = client.post(f"/sales/quotes/{quote.pk}/send/", follow=True)
    assert "审批中，不能发送" in resp.content.decode()
    quote.refresh_from_db()
    assert quote.status == QuoteStatus.PENDING
    # A refused form keeps what was typed.
    resp = client.post(
        f"/sales/customers/{customer.pk}/contracts/new/",
        {"name": "页面合同", "start_on": "2026-12-01", "end_on": "2026-11-01", "amount": "100"},
    )
    assert resp.status_code == 200 and "结束日期不能早于开始日期" in resp.content.decode()
    assert 'value="页面合同"' in resp.content.decode()
    contract = _contract(stock, customer)
    resp = client.post(
        f"/sales/contracts/{contract.pk}/sign/",
        {
            "signed_on": TODAY().isoformat(),
            "customer_signatory": "王",
            "our_signatory": stock.rep.pk,
        },
        follow=True,
    )
    assert "不能签署" in resp.content.decode()
    contract.refresh_from_db()
    assert contract.status == ContractStatus.DRAFT
    url = f"/sales/customers/{customer.pk}/"
    customer_page = client.get(url).content.decode()
    for key in ("quotes", "contracts", "receipts"):  # tabs loaded when first shown
        assert f'hx-get="{url}?part={key}"' in customer_page
    quotes_tab = client.get(url, {"part": "quotes"}).content.decode()
    contracts_tab = client.get(url, {"part": "contracts"}).content.decode()
    assert "customer-quotes" in quotes_tab and quote.quote_no in quotes_tab
    assert "customer-contracts" in contracts_tab and contract.contract_no in contracts_tab
    assert "customer-receipts" in client.get(url, {"part": "receipts"}).content.decode()


def test_an_outsider_sees_none_of_it(stock, customer, client) -> None:
    quote = _quote(stock, customer)
    contract = _signed(stock, customer)
    client.force_login(stock.outsider_user)
    for url in (
        f"/sales/quotes/{quote.pk}/",
        f"/sales/quotes/{quote.pk}/pdf/",
        f"/sales/contracts/{contract.pk}/",
        f"/sales/customers/{customer.pk}/quotes/new/",
    ):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/sales/quotes/{quote.pk}/submit/").status_code == 404
    for url in (
        "/sales/quotes/",
        "/sales/contracts/",
        "/sales/receipts/",
        "/sales/receivable-plans/",
    ):
        body = client.get(url).content.decode()
        assert quote.quote_no not in body and contract.contract_no not in body, url


def test_list_pages_run_a_bounded_number_of_queries(stock, client, finance) -> None:
    client.force_login(stock.manager_user)
    counts: dict[str, list[int]] = {}
    for n in (1, 6):
        for _i in range(n - len(counts.get("seen", []))):
            c = CustomerFactory(owner=stock.rep, department=stock.team)
            _quote(stock, c)
            contract = _signed(stock, c)
            plans_add(
                actor=stock.rep_user,
                contract=contract,
                plans=[PlanInput(TODAY() - datetime.timedelta(days=3), Decimal("100"))],
            )
            receipt_create(
                actor=stock.rep_user,
                contract=contract,
                data=ReceiptInput(TODAY(), Decimal("50"), ReceiptMethod.BANK),
            )
        counts.setdefault("seen", []).append(n)
        for url in (
            "/sales/quotes/",
            "/sales/contracts/",
            "/sales/receipts/",
            "/sales/receivable-plans/",
        ):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url).status_code == 200
            counts.setdefault(url, []).append(len(ctx.captured_queries))
    for url, (few, many) in ((u, v) for u, v in counts.items() if u != "seen"):
        assert few == many, (url, few, many)
        assert many <= 12, (url, many)


@pytest.mark.skipif(not Path(WQY).exists(), reason="needs fonts-wqy-microhei")
def test_the_quote_prints_as_a_chinese_pdf(stock, customer, client) -> None:
    from io import BytesIO

    from pypdf import PdfReader

    quote = _quote(stock, customer)
    client.force_login(stock.rep_user)
    resp = client.get(f"/sales/quotes/{quote.pk}/pdf/")
    assert resp.status_code == 200 and resp["Content-Type"] == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(BytesIO(resp.content)).pages)
    assert "报价单" in text and quote.quote_no in text and "800.00" in text


def test_a_floor_price_is_kept_on_the_price_list(stock) -> None:
    from salesops.sales.models import PriceListItem
    from salesops.sales.services.products import price_list_item_set

    product = priced_product("100")
    item = PriceListItem.objects.get(product=product)
    prices = {"list_price": "100", "member_price": "80", "pc_price": "90"}
    with pytest.raises(ServiceError) as err:
        price_list_item_set(
            actor=None, price_list=item.price_list, product=product, floor_price="100.01", **prices
        )
    assert err.value.field == "floor_price"
    set_ = price_list_item_set(
        actor=None, price_list=item.price_list, product=product, floor_price="70", **prices
    )
    assert set_.floor_price == Decimal("70.00")
    cleared = price_list_item_set(
        actor=None, price_list=item.price_list, product=product, floor_price="", **prices
    )
    assert cleared.floor_price is None
    assert AuditLog.objects.filter(field="floor_price", object_id=str(item.pk)).count() == 2


def test_discount_limits_are_an_admins_setting(stock, customer, client) -> None:
    admin = UserFactory(username="ada", role=role(RoleCode.ADMIN))
    client.force_login(stock.manager_user)
    assert client.get("/sales/quote-settings/").status_code == 403
    assert client.post("/sales/quote-settings/", {"rep": "50"}).status_code == 403
    client.force_login(admin)
    page = client.get("/sales/quote-settings/").content.decode()
    assert 'name="rep"' in page and 'value="15' in page
    values = {"rep": "101", "manager": "20", "director": "30", "marketing": "0", "finance": "0"}
    resp = client.post("/sales/quote-settings/", values)
    assert resp.status_code == 200 and not DiscountLimit.objects.exists()
    values["rep"] = "25"
    assert client.post("/sales/quote-settings/", values).status_code == 302
    assert DiscountLimit.objects.get(role__code="rep").max_discount == Decimal("25.00")
    assert AuditLog.objects.filter(object_type="sales.discountlimit").count() >= 1
    quote = _quote(stock, customer, price="80")  # 20 %: within the rep's 25 % now
    assert quote_submit(actor=stock.rep_user, quote=quote).request is None
