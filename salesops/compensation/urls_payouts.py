"""Payout screens (奖金发放), mounted under /comp/ by ``compensation/urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, path

from salesops.compensation import views_payouts as v

urlpatterns: list[URLPattern] = [
    path("payouts/", v.payouts, name="payouts"),
    path("payouts/build/", v.payout_build, name="payout_build"),
    path("payouts/<int:pk>/", v.payout_detail, name="payout_detail"),
    path("payouts/<int:pk>/submit/", v.payout_submit, name="payout_submit"),
    path("payouts/<int:pk>/export/", v.payout_export, name="payout_export"),
]
