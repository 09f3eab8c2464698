"""``salesops serve`` end to end, as an operator runs it: a real process tree (supervisor,
gunicorn master and workers, db_worker, scheduler) on a free port with a fresh SQLite
database, migrated and collected by serve itself."""

from __future__ import annotations

import http.client
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc, children of children included)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (FileNotFoundError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


class Output:
    """The merged stdout/stderr of the server, read on a side thread."""

    def __init__(self, stream) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:
        for line in stream:
            self.lines.append(line)
            self._new.put(line)

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        regex = re.compile(pattern)
        for line in self.lines:
            if match := regex.search(line):
                return match
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                break
            if match := regex.search(line):
                return match
        raise AssertionError(f"no line matching {pattern!r}; output:\n{''.join(self.lines)}")


def _get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = conn.getresponse()
        body = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        text = "" if headers.get("content-encoding") else body.decode("utf-8", "replace")
        return response.status, headers, text
    finally:
        conn.close()


def _wait_until_serving(port: int, proc: subprocess.Popen[str], output: Output) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, "serve exited:\n" + "".join(output.lines)
        try:
            if _get(port, "/login/")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("not serving after 90 s:\n" + "".join(output.lines))


def test_serve_runs_gunicorn_whitenoise_and_a_supervised_worker(tmp_path):
    port = _free_port()
    env = {
        **os.environ,
        "SALESOPS_VAR_DIR": str(tmp_path / "var"),
        "SALESOPS_SQLITE_PATH": str(tmp_path / "serve.sqlite3"),
        "SALESOPS_WEB_WORKERS": "1",
        "SALESOPS_WEB_THREADS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DATABASE_URL", None)
    env.pop("SALESOPS_BIND", None)
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "salesops.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    output = Output(proc.stdout)
    try:
        _wait_until_serving(port, proc, output)

        # The login page, from gunicorn; its assets under hashed names, cached for good.
        status, headers, html = _get(port, "/login/")
        assert (status, headers["server"]) == (200, "gunicorn")
        css = re.search(r'href="(/static/salesops/app\.[0-9a-f]{12}\.css)"', html)
        assert css, html
        status, headers, _ = _get(port, css.group(1))
        assert status == 200
        assert headers["cache-control"] == "max-age=315360000, public, immutable"
        assert headers["content-encoding"] == "gzip"

        # A killed task worker is logged and replaced.
        worker = int(output.wait_for(r"db_worker started \(pid (\d+)\)", 5).group(1))
        os.kill(worker, signal.SIGKILL)
        output.wait_for(
            rf"db_worker \(pid {worker}\) exited unexpectedly with signal SIGKILL \(-9\); "
            r"restarting in 1 s",
            10,
        )
        new = int(output.wait_for(r"db_worker restarted \(pid (\d+)\)", 10).group(1))
        assert new != worker and _alive(new)

        # SIGTERM ends the whole tree: supervisor, gunicorn master and workers, worker, scheduler.
        tree = _descendants(proc.pid)
        assert len(tree) >= 4, tree  # gunicorn master + 1 worker, db_worker, scheduler
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in tree) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in tree if _alive(pid)]
        output.wait_for(r"all programs stopped", 5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
