"""The network and orders of one run as flat arrays, and the sponsor tree's levels.

Members are numbered 0..n-1 (their row in members.csv); everything about the tree is an
int64 array indexed by that number, so both the CSV loader and the tests can build it
and the vectorised engine never touches a Python object per member.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt

from .money import to_fen
from .schedule import EPOCH

KIND_REGULAR = 0
KIND_ARO = 1
KIND_RETURN = 2
KINDS = ("regular", "aro", "return")
STATUSES = ("active", "terminated")


@dataclass(frozen=True)
class PeriodInput:
    """Validated input of one run.

    ``order_aro`` is true for an ARO order and for a return of an ARO order, so that
    ``aro_counts = false`` drops both the sale and its return.
    """

    member_ids: Sequence[str]
    sponsor: npt.NDArray[np.int64]  # -1 for a root
    terminated: npt.NDArray[np.bool_]
    prev_title: npt.NDArray[np.int8]  # rank index, -1 = none
    order_member: npt.NDArray[np.int64]
    order_fen: npt.NDArray[np.int64]
    order_day: npt.NDArray[np.int32]  # days since 1970-01-01
    order_aro: npt.NDArray[np.bool_]

    @property
    def n_members(self) -> int:
        return int(self.sponsor.shape[0])


@dataclass(frozen=True)
class MemberRecord:
    member_id: str
    sponsor_id: str | None
    status: str = "active"
    title: str | None = None
    joined_on: dt.date = dt.date(2020, 1, 1)


@dataclass(frozen=True)
class OrderRecord:
    order_id: str
    member_id: str
    order_date: dt.date
    amount: Decimal
    kind: str = "regular"
    original_order_id: str | None = None


def input_from_records(
    members: Sequence[MemberRecord], orders: Sequence[OrderRecord], rank_codes: Sequence[str]
) -> PeriodInput:
    """Build arrays from already-valid records (tests and the benchmark use this)."""
    index = {m.member_id: i for i, m in enumerate(members)}
    codes = list(rank_codes)
    by_order = {o.order_id: o for o in orders}

    def is_aro(o: OrderRecord) -> bool:
        if o.kind == "return" and o.original_order_id is not None:
            return by_order[o.original_order_id].kind == "aro"
        return o.kind == "aro"

    return PeriodInput(
        member_ids=[m.member_id for m in members],
        sponsor=np.array(
            [index[m.sponsor_id] if m.sponsor_id else -1 for m in members], dtype=np.int64
        ),
        terminated=np.array([m.status == "terminated" for m in members], dtype=np.bool_),
        prev_title=np.array(
            [codes.index(m.title) if m.title else -1 for m in members], dtype=np.int8
        ),
        order_member=np.array([index[o.member_id] for o in orders], dtype=np.int64),
        order_fen=np.array([to_fen(o.amount) for o in orders], dtype=np.int64),
        order_day=np.array([(o.order_date - EPOCH).days for o in orders], dtype=np.int32),
        order_aro=np.array([is_aro(o) for o in orders], dtype=np.bool_),
    )


@dataclass(frozen=True)
class Tree:
    """Breadth-first levels of the sponsor forest.

    ``levels[0]`` are the roots; ``unreached`` are members no root leads to, i.e. members
    on a sponsor cycle or below one.
    """

    levels: list[npt.NDArray[np.int64]]
    unreached: npt.NDArray[np.int64]


def tree_levels(sponsor: npt.NDArray[np.int64]) -> Tree:
    """Levels by breadth-first search over CSR child lists (children sorted by sponsor).

    One NumPy step per level gathers every child of the whole frontier at once, so the
    cost is O(n) plus one small Python iteration per tree level.
    """
    n = int(sponsor.shape[0])
    order = np.argsort(sponsor, kind="stable")
    n_roots = int(np.count_nonzero(sponsor < 0))
    children = order[n_roots:]
    counts = np.bincount(sponsor[sponsor >= 0], minlength=n).astype(np.int64)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    frontier = order[:n_roots].astype(np.int64)
    levels: list[npt.NDArray[np.int64]] = []
    seen = 0
    while frontier.size:
        levels.append(frontier)
        seen += int(frontier.size)
        lens = counts[frontier]
        total = int(lens.sum())
        if total == 0:
            break
        starts = indptr[frontier]
        offsets = np.repeat(starts - (np.cumsum(lens) - lens), lens)
        frontier = children[offsets + np.arange(total, dtype=np.int64)]
    if seen == n:
        unreached = np.empty(0, dtype=np.int64)
    else:
        mask = np.ones(n, dtype=np.bool_)
        for lvl in levels:
            mask[lvl] = False
        unreached = np.flatnonzero(mask).astype(np.int64)
    return Tree(levels=levels, unreached=unreached)


def find_cycles(
    sponsor: npt.NDArray[np.int64], unreached: npt.NDArray[np.int64]
) -> list[list[int]]:
    """The sponsor cycles among ``unreached`` members, each as a list of member numbers
    starting at its smallest. Only runs on bad input, so a plain walk is fine."""
    state: dict[int, int] = {}  # 1 = on the current walk, 2 = done
    cycles: list[list[int]] = []
    for start in unreached.tolist():
        if start in state:
            continue
        path: list[int] = []
        v = start
        while v >= 0 and v not in state:
            state[v] = 1
            path.append(v)
            v = int(sponsor[v])
        if v >= 0 and state.get(v) == 1:
            cyc = path[path.index(v) :]
            k = cyc.index(min(cyc))
            cycles.append(cyc[k:] + cyc[:k])
        for u in path:
            state[u] = 2
    return sorted(cycles)
