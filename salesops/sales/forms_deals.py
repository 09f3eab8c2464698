"""Forms of quotes, contracts, plans and receipts. They only parse and show errors; the
services decide."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.core.forms import SalesOpsForm
from salesops.org.models import Employee
from salesops.sales.forms import BootstrapMixin
from salesops.sales.models import ReceiptMethod

LINE_ROWS = 5
PLAN_ROWS = 6
DATE = {"type": "date"}


class LinesMixin:
    """``LINE_ROWS`` product rows (product, quantity, unit price) on a form."""

    fields: dict[str, Any]
    cleaned_data: dict[str, Any]
    price_required = False

    def _add_lines(self, products: Any) -> None:
        for i in range(1, LINE_ROWS + 1):
            self.fields[f"product_{i}"] = forms.ModelChoiceField(
                label=_("商品 %(n)d") % {"n": i}, queryset=products, required=False
            )
            self.fields[f"quantity_{i}"] = forms.DecimalField(
                label=_("数量"), max_digits=12, decimal_places=2, min_value=0, required=False
            )
            self.fields[f"price_{i}"] = forms.DecimalField(
                label=_("单价"), max_digits=14, decimal_places=2, min_value=0, required=False
            )

    def lines(self) -> list[tuple[Any, Decimal, Decimal | None]]:
        out = []
        for i in range(1, LINE_ROWS + 1):
            product = self.cleaned_data.get(f"product_{i}")
            if product is not None:
                quantity = self.cleaned_data.get(f"quantity_{i}") or Decimal(1)
                out.append((product, quantity, self.cleaned_data.get(f"price_{i}")))
        return out


class QuoteForm(LinesMixin, BootstrapMixin, SalesOpsForm):
    title = forms.CharField(label=_("报价主题"), max_length=200)
    quote_date = forms.DateField(label=_("报价日期"), required=False, widget=forms.DateInput(DATE))
    valid_until = forms.DateField(
        label=_("有效期至"),
        required=False,
        widget=forms.DateInput(DATE),
        help_text=_("留空则为报价日期后 30 天"),
    )
    contact_name = forms.CharField(label=_("客户联系人"), max_length=64, required=False)
    note = forms.CharField(label=_("备注"), max_length=500, required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, products: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._add_lines(products)
        for i in range(1, LINE_ROWS + 1):
            self.fields[f"price_{i}"].help_text = _("留空按价目表原价")
        self.fields["note"].widget.attrs["rows"] = 2
        self._style()


class AcceptForm(BootstrapMixin, SalesOpsForm):
    into = forms.ChoiceField(
        label=_("转为"),
        choices=[("contract", _("合同（草稿）")), ("order", _("订单")), ("", _("暂不转换"))],
        required=False,
    )
    start_on = forms.DateField(
        label=_("合同开始日期"), required=False, widget=forms.DateInput(DATE)
    )
    end_on = forms.DateField(label=_("合同结束日期"), required=False, widget=forms.DateInput(DATE))

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class ReasonForm(BootstrapMixin, SalesOpsForm):
    reason = forms.CharField(label=_("原因"), max_length=300)

    def __init__(self, *args: Any, label: Any = None, **kw: Any):
        super().__init__(*args, **kw)
        if label is not None:
            self.fields["reason"].label = label
        self._style()


class ContractForm(LinesMixin, BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("合同名称"), max_length=200)
    amount = forms.DecimalField(
        label=_("合同金额"),
        max_digits=14,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=_("留空则按商品明细合计"),
    )
    start_on = forms.DateField(label=_("开始日期"), widget=forms.DateInput(DATE))
    end_on = forms.DateField(label=_("结束日期"), widget=forms.DateInput(DATE))
    customer_signatory = forms.CharField(label=_("客户签约人"), max_length=64, required=False)
    terms = forms.CharField(
        label=_("主要条款"), max_length=5000, required=False, widget=forms.Textarea
    )
    change_reason = forms.CharField(label=_("变更原因"), max_length=300, required=False)

    def __init__(self, *args: Any, products: Any, amendment: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        self._add_lines(products)
        if amendment:
            self.fields["change_reason"].required = True
        else:
            del self.fields["change_reason"]
        self.fields["terms"].widget.attrs["rows"] = 3
        self._style()


class SignForm(BootstrapMixin, SalesOpsForm):
    signed_on = forms.DateField(label=_("签约日期"), widget=forms.DateInput(DATE))
    customer_signatory = forms.CharField(label=_("客户签约人"), max_length=64)
    our_signatory = forms.ModelChoiceField(label=_("公司签约人"), queryset=Employee.objects.none())

    def __init__(self, *args: Any, signatories: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["our_signatory"].queryset = signatories  # type: ignore[attr-defined]
        self._style()


class PlansForm(BootstrapMixin, SalesOpsForm):
    """Up to ``PLAN_ROWS`` instalments at once."""

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        for i in range(1, PLAN_ROWS + 1):
            self.fields[f"due_on_{i}"] = forms.DateField(
                label=_("第 %(n)d 行 计划回款日期") % {"n": i},
                required=False,
                widget=forms.DateInput(DATE),
            )
            self.fields[f"amount_{i}"] = forms.DecimalField(
                label=_("金额"), max_digits=14, decimal_places=2, min_value=0, required=False
            )
            self.fields[f"note_{i}"] = forms.CharField(
                label=_("备注"), max_length=200, required=False
            )
        self._style()

    def rows(self) -> list[tuple[Any, Decimal, str]]:
        out = []
        for i in range(1, PLAN_ROWS + 1):
            due = self.cleaned_data.get(f"due_on_{i}")
            amount = self.cleaned_data.get(f"amount_{i}")
            if due is not None or amount is not None:
                out.append((due, amount or Decimal(0), self.cleaned_data.get(f"note_{i}", "")))
        return out


class ReceiptForm(BootstrapMixin, SalesOpsForm):
    received_on = forms.DateField(label=_("回款日期"), widget=forms.DateInput(DATE))
    amount = forms.DecimalField(label=_("回款金额"), max_digits=14, decimal_places=2, min_value=0)
    method = forms.ChoiceField(label=_("回款方式"), choices=ReceiptMethod.choices)
    plan = forms.TypedChoiceField(label=_("回款计划"), coerce=int, required=False, empty_value=None)
    overpayment = forms.BooleanField(label=_("超额回款（超出合同金额）"), required=False)
    note = forms.CharField(label=_("备注"), max_length=300, required=False)

    def __init__(self, *args: Any, plans: list[tuple[int, str]], **kw: Any):
        super().__init__(*args, **kw)
        self.fields["plan"].choices = [("", _("不关联计划")), *plans]  # type: ignore[attr-defined]
        self._style()


class DiscountLimitsForm(BootstrapMixin, SalesOpsForm):
    """One field per quoting role: the discount (%) it may give without approval."""

    def __init__(self, *args: Any, roles: list[tuple[str, Any]], **kw: Any):
        super().__init__(*args, **kw)
        for code, label in roles:
            self.fields[code] = forms.DecimalField(
                label=label, min_value=0, max_value=100, max_digits=5, decimal_places=2
            )
        self._style()
