from __future__ import annotations

import datetime
from importlib import import_module
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _deferred(target: str) -> Any:
    """A callback that imports ``module:function`` when first called (the services pull
    in the engine's NumPy/Polars/Arrow stack, which management commands need not load)."""
    module, name = target.split(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__name__ = name
    return call


def _url(name: str) -> Any:
    def url(object_id: str) -> str:
        from django.urls import reverse

        return reverse(name, args=[object_id])

    return url


def _has_member_record(viewer: Any) -> bool:
    return viewer.member is not None


class CompensationConfig(AppConfig):
    name = "salesops.compensation"
    label = "compensation"
    verbose_name = _("奖金结算")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from salesops.compensation import doctypes
        from salesops.core.approvals.registry import register_document_type
        from salesops.core.models import RoleCode
        from salesops.core.registry import (
            MenuGroup,
            MenuItem,
            Module,
            ScheduledJob,
            register_module,
        )

        svc = "salesops.compensation.services"
        # Each document type: label, service module, function prefix, detail url name.
        for doc_type, label, module, prefix, url_name in (
            (doctypes.PLAN_ACTIVATION, _("奖金方案生效"), "plans", "plan_activation",
             "compensation:plan_detail"),
            (doctypes.PERIOD_CLOSE, _("奖金月结"), "periods", "period_close",
             "compensation:period_detail"),
            (doctypes.PAYOUT_BATCH, _("奖金发放"), "payouts", "payout_batch",
             "compensation:payout_detail"),
        ):  # fmt: skip
            target = f"{svc}.{module}:{prefix}"
            register_document_type(
                doc_type,
                label=label,
                on_approved=_deferred(f"{target}_approved"),
                on_rejected=_deferred(f"{target}_rejected"),
                on_returned=_deferred(f"{target}_returned"),
                on_cancelled=_deferred(f"{target}_cancelled"),
                url=_url(url_name),
            )

        g = "compensation"
        finance = (RoleCode.FINANCE,)
        register_module(
            Module(
                app=self.label,
                url_prefix="comp/",
                urls="salesops.compensation.urls",
                api=tuple(
                    f"salesops.compensation.api.{name}"
                    for name in ("runs", "plans", "periods", "statements", "payouts", "reports")
                ),
                menu_groups=(MenuGroup(g, _("奖金结算"), order=50),),
                menu=(
                    MenuItem(g, "compensation:runs", _("结算批次"), "bi-calculator", finance, 10),
                    MenuItem(g, "compensation:periods", _("月结"), "bi-lock", finance, 20),
                    MenuItem(
                        g, "compensation:plans", _("奖金方案"), "bi-file-earmark-ruled", finance, 30
                    ),
                    MenuItem(g, "compensation:payouts", _("奖金发放"), "bi-bank", finance, 40),
                    MenuItem(
                        g,
                        "compensation:disputes",
                        _("奖金疑问"),
                        "bi-chat-left-dots",
                        (RoleCode.FINANCE, RoleCode.MEMBER),
                        50,
                    ),
                    MenuItem(
                        g,
                        "compensation:compliance",
                        _("合规报告"),
                        "bi-shield-check",
                        (RoleCode.FINANCE, RoleCode.DIRECTOR),
                        60,
                    ),
                    MenuItem(
                        g,
                        "compensation:projection",
                        _("倍增测算"),
                        "bi-graph-up",
                        (RoleCode.FINANCE, RoleCode.DIRECTOR),
                        70,
                    ),
                    MenuItem(
                        g,
                        "compensation:trips",
                        _("旅游奖励"),
                        "bi-airplane",
                        (RoleCode.FINANCE, RoleCode.DIRECTOR, RoleCode.MEMBER),
                        80,
                    ),
                    # Only for people who are members (an admin has no statements of their own).
                    MenuItem(
                        g,
                        "compensation:my_statements",
                        _("我的奖金"),
                        "bi-wallet2",
                        (RoleCode.MEMBER,),
                        90,
                        visible=_has_member_record,
                    ),
                ),
                jobs=(
                    ScheduledJob(
                        "compensation.reset_stale_runs",
                        _("重置超时未完成的结算"),
                        every=datetime.timedelta(minutes=5),
                        run=f"{svc}.runs:commission_runs_reset_stale",
                    ),
                ),
            )
        )
