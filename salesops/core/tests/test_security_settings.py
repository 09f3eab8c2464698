"""Production settings from the environment (settings.py): each case evaluates the settings
in a fresh interpreter with exactly the environment given, as a server would start."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from salesops.settings import csrf_trusted_origins, serving_port

PROJECT = Path(__file__).resolve().parents[3]
NAMES = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "SECURE_REFERRER_POLICY",
    "SECURE_CROSS_ORIGIN_OPENER_POLICY",
    "CSRF_TRUSTED_ORIGINS",
    "SECRET_KEY",
    "SALESOPS_CSP",
    "SALESOPS_CSP_REPORT_ONLY",
)
PRINT = (
    "import django, json; django.setup(); from django.conf import settings; "
    f"print(json.dumps({{n: getattr(settings, n) for n in {NAMES!r}}}))"
)
KEY = "k" + secrets.token_urlsafe(50)


def _clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("SALESOPS_") and k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env["DJANGO_SETTINGS_MODULE"] = "salesops.settings"
    env["SALESOPS_VAR_DIR"] = str(tmp_path)
    env.update(extra)
    return env


def _settings(tmp_path: Path, **extra: str) -> dict[str, object]:
    out = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", PRINT],
        env=_clean_env(tmp_path, **extra),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_without_configuration_the_demo_settings_stay_plain_http(tmp_path: Path) -> None:
    got = _settings(tmp_path)
    assert got["SESSION_COOKIE_SECURE"] is False
    assert got["CSRF_COOKIE_SECURE"] is False
    assert got["SECURE_SSL_REDIRECT"] is False
    assert got["SECURE_HSTS_SECONDS"] == 0
    assert got["SECURE_PROXY_SSL_HEADER"] is None
    assert got["SECURE_CONTENT_TYPE_NOSNIFF"] is True
    assert got["SECURE_REFERRER_POLICY"] == "same-origin"
    assert got["SECURE_CROSS_ORIGIN_OPENER_POLICY"] == "same-origin"
    assert got["CSRF_TRUSTED_ORIGINS"] == [
        "http://127.0.0.1",
        "http://127.0.0.1:8000",
        "http://localhost",
        "http://localhost:8000",
        "http://[::1]",
        "http://[::1]:8000",
        "http://testserver",
        "http://testserver:8000",
    ]
    # The generated demo secret, kept in the var directory.
    assert got["SECRET_KEY"] == (tmp_path / "secret_key").read_text(encoding="utf-8").strip()
    assert got["SALESOPS_CSP_REPORT_ONLY"] is False
    assert str(got["SALESOPS_CSP"]).startswith("default-src 'self'; script-src 'self';")


def test_https_turns_on_secure_cookies_redirect_and_a_year_of_hsts(tmp_path: Path) -> None:
    got = _settings(
        tmp_path,
        SALESOPS_HTTPS="true",
        SALESOPS_SECRET_KEY=KEY,
        SALESOPS_ALLOWED_HOSTS="sales.example.com",
    )
    assert got["SESSION_COOKIE_SECURE"] is True
    assert got["CSRF_COOKIE_SECURE"] is True
    assert got["SECURE_SSL_REDIRECT"] is True
    assert got["SECURE_HSTS_SECONDS"] == 31536000
    assert got["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert got["SECURE_HSTS_PRELOAD"] is False
    assert got["SECURE_PROXY_SSL_HEADER"] is None  # not behind a proxy unless told
    assert got["SECRET_KEY"] == KEY
    assert got["CSRF_TRUSTED_ORIGINS"] == [
        "https://sales.example.com",
        "https://sales.example.com:8000",
    ]
    assert not (tmp_path / "secret_key").exists()


def test_hsts_options_proxy_header_and_port_are_settable(tmp_path: Path) -> None:
    got = _settings(
        tmp_path,
        SALESOPS_HTTPS="true",
        SALESOPS_SECRET_KEY=KEY,
        SALESOPS_ALLOWED_HOSTS="sales.example.com,.example.org",
        SALESOPS_HSTS_SECONDS="3600",
        SALESOPS_HSTS_INCLUDE_SUBDOMAINS="true",
        SALESOPS_HSTS_PRELOAD="1",
        SALESOPS_BEHIND_PROXY="true",
        SALESOPS_PORT="443",
    )
    assert got["SECURE_HSTS_SECONDS"] == 3600
    assert got["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert got["SECURE_HSTS_PRELOAD"] is True
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert got["CSRF_TRUSTED_ORIGINS"] == ["https://sales.example.com", "https://*.example.org"]


def test_behind_proxy_alone_sets_only_the_proxy_header(tmp_path: Path) -> None:
    got = _settings(tmp_path, SALESOPS_BEHIND_PROXY="true")
    assert got["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert got["SECURE_SSL_REDIRECT"] is False
    assert got["SECURE_HSTS_SECONDS"] == 0


def test_trusted_origins_override_and_the_bind_port(tmp_path: Path) -> None:
    got = _settings(
        tmp_path,
        SALESOPS_ALLOWED_HOSTS="crm.example.com",
        SALESOPS_BIND="0.0.0.0:9100",
        SALESOPS_PORT="8000",
    )
    # SALESOPS_BIND wins over SALESOPS_PORT, as in `salesops serve` (cli.bind_address).
    assert got["CSRF_TRUSTED_ORIGINS"] == ["http://crm.example.com", "http://crm.example.com:9100"]
    got = _settings(
        tmp_path,
        SALESOPS_ALLOWED_HOSTS="crm.example.com",
        SALESOPS_CSRF_TRUSTED_ORIGINS="https://a.example.com, https://b.example.com",
    )
    assert got["CSRF_TRUSTED_ORIGINS"] == ["https://a.example.com", "https://b.example.com"]


def test_csp_override_and_report_only(tmp_path: Path) -> None:
    got = _settings(
        tmp_path,
        SALESOPS_CSP="default-src 'self' https://cdn.example",
        SALESOPS_CSP_REPORT_ONLY="1",
    )
    assert got["SALESOPS_CSP"] == "default-src 'self' https://cdn.example"
    assert got["SALESOPS_CSP_REPORT_ONLY"] is True


def test_https_without_a_secret_key_fails_with_a_clear_message(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "salesops.cli", "check"],
        env=_clean_env(tmp_path, SALESOPS_HTTPS="true"),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert "SALESOPS_SECRET_KEY must be set" in out.stderr
    assert "SALESOPS_HTTPS=true 时必须用 SALESOPS_SECRET_KEY 设置密钥" in out.stderr
    assert not (tmp_path / "secret_key").exists()


def test_check_deploy_is_clean_with_production_settings(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "salesops.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=_clean_env(
            tmp_path,
            SALESOPS_HTTPS="true",
            SALESOPS_SECRET_KEY=KEY,
            SALESOPS_ALLOWED_HOSTS="sales.example.com",
            SALESOPS_DEBUG="false",
        ),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "System check identified no issues" in out.stdout
    assert "WARNINGS" not in out.stdout + out.stderr


def test_check_deploy_reports_the_plain_http_demo(tmp_path: Path) -> None:
    """The same check fails where it should: it is what makes the test above mean something."""
    out = subprocess.run(
        [sys.executable, "-m", "salesops.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=_clean_env(tmp_path),
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert out.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in out.stderr + out.stdout


@pytest.mark.parametrize(
    ("hosts", "port", "https", "expected"),
    [
        (["a.example"], "8000", False, ["http://a.example", "http://a.example:8000"]),
        (["a.example"], "80", False, ["http://a.example"]),
        (["a.example"], "443", True, ["https://a.example"]),
        (["a.example"], "8443", True, ["https://a.example", "https://a.example:8443"]),
        ([".a.example"], "443", True, ["https://*.a.example"]),
        (["*", ""], "8000", False, []),
        (["a.example", "a.example"], "80", False, ["http://a.example"]),
    ],
)
def test_csrf_trusted_origins(
    hosts: list[str], port: str, https: bool, expected: list[str]
) -> None:
    assert csrf_trusted_origins(hosts, port, https) == expected


def test_serving_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SALESOPS_BIND", raising=False)
    monkeypatch.delenv("SALESOPS_PORT", raising=False)
    assert serving_port() == "8000"
    monkeypatch.setenv("SALESOPS_PORT", "8123")
    assert serving_port() == "8123"
    monkeypatch.setenv("SALESOPS_BIND", "127.0.0.1:9000")
    assert serving_port() == "9000"
    monkeypatch.setenv("SALESOPS_BIND", "unix:/run/salesops.sock")
    assert serving_port() == "8123"
