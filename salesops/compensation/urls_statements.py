from __future__ import annotations

from django.urls import URLPattern, path

from salesops.compensation import views_statements as views

urlpatterns: list[URLPattern] = [
    path("runs/<int:pk>/members/<str:member_no>/", views.statement, name="statement"),
    path("my/", views.my_statements, name="my_statements"),
]
