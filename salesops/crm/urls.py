"""Pages of the CRM (客户关系), mounted under /crm/."""

from __future__ import annotations

from django.urls import path

from salesops.crm.views import (
    aftersales,
    assignment,
    followups,
    leads,
    opportunities,
    pool,
    pool_settings,
    stages,
    visit_rules,
)

app_name = "crm"

urlpatterns = [
    path("leads/", leads.leads, name="leads"),
    path("leads/new/", leads.lead_new, name="lead_new"),
    path("lead-assignment/", assignment.assignment_rules, name="assignment_rules"),
    path("leads/<int:pk>/", leads.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/convert/", leads.lead_convert_view, name="lead_convert"),
    path("duplicates/", leads.duplicates, name="duplicates"),
    path("pool/", pool.pool, name="pool"),
    path("pool/<int:pk>/claim/", pool.claim, name="pool_claim"),
    path("pool-settings/", pool_settings.pool_settings, name="pool_settings"),
    path("pool-settings/new/", pool_settings.pool_settings_edit, name="pool_settings_new"),
    path("pool-settings/<int:pk>/", pool_settings.pool_settings_edit, name="pool_settings_edit"),
    path(
        "pool-settings/<int:pk>/delete/",
        pool_settings.pool_settings_delete,
        name="pool_settings_delete",
    ),
    path("customers/<int:pk>/release/", pool.release, name="customer_release"),
    path("customers/<int:pk>/lock/", pool.lock, name="customer_lock"),
    path("followups/", followups.followups, name="followups"),
    path("customers/<int:pk>/followup/", followups.customer_followup, name="customer_followup"),
    path("leads/<int:pk>/followup/", followups.lead_followup, name="lead_followup"),
    path("customers/<int:pk>/contacts/new/", followups.contact_new, name="contact_new"),
    path("contacts/<int:pk>/edit/", followups.contact_edit, name="contact_edit"),
    path("contacts/<int:pk>/delete/", followups.contact_remove, name="contact_delete"),
    path("opportunities/", opportunities.opportunities, name="opportunities"),
    path("kanban/", opportunities.kanban_page, name="kanban"),
    path("stages/", stages.stage_groups, name="stage_groups"),
    path("stages/new/", stages.stage_group_edit, name="stage_group_new"),
    path("stages/<int:pk>/", stages.stage_group_edit, name="stage_group_edit"),
    path("opportunities/<int:pk>/", opportunities.opportunity_detail, name="opportunity_detail"),
    path("opportunities/<int:pk>/edit/", opportunities.opportunity_edit, name="opportunity_edit"),
    path(
        "opportunities/<int:pk>/stage/", opportunities.opportunity_stage, name="opportunity_stage"
    ),
    path(
        "opportunities/<int:pk>/close/",
        opportunities.opportunity_close_view,
        name="opportunity_close",
    ),
    path("opportunities/<int:pk>/move/", opportunities.kanban_move, name="kanban_move"),
    path(
        "customers/<int:pk>/opportunities/new/",
        opportunities.opportunity_new,
        name="opportunity_new",
    ),
    path("visits/", aftersales.visits, name="visits"),
    path("visits/<int:pk>/", aftersales.visit_detail, name="visit_detail"),
    path("visit-rules/", visit_rules.visit_rules, name="visit_rules"),
    path("visit-rules/new/", visit_rules.visit_rule_edit, name="visit_rule_new"),
    path("visit-rules/<int:pk>/", visit_rules.visit_rule_edit, name="visit_rule_edit"),
    path("visit-rules/<int:pk>/active/", visit_rules.visit_rule_active, name="visit_rule_active"),
    path("customers/<int:pk>/visits/new/", aftersales.visit_new, name="visit_new"),
    path("complaints/", aftersales.complaints, name="complaints"),
    path("complaints/<int:pk>/", aftersales.complaint_detail, name="complaint_detail"),
    path(
        "complaints/<int:pk>/resolve/",
        aftersales.complaint_resolve_view,
        name="complaint_resolve",
    ),
    path(
        "complaints/<int:pk>/confirm/",
        aftersales.complaint_confirm_view,
        name="complaint_confirm",
    ),
    path("customers/<int:pk>/complaints/new/", aftersales.complaint_new, name="complaint_new"),
    path("feedback/", aftersales.feedback_list, name="feedback"),
    path("feedback/<int:pk>/", aftersales.feedback_detail, name="feedback_detail"),
    path("customers/<int:pk>/feedback/new/", aftersales.feedback_new, name="feedback_new"),
]
