"""How ``salesops serve`` sizes and binds gunicorn from the environment."""

from __future__ import annotations

import os

import pytest

from salesops import cli


@pytest.fixture
def clean_env(monkeypatch):
    for name in (
        "SALESOPS_BIND",
        "SALESOPS_HOST",
        "SALESOPS_PORT",
        "SALESOPS_WEB_WORKERS",
        "SALESOPS_WEB_THREADS",
        "SALESOPS_WEB_TIMEOUT",
        "SALESOPS_ACCESS_LOG",
    ):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_defaults_loopback_one_worker_per_core_four_threads(clean_env):
    argv = cli.gunicorn_argv(cli.bind_address([]))
    assert argv[1:4] == ["-m", "gunicorn", "salesops.wsgi:application"]
    assert _option(argv, "--bind") == "127.0.0.1:8000"
    assert _option(argv, "--workers") == str(os.cpu_count())
    assert _option(argv, "--threads") == "4"
    assert _option(argv, "--worker-class") == "gthread"
    assert _option(argv, "--timeout") == "60"
    assert "--access-logfile" not in argv


def test_environment_overrides(clean_env):
    clean_env.setenv("SALESOPS_WEB_WORKERS", "3")
    clean_env.setenv("SALESOPS_WEB_THREADS", "8")
    clean_env.setenv("SALESOPS_WEB_TIMEOUT", "120")
    clean_env.setenv("SALESOPS_ACCESS_LOG", "true")
    clean_env.setenv("SALESOPS_HOST", "0.0.0.0")  # noqa: S104
    clean_env.setenv("SALESOPS_PORT", "8031")
    argv = cli.gunicorn_argv(cli.bind_address([]))
    assert _option(argv, "--workers") == "3"
    assert _option(argv, "--threads") == "8"
    assert _option(argv, "--timeout") == "120"
    assert _option(argv, "--access-logfile") == "-"
    assert _option(argv, "--bind") == "0.0.0.0:8031"


def test_bind_wins_over_host_and_port_but_not_over_the_flag(clean_env):
    clean_env.setenv("SALESOPS_BIND", "unix:/run/salesops/web.sock")
    clean_env.setenv("SALESOPS_PORT", "8031")
    assert cli.bind_address([]) == "unix:/run/salesops/web.sock"
    assert cli.bind_address(["--port", "9000"]) == "127.0.0.1:9000"


@pytest.mark.parametrize("value", ["0", "-1", "many"])
def test_a_bad_size_stops_with_a_message(clean_env, value):
    clean_env.setenv("SALESOPS_WEB_WORKERS", value)
    with pytest.raises(SystemExit, match="SALESOPS_WEB_WORKERS"):
        cli.web_sizing()
