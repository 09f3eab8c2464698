"""Form helpers shared by every module's screens."""

from __future__ import annotations

from django import forms

from salesops.core.errors import ServiceError


def apply_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Attach a ServiceError's messages to the form's fields (or the form as a whole), so
    a rule enforced by a service shows next to the field like any form validation."""
    errors = exc.errors or []
    if not errors:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return
    for err in errors:
        form.add_error(err.field if err.field in form.fields else None, str(err.message))
