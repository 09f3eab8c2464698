"""Document types known to the approval engine.

A module registers each of its document types once, usually from its ``AppConfig.ready``::

    register_document_type(
        "org.sponsor_change",
        label=_("推荐人变更"),
        on_approved=sponsor_change_approved,
        on_rejected=sponsor_change_rejected,
        on_returned=sponsor_change_returned,
        url=lambda object_id: reverse("org:sponsor_change", args=[object_id]),
        can_view=sponsor_change_visible_to,
    )

Callbacks are called with the ``ApprovalRequest`` (positionally) inside the transaction
of the action that decided it, so a failing callback rolls the decision back. A callback
that declares an ``actor`` keyword parameter also receives the user who decided.

``can_view(user, object_id)`` says who may read the document: they may read its approval
request too (status, steps, history), so someone who sees a sponsor change, e.g. the director
whose step comes later, can follow its 审批详情 link.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _

from salesops.core.errors import ServiceError

if TYPE_CHECKING:
    from salesops.core.models import ApprovalRequest, User

Callback = Callable[..., Any]


@dataclass(frozen=True)
class DocumentType:
    doc_type: str
    label: str | Promise
    on_approved: Callback
    on_rejected: Callback
    on_returned: Callback | None = None
    url: Callable[[str], str] | None = None
    on_cancelled: Callback | None = None
    can_view: Callable[[User, str], bool] | None = None

    def visible_to(self, user: User, object_id: str) -> bool:
        """Whether ``user`` may read the document (and so its approval request)."""
        return self.can_view is not None and bool(self.can_view(user, object_id))

    def document_url(self, object_id: str) -> str:
        """The document's own page, or "" when the module gave none. A module whose link
        does not resolve is a configuration error and fails loudly."""
        if self.url is None:
            return ""
        return str(self.url(object_id))


_REGISTRY: dict[str, DocumentType] = {}


def register_document_type(
    doc_type: str,
    *,
    label: str | Promise,
    on_approved: Callback,
    on_rejected: Callback,
    on_returned: Callback | None = None,
    url: Callable[[str], str] | None = None,
    on_cancelled: Callback | None = None,
    can_view: Callable[[User, str], bool] | None = None,
) -> DocumentType:
    """Register (or re-register, e.g. on autoreload) a document type."""
    if not doc_type or len(doc_type) > 64:
        raise ValueError("doc_type must be 1..64 characters")
    entry = DocumentType(
        doc_type=doc_type,
        label=label,
        on_approved=on_approved,
        on_rejected=on_rejected,
        on_returned=on_returned,
        url=url,
        on_cancelled=on_cancelled,
        can_view=can_view,
    )
    _REGISTRY[doc_type] = entry
    return entry


def unregister_document_type(doc_type: str) -> None:
    """For tests that register a throw-away type."""
    _REGISTRY.pop(doc_type, None)


def document_type(doc_type: str) -> DocumentType:
    try:
        return _REGISTRY[doc_type]
    except KeyError:
        raise ServiceError(
            "unknown_doc_type", _("未注册的单据类型：%(t)s") % {"t": doc_type}, field="doc_type"
        ) from None


def document_types() -> list[DocumentType]:
    return sorted(_REGISTRY.values(), key=lambda d: d.doc_type)


def doc_type_label(doc_type: str) -> str:
    entry = _REGISTRY.get(doc_type)
    return str(entry.label) if entry else doc_type


def run_callback(callback: Callback | None, request: ApprovalRequest, actor: User | None) -> None:
    if callback is None:
        return
    try:
        params = inspect.signature(callback).parameters
    except (TypeError, ValueError):
        params = {}  # type: ignore[assignment]
    takes_actor = "actor" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
    if takes_actor:
        callback(request, actor=actor)
    else:
        callback(request)


# Who among the holders of an approver role decides for a submitter: the org module
# registers a ranking that walks the org chart; without one, every holder in id order.
ApproverRanking = Callable[[list["User"], "User"], list["User"]]
_ranking: list[ApproverRanking] = []


def register_approver_ranking(ranking: ApproverRanking) -> None:
    """Set how role approvers are chosen and ordered (``ranking(candidates, submitter)``
    returns the candidates who should decide, nearest first)."""
    _ranking[:] = [ranking]


def rank_role_approvers(candidates: list[User], submitter: User) -> list[User]:
    return _ranking[0](candidates, submitter) if _ranking else list(candidates)
