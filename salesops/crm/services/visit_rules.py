"""回访规则: when the scheduled job (``crm.visit_schedule``) plans a return visit — N days
after a contract starts or an order is placed, with a default form — kept by admins.

A rule is never deleted (its visits name it); it is switched off. A change applies to the
visits not yet planned: a visit is planned on its due day, once per rule and source, so
the tasks already made keep their dates. Every change is audited."""

from __future__ import annotations

import dataclasses

from django.db import transaction
from django.utils.translation import gettext as _

from salesops.core.audit import audit_create, audit_update, snapshot
from salesops.core.errors import FieldError, PermissionDeniedError, ServiceError
from salesops.core.models import User
from salesops.core.text import has_control_chars
from salesops.crm.models import VisitForm, VisitRule, VisitSource
from salesops.sales.services._common import viewer_of

DAYS_MAX = 3650
_AUDITED = ("name", "source", "days", "form", "active")


@dataclasses.dataclass
class VisitRuleInput:
    name: str
    source: str
    days: int | None
    form: str = VisitForm.PHONE
    active: bool = True


def _require_admin(actor: User | None) -> None:
    viewer = viewer_of(actor)
    if viewer is not None and not viewer.is_admin:
        raise PermissionDeniedError(_("只有管理员可以设置回访规则"))


def _clean(data: VisitRuleInput, rule: VisitRule | None) -> VisitRuleInput:
    errors: list[FieldError] = []
    name = (data.name or "").strip()
    if not name:
        errors.append(FieldError("name", _("请填写规则名称")))
    elif len(name) > 64 or has_control_chars(name):
        errors.append(FieldError("name", _("规则名称不能超过64个字符，且不能含控制字符")))
    if data.source not in VisitSource.values:
        errors.append(FieldError("source", _("请选择回访依据（合同开始后或订单下单后）")))
    if data.days is None:
        errors.append(FieldError("days", _("请填写间隔天数")))
    elif not 1 <= data.days <= DAYS_MAX:
        errors.append(FieldError("days", _("间隔天数应在 1 到 %(max)d 之间") % {"max": DAYS_MAX}))
    if data.form not in VisitForm.values:
        errors.append(FieldError("form", _("请选择回访形式（电话、上门或微信）")))
    if not errors and data.days is not None:
        same = VisitRule.objects.filter(source=data.source, days=data.days)
        if rule is not None:
            same = same.exclude(pk=rule.pk)
        other = same.first()
        if other is not None:
            errors.append(
                FieldError(
                    "days",
                    _("已有同样依据和天数的回访规则“%(r)s”，请修改那条规则") % {"r": other.name},
                )
            )
    if errors:
        raise ServiceError.invalid(errors)
    return dataclasses.replace(data, name=name, active=bool(data.active))


@transaction.atomic
def visit_rule_create(*, actor: User | None, data: VisitRuleInput) -> VisitRule:
    """A new return-visit rule (admins only); the next run of the job plans by it."""
    _require_admin(actor)
    values = _clean(data, None)
    rule = VisitRule.objects.create(**dataclasses.asdict(values))
    audit_create(actor=actor, obj=rule, fields=_AUDITED)
    return rule


@transaction.atomic
def visit_rule_update(*, actor: User | None, rule: VisitRule, data: VisitRuleInput) -> VisitRule:
    """Change a rule (admins only): what the job plans from now on."""
    _require_admin(actor)
    rule = VisitRule.objects.select_for_update().get(pk=rule.pk)
    values = _clean(data, rule)
    before = snapshot(rule, _AUDITED)
    for key, value in dataclasses.asdict(values).items():
        setattr(rule, key, value)
    rule.save()
    audit_update(actor=actor, obj=rule, before=before)
    return rule


@transaction.atomic
def visit_rule_set_active(*, actor: User | None, rule: VisitRule, active: bool) -> VisitRule:
    """Switch a rule on or off (停用: the job plans nothing more by it; its visits stay)."""
    _require_admin(actor)
    rule = VisitRule.objects.select_for_update().get(pk=rule.pk)
    if rule.active != active:
        before = snapshot(rule, _AUDITED)
        rule.active = active
        rule.save(update_fields=["active"])
        audit_update(
            actor=actor, obj=rule, before=before, note=_("启用规则") if active else _("停用规则")
        )
    return rule
