"""Error pages a person can read: 400/403/404/405/500 in the UI's language, inside the
layout, with the reason the server gave and a way back.

Django calls the ``handler*`` views named at the end of ``salesops/urls.py``. Two cases it
has no handler for are turned into the same pages by ``ErrorPageMiddleware``: a page view
answering ``HttpResponseNotAllowed`` (405), and a ``ServiceError`` a view let through (its
own status and message). The API under ``/api/`` answers JSON itself and is left alone.
An htmx request gets the message alone (``errors/_message.html``), which ``app.js`` shows.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotAllowed,
    JsonResponse,
)
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.functional import Promise
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from salesops.core.errors import ServiceError
from salesops.core.locks import BUSY_RETRY_AFTER, busy_message, is_lock_error

logger = logging.getLogger(__name__)


def _titles() -> dict[int, tuple[str, str]]:
    """Status → (title, what to say when the server gave no reason)."""
    return {
        400: (_("请求有误"), _("提交的内容无法处理，请检查后重试。")),
        403: (_("无权访问"), _("您没有访问此页面或执行此操作的权限。")),
        404: (
            _("页面不存在"),
            _("您要找的页面或记录不存在，或者您无权查看。"),
        ),
        405: (_("不支持的操作"), _("此页面不接受这种请求方式。")),
        409: (_("无法完成操作"), _("当前状态下不能执行此操作。")),
        503: (_("系统繁忙"), busy_message()),
        500: (
            _("服务器出错"),
            _("服务器处理请求时出错，问题已记录。请稍后重试。"),
        ),
    }


def busy_response(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After`` for a request whose write met another transaction's lock
    (``locks.is_lock_error``): the API's error body under /api/, the error page elsewhere."""
    response: HttpResponse
    if _is_api(request):
        response = JsonResponse(
            {"code": "busy", "message": busy_message(), "fields": []}, status=503
        )
    else:
        try:
            response = error_response(request, 503)
        except Exception:  # the menu queries the database too
            logger.exception("the 503 page failed with the request context; rendering it bare")
            template = "errors/_message.html" if _is_htmx(request) else "errors/error.html"
            response = HttpResponse(render_to_string(template, _context(503, "")), status=503)
    response["Retry-After"] = str(BUSY_RETRY_AFTER)
    return response


def _reason(exception: BaseException | None) -> str:
    """The message a view raised with, if it is one meant for people. Django's own
    not-found (the URL resolver's dict, ``get_object_or_404``'s English sentence) is not."""
    if exception is None:
        return ""
    if isinstance(exception, ServiceError):
        return str(exception.message)
    args = getattr(exception, "args", ())
    if not args or not isinstance(args[0], str | Promise):
        return ""
    text = str(args[0])
    if text.startswith("No ") and text.endswith("matches the given query."):
        return ""
    return text


def _back_url(request: HttpRequest) -> str:
    """Where 返回上一页 goes: the referring page when it is on this site."""
    referer = request.META.get("HTTP_REFERER", "")
    try:
        host = request.get_host()
    except DisallowedHost:  # the 400 for a bad Host header must still render
        return ""
    same_site = bool(referer) and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={host}, require_https=request.is_secure()
    )
    return referer if same_site and urlsplit(referer).path != request.path else ""


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _context(status: int, reason: str) -> dict[str, Any]:
    titles = _titles()
    title, default = titles.get(status, titles[400] if status < 500 else titles[500])
    return {"status": status, "title": title, "message": reason or default}


def error_response(request: HttpRequest, status: int, reason: str = "") -> HttpResponse:
    """The error page (or, for htmx, the message partial) for ``status``."""
    context = _context(status, reason)
    if _is_htmx(request):
        return render(request, "errors/_message.html", context, status=status)
    context["back_url"] = _back_url(request)
    return render(request, "errors/error.html", context, status=status)


def bad_request(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    # A SuspiciousOperation's text is for the log, not for the person.
    reason = str(exception.message) if isinstance(exception, ServiceError) else ""
    return error_response(request, 400, reason)


def permission_denied(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return error_response(request, 403, _reason(exception))


def page_not_found(request: HttpRequest, exception: BaseException | None = None) -> HttpResponse:
    return error_response(request, 404, _reason(exception))


def server_error(request: HttpRequest) -> HttpResponse:
    """The layout with the menu when it can be built; when the error is the database (the
    menu and the unread count query it), the same page without them. A write that met
    another transaction's lock (raised anywhere, the session middleware's save included)
    is a 503 "系统繁忙" instead."""
    if is_lock_error(sys.exc_info()[1]):
        return busy_response(request)
    try:
        return error_response(request, 500)
    except Exception:
        logger.exception("the 500 page failed with the request context; rendering it bare")
    context = _context(500, "")
    template = "errors/_message.html" if _is_htmx(request) else "errors/error.html"
    return HttpResponse(render_to_string(template, context), status=500)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(request, 403, _("页面已过期或安全校验未通过，请刷新页面后重试。"))


def _method_not_allowed(request: HttpRequest, response: HttpResponseNotAllowed) -> HttpResponse:
    page = error_response(
        request, 405, _("此页面不接受 %(method)s 请求。") % {"method": request.method}
    )
    page["Allow"] = response["Allow"]
    return page


class ErrorPageMiddleware:
    """Renders the 405 and an escaped ``ServiceError`` as the error pages (pages only),
    and a view's write that met another transaction's lock as the 503 "系统繁忙"."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if isinstance(response, HttpResponseNotAllowed) and not _is_api(request):
            return _method_not_allowed(request, response)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponseBase | None:
        if isinstance(exception, ServiceError) and not _is_api(request):
            return error_response(request, exception.status, str(exception.message))
        if is_lock_error(exception):
            logger.warning("busy: %s %s: %s", request.method, request.path, exception)
            return busy_response(request)
        return None


def _is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")
