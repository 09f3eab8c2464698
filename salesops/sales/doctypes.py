"""The sales documents that go through the approval engine, and their default flows
(created the first time a document of the type is submitted, when the company has
configured none; administrators change them on the 审批流程 page)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from salesops.core.models import RoleCode

QUOTE = "sales.quote"
CONTRACT = "sales.contract"
CONTRACT_TERMINATION = "sales.contract_termination"
RECEIPT = "sales.receipt"

# doc_type: (label, default flow name, step name, approver role)
DEFAULT_FLOWS = {
    QUOTE: (_("报价审批"), _("报价折扣审批"), _("销售经理审批"), RoleCode.MANAGER),
    CONTRACT: (_("合同审批"), _("合同审批"), _("销售经理审批"), RoleCode.MANAGER),
    CONTRACT_TERMINATION: (_("合同终止"), _("合同终止审批"), _("销售总监审批"), RoleCode.DIRECTOR),
    RECEIPT: (_("回款确认"), _("回款确认"), _("财务确认"), RoleCode.FINANCE),
}
