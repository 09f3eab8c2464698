"""No lock-ups (issue 11) for a commission run: while a real run stores its results
through a real server (``salesops serve``, its task worker running the run), logins,
token creation, API reads and pages keep answering, each within ``BOUND`` seconds; and
nobody sees the run's rows before it is done.

On SQLite the store commits in ranges (``runio.staged_copy_in_chunks``): the test sees
rows of the run in the table while the run is not done yet, and probes people's requests
right then — with the old one-transaction store neither happens. PostgreSQL stores in one
COPY transaction, which blocks no other writer: there the probes run through the whole
run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
import time

import psycopg
import pytest

from salesops.core.tests.test_long_writes import (  # the module's server fixtures
    Answer,
    Browser,
    Probe,
    Site,
    _slowest,
    _token,
    serving,
    site,
)

pytestmark = pytest.mark.slow

MEMBERS, ORDERS = 40_000, 400_000
# Seconds any one request may take meanwhile. Looser than the import test's BOUND: the
# run's compute and staging take both cores of a CI machine beside the server, while a
# request stuck behind the store's lock would wait the busy timeout (10 s) and fail.
RUN_BOUND = 5.0
# The month the bench data is for (bench/bench_comp_run.py builds the month before this).
PERIOD = (dt.date.today().replace(day=1) - dt.timedelta(days=1)).replace(day=1)

BUILD = f"""
import datetime as dt, importlib.util, sys
spec = importlib.util.spec_from_file_location("bench_comp_run", "bench/bench_comp_run.py")
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)
bench.build({MEMBERS}, {ORDERS}, dt.date({PERIOD.year}, {PERIOD.month}, 1))
"""

__all__ = ["site"]  # the fixture, used by name


def _stored(site: Site, run_id: int) -> int:
    """The run's result rows in the table, read beside the application."""
    sql = "SELECT COUNT(*) FROM compensation_commissionresult WHERE run_id = "
    if site.sqlite_path is not None:
        with contextlib.closing(sqlite3.connect(site.sqlite_path, timeout=10)) as conn:
            return int(conn.execute(sql + "?", [run_id]).fetchone()[0])
    with psycopg.connect(site.env["DATABASE_URL"], autocommit=True) as conn:
        row = conn.execute(sql + "%s", [run_id]).fetchone()
        assert row is not None
        return int(row[0])


def _api(probe: Probe, method: str, path: str, body: str = "") -> Answer:
    headers = {"Authorization": f"Bearer {probe.token}", "Content-Type": "application/json"}
    return probe._keep(f"{method} {path}", Browser(probe.port).request(method, path, body, headers))


def test_a_commission_run_storing_leaves_logins_and_reads_answering(site: Site) -> None:
    site.manage("shell", "-c", BUILD, timeout=600)
    # short ranges and long pauses: the store spans many rounds of probes
    with serving(
        site, SALESOPS_RUN_WRITE_CHUNK_SECONDS="0.05", SALESOPS_WRITE_PAUSE_SECONDS="0.5"
    ) as port:
        token = _token(port)
        probe = Probe(port, token)
        browser, login = probe.web_login()
        assert login.status == 302
        started = _api(probe, "POST", "/api/comp/runs", json.dumps({"period": f"{PERIOD:%Y-%m}"}))
        assert started.status == 201, started.body
        run_id = json.loads(started.body)["id"]
        mid_store = rounds = 0
        deadline = time.monotonic() + 300
        while True:
            assert time.monotonic() < deadline, probe.answers[-3:]
            run = json.loads(_api(probe, "GET", f"/api/comp/runs/{run_id}").body)
            if run["status"] in ("done", "failed"):
                break
            stored = _stored(site, run_id)
            me = probe.api_me()
            made = probe.api_token()
            _b, web = probe.web_login()
            runs_page = probe.page(browser, "/comp/runs/")
            results = _api(probe, "GET", f"/api/comp/runs/{run_id}/results")
            statuses = [me.status, made.status, web.status, runs_page.status, results.status]
            assert statuses == [200, 200, 302, 200, 200], probe.answers[-6:]
            if stored:
                mid_store += 1
                # rows in the table, and still nobody sees them
                done_now = json.loads(_api(probe, "GET", f"/api/comp/runs/{run_id}").body)
                if done_now["status"] != "done":
                    assert json.loads(results.body)["count"] == 0, results.body[:300]
            rounds += 1
            time.sleep(0.05)
        assert run["status"] == "done", run
        assert run["members_count"] > MEMBERS // 2
        slow = [f"{what}: {a.took:.2f}s" for what, a in probe.answers if a.took > RUN_BOUND]
        assert not slow, slow
        assert rounds >= 1, rounds  # PostgreSQL's run is over in a few rounds
        if site.sqlite_path is not None:
            # the store committed in ranges, and people's requests went on between them
            assert mid_store >= 2, (mid_store, rounds)
        done = json.loads(_api(probe, "GET", f"/api/comp/runs/{run_id}/results").body)
        assert done["count"] == run["members_count"]
        print(f"run stored: {rounds} rounds, {mid_store} mid-store, slowest {_slowest(probe)}")
