"""The order flow a person clicks through: log in, open the order form, add a line with
htmx, submit, then return part of it from the order detail."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from salesops.factories import CustomerFactory
from salesops.sales.models import Order

pytestmark = pytest.mark.browser


def test_order_then_return_in_the_browser(stock, catalogue, browser_page) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.rep, code="C-WEB", name="网页客户")
    page = browser_page
    page.goto("/login/?next=/sales/orders/new/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url("**/sales/orders/new/")

    page.fill("#id_order_date", "2026-10-05")
    page.fill("#id_customer_code", "C-WEB")
    page.click("#add-line")
    expect(page.locator("#order-lines tr.order-line")).to_have_count(2)
    rows = page.locator("#order-lines tr.order-line")
    rows.nth(0).locator("select[name=product]").select_option(str(catalogue[0].pk))
    rows.nth(0).locator("input[name=quantity]").fill("0.5")
    rows.nth(0).locator("input[name=unit_price]").fill("0.05")
    rows.nth(1).locator("select[name=product]").select_option(str(catalogue[1].pk))
    rows.nth(1).locator("input[name=quantity]").fill("3")
    page.click("#order-form button[type=submit]")
    page.wait_for_selector("#order-total")
    assert page.inner_text("#order-total") == "¥100.02"

    order = Order.objects.get()
    line = order.lines.get(product=catalogue[1])
    page.once("dialog", lambda d: d.accept())
    page.click("button[data-bs-target='#tab-return-form']")
    page.fill(f"input[name=qty_{line.pk}]", "1")
    page.fill("#id_return_date", "2026-10-06")
    page.click("#return-form button[type=submit]")
    page.wait_for_selector(".alert-success")
    assert page.inner_text("#order-returned") == "¥33.33"
