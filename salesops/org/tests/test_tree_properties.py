"""Property: after any sequence of valid sponsor moves, the materialised paths agree with
the sponsor links, and downline-by-path equals downline-by-BFS (also as of a date)."""

from __future__ import annotations

import datetime
from collections import deque

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.core.access import viewer_for
from salesops.core.models import RoleCode
from salesops.factories import UserFactory, role
from salesops.org.models import Member
from salesops.org.paths import encode_segment, subtree_bounds
from salesops.org.selectors import downline_as_of, member_downline
from salesops.org.services.members import MemberSeed, members_bulk_create
from salesops.org.services.sponsor_changes import sponsor_change_apply

pytestmark = pytest.mark.django_db


def _bfs(children: dict[int | None, list[int]], root: int) -> set[int]:
    out: set[int] = set()
    queue = deque(children.get(root, []))
    while queue:
        n = queue.popleft()
        out.add(n)
        queue.extend(children.get(n, []))
    return out


tree_and_moves = st.integers(min_value=2, max_value=12).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.integers(min_value=-1, max_value=n), min_size=n, max_size=n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), min_size=1, max_size=8),
    )
)


@pytest.fixture
def admin_viewer():  # type: ignore[no-untyped-def]
    return viewer_for(UserFactory(username="prop-admin", role=role(RoleCode.ADMIN)))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=tree_and_moves)
def test_paths_match_sponsors_after_random_moves(admin_viewer, data) -> None:  # type: ignore[no-untyped-def]
    n, raw_sponsors, moves = data
    viewer = admin_viewer
    with transaction.atomic():
        seeds = []
        for i in range(n):
            s = raw_sponsors[i]
            sponsor_no = f"P{s % i}" if i and s >= 0 else ""  # only earlier members
            seeds.append(MemberSeed(f"P{i}", f"会员{i}", datetime.date(2025, 1, 1), sponsor_no))
        members_bulk_create(actor=None, seeds=seeds)
        by_no = {m.member_no: m for m in Member.objects.all()}
        day = datetime.date(2025, 2, 1)
        for a, b in moves:
            member, target = by_no[f"P{a}"], by_no[f"P{b}"]
            member.refresh_from_db()
            target.refresh_from_db()
            lo, hi = subtree_bounds(member.path)
            if a == b or lo <= target.path < hi or member.sponsor_id == target.pk:
                continue
            sponsor_change_apply(
                actor=None, member=member, new_sponsor=target, effective_on=day, reason="p"
            )
            day += datetime.timedelta(days=1)

        rows = {m.pk: m for m in Member.objects.all()}
        children: dict[int | None, list[int]] = {}
        for m in rows.values():
            children.setdefault(m.sponsor_id, []).append(m.pk)
        for m in rows.values():
            chain, cur = [], m
            while cur is not None:
                chain.append(cur.pk)
                cur = rows.get(cur.sponsor_id) if cur.sponsor_id else None
            expected = "".join(encode_segment(pk) for pk in reversed(chain))
            assert m.path == expected
            assert m.depth == len(chain) - 1
            by_path = set(member_downline(viewer, m).values_list("pk", flat=True))
            assert by_path == _bfs(children, m.pk)
            assert m.downline_count == len(by_path)
            assert set(downline_as_of(m, day).ids.tolist()) == by_path
        transaction.set_rollback(True)
