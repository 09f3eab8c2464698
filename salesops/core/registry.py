"""The module registry: each app plugs itself in from its own ``AppConfig.ready()``.

A module declares, in one ``register_module(Module(...))`` call, its URL prefix and URL
module, its API routers, its menu groups and entries, its importers, its dashboard panels,
its scheduled jobs and the object types that take attachments (approval document types go through
``core.approvals.registry.register_document_type`` from the same ``ready()``). Core only
iterates over what was registered: nothing central lists the modules, so adding one touches
nothing outside it except ``INSTALLED_APPS``.

Everything here fails loudly. A URL module or router that does not import, a menu entry
whose URL name does not resolve, two modules claiming one prefix or one importer key: each
raises ``ImproperlyConfigured`` when the site is assembled (``check_registry`` runs as a
Django system check too), never a silently missing page.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import import_module
from typing import TYPE_CHECKING, Any, Literal

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise

if TYPE_CHECKING:
    from salesops.core.access import Viewer

Label = str | Promise


@dataclass(frozen=True)
class MenuGroup:
    """A heading of the sidebar. ``order`` places it among every module's groups."""

    key: str
    label: Label
    order: int


@dataclass(frozen=True)
class MenuItem:
    """One sidebar entry, in a group that this or another module declares.

    ``roles`` are the role codes that see it (admins see every entry unless ``visible``
    says otherwise); ``visible`` is an optional further rule on the viewer, for entries
    that only make sense to some of the people holding a role (我的奖金 for members).
    """

    group: str
    url_name: str
    label: Label
    icon: str
    roles: tuple[str, ...]
    order: int = 0
    visible: Callable[[Viewer], bool] | None = None


@dataclass(frozen=True)
class Card:
    """A figure on the home page."""

    key: str
    label: Label
    value: str
    url: str = ""


@dataclass(frozen=True)
class DashboardPanel:
    """Home-page figures of a module: ``cards(viewer, today)`` returns the cards this
    viewer sees (none: the panel is left out). Bounded aggregate queries only."""

    key: str
    order: int
    cards: Callable[[Viewer, datetime.date], Sequence[Card]]


@dataclass(frozen=True)
class ScheduledJob:
    """Work that runs by itself every ``every`` (e.g. reclaiming customers to the public
    pool, resetting stuck runs). ``run`` is ``"module:function"``, called with ``now``
    (an aware datetime); it must be idempotent, since a job whose last run died is run
    again. It returns a short text for the job's log."""

    key: str
    label: Label
    every: datetime.timedelta
    run: str

    def function(self) -> Callable[..., Any]:
        return _resolve(self.run)


DetailPlace = Literal["tab", "info", "actions"]


@dataclass(frozen=True)
class DetailPart:
    """A piece another module adds to a detail page it does not own (the CRM's 跟进记录 and
    联系人 tabs on sales' customer page): ``render(request, obj)`` returns the HTML (the
    module's own template, rendered) or "" to show nothing; ``place`` is a tab, a block
    under the page's main facts, or buttons beside its actions."""

    object_type: str  # "<app label>.<model>", e.g. "sales.customer"
    key: str
    label: Label
    render: Callable[[Any, Any], str]
    place: DetailPlace = "tab"
    order: int = 100


@dataclass(frozen=True)
class Attachable:
    """An object type that takes attachments (附件, ``core.attachments``), and who may do
    what with them. ``can_view(viewer, object_id)``: may list and download them;
    ``can_edit(viewer, object_id)``: may upload and delete. Both are False for an id
    outside the viewer's scope (the answer is then 404, as for the object itself). The
    object type names the model (``apps.get_model``), which the orphan sweep reads."""

    object_type: str  # "<app label>.<model>", e.g. "sales.contract"
    can_view: Callable[[Viewer, str], bool]
    can_edit: Callable[[Viewer, str], bool]


@dataclass(frozen=True)
class Module:
    """What one app brings to the site."""

    app: str  # the app label
    url_prefix: str | None = None  # "" for the site root, "sales/" …
    urls: str | None = None  # dotted path of the URL module (with ``app_name``)
    api: Sequence[str] = ()  # dotted paths of modules that define ``router``
    menu_groups: Sequence[MenuGroup] = ()
    menu: Sequence[MenuItem] = ()
    importers: Sequence[str] = ()  # "module:Class" of core.imports.engine.Importer subclasses
    panels: Sequence[DashboardPanel] = ()
    jobs: Sequence[ScheduledJob] = ()
    detail_parts: Sequence[DetailPart] = ()
    attachables: Sequence[Attachable] = ()


@dataclass
class _Registry:
    modules: dict[str, Module] = field(default_factory=dict)


_REGISTRY = _Registry()


def register_module(module: Module) -> Module:
    """Declare what an app brings (call from its ``AppConfig.ready``). Registering the
    same app again replaces its entry (Django may call ``ready`` twice in tests)."""
    _REGISTRY.modules[module.app] = module
    return module


def unregister_module(app: str) -> None:
    _REGISTRY.modules.pop(app, None)


def modules() -> list[Module]:
    """Registered modules in the order of ``INSTALLED_APPS``."""
    from django.apps import apps

    order = {cfg.label: i for i, cfg in enumerate(apps.get_app_configs())}
    return sorted(_REGISTRY.modules.values(), key=lambda m: order.get(m.app, len(order)))


def _resolve(target: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        module = import_module(module_name)
    except ImportError as exc:
        raise ImproperlyConfigured(f"registry: cannot import {module_name!r}: {exc}") from exc
    if not attr:
        return module
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImproperlyConfigured(f"registry: {module_name!r} has no {attr!r}") from None


# --------------------------------------------------------------------------- assembly


def url_modules() -> list[tuple[str, str]]:
    """(prefix, URL module) of every module with pages; a prefix is claimed once."""
    seen: dict[str, str] = {}
    out: list[tuple[str, str]] = []
    for module in modules():
        if module.urls is None:
            continue
        prefix = module.url_prefix or ""
        if prefix in seen and prefix != "":
            raise ImproperlyConfigured(
                f"registry: URL prefix {prefix!r} claimed by {seen[prefix]} and {module.app}"
            )
        seen[prefix] = module.app
        _resolve(module.urls)
        out.append((prefix, module.urls))
    return out


def api_routers() -> list[Any]:
    """The ``router`` of every registered API module, in module order."""
    routers = []
    for module in modules():
        for path in module.api:
            router = getattr(_resolve(path), "router", None)
            if router is None:
                raise ImproperlyConfigured(f"registry: {path!r} defines no ``router``")
            routers.append(router)
    return routers


def menu_groups() -> list[tuple[MenuGroup, list[MenuItem]]]:
    """Every declared group with its entries (from any module), both in order."""
    groups: dict[str, MenuGroup] = {}
    for module in modules():
        for group in module.menu_groups:
            if group.key in groups:
                raise ImproperlyConfigured(f"registry: menu group {group.key!r} declared twice")
            groups[group.key] = group
    items: dict[str, list[MenuItem]] = {key: [] for key in groups}
    for module in modules():
        for item in module.menu:
            if item.group not in items:
                raise ImproperlyConfigured(
                    f"registry: menu entry {item.url_name!r} of {module.app} is in "
                    f"undeclared group {item.group!r}"
                )
            items[item.group].append(item)
    ordered = sorted(groups.values(), key=lambda g: (g.order, g.key))
    return [(g, sorted(items[g.key], key=lambda i: i.order)) for g in ordered]


def importer_classes() -> dict[str, type]:
    """Importer classes by their ``entity`` key; a key is owned by one module."""
    out: dict[str, type] = {}
    for module in modules():
        for target in module.importers:
            cls = _resolve(target)
            key = getattr(cls, "entity", None)
            if not key:
                raise ImproperlyConfigured(f"registry: importer {target!r} has no entity key")
            if key in out:
                raise ImproperlyConfigured(f"registry: importer key {key!r} registered twice")
            out[key] = cls
    return out


def dashboard_panels() -> list[DashboardPanel]:
    return sorted((p for m in modules() for p in m.panels), key=lambda p: (p.order, p.key))


def detail_parts(object_type: str, place: DetailPlace) -> list[DetailPart]:
    """The parts registered for a detail page at one place, in order."""
    parts = [
        p
        for m in modules()
        for p in m.detail_parts
        if p.object_type == object_type and p.place == place
    ]
    return sorted(parts, key=lambda p: (p.order, p.key))


def rendered_detail_parts(
    request: Any, object_type: str, obj: Any, *, lazy_url: str = ""
) -> dict[str, Any]:
    """What other modules add to one detail page, rendered for its template: ``part_tabs``
    and ``part_actions`` as (key, label, html), ``part_info`` likewise; a part that
    renders "" is left out.

    ``lazy_url``: the page's own URL, which answers ``?part=<key>`` with one tab
    (``render_detail_part``). Then only the first tab is rendered with the page; the
    others are placeholders that htmx fills when the tab is first shown. A customer's
    page has nine tabs, each its own scoped queries and template: rendering all of them
    was most of the page's time (bench/bench_crm.py)."""
    from django.utils.html import format_html
    from django.utils.http import urlencode
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    out: dict[str, Any] = {}
    places: tuple[DetailPlace, ...] = ("tab", "info", "actions")
    for place in places:
        rendered: list[tuple[str, Label, Any]] = []
        for part in detail_parts(object_type, place):
            html: str
            if lazy_url and place == "tab" and rendered:  # the first shown tab is eager
                html = format_html(
                    '<div class="so-lazy-part" hx-get="{}" hx-trigger="intersect once" '
                    'hx-swap="outerHTML"><span class="text-muted small">{}</span></div>',
                    f"{lazy_url}?{urlencode({'part': part.key})}",
                    gettext("加载中…"),
                )
            else:
                html = part.render(request, obj)
            if html:
                rendered.append((part.key, part.label, mark_safe(html)))  # noqa: S308
        out[f"part_{place}s" if place != "info" else "part_info"] = rendered
    return out


def render_detail_part(request: Any, object_type: str, obj: Any, key: str) -> str | None:
    """One tab of a detail page (the answer to a lazy tab's ``?part=<key>``); None when no
    tab of that key is registered."""
    for part in detail_parts(object_type, "tab"):
        if part.key == key:
            return part.render(request, obj)
    return None


def scheduled_jobs() -> dict[str, ScheduledJob]:
    out: dict[str, ScheduledJob] = {}
    for module in modules():
        for job in module.jobs:
            if job.key in out:
                raise ImproperlyConfigured(f"registry: scheduled job {job.key!r} twice")
            out[job.key] = job
    return out


def attachables() -> dict[str, Attachable]:
    """The object types that take attachments; a type is registered by one module and
    names a model."""
    from django.apps import apps

    out: dict[str, Attachable] = {}
    for module in modules():
        for entry in module.attachables:
            if entry.object_type in out:
                raise ImproperlyConfigured(
                    f"registry: attachments of {entry.object_type!r} registered twice"
                )
            try:
                apps.get_model(entry.object_type)
            except (LookupError, ValueError):
                raise ImproperlyConfigured(
                    f"registry: attachments of {entry.object_type!r} (of {module.app}) "
                    "name no model"
                ) from None
            out[entry.object_type] = entry
    return out


def _problems() -> list[str]:
    from django.urls import NoReverseMatch, reverse

    problems: list[str] = []
    assemblies: list[Callable[[], object]] = [
        url_modules,
        api_routers,
        importer_classes,
        attachables,
    ]
    for assemble in assemblies:
        try:
            assemble()
        except ImproperlyConfigured as exc:
            problems.append(str(exc))
    try:
        for job in scheduled_jobs().values():
            job.function()
    except ImproperlyConfigured as exc:
        problems.append(str(exc))
    try:
        groups = menu_groups()
    except ImproperlyConfigured as exc:
        return [*problems, str(exc)]
    for _group, items in groups:
        for item in items:
            try:
                reverse(item.url_name)
            except NoReverseMatch:
                problems.append(f"registry: menu entry {item.url_name!r} resolves to no URL")
    return problems


def check_registry(app_configs: Iterable[Any] | None = None, **kwargs: Any) -> list[Any]:
    """System check: every declared piece resolves (URL names of menu entries included)."""
    from django.core import checks

    return [checks.Error(text, id="salesops.registry") for text in _problems()]
