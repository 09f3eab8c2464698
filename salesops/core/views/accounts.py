"""Accounts: the throttled login page, logout, 我的登录会话 (API tokens and web sessions,
revocable), 修改密码, and the admins' 登录锁定 page with 解锁."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from salesops.core.access import request_viewer
from salesops.core.accounts import (
    password_change,
    session_record_login,
    session_record_logout,
    session_revoke,
    sessions_end_others,
)
from salesops.core.errors import ServiceError
from salesops.core.forms import NoControlCharsMixin
from salesops.core.listing import BatchAction, BatchContext, Column, Filter, ListSpec, list_page
from salesops.core.models import LoginThrottle, ThrottleScope, User
from salesops.core.selectors import live_sessions_for, live_tokens_for, lockouts_for
from salesops.core.throttle import client_address, lockout_unlock, login_authenticate
from salesops.core.tokens import token_revoke, token_revoke_all


class ThrottledAuthenticationForm(NoControlCharsMixin, AuthenticationForm):
    """Django's login form, checked through the login throttle (salesops/core/throttle.py)."""

    locked_message = ""

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is not None and password:
            try:
                self.user_cache = login_authenticate(
                    request=self.request, username=username, password=password, channel="web"
                )
            except ServiceError as exc:
                if exc.code == "login_locked":
                    self.locked_message = str(exc.message)
                    raise ValidationError(self.locked_message, code="locked") from None
                raise self.get_invalid_login_error() from None
            self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


class LoginView(auth_views.LoginView):
    form_class = ThrottledAuthenticationForm

    def form_valid(self, form: AuthenticationForm) -> HttpResponse:
        # One write transaction for the login's rows (last_login, the new session, its
        # record): on SQLite during a chunked import each separate write may wait for a
        # chunk. The password was checked before, outside it: hashing holds no lock.
        with transaction.atomic():
            response = super().form_valid(form)
            session_record_login(request=self.request, user=form.get_user())  # type: ignore[arg-type]
        return response


class LogoutView(auth_views.LogoutView):
    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            session_record_logout(request=request, user=request.user)  # type: ignore[arg-type]
        return super().post(request, *args, **kwargs)


# ------------------------------------------------------------------ 我的登录会话


@login_required
@require_http_methods(["GET"])
def my_sessions(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    sessions = list(live_sessions_for(user))
    current_key = request.session.session_key
    return render(
        request,
        "core/accounts/sessions.html",
        {
            "tokens": list(live_tokens_for(user)),
            "sessions": sessions,
            "current_key": current_key,
            "current_recorded": any(s.session_key == current_key for s in sessions),
            "current_address": client_address(request),
        },
    )


def _pk(request: HttpRequest) -> int:
    try:
        return int(request.POST.get("pk", ""))
    except ValueError:
        return 0


@login_required
@require_POST
def my_token_revoke(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        token_revoke(user=user, pk=_pk(request), address=client_address(request))
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("令牌已撤销"))
    return redirect("core:my_sessions")


@login_required
@require_POST
def my_tokens_revoke_all(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    n = token_revoke_all(user=user, actor=user, address=client_address(request))
    messages.success(request, _("已撤销 %(n)d 个令牌") % {"n": n})
    return redirect("core:my_sessions")


@login_required
@require_POST
def my_session_revoke(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    try:
        session_revoke(request=request, user=user, pk=_pk(request))
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("该设备已退出登录"))
    return redirect("core:my_sessions")


@login_required
@require_POST
def my_sessions_end_others(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    n = sessions_end_others(request=request, user=user)
    messages.success(request, _("已退出其他 %(n)d 个设备") % {"n": n})
    return redirect("core:my_sessions")


# ------------------------------------------------------------------ 修改密码


class ChangePasswordForm(NoControlCharsMixin, PasswordChangeForm):
    """Django's form (old password, new twice, every AUTH_PASSWORD_VALIDATORS rule)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control"
            field.widget.attrs["maxlength"] = "128"
        self.fields["new_password1"].help_text = ""


@login_required
@require_http_methods(["GET", "POST"])
def my_password(request: HttpRequest) -> HttpResponse:
    user: User = request.user  # type: ignore[assignment]
    form = ChangePasswordForm(user, request.POST or None)
    if request.method == "POST" and form.is_valid():
        password_change(request=request, user=user, new_password=form.cleaned_data["new_password1"])
        messages.success(request, _("密码已修改，其他设备和全部 API 令牌已退出登录"))
        return redirect("core:my_sessions")
    return render(
        request,
        "core/accounts/password.html",
        {"form": form, "rules": _password_rules()},
    )


def _password_rules() -> list[str]:
    from django.contrib.auth.password_validation import password_validators_help_texts

    return [str(t) for t in password_validators_help_texts()]


# ------------------------------------------------------------------ 登录锁定 (admins)


def _unlock_button(row: LoginThrottle) -> str:
    return format_html(
        '<button type="submit" class="btn btn-sm btn-outline-danger lockout-unlock" '
        'form="lockout-unlock" formaction="{}" data-confirm="{}">{}</button>',
        reverse("core:lockout_unlock", args=[row.pk]),
        _("确定解除该锁定？"),
        _("解锁"),
    )


def _unlock_selected(ctx: BatchContext) -> str:
    for pk in ctx.ids:
        lockout_unlock(actor=ctx.actor, pk=pk)
    return _("已解除 %(n)d 个锁定") % {"n": len(ctx.ids)}


def lockouts_spec() -> ListSpec:
    return ListSpec(
        title=gettext_lazy("登录锁定"),
        columns=[
            Column("scope", gettext_lazy("类型"), lambda r: r.get_scope_display(), sort="scope"),
            Column("account", gettext_lazy("账号"), lambda r: r.account),
            Column("address", gettext_lazy("地址"), lambda r: r.address),
            Column("failures", gettext_lazy("失败次数"), lambda r: r.failures, sort="failures"),
            Column("since", gettext_lazy("锁定时间"), lambda r: r.locked_at, sort="locked_at"),
            Column("until", gettext_lazy("锁定至"), lambda r: r.locked_until, sort="locked_until"),
            Column("unlock", gettext_lazy("操作"), _unlock_button, export=False),
        ],
        search_fields=["key", "last_username", "last_address"],
        search_hint=gettext_lazy("按账号或地址搜索"),
        filters=[Filter("scope", gettext_lazy("类型"), ThrottleScope.choices, "scope")],
        default_sort="-locked_at",
        export_name="login_lockouts",
        batch_actions=[
            BatchAction(
                "unlock",
                gettext_lazy("解锁所选"),
                _unlock_selected,
                allowed=lambda v: v.is_admin,
                confirm=gettext_lazy("确定解除所选锁定？"),
                icon="bi-unlock",
            )
        ],
    )


@login_required
@require_http_methods(["GET", "POST"])  # POST: batch actions, saved scenes
def lockouts(request: HttpRequest) -> HttpResponseBase:
    qs = lockouts_for(request.user)  # type: ignore[arg-type]
    return list_page(
        request, queryset=qs, spec=lockouts_spec(), template="core/accounts/lockouts.html"
    )


@login_required
@require_POST
def lockout_unlock_view(request: HttpRequest, pk: int) -> HttpResponse:
    if not request_viewer(request).is_admin:
        raise PermissionDenied(_("只有系统管理员可以解除登录锁定"))
    try:
        row = lockout_unlock(actor=request.user, pk=pk)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("已解除锁定：%(key)s") % {"key": row.key})
    return redirect("core:lockouts")
