"""Stock people for every permission test (one line each): in one company, a team with a
manager and a rep, and an outsider in another team with no access to either."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.test import Client

from salesops.core.models import RoleCode, User
from salesops.factories import DepartmentFactory, EmployeeFactory, UserFactory, role
from salesops.org.models import DepartmentKind, Employee

# Tests render `{% static %}` and fetch assets without running collectstatic: the plain
# storage (no manifest to look names up in), and whitenoise looking files up through the
# finders on each request instead of scanning a STATIC_ROOT that tests never fill. Done
# here, before any request or template has touched the storage; production keeps the
# hashed manifest storage (settings.STORAGES), which tests/test_serve.py exercises.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
settings.WHITENOISE_USE_FINDERS = True
settings.WHITENOISE_AUTOREFRESH = True


@dataclass
class Stock:
    company: object
    team: object
    other_team: object
    manager_user: User
    manager: Employee
    rep_user: User
    rep: Employee
    outsider_user: User
    outsider: Employee


@pytest.fixture
def stock(db: None) -> Stock:
    company = DepartmentFactory(name="示例公司", code="HQ", kind=DepartmentKind.COMPANY)
    team = DepartmentFactory(name="华东一组", code="T1", parent=company)
    other = DepartmentFactory(name="华南一组", code="T2", parent=company)
    manager_user = UserFactory(username="bob", role=role(RoleCode.MANAGER))
    manager = EmployeeFactory(name="鲍勃", department=team, user=manager_user)
    rep_user = UserFactory(username="alice", role=role(RoleCode.REP))
    rep = EmployeeFactory(name="爱丽丝", department=team, manager=manager, user=rep_user)
    outsider_user = UserFactory(username="charlie", role=role(RoleCode.REP))
    outsider = EmployeeFactory(name="查理", department=other, user=outsider_user)
    return Stock(
        company, team, other, manager_user, manager, rep_user, rep, outsider_user, outsider
    )


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


# Debian's chromium; SALESOPS_CHROMIUM points at another one (or at nothing, to try the
# skip path on a machine that has it).
CHROMIUM = os.environ.get("SALESOPS_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium_missing() -> bool:
    return not os.path.exists(CHROMIUM)


def _in_ci() -> bool:
    """CI installs chromium (.ci/run), so there a missing one is a failure, not a skip."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _is_browser_test(item: pytest.Item) -> bool:
    return "browser_page" in getattr(item, "fixturenames", ()) or (
        item.get_closest_marker("browser") is not None
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without chromium (outside CI) the browser tests are skipped, not failed."""
    if not _chromium_missing() or _in_ci():
        return
    skip = pytest.mark.skip(reason=f"{CHROMIUM} not found")
    for item in items:
        if _is_browser_test(item):
            item.add_marker(skip)


_browser_skips: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # Counted from the reports rather than at collection: under pytest-xdist every worker
    # collects the whole suite, but the controller sees each test's report once.
    if report.when == "setup" and report.skipped and _chromium_missing():
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else ""
        if str(reason).endswith(f"{CHROMIUM} not found"):
            _browser_skips.add(report.nodeid)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # type: ignore[no-untyped-def]
    if _browser_skips and not hasattr(config, "workerinput"):
        terminalreporter.write_line(
            f"{len(_browser_skips)} browser tests skipped: {CHROMIUM} not found"
            " — apt-get install -y chromium"
        )


# Injected by the browser (DevTools protocol) into every document before its own scripts,
# so the page's Content-Security-Policy does not apply to it: every refusal is reported
# on the console, where the fixture collects it.
_CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline")
    + " at " + (e.sourceFile || document.location.href) + ":" + e.lineNumber
    + (e.sample ? " sample " + e.sample : ""));
}, true);
"""


def _is_csp_message(text: str) -> bool:
    return "Content Security Policy" in text or text.startswith("CSP violation:")


@pytest.fixture
def browser_page(live_server, monkeypatch):  # type: ignore[no-untyped-def]
    """A Playwright page in Debian's chromium (never a downloaded browser). Any
    Content-Security-Policy violation on any page of the test fails it."""
    from playwright.sync_api import sync_playwright

    if _chromium_missing():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test
    # makes around it are ordinary synchronous ones.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", base_url=live_server.url)
        context.add_init_script(_CSP_LISTENER)
        violations: list[str] = []

        def watch(page):  # type: ignore[no-untyped-def]
            page.on(
                "console",
                lambda msg: (
                    violations.append(f"{page.url}: {msg.text}")
                    if _is_csp_message(msg.text)
                    else None
                ),
            )

        context.on("page", watch)
        page = context.new_page()
        page.set_default_timeout(15000)
        page.csp_violations = violations
        try:
            yield page
        finally:
            context.close()
            browser.close()
        if violations:
            pytest.fail("Content-Security-Policy violations:\n" + "\n".join(violations))


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    """PBKDF2 costs ~1 s per stock user; tests don't need the strength."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _back_to_default_language():  # type: ignore[no-untyped-def]
    """A test (or LocaleMiddleware in a client request) may leave a language active in the
    thread; the next test must start in the default language, not inherit English."""
    yield
    from django.utils import translation

    translation.deactivate()
