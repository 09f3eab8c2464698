"""CRM fixtures on top of the stock people (conftest.py at the root)."""

from __future__ import annotations

import json

import pytest
from django.test import Client


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api(client: Client):  # type: ignore[no-untyped-def]
    """``api(method, path, username, body)`` with a bearer token of that stock user."""
    tokens: dict[str, str] = {}

    def call(method: str, path: str, user: str, body: object = None):  # type: ignore[no-untyped-def]
        if user not in tokens:
            resp = client.post(
                "/api/auth/token",
                data=json.dumps({"username": user, "password": "pw-for-tests"}),
                content_type="application/json",
            )
            tokens[user] = resp.json()["token"]
        kwargs: dict[str, object] = {"HTTP_AUTHORIZATION": f"Bearer {tokens[user]}"}
        if body is not None:
            kwargs.update(data=json.dumps(body), content_type="application/json")
        return getattr(client, method)(path, **kwargs)

    return call
