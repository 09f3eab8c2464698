"""The one list-page mechanism: scene tabs, search, whitelisted filters and sorting,
pagination and .xlsx export, for every list in the UI.

A view builds a ``ListSpec`` (columns know how to show a row, so masking and money
formatting live in one place per list) and calls ``list_page`` with a queryset that the
app's selector has already filtered by the viewer's scope. Sorting and filtering only
accept the keys the spec names, so no user input reaches ``order_by`` or ``filter``.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesops.core.access import request_viewer
from salesops.core.audit import audit_record
from salesops.core.display import export_value, format_datetime
from salesops.core.models import AuditAction
from salesops.core.money import format_money

MAX_SEARCH = 100
PAGE_SIZE_CHOICES = (20, 50, 100)


@dataclass
class Column:
    key: str
    label: str | Promise
    value: Callable[[Any], object]
    sort: str | None = None  # ORM ordering expression; None = not sortable
    money: bool = False
    link: Callable[[Any], str] | None = None
    export: bool = True

    def display(self, obj: Any) -> object:
        raw = self.value(obj)
        if self.money:
            return format_money(raw)  # type: ignore[arg-type]
        if raw is None:
            return ""
        if isinstance(raw, datetime.datetime):
            return format_datetime(raw)
        return raw

    def export_value(self, obj: Any) -> object:
        raw = self.value(obj)
        if isinstance(raw, Decimal | datetime.date):
            return export_value(raw)  # datetimes: local and naive, as on the page
        if raw is None:
            return ""
        if isinstance(raw, int | float | bool):
            return raw
        return str(raw)


@dataclass
class Filter:
    key: str
    label: str | Promise
    choices: Sequence[tuple[str, str | Promise]]
    lookup: str  # e.g. "status" or "department__code"

    def q(self, value: str) -> Q | None:
        if value not in {str(c[0]) for c in self.choices}:
            return None
        return Q(**{self.lookup: value})


@dataclass
class Scene:
    """A scene tab (我负责的 / 下属负责的 / 全部)."""

    key: str
    label: str | Promise
    q: Q


@dataclass
class ListSpec:
    title: str | Promise
    columns: list[Column]
    search_fields: list[str] = field(default_factory=list)
    search_hint: str | Promise = ""
    filters: list[Filter] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    default_sort: str = "-id"
    export_name: str = "export"
    # Extra search rule, e.g. exact phone match on a masked column.
    extra_search: Callable[[str], Q] | None = None
    create_url: str = ""
    import_url: str = ""
    row_link: Callable[[Any], str] | None = None


@dataclass
class ListState:
    q: str
    sort: str
    scene: str
    filters: dict[str, str]
    page_size: int

    def query(self, **overrides: object) -> str:
        params: dict[str, object] = {}
        if self.q:
            params["q"] = self.q
        if self.sort:
            params["sort"] = self.sort
        if self.scene:
            params["scene"] = self.scene
        if self.page_size != PAGE_SIZE_CHOICES[0]:
            params["size"] = self.page_size
        params.update({k: v for k, v in self.filters.items() if v})
        params.update(overrides)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _state(request: HttpRequest, spec: ListSpec) -> ListState:
    q = request.GET.get("q", "").strip()[:MAX_SEARCH]
    sortable = {c.key for c in spec.columns if c.sort}
    sort = request.GET.get("sort", "")
    if sort.lstrip("-") not in sortable:
        sort = ""
    scene_keys = [s.key for s in spec.scenes]
    scene = request.GET.get("scene", "")
    if scene not in scene_keys:
        scene = scene_keys[0] if scene_keys else ""
    filters = {f.key: request.GET.get(f.key, "") for f in spec.filters}
    try:
        size = int(request.GET.get("size", PAGE_SIZE_CHOICES[0]))
    except ValueError:
        size = PAGE_SIZE_CHOICES[0]
    if size not in PAGE_SIZE_CHOICES:
        size = PAGE_SIZE_CHOICES[0]
    return ListState(q=q, sort=sort, scene=scene, filters=filters, page_size=size)


def apply_list_state(queryset: QuerySet[Any], spec: ListSpec, state: ListState) -> QuerySet[Any]:
    """Scene, search, filters and ordering applied to an already-scoped queryset."""
    qs = queryset
    for scene in spec.scenes:
        if scene.key == state.scene:
            qs = qs.filter(scene.q)
    if state.q and (spec.search_fields or spec.extra_search):
        cond = Q()
        for name in spec.search_fields:
            cond |= Q(**{f"{name}__icontains": state.q})
        if spec.extra_search is not None:
            cond |= spec.extra_search(state.q)
        qs = qs.filter(cond)
    for flt in spec.filters:
        value = state.filters.get(flt.key, "")
        if value:
            cond_or_none = flt.q(value)
            if cond_or_none is not None:
                qs = qs.filter(cond_or_none)
    if state.sort:
        col = next(c for c in spec.columns if c.key == state.sort.lstrip("-"))
        assert col.sort is not None
        desc = state.sort.startswith("-")
        qs = qs.order_by(("-" if desc else "") + col.sort, "-pk" if desc else "pk")
    elif spec.default_sort:
        qs = qs.order_by(spec.default_sort, "-pk")
    return qs


def export_rows(spec: ListSpec, qs: QuerySet[Any]) -> tuple[list[str], Any]:
    cols = [c for c in spec.columns if c.export]
    headers = [str(c.label) for c in cols]
    rows = ([c.export_value(obj) for c in cols] for obj in qs.iterator(chunk_size=2000))
    return headers, rows


def list_page(
    request: HttpRequest,
    *,
    queryset: QuerySet[Any],
    spec: ListSpec,
    template: str = "core/list_page.html",
    context: dict[str, Any] | None = None,
) -> HttpResponseBase:
    """Render a list page (or just its table for htmx, or an .xlsx export)."""
    state = _state(request, spec)
    qs = apply_list_state(queryset, spec, state)
    viewer = request_viewer(request)

    if request.GET.get("export") == "xlsx":
        if not viewer.can_export:
            raise PermissionDenied(_("您没有导出权限"))
        from salesops.core.xlsx import xlsx_response

        headers, rows = export_rows(spec, qs)
        audit_record(
            actor=request.user,  # type: ignore[arg-type]
            action=AuditAction.EXPORT,
            object_type=spec.export_name,
            note=f"q={state.q!r} {state.query()}",
        )
        return xlsx_response(filename=f"{spec.export_name}.xlsx", headers=headers, rows=rows)

    paginator = Paginator(qs, state.page_size)
    try:
        page = paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        page = paginator.page(1)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
    rows_out = [
        {
            "obj": obj,
            "cells": [
                {"value": c.display(obj), "link": c.link(obj) if c.link else "", "money": c.money}
                for c in spec.columns
            ],
            "link": spec.row_link(obj) if spec.row_link else "",
        }
        for obj in page.object_list
    ]
    header_cells: list[dict[str, Any]] = [
        {
            "label": c.label,
            "key": c.key,
            "sortable": bool(c.sort),
            "active": state.sort.lstrip("-") == c.key,
            "desc": state.sort.startswith("-"),
            "url": "?" + state.query(sort=f"-{c.key}" if state.sort == c.key else c.key, page=""),
            "money": c.money,
        }
        for c in spec.columns
    ]
    ctx: dict[str, Any] = {
        "spec": spec,
        "state": state,
        "page": page,
        "paginator": paginator,
        "rows": rows_out,
        "headers": header_cells,
        "scene_links": [
            {
                "key": s.key,
                "label": s.label,
                "active": s.key == state.scene,
                "url": "?" + state.query(scene=s.key, page=""),
            }
            for s in spec.scenes
        ],
        "filter_widgets": [
            {
                "key": f.key,
                "label": f.label,
                "choices": f.choices,
                "value": state.filters.get(f.key, ""),
            }
            for f in spec.filters
        ],
        "page_query": state.query(),
        "export_url": "?" + state.query(export="xlsx"),
        "can_export": viewer.can_export,
        "can_import": viewer.can_import,
        "page_sizes": PAGE_SIZE_CHOICES,
    }
    if context:
        ctx.update(context)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "list-table":
        return render(request, "core/_list_table.html", ctx)
    return render(request, template, ctx)
