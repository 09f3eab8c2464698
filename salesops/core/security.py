"""Security headers Django 5.2 does not set itself: a Content-Security-Policy
(``SALESOPS_CSP``, the strict default policy is in settings.py) and
``Cache-Control: private, no-store`` on every response the application builds.

The middleware sits right after whitenoise's, so static files (answered by whitenoise
before it, with their far-future caching) never pass through it, and everything else
does: pages, htmx partials, API answers, downloads, redirects and error pages (an
exception becomes a response in the inner layers first).

No-store on everything, not just on authenticated responses: a page's shape never depends
on a cookie the cache sees (a login page, a 403 for a logged-out visitor, a redirect to the
login), nothing dynamic here is worth caching, and a shared or browser cache keeping a
customer list or a token answer after logout is the leak this prevents. A response that
already forbids storing (Django's ``never_cache`` on the login view) keeps its own header.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

CACHE_CONTROL = "private, no-store"


def csp_header_name(report_only: bool) -> str:
    if report_only:
        return "Content-Security-Policy-Report-Only"
    return "Content-Security-Policy"


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        policy: str = settings.SALESOPS_CSP
        header = csp_header_name(settings.SALESOPS_CSP_REPORT_ONLY)
        if policy and header not in response:
            response[header] = policy
        if "no-store" not in response.get("Cache-Control", ""):
            response["Cache-Control"] = CACHE_CONTROL
        return response
