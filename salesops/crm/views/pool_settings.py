"""公海设置: the pools, their member departments and admin, the reclaim rules per customer
level, the claim limits. Admins see and change everything; a pool's own admin opens only
the pools they run and changes their rules and limits, not who belongs to them."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.access import request_viewer, staff_only
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.forms import SalesOpsForm, apply_service_error
from salesops.crm.models import Pool
from salesops.crm.selectors.pool_settings import (
    may_configure_pools,
    pool_rows,
    pool_settings_for_viewer,
)
from salesops.crm.services.pool_settings import (
    DAYS_MAX,
    LevelDays,
    PoolMembers,
    PoolRules,
    level_field,
    pool_create,
    pool_delete,
    pool_update,
)
from salesops.org.models import Department
from salesops.sales.forms import BootstrapMixin
from salesops.sales.models import CustomerLevel

_MEMBER_FIELDS = ("name", "admin_no", "departments", "is_default")
_RECLAIM_FIELDS = (
    "auto_reclaim",
    "days_no_followup",
    "days_no_deal",
    "skip_won",
    "skip_open_opportunity",
    "notify_days",
)
_LIMIT_FIELDS = ("max_owned", "count_won", "max_locked", "claims_per_day", "former_owner_days")
_NUMBER = {"invalid": gettext_lazy("请输入整数")}


def _number(label: Any, help_text: Any = "") -> forms.IntegerField:
    # Ranges are the service's (one Chinese message per field, all at once); the form
    # only reads a whole number.
    field = forms.IntegerField(
        label=label, required=False, help_text=help_text, error_messages=_NUMBER
    )
    field.widget.attrs.update({"inputmode": "numeric", "min": "0"})
    return field


class PoolSettingsForm(BootstrapMixin, SalesOpsForm):
    # Required in the service, which says so with every other field's error at once.
    name = forms.CharField(label=gettext_lazy("公海名称"), max_length=64, required=False)
    admin_no = forms.CharField(
        label=gettext_lazy("公海管理员工号"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("公海管理员可分配公海客户、修改本公海的规则和领取限制；可不填"),
    )
    departments = forms.ModelMultipleChoiceField(
        label=gettext_lazy("成员部门"),
        queryset=Department.objects.none(),
        required=False,
        help_text=gettext_lazy(
            "这些部门及其下级部门的员工是公海成员；他们的客户被放入或收回到本公海。"
            "一个部门只能属于一个公海"
        ),
    )
    is_default = forms.BooleanField(
        label=gettext_lazy("默认公海（未列入任何公海的部门使用它）"), required=False
    )
    auto_reclaim = forms.BooleanField(label=gettext_lazy("自动收回"), required=False)
    days_no_followup = _number(
        gettext_lazy("未跟进收回天数"),
        gettext_lazy("从最后一次跟进（或领取）算起；留空表示不按此规则收回"),
    )
    days_no_deal = _number(
        gettext_lazy("未成交收回天数"),
        gettext_lazy("从当前负责人领取客户算起；留空表示不按此规则收回"),
    )
    skip_won = forms.BooleanField(label=gettext_lazy("成交客户不收回"), required=False)
    skip_open_opportunity = forms.BooleanField(
        label=gettext_lazy("有进行中商机的客户不收回"), required=False
    )
    notify_days = _number(
        gettext_lazy("提前提醒天数"),
        gettext_lazy("收回前几天提醒负责人；0 表示不提醒"),
    )
    max_owned = _number(gettext_lazy("每人拥有客户上限"), gettext_lazy("留空表示不限"))
    count_won = forms.BooleanField(label=gettext_lazy("成交客户计入拥有上限"), required=False)
    max_locked = _number(gettext_lazy("每人锁定客户上限"), gettext_lazy("留空表示不限"))
    claims_per_day = _number(gettext_lazy("每人每天领取上限"), gettext_lazy("留空表示不限"))
    former_owner_days = _number(
        gettext_lazy("前负责人不可领取天数"),
        gettext_lazy("客户被放入或收回后，前负责人多少天内不能再领取；0 表示不限制"),
    )

    def __init__(self, *args: Any, members: bool, **kw: Any):
        super().__init__(*args, **kw)
        for level, label in CustomerLevel.choices:
            self.fields[level_field(level, "followup")] = _number(
                gettext_lazy("%(level)s 未跟进收回天数") % {"level": label}
            )
            self.fields[level_field(level, "deal")] = _number(
                gettext_lazy("%(level)s 未成交收回天数") % {"level": label}
            )
        if members:
            self.fields["departments"].queryset = Department.objects.order_by("path")  # type: ignore[attr-defined]
        else:
            for name in _MEMBER_FIELDS:
                del self.fields[name]
        self._style()

    def group(self, names: tuple[str, ...]) -> list[forms.BoundField]:
        return [self[n] for n in names if n in self.fields]

    def level_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [
            (str(label), self[level_field(level, "followup")], self[level_field(level, "deal")])
            for level, label in CustomerLevel.choices
        ]

    def rules(self) -> PoolRules:
        d = self.cleaned_data
        levels = {
            level: LevelDays(
                d.get(level_field(level, "followup")), d.get(level_field(level, "deal"))
            )
            for level in CustomerLevel.values
        }
        return PoolRules(
            auto_reclaim=d["auto_reclaim"],
            days_no_followup=d["days_no_followup"],
            days_no_deal=d["days_no_deal"],
            skip_won=d["skip_won"],
            skip_open_opportunity=d["skip_open_opportunity"],
            notify_days=d["notify_days"],
            max_owned=d["max_owned"],
            count_won=d["count_won"],
            max_locked=d["max_locked"],
            claims_per_day=d["claims_per_day"],
            former_owner_days=d["former_owner_days"],
            levels=levels,
        )

    def members(self) -> PoolMembers | None:
        if "name" not in self.fields:
            return None
        d = self.cleaned_data
        return PoolMembers(
            name=d["name"],
            admin_no=d["admin_no"],
            departments=list(d["departments"]),
            is_default=d["is_default"],
        )


def _initial(pool: Pool | None) -> dict[str, Any]:
    if pool is None:
        defaults = PoolRules()
        return {f: getattr(defaults, f) for f in (*_RECLAIM_FIELDS, *_LIMIT_FIELDS)}
    out: dict[str, Any] = {f: getattr(pool, f) for f in (*_RECLAIM_FIELDS, *_LIMIT_FIELDS)}
    out.update(
        name=pool.name,
        admin_no=pool.admin.employee_no if pool.admin else "",
        departments=list(pool.departments.all()),
        is_default=pool.is_default,
    )
    for lr in pool.level_rules.all():
        out[level_field(lr.level, "followup")] = lr.days_no_followup
        out[level_field(lr.level, "deal")] = lr.days_no_deal
    return out


def _crumbs() -> list[dict[str, str]]:
    return [
        {"label": _("客户关系"), "url": reverse("crm:leads")},
        {"label": _("公海"), "url": reverse("crm:pool")},
    ]


@login_required
def pool_settings(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    rows = pool_rows(viewer)
    if not may_configure_pools(viewer) and not rows:
        raise PermissionDeniedError(_("只有管理员和公海管理员可以查看公海设置"))
    return render(
        request,
        "crm/pool_settings.html",
        {"rows": rows, "can_create": may_configure_pools(viewer), "breadcrumbs": _crumbs()},
    )


@login_required
def pool_settings_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    if pk is None:
        if not may_configure_pools(viewer):
            raise PermissionDeniedError(_("只有管理员可以新建公海"))
        pool = None
    else:
        pool = pool_settings_for_viewer(viewer, pk)
    form = PoolSettingsForm(
        request.POST or None, initial=_initial(pool), members=may_configure_pools(viewer)
    )
    if request.method == "POST" and form.is_valid():
        actor: Any = request.user
        try:
            if pool is None:
                members = form.members()
                assert members is not None
                saved = pool_create(actor=actor, members=members, rules=form.rules())
            else:
                saved = pool_update(
                    actor=actor, pool=pool, rules=form.rules(), members=form.members()
                )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("%(p)s的设置已保存") % {"p": saved.name})
            return redirect("crm:pool_settings")
    title = _("编辑公海：%(p)s") % {"p": pool.name} if pool else _("新建公海")
    return render(
        request,
        "crm/pool_form.html",
        {
            "form": form,
            "pool": pool,
            "title": title,
            "days_max": DAYS_MAX,
            "basic": form.group(_MEMBER_FIELDS),
            "reclaim": form.group(_RECLAIM_FIELDS),
            "limits": form.group(_LIMIT_FIELDS),
            "breadcrumbs": [
                *_crumbs(),
                {"label": _("公海设置"), "url": reverse("crm:pool_settings")},
            ],
        },
    )


@login_required
@require_POST
def pool_settings_delete(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    if not may_configure_pools(viewer):
        raise PermissionDeniedError(_("只有管理员可以删除公海"))
    pool = pool_settings_for_viewer(viewer, pk)
    name = pool.name
    try:
        pool_delete(actor=request.user, pool=pool)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("%(p)s已删除") % {"p": name})
    return redirect("crm:pool_settings")
