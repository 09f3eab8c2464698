"""The Content-Security-Policy and Cache-Control headers (salesops/core/security.py) on
pages, htmx partials, API answers, error pages and redirects; none on static files."""

from __future__ import annotations

import json

import pytest
from django.conf import settings
from django.test import Client

STRICT = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)


def _token(client: Client, username: str) -> str:
    resp = client.post(
        "/api/auth/token",
        data=json.dumps({"username": username, "password": "pw-for-tests"}),
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    # The token answer itself must not be stored by any cache.
    assert resp["Cache-Control"] == "private, no-store"
    token: str = resp.json()["token"]
    return token


def test_the_default_policy_is_the_strict_one() -> None:
    assert settings.SALESOPS_CSP == STRICT


def test_authenticated_page_has_the_policy_and_no_store(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stock.rep_user)
    resp = client.get("/sales/customers/")
    assert resp.status_code == 200
    assert resp["Content-Security-Policy"] == STRICT
    assert "Content-Security-Policy-Report-Only" not in resp
    assert resp["Cache-Control"] == "private, no-store"
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Referrer-Policy"] == "same-origin"
    assert resp["Cross-Origin-Opener-Policy"] == "same-origin"


def test_htmx_partial_has_no_store(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stock.rep_user)
    resp = client.get("/sales/customers/", HTTP_HX_REQUEST="true")
    assert resp.status_code == 200
    assert resp["Cache-Control"] == "private, no-store"


def test_api_answer_has_the_policy_and_no_store(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    token = _token(client, stock.rep_user.username)
    resp = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.status_code == 200
    assert resp["Cache-Control"] == "private, no-store"
    assert resp["Content-Security-Policy"] == STRICT


def test_login_page_keeps_djangos_never_cache(db, client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/login/")
    assert resp.status_code == 200
    assert resp["Content-Security-Policy"] == STRICT
    assert "no-store" in resp["Cache-Control"]
    assert "private" in resp["Cache-Control"]


def test_redirect_to_login_and_error_pages_have_both_headers(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/sales/customers/")
    assert resp.status_code == 302
    assert resp["Content-Security-Policy"] == STRICT
    assert resp["Cache-Control"] == "private, no-store"
    client.force_login(stock.rep_user)
    resp = client.get("/sales/customers/999999999/")
    assert resp.status_code == 404
    assert resp["Content-Security-Policy"] == STRICT
    assert resp["Cache-Control"] == "private, no-store"
    resp = client.get("/api/no-such-endpoint")
    assert resp.status_code == 404
    assert resp["Content-Security-Policy"] == STRICT
    assert resp["Cache-Control"] == "private, no-store"


def test_500_page_has_both_headers(stock, settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROOT_URLCONF = "salesops.core.tests.error_urls"
    c = Client(raise_request_exception=False)
    c.force_login(stock.rep_user)
    resp = c.get("/test-boom/")
    assert resp.status_code == 500
    assert resp["Content-Security-Policy"] == STRICT
    assert resp["Cache-Control"] == "private, no-store"


def test_report_only_sends_the_other_header(stock, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SALESOPS_CSP_REPORT_ONLY = True
    client.force_login(stock.rep_user)
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp["Content-Security-Policy-Report-Only"] == STRICT
    assert "Content-Security-Policy" not in resp


def test_the_policy_can_be_replaced_or_turned_off(stock, client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    client.force_login(stock.rep_user)
    settings.SALESOPS_CSP = "default-src 'self' https://cdn.example"
    assert client.get("/")["Content-Security-Policy"] == "default-src 'self' https://cdn.example"
    settings.SALESOPS_CSP = ""
    resp = client.get("/")
    assert "Content-Security-Policy" not in resp
    assert resp["Cache-Control"] == "private, no-store"


@pytest.mark.parametrize(
    "path", ["/static/salesops/app.js", "/static/vendor/bootstrap/bootstrap.min.css"]
)
def test_static_files_bypass_the_middleware(db, client: Client, path: str) -> None:  # type: ignore[no-untyped-def]
    resp = client.get(path)
    assert resp.status_code == 200
    assert "no-store" not in resp.get("Cache-Control", "")
    assert "Content-Security-Policy" not in resp
