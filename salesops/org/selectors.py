"""Reads for org: departments, employees, the member network and sponsor-change requests.

Everything a page or endpoint shows comes through here already filtered by the viewer's
scope (``salesops.core.access``); an object outside it is not found (404). Genealogy
queries are key ranges over the materialised ``path`` (plus ``depth``), never a recursive
walk, so they stay fast on a network of millions.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import polars as pl
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.urls import reverse
from django.utils.translation import gettext as _

from salesops.core.access import NOTHING, Viewer, viewer_for
from salesops.core.display import format_count
from salesops.core.models import DataScope, RoleCode, User
from salesops.core.registry import Card
from salesops.org.access import employee_scope_q, member_scope_q
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


T = TypeVar("T")


def nearest_assignment(direct: dict[int, T], default: T | None) -> dict[int, T]:
    """{department id: the value of the nearest department up the tree that ``direct``
    names}, else ``default`` — e.g. which pool or sales process a department uses.
    Departments are few (hundreds): one query."""
    parents = dict(Department.objects.values_list("pk", "parent_id"))
    out: dict[int, T] = {}
    for dept in parents:
        cur: int | None = dept
        while cur is not None and cur not in direct:
            cur = parents.get(cur)
        value = direct.get(cur) if cur is not None else default
        if value is not None:
            out[dept] = value
    return out


def _not_found() -> Http404:
    return Http404(_("记录不存在或无权访问"))


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
        label = p["name"]
        if p["position__name"]:
            # Full-width brackets in Chinese, "name (position)" in English.
            label = _("%(name)s（%(position)s）") % {
                "name": p["name"],
                "position": p["position__name"],
            }
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
    viewer: Viewer, member: Member, *, depth: int | None = None, after: str | None = None
) -> QuerySet[Member]:
    """Everyone below ``member`` (to ``depth`` levels when given), in tree order.

    Whole downline: the key range (path, path+'~'). Limited depth: one index seek per
    level on (depth, path), which stays small near the top of a huge tree. ``after`` is a
    keyset cursor (the path of the last row already shown): the rows after it start with
    an index seek, however deep into a million-row downline the page is.
    """
    lo, hi = subtree_bounds(member.path)
    if after is not None and after > lo:
        lo = after
    qs = Member.objects.filter(member_scope_q(viewer)).filter(path__gt=lo, path__lt=hi)
    if depth is not None:
        levels = list(range(member.depth + 1, member.depth + max(depth, 0) + 1))
        qs = qs.filter(depth__in=levels) if levels else qs.none()
    return qs.select_related("sponsor").order_by("path")


@dataclass(frozen=True)
class DownlinePage:
    """One page of a downline. ``next_after`` is the cursor for the following page (the
    last row's path), None on the last page."""

    items: list[Member]
    next_after: str | None


def member_downline_page(
    viewer: Viewer,
    member: Member,
    *,
    depth: int | None = None,
    after: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> DownlinePage:
    """A page of ``member_downline``: by cursor when ``after`` is given (constant cost at
    any depth), else by page number. Numbered pages pick their keys from the path index
    alone (no row reads while skipping), then load just those rows: two short queries."""
    size = min(max(page_size, 1), MAX_PAGE_SIZE)
    qs = member_downline(viewer, member, depth=depth, after=after)
    if after is not None:
        rows = list(qs[: size + 1])
    else:
        skip = (max(page, 1) - 1) * size
        keys = list(qs.values_list("pk", flat=True)[skip : skip + size + 1])
        by_pk = Member.objects.select_related("sponsor").in_bulk(keys)
        rows = [by_pk[k] for k in keys if k in by_pk]
    items = rows[:size]
    more = len(rows) > size
    return DownlinePage(items=items, next_after=items[-1].path if more and items else None)


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
        (member_scope_q(viewer, member="member") or Q(pk__isnull=False))  # Q() | x == x
        | Q(requested_by=viewer.user)
    ).select_related("member", "new_sponsor", "requested_by")


def sponsor_change_request_for_viewer(viewer: Viewer, pk: int | str) -> SponsorChangeRequest:
    try:
        return sponsor_change_requests_for_viewer(viewer).get(pk=int(pk))
    except (SponsorChangeRequest.DoesNotExist, ValueError, TypeError):
        raise _not_found() from None


def sponsor_change_visible_to(user: User, object_id: str) -> bool:
    """Who may read a sponsor change may read its approval request (``can_view``)."""
    try:
        sponsor_change_request_for_viewer(viewer_for(user), object_id)
    except Http404:
        return False
    return True


# --- the tree as of a date ------------------------------------------------------------


EDGE_COLUMNS = "member_id, COALESCE(sponsor_id, -1)"


def sponsor_edges_query(
    on: datetime.date, select: str = EDGE_COLUMNS
) -> tuple[str, list[datetime.date]]:
    """SQL and parameters answering ``select`` — by default (member_id, sponsor_id or -1)
    — over every sponsor edge valid on ``on`` (valid_from ≤ on < valid_to, or still
    open), in no order."""
    table = connection.ops.quote_name(SponsorHistory._meta.db_table)
    # SQLite: most rows match on any recent date, so a plain scan beats the date index.
    scan = " NOT INDEXED" if connection.vendor == "sqlite" else ""
    return (
        f"SELECT {select} FROM {table}{scan} "  # noqa: S608
        "WHERE valid_from <= %s AND (valid_to IS NULL OR valid_to > %s)",
        [on, on],
    )


def sponsor_edges_as_of(on: datetime.date) -> tuple[np.ndarray, np.ndarray]:
    """(member_ids, sponsor_ids) of the network valid on ``on``: rows with
    valid_from ≤ on < valid_to (or still open). Roots have sponsor id -1. Members who
    joined later are absent. Sorted by member id.

    A million rows as Python tuples would cost seconds, so SQLite hands the edges over as
    one CSV text (group_concat, parsed by polars) and PostgreSQL as a CSV COPY stream; the
    sort happens in NumPy rather than in the database.
    """
    with connection.cursor() as cur:
        if connection.vendor == "sqlite":
            concat = "group_concat(member_id || ',' || COALESCE(sponsor_id, -1), char(10))"
            text_sql, params = sponsor_edges_query(on, concat)
            cur.execute(text_sql, params)
            (text,) = cur.fetchone()
            data = (text or "").encode("ascii")
        elif connection.vendor == "postgresql":
            from psycopg import sql as pgsql

            pairs, params = sponsor_edges_query(on)
            query = pgsql.SQL(pairs.replace("%s", "{}")).format(*(pgsql.Literal(p) for p in params))
            copy_sql = pgsql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(query)
            with cur.cursor.copy(copy_sql) as copy:
                data = b"".join(bytes(block) for block in copy)
        else:
            cur.execute(*sponsor_edges_query(on))
            data = "\n".join(f"{m},{s}" for m, s in cur.fetchall()).encode("ascii")
    if not data.strip():
        empty = np.array([], dtype=np.int64)
        return empty, empty.copy()
    frame = pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        new_columns=["member", "sponsor"],
        schema_overrides={"member": pl.Int64, "sponsor": pl.Int64},
    )
    return sorted_edges(frame["member"].to_numpy(), frame["sponsor"].to_numpy())


def sorted_edges(members: np.ndarray, sponsors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The edges (member ids, sponsor ids) sorted by member id, as int64 arrays."""
    if members.size > 1 and not bool(np.all(members[1:] > members[:-1])):
        order = np.argsort(members, kind="stable")
        members, sponsors = members[order], sponsors[order]
    return np.ascontiguousarray(members, dtype=np.int64), np.ascontiguousarray(
        sponsors, dtype=np.int64
    )


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


def dashboard_panel(viewer: Viewer, today: datetime.date) -> list[Card]:
    """Home-page figure of the member network: a member's downline size (stored)."""
    if viewer.role != RoleCode.MEMBER or viewer.member is None:
        return []
    return [
        Card(
            "downline",
            _("我的下线人数"),
            format_count(viewer.member.downline_count),
            reverse("org:genealogy"),
        )
    ]
