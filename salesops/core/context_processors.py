from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest

from salesops.core.navigation import menu_for
from salesops.core.notifications import unread_count


def navigation(request: HttpRequest) -> dict[str, Any]:
    """The sidebar menu and the unread count, for ``base.html``.

    Every ``render_to_string(..., request=request)`` runs the context processors: a
    customer's detail page renders a dozen tabs and blocks that way, and each paid for
    the whole menu and a COUNT of the notifications (12 menus and 12 counts a page,
    about half its time). The values are callables, which the template calls when it
    reads them — only the page's layout does — and each is computed once per request."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_menu": [], "nav_unread": 0}
    return {
        "nav_menu": _once(request, "menu", lambda: menu_for(user, request.path)),  # type: ignore[arg-type]
        "nav_unread": _once(request, "unread", lambda: unread_count(user)),  # type: ignore[arg-type]
    }


def _once(request: HttpRequest, key: str, compute: Callable[[], Any]) -> Callable[[], Any]:
    cache: dict[str, Any] = request.__dict__.setdefault("_salesops_navigation", {})

    def value() -> Any:
        if key not in cache:
            cache[key] = compute()
        return cache[key]

    return value
