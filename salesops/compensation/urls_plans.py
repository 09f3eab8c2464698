"""URLs of the plan-version screens (picked up by ``compensation/urls.py``)."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from salesops.compensation import views_plans as v

urlpatterns: list[URLPattern | URLResolver] = [
    path("plans/", v.plans, name="plans"),
    path("plans/new/", v.plan_new, name="plan_new"),
    path("plans/<int:pk>/", v.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", v.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/submit/", v.plan_submit, name="plan_submit"),
    path("plans/<int:pk>/delete/", v.plan_delete, name="plan_delete"),
]
