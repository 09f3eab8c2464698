"""Benchmark: a mixed load of logged-in page reads and API reads against Django's
development server (what `salesops serve` ran before issue 11) and the real server
(`salesops serve`: gunicorn under the supervisor), in the same run, on the demo database;
then the same load at the top level while a 240,000-row orders import is applied. Not a
test; prints its figures.

    .venv/bin/python bench/bench_load.py [--duration 60] [--levels 10,25,50]
        [--import-rows 240000] [--no-import] [--servers runserver,gunicorn[,gunicorn:WxT…]]
        [--demo-db var/salesops.sqlite3] [--database-url postgres://user@host:port/any]
        [--keep]

The load generator is `wrk` (`apt-get install -y wrk`), driven by a Lua script
(bench/load.lua): it is C on an event loop, one thread each for pages and API, so it takes
a few percent of one core where a Python client of the same rate takes most of one (its CPU
time is printed with the figures). At each level N, N/2 connections read pages (dashboard,
customers list, orders list, a customer detail page) with a session cookie and N/2 read the
API (/api/me, /api/customers, /api/orders, an order) with a bearer token; each connection
sends its next request when the previous one answered (closed loop). Every answer but a
200 counts as an error (a 302 to the login page would otherwise look like success).

Data: a fresh demo company (`salesops demo --no-serve`, about a minute) in a temporary
directory, or a copy of the SQLite file given by --demo-db, or a throw-away database on the
PostgreSQL server given by --database-url. The user is `director` (a region's scope).

Targets on 2 cores: 0 errors; at 50 clients p95 ≤ 1 s for pages and API; gunicorn
throughput ≥ 2× runserver's; 0 errors during the import.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "load.lua"
PY = sys.executable
USER, PASSWORD = "director", "salesops-demo"
ADMIN = "admin"
TARGET_P95_MS = 1000


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--duration", type=float, default=60, help="seconds per level")
    parser.add_argument("--levels", default="10,25,50")
    parser.add_argument("--servers", default="runserver,gunicorn")
    parser.add_argument("--import-rows", type=int, default=240_000)
    parser.add_argument("--no-import", action="store_true")
    parser.add_argument("--demo-db", default="", help="an existing demo SQLite file to copy")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        print("wrk not found: apt-get install -y wrk")
        return 2
    levels = [int(x) for x in args.levels.split(",") if x.strip()]
    servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    tmp = Path(tempfile.mkdtemp(prefix="salesops-bench-load-"))
    env = {
        **os.environ,
        "SALESOPS_VAR_DIR": str(tmp / "var"),
        "SALESOPS_SQLITE_PATH": str(tmp / "demo.sqlite3"),
        "SALESOPS_DEBUG": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("SALESOPS_BIND", None)
    pg_db = ""
    if args.database_url:
        pg_db = f"salesops_bench_load_{os.getpid()}"
        _pg_admin(args.database_url, f"CREATE DATABASE {pg_db}")
        env["DATABASE_URL"] = _with_db(args.database_url, pg_db)
    else:
        env.pop("DATABASE_URL", None)
    try:
        _prepare(args, env)
        _run(args, env, tmp, levels, servers)
    finally:
        if pg_db:
            _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {pg_db}")
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _prepare(args: argparse.Namespace, env: dict[str, str]) -> None:
    t0 = time.perf_counter()
    if args.demo_db and not args.database_url:
        # SQLite's backup API: a consistent copy even of a file in WAL mode that is in use.
        src = sqlite3.connect(args.demo_db)
        dst = sqlite3.connect(env["SALESOPS_SQLITE_PATH"])
        src.backup(dst)
        src.close()
        dst.close()
        subprocess.run([PY, "-m", "salesops.cli", "migrate", "-v", "0"], env=env, check=True)
        subprocess.run([PY, "-m", "salesops.cli", "static"], env=env, check=True)
        how = f"copy of {args.demo_db}"
    else:
        subprocess.run(
            [PY, "-m", "salesops.cli", "demo", "--no-serve"],
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        how = "fresh demo build"
    # The demo leaves commission runs queued: run them now, not during the measurements.
    subprocess.run(
        [PY, "-m", "salesops.cli", "db_worker", "--batch", "--no-startup-delay", "--no-reload"],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    print(f"database: {how} ({_vendor(env)}) in {time.perf_counter() - t0:.0f} s")


def _vendor(env: dict[str, str]) -> str:
    return "PostgreSQL" if env.get("DATABASE_URL") else "SQLite"


def _run(
    args: argparse.Namespace,
    env: dict[str, str],
    tmp: Path,
    levels: list[int],
    servers: list[str],
) -> None:
    cores = os.cpu_count()
    print(
        f"load: {args.duration:g} s per level, levels {levels}, user {USER}; "
        f"{cores} cores, load average {os.getloadavg()[0]:.1f}"
    )
    results: dict[tuple[str, int], tuple[Result, Result]] = {}
    # All servers up at once, measured in turn level by level: on a machine shared with
    # other work the load drifts, and interleaving gives every server the same conditions.
    running: dict[str, tuple[subprocess.Popen[bytes], int, tuple[Any, ...]]] = {}
    try:
        for server in servers:
            port = _free_port()
            proc = _start(server, port, env, tmp)
            running[server] = (proc, port, ())
        for server, (proc, port, _) in running.items():
            _wait_ready(port, proc)
            clients = _client_setup(port)
            running[server] = (proc, port, clients)
            _wrk_pair(port, 4, 3, *clients)  # warm-up: templates, connections
        for level in levels:
            for server, (proc, port, clients) in running.items():
                cpu0 = _tree_cpu(proc.pid)
                load = os.getloadavg()[0]
                pages, api, wrk_cpu = _wrk_pair(port, level, args.duration, *clients)
                server_cores = (_tree_cpu(proc.pid) - cpu0) / args.duration
                results[(server, level)] = (pages, api)
                _print_level(server, level, pages, api, server_cores, wrk_cpu / args.duration, load)
        if "gunicorn" in running and not args.no_import:
            if "runserver" in running:
                _stop(running.pop("runserver")[0])
            _, port, clients = running["gunicorn"]
            _import_phase(args, port, clients, env, tmp)
    finally:
        for proc, _, _ in running.values():
            _stop(proc)
    if "runserver" in servers and "gunicorn" in servers:
        print()
        for level in levels:
            rs = sum(r.rps for r in results[("runserver", level)])
            gu = sum(r.rps for r in results[("gunicorn", level)])
            ratio = gu / rs if rs else float("inf")
            print(
                f"throughput at {level:>2} clients: runserver {rs:6.1f} req/s, "
                f"gunicorn {gu:6.1f} req/s, ratio {ratio:.2f}×"
            )
        top = max(levels)
        gp, ga = results[("gunicorn", top)]
        ratio = sum(r.rps for r in results[("gunicorn", top)]) / max(
            sum(r.rps for r in results[("runserver", top)]), 1e-9
        )
        errors = sum(
            r.errors for key, pair in results.items() if key[0] == "gunicorn" for r in pair
        )
        ok = (
            errors == 0 and gp.p95_ms <= TARGET_P95_MS and ga.p95_ms <= TARGET_P95_MS and ratio >= 2
        )
        print(
            f"targets (gunicorn: 0 errors, p95 ≤ {TARGET_P95_MS} ms at {top} clients, "
            f"≥ 2× runserver): {'met' if ok else 'NOT met'}"
        )


def _print_level(
    server: str,
    level: int,
    pages: Result,
    api: Result,
    server_cores: float,
    wrk_cores: float,
    load: float,
) -> None:
    for kind, r in (("pages", pages), ("api", api)):
        print(
            f"{server:<12} {level:>2} clients {kind:<5}: {r.requests:>6} requests, "
            f"{r.errors:>4} errors, {r.rps:6.1f} req/s, p50 {r.p50_ms:6.0f} ms, "
            f"p95 {r.p95_ms:6.0f} ms"
        )
    print(
        f"{server:<12} {level:>2} clients total: {pages.rps + api.rps:6.1f} req/s; "
        f"server used {server_cores:.2f} cores, wrk {wrk_cores:.2f}; load average {load:.1f}"
    )


# -- servers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(server: str, port: int, env: dict[str, str], tmp: Path) -> subprocess.Popen[bytes]:
    log = (tmp / f"{server.replace(':', '-')}.log").open("wb")
    if server == "runserver":
        # What `salesops serve` ran before: Django's threaded development server.
        argv = [PY, "-m", "salesops.cli", "runserver", f"127.0.0.1:{port}", "--noreload"]
    elif server == "gunicorn" or server.startswith("gunicorn:"):
        # `gunicorn:2x8` = 2 workers × 8 threads; plain `gunicorn` = serve's default sizing.
        argv = [PY, "-m", "salesops.cli", "serve", "--port", str(port)]
        if ":" in server:
            workers, threads = server.split(":", 1)[1].split("x")
            env = {**env, "SALESOPS_WEB_WORKERS": workers, "SALESOPS_WEB_THREADS": threads}
    else:
        raise SystemExit(f"unknown server {server!r}")
    return subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_ready(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/login/", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("server not ready after 120 s")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _tree_cpu(pid: int) -> float:
    """CPU seconds used so far by a process and everything below it (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, IndexError):
            continue
        # ppid, utime + stime (children already waited for are in cutime/cstime)
        stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / ticks)
    total, todo, seen = 0.0, [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in stats:
            total += stats[current][1]
        todo.extend(p for p, (ppid, _) in stats.items() if ppid == current)
    return total


# -- clients ---------------------------------------------------------------------------


def _client_setup(port: int) -> tuple[str, str, list[str], list[str]]:
    """Log in through the login page (session cookie) and the API (token); pick detail ids."""
    base = f"http://127.0.0.1:{port}"
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    html = opener.open(f"{base}/login/").read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert csrf, "no CSRF token on the login page"
    form = urllib.parse.urlencode(
        {"username": USER, "password": PASSWORD, "csrfmiddlewaretoken": csrf.group(1)}
    ).encode()
    opener.open(urllib.request.Request(f"{base}/login/", data=form))
    session = next((c.value for c in jar if c.name == "sessionid"), "")
    assert session, "login failed (no session cookie)"
    token = _token(base, USER)
    customers = _api_get(base, token, "/api/customers")
    orders = _api_get(base, token, "/api/orders")
    customer_id = customers["results"][0]["id"]
    order_id = orders["results"][0]["id"]
    pages = ["/", "/sales/customers/", "/sales/orders/", f"/sales/customers/{customer_id}/"]
    api = ["/api/me", "/api/customers", "/api/orders", f"/api/orders/{order_id}"]
    for path in pages:
        req = urllib.request.Request(base + path, headers={"Cookie": f"sessionid={session}"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 200 and r.url == base + path, (path, r.status, r.url)
    for path in api:
        _api_get(base, token, path)
    return session, token, pages, api


def _token(base: str, username: str) -> str:
    body = json.dumps({"username": username, "password": PASSWORD}).encode()
    req = urllib.request.Request(
        f"{base}/api/auth/token", data=body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req) as r:
        return str(json.load(r)["token"])


def _api_get(base: str, token: str, path: str) -> Any:
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def _wrk(
    port: int, connections: int, duration: float, headers: dict[str, str], paths: list[str]
) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "BENCH_PATHS": "\n".join(paths),
        "BENCH_HEADERS": "\n".join(f"{k}\t{v}" for k, v in headers.items()),
    }
    return subprocess.Popen(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "--timeout",
            "30s",
            "-s",
            str(LUA),
            f"http://127.0.0.1:{port}",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wrk_pair(
    port: int,
    clients: int,
    duration: float,
    session: str,
    token: str,
    page_paths: list[str],
    api_paths: list[str],
) -> tuple[Result, Result, float]:
    """Pages and API at once, half the clients each; returns both results and wrk's CPU s."""
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    n_pages = (clients + 1) // 2
    procs = [
        _wrk(port, n_pages, duration, {"Cookie": f"sessionid={session}"}, page_paths),
        _wrk(port, clients - n_pages, duration, {"Authorization": f"Bearer {token}"}, api_paths),
    ]
    results = [_parse(p.communicate()[0]) for p in procs]
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return results[0], results[1], used


def _parse(out: str) -> Result:
    line = next((ln for ln in out.splitlines() if ln.startswith("{")), "")
    if not line:
        raise SystemExit(f"unexpected wrk output:\n{out}")
    d = json.loads(line)
    errors = d["bad_status"] + d["connect"] + d["read"] + d["write"] + d["timeout"]
    return Result(
        requests=d["requests"],
        errors=errors,
        seconds=d["duration_us"] / 1e6,
        p50_ms=d["p50_us"] / 1000,
        p95_ms=d["p95_us"] / 1000,
    )


# -- the import phase ------------------------------------------------------------------


def _import_phase(
    args: argparse.Namespace,
    port: int,
    clients: tuple[Any, ...],
    env: dict[str, str],
    tmp: Path,
) -> None:
    """The top level's load while an orders import of --import-rows rows is applied."""
    base = f"http://127.0.0.1:{port}"
    csv_path = tmp / "orders.csv"
    t0 = time.perf_counter()
    orders = _orders_csv(csv_path, args.import_rows, env)
    print(
        f"\nimport: generated {args.import_rows:,} rows / {orders:,} orders, "
        f"{csv_path.stat().st_size / 1e6:.1f} MB in {time.perf_counter() - t0:.1f} s"
    )
    admin_token = _token(base, ADMIN)
    t0 = time.perf_counter()
    job = _upload(base, admin_token, "/api/imports/orders/apply", csv_path)
    print(
        f"import: uploaded through POST /api/imports/orders/apply in "
        f"{time.perf_counter() - t0:.1f} s, job {job['id']} {job['status']}"
    )
    level = 50
    started = time.perf_counter()
    pages, api, _ = _wrk_pair(port, level, args.duration, *clients)
    status = _job(base, admin_token, job["id"])
    finished = status["status"] in {"done", "failed"}
    while not finished and time.perf_counter() - started < 900:
        time.sleep(1)
        status = _job(base, admin_token, job["id"])
        finished = status["status"] in {"done", "failed"}
    took = time.perf_counter() - started
    for kind, r in (("pages", pages), ("api", api)):
        print(
            f"during import {level} clients {kind:<5}: {r.requests:>6} requests, "
            f"{r.errors:>4} errors, {r.rps:6.1f} req/s, p50 {r.p50_ms:6.0f} ms, "
            f"p95 {r.p95_ms:6.0f} ms"
        )
    print(
        f"import: job {status['status']} ({status.get('rows_done', 0):,} rows, "
        f"{status.get('error_count', 0)} errors) {took:.0f} s after the upload; the load "
        f"ran for the first {args.duration:g} s"
    )
    errors = pages.errors + api.errors
    print(f"target (0 errors during the import): {'met' if errors == 0 else 'NOT met'}")


def _orders_csv(path: Path, rows: int, env: dict[str, str]) -> int:
    """An orders file over the demo's own customers, members, reps and products."""
    codes = json.loads(
        subprocess.run(
            [PY, "-c", _CODES_SCRIPT], env=env, check=True, capture_output=True, text=True
        ).stdout
    )
    rng = random.Random(20261202)
    prefix = f"BL{uuid.uuid4().hex[:6].upper()}"
    customers, members, employees, skus = (
        codes["customers"],
        codes["members"],
        codes["employees"],
        codes["skus"],
    )
    order = row = 0
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("订单号,下单日期,订单类型,客户编号,购买会员编号,业绩归属工号,商品编码,数量,单价\n")
        while row < rows:
            order += 1
            day = f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}"
            if not members or rng.random() < 0.5:
                buyer = f"{rng.choice(customers)},,{rng.choice(employees)}"
            else:
                buyer = f",{rng.choice(members)},"
            for _ in range(min(rng.randint(1, 5), rows - row)):
                price = f"{rng.randint(100, 99999) / 100:.2f}"
                fh.write(
                    f"{prefix}{order:08d},{day},regular,{buyer},{rng.choice(skus)},"
                    f"{rng.randint(1, 10)},{price}\n"
                )
                row += 1
    return order


_CODES_SCRIPT = """
import json, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
import django
django.setup()
from salesops.org.models import Employee, Member
from salesops.sales.models import Customer, Product
print(json.dumps({
    "customers": list(Customer.objects.values_list("code", flat=True)[:5000]),
    "members": list(Member.objects.values_list("member_no", flat=True)[:5000]),
    "employees": list(Employee.objects.values_list("employee_no", flat=True)[:500]),
    "skus": list(Product.objects.values_list("sku", flat=True)[:500]),
}))
"""


def _upload(base: str, token: str, path: str, file: Path) -> Any:
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{file.name}"\r\nContent-Type: text/csv\r\n\r\n'
        ).encode()
        + file.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    req = urllib.request.Request(
        base + path,
        data=body,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    with urllib.request.urlopen(req, timeout=300) as r:
        return json.load(r)


def _job(base: str, token: str, job_id: int) -> Any:
    try:
        return _api_get(base, token, f"/api/imports/jobs/{job_id}")
    except OSError as exc:
        return {"status": f"unknown ({exc})"}


def _with_db(url: str, name: str) -> str:
    return urllib.parse.urlparse(url)._replace(path=f"/{name}").geturl()


def _pg_admin(url: str, sql: str) -> None:
    """Run one statement on the server's ``postgres`` database (outside a transaction)."""
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
