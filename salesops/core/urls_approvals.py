"""URLs of the approval centre, notifications and the audit log (included by
``salesops.core.urls`` under app_name "core")."""

from __future__ import annotations

from django.urls import path

from salesops.core import views_approvals as v
from salesops.core import views_audit

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
    path("audit/", views_audit.audit_log, name="audit"),
]
