"""400/403/404/405/500 pages: in the UI's language, inside the layout, with the server's
reason and a way back; htmx gets the message alone; /api/ keeps answering JSON."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.urls import reverse

from salesops.compensation.models import CommissionPeriod, PeriodStatus
from salesops.core.error_views import ErrorPageMiddleware, server_error
from salesops.core.errors import ServiceError
from salesops.core.locks import is_lock_error
from salesops.core.models import RoleCode
from salesops.factories import UserFactory, role

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _client(user) -> Client:  # type: ignore[no-untyped-def]
    c = Client()
    c.force_login(user)
    return c


def _message(html: str) -> str:
    found = re.search(r'id="error-message" data-so-error>(.*?)</p>', html, re.S)
    assert found, html[:2000]
    return found.group(1).strip()


def test_404_for_an_unknown_url_is_the_chinese_page_inside_the_layout(stock) -> None:
    resp = _client(stock.rep_user).get(
        "/no/such/page/", HTTP_REFERER="http://testserver/sales/orders/"
    )
    html = resp.content.decode()
    assert resp.status_code == 404
    assert "<title>页面不存在 · SalesOps</title>" in html
    assert _message(html) == "您要找的页面或记录不存在，或者您无权查看。"
    assert 'id="main-menu"' in html  # the layout, with the menu
    assert 'href="http://testserver/sales/orders/"' in html  # 返回上一页 goes where they came from
    assert "返回上一页" in html and 'id="error-home" href="/"' in html


def test_404_shows_the_reason_the_selector_gave(stock) -> None:
    resp = _client(stock.rep_user).get(reverse("sales:order_detail", args=[999999]))
    assert resp.status_code == 404
    assert _message(resp.content.decode()) == "订单不存在或无权访问"


def test_403_shows_the_reason_in_the_layout(stock) -> None:
    resp = _client(stock.rep_user).get(reverse("compensation:runs"))
    html = resp.content.decode()
    assert resp.status_code == 403
    assert "<title>无权访问 · SalesOps</title>" in html
    assert _message(html) == "只有财务或管理员可以查看结算"
    assert 'id="main-menu"' in html


def test_error_page_in_english(stock) -> None:
    c = _client(stock.rep_user)
    c.post(reverse("set_language"), {"language": "en", "next": "/"})
    resp = c.get(reverse("compensation:runs"))
    html = resp.content.decode()
    assert resp.status_code == 403
    assert "<title>Permission denied · SalesOps</title>" in html
    assert _message(html) == "Only finance or administrators can view commission runs."
    assert "Back to the previous page" in html and "Home" in html


def test_400_for_a_bad_host_header_is_the_page_without_the_servers_detail(stock) -> None:
    resp = _client(stock.rep_user).get("/", HTTP_HOST="evil.example")
    html = resp.content.decode()
    assert resp.status_code == 400
    assert "<title>请求有误 · SalesOps</title>" in html
    assert _message(html) == "提交的内容无法处理，请检查后重试。"
    assert "evil.example" not in html


def test_405_on_a_page_is_the_rendered_page_with_allow(stock) -> None:
    resp = _client(stock.rep_user).get(reverse("compensation:run_start"))
    html = resp.content.decode()
    assert resp.status_code == 405
    assert resp["Allow"] == "POST"
    assert "<title>不支持的操作 · SalesOps</title>" in html
    assert _message(html) == "此页面不接受 GET 请求。"


def test_405_under_api_stays_json(stock) -> None:
    resp = _client(stock.rep_user).delete("/api/orders")
    assert resp.status_code == 405
    assert resp["Content-Type"].startswith("application/json")


def test_htmx_error_is_the_message_alone(stock) -> None:
    resp = _client(stock.rep_user).get(reverse("compensation:runs"), **HTMX)
    html = resp.content.decode()
    assert resp.status_code == 403
    assert "<html" not in html
    assert html.strip() == (
        '<div class="alert alert-danger mb-0" role="alert" data-status="403" data-so-error>'
        "只有财务或管理员可以查看结算</div>"
    )


def test_run_start_for_a_closed_month_answers_htmx_with_the_reason(db) -> None:
    finance = UserFactory(username="fin", role=role(RoleCode.FINANCE))
    CommissionPeriod.objects.create(period=dt.date(2026, 9, 1), status=PeriodStatus.CLOSED)
    resp = _client(finance).post(reverse("compensation:run_start"), {"period": "2026-09"}, **HTMX)
    assert resp.status_code == 409
    assert "data-so-error>该月份已结账，不能重新结算</div>" in resp.content.decode()


def test_a_service_error_a_view_let_through_is_its_own_page(rf, stock) -> None:
    request = rf.get("/sales/orders/")
    request.user = stock.rep_user
    middleware = ErrorPageMiddleware(lambda r: None)  # type: ignore[arg-type,return-value]
    exc = ServiceError(code="period_closed", message="该月份已结账", status=409)
    resp = middleware.process_exception(request, exc)
    assert resp is not None and resp.status_code == 409
    html = resp.content.decode()
    assert "<title>无法完成操作 · SalesOps</title>" in html
    assert _message(html) == "该月份已结账"
    api_request = rf.get("/api/orders")
    assert middleware.process_exception(api_request, exc) is None


def test_csrf_failure_is_readable(stock) -> None:
    c = Client(enforce_csrf_checks=True)
    c.force_login(stock.rep_user)
    resp = c.post(reverse("logout"))
    assert resp.status_code == 403
    assert _message(resp.content.decode()) == "页面已过期或安全校验未通过，请刷新页面后重试。"


@pytest.fixture
def boom_urls(settings):  # type: ignore[no-untyped-def]
    settings.ROOT_URLCONF = "salesops.core.tests.error_urls"


def test_500_is_the_layout_with_the_menu(stock, boom_urls) -> None:
    c = Client(raise_request_exception=False)
    c.force_login(stock.rep_user)
    resp = c.get("/test-boom/")
    html = resp.content.decode()
    assert resp.status_code == 500
    assert "<title>服务器出错 · SalesOps</title>" in html
    assert _message(html) == "服务器处理请求时出错，问题已记录。请稍后重试。"
    assert "a bug in a view" not in html
    assert 'id="main-menu"' in html


def test_500_renders_when_the_database_fails_the_menu(stock, boom_urls) -> None:
    """The unread count behind the header's bell reads core_notification: without that
    table the layout with the menu cannot be built, and the bare page is shown instead."""
    c = Client(raise_request_exception=False)
    c.force_login(stock.rep_user)
    with connection.cursor() as cur:  # rolled back with the test's transaction
        cur.execute("ALTER TABLE core_notification RENAME TO core_notification_gone")
    resp = c.get("/test-boom/")
    html = resp.content.decode()
    assert resp.status_code == 500
    assert _message(html) == "服务器处理请求时出错，问题已记录。请稍后重试。"
    assert 'id="main-menu"' not in html
    assert 'id="error-home" href="/"' in html


# ----------------------------------------------------- a write that met another's lock


def test_a_real_sqlite_lock_error_is_recognised_and_other_errors_are_not() -> None:
    from salesops.core.tests.error_urls import real_lock_error

    err = real_lock_error()
    assert str(err) == "database is locked"
    assert is_lock_error(err) and is_lock_error(err.__cause__)
    assert not is_lock_error(OperationalError("no such table: x"))
    assert not is_lock_error(RuntimeError("database is locked"))  # not from a database
    assert not is_lock_error(None)


def test_a_page_whose_write_met_a_lock_is_the_busy_page_with_retry_after(stock, boom_urls) -> None:
    c = Client(raise_request_exception=False)
    c.force_login(stock.rep_user)
    resp = c.get("/test-locked/")
    assert resp.status_code == 503
    assert resp["Retry-After"] == "5"
    html = resp.content.decode()
    assert "<title>系统繁忙 · SalesOps</title>" in html
    assert _message(html) == "系统繁忙，请稍后再试"


def test_a_lock_error_outside_any_view_is_answered_busy_by_the_500_handler(rf, db) -> None:
    """The session middleware saves after the view: its error reaches Django's handler."""
    from salesops.core.tests.error_urls import real_lock_error

    for path, kind in (("/login/", "text/html"), ("/api/me", "application/json")):
        try:
            raise real_lock_error()
        except OperationalError:
            resp = server_error(rf.get(path))
        assert (resp.status_code, resp["Retry-After"]) == (503, "5")
        assert resp["Content-Type"].startswith(kind)
        body = resp.content.decode()
        text = json.loads(body)["message"] if kind == "application/json" else body
        assert "系统繁忙，请稍后再试" in text
