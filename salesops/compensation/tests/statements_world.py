"""Shared data for the statement and dispute tests: the seed's worked examples run through
the app, with login accounts for the members involved."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.test import Client

from salesops.compensation.models import CommissionRun, CompPlanVersion
from salesops.compensation.services.runs import commission_run_start
from salesops.core.models import RoleCode, User
from salesops.core.tokens import token_issue
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member
from salesops.sales.models import Order, OrderKind

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
OCT = dt.date(2026, 10, 1)
_order_no = itertools.count(1)


def order(member: Member, amount: str, day: int, kind: str = OrderKind.REGULAR) -> Order:
    return Order.objects.create(
        order_no=f"ST{next(_order_no):06d}",
        order_date=dt.date(2026, 10, day),
        kind=kind,
        credited_member=member,
        total_amount=Decimal(amount),
    )


@dataclass
class World:
    sm: Member  # SM01: pv 30000 (20000 by the 20th), 4 personally trained SRs
    srs: list[Member]  # SR00..SR03, 20000 each, sponsored by SM01
    lone: Member  # SR99: the first seed example, no upline
    sm_user: User
    sr0_user: User
    lone_user: User
    finance: User
    finance2: User


def member_user(username: str, member: Member) -> User:
    user = UserFactory(username=username, role=role(RoleCode.MEMBER))
    Member.objects.filter(pk=member.pk).update(user=user)
    return user


def make_world() -> World:
    sm = MemberFactory(member_no="SM01", name="王经理")
    order(sm, "20000", 5)
    order(sm, "10000", 25)
    srs = []
    for k in range(4):
        sr = MemberFactory(member_no=f"SR0{k}", name=f"代表{k}", sponsor=sm)
        order(sr, "20000", 25)
        srs.append(sr)
    lone = MemberFactory(member_no="SR99", name="独立代表")
    order(lone, "15000", 10, kind=OrderKind.ARO)
    order(lone, "5000", 21)
    return World(
        sm=sm,
        srs=srs,
        lone=lone,
        sm_user=member_user("sm01", sm),
        sr0_user=member_user("sr00", srs[0]),
        lone_user=member_user("sr99", lone),
        finance=UserFactory(username="fin", role=role(RoleCode.FINANCE)),
        finance2=UserFactory(username="fin2", role=role(RoleCode.FINANCE)),
    )


def run_period(actor: User, capture: Any, period: dt.date = OCT) -> CommissionRun:
    with capture(execute=True):
        run = commission_run_start(actor=actor, period=period)
    run.refresh_from_db()
    assert run.status == "done", run.error
    return run


def set_upline_visibility(run: CommissionRun, value: str) -> None:
    """Edit the run's plan version text (test data: what a company's plan would say)."""
    version = CompPlanVersion.objects.get(pk=run.plan_version_id)
    text = version.text
    start = text.index("upline_visibility = ")
    end = text.index("\n", start)
    version.text = text[:start] + f'upline_visibility = "{value}"' + text[end:]
    version.save(update_fields=["text"])


def login(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def bearer(user: User) -> dict[str, str]:
    key, _row = token_issue(username=user.username, password="pw-for-tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}
