"""Shared data of the month-close and adjustment tests: the seed's SM with four personally
trained SRs in September 2026, helpers to run a month and to close it through the
approval with two finance users."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from salesops.compensation.models import CommissionPeriod, CommissionRun
from salesops.compensation.services.periods import period_close_submit
from salesops.compensation.services.runs import commission_run_start
from salesops.core.approvals import approval_act
from salesops.core.models import ApprovalRequest, ApprovalTask, RoleCode, TaskStatus, User
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member
from salesops.sales.models import Order, OrderKind

SEP = dt.date(2026, 9, 1)
OCT = dt.date(2026, 10, 1)
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
_numbers = itertools.count(1)


def order(member: Member, amount: str, day: dt.date, kind: str = OrderKind.REGULAR) -> Order:
    return Order.objects.create(
        order_no=f"PW{next(_numbers):06d}",
        order_date=day,
        kind=kind,
        credited_member=member,
        total_amount=Decimal(amount),
    )


@dataclass
class World:
    sm: Member
    srs: list[Member]
    lone: Member
    sr_orders: list[Order]
    fin1: User
    fin2: User


def build_world() -> World:
    """September: SM01 pv 30000 (20000 by the 20th) with SR00..SR03 at 20000 each
    (paid as SM, 14615.38); SR99 alone at 20000 (5576.92)."""
    sm = MemberFactory(member_no="SM01")
    order(sm, "20000", dt.date(2026, 9, 5))
    order(sm, "10000", dt.date(2026, 9, 25))
    srs, sr_orders = [], []
    for k in range(4):
        sr = MemberFactory(member_no=f"SR0{k}", sponsor=sm)
        sr_orders.append(order(sr, "20000", dt.date(2026, 9, 25)))
        srs.append(sr)
    lone = MemberFactory(member_no="SR99")
    order(lone, "15000", dt.date(2026, 9, 10))
    order(lone, "5000", dt.date(2026, 9, 21))
    fin1 = UserFactory(username="fin1", display_name="财务一", role=role(RoleCode.FINANCE))
    fin2 = UserFactory(username="fin2", display_name="财务二", role=role(RoleCode.FINANCE))
    return World(sm, srs, lone, sr_orders, fin1, fin2)


def run_month(actor: User, capture: Any, month: dt.date) -> CommissionRun:
    with capture(execute=True):
        run = commission_run_start(actor=actor, period=month)
    run.refresh_from_db()
    return run


def pending_task(request: ApprovalRequest, approver: User) -> ApprovalTask:
    return ApprovalTask.objects.get(request=request, approver=approver, status=TaskStatus.PENDING)


def close_month(w: World, month: dt.date) -> ApprovalRequest:
    """fin1 asks, fin2 approves."""
    state = CommissionPeriod.objects.get(period=month)
    request = period_close_submit(actor=w.fin1, period=state)
    approval_act(actor=w.fin2, task_id=pending_task(request, w.fin2).pk, action="approve")
    request.refresh_from_db()
    return request
