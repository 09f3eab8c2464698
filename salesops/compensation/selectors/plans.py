"""Reads of plan versions: finance and admins see every version; nobody else sees any.

Also the plan reads that runs, statements, payouts and adjustments share: which version
is in force for a month, its parsed rank plan, the shipped seed plan.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from salesops.compensation.engine.plan import RankPlan, parse_plan
from salesops.compensation.errors import RunInputError
from salesops.compensation.models import CompPlanVersion, PlanStatus
from salesops.compensation.rights import is_finance
from salesops.core.access import viewer_for
from salesops.core.errors import NotFoundError, PermissionDeniedError
from salesops.core.models import User
from salesops.core.selectors import AuditEntry, audit_for_object

SEED_PLAN_PATH = settings.PROJECT_DIR / "plans" / "seed-rank-plan.toml"
SEED_EFFECTIVE_FROM = dt.date(2000, 1, 1)


def rank_plan_of(version: CompPlanVersion) -> RankPlan:
    plan = parse_plan(version.text, f"{version.code} v{version.version}")
    if not isinstance(plan, RankPlan):
        raise RunInputError(_("方案 %(name)s 不是职级奖金方案") % {"name": version})
    return plan


def plan_kind_of(version: CompPlanVersion) -> str:
    """``rank`` or ``commission`` as written in the stored text's ``[plan]`` table."""
    try:
        doc = tomllib.loads(version.text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return ""
    header = doc.get("plan")
    kind = header.get("kind") if isinstance(header, dict) else None
    return kind if isinstance(kind, str) else ""


class PlanVersionsInForce:
    """The rank-plan version in force for any number of months with one query (a payout
    batch spans many): the candidate versions are read once, each kind worked out once.

    Among ACTIVE or SUPERSEDED rank-plan versions with ``effective_from`` on or before the
    month, the latest ``effective_from`` wins, then the highest version. ``None`` when no
    version is stored yet: then the seed plan applies, which
    ``services.plans.plan_version_in_force`` stores on first use.
    """

    def __init__(self, *, until: dt.date | None = None) -> None:
        candidates = CompPlanVersion.objects.filter(
            status__in=(PlanStatus.ACTIVE, PlanStatus.SUPERSEDED)
        ).order_by("-effective_from", "-version")
        if until is not None:
            candidates = candidates.filter(effective_from__lte=until.replace(day=1))
        self._candidates = list(candidates)
        self._rank: dict[int, bool] = {}

    def for_month(self, period: dt.date) -> CompPlanVersion | None:
        first = period.replace(day=1)
        for version in self._candidates:
            if version.effective_from > first:
                continue
            if version.pk not in self._rank:
                self._rank[version.pk] = plan_kind_of(version) == "rank"
            if self._rank[version.pk]:
                return version
        return None


def seed_rank_plan() -> RankPlan:
    """The shipped seed plan as read from ``plans/seed-rank-plan.toml``."""
    plan = parse_plan(SEED_PLAN_PATH.read_text(encoding="utf-8"), str(SEED_PLAN_PATH))
    if not isinstance(plan, RankPlan):
        raise RunInputError(_("种子方案不是职级奖金方案"))
    return plan


def plans_for(user: User) -> QuerySet[CompPlanVersion]:
    """Every plan version, for a finance user or an admin (403 for anyone else)."""
    if not is_finance(viewer_for(user)):
        raise PermissionDeniedError(_("只有财务或管理员可以查看奖金方案"))
    return CompPlanVersion.objects.select_related("created_by")


def plan_version_for_user(user: User, pk: Any) -> CompPlanVersion:
    try:
        key = int(pk)
    except (TypeError, ValueError):
        key = 0
    found = plans_for(user).filter(pk=key).first()
    if found is None:
        raise NotFoundError(_("奖金方案版本不存在"))
    return found


def previous_version(version: CompPlanVersion) -> CompPlanVersion | None:
    """The version of the same family just below this one (the diff's left side)."""
    return (
        CompPlanVersion.objects.filter(code=version.code, version__lt=version.version)
        .order_by("-version")
        .first()
    )


def plan_audit_rows(version: CompPlanVersion) -> list[AuditEntry]:
    return audit_for_object(version)
