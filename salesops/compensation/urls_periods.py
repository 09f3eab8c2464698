from __future__ import annotations

from django.urls import URLPattern, path

from salesops.compensation import views_periods as v

urlpatterns: list[URLPattern] = [
    path("periods/", v.periods, name="periods"),
    path("periods/<int:pk>/", v.period_detail, name="period_detail"),
    path("periods/<int:pk>/close/", v.period_close, name="period_close"),
    path("runs/<int:pk>/reset/", v.run_reset, name="run_reset"),
]
