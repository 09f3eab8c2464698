"""A small member network on top of the stock people.

    top (owner: rep) ── mid (rep) ── leaf (rep)
                     └─ side (outsider)
    far (owner: outsider), a separate root

``member_user`` logs in as ``mid`` (role member).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest

from salesops.core.models import RoleCode, User
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member


@dataclass
class Network:
    top: Member
    mid: Member
    leaf: Member
    side: Member
    far: Member
    member_user: User
    admin_user: User
    director_user: User


@pytest.fixture
def net(stock) -> Network:  # type: ignore[no-untyped-def]
    from salesops.factories import EmployeeFactory

    d = datetime.date(2025, 1, 1)
    member_user = UserFactory(username="mia", role=role(RoleCode.MEMBER))
    top = MemberFactory(member_no="M-TOP", name="顶", owner=stock.rep, joined_on=d)
    mid = MemberFactory(
        member_no="M-MID",
        name="中",
        owner=stock.rep,
        sponsor=top,
        user=member_user,
        joined_on=d,
        phone="13912345678",
    )
    leaf = MemberFactory(member_no="M-LEAF", name="叶", owner=stock.rep, sponsor=mid, joined_on=d)
    side = MemberFactory(
        member_no="M-SIDE", name="侧", owner=stock.outsider, sponsor=top, joined_on=d
    )
    far = MemberFactory(member_no="M-FAR", name="远", owner=stock.outsider, joined_on=d)
    admin_user = UserFactory(username="adam", role=role(RoleCode.ADMIN))
    director_user = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    EmployeeFactory(name="多拉", department=stock.company, user=director_user)
    for m in (top, mid):
        m.refresh_from_db()
    return Network(top, mid, leaf, side, far, member_user, admin_user, director_user)
