"""Forms only parse and show errors; the services decide. ``apply_service_error`` puts a
service's field errors next to the fields they name."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from salesops.core.forms import SalesOpsForm
from salesops.org.models import Employee
from salesops.sales.models import OrderKind, Product

TIER_CHOICES = [
    ("", _("按购买方自动选择")),
    ("list", _("零售价")),
    ("member", _("会员价")),
    ("pc", _("优惠顾客价")),
]


class BootstrapMixin:
    def _style(self) -> None:
        for field in self.fields.values():  # type: ignore[attr-defined]
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


class CustomerForm(BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("客户名称"), max_length=200)
    code = forms.CharField(
        label=_("客户编号"), max_length=32, required=False, help_text=_("留空自动生成")
    )
    phone = forms.CharField(label=_("手机号"), max_length=32, required=False)
    id_number = forms.CharField(label=_("证件号码"), max_length=32, required=False)
    address = forms.CharField(label=_("地址"), max_length=300, required=False)
    source = forms.CharField(label=_("客户来源"), max_length=64, required=False)
    owner = forms.ModelChoiceField(label=_("负责人"), queryset=Employee.objects.none())
    confirm_duplicate = forms.BooleanField(label=_("我已知晓疑似重复，仍要创建"), required=False)

    def __init__(self, *args: Any, owners: Any = None, editing: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        if editing:
            for name in ("code", "owner", "confirm_duplicate"):
                del self.fields[name]
        else:
            self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        self._style()


class ReassignForm(BootstrapMixin, SalesOpsForm):
    owner = forms.ModelChoiceField(label=_("新负责人"), queryset=Employee.objects.none())
    note = forms.CharField(label=_("转移原因"), max_length=200, required=False)

    def __init__(self, *args: Any, owners: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        self._style()


class ProductForm(BootstrapMixin, SalesOpsForm):
    sku = forms.CharField(label=_("商品编码"), max_length=32)
    name = forms.CharField(label=_("商品名称"), max_length=200)
    unit = forms.CharField(label=_("单位"), max_length=16, initial="件")
    active = forms.BooleanField(label=_("在售"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kw: Any):
        super().__init__(*args, **kw)
        if editing:
            del self.fields["sku"]
        self._style()


class PriceListForm(BootstrapMixin, SalesOpsForm):
    name = forms.CharField(label=_("价目表名称"), max_length=100)
    valid_from = forms.DateField(
        label=_("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    valid_to = forms.DateField(
        label=_("失效日期"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("含当天；留空表示长期有效"),
    )

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class PriceItemForm(BootstrapMixin, SalesOpsForm):
    product: forms.ModelChoiceField[Product] = forms.ModelChoiceField(
        label=_("商品"), queryset=Product.objects.none()
    )
    list_price = forms.CharField(label=_("零售价"), max_length=20)
    member_price = forms.CharField(label=_("会员价"), max_length=20)
    pc_price = forms.CharField(label=_("优惠顾客价"), max_length=20)
    floor_price = forms.CharField(
        label=_("最低售价"),
        max_length=20,
        required=False,
        help_text=_("报价低于此价需审批；留空不限"),
    )

    def __init__(self, *args: Any, products: Any, **kw: Any):
        super().__init__(*args, **kw)
        self.fields["product"].queryset = products  # type: ignore[attr-defined]
        self._style()


class OrderHeaderForm(BootstrapMixin, SalesOpsForm):
    order_date = forms.DateField(
        label=_("下单日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    kind = forms.ChoiceField(label=_("类型"), choices=OrderKind.choices)
    customer_code = forms.CharField(label=_("客户编号"), max_length=32, required=False)
    member_no = forms.CharField(label=_("购买会员编号"), max_length=32, required=False)
    tier = forms.ChoiceField(label=_("价格类型"), choices=TIER_CHOICES, required=False)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()


class ReturnHeaderForm(BootstrapMixin, SalesOpsForm):
    return_date = forms.DateField(
        label=_("退货日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=_("退货原因"), max_length=200, required=False)

    def __init__(self, *args: Any, **kw: Any):
        super().__init__(*args, **kw)
        self._style()
