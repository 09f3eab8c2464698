"""Query-plan helpers for SQLite, whose planner keeps no statistics.

A list page asks for the first rows of a scope in an indexed order ("the region's
orders, newest first"). When the scope is an OR of foreign-key tests (orders of the
region's departments, or credited to members the region services), SQLite answers with a
MULTI-INDEX OR: it collects every row of the scope through the foreign-key indexes, then
sorts them all to return twenty — 200 ms for a director at 100,000 orders, growing with
the table. Walking the sort index instead and testing each row's keys against the
(small, materialised) subquery lists stops after the page: 5 ms. SQLite picks that plan
only when the foreign-key tests cannot use an index, which ``unindexed`` arranges by
testing ``column + 0`` (the same value; no index applies to an expression).

The walk is right only when the scope holds a fair share of the table (else it reads
much of the index to find a page): callers decide with a cheap estimate of that share
(``WALK_SHARE``). PostgreSQL has statistics and chooses by itself: nothing changes there.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import ExpressionWrapper, F, IntegerField, Q
from django.db.models.lookups import Exact, In

# The smallest share of the table a scope must hold for walking the sort index to be
# the better plan (a page of 20 then reads about 20 / share index entries).
WALK_SHARE = 0.05


def _plus0(field: str) -> ExpressionWrapper:
    return ExpressionWrapper(F(field) + 0, output_field=IntegerField())


def unindexed(q: Q) -> Q:
    """``q`` with every foreign-key leaf (``x__in``, ``x__pk``, ``x_id``/``x`` exact)
    tested on ``x + 0`` on SQLite, so no index serves it and the planner walks the sort
    order's index instead. Same rows. Elsewhere ``q`` itself."""
    if connection.vendor != "sqlite":
        return q
    return _rewrite(q)


def _rewrite(q: Q) -> Q:
    out = Q()
    out.connector, out.negated = q.connector, q.negated
    out.children = [_leaf(child) for child in q.children]
    return out


def _leaf(child: Any) -> Any:
    if isinstance(child, Q):
        return _rewrite(child)
    if not isinstance(child, tuple):
        return child
    key, value = child
    if key.endswith("__in"):
        return In(_plus0(key.removesuffix("__in")), value)
    if key.endswith("__pk") or key.endswith("_id"):
        return Exact(_plus0(key.removesuffix("__pk")), value)
    return child
