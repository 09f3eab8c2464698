from __future__ import annotations

from django.urls import URLPattern, path

from salesops.compensation import views_statements as views

urlpatterns: list[URLPattern] = [
    path("runs/<int:pk>/members/<str:member_no>/", views.statement, name="statement"),
    path(
        "runs/<int:pk>/members/<str:member_no>/pdf/",
        views.statement_pdf_view,
        name="statement_pdf",
    ),
    path("my/", views.my_statements, name="my_statements"),
    path("lines/<int:line_id>/dispute/", views.dispute_open_view, name="dispute_open"),
    path("disputes/", views.disputes, name="disputes"),
    path("disputes/<int:pk>/", views.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/reply/", views.dispute_reply_view, name="dispute_reply"),
    path("disputes/<int:pk>/close/", views.dispute_close_view, name="dispute_close"),
]
