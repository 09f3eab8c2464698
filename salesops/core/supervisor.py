"""A small process supervisor: what ``salesops serve`` runs the web server, the task worker
and the scheduler under.

Each program is a child process. One that exits while the supervisor is not stopping is
logged (name, pid, exit code) and started again after a back-off that doubles on each quick
death (1 s, 2 s, 4 s … up to 30 s) and resets once the program has stayed up for a while, so
a crash loop neither spins nor gives up. SIGTERM or SIGINT (Ctrl-C) stops every child:
SIGTERM to each, SIGKILL to what is still running after ``stop_timeout``.

Children run in their own process group, so a Ctrl-C in the terminal reaches only the
supervisor, which then stops them in order instead of each child printing its own
KeyboardInterrupt; on Linux each child also gets SIGTERM if the supervisor itself dies
(``PR_SET_PDEATHSIG``), so not even a ``kill -9`` of the supervisor leaves orphans.

No Django import: the supervisor only starts commands.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Program:
    """One supervised command."""

    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None


@dataclass
class _Child:
    program: Program
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    backoff: float = 0.0
    restart_at: float | None = None
    starts: int = 0
    pids: list[int] = field(default_factory=list)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the parent goes away (Linux only)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        pass


def describe_exit(code: int) -> str:
    """``code 3`` / ``signal SIGKILL (-9)``: how a child's return code reads in the log."""
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name} ({code})"
        except ValueError:
            return f"signal {-code} ({code})"
    return f"code {code}"


class Supervisor:
    """Start ``programs``, keep them running, stop them all on SIGTERM/SIGINT or ``stop()``."""

    def __init__(
        self,
        programs: Sequence[Program],
        *,
        log: IO[str] | None = None,
        min_backoff: float = 1.0,
        max_backoff: float = 30.0,
        stable_after: float = 30.0,
        stop_timeout: float = 15.0,
        poll_interval: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        names = [p.name for p in programs]
        if len(set(names)) != len(names):
            raise ValueError(f"program names must be unique: {names}")
        self.children = [_Child(program=p, backoff=min_backoff) for p in programs]
        self.log_stream = log
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.stable_after = stable_after
        self.stop_timeout = stop_timeout
        self.poll_interval = poll_interval
        self.clock = clock
        self._stopping = threading.Event()
        self.stop_reason = ""

    # -- logging -------------------------------------------------------------------------

    def log(self, message: str) -> None:
        stream = self.log_stream or sys.stderr
        stamp = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S%z")
        stream.write(f"{stamp} [supervisor] {message}\n")
        stream.flush()

    # -- control -------------------------------------------------------------------------

    def stop(self, reason: str = "stop requested") -> None:
        """Ask the run loop to stop every child (safe from a signal handler or a thread)."""
        if not self._stopping.is_set():
            self.stop_reason = reason
        self._stopping.set()

    def pids(self) -> dict[str, int | None]:
        """The current pid of each program (None while it waits to be restarted)."""
        return {
            c.program.name: (c.process.pid if c.process and c.process.poll() is None else None)
            for c in self.children
        }

    def _start(self, child: _Child) -> None:
        program = child.program
        env = None if program.env is None else {**os.environ, **program.env}
        child.process = subprocess.Popen(  # noqa: S603 - argv built by our own code
            list(program.argv),
            env=env,
            process_group=0,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
        child.started_at = self.clock()
        child.restart_at = None
        child.starts += 1
        child.pids.append(child.process.pid)
        verb = "restarted" if child.starts > 1 else "started"
        self.log(f"{program.name} {verb} (pid {child.process.pid})")

    def _check(self, child: _Child, now: float) -> None:
        if child.process is None:
            if child.restart_at is not None and now >= child.restart_at:
                self._start(child)
            return
        code = child.process.poll()
        if code is None:
            return
        pid = child.process.pid
        child.process = None
        if now - child.started_at >= self.stable_after:
            child.backoff = self.min_backoff
        delay = child.backoff
        child.backoff = min(child.backoff * 2, self.max_backoff)
        child.restart_at = now + delay
        self.log(
            f"{child.program.name} (pid {pid}) exited unexpectedly with {describe_exit(code)}; "
            f"restarting in {delay:g} s / {child.program.name} 意外退出，{delay:g} 秒后重启"
        )

    def _terminate_all(self) -> None:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            assert child.process is not None
            self.log(f"stopping {child.program.name} (pid {child.process.pid})")
            with contextlib.suppress(ProcessLookupError):  # exited in between
                child.process.send_signal(signal.SIGTERM)
        deadline = self.clock() + self.stop_timeout
        for child in running:
            assert child.process is not None
            try:
                child.process.wait(timeout=max(0.0, deadline - self.clock()))
            except subprocess.TimeoutExpired:
                self.log(
                    f"{child.program.name} (pid {child.process.pid}) did not stop within "
                    f"{self.stop_timeout:g} s; killing it"
                )
                child.process.kill()
                child.process.wait()
        for child in self.children:
            child.process = None

    # -- main loop -----------------------------------------------------------------------

    def run(self, *, handle_signals: bool = True) -> int:
        """Run until stopped; returns 0 (a stop is the normal way out)."""
        previous: dict[signal.Signals, object] = {}
        if handle_signals:
            for signum in (signal.SIGTERM, signal.SIGINT):
                previous[signum] = signal.signal(
                    signum, lambda s, _f: self.stop(f"received {signal.Signals(s).name}")
                )
        try:
            for child in self.children:
                if not self._stopping.is_set():
                    self._start(child)
            while not self._stopping.wait(self.poll_interval):
                now = self.clock()
                for child in self.children:
                    if self._stopping.is_set():
                        break
                    self._check(child, now)
        finally:
            self.log(f"shutting down ({self.stop_reason or 'exiting'})")
            self._terminate_all()
            for signum, handler in previous.items():
                signal.signal(signum, handler)  # type: ignore[arg-type]
            self.log("all programs stopped")
        return 0
