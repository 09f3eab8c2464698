"""Pages of core: the approval centre, notifications, the audit log and data imports."""

from __future__ import annotations

from django.urls import path

from salesops.core.views import accounts, attachments, audit, jobs
from salesops.core.views import approvals as v
from salesops.core.views import imports as imp

app_name = "core"

urlpatterns = [
    path("approvals/", v.approvals_inbox, name="approvals_inbox"),
    path("approvals/flows/", v.approval_flows, name="approval_flows"),
    path("approvals/flows/new/", v.approval_flow_new, name="approval_flow_create"),
    path("approvals/flows/<int:pk>/", v.approval_flow_detail, name="approval_flow_detail"),
    path("approvals/flows/<int:pk>/edit/", v.approval_flow_edit, name="approval_flow_edit"),
    path("approvals/<int:pk>/", v.approval_detail, name="approval_detail"),
    path("approvals/<int:pk>/resubmit/", v.approval_request_resubmit, name="approval_resubmit"),
    path("approvals/<int:pk>/cancel/", v.approval_request_cancel, name="approval_cancel"),
    path(
        "approvals/tasks/<int:task_id>/<str:action>/",
        v.approval_task_act,
        name="approval_task_act",
    ),
    path("notifications/", v.notifications, name="notifications"),
    path("notifications/read-all/", v.notifications_read_all, name="notifications_read_all"),
    path("notifications/<int:pk>/open/", v.notification_open, name="notification_open"),
    path("notifications/<int:pk>/read/", v.notification_read, name="notification_read"),
    path("audit/", audit.audit_log, name="audit"),
    path("attachments/upload/", attachments.attachment_upload, name="attachment_upload"),
    path(
        "attachments/<int:pk>/download/",
        attachments.attachment_download,
        name="attachment_download",
    ),
    path("attachments/<int:pk>/delete/", attachments.attachment_remove, name="attachment_delete"),
    path("account/sessions/", accounts.my_sessions, name="my_sessions"),
    path("account/sessions/revoke/", accounts.my_session_revoke, name="my_session_revoke"),
    path(
        "account/sessions/end-others/",
        accounts.my_sessions_end_others,
        name="my_sessions_end_others",
    ),
    path("account/tokens/revoke/", accounts.my_token_revoke, name="my_token_revoke"),
    path("account/tokens/revoke-all/", accounts.my_tokens_revoke_all, name="my_tokens_revoke_all"),
    path("account/password/", accounts.my_password, name="my_password"),
    path("system/lockouts/", accounts.lockouts, name="lockouts"),
    path("system/lockouts/<int:pk>/unlock/", accounts.lockout_unlock_view, name="lockout_unlock"),
    path("jobs/", jobs.jobs, name="jobs"),
    path("jobs/<str:key>/run/", jobs.job_run_now, name="job_run_now"),
    path("imports/", imp.imports_index, name="imports"),
    path("imports/jobs/<int:pk>/", imp.import_job, name="import_job"),
    path("imports/jobs/<int:pk>/apply/", imp.import_job_apply_view, name="import_job_apply"),
    path(
        "imports/jobs/<int:pk>/progress/",
        imp.import_job_progress_view,
        name="import_job_progress",
    ),
    path("imports/jobs/<int:pk>/errors.csv", imp.import_job_errors, name="import_job_errors"),
    path("imports/<slug:entity>/", imp.import_upload, name="import_upload"),
    path(
        "imports/<slug:entity>/template.xlsx",
        imp.import_template_download,
        name="import_template",
    ),
]
