"""Schemathesis over every operation of /api/openapi.json, with all its checks, as an
admin and as a rep: the schema is the truth (no 5xx, no response outside its schema, no
schema-valid request rejected, no schema-invalid request accepted).

In-process: schemathesis' engine calls the WSGI app on its own thread, which is handed the
test's database connection (as Django's live server does), so the run sees this test's
data and rolls back with it. Deterministic (fixed generation, no database of examples) and
bounded (``MAX_EXAMPLES`` per operation and phase; the stateful phase, which chains calls
by links the schema does not declare, is off).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connections
from schemathesis.config import SchemathesisConfig
from schemathesis.engine import Status, events, from_schema
from schemathesis.transport.wsgi import WSGITransport

from salesops.core.models import RoleCode
from salesops.core.tests.api_world import api_data
from salesops.core.tokens import token_issue
from salesops.factories import UserFactory, role
from salesops.wsgi import application

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

MAX_EXAMPLES = 5

# Statuses a schema-valid request may legitimately get besides 2xx (schemathesis' default
# list plus the ones below), and why:
#   400 — a business rule over several fields or over stored data: a return date before
#         the order, an order total above the limit, an unknown trip code, a comment on a
#         task that is not one's own, a masked phone that is not the one shown…
#   404 — a well-formed id that does not exist or is outside the caller's scope.
#   409 — a duplicate (phone, an active run for the month, a pending change).
#   422 — the plan-version POST, whose text is validated as a plan (file, key, reason):
#         no JSON schema can say what a valid plan file is.
#   429 — only POST /api/auth/token answers it: the fuzzer's wrong passwords lock the
#         account or the address (login throttling, core/throttle.py), as they must.
POSITIVE_STATUSES = ["2xx", "400", "401", "403", "404", "409", "429"]
PLAN_POSITIVE_STATUSES = [*POSITIVE_STATUSES, "422"]

CONFIG: dict[str, Any] = {
    "generation": {
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        "mode": "all",
    },
    "phases": {"stateful": {"enabled": False}},
    "checks": {"positive_data_acceptance": {"expected-statuses": POSITIVE_STATUSES}},
    "operations": [
        {
            "include-path": "/api/comp/plans",
            "include-method": "POST",
            "checks": {"positive_data_acceptance": {"expected-statuses": PLAN_POSITIVE_STATUSES}},
        },
    ],
}


@pytest.fixture
def world(stock) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Demo-like data (so real ids exist) and a fresh token per caller — fresh users, so
    nothing the fuzzer does to logins (wrong passwords, lockouts) can outlive the run."""
    admin = UserFactory(username="st-admin", role=role(RoleCode.ADMIN))
    api_data(stock)
    tokens = {}
    for who, user in (("admin", admin), ("rep", stock.rep_user)):
        key, _row = token_issue(username=user.username, password="pw-for-tests")
        tokens[who] = key
    return tokens


@pytest.fixture
def shared_connection() -> Iterator[Callable[..., Any]]:
    """The WSGI app, run on the engine's thread with this test's connection."""
    conn = connections["default"]
    conn.inc_thread_sharing()
    # As Django's test client does: a request must not close the connection that holds
    # this test's transaction (on PostgreSQL it would; "the connection is closed").
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        connections["default"] = conn
        return application(environ, start_response)

    try:
        yield app
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        conn.dec_thread_sharing()


@pytest.fixture
def wsgi_transport_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """schemathesis 4.x's WSGI transport drops the network-only settings the engine passes
    (``max_redirects``, ``verify``…) only when it also gets a requests session; without
    one werkzeug's client refuses them (TypeError). Drop them in every case."""
    send = WSGITransport.send

    def patched(self: Any, case: Any, *, session: Any = None, **kwargs: Any) -> Any:
        for name in ("max_redirects", "verify", "cert", "proxies"):
            kwargs.pop(name, None)
        return send(self, case, session=session, **kwargs)

    monkeypatch.setattr(WSGITransport, "send", patched)


def _run(app: Callable[..., Any], token: str) -> tuple[list[str], set[str]]:
    config = SchemathesisConfig.from_dict(
        {**CONFIG, "headers": {"Authorization": f"Bearer {token}"}}
    )
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=config)
    problems: list[str] = []
    tested: set[str] = set()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            tested.add(event.recorder.label)
            for checks in event.recorder.checks.values():
                for check in checks:
                    if check.status == Status.FAILURE and check.failure_info is not None:
                        info = check.failure_info
                        problems.append(
                            f"{event.recorder.label} [{event.phase}] {check.name}: "
                            f"{info.failure.title}\n{info.code_sample}"
                        )
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(f"engine error: {event.info.format()}")  # type: ignore[union-attr]
    return sorted(set(problems)), tested


def _operations() -> set[str]:
    from salesops.api import api

    paths = api.get_openapi_schema()["paths"]
    return {f"{m.upper()} {p}" for p, ops in paths.items() for m in ops}


@pytest.mark.parametrize("who", ["admin", "rep"])
def test_schemathesis_finds_nothing(
    world: dict[str, str], shared_connection: Any, wsgi_transport_fix: None, who: str
) -> None:
    problems, tested = _run(shared_connection, world[who])
    # Every operation was exercised (a run that tested nothing would pass too).
    assert _operations() <= tested, _operations() - tested
    assert not problems, "\n\n".join(problems[:30]) + f"\n\n({len(problems)} in all)"
