"""Import screens, included by ``salesops.core.urls`` (app "core")."""

from __future__ import annotations

from django.urls import path

from salesops.core import views_imports as v

urlpatterns = [
    path("imports/", v.imports_index, name="imports"),
    path("imports/jobs/<int:pk>/", v.import_job, name="import_job"),
    path("imports/jobs/<int:pk>/apply/", v.import_job_apply_view, name="import_job_apply"),
    path("imports/jobs/<int:pk>/progress/", v.import_job_progress_view, name="import_job_progress"),
    path("imports/jobs/<int:pk>/errors.csv", v.import_job_errors, name="import_job_errors"),
    path("imports/<slug:entity>/", v.import_upload, name="import_upload"),
    path("imports/<slug:entity>/template.xlsx", v.import_template_download, name="import_template"),
]
