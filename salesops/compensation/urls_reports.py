"""Report screens (合规报告, 旅游奖励, 倍增测算), mounted under /comp/ by ``urls.py``."""

from __future__ import annotations

from django.urls import URLPattern, path

from salesops.compensation import views_reports as v

urlpatterns: list[URLPattern] = [
    path("reports/compliance/", v.compliance, name="compliance"),
    path("reports/trips/", v.trips, name="trips"),
    path("reports/projection/", v.projection, name="projection"),
]
