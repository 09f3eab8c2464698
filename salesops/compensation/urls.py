from __future__ import annotations

from django.urls import path

from salesops.compensation import views

app_name = "compensation"

urlpatterns = [
    path("runs/", views.runs, name="runs"),
    path("runs/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", views.run_progress, name="run_progress"),
    path("runs/<int:pk>/results/", views.run_results, name="run_results"),
    path("runs/<int:pk>/members/<str:member_no>/", views.statement, name="statement"),
    path("my/", views.my_statements, name="my_statements"),
]
