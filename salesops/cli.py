"""The ``salesops`` command.

salesops demo [--port 8000] [--no-serve]   migrate, build the demo company, serve it
salesops serve [--port 8000]               serve (web + background task worker)
salesops comp compute ...                  the stateless commission engine (no database)
salesops <any manage.py command>           e.g. salesops migrate, salesops createsuperuser
"""

from __future__ import annotations

import os
import socket
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
    from django.core.management import execute_from_command_line

    execute_from_command_line(["salesops", *argv])


def _port(argv: list[str]) -> str:
    if "--port" in argv:
        idx = argv.index("--port")
        if idx + 1 < len(argv):
            return argv[idx + 1]
    return os.environ.get("SALESOPS_PORT", "8000")


def serve(argv: list[str]) -> int:
    """Run the web server, a background task worker and the scheduler of the modules'
    scheduled jobs side by side until Ctrl-C."""
    port = _port(argv)
    _manage(["migrate", "--noinput", "-v", "0"])
    helpers = [
        subprocess.Popen([sys.executable, "-m", "salesops.cli", *command])  # noqa: S603
        for command in (["db_worker", "--interval", "1"], ["scheduler"])
    ]
    try:
        _manage(["runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"])
    finally:
        for process in helpers:
            process.terminate()
        for process in helpers:
            process.wait(timeout=10)
    return 0


def _started() -> float:
    """When the demo was asked for: ``make demo`` passes its start (install included)."""
    try:
        return float(os.environ["SALESOPS_STARTED"])
    except (KeyError, ValueError):
        return time.time()


def _say_when_ready(port: str, started: float, timeout: float = 120.0) -> None:
    """Print the elapsed time once the server accepts connections (from a side thread)."""

    def wait() -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", int(port)), timeout=1):
                    break
            except OSError:
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
    _manage(["migrate", "--noinput", "-v", "0"])
    _manage(["build_demo"])
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
    _manage(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
