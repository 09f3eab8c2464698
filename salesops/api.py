"""The REST API at /api/: bearer-token auth, one error body for every failure, and each
app's router mounted here. Permission rules are the selectors', same as the UI."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Annotated, Any

from django.core.exceptions import (
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
    ValidationError,
)
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.response import HttpResponseBase
from django.urls import URLPattern, path
from django.utils.datastructures import MultiValueDict
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from ninja import Field, NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser
from ninja.responses import Status

from salesops.core import registry
from salesops.core.access import viewer_for
from salesops.core.api import types
from salesops.core.api.auth import BearerAuth
from salesops.core.errors import ServiceError
from salesops.core.locks import BUSY_RETRY_AFTER, busy_message, is_lock_error
from salesops.core.text import CONTROL_MESSAGE, NO_CONTROL_PATTERN, has_control_chars
from salesops.core.throttle import client_address
from salesops.core.tokens import token_issue, token_revoke_current
from salesops.core.uploads import upload_refusal


class FieldErrorOut(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    code: str
    message: str
    fields: list[FieldErrorOut] = []


logger = logging.getLogger(__name__)

ERROR_STATUSES = ("400", "401", "403", "404", "409", "422", "429", "500")


class ControlCharacterError(ValueError):
    """A control character (core.text: anything below U+0020 but tab, LF, CR; and DEL) in a
    string: refused everywhere (PostgreSQL cannot store NUL; an export cannot hold any)."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


def _reject_control(value: Any, path: str) -> None:
    if isinstance(value, str):
        if has_control_chars(value):
            raise ControlCharacterError(path)
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_control(key, path)
            _reject_control(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _reject_control(item, f"{path}.{i}" if path else str(i))


class SalesOpsParser(Parser):
    """JSON bodies and query strings, refusing control characters anywhere in them (the
    one rule of ``core.text``)."""

    def parse_body(self, request: HttpRequest) -> Any:
        data = json.loads(request.body)
        _reject_control(data, "")
        return data

    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            try:
                _reject_control([key, value], key)
            except ControlCharacterError as exc:
                raise NinjaValidationError(
                    [{"loc": ("query", key), "type": "control_character", "msg": ""}]
                ) from exc
        return result


def _json_not_allowed(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """ninja answers a wrong method with a bare text 405; ours carries the error body."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            body = {"code": "method_not_allowed", "message": _("不支持该请求方法"), "fields": []}
            allowed = response["Allow"]
            response = JsonResponse(body, status=405)
            response["Allow"] = allowed
        return response

    return wrapper


def _unknown_path(request: HttpRequest, rest: str = "") -> HttpResponse:
    return JsonResponse({"code": "not_found", "message": _("接口不存在"), "fields": []}, status=404)


class SalesOpsAPI(NinjaAPI):
    """Documents the one error body on every operation, so clients (and schema checkers)
    know that any 4xx/5xx answer is ``{code, message, fields}``; a wrong method or an
    unknown path below /api/ answers in the same body (not Django's HTML pages)."""

    def _get_urls(self) -> list[Any]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_not_allowed(pattern.callback)
        patterns.append(path("<path:rest>", csrf_exempt(_unknown_path), name="unknown"))
        return patterns

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        ref = "#/components/schemas/{model}"
        error_schema = ErrorOut.model_json_schema(ref_template=ref)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(error_schema.pop("$defs", {}))
        components["ErrorOut"] = error_schema
        body = {"application/json": {"schema": {"$ref": ref.format(model="ErrorOut")}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                # ninja keys an operation's own responses by int; the JSON would carry
                # "401" twice (int and str keys). One string key per status, the
                # operation's own declaration kept where it has one.
                responses = {
                    str(status): answer for status, answer in operation.get("responses", {}).items()
                }
                for status in ERROR_STATUSES:
                    responses.setdefault(status, {"description": "错误", "content": body})
                operation["responses"] = responses
        return schema


api = SalesOpsAPI(
    title="SalesOps API",
    version="1.0",
    description="SalesOps 营销与销售管理系统 API. Authenticate with POST /api/auth/token, "
    "then send `Authorization: Bearer <token>`.",
    auth=BearerAuth(),
    parser=SalesOpsParser(),
    urls_namespace="api",
)


def _error(request: HttpRequest, status: int, code: str, message: str, fields: Any = ()) -> Any:
    return api.create_response(
        request, {"code": code, "message": message, "fields": list(fields)}, status=status
    )


@api.exception_handler(ServiceError)
def _service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(request, exc.as_dict(), status=exc.status)


# Pydantic's English messages, by error type, in the user's language. ``ctx`` fills the
# limits (ge, max_length…); an unknown type falls back to a generic message, never English.
_PYDANTIC_MESSAGES: dict[str, Promise] = {
    "missing": gettext_lazy("此项为必填项"),
    "int_parsing": gettext_lazy("请输入整数"),
    "int_type": gettext_lazy("请输入整数"),
    "int_from_float": gettext_lazy("请输入整数"),
    "float_parsing": gettext_lazy("请输入数字"),
    "float_type": gettext_lazy("请输入数字"),
    "finite_number": gettext_lazy("请输入有效的数字"),
    "decimal_parsing": gettext_lazy("请输入有效的数字"),
    "decimal_type": gettext_lazy("请输入有效的数字"),
    "decimal_max_digits": gettext_lazy("数字位数过多（最多 %(max_digits)s 位）"),
    "decimal_max_places": gettext_lazy("最多保留 %(decimal_places)s 位小数"),
    "decimal_whole_digits": gettext_lazy("整数部分位数过多（最多 %(whole_digits)s 位）"),
    "greater_than_equal": gettext_lazy("不能小于 %(ge)s"),
    "greater_than": gettext_lazy("必须大于 %(gt)s"),
    "less_than_equal": gettext_lazy("不能大于 %(le)s"),
    "less_than": gettext_lazy("必须小于 %(lt)s"),
    "string_type": gettext_lazy("请输入文本"),
    "string_too_long": gettext_lazy("最多 %(max_length)s 个字符"),
    "string_too_short": gettext_lazy("至少 %(min_length)s 个字符"),
    "string_unicode": gettext_lazy("文本编码无效"),
    "bool_parsing": gettext_lazy("请输入是或否（true/false）"),
    "bool_type": gettext_lazy("请输入是或否（true/false）"),
    "date_parsing": gettext_lazy("请输入有效的日期（如 2026-10-05）"),
    "date_from_datetime_parsing": gettext_lazy("请输入有效的日期（如 2026-10-05）"),
    "date_from_datetime_inexact": gettext_lazy("请输入有效的日期（如 2026-10-05）"),
    "date_type": gettext_lazy("请输入有效的日期（如 2026-10-05）"),
    "datetime_parsing": gettext_lazy("请输入有效的时间（如 2026-10-05 14:30）"),
    "datetime_type": gettext_lazy("请输入有效的时间（如 2026-10-05 14:30）"),
    "literal_error": gettext_lazy("取值无效，可选：%(expected)s"),
    "enum": gettext_lazy("取值无效，可选：%(expected)s"),
    "list_type": gettext_lazy("请输入列表"),
    "too_long": gettext_lazy("最多 %(max_length)s 项"),
    "too_short": gettext_lazy("至少 %(min_length)s 项"),
    "dict_type": gettext_lazy("格式无效，应为对象"),
    "model_type": gettext_lazy("格式无效，应为对象"),
    "model_attributes_type": gettext_lazy("格式无效，应为对象"),
    "json_invalid": gettext_lazy("请求内容不是有效的 JSON"),
    "json_type": gettext_lazy("请求内容不是有效的 JSON"),
    "value_error": gettext_lazy("取值无效"),
    "control_character": CONTROL_MESSAGE,
    "extra_forbidden": gettext_lazy("不支持的字段"),
    "decimal_float": gettext_lazy('请以字符串（如 "12.50"）或整数传入金额和数量，不能用浮点数'),
    "string_pattern_mismatch": gettext_lazy("格式不正确"),
    "decimal_positive": gettext_lazy('请输入大于 0 的数字，最多两位小数（如 "12.50"）'),
    "decimal_format": gettext_lazy('请输入有效的数字，最多两位小数（如 "12.50"）'),
}
# A pattern mismatch says which rule it broke (core.api.types).
_PATTERN_MESSAGES: dict[str, Promise] = {
    types.NO_CONTROL_PATTERN: CONTROL_MESSAGE,
    types.NOT_BLANK_PATTERN: gettext_lazy("不能为空，也不能包含不可见的控制字符"),
    types.DATE_PATTERN: gettext_lazy("请输入有效的日期（如 2026-10-05）"),
    types.MONTH_PATTERN: gettext_lazy("请输入月份，格式 YYYY-MM"),
    types.OPTIONAL_MONTH_PATTERN: gettext_lazy("请输入月份，格式 YYYY-MM"),
}


def _pydantic_message(err: dict[str, Any]) -> str:
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        message = _PATTERN_MESSAGES.get(pattern) or types.PATTERN_MESSAGES.get(pattern)
        return str(message or _PYDANTIC_MESSAGES[kind])
    if kind == "string_too_short" and ctx.get("min_length") == 1:
        return _("不能为空")
    template = _PYDANTIC_MESSAGES.get(kind)
    if template is None:
        return _("取值无效")
    try:
        return str(template) % {k: str(v) for k, v in (err.get("ctx") or {}).items()}
    except (KeyError, TypeError, ValueError):
        return _("取值无效")


@api.exception_handler(NinjaValidationError)
def _validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    refused = upload_refusal(request)
    if refused:
        # the upload handler stopped reading the file: it is missing, and this is why
        return _error(request, 413, "too_large", refused, [{"field": "file", "message": refused}])
    fields = []
    for err in exc.errors:
        loc = [str(p) for p in err.get("loc", []) if p not in ("body", "query", "path", "payload")]
        # ninja puts the Query/Body schema's parameter name first (``params``); drop it.
        if len(loc) > 1 and loc[0] in ("params", "filters"):
            loc = loc[1:]
        fields.append({"field": ".".join(loc) or "body", "message": _pydantic_message(err)})
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


_HTTP_ERRORS: dict[int, tuple[str, Promise]] = {
    400: ("invalid_request", gettext_lazy("请求内容无法解析，请检查格式（应为 JSON）")),
    401: ("unauthorized", gettext_lazy("未登录或令牌无效")),
    403: ("permission_denied", gettext_lazy("没有权限")),
    404: ("not_found", gettext_lazy("对象不存在或无权访问")),
    405: ("method_not_allowed", gettext_lazy("不支持该请求方法")),
    413: ("too_large", gettext_lazy("请求内容过大")),
    429: ("throttled", gettext_lazy("请求过于频繁，请稍后重试")),
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc.__cause__, ControlCharacterError):
        message = str(CONTROL_MESSAGE)
        fields = [{"field": exc.__cause__.field or "body", "message": message}]
        return _error(request, 422, "invalid_input", _("输入有误，请检查后重试"), fields)
    # ninja's own messages ("Cannot parse request body") are English: answer in ours.
    code, lazy = _HTTP_ERRORS.get(exc.status_code, ("http_error", gettext_lazy("请求无效")))
    text = str(lazy)
    fields = [{"field": "body", "message": text}] if exc.status_code == 400 else []
    return _error(request, exc.status_code, code, text, fields)


@api.exception_handler(MultiPartParserError)
def _bad_multipart(request: HttpRequest, exc: MultiPartParserError) -> HttpResponse:
    # e.g. ``multipart/form-data`` without a boundary: the client's error, not ours.
    message = _("上传内容格式无效，请以 multipart/form-data 上传文件")
    return _error(request, 400, "invalid_request", message, [{"field": "file", "message": message}])


@api.exception_handler(SuspiciousOperation)
def _suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    if isinstance(exc, RequestDataTooBig):
        return _error(request, 413, "too_large", _("请求内容过大"))
    return _error(request, 400, "invalid_request", _("请求无效"))


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The last resort: a bug still answers in the one error body (and is logged). A
    write that met another transaction's lock is no bug: 503 with ``Retry-After``."""
    if is_lock_error(exc):
        logger.warning("busy: %s %s: %s", request.method, request.path, exc)
        response = _error(request, 503, "busy", busy_message())
        response["Retry-After"] = str(BUSY_RETRY_AFTER)
        return response
    logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
    return _error(request, 500, "server_error", _("服务器内部错误，请稍后重试"))


class TokenIn(types.BodyIn):
    username: types.Name150
    password: Annotated[str, Field(min_length=1, max_length=4096)]
    # What the token is for (shown on 我的登录会话), e.g. "报表脚本".
    label: str = Field("", max_length=100, pattern=NO_CONTROL_PATTERN)


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


@api.post(
    "/auth/token",
    auth=None,
    response={200: TokenOut, 401: ErrorOut, 429: ErrorOut},
    tags=["auth"],
    summary="Issue a token (throttled: too many failures lock the account or address, 429)",
)
def auth_token(request: HttpRequest, payload: TokenIn) -> Any:
    key, row = token_issue(
        username=payload.username, password=payload.password, request=request, label=payload.label
    )
    return {"token": key, "expires_at": row.expires_at.isoformat()}


@api.delete("/auth/token", response={204: None, 401: ErrorOut}, tags=["auth"])
def auth_token_revoke(request: HttpRequest) -> Any:
    """Revoke the token this call is made with (log out of the API)."""
    token_revoke_current(
        user=request.auth,  # type: ignore[attr-defined]
        key_hash=request.api_token_hash,  # type: ignore[attr-defined]
        address=client_address(request),
    )
    return Status(204, None)


@api.get("/me", response=MeOut, tags=["auth"])
def me(request: HttpRequest) -> Any:
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


# Each registered module's routers (core.registry); paths inside the routers are absolute
# below /api/. A router module that does not import stops the API from loading.
for _router in registry.api_routers():
    api.add_router("", _router)
