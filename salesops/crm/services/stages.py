"""Sales processes (阶段组) and their stages, kept by admins and sales directors. A stage is
identified by its position: editing the lines renames or re-rates the stage in that
place (its opportunities keep it); removing a stage that opportunities are in is refused.
Every change is audited (a plan of the company)."""

from __future__ import annotations

import dataclasses

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record
from salesops.core.errors import FieldError, PermissionDeniedError, ServiceError
from salesops.core.models import AuditAction, RoleCode, User
from salesops.core.text import has_control_chars
from salesops.crm.models import Opportunity, Stage, StageGroup
from salesops.org.models import Department
from salesops.sales.services._common import viewer_of

MAX_STAGES = 12
# The seed's 销售流程 (also frozen in migration 0005, which creates it on install).
DEFAULT_STAGES = (
    ("初步接洽", 10),
    ("需求分析", 25),
    ("方案报价", 50),
    ("商务谈判", 75),
    ("签约", 90),
)


@dataclasses.dataclass(frozen=True)
class StageLine:
    name: str
    probability: int


def parse_stage_lines(text: str) -> list[StageLine]:
    """One stage per line: ``名称 概率`` (space, comma or tab; the % sign optional)."""
    out: list[StageLine] = []
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        for sep in ("，", ",", "\t"):
            line = line.replace(sep, " ")
        parts = line.replace("%", "").replace("％", "").split()
        if len(parts) < 2 or not parts[-1].isdigit():
            raise ServiceError(
                "invalid_input",
                _("第 %(n)d 行应为“阶段名称 赢率”，例如“需求分析 25”") % {"n": n},
                field="stages",
            )
        out.append(StageLine(" ".join(parts[:-1]), int(parts[-1])))
    return out


def ensure_default_stage_group() -> StageGroup:
    """The default sales process, made again from the seed if it is gone (a database
    flushed after migrating, as test servers do)."""
    group, created = StageGroup.objects.get_or_create(
        is_default=True, defaults={"name": _("标准销售流程")}
    )
    if created or not group.stages.exists():
        for order, (name, probability) in enumerate(DEFAULT_STAGES, start=1):
            Stage.objects.get_or_create(
                group=group, order=order, defaults={"name": name, "probability": probability}
            )
    return group


def _require_admin(actor: User | None) -> None:
    viewer = viewer_of(actor)
    if viewer is not None and not viewer.has_role(RoleCode.DIRECTOR):
        raise PermissionDeniedError(_("只有管理员和销售总监可以配置销售流程"))


def _check(name: str, lines: list[StageLine]) -> None:
    errors: list[FieldError] = []
    if not name or len(name) > 64 or has_control_chars(name):
        errors.append(FieldError("name", _("请填写阶段组名称（不超过64个字符）")))
    if not lines:
        errors.append(FieldError("stages", _("至少需要一个阶段")))
    if len(lines) > MAX_STAGES:
        errors.append(FieldError("stages", _("阶段不能超过 %(n)d 个") % {"n": MAX_STAGES}))
    names = [ln.name for ln in lines]
    if len(set(names)) != len(names):
        errors.append(FieldError("stages", _("阶段名称不能重复")))
    for ln in lines:
        if len(ln.name) > 32 or has_control_chars(ln.name):
            errors.append(FieldError("stages", _("阶段名称不能超过32个字符")))
        if not 0 <= ln.probability <= 100:
            errors.append(FieldError("stages", _("赢率应在 0 到 100 之间")))
    if errors:
        raise ServiceError.invalid(errors)


def _describe(group: StageGroup) -> str:
    return " → ".join(f"{s.name} {s.probability}%" for s in group.stages.order_by("order"))


@transaction.atomic
def stage_group_save(
    *,
    actor: User | None,
    group: StageGroup | None,
    name: str,
    departments: list[Department],
    lines: list[StageLine],
) -> StageGroup:
    _require_admin(actor)
    name = name.strip()
    _check(name, lines)
    same_name = StageGroup.objects.filter(name=name)
    if group is not None:
        same_name = same_name.exclude(pk=group.pk)
    if same_name.exists():
        raise ServiceError("duplicate", _("阶段组 %(g)s 已存在") % {"g": name}, field="name")
    before_stages, before_depts = "", ""
    if group is None:
        group = StageGroup.objects.create(name=name)
    else:
        group = StageGroup.objects.select_for_update().get(pk=group.pk)
        before_stages = _describe(group)
        before_depts = "、".join(d.name for d in group.departments.order_by("name"))
        group.name = name
        group.save(update_fields=["name"])
    current = list(group.stages.order_by("order"))
    removed = current[len(lines) :]
    used = [s.name for s in removed if Opportunity.objects.filter(stage=s).exists()]
    if used:
        raise ServiceError(
            "stage_in_use",
            _("阶段 %(s)s 中还有商机，不能删除；请先把商机移到其他阶段") % {"s": "、".join(used)},
            field="stages",
            status=409,
        )
    Stage.objects.filter(pk__in=[s.pk for s in removed]).delete()
    # Orders are unique per group: park the kept stages out of the way first.
    for s in current[: len(lines)]:
        Stage.objects.filter(pk=s.pk).update(order=s.order + 1000)
    for i, ln in enumerate(lines, start=1):
        if i <= len(current):
            Stage.objects.filter(pk=current[i - 1].pk).update(
                name=ln.name, probability=ln.probability, order=i
            )
        else:
            Stage.objects.create(group=group, name=ln.name, probability=ln.probability, order=i)
    if not group.is_default:
        group.departments.set(departments)
    after_depts = "、".join(d.name for d in group.departments.order_by("name"))
    audit_record(
        actor=actor,
        action=AuditAction.CREATE if not before_stages else AuditAction.UPDATE,
        obj=group,
        changes={
            "stages": (before_stages, _describe(group)),
            "departments": (before_depts, after_depts),
        },
    )
    return group
