"""A machine without chromium: the browser tests are skipped with one summary line (also
under pytest-xdist, as ``make test`` runs them), and in CI they fail instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
BROWSER_FILE = "salesops/sales/tests/test_browser.py"  # one test, marked and using the fixture


def _pytest(*args: str, ci: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env["SALESOPS_CHROMIUM"] = "/nonexistent/chromium"
    if ci:
        env["CI"] = "true"
    return subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "pytest", *args, BROWSER_FILE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_browser_tests_are_skipped_with_one_line_under_xdist() -> None:
    # given no chromium, when the suite runs on two workers
    result = _pytest("-n", "2", ci=False)

    # then it passes, and one line says how many were skipped and how to enable them
    assert result.returncode == 0, result.stdout + result.stderr
    lines = [ln for ln in result.stdout.splitlines() if "browser tests skipped" in ln]
    assert lines == [
        "1 browser tests skipped: /nonexistent/chromium not found — apt-get install -y chromium"
    ]
    assert "1 skipped" in result.stdout


def test_in_ci_a_missing_chromium_fails() -> None:
    # given no chromium in CI (which installs it), when the browser test runs
    result = _pytest(ci=True)

    # then it fails rather than skips, and says what is missing
    assert result.returncode == 1, result.stdout + result.stderr
    assert "/nonexistent/chromium is missing: apt-get install -y chromium" in result.stdout
    assert "browser tests skipped" not in result.stdout
