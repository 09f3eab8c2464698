"""The one list-page mechanism: scene tabs (built-in and saved), search, whitelisted
filters, date ranges and sorting, capped counting and pagination, row selection with the
batch actions a list declares, and .xlsx export, for every list in the UI.

A view builds a ``ListSpec`` (columns know how to show a row, so masking and money
formatting live in one place per list) and calls ``list_page`` with a queryset that the
app's selector has already filtered by the viewer's scope. Sorting and filtering only
accept the keys the spec names, so no user input reaches ``order_by`` or ``filter``; batch
actions only ever see selected ids that survive that same scoped queryset.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.db import connections
from django.db.models import F, Q, QuerySet
from django.db.models.expressions import OrderBy, RawSQL
from django.http import HttpRequest, HttpResponseRedirect, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.access import Viewer, request_viewer
from salesops.core.audit import audit_record
from salesops.core.db.textsearch import GramIndex, TrigramIndex
from salesops.core.display import export_value, format_count, format_datetime
from salesops.core.errors import ServiceError
from salesops.core.models import AuditAction, User
from salesops.core.money import format_money
from salesops.core.text import CONTROL_MESSAGE, has_control_chars

MAX_SEARCH = 100
PAGE_SIZE_CHOICES = (20, 50, 100)
# Above this many rows a list shows "10,000+" with a link to count exactly (精确统计), so
# a page never scans a million-row table just to print its total. Settings may lower it
# (``LIST_COUNT_CAP``, the tests do).
COUNT_CAP = 10_000
MAX_BATCH = 500  # selected ids taken from one POST (a page holds at most 100)


@dataclass(frozen=True)
class JoinedSort:
    """A sort by a column of the table a foreign key points to (负责人 by the owner's
    name, 所属部门 by the department's): ``relation`` is the key ("owner"), ``column``
    the other table's column ("name"), ``tie`` a unique column there that orders rows
    of the same name (工号, 部门编码); ``nullable`` when a row may have none (a pool
    customer has no owner).

    The order is (column, tie, the row's id): two employees called 张伟 are not
    interleaved; rows without a related row come last ascending and first descending.
    So ordered, a page needs no sort of the big table: the database walks the small
    table through a UNIQUE index on (column, tie) — unique, so that SQLite knows each
    step is one related row and the big table's index on the key already gives the ids
    in order — and stops after the page (``page_segments``). Sorting by
    ``relation__column`` and the id joined and sorted every row: 1.3–2.4 s at 1,000,000
    customers (docs/performance.md, "List pages").
    """

    relation: str
    column: str
    tie: str
    nullable: bool = False

    def _keys(self) -> tuple[str, str]:
        return f"{self.relation}__{self.column}", f"{self.relation}__{self.tie}"

    def ordering(self, desc: bool) -> list[OrderBy]:
        """The whole order in one ORDER BY (exports, batch actions: every row anyway)."""
        if desc:
            return [F(n).desc(nulls_first=True) for n in (*self._keys(), "pk")]
        return [F(n).asc(nulls_last=True) for n in (*self._keys(), "pk")]

    def segments(self, qs: QuerySet[Any], desc: bool) -> list[Segment]:
        """The same order as parts read one after the other: the rows with a related
        row, whose page is found by a walk over the ids alone (an inner join of the two
        tables: other joins, e.g. ``select_related``, made SQLite start from the big
        one), then — when the key is nullable — those without, by id."""
        sign = "-" if desc else ""
        order = [sign + key for key in (*self._keys(), "pk")]
        # A test on the related table makes the join an inner one without constraining
        # the big table's key (SQLite would read ``key IS NOT NULL`` through its index).
        joined = qs.filter(**{f"{self.relation}__{self.tie}__isnull": False}).order_by(*order)
        parts = [Segment(joined, walk=joined.values("pk"))]
        if self.nullable:
            alone = Segment(qs.filter(**{f"{self.relation}__isnull": True}).order_by(sign + "pk"))
            parts = [alone, *parts] if desc else [*parts, alone]
        return parts


@dataclass
class Segment:
    """Part of a list's rows in the list's order (``page_segments``). ``walk``: the same
    rows' ids in that order, a cheaper query to find a page in; the page's rows are then
    read by id."""

    rows: QuerySet[Any]
    walk: QuerySet[Any] | None = None

    def page(
        self,
        offset: int,
        limit: int,
        decorate: Callable[[QuerySet[Any]], QuerySet[Any]] = lambda qs: qs,
    ) -> QuerySet[Any]:
        """Rows ``offset`` to ``offset + limit``; ``decorate`` is applied before slicing
        (e.g. the count column)."""
        if self.walk is None:
            return decorate(self.rows)[offset : offset + limit]
        return decorate(self.rows.filter(pk__in=self.walk[offset : offset + limit]))


@dataclass
class Column:
    key: str
    label: str | Promise
    value: Callable[[Any], object]
    # ORM ordering expression, or a JoinedSort for a column of a related table; None =
    # not sortable. Ties are broken by the row's id.
    sort: str | JoinedSort | None = None
    money: bool = False
    link: Callable[[Any], str] | None = None
    export: bool = True
    # The cell as HTML on the page, when it is more than the value (the export keeps value).
    html: Callable[[Any], str] | None = None

    def display(self, obj: Any) -> object:
        if self.html is not None:
            return self.html(obj)
        raw = self.value(obj)
        if self.money:
            return format_money(raw)  # type: ignore[arg-type]
        if raw is None:
            return ""
        if isinstance(raw, datetime.datetime):
            return format_datetime(raw)
        if isinstance(raw, int) and not isinstance(raw, bool):
            return format_count(raw)  # counts with separators (下线人数 2,535); codes are text
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


def parse_day(text: str) -> datetime.date | None:
    # The forms' accepted formats (settings): ISO, 2026/10/05 and 2026年10月05日.
    for fmt in settings.DATE_INPUT_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date()  # noqa: DTZ007 - a day, no time
        except ValueError:
            continue
    return None


@dataclass
class DateRangeFilter:
    """从 … 至 … on one date or datetime field; both ends inclusive, days in local time.

    The request carries ``<key>_from`` and ``<key>_to``; an unreadable date or a start
    after the end is reported on the page and that range is not applied.
    """

    key: str
    label: str | Promise
    lookup: str  # e.g. "order_date" or "created_at"
    is_datetime: bool = False
    # Applied without a column sort, the list is ordered by this date, newest first: the
    # (date, id) index then serves both the range and the order. Ordered by id, a range
    # months back made the page walk the newer rows first (January 2026 lay 440,000
    # customers behind the newest: 175–230 ms).
    orders: bool = False

    @property
    def param_from(self) -> str:
        return f"{self.key}_from"

    @property
    def param_to(self) -> str:
        return f"{self.key}_to"

    def q(self, start: datetime.date | None, end: datetime.date | None) -> Q:
        cond = Q()
        if not self.is_datetime:
            if start is not None:
                cond &= Q(**{f"{self.lookup}__gte": start})
            if end is not None:
                cond &= Q(**{f"{self.lookup}__lte": end})
            return cond

        def midnight(day: datetime.date) -> datetime.datetime:
            return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))

        if start is not None:
            cond &= Q(**{f"{self.lookup}__gte": midnight(start)})
        if end is not None:
            cond &= Q(**{f"{self.lookup}__lt": midnight(end + datetime.timedelta(days=1))})
        return cond


@dataclass
class Scene:
    """A scene tab (我负责的 / 下属负责的 / 全部). ``page_q``: the same rows written for
    fetching a page (e.g. a team as literal ids, ``org.access.team_q``), used with the
    list's ``page_queryset``; ``q`` serves the count, the export and the batch actions."""

    key: str
    label: str | Promise
    q: Q
    page_q: Q | None = None


@dataclass
class BatchContext:
    """What a batch handler gets: who acts, the selected rows that survived the viewer's
    scope (as a queryset), and the value typed next to the action (e.g. a 工号)."""

    request: HttpRequest
    viewer: Viewer
    actor: User
    selected: QuerySet[Any]
    ids: list[int]
    value: str


@dataclass
class BatchAction:
    """A button over the selected rows. ``handler`` calls a service and answers either a
    response (a download) or the message to show; ``allowed`` decides who sees and may
    post it, checked again on the server; ``confirm`` is asked before posting."""

    key: str
    label: str | Promise
    handler: Callable[[BatchContext], HttpResponseBase | str]
    allowed: Callable[[Viewer], bool] | None = None
    confirm: str | Promise = ""
    input_label: str | Promise = ""  # a text input the action needs, e.g. 新负责人工号
    icon: str = "bi-check2-square"

    def allows(self, viewer: Viewer) -> bool:
        return self.allowed is None or self.allowed(viewer)


@dataclass
class ListSpec:
    title: str | Promise
    columns: list[Column]
    search_fields: list[str] = field(default_factory=list)
    search_hint: str | Promise = ""
    filters: list[Filter] = field(default_factory=list)
    date_filters: list[DateRangeFilter] = field(default_factory=list)
    scenes: list[Scene] = field(default_factory=list)
    default_sort: str = "-id"
    export_name: str = "export"
    # Extra search rule, e.g. exact phone match on a masked column.
    extra_search: Callable[[str], Q] | None = None
    # Indexes serving ``search_fields`` (core.db.textsearch): (lookup prefix from this
    # list's model, index), e.g. ("", CUSTOMER_TEXT) or ("customer__", CUSTOMER_TEXT) on
    # orders; a TrigramIndex answers terms of three characters or more, a GramIndex
    # shorter ones. A field no index answers is searched with ``icontains``.
    search_indexes: Sequence[tuple[str, TrigramIndex | GramIndex]] = ()
    create_url: str = ""
    import_url: str = ""
    row_link: Callable[[Any], str] | None = None
    batch_actions: list[BatchAction] = field(default_factory=list)
    # Saved scenes are stored under this key; "" = the URL name of the view.
    key: str = ""
    # Rows are model instances with a pk, so they can be selected (and exported by id).
    selectable: bool = True
    export: bool = True
    # Without a scene in the request, open the first scene that has rows for the viewer;
    # False keeps the first one even when empty (an inbox: "nothing to approve" is news).
    default_scene_with_rows: bool = True

    @property
    def searchable(self) -> bool:
        """Whether the page has a search box. (A template cannot test ``extra_search``
        itself: Django calls a callable it meets, without arguments.)"""
        return bool(self.search_fields) or self.extra_search is not None


@dataclass
class ListState:
    q: str
    sort: str
    scene: str
    filters: dict[str, str]
    page_size: int
    dates: dict[str, tuple[datetime.date | None, datetime.date | None]] = field(
        default_factory=dict
    )
    raw_dates: dict[str, str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    # The search condition once built (an index may be probed to build it): the count,
    # the page and the export use the same.
    search_cond: Q | None = field(default=None, repr=False)

    def params(self) -> dict[str, object]:
        out: dict[str, object] = {}
        if self.q:
            out["q"] = self.q
        if self.sort:
            out["sort"] = self.sort
        if self.scene:
            out["scene"] = self.scene
        if self.page_size != PAGE_SIZE_CHOICES[0]:
            out["size"] = self.page_size
        out.update({k: v for k, v in self.filters.items() if v})
        for key, (start, end) in self.dates.items():
            if start is not None:
                out[f"{key}_from"] = start.isoformat()
            if end is not None:
                out[f"{key}_to"] = end.isoformat()
        return out

    def query(self, **overrides: object) -> str:
        params = self.params()
        params.update(overrides)
        return urlencode({k: v for k, v in params.items() if v not in ("", None)})


def _state_keys(spec: ListSpec) -> set[str]:
    keys = {"q", "sort", "scene", "size"} | {f.key for f in spec.filters}
    for d in spec.date_filters:
        keys |= {d.param_from, d.param_to}
    return keys


def _state(params: QueryDict, spec: ListSpec) -> ListState:
    q = params.get("q", "").strip()[:MAX_SEARCH]
    sortable = {c.key for c in spec.columns if c.sort}
    sort = params.get("sort", "")
    if sort.lstrip("-") not in sortable:
        sort = ""
    scene_keys = [s.key for s in spec.scenes]
    scene = params.get("scene", "")
    if scene not in scene_keys:
        scene = ""
    filters = {f.key: params.get(f.key, "") for f in spec.filters}
    try:
        size = int(params.get("size", PAGE_SIZE_CHOICES[0]))
    except ValueError:
        size = PAGE_SIZE_CHOICES[0]
    if size not in PAGE_SIZE_CHOICES:
        size = PAGE_SIZE_CHOICES[0]
    state = ListState(q=q, sort=sort, scene=scene, filters=filters, page_size=size)
    for d in spec.date_filters:
        _parse_range(params, d, state)
    return state


def _parse_range(params: QueryDict, d: DateRangeFilter, state: ListState) -> None:
    bounds: list[datetime.date | None] = []
    bad = False
    for name in (d.param_from, d.param_to):
        text = params.get(name, "").strip()[:20]
        state.raw_dates[name] = text
        day = parse_day(text) if text else None
        if text and day is None:
            bad = True
        bounds.append(day)
    start, end = bounds
    if bad:
        state.errors.append(
            _("%(label)s：日期格式不正确，请按 2026-10-05 的格式填写") % {"label": d.label}
        )
        return
    if start is not None and end is not None and start > end:
        state.errors.append(_("%(label)s：开始日期晚于结束日期") % {"label": d.label})
        return
    if start is not None or end is not None:
        state.dates[d.key] = (start, end)


def _default_scene(queryset: QuerySet[Any], spec: ListSpec) -> str:
    """The first scene that has rows for this viewer, so an admin or a director, who owns
    no customers, does not land on an empty 我负责的: one query of an EXISTS per scene
    (each an index lookup), not one query each."""
    candidates = spec.scenes[:-1]
    if not candidates:
        return spec.scenes[-1].key if spec.scenes else ""
    parts: list[str] = []
    params: list[Any] = []
    for scene in candidates:
        sql, args = queryset.filter(scene.q).order_by().values("pk")[:1].query.sql_with_params()
        parts.append(f"EXISTS({sql})")
        params.extend(args)
    with connections[queryset.db].cursor() as cur:
        cur.execute("SELECT " + ", ".join(parts), params)
        found = cur.fetchone()
    for scene, has_rows in zip(candidates, found, strict=True):
        if has_rows:
            return scene.key
    return spec.scenes[-1].key


def apply_list_state(queryset: QuerySet[Any], spec: ListSpec, state: ListState) -> QuerySet[Any]:
    """Scene, search, filters, date ranges and ordering applied to an already-scoped
    queryset."""
    return _ordered(_filtered(queryset, spec, state), spec, state)


def _filtered(
    queryset: QuerySet[Any], spec: ListSpec, state: ListState, *, page: bool = False
) -> QuerySet[Any]:
    qs = queryset
    for scene in spec.scenes:
        if scene.key == state.scene:
            qs = qs.filter(scene.page_q if page and scene.page_q is not None else scene.q)
    if state.q and (spec.search_fields or spec.extra_search):
        if state.search_cond is None:
            cond = search_q(spec, state.q, model=qs.model)
            if spec.extra_search is not None:
                cond |= spec.extra_search(state.q)
            state.search_cond = cond
        qs = qs.filter(state.search_cond)
    for flt in spec.filters:
        value = state.filters.get(flt.key, "")
        if value:
            cond_or_none = flt.q(value)
            if cond_or_none is not None:
                qs = qs.filter(cond_or_none)
    for d in spec.date_filters:
        if d.key in state.dates:
            qs = qs.filter(d.q(*state.dates[d.key]))
    return qs


def search_q(spec: ListSpec, text: str, *, model: type[Any] | None = None) -> Q:
    """Any of the spec's ``search_fields`` contains ``text``: the fields an index covers
    (the first of ``search_indexes`` that answers a term of this length) through one
    query of that index each, the others with ``icontains``. With ``model`` (the list's),
    several index answers are one ``pk IN (… UNION …)``: an OR of them (order number,
    customer, member) made SQLite walk the sort index testing each row, and PostgreSQL
    too (3.8–4.5 s at 1,000,000 orders)."""
    cond = Q()
    plain: list[str] = []
    by_index: dict[tuple[str, TrigramIndex | GramIndex], list[str]] = {}
    for name in spec.search_fields:
        for prefix, index in spec.search_indexes:
            col = name.removeprefix(prefix) if name.startswith(prefix) else None
            if col in index.columns and index.answers(text):
                by_index.setdefault((prefix, index), []).append(col)
                break
        else:
            plain.append(name)
    answers: list[Q] = []
    for (prefix, index), cols in by_index.items():
        indexed = index.q(text, cols, prefix=prefix)
        if indexed is None:  # a common short term: icontains finds a page at once
            plain += [prefix + c for c in cols]
        else:
            answers.append(indexed)
    if model is not None and len(answers) > 1:
        cond = _union_of(model, answers)
    else:
        for answer in answers:
            cond |= answer
    for name in plain:
        cond |= Q(**{f"{name}__icontains": text})
    return cond


def _union_of(model: type[Any], conds: list[Q]) -> Q:
    """Rows matching any of ``conds`` as ``pk IN (ids of the first UNION …)``, each part
    served by its own index."""
    parts: list[str] = []
    params: list[Any] = []
    for cond in conds:
        query = model._base_manager.filter(cond).order_by().values("pk").query
        try:
            sql, args = query.sql_with_params()
        except EmptyResultSet:  # e.g. an empty id list: that part has no row
            continue
        parts.append(sql)
        params.extend(args)
    if not parts:
        return Q(pk__in=[])
    return Q(pk__in=RawSQL(" UNION ".join(parts), params))  # noqa: S611 - the ORM's own SQL


def _sort_column(spec: ListSpec, state: ListState) -> tuple[str | JoinedSort, bool] | None:
    if not state.sort:
        return None
    col = next(c for c in spec.columns if c.key == state.sort.lstrip("-"))
    assert col.sort is not None
    return col.sort, state.sort.startswith("-")


def _ordered(qs: QuerySet[Any], spec: ListSpec, state: ListState) -> QuerySet[Any]:
    sort = _sort_column(spec, state)
    if sort is not None:
        by, desc = sort
        if isinstance(by, JoinedSort):
            return qs.order_by(*by.ordering(desc))
        return qs.order_by(("-" if desc else "") + by, "-pk" if desc else "pk")
    for d in spec.date_filters:
        if d.orders and d.key in state.dates:
            return qs.order_by(f"-{d.lookup}", "-pk")
    if spec.default_sort:
        return qs.order_by(spec.default_sort, "-pk")
    return qs


def page_segments(queryset: QuerySet[Any], spec: ListSpec, state: ListState) -> list[Segment]:
    """The list's rows for fetching a page (``queryset``: the list's ``page_queryset``;
    scenes by their ``page_q``), as parts whose concatenation is the list's order
    (``apply_list_state``): one, or two for a nullable ``JoinedSort``."""
    qs = _filtered(queryset, spec, state, page=True)
    sort = _sort_column(spec, state)
    if sort is not None and isinstance(sort[0], JoinedSort):
        return sort[0].segments(qs, sort[1])
    return [Segment(_ordered(qs, spec, state))]


def export_rows(spec: ListSpec, qs: QuerySet[Any]) -> tuple[list[str], Any]:
    cols = [c for c in spec.columns if c.export]
    headers = [str(c.label) for c in cols]
    rows = ([c.export_value(obj) for c in cols] for obj in qs.iterator(chunk_size=2000))
    return headers, rows


# ---------------------------------------------------------------------- counting, pages


@dataclass
class ListPager:
    """One page of rows from one capped count and one slice (never Paginator's second
    count). ``num_pages`` is None while the count is capped."""

    number: int
    size: int
    count: int
    capped: bool
    rows: list[Any]
    has_next: bool

    @property
    def num_pages(self) -> int | None:
        if self.capped:
            return None
        return max(1, -(-self.count // self.size))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def previous_page_number(self) -> int:
        return self.number - 1

    @property
    def next_page_number(self) -> int:
        return self.number + 1

    @property
    def object_list(self) -> list[Any]:
        return self.rows


def count_cap() -> int:
    return int(getattr(settings, "LIST_COUNT_CAP", 0) or COUNT_CAP)


def count_capped(qs: QuerySet[Any], *, exact: bool = False) -> tuple[int, bool]:
    """(count, capped): COUNT over at most ``count_cap()`` + 1 rows unless asked to be
    exact — exact while that is cheap, "10,000+" when it would not be."""
    if exact:
        return qs.order_by().count(), False
    cap = count_cap()
    n = qs.order_by()[: cap + 1].count()
    if n > cap:
        return cap, True
    return n, False


def _with_count(rows_qs: QuerySet[Any], counted: QuerySet[Any], exact: bool) -> QuerySet[Any]:
    """``rows_qs`` with the (capped) count of ``counted`` as a column: a subquery that does
    not depend on the row, so both databases compute it once, and the page costs one
    query instead of a count and a fetch."""
    inner = counted.order_by()
    if not (inner.query.annotations or inner.query.distinct or inner.query.values_select):
        inner = inner.values("pk")  # the count needs no columns nor select_related joins
    if not exact:
        inner = inner[: count_cap() + 1]
    try:
        sql, params = inner.query.sql_with_params()
    except EmptyResultSet:  # e.g. ``.none()`` for a role without the list: nothing to count
        return rows_qs
    counted_sql = f"SELECT COUNT(*) FROM ({sql}) AS counted"  # noqa: S608 - the ORM's own SQL
    return rows_qs.annotate(_list_count=RawSQL(counted_sql, params))  # noqa: S611


def paginate(
    qs: QuerySet[Any],
    *,
    size: int,
    page: str,
    exact: bool = False,
    rows_qs: QuerySet[Any] | None = None,
    segments: Sequence[Segment] = (),
) -> ListPager:
    """One page of ``qs``, counted (up to ``count_cap()`` unless ``exact``) in the same
    query. ``rows_qs``: the same rows written for fetching a page (e.g. walking the sort
    index, ``core.db.plans.unindexed``), while ``qs`` is counted; ``segments``: the same
    rows as querysets read one after the other (``page_segments``)."""
    try:
        number = max(1, int(page))
    except (TypeError, ValueError):
        number = 1
    parts = list(segments) or [Segment(rows_qs if rows_qs is not None else qs)]
    offset = (number - 1) * size
    rows, n_row = _fetch(parts, qs, exact, offset, size + 1)
    if n_row is not None:
        n = int(n_row)
    elif not rows and offset == 0:
        n = 0  # the first page is empty: so is the list
    else:
        # Past the last page, no rows, or rows wrapped by the queryset's own iterable (the
        # audit log's entries): the count alone, then (past the end) the last page.
        n = qs.order_by().count() if exact else qs.order_by()[: count_cap() + 1].count()
    cap = count_cap()
    capped = not exact and n > cap
    count = cap if capped else n
    if not rows and number > 1 and not capped:
        number = min(number, max(1, -(-count // size)))
        offset = (number - 1) * size
        rows, _n = _fetch(parts, qs, exact, offset, size + 1)
    return ListPager(
        number=number,
        size=size,
        count=count,
        capped=capped,
        rows=rows[:size],
        has_next=len(rows) > size,
    )


def _fetch(
    parts: list[Segment], counted: QuerySet[Any], exact: bool, offset: int, limit: int
) -> tuple[list[Any], Any]:
    """``limit`` rows from ``offset`` of ``parts`` read one after the other, and the capped
    count of ``counted``, carried by the first fetch that has rows (None when none did).
    A part that ends before ``offset`` is counted, to know where the next one starts."""
    rows: list[Any] = []
    count = None
    for i, part in enumerate(parts):
        if count is None:
            got = list(part.page(offset, limit, lambda q: _with_count(q, counted, exact)))
            if got:
                first = got[0]
                count = (
                    first.get("_list_count")
                    if isinstance(first, dict)
                    else getattr(first, "_list_count", None)
                )
        else:
            got = list(part.page(offset, limit))
        if not got and offset and i < len(parts) - 1:
            # It has at most ``offset`` rows (none from there): counted up to there.
            offset -= part.rows.order_by()[:offset].count()
            continue
        rows += got
        limit -= len(got)
        if limit <= 0:
            break
        offset = 0
    return rows, count


# --------------------------------------------------------------------------- posts


def list_key_of(request: HttpRequest, spec: ListSpec) -> str:
    if spec.key:
        return spec.key
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return str(match.view_name)
    return spec.export_name


def _export_selected(spec: ListSpec) -> BatchAction:
    def handler(ctx: BatchContext) -> HttpResponseBase:
        from salesops.core.xlsx import xlsx_response

        headers, rows = export_rows(spec, ctx.selected)
        audit_record(
            actor=ctx.actor,
            action=AuditAction.EXPORT,
            object_type=spec.export_name,
            note=_("导出所选 %(n)d 条：id=%(ids)s")
            % {"n": len(ctx.ids), "ids": ",".join(str(i) for i in ctx.ids)},
        )
        return xlsx_response(filename=f"{spec.export_name}.xlsx", headers=headers, rows=rows)

    return BatchAction(
        "export_selected",
        gettext_lazy("导出所选"),
        handler,
        allowed=lambda v: v.can_export,
        icon="bi-download",
    )


def batch_actions_for(spec: ListSpec, viewer: Viewer) -> list[BatchAction]:
    """The spec's actions plus 导出所选 for every exportable list, as far as the viewer
    may use them."""
    if not spec.selectable:
        return []
    actions = list(spec.batch_actions)
    if spec.export:
        actions.insert(0, _export_selected(spec))
    return [a for a in actions if a.allows(viewer)]


def _selected_ids(request: HttpRequest) -> list[int]:
    out: list[int] = []
    seen: set[int] = set()
    for raw in request.POST.getlist("ids")[:MAX_BATCH]:
        try:
            pk = int(raw)
        except ValueError:
            continue
        if pk not in seen:
            seen.add(pk)
            out.append(pk)
    return out


def _run_batch(
    request: HttpRequest,
    *,
    queryset: QuerySet[Any],
    spec: ListSpec,
    state: ListState,
    viewer: Viewer,
    back: str,
) -> HttpResponseBase:
    key = request.POST.get("batch", "")
    action = next((a for a in batch_actions_for(spec, viewer) if a.key == key), None)
    if action is None:
        raise PermissionDenied(_("您没有执行该批量操作的权限"))
    ids = _selected_ids(request)
    if not ids:
        messages.warning(request, _("请先勾选要操作的记录"))
        return HttpResponseRedirect(back)
    # Re-filter through the viewer's scope: an id outside it is ignored, and said so.
    found = set(queryset.filter(pk__in=ids).values_list("pk", flat=True))
    kept = [i for i in ids if i in found]
    ignored = len(ids) - len(kept)
    if ignored:
        messages.warning(
            request,
            _("%(n)d 条所选记录不在您的数据范围内，已忽略") % {"n": ignored},
        )
    if not kept:
        return HttpResponseRedirect(back)
    value = request.POST.get("value", "").strip()[:100]
    if has_control_chars(value):
        messages.error(request, str(CONTROL_MESSAGE))
        return HttpResponseRedirect(back)
    ctx = BatchContext(
        request=request,
        viewer=viewer,
        actor=request.user,  # type: ignore[arg-type]
        selected=_ordered(queryset.filter(pk__in=kept), spec, state),
        ids=kept,
        value=value,
    )
    try:
        result = action.handler(ctx)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return HttpResponseRedirect(back)
    if isinstance(result, HttpResponseBase):
        return result
    messages.success(request, result)
    return HttpResponseRedirect(back)


def _post(
    request: HttpRequest,
    *,
    queryset: QuerySet[Any],
    spec: ListSpec,
    state: ListState,
    viewer: Viewer,
) -> HttpResponseBase:
    from salesops.core.scenes import (
        saved_scene_create,
        saved_scene_delete,
        saved_scene_set_default,
    )

    back = request.get_full_path()
    what = request.POST.get("list_action", "")
    if what == "batch":
        return _run_batch(
            request, queryset=queryset, spec=spec, state=state, viewer=viewer, back=back
        )
    actor: User = request.user  # type: ignore[assignment]
    try:
        if what == "save_scene":
            scene = saved_scene_create(
                actor=actor,
                list_key=list_key_of(request, spec),
                name=request.POST.get("name", ""),
                query=state.query(),
                is_default=request.POST.get("is_default") == "1",
            )
            messages.success(request, _("场景“%(name)s”已保存") % {"name": scene.name})
        elif what in ("delete_scene", "default_scene", "undefault_scene"):
            try:
                pk = int(request.POST.get("scene_id", ""))
            except ValueError:
                pk = 0
            if what == "delete_scene":
                saved_scene_delete(actor=actor, pk=pk)
                messages.success(request, _("场景已删除"))
            else:
                saved_scene_set_default(actor=actor, pk=pk, is_default=what == "default_scene")
                messages.success(request, _("默认场景已更新"))
        else:
            raise PermissionDenied(_("未知的列表操作"))
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return HttpResponseRedirect(back)


# ------------------------------------------------------------------------------ page


def list_page(
    request: HttpRequest,
    *,
    queryset: QuerySet[Any],
    spec: ListSpec,
    template: str = "core/list_page.html",
    context: dict[str, Any] | None = None,
    page_queryset: QuerySet[Any] | None = None,
) -> HttpResponseBase:
    """Render a list page (or just its table for htmx, or an .xlsx export), or answer a
    POST from it: a batch action over selected rows or a saved-scene change.

    ``page_queryset``: the same rows as ``queryset``, written for fetching one page (a
    plan that walks the sort index); ``queryset`` still serves the count, the export and
    the batch actions."""
    from salesops.core.selectors import saved_scenes_for

    viewer = request_viewer(request)
    list_key = list_key_of(request, spec)
    saved = saved_scenes_for(request.user, list_key)  # type: ignore[arg-type]
    params: QueryDict = request.GET
    keys = _state_keys(spec)
    if not any(k in params for k in keys):
        default = next((s for s in saved if s.is_default), None)
        if default is not None:
            params = QueryDict(default.query)
    state = _state(params, spec)
    if spec.scenes and not state.scene:
        if spec.default_scene_with_rows:
            state.scene = _default_scene(queryset, spec)
        else:
            state.scene = spec.scenes[0].key

    if request.method == "POST":
        return _post(request, queryset=queryset, spec=spec, state=state, viewer=viewer)

    qs = apply_list_state(queryset, spec, state)
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

    exact = request.GET.get("count") == "exact"
    segments = page_segments(queryset if page_queryset is None else page_queryset, spec, state)
    pager = paginate(
        qs, size=state.page_size, page=request.GET.get("page", "1"), exact=exact, segments=segments
    )
    actions = batch_actions_for(spec, viewer)
    rows_out = [
        {
            "obj": obj,
            "pk": getattr(obj, "pk", None),
            "cells": [
                {"value": c.display(obj), "link": c.link(obj) if c.link else "", "money": c.money}
                for c in spec.columns
            ],
            "link": spec.row_link(obj) if spec.row_link else "",
        }
        for obj in pager.rows
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
    current = state.query()
    ctx: dict[str, Any] = {
        "spec": spec,
        "state": state,
        "page": pager,
        "paginator": pager,
        "rows": rows_out,
        "headers": header_cells,
        "scene_links": [
            {
                "key": s.key,
                "label": s.label,
                "active": s.key == state.scene and not any(x.query == current for x in saved),
                "url": "?" + state.query(scene=s.key, page=""),
            }
            for s in spec.scenes
        ],
        "saved_scenes": [
            {
                "pk": s.pk,
                "name": s.name,
                "is_default": s.is_default,
                "active": s.query == current,
                "url": "?" + s.query if s.query else "?" + urlencode({"q": ""}),
            }
            for s in saved
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
        "date_widgets": [
            {
                "key": d.key,
                "label": d.label,
                "param_from": d.param_from,
                "param_to": d.param_to,
                "value_from": state.raw_dates.get(d.param_from, ""),
                "value_to": state.raw_dates.get(d.param_to, ""),
            }
            for d in spec.date_filters
        ],
        "list_errors": state.errors,
        "page_query": state.query(count="exact") if exact else current,
        "pager_params": [
            (k, v)
            for k, v in {**state.params(), **({"count": "exact"} if exact else {})}.items()
            if k != "size"
        ],
        "export_url": "?" + state.query(export="xlsx"),
        "count_exact_url": "?" + state.query(count="exact"),
        "count_cap_label": format_count(count_cap()) + "+",
        "reset_url": request.path,
        "can_export": viewer.can_export,
        "can_import": viewer.can_import,
        "page_sizes": PAGE_SIZE_CHOICES,
        "batch_actions": actions,
        "selectable": bool(actions),
        "column_count": len(header_cells) + (1 if actions else 0),
    }
    if context:
        ctx.update(context)
    htmx = getattr(request, "htmx", None)
    if htmx and htmx.target == "list-table":
        return render(request, "core/_list_table.html", ctx)
    return render(request, template, ctx)
