"""Input forms of the approval-flow settings (审批流程设置).

They only parse and check the shape of the input; the services
(``approval_flow_create`` / ``approval_flow_update``) validate the rules again and save.
A flow page is one ``FlowForm`` plus an ordered list of ``StepForm`` rows, each row
under its own prefix ``step-<key>``; the hidden inputs ``steps`` list the row keys in
page order, so adding, removing and moving rows is just editing that list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from salesops.core.approvals.registry import document_types
from salesops.core.approvals.services import StepSpec
from salesops.core.forms import SalesOpsForm
from salesops.core.models import ApprovalFlow, Role, SignMode, User

MAX_STEPS = 20
KEY_RE = re.compile(r"^[0-9]{1,6}$")
STEP_OPS = ("add", "remove", "up", "down")


def doc_type_choices(current: str = "") -> list[tuple[str, str]]:
    """Registered document types by label; a flow's own type stays even if unregistered."""
    choices = [(d.doc_type, str(d.label)) for d in document_types()]
    if current and current not in {c[0] for c in choices}:
        choices.append((current, current))
    return choices


def _style(form: forms.Form) -> None:
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs["class"] = css


class FlowForm(SalesOpsForm):
    doc_type = forms.ChoiceField(
        label=_("单据类型"), error_messages={"required": _("请选择单据类型")}
    )
    name = forms.CharField(
        label=_("流程名称"), max_length=100, error_messages={"required": _("请填写流程名称")}
    )
    min_amount = forms.DecimalField(
        label=_("金额下限"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages={"invalid": _("金额格式不正确"), "min_value": _("金额不能为负数")},
    )
    max_amount = forms.DecimalField(
        label=_("金额上限"),
        required=False,
        max_digits=16,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages={"invalid": _("金额格式不正确"), "min_value": _("金额不能为负数")},
    )
    priority = forms.IntegerField(
        label=_("优先级"),
        initial=0,
        min_value=-1000,
        max_value=1000,
        help_text=_("金额区间重叠时，优先级高的流程优先"),
        error_messages={"required": _("请填写优先级"), "invalid": _("请输入整数")},
    )
    active = forms.BooleanField(label=_("启用"), required=False, initial=True)

    def __init__(self, *args: Any, flow: ApprovalFlow | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["doc_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "---------"), *doc_type_choices(flow.doc_type if flow else "")]
        if flow is not None:  # a flow keeps its document type; make a new flow instead
            field.disabled = True
        _style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get("min_amount"), data.get("max_amount")
        if low is not None and high is not None and low >= high:
            self.add_error("max_amount", _("金额下限必须小于金额上限"))
        return data

    @staticmethod
    def initial_for(flow: ApprovalFlow) -> dict[str, Any]:
        return {
            "doc_type": flow.doc_type,
            "name": flow.name,
            "min_amount": flow.min_amount,
            "max_amount": flow.max_amount,
            "priority": flow.priority,
            "active": flow.active,
        }


class StepForm(SalesOpsForm):
    name = forms.CharField(
        label=_("节点名称"), max_length=100, error_messages={"required": _("请填写节点名称")}
    )
    mode = forms.ChoiceField(
        label=_("审批方式"),
        choices=SignMode.choices,
        initial=SignMode.SINGLE,
        error_messages={"required": _("请选择审批方式"), "invalid_choice": _("审批方式无效")},
    )
    role = forms.ModelChoiceField(
        label=_("审批角色"),
        queryset=Role.objects.order_by("id"),
        to_field_name="code",
        required=False,
        empty_label=_("（指定审批人）"),
        error_messages={"invalid_choice": _("角色不存在")},
    )
    users = forms.ModelMultipleChoiceField(
        label=_("指定审批人"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
        error_messages={
            "invalid_choice": _("审批人不存在或已停用"),
            "invalid_pk_value": _("审批人不存在或已停用"),
        },
    )

    def __init__(
        self,
        *args: Any,
        users: QuerySet[User],
        role_choices: Sequence[tuple[Any, str]],
        user_choices: Sequence[tuple[Any, str]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        role_field = self.fields["role"]
        users_field = self.fields["users"]
        assert isinstance(role_field, forms.ModelChoiceField)
        assert isinstance(users_field, forms.ModelMultipleChoiceField)
        users_field.queryset = users
        # The choices are read once per page, not once per row (validation still uses
        # the querysets).
        role_field.choices = role_choices
        users_field.choices = user_choices
        _style(self)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        role, users = data.get("role"), data.get("users")
        if "role" in self.errors or "users" in self.errors:
            return data
        if role and users:
            self.add_error("role", _("审批角色和指定审批人只能选一种"))
        elif not role and not users:
            self.add_error("role", _("请选择审批角色或指定审批人"))
        return data

    def spec(self) -> StepSpec:
        data = self.cleaned_data
        return StepSpec(
            name=data["name"],
            mode=data["mode"],
            role=data["role"],
            users=list(data["users"]),
        )


def approver_users(flow: ApprovalFlow | None) -> QuerySet[User]:
    """Active users, plus any (since deactivated) user the flow already names."""
    cond = Q(is_active=True)
    if flow is not None:
        cond |= Q(pk__in=_flow_user_ids(flow))
    return User.objects.filter(cond).order_by("username")


def _flow_user_ids(flow: ApprovalFlow) -> list[int]:
    return [u.pk for s in flow.steps.all() for u in s.approver_users.all()]


def step_keys(data: Mapping[str, Any]) -> list[str]:
    """The row keys in page order (bad or repeated keys dropped, at most MAX_STEPS)."""
    getlist = getattr(data, "getlist", None)
    raw = getlist("steps") if getlist else list(data.get("steps", []))
    out: list[str] = []
    for key in raw:
        if KEY_RE.match(str(key)) and key not in out:
            out.append(str(key))
    return out[:MAX_STEPS]


def apply_step_op(keys: list[str], op: str) -> list[str]:
    """``add`` / ``remove:<key>`` / ``up:<key>`` / ``down:<key>`` on the list of row keys."""
    verb, _sep, key = op.partition(":")
    keys = list(keys)
    if verb == "add":
        if len(keys) < MAX_STEPS:
            keys.append(str(max((int(k) for k in keys), default=0) + 1))
        return keys
    if key not in keys:
        return keys
    i = keys.index(key)
    if verb == "remove":
        keys.pop(i)
    elif verb == "up" and i > 0:
        keys[i - 1], keys[i] = keys[i], keys[i - 1]
    elif verb == "down" and i < len(keys) - 1:
        keys[i + 1], keys[i] = keys[i], keys[i + 1]
    return keys


def step_initial(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    """What a row showed, to draw it again unvalidated after a row operation."""
    prefix = f"step-{key}-"
    getlist = getattr(data, "getlist", None)
    users = getlist(prefix + "users") if getlist else list(data.get(prefix + "users", []))
    return {
        "name": data.get(prefix + "name", ""),
        "mode": data.get(prefix + "mode", SignMode.SINGLE),
        "role": data.get(prefix + "role", ""),
        "users": [u for u in users if str(u).isdigit()],
    }


def step_initial_from_flow(flow: ApprovalFlow) -> list[dict[str, Any]]:
    return [
        {
            "name": s.name,
            "mode": s.mode,
            "role": s.approver_role.code if s.approver_role else "",
            "users": [u.pk for u in s.approver_users.all()],
        }
        for s in flow.steps.all()
    ]
