"""The ``salesops`` command.

salesops demo [--port 8000] [--no-serve]   migrate, build the demo company, serve it
salesops serve [--port 8000]               serve: gunicorn + background task worker + scheduler,
                                           supervised (docs/operators.md "Serving")
salesops static                            collectstatic, unless no static file changed
salesops comp compute ...                  the stateless commission engine (no database)
salesops <any manage.py command>           e.g. salesops migrate, salesops createsuperuser
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

DEMO_PASSWORD = "salesops-demo"  # noqa: S105 - documented demo-only password
DEMO_USERS = [
    ("admin", "系统管理员 / admin"),
    ("director", "销售总监 / director"),
    ("manager1", "销售经理 / manager"),
    ("rep1", "销售代表 / rep"),
    ("rep2", "销售代表 / rep"),
    ("marketing", "市场部 / marketing"),
    ("finance", "财务 / finance"),
    ("finance2", "财务（审批） / finance approver"),
    ("member1", "直销会员 / member"),
]


def _django_setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()


def _manage(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        execute_from_command_line(["salesops", *argv])
    except ImproperlyConfigured as exc:
        # A configuration mistake (SALESOPS_HTTPS without a secret key): its message, not
        # a traceback.
        raise SystemExit(f"SalesOps: {exc}") from None


def _port(argv: list[str]) -> str:
    if "--port" in argv:
        idx = argv.index("--port")
        if idx + 1 < len(argv):
            return argv[idx + 1]
    return os.environ.get("SALESOPS_PORT", "8000")


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name}={raw!r}: 需要整数 / an integer is expected") from None
    if value < minimum:
        raise SystemExit(f"{name}={raw!r}: 至少为 {minimum} / must be at least {minimum}")
    return value


def bind_address(argv: list[str]) -> str:
    """Where the web server listens: ``SALESOPS_BIND`` (``host:port`` or ``unix:/path``)
    if set, else ``SALESOPS_HOST`` (127.0.0.1: loopback only unless asked) and the port."""
    bind = os.environ.get("SALESOPS_BIND", "").strip()
    if bind and "--port" not in argv:
        return bind
    host = os.environ.get("SALESOPS_HOST", "127.0.0.1").strip() or "127.0.0.1"
    return f"{host}:{_port(argv)}"


def web_sizing() -> tuple[int, int]:
    """Gunicorn workers and threads per worker: one worker per core (the work is CPU-bound
    Python; more processes than cores only add switching) with 4 threads each, so a
    request waiting on the database or the network does not hold a core's whole worker.
    Measured on 2 cores: docs/performance.md "Web server"."""
    workers = _env_int("SALESOPS_WEB_WORKERS", os.cpu_count() or 1)
    threads = _env_int("SALESOPS_WEB_THREADS", 4)
    return workers, threads


def gunicorn_argv(bind: str) -> list[str]:
    """The gunicorn command line of ``salesops serve`` (sizes and timeouts from the env)."""
    workers, threads = web_sizing()
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "salesops.wsgi:application",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        "gthread",
        # A request still running after this is killed with its worker (imports and
        # commission runs are background tasks, so no page legitimately takes a minute).
        "--timeout",
        str(_env_int("SALESOPS_WEB_TIMEOUT", 60)),
        # On SIGTERM, requests in flight get this long to finish.
        "--graceful-timeout",
        "10",
        "--keep-alive",
        "5",
        "--error-logfile",
        "-",
    ]
    if _env_bool("SALESOPS_ACCESS_LOG"):
        argv += ["--access-logfile", "-"]
    return argv


def _env_bool(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def collect_static() -> bool:
    """Run ``collectstatic`` unless the static files are unchanged since the last run (a
    fingerprint of every source file's name, size and mtime is kept in STATIC_ROOT), so a
    restart does not re-hash and re-compress every asset. Returns whether it ran."""
    import hashlib
    from pathlib import Path

    from django.conf import settings
    from django.contrib.staticfiles.finders import get_finders

    digest = hashlib.sha256(str(settings.STORAGES.get("staticfiles")).encode())
    for finder in get_finders():
        for path, storage in finder.list([]):
            stat = os.stat(storage.path(path))
            digest.update(f"{path}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    root = Path(settings.STATIC_ROOT)
    stamp = root / ".salesops-collected"
    fingerprint = digest.hexdigest()
    manifest = root / "staticfiles.json"
    if manifest.exists() and stamp.exists() and stamp.read_text(encoding="utf-8") == fingerprint:
        return False
    _manage(["collectstatic", "--noinput", "-v", "0"])
    stamp.write_text(fingerprint, encoding="utf-8")
    return True


def _collect_static_in_background() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "salesops.cli", "static"])


def serve(argv: list[str]) -> int:
    """Migrate, collect the static files, then run the web server (gunicorn), the
    background task worker and the scheduler of the modules' scheduled jobs under one
    supervisor until Ctrl-C or SIGTERM; a program that dies is logged and restarted."""
    from salesops.core.supervisor import Program, Supervisor

    bind = bind_address(argv)
    if "--port" in argv:
        # The settings (trusted origins, here and in the children) see the port bound.
        os.environ["SALESOPS_PORT"] = _port(argv)
        os.environ.pop("SALESOPS_BIND", None)
    # The assets are collected (when changed) beside the migration: two cores, two jobs.
    static = _collect_static_in_background()
    _manage(["migrate", "--noinput", "-v", "0"])
    if static.wait() != 0:
        raise SystemExit("collectstatic 失败 / collectstatic failed")
    from django.db import connections

    connections.close_all()  # the children open their own
    workers, threads = web_sizing()
    cli = [sys.executable, "-m", "salesops.cli"]
    programs = [
        Program("web", gunicorn_argv(bind)),
        # The supervisor restarts it; Django's autoreloader (on with DEBUG) would only add
        # a process in between.
        Program("db_worker", [*cli, "db_worker", "--interval", "1", "--no-reload"]),
        Program("scheduler", [*cli, "scheduler"]),
    ]
    print(
        f"SalesOps: gunicorn {workers} 进程 × {threads} 线程 / workers × threads on "
        f"{bind} + db_worker + scheduler (Ctrl-C 停止 / to stop)",
        flush=True,
    )
    return Supervisor(programs).run()


def _started() -> float:
    """When the demo was asked for: ``make demo`` passes its start (install included)."""
    try:
        return float(os.environ["SALESOPS_STARTED"])
    except (KeyError, ValueError):
        return time.time()


def _say_when_ready(port: str, started: float, timeout: float = 180.0) -> None:
    """Print the elapsed time once the web server answers the login page (from a side
    thread): gunicorn's socket accepts before its workers have loaded the application."""
    import http.client

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=5)
            try:
                conn.request("GET", "/login/")
                if conn.getresponse().status == 200:
                    break
            except OSError:
                pass
            finally:
                conn.close()
            time.sleep(0.2)
        else:
            return
        took = time.time() - started
        print(
            f"演示已就绪，用时 {took:.0f} 秒 / demo ready after {took:.0f} s: "
            f"http://127.0.0.1:{port}/",
            flush=True,
        )

    threading.Thread(target=wait, daemon=True).start()


def demo(argv: list[str]) -> int:
    started = _started()
    print(
        "首次运行需约 1 分钟生成演示数据，之后秒开 / "
        "the first run takes about a minute to build the demo data, later runs start at once",
        flush=True,
    )
    # Hashing and compressing the assets (seconds on a fresh clone) runs beside the demo
    # build (mostly one core) rather than after it; serve then finds them collected.
    static = _collect_static_in_background()
    _manage(["migrate", "--noinput", "-v", "0"])
    _manage(["build_demo"])
    static.wait()
    port = _port(argv)
    print()
    print("=" * 64)
    print(f"SalesOps demo: http://127.0.0.1:{port}/")
    print(f"Demo logins (DEMO ONLY), password for all: {DEMO_PASSWORD}")
    for username, label in DEMO_USERS:
        print(f"  {username:<10} {label}")
    print("=" * 64, flush=True)
    if "--no-serve" in argv:
        return 0
    _say_when_ready(port, started)
    return serve(argv)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in {"-h", "--help", "help"}:
        print(__doc__)
        return 0
    command, rest = args[0], args[1:]
    if command == "comp":
        from salesops.compensation.cli import main as comp_main

        return comp_main(rest)
    if command == "demo":
        return demo(rest)
    if command == "serve":
        return serve(rest)
    if command == "static":
        _django_setup()
        collect_static()
        return 0
    _manage(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
