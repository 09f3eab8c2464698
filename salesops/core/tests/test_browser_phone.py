"""The shell on a 390 × 844 phone and a 1440 × 900 desktop, in Debian's chromium.

On the phone the menu is an off-canvas: hidden at first, opened by the header's button,
closed by its close button, Esc, a tap outside and by following a link. The fixed header
never covers the page heading, and no page scrolls sideways (wide tables scroll inside
their card). On the desktop the sidebar is the fixed column, without the button.
Screenshots go to /tmp/shots-shell/.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from conftest import CHROMIUM, CHROMIUM_ARGS
from salesops.compensation.models import CommissionPeriod, CommissionRun, PeriodStatus
from salesops.compensation.services.runs import commission_run_start
from salesops.compensation.tests import statements_world as sw
from salesops.core.tests import matrix_world as mw
from salesops.org.models import Member

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path("/tmp/shots-shell")  # noqa: S108 - the brief asks for exactly this place
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def browser(live_server: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Debian's chromium (never a downloaded browser); each test opens its own context."""
    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, live_server: Any, viewport: dict[str, int]) -> Any:
    context = browser.new_context(locale="zh-CN", base_url=live_server.url, viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15000)
    return page


@pytest.fixture
def world(transactional_db: None, settings: Any) -> tuple[mw.World, CommissionRun]:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    w = mw.build_world()
    sw.make_world()  # SM01 (login sm01) with four SRs below: a statement with every section
    run = commission_run_start(actor=w.users["finance"], period=dt.date(2026, 10, 1))
    run.refresh_from_db()
    assert run.status == "done", run.error
    return w, run


def _log_in(page: Any, key: str, username: str = "") -> None:
    page.goto("/login/")
    page.fill("#id_username", username or mw.username(key))
    page.fill("#id_password", mw.PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)


def _shot(page: Any, name: str, *, full_page: bool = False) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def _assert_fits(page: Any, what: str) -> None:
    """No sideways page scroll, and the fixed header ends above the page heading."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], (what, width)
    header = page.locator("#so-header").bounding_box()
    heading = page.locator("#page-heading").bounding_box()
    assert header is not None and heading is not None
    assert header["y"] + header["height"] <= heading["y"], (what, header, heading)


def _menu_shown(page: Any) -> bool:
    return bool(page.evaluate("document.getElementById('so-sidebar').classList.contains('show')"))


def _open_menu(page: Any) -> None:
    page.click("#menu-toggle")
    page.wait_for_selector("#so-sidebar.show", state="visible")
    expect(page.locator("#so-sidebar")).not_to_have_class(re.compile(r"\bshowing\b"))


def _wait_closed(page: Any) -> None:
    page.wait_for_selector("#so-sidebar", state="hidden")
    assert not _menu_shown(page)


def test_phone_menu_is_an_offcanvas_that_opens_closes_and_navigates(
    world: tuple[mw.World, CommissionRun], browser: Any, live_server: Any
) -> None:
    page = _page(browser, live_server, PHONE)
    _log_in(page, "admin")
    assert page.locator("#so-sidebar").is_hidden()
    assert page.locator("#main-menu a[href='/sales/orders/']").is_hidden()
    assert page.locator("#menu-toggle").is_visible()
    assert page.locator("#logout").is_visible()  # the header keeps logout and the language
    assert page.locator("#lang-form select").is_visible()
    _assert_fits(page, "dashboard")
    _shot(page, "390-dashboard")

    _open_menu(page)
    assert page.locator("#main-menu a[href='/sales/orders/']").is_visible()
    _shot(page, "390-menu-open")
    page.click("#menu-close")
    _wait_closed(page)

    _open_menu(page)
    page.keyboard.press("Escape")
    _wait_closed(page)

    _open_menu(page)
    page.mouse.click(370, 600)  # the backdrop, right of the 280 px menu
    _wait_closed(page)

    _open_menu(page)
    page.click("#main-menu a[href='/sales/orders/']")
    page.wait_for_url("**/sales/orders/")
    page.wait_for_selector("#list-table")
    assert page.locator("#so-sidebar").is_hidden()
    _assert_fits(page, "orders")
    _shot(page, "390-orders")


def test_phone_member_pages_fit_the_screen(
    world: tuple[mw.World, CommissionRun], browser: Any, live_server: Any
) -> None:
    _w, run = world
    me = Member.objects.get(member_no="SM01")
    page = _page(browser, live_server, PHONE)
    _log_in(page, "", username="sm01")
    pages = {
        "dashboard": "/",
        "orders": reverse("sales:orders"),
        "my-statements": reverse("compensation:my_statements"),
        "statement": reverse("compensation:statement", args=[run.pk, me.member_no]),
        "genealogy": reverse("org:genealogy"),
        "member-detail": reverse("org:member_detail", args=[me.pk]),
    }
    for name, url in pages.items():
        response = page.goto(url)
        assert response is not None and response.status == 200, (name, url)
        _assert_fits(page, name)
        _shot(page, f"390-member-{name}", full_page=True)
    page.goto(pages["member-detail"])
    page.click("button[data-bs-target='#tab-downline']")
    page.wait_for_selector("#tab-downline.show")
    assert page.locator("#tab-downline a", has_text="SR03").is_visible()
    _assert_fits(page, "member downline tab")
    page.goto(pages["genealogy"])
    page.click(f"#genealogy-tree [hx-get='{reverse('org:genealogy_children', args=[me.pk])}']")
    page.wait_for_selector(f"#children-{me.pk} li")
    _assert_fits(page, "genealogy opened")
    page.goto(pages["statement"])
    assert page.locator("#statement-lines tbody tr").count() >= 2
    assert page.locator("#statement-override").count() == 1
    _shot(page, "390-statement")


def test_desktop_sidebar_is_the_fixed_column_without_the_button(
    world: tuple[mw.World, CommissionRun], browser: Any, live_server: Any
) -> None:
    _w, run = world
    page = _page(browser, live_server, DESKTOP)
    _log_in(page, "admin")
    assert page.locator("#menu-toggle").is_hidden()
    assert page.locator("#main-menu a[href='/sales/orders/']").is_visible()
    sidebar = page.locator("#so-sidebar").bounding_box()
    main = page.locator("main").bounding_box()
    assert sidebar is not None and main is not None
    assert sidebar["x"] == 0 and sidebar["x"] + sidebar["width"] <= main["x"] + 1
    _assert_fits(page, "dashboard")
    _shot(page, "1440-dashboard")
    page.click("#main-menu a[href='/sales/orders/']")
    page.wait_for_selector("#list-table")
    _assert_fits(page, "orders")
    _shot(page, "1440-orders")
    page.goto(reverse("compensation:statement", args=[run.pk, "SM01"]))
    _assert_fits(page, "statement")
    _shot(page, "1440-statement")
    response = page.goto("/no/such/page/")
    assert response is not None and response.status == 404
    assert page.locator("#main-menu").is_visible()  # the error page is inside the layout
    page.click("#error-home")
    page.wait_for_url(live_server.url + "/")


def test_phone_htmx_failure_shows_the_servers_message_in_a_dismissible_alert(
    world: tuple[mw.World, CommissionRun], browser: Any, live_server: Any
) -> None:
    CommissionPeriod.objects.create(period=dt.date(2026, 9, 1), status=PeriodStatus.CLOSED)
    page = _page(browser, live_server, PHONE)
    _log_in(page, "finance")
    page.goto(reverse("compensation:runs"))
    page.fill("#run-period", "2026-09")
    page.click("#run-start")
    alert = page.locator("#so-alerts .alert-danger")
    alert.wait_for()
    assert alert.inner_text().strip() == "该月份已结账，不能重新结算"
    assert "409" not in alert.inner_text()
    _assert_fits(page, "runs with the alert")
    _shot(page, "390-htmx-error")
    alert.locator(".btn-close").click()
    alert.wait_for(state="detached")
    response = page.goto(reverse("core:audit"))  # the audit log is for admin
    assert response is not None and response.status == 403
    assert page.locator("#error-message").inner_text().strip() == "只有系统管理员可以查看操作日志"
    _assert_fits(page, "403 page")
    _shot(page, "390-error-page")
