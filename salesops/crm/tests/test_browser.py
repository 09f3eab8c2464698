"""The CRM road in Debian's chromium: a rep registers a lead that 查重 flags, converts it
with an opportunity, logs a follow-up on the new customer, and moves the opportunity on
the kanban by dragging its card and by picking a stage; the manager sees it on the team's
board and wins it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from salesops.crm.models import Activity, Opportunity, OpportunityStatus, StageGroup
from salesops.factories import CustomerFactory
from salesops.sales.models import CustomerStatus

pytestmark = pytest.mark.browser


def _login(page, username: str, next_url: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def test_lead_to_won_opportunity_in_the_browser(stock, browser_page) -> None:  # type: ignore[no-untyped-def]
    CustomerFactory(owner=stock.outsider, name="上海星河商贸有限公司")
    page = browser_page
    page.on("dialog", lambda d: d.accept())
    _login(page, "alice", "/crm/leads/new/")
    page.fill("#id_company", "星河商贸")
    page.fill("#id_contact_name", "王经理")
    page.click("main form[novalidate] button[type=submit]")
    # 查重: another team's customer of the same name, told by who holds it only
    expect(page.locator("#duplicate-warning")).to_be_visible()
    expect(page.get_by_text("已存在：由 查理（华南一组）负责")).to_be_visible()
    page.check("#id_confirm_duplicate")
    page.click("main form[novalidate] button[type=submit]")
    expect(page.locator("#lead-status")).to_have_text("新线索")

    page.fill("#id_opportunity_name", "首批订货")
    page.fill("#id_opportunity_amount", "60000")
    page.fill("#id_opportunity_close_on", "2027-01-31")
    page.check("#id_confirm_duplicate")
    page.click("#convert-form button[type=submit]")
    expect(page.locator("#opp-status")).to_have_text("进行中")
    opp = Opportunity.objects.get()

    page.click(f"a[href='/sales/customers/{opp.customer_id}/']")
    page.select_option("#id_kind", "visit")
    page.fill("#id_content", "上门演示产品，客户满意")
    page.click("#followup-form button[type=submit]")
    expect(page.locator("#followup-timeline")).to_contain_text("上门演示产品，客户满意")
    assert Activity.objects.filter(customer_id=opp.customer_id).count() == 1

    stages = list(StageGroup.objects.get(is_default=True).stages.order_by("order"))
    page.goto("/crm/kanban/?scene=mine")
    card = page.locator(f".so-kanban-card[data-id='{opp.pk}']")
    target = page.locator(f".so-kanban-col[data-stage='{stages[2].pk}']")
    card.drag_to(target)
    expect(target.locator(f".so-kanban-card[data-id='{opp.pk}']")).to_be_visible()
    opp.refresh_from_db()
    assert opp.stage == stages[2]
    expect(page.locator("#kanban-weighted")).to_have_text("¥30,000.00")  # 60000 × 50 %
    page.locator(f"#move-{opp.pk}").select_option(str(stages[3].pk))
    expect(
        page.locator(f".so-kanban-col[data-stage='{stages[3].pk}'] .so-kanban-card")
    ).to_have_count(1)

    page.context.clear_cookies()
    _login(page, "bob", "/crm/kanban/?scene=all")
    expect(page.locator(f".so-kanban-card[data-id='{opp.pk}']")).to_be_visible()
    page.click(f".so-kanban-card[data-id='{opp.pk}'] a")
    page.select_option("#id_outcome", "won")
    page.click("#close-form button[type=submit]")
    expect(page.locator("#opp-status")).to_have_text("赢单")
    opp.refresh_from_db()
    opp.customer.refresh_from_db()
    assert opp.status == OpportunityStatus.WON and opp.customer.status == CustomerStatus.WON
