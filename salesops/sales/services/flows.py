"""Default approval flows of the sales documents (see ``salesops.sales.doctypes``)."""

from __future__ import annotations

from salesops.core.approvals import StepSpec, approval_flow_create
from salesops.core.models import ApprovalFlow, SignMode
from salesops.sales.doctypes import DEFAULT_FLOWS


def ensure_flow(doc_type: str) -> None:
    """Create the default flow of ``doc_type`` when the company has none (active or not)."""
    if ApprovalFlow.objects.filter(doc_type=doc_type).exists():
        return
    _label, name, step, role = DEFAULT_FLOWS[doc_type]
    approval_flow_create(
        actor=None,
        doc_type=doc_type,
        name=str(name),
        steps=[StepSpec(name=str(step), mode=SignMode.ORSIGN, role=role)],
    )
