"""What every app's API router shares: the viewer behind the bearer token, money as a
string with two decimals, the page envelope and the documented error body. (The error
body itself is built by the handlers in ``salesops.api``.)"""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Schema

from salesops.core.access import Viewer, viewer_for
from salesops.core.errors import ServiceError
from salesops.core.money import round_money

PAGE_SIZE = 20
# Beyond any real list; a bigger number is an input error, not a SQL OFFSET overflow.
MAX_PAGE = 100_000


class ErrorOut(Schema):
    code: str
    message: str
    fields: list[dict[str, str]] = []


ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class PageOut(Schema):
    """The envelope of a paginated list; a subclass adds ``results``."""

    count: int
    page: int
    pages: int
    page_size: int


def api_viewer(request: HttpRequest) -> Viewer:
    return viewer_for(request.auth)  # type: ignore[attr-defined]


def money_str(value: Decimal | int | None) -> str:
    return f"{round_money(Decimal(value or 0)):.2f}"


def paginate(
    qs: QuerySet[Any],
    page: int,
    page_size: int = PAGE_SIZE,
    *,
    count_qs: QuerySet[Any] | None = None,
) -> tuple[list[Any], dict[str, int]]:
    """One page of ``qs`` and the envelope's counts; a page past the end is the last.
    ``count_qs``: the same rows, written for a cheaper count (e.g. ``qs`` walks a sort
    index, which serves the page but not a count of the whole scope)."""
    count = (count_qs if count_qs is not None else qs).count()
    pages = max(1, math.ceil(count / page_size))
    page = min(max(page, 1), pages)
    rows = list(qs[(page - 1) * page_size : page * page_size])
    return rows, {"count": count, "page": page, "pages": pages, "page_size": page_size}


def not_found(field: str, message: str) -> ServiceError:
    """The 404 of an id in a body that names nothing in the caller's scope."""
    return ServiceError("not_found", message, field=field, status=404)
