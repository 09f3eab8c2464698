"""回访规则: the rules the scheduled job plans return visits by (N days after a contract
starts or an order is placed), with their default form; admins list, add, change and
switch them off here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.forms import SalesOpsForm, apply_service_error
from salesops.crm.models import VisitForm, VisitRule, VisitSource
from salesops.crm.services.visit_rules import (
    DAYS_MAX,
    VisitRuleInput,
    visit_rule_create,
    visit_rule_set_active,
    visit_rule_update,
)
from salesops.sales.forms import BootstrapMixin


class VisitRuleForm(BootstrapMixin, SalesOpsForm):
    # Required in the service, which says so with every other field's error at once.
    name = forms.CharField(label=gettext_lazy("规则名称"), max_length=64, required=False)
    source = forms.ChoiceField(label=gettext_lazy("回访依据"), choices=VisitSource.choices)
    days = forms.IntegerField(
        label=gettext_lazy("间隔天数"),
        help_text=gettext_lazy("合同开始或订单下单后第几天回访（1 到 3650）"),
        required=False,
        error_messages={"invalid": gettext_lazy("请输入整数")},
    )
    form = forms.ChoiceField(label=gettext_lazy("默认回访形式"), choices=VisitForm.choices)
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["days"].widget.attrs.update({"inputmode": "numeric", "min": "1"})
        self._style()


def _admin(request: HttpRequest) -> Viewer:
    viewer = request_viewer(request)
    staff_only(viewer)
    if not viewer.is_admin:
        raise PermissionDeniedError(_("只有管理员可以设置回访规则"))
    return viewer


def _rule(pk: int) -> VisitRule:
    """The rule to change (the page is admins' own: every rule is theirs to open)."""
    rule = VisitRule.objects.filter(pk=pk).first()
    if rule is None:
        raise Http404(_("回访规则不存在"))
    return rule


def _crumbs() -> list[dict[str, str]]:
    return [
        {"label": _("客户关系"), "url": reverse("crm:leads")},
        {"label": _("回访"), "url": reverse("crm:visits")},
    ]


@login_required
def visit_rules(request: HttpRequest) -> HttpResponse:
    _admin(request)
    rules = list(VisitRule.objects.order_by("source", "days", "id"))
    return render(
        request,
        "crm/visit_rules.html",
        {"rules": rules, "breadcrumbs": _crumbs(), "days_max": DAYS_MAX},
    )


def _input(d: dict[str, Any]) -> VisitRuleInput:
    return VisitRuleInput(
        name=d["name"], source=d["source"], days=d["days"], form=d["form"], active=d["active"]
    )


@login_required
def visit_rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    _admin(request)
    rule = _rule(pk) if pk is not None else None
    initial: dict[str, Any] = {"form": VisitForm.PHONE, "active": True}
    if rule is not None:
        initial = {
            "name": rule.name,
            "source": rule.source,
            "days": rule.days,
            "form": rule.form,
            "active": rule.active,
        }
    form = VisitRuleForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        actor: Any = request.user
        try:
            if rule is None:
                saved = visit_rule_create(actor=actor, data=_input(form.cleaned_data))
            else:
                saved = visit_rule_update(actor=actor, rule=rule, data=_input(form.cleaned_data))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("回访规则 %(r)s 已保存") % {"r": saved.name})
            return redirect("crm:visit_rules")
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("编辑回访规则") if rule else _("新建回访规则"),
            "intro": _(
                "自动回访任务在到期当天生成（每小时检查一次）；修改规则只影响尚未生成的回访任务，"
                "已生成的任务保留原来的日期。"
            ),
            "back_url": reverse("crm:visit_rules"),
            "section": _("回访规则"),
        },
    )


@login_required
@require_POST
def visit_rule_active(request: HttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    rule = _rule(pk)
    active = request.POST.get("active") == "1"
    try:
        visit_rule_set_active(actor=request.user, rule=rule, active=active)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(
            request,
            (_("已启用 %(r)s") if active else _("已停用 %(r)s")) % {"r": rule.name},
        )
    return redirect("crm:visit_rules")
