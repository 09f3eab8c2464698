from __future__ import annotations

from django.urls import path

from salesops.org import views as v

app_name = "org"

urlpatterns = [
    path("departments/", v.departments, name="departments"),
    path("departments/new/", v.department_create_view, name="department_create"),
    path("departments/<int:pk>/edit/", v.department_edit, name="department_edit"),
    path("employees/", v.employees, name="employees"),
    path("employees/new/", v.employee_create_view, name="employee_create"),
    path("employees/<int:pk>/", v.employee_detail, name="employee_detail"),
    path("employees/<int:pk>/edit/", v.employee_edit, name="employee_edit"),
    path("chart/", v.chart, name="chart"),
    path("chart/data/", v.chart_data, name="chart_data"),
    path("members/", v.members, name="members"),
    path("members/<int:pk>/", v.member_detail, name="member_detail"),
    path("members/<int:pk>/bank/", v.member_bank_edit, name="member_bank_edit"),
    path("genealogy/", v.genealogy, name="genealogy"),
    path("genealogy/<int:pk>/children/", v.genealogy_children, name="genealogy_children"),
    path("sponsor-changes/", v.sponsor_changes, name="sponsor_changes"),
    path("sponsor-changes/new/", v.sponsor_change_create, name="sponsor_change_create"),
    path("sponsor-changes/<int:pk>/", v.sponsor_change_detail, name="sponsor_change_detail"),
]
