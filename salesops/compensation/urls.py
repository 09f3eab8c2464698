"""Pages of compensation (奖金结算), mounted under /comp/."""

from __future__ import annotations

from django.urls import path

from salesops.compensation.views import payouts, periods, plans, reports, statements
from salesops.compensation.views import runs as v

app_name = "compensation"

urlpatterns = [
    path("runs/", v.runs, name="runs"),
    path("runs/start/", v.run_start, name="run_start"),
    path("runs/<int:pk>/", v.run_detail, name="run_detail"),
    path("runs/<int:pk>/progress/", v.run_progress, name="run_progress"),
    path("runs/<int:pk>/results/", v.run_results, name="run_results"),
    path("runs/<int:pk>/reset/", periods.run_reset, name="run_reset"),
    path("plans/", plans.plans, name="plans"),
    path("plans/new/", plans.plan_new, name="plan_new"),
    path("plans/<int:pk>/", plans.plan_detail, name="plan_detail"),
    path("plans/<int:pk>/edit/", plans.plan_edit, name="plan_edit"),
    path("plans/<int:pk>/submit/", plans.plan_submit, name="plan_submit"),
    path("plans/<int:pk>/delete/", plans.plan_delete, name="plan_delete"),
    path("periods/", periods.periods, name="periods"),
    path("periods/<int:pk>/", periods.period_detail, name="period_detail"),
    path("periods/<int:pk>/close/", periods.period_close, name="period_close"),
    path("runs/<int:pk>/members/<str:member_no>/", statements.statement, name="statement"),
    path(
        "runs/<int:pk>/members/<str:member_no>/pdf/",
        statements.statement_pdf_view,
        name="statement_pdf",
    ),
    path("my/", statements.my_statements, name="my_statements"),
    path("lines/<int:line_id>/dispute/", statements.dispute_open_view, name="dispute_open"),
    path("disputes/", statements.disputes, name="disputes"),
    path("disputes/<int:pk>/", statements.dispute_detail, name="dispute_detail"),
    path("disputes/<int:pk>/reply/", statements.dispute_reply_view, name="dispute_reply"),
    path("disputes/<int:pk>/close/", statements.dispute_close_view, name="dispute_close"),
    path("payouts/", payouts.payouts, name="payouts"),
    path("payouts/build/", payouts.payout_build, name="payout_build"),
    path("payouts/<int:pk>/", payouts.payout_detail, name="payout_detail"),
    path("payouts/<int:pk>/submit/", payouts.payout_submit, name="payout_submit"),
    path("payouts/<int:pk>/export/", payouts.payout_export, name="payout_export"),
    path("reports/compliance/", reports.compliance, name="compliance"),
    path("reports/trips/", reports.trips, name="trips"),
    path("reports/projection/", reports.projection, name="projection"),
]
