"""Reads for org: departments, employees, the member network and sponsor-change requests.

Everything a page or endpoint shows comes through here already filtered by the viewer's
scope (``salesops.core.access``); an object outside it is not found (404). Genealogy
queries are key ranges over the materialised ``path`` (plus ``depth``), never a recursive
walk, so they stay fast on a network of millions.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.db import connection
from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from salesops.core.access import NOTHING, Viewer, employee_scope_q, member_scope_q
from salesops.core.models import AuditLog, DataScope, RoleCode
from salesops.org.models import (
    Department,
    Employee,
    Member,
    RankHistory,
    SponsorChangeRequest,
    SponsorHistory,
)
from salesops.org.paths import path_ids, subtree_bounds

MAX_PAGE_SIZE = 100
CHILDREN_PAGE = 50


def _not_found() -> Http404:
    return Http404("not found")


# --- departments and employees ---------------------------------------------------------


def department_scope_q(viewer: Viewer) -> Q:
    """Departments a viewer may browse: everything for company-wide scopes, their own
    department subtree for a director, their own department for everyone else."""
    if viewer.is_admin or viewer.scope == DataScope.ALL:
        return Q()
    emp = viewer.employee
    if emp is None:
        return NOTHING
    if viewer.scope == DataScope.DEPARTMENT_AND_CHILDREN:
        lo, hi = subtree_bounds(emp.department.path)
        return Q(path__gte=lo, path__lt=hi)
    return Q(pk=emp.department_id)


def departments_for_viewer(viewer: Viewer) -> QuerySet[Department]:
    return (
        Department.objects.filter(department_scope_q(viewer))
        .select_related("parent", "head")
        .annotate(n_employees=Count("employees", filter=Q(employees__active=True)))
        .order_by("path")
    )


def department_for_viewer(viewer: Viewer, pk: int | str) -> Department:
    try:
        return (
            Department.objects.filter(department_scope_q(viewer))
            .select_related("parent")
            .get(pk=int(pk))
        )
    except (Department.DoesNotExist, ValueError, TypeError):
        raise _not_found() from None


def employees_for_viewer(viewer: Viewer) -> QuerySet[Employee]:
    return Employee.objects.filter(employee_scope_q(viewer, owner="")).select_related(
        "department", "position", "manager", "user"
    )


def employee_for_viewer(viewer: Viewer, pk: int | str) -> Employee:
    try:
        return employees_for_viewer(viewer).get(pk=int(pk))
    except (Employee.DoesNotExist, ValueError, TypeError):
        raise _not_found() from None


def audit_log_for(obj: Any, *, limit: int = 100) -> list[AuditLog]:
    """操作记录 tab: the latest audit rows of one object (the caller checked access)."""
    return list(
        AuditLog.objects.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def org_chart(viewer: Viewer, *, max_people: int = 2000) -> list[dict[str, Any]]:
    """Departments → teams → people as nested ECharts tree nodes, in two queries."""
    depts = list(
        Department.objects.filter(department_scope_q(viewer))
        .order_by("path")
        .values("pk", "name", "kind", "parent_id", "path")
    )
    people = (
        employees_for_viewer(viewer)
        .filter(active=True, department_id__in=[d["pk"] for d in depts])
        .order_by("department_id", "employee_no")
        .values("pk", "name", "department_id", "position__name")[:max_people]
    )
    nodes: dict[int, dict[str, Any]] = {}
    roots: list[dict[str, Any]] = []
    for d in depts:
        node = {"name": d["name"], "id": f"d{d['pk']}", "kind": d["kind"], "children": []}
        nodes[d["pk"]] = node
        parent = nodes.get(d["parent_id"]) if d["parent_id"] else None
        (parent["children"] if parent is not None else roots).append(node)
    for p in people:
        label = p["name"] + (f"（{p['position__name']}）" if p["position__name"] else "")
        nodes[p["department_id"]]["children"].append(
            {"name": label, "id": f"e{p['pk']}", "kind": "employee"}
        )
    return roots


# --- members --------------------------------------------------------------------------


def members_for_viewer(viewer: Viewer) -> QuerySet[Member]:
    return Member.objects.filter(member_scope_q(viewer)).select_related("sponsor", "owner")


def member_for_viewer(viewer: Viewer, pk: int | str) -> Member:
    """The one access helper for a member: out of scope or missing → 404."""
    try:
        return members_for_viewer(viewer).get(pk=int(pk))
    except (Member.DoesNotExist, ValueError, TypeError):
        raise _not_found() from None


def member_by_no_for_viewer(viewer: Viewer, member_no: str) -> Member:
    try:
        return members_for_viewer(viewer).get(member_no=member_no.strip())
    except Member.DoesNotExist:
        raise _not_found() from None


def member_downline(
    viewer: Viewer, member: Member, *, depth: int | None = None
) -> QuerySet[Member]:
    """Everyone below ``member`` (to ``depth`` levels when given), in tree order.

    Whole downline: the key range (path, path+'~'). Limited depth: one index seek per
    level on (depth, path), which stays small near the top of a huge tree.
    """
    lo, hi = subtree_bounds(member.path)
    qs = Member.objects.filter(member_scope_q(viewer)).filter(path__gt=lo, path__lt=hi)
    if depth is not None:
        levels = list(range(member.depth + 1, member.depth + max(depth, 0) + 1))
        qs = qs.filter(depth__in=levels) if levels else qs.none()
    return qs.select_related("sponsor").order_by("path")


def member_upline(viewer: Viewer, member: Member) -> list[Member]:
    """Root → ``member`` (inclusive), decoded from the path: one IN query. Ancestors the
    viewer may not see are left out (a member sees the line from themselves down)."""
    ids = path_ids(member.path)
    rows = Member.objects.filter(member_scope_q(viewer)).filter(pk__in=ids)
    return sorted(rows, key=lambda m: m.depth)


def member_children(viewer: Viewer, member: Member) -> QuerySet[Member]:
    """Direct recruits with how many recruits each has (for lazy tree expansion)."""
    return (
        Member.objects.filter(member_scope_q(viewer))
        .filter(sponsor=member)
        .annotate(n_children=Count("sponsored"))
        .order_by("member_no")
    )


def member_downline_count(viewer: Viewer, member: Member, *, depth: int | None = None) -> int:
    """How many of ``member``'s downline the viewer sees (to ``depth`` levels if given).

    When the whole downline is in scope (company-wide viewers; a member looking inside
    their own line) this is the stored ``downline_count``: no million-row count.
    """
    whole = viewer.is_admin or viewer.scope == DataScope.ALL
    if not whole and viewer.role == RoleCode.MEMBER and viewer.member is not None:
        lo, hi = subtree_bounds(viewer.member.path)
        whole = lo <= member.path < hi
    if whole and depth is None:
        return member.downline_count
    return member_downline(viewer, member, depth=depth).count()


def member_sponsor_history(member: Member) -> list[SponsorHistory]:
    return list(
        SponsorHistory.objects.filter(member=member)
        .select_related("sponsor", "recorded_by")
        .order_by("-valid_from", "-id")
    )


def member_rank_history(member: Member, *, limit: int = 36) -> list[RankHistory]:
    return list(RankHistory.objects.filter(member=member).order_by("-period")[:limit])


def sponsor_change_requests_for_viewer(viewer: Viewer) -> QuerySet[SponsorChangeRequest]:
    """Requests about members in scope, plus the viewer's own requests."""
    return SponsorChangeRequest.objects.filter(
        member_scope_q(viewer, member="member") | Q(requested_by=viewer.user)
    ).select_related("member", "new_sponsor", "requested_by")


def sponsor_change_request_for_viewer(viewer: Viewer, pk: int | str) -> SponsorChangeRequest:
    try:
        return sponsor_change_requests_for_viewer(viewer).get(pk=int(pk))
    except (SponsorChangeRequest.DoesNotExist, ValueError, TypeError):
        raise _not_found() from None


# --- the tree as of a date ------------------------------------------------------------


def sponsor_edges_as_of(on: datetime.date) -> tuple[np.ndarray, np.ndarray]:
    """(member_ids, sponsor_ids) of the network valid on ``on``: rows with
    valid_from ≤ on < valid_to (or still open). Roots have sponsor id -1. Members who
    joined later are absent. Sorted by member id."""
    qs = (
        SponsorHistory.objects.filter(valid_from__lte=on)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gt=on))
        .annotate(s=Coalesce("sponsor_id", Value(-1)))
        .order_by("member_id")
        .values_list("member_id", "s")
    )
    # Straight from the cursor: a million ORM tuples would dominate the time.
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(sql, params)
        arr = np.array(cur.fetchall(), dtype=np.int64).reshape(-1, 2)
    return arr[:, 0].copy(), arr[:, 1].copy()


@dataclass(frozen=True)
class Downline:
    """Member ids below a member on a date, with their level below it (1 = recruit)."""

    ids: np.ndarray
    levels: np.ndarray

    def __len__(self) -> int:
        return int(self.ids.size)


def downline_from_edges(
    member_ids: np.ndarray, sponsor_ids: np.ndarray, root_id: int, depth: int | None = None
) -> Downline:
    """Level-by-level frontier expansion over sorted edge arrays (vectorised per level)."""
    order = np.argsort(sponsor_ids, kind="stable")
    by_sponsor = sponsor_ids[order]
    children_sorted = member_ids[order]
    found_ids: list[np.ndarray] = []
    found_levels: list[np.ndarray] = []
    frontier = np.array([root_id], dtype=np.int64)
    level = 0
    seen = 0
    while frontier.size and (depth is None or level < depth):
        level += 1
        starts = np.searchsorted(by_sponsor, frontier, side="left")
        ends = np.searchsorted(by_sponsor, frontier, side="right")
        counts = ends - starts
        if not counts.sum():
            break
        # Gather every [start, end) slice at once.
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        idx = np.arange(counts.sum()) + offsets
        frontier = children_sorted[idx]
        found_ids.append(frontier)
        found_levels.append(np.full(frontier.size, level, dtype=np.int64))
        seen += frontier.size
        if seen > member_ids.size:  # a cycle in bad data must not loop forever
            raise ValueError("sponsor edges contain a cycle")
    if not found_ids:
        empty = np.array([], dtype=np.int64)
        return Downline(empty, empty)
    return Downline(np.concatenate(found_ids), np.concatenate(found_levels))


def downline_as_of(member: Member, on: datetime.date, depth: int | None = None) -> Downline:
    """The member's downline as the network stood on ``on`` (from SponsorHistory)."""
    members, sponsors = sponsor_edges_as_of(on)
    return downline_from_edges(members, sponsors, member.pk, depth)
