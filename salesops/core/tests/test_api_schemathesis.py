"""Prototype."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig

from salesops.core.models import RoleCode
from salesops.core.tokens import token_issue
from salesops.factories import CustomerFactory, MemberFactory, ProductFactory, UserFactory, role
from salesops.sales.models import PriceList, PriceListItem
from salesops.sales.services.orders import order_create
from salesops.wsgi import application

DAY = datetime.date(2026, 10, 5)

CONFIG = {
    "generation": {"max-examples": 10, "deterministic": True},
}


@pytest.fixture
def api_schema(db: None) -> Any:
    config = SchemathesisConfig.from_dict(CONFIG)
    return schemathesis.openapi.from_wsgi("/api/openapi.json", application, config=config)


def _token(who, stock) -> str:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="adam", role=role(RoleCode.ADMIN))
    price_list = PriceList.objects.create(
        name="2026价目表", valid_from=datetime.date(2026, 1, 1), valid_to=None
    )
    product = ProductFactory(sku="P-A", name="营养素")
    PriceListItem.objects.create(
        price_list=price_list,
        product=product,
        list_price=Decimal("100.00"),
        member_price=Decimal("80.00"),
        pc_price=Decimal("90.00"),
    )
    customer = CustomerFactory(owner=stock.rep, name="甲客户")
    order_create(
        actor=None,
        order_date=DAY,
        customer=customer,
        lines=[{"product": product, "quantity": Decimal("3")}],
    )
    MemberFactory(member_no="M-TOP", owner=stock.rep, joined_on=datetime.date(2025, 1, 1))
    user = admin if who == "admin" else stock.rep_user
    key, _row = token_issue(username=user.username, password="pw-for-tests")
    return key


def _sharing_app():
    from django.db import connections

    conn = connections["default"]
    conn.inc_thread_sharing()

    def app(environ, start_response):
        connections["default"] = conn
        return application(environ, start_response)

    return app, conn


def _run(token: str, config: dict) -> list[str]:
    from schemathesis.engine import Status, events, from_schema

    app, conn = _sharing_app()
    cfg = SchemathesisConfig.from_dict({**config, "headers": {"Authorization": f"Bearer {token}"}})
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app, config=cfg)
    problems = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            for case_id, checks in event.recorder.checks.items():
                for c in checks:
                    if c.status == Status.FAILURE and c.failure_info is not None:
                        problems.append(
                            f"{event.recorder.label} [{event.phase}] {c.name}: {c.failure_info.failure.title} :: {c.failure_info.code_sample}"
                        )
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            problems.append(f"ERROR {event!r} {getattr(event, 'info', '')}")
    conn.dec_thread_sharing()
    return problems


def test_api(admin_token) -> None:  # type: ignore[no-untyped-def]
    problems = _run(admin_token, CONFIG)
    open("/tmp/E/problems.txt", "w").write("\n".join(problems))
    assert not problems, len(problems)


@pytest.fixture
def admin_token(stock):
    return _token("admin", stock)
