"""The road after a won opportunity, in Debian's chromium: the rep quotes beyond the
discount limit, which cannot be sent until the manager approves it in the 审批中心; the
customer accepts and it becomes a contract, which the manager approves and the rep signs;
the rep plans two instalments (a third over the amount is refused), records a receipt, and
finance confirms it. A week later the rule job plans the 7-day return visit, which the
rep logs with the customer's satisfaction, and the manager sees it in the team's list."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from salesops.core.models import RoleCode
from salesops.crm.models import ReturnVisit, VisitRule, VisitSource
from salesops.crm.services.visits import visit_schedule
from salesops.factories import CustomerFactory, UserFactory, priced_product, role
from salesops.sales.models import Contract, ContractStatus, Quote, Receipt, ReceiptStatus

pytestmark = pytest.mark.browser


def _login(page, username: str, next_url: str) -> None:  # type: ignore[no-untyped-def]
    page.context.clear_cookies()
    page.goto(f"/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def _approve(page, user: str, title: str) -> None:  # type: ignore[no-untyped-def]
    _login(page, user, "/approvals/")
    page.get_by_role("link", name=title).first.click()
    page.click("#btn-approve")
    expect(page.locator("#request-status")).to_have_text("已通过")


def test_quote_to_confirmed_receipt_in_the_browser(stock, browser_page) -> None:  # type: ignore[no-untyped-def]
    UserFactory(username="fiona", role=role(RoleCode.FINANCE))
    customer = CustomerFactory(owner=stock.rep, department=stock.team, name="杭州青禾商贸")
    product = priced_product("200", floor="120", name="有机燕麦片")
    page = browser_page
    page.on("dialog", lambda d: d.accept())

    _login(page, "alice", f"/sales/customers/{customer.pk}/")
    page.click("button[data-bs-target='#tab-quotes']")
    page.click("#quote-new")
    page.fill("#id_title", "春季备货报价")
    page.select_option("#id_product_1", str(product.pk))
    page.fill("#id_quantity_1", "100")
    page.fill("#id_price_1", "160")  # 20 % off: beyond the rep's 15 %
    page.click("main form[novalidate] button[type=submit]")
    expect(page.locator("#quote-discount")).to_have_text("20.00%")
    page.click("#quote-submit")
    expect(page.locator("#quote-pending")).to_contain_text("超出您的折扣权限 15%")
    expect(page.locator("#quote-send")).to_have_count(0)
    quote = Quote.objects.get()

    _approve(page, "bob", f"报价 {quote.quote_no}")
    _login(page, "alice", f"/sales/quotes/{quote.pk}/")
    expect(page.locator("#quote-status")).to_have_text("待发送")
    page.click("#quote-send")
    expect(page.locator("#quote-status")).to_have_text("已发送")
    page.select_option("#id_into", "contract")
    page.click("#quote-accept")
    expect(page.locator("#contract-status")).to_have_text("草稿")
    contract = Contract.objects.get()
    assert contract.amount == quote.total_amount
    page.click("#contract-submit")
    expect(page.locator("#contract-status")).to_have_text("审批中")

    _approve(page, "bob", f"合同 {contract.contract_no}")
    _login(page, "alice", f"/sales/contracts/{contract.pk}/")
    page.fill("#id_customer_signatory", "陈总")
    page.click("#contract-sign")
    expect(page.locator("#contract-status")).to_have_text("履行中")

    # Two instalments of 8,000; then one more yuan is over the amount and refused.
    page.fill("#id_due_on_1", "2027-01-15")
    page.fill("#id_amount_1", "8000")
    page.fill("#id_due_on_2", "2027-03-15")
    page.fill("#id_amount_2", "8000")
    page.click("#plans-form button[type=submit]")
    expect(page.locator("#contract-plans tbody tr")).to_have_count(2)
    page.click("summary:has-text('添加回款计划')")
    page.fill("#id_due_on_1", "2027-05-15")
    page.fill("#id_amount_1", "1")
    page.click("#plans-form button[type=submit]")
    expect(page.locator(".alert-danger, .alert-error")).to_contain_text("超出合同金额")
    expect(page.locator("#contract-plans tbody tr")).to_have_count(2)

    page.click("button[data-bs-target='#tab-receipts']")
    page.fill("#id_amount", "8000")
    page.select_option("#id_method", "bank")
    page.select_option("#id_plan", str(contract.plans.get(period=1).pk))
    page.click("#receipt-submit")
    expect(page.locator("body")).to_contain_text("回款已登记，等待财务确认")
    receipt = Receipt.objects.get()
    assert receipt.status == ReceiptStatus.PENDING

    _approve(page, "fiona", f"回款 {receipt.receipt_no}")
    receipt.refresh_from_db()
    contract.refresh_from_db()
    assert receipt.status == ReceiptStatus.APPROVED
    assert (contract.status, contract.received_amount) == (ContractStatus.FULFILLING, 8000)
    _login(page, "alice", f"/sales/contracts/{contract.pk}/")
    expect(page.locator("#contract-received")).to_have_text("¥8,000.00")

    # The return visit 7 days after the start (the rule the migration makes; test servers
    # flush migration data, so it is made again here).
    VisitRule.objects.get_or_create(
        source=VisitSource.CONTRACT, days=7, defaults={"name": "7天回访"}
    )
    visit_schedule(timezone.now() + datetime.timedelta(days=8))
    visit = ReturnVisit.objects.get(customer=customer)
    _login(page, "alice", f"/crm/visits/{visit.pk}/")
    page.select_option("#id_form", "phone")
    page.select_option("#id_satisfaction", "5")
    page.fill("#id_outcome", "客户对首批到货满意，计划追加")
    page.click("#visit-log-form button[type=submit]")
    expect(page.locator("#visit-satisfaction")).to_have_text("很满意")
    visit.refresh_from_db()
    assert visit.status == "done" and visit.satisfaction == 5
    _login(page, "bob", "/crm/visits/?scene=all")
    expect(page.locator("main table")).to_contain_text(customer.name)
