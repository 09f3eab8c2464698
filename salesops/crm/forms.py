"""Forms only parse and show errors; the services decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.core.forms import AttachmentsField, SalesOpsForm
from salesops.crm.models import (
    ActivityKind,
    ComplaintCategory,
    ComplaintSeverity,
    Contact,
    FeedbackKind,
    Satisfaction,
    VisitForm,
)
from salesops.org.models import Department, Employee
from salesops.sales.forms import BootstrapMixin


class LeadForm(BootstrapMixin, SalesOpsForm):
    company = forms.CharField(label=_("公司名称"), max_length=200)
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)
    phone = forms.CharField(label=_("电话"), max_length=32, required=False)
    email = forms.CharField(label=_("邮箱"), max_length=254, required=False)
    source = forms.CharField(label=_("线索来源"), max_length=64, required=False)
    campaign_code = forms.CharField(label=_("活动代码"), max_length=32, required=False)
    region = forms.CharField(label=_("地区"), max_length=64, required=False)
    note = forms.CharField(label=_("备注"), max_length=2000, required=False, widget=forms.Textarea)
    owner = forms.ModelChoiceField(
        label=_("负责人"), queryset=Employee.objects.none(), required=False
    )
    confirm_duplicate = forms.BooleanField(label=_("我已知晓疑似重复，仍要创建"), required=False)

    def __init__(self, *args: Any, owners: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        self.fields["note"].widget.attrs["rows"] = 3
        self._style()


class ConvertForm(BootstrapMixin, SalesOpsForm):
    confirm_duplicate = forms.BooleanField(label=_("我已知晓疑似重复，仍要转化"), required=False)
    opportunity_name = forms.CharField(
        label=_("同时新建商机（名称，可不填）"), max_length=200, required=False
    )
    opportunity_amount = forms.DecimalField(
        label=_("预计金额"), max_digits=14, decimal_places=2, min_value=0, required=False
    )
    opportunity_close_on = forms.DateField(
        label=_("预计成交日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class DuplicateCheckForm(BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("公司/客户名称"), max_length=200, required=False)
    phone = forms.CharField(label=_("电话"), max_length=32, required=False)
    email = forms.CharField(label=_("邮箱"), max_length=254, required=False)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class FollowupForm(BootstrapMixin, SalesOpsForm):
    kind = forms.ChoiceField(label=_("跟进方式"), choices=ActivityKind.choices)
    content = forms.CharField(label=_("跟进内容"), max_length=5000, widget=forms.Textarea)
    contact = forms.ModelChoiceField(
        label=_("联系人"), queryset=Contact.objects.none(), required=False
    )
    next_step = forms.CharField(label=_("下一步"), max_length=300, required=False)
    next_on = forms.DateField(
        label=_("下次跟进日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    attachments = AttachmentsField(label=_("附件"))

    def __init__(self, *args: Any, contacts: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["content"].widget.attrs["rows"] = 3
        self._style()


class ContactForm(BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("姓名"), max_length=64)
    title = forms.CharField(label=_("职务/角色"), max_length=64, required=False)
    phone = forms.CharField(label=_("电话"), max_length=32, required=False)
    email = forms.CharField(label=_("邮箱"), max_length=254, required=False)
    decision_maker = forms.BooleanField(label=_("关键决策人"), required=False)
    confirm_duplicate = forms.BooleanField(label=_("我已知晓疑似重复，仍要创建"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        if editing:
            self.fields["confirm_duplicate"].label = _("我已知晓疑似重复，仍要保存")
        self._style()


PRODUCT_ROWS = 3


class OpportunityForm(BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("商机名称"), max_length=200)
    amount = forms.DecimalField(
        label=_("预计金额"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("留空则按产品明细合计"),
    )
    close_on = forms.DateField(
        label=_("预计成交日期"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args: Any, products: Any, with_lines: bool = True, **kw: Any):
        super().__init__(*args, **kw)
        if with_lines:
            for i in range(1, PRODUCT_ROWS + 1):
                self.fields[f"product_{i}"] = forms.ModelChoiceField(
                    label=_("产品 %(n)d") % {"n": i}, queryset=products, required=False
                )
                self.fields[f"quantity_{i}"] = forms.DecimalField(
                    label=_("数量"), max_digits=12, decimal_places=2, required=False
                )
                self.fields[f"price_{i}"] = forms.DecimalField(
                    label=_("单价"), max_digits=14, decimal_places=2, required=False
                )
        self._style()

    def lines(self) -> list[tuple[Any, Any, Any]]:
        out = []
        for i in range(1, PRODUCT_ROWS + 1):
            product = self.cleaned_data.get(f"product_{i}")
            if product is not None:
                out.append(
                    (
                        product,
                        self.cleaned_data.get(f"quantity_{i}") or 0,
                        self.cleaned_data.get(f"price_{i}") or 0,
                    )
                )
        return out


class CloseForm(BootstrapMixin, SalesOpsForm):
    outcome = forms.ChoiceField(
        label=_("结果"),
        choices=[
            ("won", _("赢单")),
            ("lost", _("输单")),
            ("invalid", _("无效")),
        ],
    )
    reason = forms.CharField(label=_("原因"), max_length=300, required=False)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class StageGroupForm(BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("阶段组名称"), max_length=64)
    departments = forms.ModelMultipleChoiceField(
        label=_("适用部门"),
        queryset=Department.objects.none(),
        required=False,
        help_text=_("部门及其下级部门使用该阶段组；未指定的部门使用默认阶段组"),
    )
    stages = forms.CharField(
        label=_("阶段（每行一个：名称 赢率%）"),
        widget=forms.Textarea,
        help_text=_("按顺序填写；结束状态（赢单/输单/无效）不是阶段，无需填写"),
    )

    def __init__(self, *args: Any, is_default: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["departments"].queryset = Department.objects.order_by("path")  # type: ignore[attr-defined]
        if is_default:
            del self.fields["departments"]
        self.fields["stages"].widget.attrs["rows"] = 7
        self._style()


# ---------------------------------------------------------------------- after-sales


def _blank(choices: Any) -> list[tuple[Any, Any]]:
    return [("", "---------"), *choices]


class VisitLogForm(BootstrapMixin, SalesOpsForm):
    form = forms.ChoiceField(label=_("回访形式"), choices=VisitForm.choices)
    contact = forms.ModelChoiceField(
        label=_("联系人"), queryset=Contact.objects.none(), required=False
    )
    satisfaction = forms.TypedChoiceField(
        label=_("客户满意度"),
        choices=_blank(Satisfaction.choices),
        coerce=int,
        empty_value=None,
        required=False,
    )
    outcome = forms.CharField(label=_("回访结果"), max_length=2000, widget=forms.Textarea)

    def __init__(self, *args: Any, contacts: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["outcome"].widget.attrs["rows"] = 3
        self._style()


class ComplaintForm(BootstrapMixin, SalesOpsForm):
    title = forms.CharField(label=_("投诉主题"), max_length=200)
    category = forms.ChoiceField(label=_("投诉类别"), choices=ComplaintCategory.choices)
    severity = forms.ChoiceField(
        label=_("严重程度"),
        choices=ComplaintSeverity.choices,
        help_text=_("处理时限按严重程度：紧急 1 天、严重 3 天、一般 7 天（可在设置中调整）"),
    )
    contact = forms.ModelChoiceField(
        label=_("联系人"), queryset=Contact.objects.none(), required=False
    )
    owner = forms.ModelChoiceField(
        label=_("处理人"),
        queryset=Employee.objects.none(),
        required=False,
        help_text=_("留空由客户负责人处理"),
    )
    content = forms.CharField(label=_("投诉内容"), max_length=5000, widget=forms.Textarea)

    def __init__(self, *args: Any, contacts: Any, owners: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        self.fields["content"].widget.attrs["rows"] = 4
        self._style()


class ResolveForm(BootstrapMixin, SalesOpsForm):
    resolution = forms.CharField(label=_("处理结果"), max_length=5000, widget=forms.Textarea)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["resolution"].widget.attrs["rows"] = 3
        self._style()


class ConfirmForm(BootstrapMixin, SalesOpsForm):
    satisfied = forms.TypedChoiceField(
        label=_("客户确认"),
        choices=[("1", _("满意，关闭投诉")), ("0", _("不满意，重新处理"))],
        coerce=lambda v: v == "1",
    )
    note = forms.CharField(
        label=_("客户意见"),
        max_length=500,
        required=False,
        help_text=_("客户不满意时必填"),
    )

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class FeedbackForm(BootstrapMixin, SalesOpsForm):
    kind = forms.ChoiceField(label=_("反馈类型"), choices=FeedbackKind.choices)
    contact = forms.ModelChoiceField(
        label=_("联系人"), queryset=Contact.objects.none(), required=False
    )
    content = forms.CharField(label=_("反馈内容"), max_length=5000, widget=forms.Textarea)

    def __init__(self, *args: Any, contacts: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["contact"].queryset = contacts  # type: ignore[attr-defined]
        self.fields["content"].widget.attrs["rows"] = 3
        self._style()


class FeedbackHandleForm(BootstrapMixin, SalesOpsForm):
    reply = forms.CharField(label=_("处理说明"), max_length=500)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()
