"""Every field of our models has a label of its own: the audit log and the 操作记录 tabs show
a field by its verbose_name, and Django's default ("created by") is English in the Chinese UI.

Walks every model of every ``salesops.*`` app, so a model added later is held to it too.
"""

from __future__ import annotations

import re

from django.apps import apps
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import translation

# Labels that are proper names and stay ASCII in Chinese too.
PROPER_NAMES = {"API"}
CJK = re.compile(r"[\u3400-\u9fff\uff00-\uffef\u3000-\u303f]")
# Django's own user fields (username, email, is_staff, …) keep Django's translated labels.
ABSTRACT_USER_FIELDS = {f.name for f in AbstractUser._meta.get_fields()}


def _labelled_fields() -> list[tuple[str, models.Field]]:
    found = []
    for model in apps.get_models():
        if not model._meta.app_config.name.startswith("salesops."):
            continue
        is_user = issubclass(model, AbstractUser)
        for field in [*model._meta.local_fields, *model._meta.local_many_to_many]:
            if field.auto_created or (is_user and field.name in ABSTRACT_USER_FIELDS):
                continue
            found.append((f"{model._meta.label}.{field.name}", field))
    return found


def test_the_walk_sees_our_models() -> None:
    names = {name for name, _field in _labelled_fields()}
    # A walk that found nothing would pass everything below.
    assert len(names) > 250
    assert {
        "core.ApprovalTask.approver",
        "core.User.role",
        "org.SponsorHistory.recorded_at",
        "sales.Order.created_by",
        "compensation.CommissionRun.created_by",
    } <= names
    assert "core.User.username" not in names
    assert "core.AuditLog.id" not in names


def test_every_field_has_an_explicit_label() -> None:
    default = [
        name
        for name, field in _labelled_fields()
        if str(field.verbose_name) == field.name.replace("_", " ")
    ]
    assert default == []


def test_labels_are_chinese_in_chinese_and_english_in_english() -> None:
    not_chinese, not_english = [], []
    for name, field in _labelled_fields():
        with translation.override("zh-hans"):
            zh = str(field.verbose_name)
        with translation.override("en"):
            en = str(field.verbose_name)
        if zh not in PROPER_NAMES and not CJK.search(zh):
            not_chinese.append(f"{name}: {zh}")
        if CJK.search(en):
            not_english.append(f"{name}: {en}")
    assert not_chinese == []
    assert not_english == []


def test_the_labels_this_change_fixed() -> None:
    meta = apps.get_model("compensation", "CompPlanVersion")._meta
    order = apps.get_model("sales", "Order")._meta
    task = apps.get_model("core", "ApprovalTask")._meta
    history = apps.get_model("org", "SponsorHistory")._meta
    with translation.override("zh-hans"):
        assert str(meta.get_field("text").verbose_name) == "方案内容（TOML）"
        assert str(order.get_field("total_fen").verbose_name) == "订单金额（分）"
        assert str(order.get_field("created_by").verbose_name) == "创建人"
        assert str(task.get_field("approver").verbose_name) == "审批人"
        assert str(history.get_field("recorded_at").verbose_name) == "记录时间"
    with translation.override("en"):
        assert str(task.get_field("approver").verbose_name) == "Approver"
        assert str(order.get_field("created_by").verbose_name) == "Created by"
