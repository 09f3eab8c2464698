"""Bearer-token auth for the API, with the role right an operation needs checked in the
same step — so a caller without the right gets 403 before any 400/422 about the body or
the parameters (ninja authenticates before it validates, and answers an exception raised
here through the API's handlers). Row-level scope stays with the selectors (404).

    @router.post("/comp/runs", auth=requires(finance_only))
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from ninja.security import HttpBearer

from salesops.core.access import Viewer, viewer_for
from salesops.core.models import User
from salesops.core.tokens import token_hash, token_user

# A role check: returns nothing, raises PermissionDenied / PermissionDeniedError (403).
RoleCheck = Callable[[Viewer], object]


class BearerAuth(HttpBearer):
    """``Authorization: Bearer <token>``; with ``check``, the viewer must also pass it."""

    def __init__(self, check: RoleCheck | None = None) -> None:
        super().__init__()
        self.check = check

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_user(token)
        if user is None:
            return None
        request.user = user
        # Which token made the call (DELETE /api/auth/token revokes it).
        request.api_token_hash = token_hash(token)  # type: ignore[attr-defined]
        if self.check is not None:
            self.check(viewer_for(user))
        return user


def requires(check: RoleCheck) -> BearerAuth:
    """The auth of an operation only callers passing ``check`` may use."""
    return BearerAuth(check)
