"""Who manages compensation: runs, month closes, plans, payouts and disputes' answers.

The one definition of "finance" for the module (admins always count, through
``Viewer.has_role``). Selectors, services, views and the API all ask here.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesops.core.access import Viewer
from salesops.core.models import RoleCode

FINANCE_ROLES = (RoleCode.FINANCE,)


def is_finance(viewer: Viewer) -> bool:
    """Finance or admin: may manage runs, closes, plans and payouts."""
    return viewer.has_role(*FINANCE_ROLES)


def finance_only(viewer: Viewer, message: str | Promise | None = None) -> None:
    """Refuse anyone but finance/admin with ``PermissionDenied`` and a readable reason
    (the UI shows it on the 403 page, the API answers 403 with it)."""
    if not is_finance(viewer):
        raise PermissionDenied(message or _("只有财务或管理员可以查看结算"))
