"""The role-aware sidebar menu, assembled from the menu groups and entries that the
installed modules registered (``core.registry``). An entry whose URL name does not
resolve is a configuration error and fails the page (and the system check)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse

from salesops.core.access import viewer_for
from salesops.core.models import RoleCode, User
from salesops.core.registry import MenuItem, menu_groups

STAFF = (
    RoleCode.DIRECTOR,
    RoleCode.MANAGER,
    RoleCode.REP,
    RoleCode.MARKETING,
    RoleCode.FINANCE,
)
EVERYONE = (*STAFF, RoleCode.MEMBER)
ADMIN_ONLY: tuple[str, ...] = ()  # admins see every entry; nobody else sees these


def _shown(item: MenuItem, viewer: Any) -> bool:
    if not (viewer.is_admin or viewer.role in item.roles):
        return False
    return item.visible is None or item.visible(viewer)


def menu_for(user: User, current_path: str) -> list[dict[str, Any]]:
    viewer = viewer_for(user)
    groups: list[dict[str, Any]] = []
    for group, items in menu_groups():
        entries: list[dict[str, Any]] = []
        for item in items:
            if not _shown(item, viewer):
                continue
            url = reverse(item.url_name)
            active = current_path == url or (url != "/" and current_path.startswith(url))
            entries.append({"url": url, "label": item.label, "icon": item.icon, "active": active})
        if entries:
            groups.append({"label": group.label, "items": entries})
    return groups
