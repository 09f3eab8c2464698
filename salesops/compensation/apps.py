from __future__ import annotations

from importlib import import_module
from typing import Any

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


def _deferred(target: str) -> Any:
    """A callback that imports ``module:function`` when first called (services import
    models, which must not be imported while the app registry is loading)."""
    module, name = target.split(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(import_module(module), name)(*args, **kwargs)

    call.__name__ = name
    return call


def _url(name: str) -> Any:
    def url(object_id: str) -> str:
        from django.urls import NoReverseMatch, reverse

        try:
            return reverse(name, args=[object_id])
        except NoReverseMatch:
            return ""

    return url


class CompensationConfig(AppConfig):
    name = "salesops.compensation"
    label = "compensation"
    verbose_name = _("奖金结算")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from salesops.compensation import doctypes
        from salesops.core.approvals.registry import register_document_type

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
