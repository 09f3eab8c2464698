"""Form helpers shared by every module's screens, and ``SalesOpsForm``, the base of every
form of ours: each of its text fields refuses control characters (``core.text``, the same
rule as the API and the imports), fields added in ``__init__`` included."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.functional import lazy

from salesops.core.errors import ServiceError
from salesops.core.text import validate_no_control_chars


class NoControlCharsMixin:
    """Adds ``validate_no_control_chars`` to every ``CharField`` (and subclasses: email,
    slug, regex …) of the form just before it is cleaned."""

    def full_clean(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            if isinstance(field, forms.CharField) and (
                validate_no_control_chars not in field.validators
            ):
                field.validators.append(validate_no_control_chars)
        super().full_clean()  # type: ignore[misc]


class SalesOpsForm(NoControlCharsMixin, forms.Form):
    """The base of our forms (a test checks that every form in salesops derives from it)."""


def apply_service_error(form: forms.Form, exc: ServiceError) -> None:
    """Attach a ServiceError's messages to the form's fields (or the form as a whole), so
    a rule enforced by a service shows next to the field like any form validation."""
    errors = exc.errors or []
    if not errors:
        form.add_error(exc.field if exc.field in form.fields else None, str(exc.message))
        return
    for err in errors:
        form.add_error(err.field if err.field in form.fields else None, str(err.message))


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files in one input (附件), cleaned to a list (empty when none was chosen);
    ``core.attachments`` checks each one (type, size, content) when it is stored."""

    widget = MultipleFileInput

    def __init__(self, **kwargs: Any) -> None:
        from salesops.core.attachments import accept_attribute, allowed_text

        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", lazy(allowed_text, str)())
        super().__init__(**kwargs)
        self.widget.attrs.update({"multiple": True, "accept": accept_attribute()})

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data if item]
        return [one(data, initial)] if data else []
