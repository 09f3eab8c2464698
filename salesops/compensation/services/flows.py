"""Default approval flows of the compensation documents.

A company that has configured no flow for a compensation document gets one finance
approver (or-sign: any finance user other than the submitter) the first time the
document is submitted. Administrators can change it on the 审批流程 page.
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from salesops.compensation import doctypes
from salesops.core.approvals import StepSpec, approval_flow_create
from salesops.core.models import ApprovalFlow, RoleCode, SignMode


def _default_name(doc_type: str) -> str:
    return {
        doctypes.PLAN_ACTIVATION: _("奖金方案生效审批"),
        doctypes.PERIOD_CLOSE: _("奖金月结审批"),
        doctypes.PAYOUT_BATCH: _("奖金发放审批"),
    }[doc_type]


def ensure_flow(doc_type: str) -> None:
    """Create the default flow of ``doc_type`` when the company has none (active or not)."""
    if ApprovalFlow.objects.filter(doc_type=doc_type).exists():
        return
    approval_flow_create(
        actor=None,
        doc_type=doc_type,
        name=_default_name(doc_type),
        steps=[StepSpec(name=_("财务审批"), mode=SignMode.ORSIGN, role=RoleCode.FINANCE)],
    )
