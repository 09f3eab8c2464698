"""No lock-ups (issue 11): while a long write holds the database, API reads, page reads,
token creation and logins keep answering — through a real server (``salesops serve``:
gunicorn with threads, the task worker) on a real database: an SQLite file in WAL mode
in a temporary folder, or, with ``DATABASE_URL`` set, a PostgreSQL database of its own.

Two long writes:

* a foreign transaction held open (another program's write): reads never write (the
  token's "last used" is skipped when it cannot be written at once), so they answer 200;
  on SQLite a login, which must write, is refused with a clear 503 "系统繁忙" and a
  ``Retry-After`` once the busy timeout has passed — never a 500;
* the application's own long write, a 150,000-order import applied by the import
  service in another process (as the task worker runs it): it commits in short chunks,
  so logins, token creation, API reads and page reads all answer 200, each within
  ``BOUND`` seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
import pytest

from salesops.core.tests.test_serve import ROOT, Output, _free_port

pytestmark = pytest.mark.slow

BOUND = 2.0  # seconds any one request may take while the long write runs
# The same while the app's own import applies in another process: the import takes a core
# of a 2-core CI machine that also runs the rest of the suite (2.2 s seen there), and a
# request stuck behind the lock would still wait the 10 s busy timeout.
IMPORT_BOUND = 4.0
PASSWORD = "Long-writes-2026!"
ORDERS = 150_000
DATABASE_URL = os.environ.get("DATABASE_URL", "")

SETUP = f"""
from salesops.core.models import RoleCode
from salesops.factories import CustomerFactory, EmployeeFactory, ProductFactory, UserFactory, role

admin = UserFactory(username="admin", role=role(RoleCode.ADMIN))
admin.set_password({PASSWORD!r})
admin.save()
rep = EmployeeFactory(employee_no="E1")
CustomerFactory(code="C1", owner=rep)
ProductFactory(sku="S1")
"""

# The apply as the task worker runs it: a job queued without a dry run, then the service
# that claims and applies it.
APPLY = """
import os
from pathlib import Path
from salesops.core.imports.services import import_job_create, import_job_run
from salesops.core.models import User

admin = User.objects.get(username="admin")
path = Path(os.environ["LONGWRITES_FILE"])
job = import_job_create(
    actor=admin, entity="orders", path=path, original_name="o.csv", dry_run=False
)
print("job", job.pk, flush=True)
job = import_job_run(job_id=job.pk)
print("status", job.status, job.created_count, flush=True)
"""


def _pg_url(name: str) -> str:
    parts = urlsplit(DATABASE_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Site:
    """A database and the environment every program of the test runs with."""

    env: dict[str, str]
    sqlite_path: Path | None
    folder: Path

    def manage(self, *args: str, timeout: float = 300) -> str:
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "salesops.cli", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def count_orders(self) -> int:
        """Every order row, hidden or not, read beside the application."""
        if self.sqlite_path is not None:
            with contextlib.closing(sqlite3.connect(self.sqlite_path, timeout=10)) as conn:
                return int(conn.execute("SELECT COUNT(*) FROM sales_order").fetchone()[0])
        with psycopg.connect(self.env["DATABASE_URL"], autocommit=True) as conn:
            row = conn.execute("SELECT COUNT(*) FROM sales_order").fetchone()
            assert row is not None
            return int(row[0])


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[Site]:
    folder = tmp_path_factory.mktemp("longwrites")
    env = {
        **os.environ,
        "SALESOPS_VAR_DIR": str(folder / "var"),
        "PYTHONUNBUFFERED": "1",
        "SALESOPS_WEB_WORKERS": "2",
        "SALESOPS_WEB_THREADS": "4",
        # every round issues a token: the oldest, the probes', must not be revoked
        "SALESOPS_API_TOKENS_PER_USER": "10000",
    }
    env.pop("SALESOPS_BIND", None)
    sqlite_path: Path | None = None
    dbname = ""
    if DATABASE_URL:
        # one database per module and worker: two modules use this fixture, and xdist may
        # run one module's tests on two workers at once, each with its own module fixture
        module = request.module.__name__.rsplit(".", 1)[-1]
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        dbname = f"{urlsplit(DATABASE_URL).path.lstrip('/')}_{module}_{worker}"
        with psycopg.connect(_pg_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        env["DATABASE_URL"] = _pg_url(dbname)
    else:
        env.pop("DATABASE_URL", None)
        sqlite_path = folder / "site.sqlite3"
        env["SALESOPS_SQLITE_PATH"] = str(sqlite_path)
    s = Site(env, sqlite_path, folder)
    s.manage("migrate", "--noinput", "-v", "0")
    s.manage("shell", "-c", SETUP)
    yield s
    if dbname:
        with psycopg.connect(_pg_url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@contextlib.contextmanager
def serving(site: Site, **extra: str) -> Iterator[int]:
    """``salesops serve`` on a free port until the block ends."""
    port = _free_port()
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "salesops.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**site.env, **extra},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output = Output(proc.stdout)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, "serve exited:\n" + "".join(output.lines)
            assert time.monotonic() < deadline, "not serving:\n" + "".join(output.lines)
            try:
                if Browser(port).request("GET", "/login/").status == 200:
                    break
            except OSError:
                time.sleep(0.2)
        yield port
        # no request the test made ended in a 500 the log would show
        assert not [line for line in output.lines if "Internal Server Error" in line], "".join(
            output.lines
        )
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: str
    took: float


@dataclass
class Browser:
    """HTTP on loopback with a cookie jar (a person's browser, or an API client)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self, method: str, path: str, body: str = "", headers: dict[str, str] | None = None
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        began = time.monotonic()
        try:
            conn.request(method, path, body=body.encode() if body else None, headers=sent)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
            took = time.monotonic() - began
            for key, value in response.getheaders():
                if key.lower() == "set-cookie":
                    name, _sep, rest = value.partition("=")
                    self.cookies[name] = rest.split(";", 1)[0]
            return Answer(
                response.status, {k.lower(): v for k, v in response.getheaders()}, text, took
            )
        finally:
            conn.close()


@dataclass
class Probe:
    """One round of what people do while the long write runs, every answer recorded."""

    port: int
    token: str
    answers: list[tuple[str, Answer]] = field(default_factory=list)

    def _keep(self, what: str, answer: Answer) -> Answer:
        self.answers.append((what, answer))
        return answer

    def api_me(self) -> Answer:
        auth = {"Authorization": f"Bearer {self.token}"}
        return self._keep("GET /api/me", Browser(self.port).request("GET", "/api/me", "", auth))

    def api_token(self) -> Answer:
        body = json.dumps({"username": "admin", "password": PASSWORD, "label": "probe"})
        answer = Browser(self.port).request(
            "POST", "/api/auth/token", body, {"Content-Type": "application/json"}
        )
        return self._keep("POST /api/auth/token", answer)

    def web_login(self) -> tuple[Browser, Answer]:
        """The login form: GET (its CSRF cookie and field), then POST the password."""
        browser = Browser(self.port)
        form = browser.request("GET", "/login/")
        self._keep("GET /login/", form)
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body)
        assert match, form.body[:500]
        body = urlencode(
            {"csrfmiddlewaretoken": match.group(1), "username": "admin", "password": PASSWORD}
        )
        answer = browser.request(
            "POST",
            "/login/",
            body,
            {"Content-Type": "application/x-www-form-urlencoded", "Referer": "/login/"},
        )
        return browser, self._keep("POST /login/", answer)

    def page(self, browser: Browser, path: str) -> Answer:
        return self._keep(f"GET {path}", browser.request("GET", path))

    def slow(self, bound: float = BOUND) -> list[str]:
        return [f"{what}: {a.took:.2f}s" for what, a in self.answers if a.took > bound]


def _slowest(probe: Probe) -> str:
    what, answer = max(probe.answers, key=lambda wa: wa[1].took)
    return f"{what} {answer.took:.2f}s"


def _token(port: int) -> str:
    answer = Probe(port, "").api_token()
    assert answer.status == 200, answer.body
    return str(json.loads(answer.body)["token"])


# ----------------------------------------------------------------- a foreign long write


@contextlib.contextmanager
def foreign_write(site: Site, token: str) -> Iterator[None]:
    """Another program's write transaction, open for the block. SQLite: ``BEGIN
    IMMEDIATE`` and an update — the database's one write lock, held. PostgreSQL (no
    database-wide write lock): the row of the token the probes use (what touching it
    would wait for) and the products' rows, held."""
    ready, release = threading.Event(), threading.Event()
    failed: list[BaseException] = []

    def hold() -> None:
        try:
            if site.sqlite_path is not None:
                conn = sqlite3.connect(site.sqlite_path, timeout=10, isolation_level=None)
                try:
                    conn.execute("BEGIN IMMEDIATE")
                    conn.execute("UPDATE sales_product SET name = name")
                    ready.set()
                    release.wait(60)
                    conn.execute("ROLLBACK")
                finally:
                    conn.close()
                return
            with psycopg.connect(site.env["DATABASE_URL"]) as conn:
                conn.execute(
                    "UPDATE core_apitoken SET last_used_at = now() WHERE key_hash = %s",
                    [_sha(token)],
                )
                conn.execute("UPDATE sales_product SET name = name")
                ready.set()
                release.wait(60)
                conn.rollback()
        except BaseException as exc:  # reported by the test
            failed.append(exc)
            ready.set()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert ready.wait(30)
    assert not failed, failed
    try:
        yield
    finally:
        release.set()
        thread.join(30)
    assert not failed, failed


def _sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


# The server's SQLite busy timeout in the foreign-write test: above IMPORT_BOUND, so a read
# that waited for the lock (a token touch that did not give up at once) fails the test; on
# PostgreSQL such a read would wait for the whole hold (twice this). The reads' bound is
# IMPORT_BOUND, not BOUND: on the loaded 2-core CI machine one GET /api/me of the
# PostgreSQL lane took 2.7 s without any lock wait.
BUSY_MS = 5000


def test_a_foreign_long_write_leaves_reads_answering_and_logins_refused_clearly(
    site: Site,
) -> None:
    # The token's use is due to be recorded at every call a second after the last one
    # recorded (and none is, while the lock is held): the read path is put to the test.
    with serving(
        site, SALESOPS_SQLITE_BUSY_MS=str(BUSY_MS), SALESOPS_TOKEN_TOUCH_SECONDS="1"
    ) as port:
        token = _token(port)
        probe = Probe(port, token)
        browser, login = probe.web_login()
        assert login.status == 302, login.body[:500]
        began = time.monotonic()
        with foreign_write(site, token):
            rounds = 0
            # well past the busy timeout, and at least three rounds
            while rounds < 3 or time.monotonic() - began < 2 * BUSY_MS / 1000:
                rounds += 1
                me = probe.api_me()
                assert me.status == 200, me.body
                assert json.loads(me.body)["username"] == "admin"
                for path in ("/", "/sales/orders/", "/notifications/", "/jobs/"):
                    page = probe.page(browser, path)
                    assert page.status == 200, (path, page.status, page.body[:300])
                new_token = probe.api_token()
                _other, web = probe.web_login()
                if site.sqlite_path is None:
                    # PostgreSQL has no database-wide write lock: logins go on.
                    assert (new_token.status, web.status) == (200, 302), new_token.body
                    continue
                for answer in (new_token, web):
                    assert answer.status == 503, (answer.status, answer.body[:300])
                    assert answer.headers["retry-after"] == "5"
                    # refused once the busy timeout ran out (plus the password's hashing
                    # on a loaded machine), never left hanging
                    assert answer.took < BUSY_MS / 1000 + 2 * BOUND, answer.took
                assert json.loads(new_token.body) == {
                    "code": "busy",
                    "message": "系统繁忙，请稍后再试",
                    "fields": [],
                }
                assert "系统繁忙，请稍后再试" in web.body
            held_for = time.monotonic() - began
        reads = [a for what, a in probe.answers if what.startswith("GET") and what != "GET /login/"]
        assert len(reads) >= 15
        assert max(a.took for a in reads) < IMPORT_BOUND, probe.slow()
        # the lock released, logins go through again
        assert probe.api_token().status == 200
        assert probe.web_login()[1].status == 302
        print(f"foreign lock held {held_for:.1f}s, {len(reads)} reads, slowest {_slowest(probe)}")


# ----------------------------------------------------------- the application's long write


def _orders_file(path: Path) -> Path:
    header = "订单号,下单日期,订单类型,客户编号,购买会员编号,业绩归属工号,商品编码,数量,单价\n"
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        out.writelines(f"LW{i:07d},2026-10-01,,C1,,E1,S1,1,10.00\n" for i in range(ORDERS))
    return path


def test_a_large_import_applying_leaves_logins_and_reads_answering(site: Site) -> None:
    source = _orders_file(site.folder / "orders.csv")
    with serving(site) as port:
        probe = Probe(port, _token(port))
        browser, login = probe.web_login()
        assert login.status == 302
        before = site.count_orders()
        apply = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "salesops.cli", "shell", "-c", APPLY],
            cwd=ROOT,
            env={**site.env, "LONGWRITES_FILE": str(source)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            # the file is read and checked first (no lock); the probes count from the
            # first committed chunk
            deadline = time.monotonic() + 240
            while site.count_orders() == before:
                assert apply.poll() is None, apply.stdout.read() if apply.stdout else ""
                assert time.monotonic() < deadline
                time.sleep(0.05)
            began, rounds = time.monotonic(), 0
            while apply.poll() is None:
                me = probe.api_me()
                made = probe.api_token()
                _b, web = probe.web_login()
                orders = probe.page(browser, "/sales/orders/")
                dashboard = probe.page(browser, "/")
                statuses = [me.status, made.status, web.status, orders.status, dashboard.status]
                assert statuses == [200, 200, 302, 200, 200], probe.answers[-6:]
                rounds += 1
            during = time.monotonic() - began
            out = apply.stdout.read() if apply.stdout else ""
        finally:
            if apply.poll() is None:
                apply.kill()
            apply.wait()
        assert apply.returncode == 0, out
        assert re.search(rf"status done {ORDERS}\b", out), out
        assert site.count_orders() == before + ORDERS
        # the write ran long enough to matter, and people kept working through it
        assert during > 2.0, (during, out)
        assert rounds >= 3, rounds
        assert not probe.slow(IMPORT_BOUND), probe.slow(IMPORT_BOUND)
        print(f"import apply {during:.1f}s, {rounds} rounds, slowest {_slowest(probe)}")
