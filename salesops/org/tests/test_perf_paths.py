"""The fast member-network paths: vectorised bulk layout, raw inserts, keyset pages and the
as-of edge read agree exactly with the plain definitions."""

from __future__ import annotations

import datetime

import numpy as np
import pytest

from salesops.core.access import viewer_for
from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog, RoleCode
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member, SponsorHistory
from salesops.org.paths import encode_segment
from salesops.org.selectors import (
    member_downline,
    member_downline_page,
    sponsor_edges_as_of,
)
from salesops.org.services.members import (
    MemberSeed,
    encode_segments,
    members_bulk_create,
    tree_layout,
)

D = datetime.date


def test_encode_segments_matches_encode_segment() -> None:
    ids = np.array([0, 1, 35, 36, 1295, 1296, 123456789, 36**7 - 1], dtype=np.int64)

    assert encode_segments(ids) == [encode_segment(int(i)) for i in ids]
    with pytest.raises(ValueError):
        encode_segments(np.array([36**7], dtype=np.int64))


def test_tree_layout_levels_sizes_and_preorder_positions() -> None:
    # 0 ─┬─ 2 ── 4
    #    └─ 3
    # 1 ── 5
    parent = np.array([-1, -1, 0, 0, 2, 1], dtype=np.int64)

    layout = tree_layout(parent)

    assert layout is not None
    assert [lv.tolist() for lv in layout.levels] == [[0, 1], [2, 3, 5], [4]]
    assert layout.size.tolist() == [4, 2, 2, 1, 1, 1]
    assert layout.position.tolist() == [0, 4, 1, 3, 2, 5]


def test_tree_layout_finds_cycles_and_self_sponsors() -> None:
    assert tree_layout(np.array([-1, 2, 1], dtype=np.int64)) is None
    assert tree_layout(np.array([0], dtype=np.int64)) is None
    assert tree_layout(np.array([-1, 0, 1, 3, 3], dtype=np.int64)) is None


@pytest.mark.django_db
def test_bulk_create_ids_follow_tree_order_and_history_is_written() -> None:
    actor = UserFactory(username="loader")
    top = MemberFactory(member_no="TOP", joined_on=D(2025, 1, 1))
    seeds = [
        MemberSeed("B", "乙", D(2026, 1, 2), "A", phone=" 139 "),
        MemberSeed("A", "甲", D(2026, 1, 1), "TOP"),
        MemberSeed("R", "根", D(2026, 1, 3), "", title="SE", status="terminated"),
        MemberSeed("C", "丙", D(2026, 1, 4), "A"),
    ]

    assert members_bulk_create(actor=actor, seeds=seeds) == 4

    rows = list(
        Member.objects.exclude(pk=top.pk)
        .order_by("pk")
        .values_list("member_no", "sponsor__member_no", "depth", "downline_count", "phone")
    )
    # Pre-order: A, its recruits B and C (input order), then the root R.
    assert rows == [
        ("A", "TOP", 1, 2, ""),
        ("B", "A", 2, 0, "139"),
        ("C", "A", 2, 0, ""),
        ("R", None, 0, 0, ""),
    ]
    by_no = {m.member_no: m for m in Member.objects.all()}
    assert by_no["B"].path == top.path + encode_segment(by_no["A"].pk) + encode_segment(
        by_no["B"].pk
    )
    assert (by_no["R"].title, by_no["R"].status) == ("SE", "terminated")
    assert sorted(m.path for m in by_no.values()) == [
        m.path for m in sorted(by_no.values(), key=lambda m: m.pk)
    ]
    top.refresh_from_db()
    assert top.downline_count == 3
    hist = list(
        SponsorHistory.objects.filter(member__member_no__in=["A", "B", "R"])
        .order_by("member__member_no")
        .values_list("member__member_no", "sponsor__member_no", "valid_from", "valid_to")
    )
    assert hist == [
        ("A", "TOP", D(2026, 1, 1), None),
        ("B", "A", D(2026, 1, 2), None),
        ("R", None, D(2026, 1, 3), None),
    ]
    assert set(SponsorHistory.objects.values_list("recorded_by", flat=True).distinct()) == {
        None,
        actor.pk,
    }
    assert SponsorHistory.objects.filter(recorded_at__isnull=True).count() == 0
    assert AuditLog.objects.filter(note="批量创建会员 4 名（编号 A 等）").count() == 1
    nxt = MemberFactory(sponsor=by_no["C"])
    assert nxt.pk == by_no["R"].pk + 1


@pytest.mark.django_db
def test_bulk_create_refuses_bad_batches_and_writes_nothing() -> None:
    MemberFactory(member_no="OLD")
    cases = [
        ([MemberSeed("A", "a", D(2026, 1, 1)), MemberSeed(" A ", "b", D(2026, 1, 1))], "duplicate"),
        ([MemberSeed("OLD", "a", D(2026, 1, 1))], "duplicate"),
        ([MemberSeed("A", "a", D(2026, 1, 1), "A")], "cycle"),
        ([MemberSeed("A", " ", D(2026, 1, 1))], "required"),
        ([MemberSeed("A", "a", D(2026, 1, 1), status="gone")], "invalid"),
        ([MemberSeed("A", "a", D(2026, 1, 1), title="XX")], "invalid"),
        ([MemberSeed("A", "a", D(2026, 1, 1), "NOPE")], "sponsor_missing"),
    ]
    for seeds, code in cases:
        with pytest.raises(ServiceError) as err:
            members_bulk_create(actor=None, seeds=seeds)
        assert err.value.code == code
    assert list(Member.objects.values_list("member_no", flat=True)) == ["OLD"]
    assert SponsorHistory.objects.count() == 1


@pytest.fixture
def wide(db):  # type: ignore[no-untyped-def]
    root = MemberFactory(member_no="W", joined_on=D(2025, 1, 1))
    seeds = [MemberSeed(f"W{i:02d}", f"甲{i}", D(2025, 2, 1), "W") for i in range(7)]
    seeds += [
        MemberSeed(f"W{i:02d}-{j}", f"乙{i}{j}", D(2025, 3, 1), f"W{i:02d}")
        for i in range(7)
        for j in range(3)
    ]
    members_bulk_create(actor=None, seeds=seeds)
    admin = viewer_for(UserFactory(username="pager", role=role(RoleCode.ADMIN)))
    return root, admin


def test_downline_pages_by_cursor_and_by_number_walk_the_same_rows(wide) -> None:  # type: ignore[no-untyped-def]
    root, admin = wide
    expected = list(member_downline(admin, root).values_list("member_no", flat=True))
    assert len(expected) == 28

    by_cursor, after, pages = [], None, 0
    while True:
        page = member_downline_page(admin, root, after=after, page_size=5)
        by_cursor += [m.member_no for m in page.items]
        pages += 1
        if page.next_after is None:
            break
        after = page.next_after
    by_number = [
        m.member_no
        for n in range(1, 7)
        for m in member_downline_page(admin, root, page=n, page_size=5).items
    ]

    assert pages == 6
    assert by_cursor == expected
    assert by_number == expected
    last = member_downline_page(admin, root, page=6, page_size=5)
    assert ([m.member_no for m in last.items], last.next_after) == (expected[25:], None)
    depth1 = member_downline_page(admin, root, depth=1, after=None, page_size=4)
    assert [m.member_no for m in depth1.items] == ["W00", "W01", "W02", "W03"]
    rest = member_downline_page(admin, root, depth=1, after=depth1.next_after, page_size=4)
    assert ([m.member_no for m in rest.items], rest.next_after) == (["W04", "W05", "W06"], None)


def test_downline_cursor_outside_the_subtree_stays_inside_it(wide) -> None:  # type: ignore[no-untyped-def]
    root, admin = wide
    other = MemberFactory(member_no="Z")

    assert member_downline_page(admin, root, after="").items[0].member_no == "W00"
    assert member_downline_page(admin, root, after=other.path + "~").items == []
    assert member_downline(admin, other, after=root.path).count() == 0


def test_downline_page_by_number_runs_two_queries(wide, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    root, admin = wide
    with django_assert_num_queries(2):
        page = member_downline_page(admin, root, page=3, page_size=5)
    assert [m.sponsor.member_no for m in page.items] == ["W02", "W02", "W", "W03", "W03"]
    with django_assert_num_queries(1):
        member_downline_page(admin, root, after=page.next_after, page_size=5)


@pytest.mark.django_db
def test_sponsor_edges_as_of_empty_and_sorted() -> None:
    members, sponsors = sponsor_edges_as_of(D(2020, 1, 1))
    assert (members.tolist(), sponsors.tolist(), members.dtype, sponsors.dtype) == (
        [],
        [],
        np.dtype(np.int64),
        np.dtype(np.int64),
    )
    a = MemberFactory(member_no="A", joined_on=D(2025, 1, 1))
    b = MemberFactory(member_no="B", sponsor=a, joined_on=D(2025, 2, 1))
    c = MemberFactory(member_no="C", sponsor=a, joined_on=D(2025, 1, 1))

    members, sponsors = sponsor_edges_as_of(D(2025, 1, 31))
    assert (members.tolist(), sponsors.tolist()) == ([a.pk, c.pk], [-1, a.pk])
    members, sponsors = sponsor_edges_as_of(D(2025, 2, 1))
    assert (members.tolist(), sponsors.tolist()) == ([a.pk, b.pk, c.pk], [-1, a.pk, a.pk])
