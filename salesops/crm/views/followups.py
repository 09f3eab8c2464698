"""Pages of follow-ups (跟进记录) and contacts (联系人): the scoped list of all follow-ups,
the customer page's two tabs (timeline + quick form, contacts), and the full forms that
keep what was typed when the service refuses it."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.access import Viewer, request_viewer, staff_only
from salesops.core.attachments import attachment_block, attachments_by_object
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, Scene, list_page
from salesops.core.uploads import upload_refusal
from salesops.crm.forms import ContactForm, FollowupForm
from salesops.crm.models import Activity, ActivityKind, Contact, Lead
from salesops.crm.selectors.contacts import contact_duplicates
from salesops.crm.selectors.followups import (
    activities_for,
    activity_search_q,
    activity_writer,
    contact_for_viewer,
    contact_phone,
    customer_timeline,
    due_q,
)
from salesops.crm.selectors.leads import lead_for_viewer
from salesops.crm.services.contacts import (
    ContactInput,
    contact_create,
    contact_delete,
    contact_update,
)
from salesops.crm.services.followups import FollowupInput, followup_create
from salesops.sales.models import Customer
from salesops.sales.selectors import customer_for_viewer


def _subject(x: Activity) -> str:
    if x.customer is not None:
        return x.customer.name
    return x.lead.company if x.lead is not None else ""


def _subject_link(x: Activity) -> str:
    if x.customer_id:
        return reverse("sales:customer_detail", args=[x.customer_id])
    return reverse("crm:lead_detail", args=[x.lead_id])


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _spec(viewer: Viewer) -> ListSpec:
    today = timezone.localdate()
    scenes = [
        Scene("due", gettext_lazy("待跟进"), due_q(today)),
        Scene("all", gettext_lazy("全部"), Q()),
    ]
    if viewer.employee is not None:
        scenes.insert(0, Scene("mine", gettext_lazy("我填写的"), _mine(viewer)))
    return ListSpec(
        title=gettext_lazy("跟进记录"),
        columns=[
            Column("at", gettext_lazy("跟进时间"), lambda x: format_datetime(x.at), sort="at"),
            Column("subject", gettext_lazy("客户/线索"), _subject, link=_subject_link),
            Column("kind", gettext_lazy("跟进方式"), lambda x: x.get_kind_display()),
            Column("content", gettext_lazy("跟进内容"), lambda x: _short(x.content)),
            Column(
                "contact", gettext_lazy("联系人"), lambda x: x.contact.name if x.contact else "-"
            ),
            Column("next_step", gettext_lazy("下一步"), lambda x: x.next_step or "-"),
            Column(
                "next_on",
                gettext_lazy("下次跟进日期"),
                lambda x: x.next_on.isoformat() if x.next_on else "-",
                sort="next_on",
            ),
            Column("employee", gettext_lazy("跟进人"), lambda x: x.employee.name),
        ],
        search_hint=gettext_lazy("客户 / 线索 / 内容"),
        extra_search=activity_search_q,
        filters=[Filter("kind", gettext_lazy("跟进方式"), list(ActivityKind.choices), "kind")],
        date_filters=[
            DateRangeFilter("at", gettext_lazy("跟进时间"), "at", is_datetime=True),
        ],
        scenes=scenes,
        default_sort="-at",
        export_name="followups",
    )


def _mine(viewer: Viewer) -> Q:
    return Q(employee=viewer.employee)


@login_required
def followups(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=activities_for(viewer),
        spec=_spec(viewer),
        context={"breadcrumbs": [{"label": _("客户关系"), "url": reverse("crm:leads")}]},
    )


# ------------------------------------------------------------------ follow-up form


def _followup_page(
    request: HttpRequest,
    *,
    customer: Customer | None,
    lead: Lead | None,
    back_url: str,
) -> HttpResponse:
    contacts = Contact.objects.filter(customer=customer) if customer else Contact.objects.none()
    posted = request.method == "POST"
    form = FollowupForm(request.POST if posted else None, request.FILES or None, contacts=contacts)
    refused = upload_refusal(request) if posted else None
    if refused:
        form.add_error("attachments", _("附件过大，请压缩或拆分后再上传"))
    if posted and not refused and form.is_valid():
        d = form.cleaned_data
        files = d["attachments"]
        try:
            followup_create(
                actor=request.user,  # type: ignore[arg-type]
                customer=customer,
                lead=lead,
                contact=d["contact"],
                data=FollowupInput(
                    kind=d["kind"],
                    content=d["content"],
                    next_step=d["next_step"],
                    next_on=d["next_on"],
                ),
                attachments=files,
            )
        except ServiceError as exc:
            apply_service_error(form, exc)
            if files:
                # a browser never fills a file input again: say so next to it
                form.add_error("attachments", _("其他内容已保留，请重新选择附件后提交"))
        else:
            messages.success(request, _("跟进记录已保存"))
            return redirect(back_url)
    name = customer.name if customer else (lead.company if lead else "")
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("写跟进：%(name)s") % {"name": name},
            "back_url": back_url,
            "section": _("客户关系"),
        },
    )


@login_required
def customer_followup(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer = customer_for_viewer(viewer, pk)
    back = reverse("sales:customer_detail", args=[pk])
    return _followup_page(request, customer=customer, lead=None, back_url=back)


@login_required
def lead_followup(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    lead = lead_for_viewer(viewer, pk)
    back = reverse("crm:lead_detail", args=[pk])
    return _followup_page(request, customer=None, lead=lead, back_url=back)


# ------------------------------------------------------------------ contacts


def _contact_data(d: dict[str, Any]) -> ContactInput:
    return ContactInput(
        name=d["name"],
        phone=d["phone"],
        email=d["email"],
        title=d["title"],
        decision_maker=d["decision_maker"],
    )


def _contact_page(
    request: HttpRequest, *, customer: Customer, contact: Contact | None
) -> HttpResponse:
    viewer = request_viewer(request)
    initial = {}
    shown_phone = ""
    if contact is not None:
        shown_phone = contact_phone(viewer, contact)
        initial = {
            "name": contact.name,
            "title": contact.title,
            "phone": shown_phone,
            "email": contact.email,
            "decision_maker": contact.decision_maker,
        }
    form = ContactForm(request.POST or None, initial=initial, editing=contact is not None)
    back = reverse("sales:customer_detail", args=[customer.pk])
    matches = None
    if request.method == "POST" and form.is_valid():
        actor: Any = request.user
        data = _contact_data(form.cleaned_data)
        if contact is not None and data.phone == shown_phone and shown_phone != contact.phone:
            data.phone = contact.phone  # the masked phone sent back unchanged
        confirm = form.cleaned_data["confirm_duplicate"]
        try:
            if contact is None:
                contact_create(actor=actor, customer=customer, data=data, confirm_duplicate=confirm)
            else:
                contact_update(
                    actor=actor,
                    contact=contact,
                    data=data,
                    confirm_duplicate=confirm,
                    how_to_confirm=_("确认无误后可勾选“仍要保存”。"),
                )
        except ServiceError as exc:
            apply_service_error(form, exc)
            if exc.code == "duplicate":
                matches = contact_duplicates(
                    viewer, customer=customer, phone=data.phone, email=data.email, contact=contact
                )
        else:
            messages.success(request, _("联系人已保存"))
            return redirect(back)
    if matches is None:
        form.fields["confirm_duplicate"].widget = form.fields["confirm_duplicate"].hidden_widget()
    title = (_("新建联系人：%(name)s") if contact is None else _("编辑联系人：%(name)s")) % {
        "name": customer.name
    }
    return render(
        request,
        "crm/contact_form.html",
        {
            "form": form,
            "title": title,
            "back_url": back,
            "section": _("客户关系"),
            "duplicate_warning": matches is not None,
            "matches": matches,
        },
    )


@login_required
def contact_new(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    customer = customer_for_viewer(viewer, pk)
    return _contact_page(request, customer=customer, contact=None)


@login_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    contact = contact_for_viewer(viewer, pk)
    return _contact_page(request, customer=contact.customer, contact=contact)


@login_required
@require_POST
def contact_remove(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    contact = contact_for_viewer(viewer, pk)
    customer_id = contact.customer_id
    try:
        contact_delete(actor=request.user, contact=contact)  # type: ignore[arg-type]
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    else:
        messages.success(request, _("联系人已删除"))
    return redirect("sales:customer_detail", pk=customer_id)


# ------------------------------------------------------------------ customer page tabs


def with_attachments(request: HttpRequest, rows: list[Activity]) -> list[Activity]:
    """Each follow-up of a timeline the viewer sees gets its 附件 block
    (``attachments_block``): every row's files in one query, and the writer may add or
    remove them."""
    viewer = request_viewer(request)
    files = attachments_by_object("crm.activity", [a.pk for a in rows])
    for a in rows:
        a.attachments_block = attachment_block(  # type: ignore[attr-defined]
            viewer, a, items=files[str(a.pk)], can_edit=activity_writer(viewer, a), compact=True
        )
    return rows


def timeline_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    can_write = customer.owner_id is not None and viewer.employee is not None
    form = FollowupForm(contacts=Contact.objects.filter(customer=customer)) if can_write else None
    rows = with_attachments(request, customer_timeline(customer.pk))
    more = ""
    if len(rows) >= 20:
        more = format_html(
            '<a href="{}?q={}">{}</a>',
            reverse("crm:followups"),
            customer.name,
            _("查看全部跟进记录"),
        )
    return render_to_string(
        "crm/_timeline.html",
        {
            "customer": customer,
            "rows": rows,
            "form": form,
            "more": more,
            "in_pool": customer.owner_id is None,
            "next": request.get_full_path(),
        },
        request=request,
    )


def contacts_part(request: HttpRequest, customer: Customer) -> str:
    viewer = request_viewer(request)
    if not viewer.is_staff:
        return ""
    contacts = list(Contact.objects.filter(customer=customer).select_related("customer"))
    rows = [(c, contact_phone(viewer, c)) for c in contacts]
    return render_to_string(
        "crm/_contacts.html",
        {"customer": customer, "rows": rows, "can_write": customer.owner_id is not None},
        request=request,
    )
