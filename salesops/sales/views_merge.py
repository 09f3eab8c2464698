"""Merging a duplicate customer into this one (客户合并): pick the duplicate by its
customer number, see what will move, confirm."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.access import request_viewer
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.forms import SalesOpsForm, apply_service_error
from salesops.sales.forms import BootstrapMixin
from salesops.sales.models import Customer
from salesops.sales.selectors import customer_for_viewer, customers_for
from salesops.sales.services.merge import MERGERS, customer_merge


class MergeForm(BootstrapMixin, SalesOpsForm):
    other_code = forms.CharField(
        label=gettext_lazy("重复客户的客户编号"),
        max_length=32,
        help_text=gettext_lazy(
            "该客户的联系人、跟进、商机、订单、报价、合同、回款等将并入本客户，然后删除该客户"
        ),
    )
    confirm = forms.BooleanField(label=gettext_lazy("我已核对，确认合并"), required=False)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


def _may_merge(request: HttpRequest) -> bool:
    viewer = request_viewer(request)
    return viewer.is_admin or viewer.has_role(*MERGERS)


@login_required
def customer_merge_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    if not _may_merge(request):
        raise PermissionDeniedError(_("只有销售经理、销售总监和管理员可以合并客户"))
    keep: Customer = customer_for_viewer(viewer, pk)
    form = MergeForm(request.POST or None)
    other: Customer | None = None
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["other_code"].strip()
        other = customers_for(viewer).filter(code=code).first()
        if other is None:
            form.add_error("other_code", _("客户编号不存在或不在您的数据权限范围内"))
        elif other.pk == keep.pk:
            form.add_error("other_code", _("不能与自己合并"))
            other = None
        elif not form.cleaned_data["confirm"]:
            form.add_error("confirm", _("请核对下方将被合并的客户后勾选确认"))
        else:
            try:
                done = customer_merge(actor=request.user, keep=keep, drop=other)  # type: ignore[arg-type]
            except ServiceError as exc:
                apply_service_error(form, exc)
            else:
                messages.success(
                    request,
                    _("已合并，转入 %(n)d 条记录") % {"n": sum(done.moved.values())},
                )
                return redirect("sales:customer_detail", pk=keep.pk)
    return render(
        request,
        "sales/customer_merge.html",
        {
            "form": form,
            "keep": keep,
            "other": other,
            "title": _("合并客户：%(name)s") % {"name": keep.name},
            "back_url": reverse("sales:customer_detail", args=[keep.pk]),
        },
    )


def merge_action_part(request: HttpRequest, customer: Customer) -> str:
    if not _may_merge(request) or customer.owner_id is None:
        return ""
    return render_to_string("sales/_merge_action.html", {"customer": customer}, request=request)
