from __future__ import annotations

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "salesops.org"
    label = "org"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "组织架构"

    def ready(self) -> None:
        _register_approval_documents()


def _register_approval_documents() -> None:
    """Sponsor-change requests are approved through the shared approval engine."""
    from django.urls import NoReverseMatch, reverse
    from django.utils.translation import gettext_lazy as _

    try:
        from salesops.core.approvals.registry import register_document_type
    except ModuleNotFoundError as exc:  # the engine may not be installed in every build
        if not (exc.name or "").startswith("salesops.core.approvals"):
            raise
        return
    from salesops.org.selectors import sponsor_change_visible_to
    from salesops.org.services import sponsor_changes

    def url(object_id: str) -> str:
        try:
            return reverse("org:sponsor_change_detail", args=[object_id])
        except NoReverseMatch:
            return ""

    register_document_type(
        sponsor_changes.DOC_TYPE,
        label=_("推荐人变更"),
        on_approved=sponsor_changes.sponsor_change_request_approved,
        on_rejected=sponsor_changes.sponsor_change_request_rejected,
        on_returned=sponsor_changes.sponsor_change_request_returned,
        on_cancelled=sponsor_changes.sponsor_change_request_cancelled,
        url=url,
        can_view=sponsor_change_visible_to,
    )
