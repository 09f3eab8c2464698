"""Domain errors: a stable code plus a message in the user's language.

Services raise ``ServiceError``; views show ``message`` next to ``field`` and the API turns
it into the one error body every endpoint uses (see ``salesops.api``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field as dc_field

from django.utils.functional import Promise


@dataclass
class FieldError:
    field: str
    message: str | Promise


@dataclass
class ServiceError(Exception):
    code: str
    message: str | Promise
    field: str = ""
    errors: list[FieldError] = dc_field(default_factory=list)
    status: int = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    @classmethod
    def invalid(cls, errors: list[FieldError]) -> ServiceError:
        """``invalid_input`` for field errors collected by a service: the first one is
        the message, all of them go to the form or the API's ``fields``."""
        return cls("invalid_input", errors[0].message, field=errors[0].field, errors=errors)

    def renamed(self, fields: Mapping[str, str]) -> ServiceError:
        """This error with its field names mapped (a service names the object, a form or
        an API client its own input, e.g. ``new_sponsor`` → ``new_sponsor_no``)."""
        self.field = fields.get(self.field, self.field)
        for err in self.errors:
            err.field = fields.get(err.field, err.field)
        return self

    def as_dict(self) -> dict[str, object]:
        fields = [{"field": e.field, "message": str(e.message)} for e in self.errors]
        if self.field and not fields:
            fields = [{"field": self.field, "message": str(self.message)}]
        return {"code": self.code, "message": str(self.message), "fields": fields}


class PermissionDeniedError(ServiceError):
    def __init__(self, message: str | Promise, code: str = "permission_denied") -> None:
        super().__init__(code=code, message=message, status=403)


class NotFoundError(ServiceError):
    def __init__(self, message: str | Promise, code: str = "not_found") -> None:
        super().__init__(code=code, message=message, status=404)
