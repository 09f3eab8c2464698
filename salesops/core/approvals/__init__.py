"""The approval engine (审批流).

A module registers its document type once (``register_document_type``), starts an
approval with one call (``approval_submit``) and reacts to the outcome through the
callbacks it registered. Approvers act with ``approval_act``; the submitter may
``approval_cancel`` (撤回) a pending request or ``approval_resubmit`` one sent back (退回);
``approval_submit_again`` submits a document whose last request may have been sent back.
"""

from __future__ import annotations

from salesops.core.approvals.registry import (
    DocumentType,
    document_type,
    document_types,
    register_document_type,
)
from salesops.core.approvals.services import (
    StepSpec,
    approval_act,
    approval_cancel,
    approval_flow_create,
    approval_flow_update,
    approval_resubmit,
    approval_submit,
    approval_submit_again,
)

__all__ = [
    "DocumentType",
    "StepSpec",
    "approval_act",
    "approval_cancel",
    "approval_flow_create",
    "approval_flow_update",
    "approval_resubmit",
    "approval_submit",
    "approval_submit_again",
    "document_type",
    "document_types",
    "register_document_type",
]
