from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from salesops.core.models import Notification
from salesops.core.navigation import menu_for


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_menu": [], "nav_unread": 0}
    return {
        "nav_menu": menu_for(user, request.path),  # type: ignore[arg-type]
        "nav_unread": Notification.objects.filter(user=user, read_at__isnull=True).count(),
    }
