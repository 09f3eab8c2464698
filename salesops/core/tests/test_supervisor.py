"""The supervisor of ``salesops serve`` with real child processes (tiny Python commands)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from salesops.core.supervisor import Program, Supervisor, describe_exit

SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def _alive(pid: int) -> bool:
    """Running and not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def _run_in_thread(supervisor: Supervisor) -> threading.Thread:
    thread = threading.Thread(target=supervisor.run, kwargs={"handle_signals": False})
    thread.start()
    return thread


def test_describe_exit_names_the_signal():
    assert describe_exit(3) == "code 3"
    assert describe_exit(-9) == "signal SIGKILL (-9)"


def test_names_must_be_unique():
    with pytest.raises(ValueError, match="unique"):
        Supervisor([Program("a", SLEEPER), Program("a", SLEEPER)])


def test_a_killed_child_is_logged_and_restarted_with_a_new_pid():
    log = io.StringIO()
    supervisor = Supervisor(
        [Program("worker", SLEEPER), Program("other", SLEEPER)], log=log, min_backoff=0.05
    )
    thread = _run_in_thread(supervisor)
    try:
        _wait_for(lambda: all(supervisor.pids().values()))
        first, other = supervisor.pids()["worker"], supervisor.pids()["other"]
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: supervisor.pids()["worker"] not in (None, first))
        second = supervisor.pids()["worker"]
    finally:
        supervisor.stop()
        thread.join(timeout=20)
    text = log.getvalue()
    assert f"worker (pid {first}) exited unexpectedly with signal SIGKILL (-9)" in text
    assert f"worker restarted (pid {second})" in text
    # The other program was left alone, and everything is gone after the stop.
    assert supervisor.pids() == {"worker": None, "other": None}
    assert "other restarted" not in text
    assert not _alive(first) and not _alive(second) and not _alive(other)
    assert not thread.is_alive()


def test_a_crash_loop_backs_off_instead_of_spinning():
    log = io.StringIO()
    crash = Program("crash", [sys.executable, "-c", "import sys; sys.exit(3)"])
    supervisor = Supervisor([crash], log=log, min_backoff=0.1, max_backoff=0.4)

    def delays() -> list[float]:
        pattern = r"with code 3; restarting in ([\d.]+) s"
        return [float(d) for d in re.findall(pattern, log.getvalue())]

    started = time.monotonic()
    thread = _run_in_thread(supervisor)
    try:
        # Wait for the events rather than a fixed time: a loaded CI machine starts Python slowly.
        _wait_for(lambda: len(delays()) >= 4, timeout=30)
    finally:
        supervisor.stop()
        thread.join(timeout=10)
    elapsed = time.monotonic() - started
    seen = delays()
    # 0.1, 0.2, 0.4, 0.4 …: doubling, capped.
    assert seen[:4] == [0.1, 0.2, 0.4, 0.4]
    assert set(seen[3:]) <= {0.4}
    # Not spinning: after the first three, each restart waited at least the cap.
    assert len(seen) <= 3 + elapsed / 0.4 + 1


def test_stop_terminates_then_kills_a_child_that_ignores_sigterm(tmp_path):
    ready = tmp_path / "ready"
    stubborn = textwrap.dedent(
        f"""
        import signal, time, pathlib
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        pathlib.Path({str(ready)!r}).touch()
        time.sleep(60)
        """
    )
    log = io.StringIO()
    supervisor = Supervisor(
        [Program("stubborn", [sys.executable, "-c", stubborn])], log=log, stop_timeout=0.5
    )
    thread = _run_in_thread(supervisor)
    _wait_for(ready.exists)
    pid = supervisor.pids()["stubborn"]
    assert pid is not None
    supervisor.stop()
    thread.join(timeout=10)
    assert "did not stop within 0.5 s; killing it" in log.getvalue()
    assert not _alive(pid)


def test_sigterm_to_the_supervisor_process_stops_every_child(tmp_path):
    """The real entry point: a supervisor process, signalled from outside."""
    script = textwrap.dedent(
        f"""
        import sys
        from salesops.core.supervisor import Program, Supervisor
        sleeper = {SLEEPER!r}
        sys.exit(Supervisor([Program("a", sleeper), Program("b", sleeper)]).run())
        """
    )
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-c", script],
        stderr=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert proc.stderr is not None
    pids = []
    for line in proc.stderr:
        match = re.search(r"\b[ab] started \(pid (\d+)\)", line)
        if match:
            pids.append(int(match.group(1)))
        if len(pids) == 2:
            break
    proc.send_signal(signal.SIGTERM)
    rest = proc.stderr.read()
    assert proc.wait(timeout=20) == 0
    assert "shutting down (received SIGTERM)" in rest
    assert "all programs stopped" in rest
    assert len(pids) == 2
    assert not any(_alive(pid) for pid in pids)
