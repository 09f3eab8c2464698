"""API authentication and the one error body."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from salesops.core.models import ApiToken


def _token(client: Client, username: str, password: str = "pw-for-tests") -> str:  # noqa: S107
    resp = client.post(
        "/api/auth/token",
        data=json.dumps({"username": username, "password": password}),
        content_type="application/json",
    )
    assert resp.status_code == 200, resp.content
    return resp.json()["token"]


def test_token_then_me(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    token = _token(client, "alice")
    resp = client.get("/api/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.status_code == 200
    body = resp.json()
    assert body["username"] == "alice"
    assert body["role"] == "rep"
    assert body["data_scope"] == "self"
    assert body["employee_id"] == stock.rep.pk
    # Only the hash is stored.
    assert not ApiToken.objects.filter(key_hash=token).exists()


def test_wrong_password_gives_error_schema(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post(
        "/api/auth/token",
        data=json.dumps({"username": "alice", "password": "nope"}),
        content_type="application/json",
    )
    assert resp.status_code == 401
    assert resp.json() == {
        "code": "invalid_credentials",
        "message": "用户名或密码不正确",
        "fields": [],
    }


@pytest.mark.parametrize("header", ["", "Bearer nonsense", "Basic abc", "Bearer " + "x" * 500])
def test_missing_or_bad_token_is_401(db, client: Client, header: str) -> None:  # type: ignore[no-untyped-def]
    kwargs = {"HTTP_AUTHORIZATION": header} if header else {}
    resp = client.get("/api/me", **kwargs)
    assert resp.status_code == 401
    assert resp.json()["code"] == "unauthorized"


def test_malformed_body_is_422_with_fields(db, client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = client.post("/api/auth/token", data="{not json", content_type="application/json")
    assert resp.status_code in (400, 422)
    resp = client.post(
        "/api/auth/token", data=json.dumps({"username": "x"}), content_type="application/json"
    )
    assert resp.status_code == 422
    body = resp.json()
    assert body["code"] == "invalid_input"
    assert body["fields"][0]["field"] == "password"


def test_openapi_schema_served(db, client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    assert "/api/auth/token" in resp.json()["paths"]


def test_api_docs_use_vendored_assets_only(db, client: Client) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/docs")
    assert resp.status_code == 200
    body = resp.content.decode()
    assert "swagger-ui-bundle.js" in body
    assert "https://" not in body  # offline intranets: no CDN
