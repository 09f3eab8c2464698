from __future__ import annotations

import importlib

from django.urls import URLPattern, URLResolver, path

from salesops.compensation import views

app_name = "compensation"

urlpatterns: list[URLPattern | URLResolver] = [
    path("runs/", views.runs, name="runs"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/results/", views.run_results, name="run_results"),
]

# Each feature's screens keep their own url list (``urlpatterns`` in urls_<feature>.py).
for _feature in ("plans", "periods", "statements", "payouts", "reports"):
    _name = f"salesops.compensation.urls_{_feature}"
    try:
        urlpatterns += importlib.import_module(_name).urlpatterns
    except ModuleNotFoundError as exc:
        if exc.name != _name:
            raise
