"""Pages of quotes (报价), contracts (合同), receivable plans (回款计划) and receipts (回款):
the scoped lists, the details with their actions, the forms (which keep what was typed
when a rule refuses it), the quote's printable PDF, and the customer page's tabs."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core import registry
from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.approvals.selectors import approval_requests_for
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, Scene, list_page
from salesops.core.selectors import audit_for_object
from salesops.org.access import employee_scope_q
from salesops.org.models import Employee
from salesops.sales import doctypes
from salesops.sales.forms_deals import (
    AcceptForm,
    ContractForm,
    DiscountLimitsForm,
    PlansForm,
    QuoteForm,
    ReasonForm,
    ReceiptForm,
    SignForm,
)
from salesops.sales.models import (
    CONTRACT_IN_FORCE,
    Contract,
    ContractStatus,
    Customer,
    PlanStatus,
    Product,
    QuoteStatus,
    ReceiptMethod,
    ReceiptStatus,
)
from salesops.sales.selectors import customer_for_viewer
from salesops.sales.selectors_deals import (
    contract_for_viewer,
    contract_lines,
    contract_plans,
    contract_receipts,
    contract_search_q,
    contract_versions,
    contracts_for,
    customer_contracts,
    customer_quotes,
    customer_receipts,
    open_amendment,
    overdue_q,
    plans_for,
    quote_for_viewer,
    quote_lines,
    quote_search_q,
    quotes_for,
    receipt_for_viewer,
    receipt_search_q,
    receipts_for,
)
from salesops.sales.services import contracts as contract_svc
from salesops.sales.services import quotes as quote_svc
from salesops.sales.services.receipts import ReceiptInput, receipt_create

SECTION = gettext_lazy("销售管理")


def _crumbs(url_name: str = "", label: Any = "") -> list[dict[str, Any]]:
    crumbs = [{"label": SECTION, "url": reverse("sales:customers")}]
    if url_name:
        crumbs.append({"label": label, "url": reverse(url_name)})
    return crumbs


def _actor(request: HttpRequest) -> Any:
    return request.user


def _products() -> Any:
    return Product.objects.filter(active=True).order_by("sku")


def _form_page(request: HttpRequest, form: Any, title: str, back_url: str) -> HttpResponse:
    return render(
        request,
        "sales/form.html",
        {"form": form, "title": title, "back_url": back_url, "section": SECTION},
    )


def _act(request: HttpRequest, fn: Any, success: str, **kwargs: Any) -> Any:
    """Run a service for a POST button; its refusal becomes the page's error message."""
    try:
        result = fn(actor=_actor(request), **kwargs)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return None
    messages.success(request, success)
    return result


def _approvals(doc_type: str, object_id: int, viewer_user: Any) -> list[Any]:
    return list(
        approval_requests_for(viewer_user)
        .filter(doc_type=doc_type, object_id=str(object_id))
        .order_by("-submitted_at", "-id")[:10]
    )


def _mine(viewer: Viewer) -> list[Scene]:
    if viewer.employee is None:
        return []
    return [Scene("mine", gettext_lazy("我负责的"), Q(owner=viewer.employee))]


# ------------------------------------------------------------------------------ quotes


def _quote_spec(viewer: Viewer) -> ListSpec:
    return ListSpec(
        title=gettext_lazy("报价单"),
        columns=[
            Column(
                "quote_no",
                gettext_lazy("报价单号"),
                lambda x: x.quote_no,
                sort="quote_no",
                link=lambda x: reverse("sales:quote_detail", args=[x.pk]),
            ),
            Column("title", gettext_lazy("报价主题"), lambda x: x.title),
            Column(
                "customer",
                gettext_lazy("客户"),
                lambda x: x.customer.name,
                link=lambda x: reverse("sales:customer_detail", args=[x.customer_id]),
            ),
            Column("status", gettext_lazy("状态"), lambda x: x.get_status_display()),
            Column(
                "total_amount",
                gettext_lazy("报价金额"),
                lambda x: x.total_amount,
                sort="total_amount",
                money=True,
            ),
            Column("discount", gettext_lazy("折扣"), lambda x: f"{x.discount}%"),
            Column(
                "quote_date",
                gettext_lazy("报价日期"),
                lambda x: x.quote_date.isoformat(),
                sort="quote_date",
            ),
            Column("valid_until", gettext_lazy("有效期至"), lambda x: x.valid_until.isoformat()),
            Column("owner", gettext_lazy("负责人"), lambda x: x.owner.name),
        ],
        search_hint=gettext_lazy("报价单号 / 主题 / 客户"),
        extra_search=quote_search_q,
        filters=[Filter("status", gettext_lazy("状态"), list(QuoteStatus.choices), "status")],
        date_filters=[DateRangeFilter("quote_date", gettext_lazy("报价日期"), "quote_date")],
        scenes=[
            *_mine(viewer),
            Scene("pending", gettext_lazy("审批中"), Q(status=QuoteStatus.PENDING)),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
        default_sort="-id",
        export_name="quotes",
    )


@login_required
def quotes(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=quotes_for(viewer),
        spec=_quote_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


def _quote_input(form: QuoteForm) -> quote_svc.QuoteInput:
    d = form.cleaned_data
    return quote_svc.QuoteInput(
        title=d["title"],
        lines=[quote_svc.QuoteLineInput(p, q, pr) for p, q, pr in form.lines()],
        quote_date=d.get("quote_date"),
        valid_until=d.get("valid_until"),
        contact_name=d.get("contact_name", ""),
        note=d.get("note", ""),
    )


@login_required
def quote_new(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer: Customer = customer_for_viewer(viewer, pk)
    form = QuoteForm(request.POST or None, products=_products())
    if request.method == "POST" and form.is_valid():
        try:
            quote = quote_svc.quote_create(
                actor=_actor(request), customer=customer, data=_quote_input(form)
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("报价单已保存为草稿"))
            return redirect("sales:quote_detail", pk=quote.pk)
    return _form_page(
        request,
        form,
        _("新建报价：%(name)s") % {"name": customer.name},
        reverse("sales:customer_detail", args=[customer.pk]),
    )


@login_required
def quote_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    quote = quote_for_viewer(viewer, pk)
    initial: dict[str, Any] = {
        "title": quote.title,
        "quote_date": quote.quote_date,
        "valid_until": quote.valid_until,
        "contact_name": quote.contact_name,
        "note": quote.note,
    }
    for i, ln in enumerate(quote_lines(quote)[:5], start=1):
        initial.update({f"product_{i}": ln.product_id, f"quantity_{i}": ln.quantity,
                        f"price_{i}": ln.unit_price})  # fmt: skip
    form = QuoteForm(request.POST or None, products=_products(), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            quote_svc.quote_update(actor=_actor(request), quote=quote, data=_quote_input(form))
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("报价单已保存"))
            return redirect("sales:quote_detail", pk=quote.pk)
    return _form_page(
        request,
        form,
        _("编辑报价：%(no)s") % {"no": quote.quote_no},
        reverse("sales:quote_detail", args=[quote.pk]),
    )


@login_required
def quote_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    quote = quote_for_viewer(viewer, pk)
    today = timezone.localdate()
    return render(
        request,
        "sales/quote_detail.html",
        {
            "quote": quote,
            "lines": quote_lines(quote),
            "expired": quote.valid_until < today,
            "limit": quote_svc.discount_limit(_actor(request)),
            "accept_form": AcceptForm(initial={"into": "contract"}),
            "decline_form": ReasonForm(label=_("客户未接受的原因")),
            "contracts": list(quote.contracts.order_by("-id")[:5]),
            "approvals": _approvals(doctypes.QUOTE, quote.pk, request.user),
            "audit_rows": audit_for_object(quote, show_personal=True),
            "breadcrumbs": _crumbs("sales:quotes", _("报价单")),
        },
    )


@login_required
def quote_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    quote = quote_for_viewer(viewer, pk)
    if request.method != "POST":
        return redirect("sales:quote_detail", pk=pk)
    if action == "submit":
        done = _act(request, quote_svc.quote_submit, _("报价单已提交"), quote=quote)
        if done is not None and done.request is not None:
            messages.info(request, _("需要审批：%(r)s") % {"r": done.quote.approval_reason})
    elif action == "send":
        _act(request, quote_svc.quote_send, _("已标记为已发送"), quote=quote)
    elif action == "reopen":
        _act(request, quote_svc.quote_reopen, _("报价单已退回草稿，修改后需重新提交"), quote=quote)
    elif action == "decline":
        reason_form = ReasonForm(request.POST)
        reason_form.is_valid()
        _act(
            request,
            quote_svc.quote_decline,
            _("已标记为客户未接受"),
            quote=quote,
            reason=reason_form.cleaned_data.get("reason", ""),
        )
    elif action == "accept":
        form = AcceptForm(request.POST)
        form.is_valid()
        d = form.cleaned_data
        done = _act(
            request,
            quote_svc.quote_accept,
            _("客户已接受报价"),
            quote=quote,
            into=d.get("into") or "",
            start_on=d.get("start_on"),
            end_on=d.get("end_on"),
        )
        if done is not None and done.contract_id:
            return redirect("sales:contract_detail", pk=done.contract_id)
        if done is not None and done.order is not None:
            return redirect("sales:order_detail", pk=done.order.pk)
    return redirect("sales:quote_detail", pk=pk)


@login_required
def quote_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    from salesops.sales.pdf import quote_pdf_bytes

    viewer = request_viewer(request)
    staff_only(viewer)
    quote = quote_for_viewer(viewer, pk)
    try:
        data = quote_pdf_bytes(quote, quote_lines(quote))
    except ServiceError as exc:
        return HttpResponse(str(exc.message), status=exc.status, content_type="text/plain")
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{quote.quote_no}.pdf"'
    return response


# --------------------------------------------------------------------------- contracts


def _contract_spec(viewer: Viewer) -> ListSpec:
    soon = timezone.localdate() + datetime.timedelta(days=contract_svc.expiry_days())
    return ListSpec(
        title=gettext_lazy("合同"),
        columns=[
            Column(
                "contract_no",
                gettext_lazy("合同编号"),
                lambda x: str(x),
                sort="contract_no",
                link=lambda x: reverse("sales:contract_detail", args=[x.pk]),
            ),
            Column("name", gettext_lazy("合同名称"), lambda x: x.name),
            Column(
                "customer",
                gettext_lazy("客户"),
                lambda x: x.customer.name,
                link=lambda x: reverse("sales:customer_detail", args=[x.customer_id]),
            ),
            Column("status", gettext_lazy("状态"), lambda x: x.get_status_display()),
            Column(
                "amount", gettext_lazy("合同金额"), lambda x: x.amount, sort="amount", money=True
            ),
            Column(
                "received_amount", gettext_lazy("已回款"), lambda x: x.received_amount, money=True
            ),
            Column(
                "ratio",
                gettext_lazy("回款比例"),
                lambda x: f"{(x.received_amount * 100 / x.amount):.0f}%" if x.amount else "-",
            ),
            Column(
                "start_on",
                gettext_lazy("开始日期"),
                lambda x: x.start_on.isoformat(),
                sort="start_on",
            ),
            Column(
                "end_on", gettext_lazy("结束日期"), lambda x: x.end_on.isoformat(), sort="end_on"
            ),
            Column("owner", gettext_lazy("负责人"), lambda x: x.owner.name),
        ],
        search_hint=gettext_lazy("合同编号 / 名称 / 客户"),
        extra_search=contract_search_q,
        filters=[
            Filter(
                "status",
                gettext_lazy("状态"),
                [c for c in ContractStatus.choices if c[0] != ContractStatus.SUPERSEDED],
                "status",
            )
        ],
        date_filters=[DateRangeFilter("start_on", gettext_lazy("开始日期"), "start_on")],
        scenes=[
            *_mine(viewer),
            Scene(
                "expiring",
                gettext_lazy("即将到期"),
                Q(status__in=CONTRACT_IN_FORCE, end_on__lte=soon, end_on__gte=timezone.localdate()),
            ),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
        default_sort="-id",
        export_name="contracts",
    )


@login_required
def contracts(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=contracts_for(viewer),
        spec=_contract_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


def _contract_input(form: ContractForm) -> contract_svc.ContractInput:
    d = form.cleaned_data
    return contract_svc.ContractInput(
        name=d["name"],
        amount=d.get("amount"),
        start_on=d.get("start_on"),
        end_on=d.get("end_on"),
        lines=[
            contract_svc.ContractLineInput(p, q, pr if pr is not None else Decimal(0))
            for p, q, pr in form.lines()
        ],
        customer_signatory=d.get("customer_signatory", ""),
        terms=d.get("terms", ""),
    )


def _contract_initial(contract: Contract) -> dict[str, Any]:
    initial: dict[str, Any] = {
        "name": contract.name,
        "amount": contract.amount,
        "start_on": contract.start_on,
        "end_on": contract.end_on,
        "customer_signatory": contract.customer_signatory,
        "terms": contract.terms,
    }
    for i, ln in enumerate(contract_lines(contract)[:5], start=1):
        initial.update({f"product_{i}": ln.product_id, f"quantity_{i}": ln.quantity,
                        f"price_{i}": ln.unit_price})  # fmt: skip
    return initial


@login_required
def contract_new(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer: Customer = customer_for_viewer(viewer, pk)
    form = ContractForm(request.POST or None, products=_products())
    if request.method == "POST" and form.is_valid():
        try:
            contract = contract_svc.contract_create(
                actor=_actor(request), customer=customer, data=_contract_input(form)
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("合同已保存为草稿"))
            return redirect("sales:contract_detail", pk=contract.pk)
    return _form_page(
        request,
        form,
        _("新建合同：%(name)s") % {"name": customer.name},
        reverse("sales:customer_detail", args=[customer.pk]),
    )


@login_required
def contract_edit(request: HttpRequest, pk: int, amend: bool = False) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    contract = contract_for_viewer(viewer, pk)
    form = ContractForm(
        request.POST or None,
        products=_products(),
        amendment=amend,
        initial=_contract_initial(contract),
    )
    if request.method == "POST" and form.is_valid():
        try:
            if amend:
                target = contract_svc.contract_amend(
                    actor=_actor(request),
                    contract=contract,
                    data=_contract_input(form),
                    reason=form.cleaned_data.get("change_reason", ""),
                )
            else:
                target = contract_svc.contract_update(
                    actor=_actor(request), contract=contract, data=_contract_input(form)
                )
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("变更草稿已创建，请提交审批") if amend else _("合同已保存"))
            return redirect("sales:contract_detail", pk=target.pk)
    title = _("合同变更：%(no)s") if amend else _("编辑合同：%(no)s")
    return _form_page(
        request, form, title % {"no": contract}, reverse("sales:contract_detail", args=[pk])
    )


@login_required
def contract_amend(request: HttpRequest, pk: int) -> HttpResponse:
    return contract_edit(request, pk, amend=True)


def _signatories(viewer: Viewer) -> Any:
    return Employee.objects.filter(employee_scope_q(viewer, owner=""), active=True).order_by(
        "employee_no"
    )


def _plan_choices(contract: Contract) -> list[tuple[int, str]]:
    return [
        (p.pk, _("第 %(n)d 期 %(d)s ¥%(a)s") % {"n": p.period, "d": p.due_on, "a": p.amount})
        for p in contract_plans(contract)
    ]


@login_required
def contract_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    contract = contract_for_viewer(viewer, pk)
    in_force = contract.status in CONTRACT_IN_FORCE
    plans = contract_plans(contract)
    today = timezone.localdate()
    return render(
        request,
        "sales/contract_detail.html",
        {
            "contract": contract,
            **registry.rendered_detail_parts(request, "sales.contract", contract),
            "lines": contract_lines(contract),
            "plans": [(p, p.status_on(today), p.amount - p.received) for p in plans],
            "planned": sum((p.amount for p in plans), Decimal(0)),
            "receipts": contract_receipts(contract),
            "versions": contract_versions(contract),
            "amendment": open_amendment(contract),
            "in_force": in_force,
            "sign_form": SignForm(
                signatories=_signatories(viewer),
                initial={
                    "signed_on": today,
                    "customer_signatory": contract.customer_signatory,
                    "our_signatory": contract.owner_id,
                },
            ),
            "plans_form": PlansForm(),
            "receipt_form": ReceiptForm(
                plans=_plan_choices(contract), initial={"received_on": today, "method": "bank"}
            ),
            "terminate_form": ReasonForm(label=_("终止原因")),
            "approvals": _approvals(doctypes.CONTRACT, contract.pk, request.user)
            + _approvals(doctypes.CONTRACT_TERMINATION, contract.pk, request.user),
            "audit_rows": audit_for_object(contract, show_personal=True),
            "breadcrumbs": _crumbs("sales:contracts", _("合同")),
            "paid_status": PlanStatus.PAID,
            "overdue_status": PlanStatus.OVERDUE,
        },
    )


@login_required
def contract_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    contract = contract_for_viewer(viewer, pk)
    if request.method != "POST":
        return redirect("sales:contract_detail", pk=pk)
    if action == "submit":
        _act(request, contract_svc.contract_submit, _("合同已提交审批"), contract=contract)
    elif action == "complete":
        _act(request, contract_svc.contract_complete, _("合同已完成"), contract=contract)
    elif action == "sign":
        form = SignForm(request.POST, signatories=_signatories(viewer))
        form.is_valid()
        d = form.cleaned_data
        _act(
            request,
            contract_svc.contract_sign,
            _("合同已签署"),
            contract=contract,
            signed_on=d.get("signed_on"),
            customer_signatory=d.get("customer_signatory", ""),
            our_signatory=d.get("our_signatory"),
        )
    elif action == "terminate":
        reason_form = ReasonForm(request.POST)
        reason_form.is_valid()
        _act(
            request,
            contract_svc.contract_terminate,
            _("终止申请已提交审批"),
            contract=contract,
            reason=reason_form.cleaned_data.get("reason", ""),
        )
    elif action == "plans":
        plans_form = PlansForm(request.POST)
        if plans_form.is_valid():
            _act(
                request,
                contract_svc.plans_add,
                _("回款计划已添加"),
                contract=contract,
                plans=[contract_svc.PlanInput(d, a, n) for d, a, n in plans_form.rows()],
            )
        else:
            messages.error(request, _("回款计划填写有误，请检查日期和金额"))
    elif action == "receipt":
        receipt_form = ReceiptForm(request.POST, plans=_plan_choices(contract))
        if not receipt_form.is_valid():
            messages.error(
                request, "；".join(str(e) for errs in receipt_form.errors.values() for e in errs)
            )
        else:
            d = receipt_form.cleaned_data
            plan = contract.plans.filter(pk=d["plan"]).first() if d.get("plan") else None
            try:
                receipt_create(
                    actor=_actor(request),
                    contract=contract,
                    data=ReceiptInput(
                        received_on=d["received_on"],
                        amount=d["amount"],
                        method=d["method"],
                        plan=plan,
                        note=d.get("note", ""),
                        overpayment=d.get("overpayment", False),
                    ),
                )
            except ServiceError as exc:
                messages.error(request, str(exc.message))
            else:
                messages.success(request, _("回款已登记，等待财务确认"))
    return redirect("sales:contract_detail", pk=pk)


# ------------------------------------------------------------- plans and receipts


@login_required
def plans(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    today = timezone.localdate()
    spec = ListSpec(
        title=gettext_lazy("回款计划"),
        columns=[
            Column(
                "contract",
                gettext_lazy("合同"),
                lambda x: str(x.contract),
                link=lambda x: reverse("sales:contract_detail", args=[x.contract_id]),
            ),
            Column("customer", gettext_lazy("客户"), lambda x: x.contract.customer.name),
            Column("period", gettext_lazy("期数"), lambda x: x.period),
            Column(
                "due_on",
                gettext_lazy("计划回款日期"),
                lambda x: x.due_on.isoformat(),
                sort="due_on",
            ),
            Column(
                "amount",
                gettext_lazy("计划回款金额"),
                lambda x: x.amount,
                sort="amount",
                money=True,
            ),
            Column("received", gettext_lazy("已回款"), lambda x: x.received, money=True),
            Column("status", gettext_lazy("状态"), lambda x: PlanStatus(x.status_on(today)).label),
            Column("owner", gettext_lazy("负责人"), lambda x: x.contract.owner.name),
        ],
        search_hint=gettext_lazy("合同编号 / 客户"),
        extra_search=lambda t: (
            Q(contract__contract_no__icontains=t.strip())
            | Q(contract__customer__name__icontains=t.strip())
            if t.strip()
            else Q()
        ),
        date_filters=[DateRangeFilter("due_on", gettext_lazy("计划回款日期"), "due_on")],
        scenes=[
            Scene("overdue", gettext_lazy("逾期未回款"), overdue_q(today)),
            Scene("open", gettext_lazy("待回款"), Q(received__lt=F("amount"))),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
        default_sort="due_on",
        export_name="receivable-plans",
    )
    return list_page(
        request, queryset=plans_for(viewer), spec=spec, context={"breadcrumbs": _crumbs()}
    )


def _receipt_spec(viewer: Viewer) -> ListSpec:
    return ListSpec(
        title=gettext_lazy("回款"),
        columns=[
            Column(
                "receipt_no",
                gettext_lazy("回款单号"),
                lambda x: x.receipt_no,
                sort="receipt_no",
                link=lambda x: reverse("sales:receipt_detail", args=[x.pk]),
            ),
            Column(
                "contract",
                gettext_lazy("合同"),
                lambda x: str(x.contract),
                link=lambda x: reverse("sales:contract_detail", args=[x.contract_id]),
            ),
            Column("customer", gettext_lazy("客户"), lambda x: x.customer.name),
            Column(
                "received_on",
                gettext_lazy("回款日期"),
                lambda x: x.received_on.isoformat(),
                sort="received_on",
            ),
            Column(
                "amount", gettext_lazy("回款金额"), lambda x: x.amount, sort="amount", money=True
            ),
            Column("method", gettext_lazy("回款方式"), lambda x: x.get_method_display()),
            Column("status", gettext_lazy("状态"), lambda x: x.get_status_display()),
            Column("owner", gettext_lazy("负责人"), lambda x: x.owner.name),
        ],
        search_hint=gettext_lazy("回款单号 / 合同编号 / 客户"),
        extra_search=receipt_search_q,
        filters=[
            Filter("status", gettext_lazy("状态"), list(ReceiptStatus.choices), "status"),
            Filter("method", gettext_lazy("回款方式"), list(ReceiptMethod.choices), "method"),
        ],
        date_filters=[DateRangeFilter("received_on", gettext_lazy("回款日期"), "received_on")],
        scenes=[
            *_mine(viewer),
            Scene("pending", gettext_lazy("待财务确认"), Q(status=ReceiptStatus.PENDING)),
            Scene("all", gettext_lazy("全部"), Q()),
        ],
        default_sort="-received_on",
        export_name="receipts",
    )


@login_required
def receipts(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=receipts_for(viewer),
        spec=_receipt_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


@login_required
def receipt_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    receipt = receipt_for_viewer(viewer, pk)
    return render(
        request,
        "sales/receipt_detail.html",
        {
            "receipt": receipt,
            "approvals": _approvals(doctypes.RECEIPT, receipt.pk, request.user),
            "audit_rows": audit_for_object(receipt, show_personal=True),
            "breadcrumbs": _crumbs("sales:receipts", _("回款")),
        },
    )


# --------------------------------------------------------------------------- settings


@login_required
def discount_settings(request: HttpRequest) -> HttpResponse:
    """报价折扣权限: how far below the list price each role may quote unapproved."""
    from salesops.core.errors import PermissionDeniedError
    from salesops.core.models import RoleCode

    viewer = request_viewer(request)
    if not viewer.is_admin:
        raise PermissionDeniedError(_("只有管理员可以设置报价折扣权限"))
    roles = [(str(code), RoleCode(code).label) for code in quote_svc.LIMIT_ROLES]
    form = DiscountLimitsForm(
        request.POST or None, roles=roles, initial=quote_svc.discount_limits()
    )
    if request.method == "POST" and form.is_valid():
        try:
            quote_svc.discount_limits_set(actor=_actor(request), limits=form.cleaned_data)
        except ServiceError as exc:
            apply_service_error(form, exc)
        else:
            messages.success(request, _("报价折扣权限已保存"))
            return redirect("sales:discount_settings")
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("报价折扣权限"),
            "intro": _("整单折扣超出提交人角色的权限、或单价低于商品最低售价时，报价须经审批。"),
            "back_url": reverse("sales:quotes"),
            "section": SECTION,
        },
    )


# ---------------------------------------------------------------------- customer tabs


def _tab(request: HttpRequest, customer: Customer, template: str, rows: Any) -> str:
    return render_to_string(
        template,
        {"customer": customer, "rows": rows, "can_write": customer.owner_id is not None},
        request=request,
    )


def customer_quotes_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    return _tab(request, customer, "sales/_customer_quotes.html", customer_quotes(viewer, customer))


def customer_contracts_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    rows = customer_contracts(viewer, customer)
    return _tab(request, customer, "sales/_customer_contracts.html", rows)


def customer_receipts_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    rows = customer_receipts(viewer, customer)
    return _tab(request, customer, "sales/_customer_receipts.html", rows)
