"""List pages as a person clicks them: select all on the page, export the selection,
narrow by date and save that as a default scene."""

from __future__ import annotations

import datetime
import io

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from salesops.core.models import SavedScene
from salesops.factories import CustomerFactory
from salesops.sales.services.orders import order_create

pytestmark = pytest.mark.browser


def test_select_all_export_selected_and_save_a_scene(stock, catalogue, browser_page) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep, name="浏览器客户")
    orders = [
        order_create(
            actor=stock.rep_user,
            order_date=datetime.date(2026, 9, 1) + datetime.timedelta(days=i),
            customer=customer,
            lines=[{"product": catalogue[0], "quantity": "1"}],
        )
        for i in range(25)
    ]
    page = browser_page
    page.goto("/login/?next=/sales/orders/")
    page.fill("#id_username", "alice")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url("**/sales/orders/")

    assert page.is_disabled("#batch-export_selected")
    page.check("#list-select-all")
    assert page.locator(".list-row-select:checked").count() == 20
    assert page.inner_text("#list-selected-count") == "20"
    with page.expect_download() as dl:
        page.click("#batch-export_selected")
    ws = load_workbook(io.BytesIO(open(dl.value.path(), "rb").read())).active  # noqa: SIM115
    exported = [r[0] for r in ws.iter_rows(min_row=2, values_only=True)]
    newest = sorted(orders, key=lambda o: o.order_date, reverse=True)
    assert exported == [o.order_no for o in newest[:20]]

    # Narrow to the last five days (htmx swaps the table), then save it as the default.
    page.fill("#date-order_date_from", "2026-09-21")
    page.click("#list-filters button[type=submit]")
    expect(page.locator(".list-row-select")).to_have_count(5)
    assert page.inner_text("#list-count").strip() == "共 5 条"
    page.click("#list-save-scene summary")
    page.fill("#scene-name", "九月下旬")
    page.check("#scene-default")
    page.click("#scene-save")
    page.wait_for_selector(".saved-scene")
    assert "九月下旬" in page.inner_text("#list-scenes")
    scene = SavedScene.objects.get(user=stock.rep_user)
    assert scene.is_default and "order_date_from=2026-09-21" in scene.query

    # The bare address now opens on the saved default; 重置 comes back to it.
    page.goto("/sales/orders/")
    assert page.locator(".list-row-select").count() == 5
    assert "active" in (page.get_attribute(".saved-scene a.nav-link", "class") or "")
