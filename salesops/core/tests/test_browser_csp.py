"""The main pages under the strict Content-Security-Policy, in Debian's chromium: as admin,
every page of the walk loads without a single violation (the browser_page fixture fails the
test on any), the ECharts charts draw their canvas, and htmx still swaps (a list search,
the member tree)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from playwright.sync_api import expect

from salesops.compensation.models import RunStatus
from salesops.compensation.services.runs import commission_run_start
from salesops.core.tests import matrix_world as mw

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture
def world(transactional_db: None) -> mw.World:
    return mw.build_world()


def _log_in(page: Any, key: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", mw.username(key))
    page.fill("#id_password", mw.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def test_the_fixture_catches_a_violation(world: mw.World, browser_page: Any) -> None:
    page = browser_page
    _log_in(page, "admin")
    assert page.csp_violations == []
    # An inline style attribute set from script is what the policy refuses.
    page.evaluate(
        """() => new Promise(function (resolve) {
          document.addEventListener("securitypolicyviolation",
            function () { setTimeout(resolve, 0); }, {once: true});
          document.body.setAttribute("style", "color: red");
        })"""
    )
    # The browser's own console message and the listener's, both naming the directive.
    assert page.csp_violations
    assert all("style-src" in v for v in page.csp_violations)
    page.csp_violations.clear()  # seen, and expected: the fixture must not fail this test


def test_admin_walks_the_main_pages_without_a_violation(
    world: mw.World, browser_page: Any, settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    run = commission_run_start(actor=world.users["finance"], period=dt.date(2026, 10, 1))
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    order = world.orders[next(iter(world.orders))]
    page = browser_page
    _log_in(page, "admin")

    response = page.goto("/")
    assert response is not None
    assert response.headers["content-security-policy"].startswith("default-src 'self'")
    assert response.headers["cache-control"] == "private, no-store"

    # A list, then its search through htmx: the table is swapped, the page is not reloaded.
    page.goto("/sales/customers/")
    page.wait_for_selector("#list-table tbody tr")
    page.evaluate("window.__notReloaded = true")
    page.fill("#list-q", "MXC-REP1")
    page.press("#list-q", "Enter")
    # (Locators, not wait_for_function: Playwright evaluates a string predicate with eval,
    # which the policy refuses.)
    rows = page.locator("#list-table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("MXC-REP1")
    assert page.evaluate("window.__notReloaded") is True

    for path in (
        "/sales/orders/",
        f"/sales/orders/{order.pk}/",
        "/sales/orders/new/",
        "/org/members/",
        "/comp/runs/",
        f"/comp/runs/{run.pk}/",
        f"/comp/runs/{run.pk}/results/",
        "/comp/periods/",
        "/comp/payouts/",
        "/imports/",
        "/approvals/",
    ):
        response = page.goto(path)
        assert response is not None
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")

    # The member tree: a node opens (htmx loads its children once) and closes again.
    page.goto("/org/genealogy/")
    toggle = page.locator(".so-tree-toggle").first
    toggle.click()
    page.wait_for_selector(".so-tree-children:not(:empty)")
    assert toggle.get_attribute("aria-expanded") == "true"
    assert toggle.locator("i").get_attribute("class") == "bi bi-dash-square"
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"

    # The charts draw on their canvas.
    page.goto("/org/chart/")
    page.wait_for_selector("#org-chart canvas")
    page.goto("/comp/reports/projection/")
    page.wait_for_selector("#projection-chart canvas")
    assert page.evaluate("window.projectionChart.getOption().series.length") == 2
    # The tooltip is drawn on the canvas too (no HTML with style attributes).
    box = page.locator("#projection-chart").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")

    # An error page (its back link used to be an inline handler).
    response = page.goto("/sales/orders/999999999/")
    assert response is not None
    assert response.status == 404
    page.wait_for_selector("#error-back")
    assert page.csp_violations == []
