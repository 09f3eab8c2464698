"""The REST API at /api/: bearer-token auth, one error body for every failure, and each
app's router mounted here. Permission rules are the selectors', same as the UI."""

from __future__ import annotations

import importlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from salesops.core.errors import ServiceError
from salesops.core.models import User
from salesops.core.tokens import token_issue, token_user


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_user(token)
        if user is not None:
            request.user = user
        return user


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    fields: list[FieldErrorOut] = []


api = NinjaAPI(
    title="SalesOps API",
    version="1.0",
    description="SalesOps 营销与销售管理系统 API. Authenticate with POST /api/auth/token, "
    "then send `Authorization: Bearer <token>`.",
    auth=BearerAuth(),
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, fields: Any = ()) -> Any:
    return api.create_response(
        request, {"code": code, "message": message, "fields": list(fields)}, status=status
    )


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    fields = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        fields.append({"field": ".".join(loc), "message": str(err.get("msg", ""))})
    return _error(request, 422, "invalid_input", _("输入有误，请检查后重试"), fields)


@api.exception_handler(ValidationError)
def _django_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = []
    if hasattr(exc, "error_dict"):
        for name, errs in exc.message_dict.items():
            fields += [{"field": name, "message": m} for m in errs]
    else:
        fields = [{"field": "", "message": m} for m in exc.messages]
    return _error(request, 422, "invalid_input", _("输入有误，请检查后重试"), fields)


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return _error(request, 401, "unauthorized", _("未登录或令牌无效"))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return _error(request, 404, "not_found", _("对象不存在或无权访问"))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return _error(request, 403, "permission_denied", str(exc) or _("没有权限"))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return _error(request, exc.status_code, "http_error", str(exc))


class TokenIn(Schema):
    username: str
    password: str


class TokenOut(Schema):
    token: str
    expires_at: str


class MeOut(Schema):
    id: int
    username: str
    display_name: str
    role: str
    data_scope: str
    employee_id: int | None
    member_id: int | None


@api.post("/auth/token", auth=None, response={200: TokenOut, 401: ErrorOut}, tags=["auth"])
def auth_token(request: HttpRequest, payload: TokenIn) -> Any:
    key, row = token_issue(username=payload.username, password=payload.password)
    return {"token": key, "expires_at": row.expires_at.isoformat()}


@api.get("/me", response=MeOut, tags=["auth"])
def me(request: HttpRequest) -> Any:
    from salesops.core.access import viewer_for

    viewer = viewer_for(request.auth)  # type: ignore[attr-defined]
    return {
        "id": viewer.user.pk,
        "username": viewer.user.username,
        "display_name": str(viewer.user),
        "role": viewer.role,
        "data_scope": viewer.scope,
        "employee_id": viewer.employee.pk if viewer.employee else None,
        "member_id": viewer.member.pk if viewer.member else None,
    }


# Each module's router; paths inside the routers are absolute below /api/.
for _module in (
    "salesops.core.api_approvals",
    "salesops.core.api_imports",
    "salesops.org.api",
    "salesops.sales.api",
):
    try:
        _router = importlib.import_module(_module).router
    except ModuleNotFoundError as exc:  # a module still being written must not break the rest
        if exc.name != _module:
            raise
        continue
    api.add_router("", _router)
