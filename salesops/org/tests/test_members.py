"""Member network services and genealogy selectors: paths, moves, history, as-of trees."""

from __future__ import annotations

import datetime

import pytest

from salesops.core.access import viewer_for
from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog, RoleCode
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member, MemberStatus, SponsorHistory
from salesops.org.paths import encode_segment
from salesops.org.selectors import (
    downline_as_of,
    member_children,
    member_downline,
    member_downline_count,
    member_upline,
    sponsor_edges_as_of,
)
from salesops.org.services.members import (
    MemberSeed,
    member_create,
    member_terminate,
    member_update,
    members_bulk_create,
)
from salesops.org.services.sponsor_changes import sponsor_change_apply

pytestmark = pytest.mark.django_db

D = datetime.date


@pytest.fixture
def admin_viewer():  # type: ignore[no-untyped-def]
    return viewer_for(UserFactory(username="root", role=role(RoleCode.ADMIN)))


def test_member_create_sets_path_depth_history_and_audit() -> None:
    top = MemberFactory(member_no="A", joined_on=D(2025, 1, 1))
    child = member_create(
        actor=None, member_no="B", name="乙", joined_on=D(2025, 2, 1), sponsor=top, phone="1"
    )

    assert top.path == encode_segment(top.pk)
    assert top.depth == 0
    assert child.path == encode_segment(top.pk) + encode_segment(child.pk)
    assert child.depth == 1
    hist = list(
        SponsorHistory.objects.filter(member=child).values_list(
            "sponsor_id", "valid_from", "valid_to"
        )
    )
    assert hist == [(top.pk, D(2025, 2, 1), None)]
    logged = set(
        AuditLog.objects.filter(object_type="org.member", object_id=str(child.pk)).values_list(
            "field", "after"
        )
    )
    assert ("phone", "1") in logged
    assert ("sponsor", str(top.pk)) in logged


def test_member_create_refuses_duplicate_number_and_blank_name() -> None:
    MemberFactory(member_no="A")
    with pytest.raises(ServiceError) as dup:
        member_create(actor=None, member_no="A", name="x", joined_on=D(2026, 1, 1))
    assert (dup.value.code, dup.value.field) == ("duplicate", "member_no")
    with pytest.raises(ServiceError) as blank:
        member_create(actor=None, member_no="B", name=" ", joined_on=D(2026, 1, 1))
    assert (blank.value.code, blank.value.field) == ("required", "name")


def test_member_update_and_terminate_are_audited() -> None:
    m = MemberFactory(name="甲", phone="13900000000")
    member_update(
        actor=None,
        member=m,
        name="甲乙",
        phone="13911112222",
        status="active",
        title="SE",
        owner=None,
    )
    member_terminate(actor=None, member=m, reason="主动退出")

    m.refresh_from_db()
    assert (m.name, m.phone, m.title, m.status) == ("甲乙", "13911112222", "SE", "terminated")
    changes = list(
        AuditLog.objects.filter(object_id=str(m.pk), action="update")
        .order_by("id")
        .values_list("field", "before", "after")
    )
    assert changes == [
        ("name", "甲", "甲乙"),
        ("phone", "13900000000", "13911112222"),
        ("title", "", "SE"),
        ("status", "active", "terminated"),
    ]
    with pytest.raises(ServiceError) as again:
        member_terminate(actor=None, member=m)
    assert again.value.code == "already_terminated"


def _chain(n: int) -> list[Member]:
    out = [MemberFactory(member_no="C000")]
    for i in range(1, n):
        out.append(MemberFactory(member_no=f"C{i:03d}", sponsor=out[-1]))
    return out


def test_sixty_deep_chain_downline_upline_and_depth(admin_viewer) -> None:  # type: ignore[no-untyped-def]
    chain = _chain(60)

    assert chain[-1].depth == 59
    assert member_downline(admin_viewer, chain[0]).count() == 59
    chain[10].refresh_from_db()
    assert member_downline_count(admin_viewer, chain[10]) == 49
    assert member_downline_count(admin_viewer, chain[10], depth=5) == 5
    assert [m.member_no for m in member_downline(admin_viewer, chain[10], depth=3)] == [
        "C011",
        "C012",
        "C013",
    ]
    assert [m.pk for m in member_upline(admin_viewer, chain[-1])] == [m.pk for m in chain]
    assert list(
        member_children(admin_viewer, chain[58]).values_list("member_no", "n_children")
    ) == [("C059", 0)]


def test_wide_levels_by_depth(admin_viewer) -> None:  # type: ignore[no-untyped-def]
    root = MemberFactory(member_no="R")
    seeds = [MemberSeed(f"L1-{i:02d}", f"一{i}", D(2026, 1, 1), "R") for i in range(30)]
    seeds += [
        MemberSeed(f"L2-{i:02d}-{j}", f"二{i}{j}", D(2026, 1, 2), f"L1-{i:02d}")
        for i in range(30)
        for j in range(5)
    ]
    assert members_bulk_create(actor=None, seeds=seeds) == 180

    assert member_downline(admin_viewer, root, depth=1).count() == 30
    assert member_downline(admin_viewer, root, depth=2).count() == 180
    assert member_downline(admin_viewer, root, depth=0).count() == 0
    root.refresh_from_db()
    assert root.downline_count == 180
    assert Member.objects.get(member_no="L1-07").downline_count == 5
    kids = dict(member_children(admin_viewer, root).values_list("member_no", "n_children"))
    assert len(kids) == 30
    assert set(kids.values()) == {5}


def test_bulk_create_computes_paths_in_any_input_order() -> None:
    top = MemberFactory(member_no="TOP")
    seeds = [
        MemberSeed("G", "孙", D(2026, 3, 1), sponsor_no="C"),
        MemberSeed("C", "子", D(2026, 2, 1), sponsor_no="TOP"),
        MemberSeed("R2", "根", D(2026, 1, 1)),
    ]
    members_bulk_create(actor=None, seeds=seeds)

    c, g, r2 = (Member.objects.get(member_no=n) for n in ("C", "G", "R2"))
    assert c.path == top.path + encode_segment(c.pk)
    assert g.path == c.path + encode_segment(g.pk)
    assert (c.depth, g.depth, r2.depth, r2.path) == (1, 2, 0, encode_segment(r2.pk))
    assert g.sponsor_id == c.pk
    top.refresh_from_db()
    assert (top.downline_count, c.downline_count, g.downline_count) == (2, 1, 0)
    assert SponsorHistory.objects.get(member=g).valid_from == D(2026, 3, 1)
    # A later ordinary create still gets a fresh id.
    nxt = MemberFactory(sponsor=g)
    assert nxt.pk > max(c.pk, g.pk, r2.pk)


def test_bulk_create_refuses_cycles_and_unknown_sponsors_and_writes_nothing() -> None:
    with pytest.raises(ServiceError) as cyc:
        members_bulk_create(
            actor=None,
            seeds=[
                MemberSeed("X", "x", D(2026, 1, 1), "Y"),
                MemberSeed("Y", "y", D(2026, 1, 1), "X"),
            ],
        )
    assert cyc.value.code == "cycle"
    with pytest.raises(ServiceError) as missing:
        members_bulk_create(actor=None, seeds=[MemberSeed("X", "x", D(2026, 1, 1), "NOPE")])
    assert missing.value.code == "sponsor_missing"
    assert Member.objects.count() == 0


def test_sponsor_move_rewrites_subtree_and_history(admin_viewer) -> None:  # type: ignore[no-untyped-def]
    a = MemberFactory(member_no="A", joined_on=D(2025, 1, 1))
    b = MemberFactory(member_no="B", sponsor=a, joined_on=D(2025, 1, 1))
    c = MemberFactory(member_no="C", sponsor=b, joined_on=D(2025, 1, 1))
    d = MemberFactory(member_no="D", sponsor=c, joined_on=D(2025, 1, 1))
    x = MemberFactory(member_no="X", joined_on=D(2025, 1, 1))

    sponsor_change_apply(
        actor=None, member=b, new_sponsor=x, effective_on=D(2026, 3, 1), reason="转线"
    )

    b.refresh_from_db()
    c.refresh_from_db()
    d.refresh_from_db()
    assert b.path == x.path + encode_segment(b.pk)
    assert c.path == b.path + encode_segment(c.pk)
    assert d.path == c.path + encode_segment(d.pk)
    assert (b.depth, c.depth, d.depth, b.sponsor_id) == (1, 2, 3, x.pk)
    a.refresh_from_db()
    x.refresh_from_db()
    assert (a.downline_count, x.downline_count, b.downline_count) == (0, 3, 2)
    assert member_downline(admin_viewer, a).count() == 0
    assert [m.member_no for m in member_downline(admin_viewer, x)] == ["B", "C", "D"]
    hist = list(
        SponsorHistory.objects.filter(member=b)
        .order_by("valid_from")
        .values_list("sponsor_id", "valid_from", "valid_to", "reason")
    )
    assert hist == [
        (a.pk, D(2025, 1, 1), D(2026, 3, 1), ""),
        (x.pk, D(2026, 3, 1), None, "转线"),
    ]
    log = AuditLog.objects.get(
        object_type="org.member", object_id=str(b.pk), field="sponsor", action="update"
    )
    assert (log.before, log.after) == (str(a.pk), str(x.pk))


def test_tree_as_of_before_and_after_a_move() -> None:
    a = MemberFactory(member_no="A", joined_on=D(2025, 1, 1))
    b = MemberFactory(member_no="B", sponsor=a, joined_on=D(2025, 1, 1))
    c = MemberFactory(member_no="C", sponsor=b, joined_on=D(2025, 6, 1))
    x = MemberFactory(member_no="X", joined_on=D(2025, 1, 1))
    sponsor_change_apply(
        actor=None, member=b, new_sponsor=x, effective_on=D(2026, 3, 1), reason="r"
    )

    before = downline_as_of(a, D(2026, 2, 28))
    after = downline_as_of(a, D(2026, 3, 1))
    assert before.ids.tolist() == [b.pk, c.pk]
    assert before.levels.tolist() == [1, 2]
    assert after.ids.tolist() == []
    assert downline_as_of(x, D(2026, 3, 1)).ids.tolist() == [b.pk, c.pk]
    assert downline_as_of(a, D(2025, 3, 1)).ids.tolist() == [b.pk]  # C not yet joined
    assert downline_as_of(a, D(2026, 2, 1), depth=1).ids.tolist() == [b.pk]
    members, sponsors = sponsor_edges_as_of(D(2026, 2, 28))
    assert members.tolist() == [a.pk, b.pk, c.pk, x.pk]
    assert sponsors.tolist() == [-1, a.pk, b.pk, -1]
    _, sponsors_after = sponsor_edges_as_of(D(2026, 3, 1))
    assert sponsors_after.tolist() == [-1, x.pk, b.pk, -1]


def test_sponsor_move_refuses_self_cycle_same_early_and_inactive() -> None:
    a = MemberFactory(member_no="A", joined_on=D(2025, 1, 1))
    b = MemberFactory(member_no="B", sponsor=a, joined_on=D(2025, 5, 1))
    c = MemberFactory(member_no="C", sponsor=b, joined_on=D(2025, 6, 1))
    t = MemberFactory(member_no="T", joined_on=D(2025, 1, 1))
    member_terminate(actor=None, member=t)

    cases = [
        (b, b, D(2026, 1, 1), "self_sponsor"),
        (b, c, D(2026, 1, 1), "cycle"),
        (b, a, D(2026, 1, 1), "same_sponsor"),
        (c, a, D(2025, 5, 31), "effective_too_early"),
        (c, t, D(2026, 1, 1), "sponsor_inactive"),
    ]
    for member, sponsor, on, code in cases:
        with pytest.raises(ServiceError) as err:
            sponsor_change_apply(
                actor=None, member=member, new_sponsor=sponsor, effective_on=on, reason="r"
            )
        assert err.value.code == code
    assert Member.objects.get(pk=c.pk).sponsor_id == b.pk
    assert Member.objects.get(pk=t.pk).status == MemberStatus.TERMINATED
