from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from salesops.core.navigation import menu_for
from salesops.core.notifications import unread_count


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_menu": [], "nav_unread": 0}
    return {
        "nav_menu": menu_for(user, request.path),  # type: ignore[arg-type]
        "nav_unread": unread_count(user),  # type: ignore[arg-type]
    }
