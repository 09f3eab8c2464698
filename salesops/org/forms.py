"""Input forms of the org screens. They only parse; the services validate and save."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.core.forms import SalesOpsForm
from salesops.org.models import Department, DepartmentKind, Employee, Position


class DepartmentForm(SalesOpsForm):
    name = forms.CharField(label=_("名称"), max_length=100)
    code = forms.CharField(label=_("编码"), max_length=32)
    kind = forms.ChoiceField(label=_("类型"), choices=DepartmentKind.choices)
    parent = forms.ModelChoiceField(
        label=_("上级部门"), queryset=Department.objects.order_by("path"), required=False
    )

    def __init__(self, *args: object, editing: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if editing:  # code and kind are fixed once created
            self.fields["code"].disabled = True
            self.fields["kind"].disabled = True


class EmployeeForm(SalesOpsForm):
    employee_no = forms.CharField(label=_("工号"), max_length=32)
    name = forms.CharField(label=_("姓名"), max_length=64)
    phone = forms.CharField(label=_("手机号"), max_length=32, required=False)
    email = forms.EmailField(label=_("邮箱"), required=False)
    department = forms.ModelChoiceField(
        label=_("部门"), queryset=Department.objects.order_by("path")
    )
    position = forms.ModelChoiceField(
        label=_("岗位"), queryset=Position.objects.all(), required=False
    )
    manager = forms.ModelChoiceField(
        label=_("直属上级"),
        queryset=Employee.objects.filter(active=True).order_by("employee_no"),
        required=False,
    )
    hired_on = forms.DateField(label=_("入职日期"), required=False)
    active = forms.BooleanField(label=_("在职"), required=False, initial=True)

    def __init__(self, *args: object, editing: bool = False, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        if editing:
            self.fields["employee_no"].disabled = True
            self.fields["email"].disabled = True
            self.fields["hired_on"].disabled = True


class SponsorChangeForm(SalesOpsForm):
    member_no = forms.CharField(label=_("会员编号"), max_length=32)
    new_sponsor_no = forms.CharField(label=_("新推荐人编号"), max_length=32)
    effective_on = forms.DateField(
        label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("变更原因"), widget=forms.Textarea(attrs={"rows": 3}))


class MemberBankForm(SalesOpsForm):
    bank_name = forms.CharField(label=_("开户银行"), max_length=64, required=False)
    bank_account = forms.CharField(
        label=_("银行账号"),
        max_length=40,
        required=False,
        help_text=_("留空表示不修改；如需清除账号请勾选下方选项"),
    )
    clear_account = forms.BooleanField(label=_("清除银行账号"), required=False)
