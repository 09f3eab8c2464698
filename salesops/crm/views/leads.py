"""Pages of leads (线索) and the 查重 tool."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.core.access import Viewer, mask_phone, request_viewer, staff_only
from salesops.core.display import format_datetime
from salesops.core.errors import ServiceError
from salesops.core.forms import apply_service_error
from salesops.core.listing import (
    BatchAction,
    BatchContext,
    Column,
    Filter,
    ListSpec,
    Scene,
    list_page,
)
from salesops.core.selectors import audit_for_object
from salesops.crm.forms import ConvertForm, DuplicateCheckForm, LeadForm
from salesops.crm.models import Activity, Lead, LeadStatus
from salesops.crm.selectors.leads import lead_for_viewer, lead_search_q, leads_for
from salesops.crm.services import assignment
from salesops.crm.services.leads import LeadInput, lead_convert, lead_create
from salesops.crm.services.opportunities import OpportunityInput
from salesops.crm.views.followups import with_attachments
from salesops.org.access import can_see_personal_info
from salesops.org.selectors import employees_for_viewer
from salesops.sales.dedupe import find_duplicates


def _phone(viewer: Viewer, lead: Lead) -> str:
    return lead.phone if can_see_personal_info(viewer, lead.owner_id) else mask_phone(lead.phone)


def _crumbs() -> list[dict[str, str]]:
    return [{"label": _("客户关系"), "url": reverse("crm:leads")}]


def _may_assign(viewer: Viewer) -> bool:
    return viewer.employee is not None and (
        viewer.is_admin or viewer.has_role(*assignment.RULE_EDITORS)
    )


def _auto_assign(ctx: BatchContext) -> str:
    assert ctx.viewer.employee is not None
    done = assignment.leads_assign_by_rules(
        actor=ctx.actor,
        leads=ctx.selected,
        fallback_department_id=ctx.viewer.employee.department_id,
    )
    message = _("已分配 %(n)d 条线索") % {"n": done.assigned}
    if done.left:
        reasons = "；".join(sorted(set(done.left)))
        message += _("，%(n)d 条未分配（%(why)s）") % {"n": len(done.left), "why": reasons}
    if done.without_rule:
        message += _("，%(n)d 条所在部门没有启用的线索分配规则") % {"n": done.without_rule}
    return message


def _spec(viewer: Viewer) -> ListSpec:
    scenes = []
    if viewer.employee is not None:
        scenes.append(Scene("mine", gettext_lazy("我负责的"), Q(owner_id=viewer.employee.pk)))
    if _may_assign(viewer):
        scenes.append(Scene("unassigned", gettext_lazy("未分配"), assignment.unassigned_q()))
    scenes.append(Scene("all", gettext_lazy("全部"), Q()))
    return ListSpec(
        title=gettext_lazy("线索"),
        columns=[
            Column("code", gettext_lazy("线索编号"), lambda x: x.code, sort="code"),
            Column(
                "company",
                gettext_lazy("公司名称"),
                lambda x: x.company,
                sort="company",
                link=lambda x: reverse("crm:lead_detail", args=[x.pk]),
            ),
            Column("contact_name", gettext_lazy("联系人"), lambda x: x.contact_name),
            Column("phone", gettext_lazy("电话"), lambda x: _phone(viewer, x)),
            Column("source", gettext_lazy("线索来源"), lambda x: x.source),
            Column("status", gettext_lazy("状态"), lambda x: x.get_status_display()),
            Column(
                "owner",
                gettext_lazy("负责人"),
                lambda x: x.owner.name if x.owner else _("未分配"),
            ),
            Column(
                "created_at",
                gettext_lazy("创建时间"),
                lambda x: format_datetime(x.created_at),
                sort="id",
            ),
        ],
        search_fields=["company", "code"],
        search_hint=gettext_lazy("公司名称 / 编号 / 联系人 / 完整电话"),
        extra_search=lambda text: lead_search_q(viewer, text),
        filters=[
            Filter("status", gettext_lazy("状态"), list(LeadStatus.choices), "status"),
        ],
        scenes=scenes,
        default_sort="-id",
        export_name="leads",
        create_url=reverse("crm:lead_new"),
        batch_actions=[
            BatchAction(
                "auto_assign",
                gettext_lazy("按规则分配"),
                _auto_assign,
                allowed=_may_assign,
                confirm=gettext_lazy("按本部门的线索分配规则分配所选的未分配线索？"),
                icon="bi-shuffle",
            )
        ],
    )


@login_required
def leads(request: HttpRequest) -> HttpResponseBase:
    viewer = request_viewer(request)
    staff_only(viewer)
    return list_page(
        request,
        queryset=leads_for(viewer),
        spec=_spec(viewer),
        context={"breadcrumbs": _crumbs()},
    )


@login_required
def lead_new(request: HttpRequest) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    owners = employees_for_viewer(viewer).filter(active=True).order_by("employee_no")
    initial = {"owner": viewer.employee.pk} if viewer.employee else {}
    form = LeadForm(request.POST or None, owners=owners, initial=initial)
    duplicate = False
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            lead = lead_create(
                actor=request.user,  # type: ignore[arg-type]
                data=LeadInput(
                    **{
                        k: data[k]
                        for k in (
                            "company",
                            "contact_name",
                            "phone",
                            "email",
                            "source",
                            "campaign_code",
                            "region",
                            "note",
                        )
                    }
                ),
                owner=data["owner"],
                confirm_duplicate=data["confirm_duplicate"],
            )
        except ServiceError as exc:
            duplicate = exc.code == "duplicate"
            apply_service_error(form, exc)
        else:
            messages.success(request, _("线索已创建"))
            return redirect("crm:lead_detail", pk=lead.pk)
    if not duplicate:
        form.fields["confirm_duplicate"].widget = form.fields["confirm_duplicate"].hidden_widget()
    return render(
        request,
        "sales/form.html",
        {
            "form": form,
            "title": _("新建线索"),
            "back_url": reverse("crm:leads"),
            "section": _("线索"),
            "duplicate_warning": duplicate,
        },
    )


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    lead = lead_for_viewer(viewer, pk)
    return render(
        request,
        "crm/lead_detail.html",
        {
            "lead": lead,
            "phone": _phone(viewer, lead),
            "convert_form": ConvertForm(),
            "followups": with_attachments(
                request,
                list(
                    Activity.objects.filter(lead=lead)
                    .select_related("contact", "employee")
                    .order_by("-at", "-id")[:20]
                ),
            ),
            "next": request.get_full_path(),
            "audit_rows": audit_for_object(
                lead, show_personal=can_see_personal_info(viewer, lead.owner_id)
            ),
            "duplicates": find_duplicates(
                viewer,
                name=lead.company,
                phone=lead.phone,
                email=lead.email,
                exclude=lambda m: m.kind == "lead" and m.id == lead.pk,
            )
            if lead.status != LeadStatus.CONVERTED
            else [],
        },
    )


def _first_error(form: ConvertForm) -> str:
    for errors in form.errors.values():
        return str(errors[0])
    return ""


@login_required
def lead_convert_view(request: HttpRequest, pk: int) -> HttpResponse:
    viewer = request_viewer(request)
    staff_only(viewer)
    lead = lead_for_viewer(viewer, pk)
    if request.method != "POST":
        return redirect("crm:lead_detail", pk=lead.pk)
    form = ConvertForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("商机信息不正确：%(e)s") % {"e": _first_error(form)})
        return redirect("crm:lead_detail", pk=lead.pk)
    d = form.cleaned_data
    opportunity = None
    if d["opportunity_name"]:
        opportunity = OpportunityInput(
            name=d["opportunity_name"],
            amount=d["opportunity_amount"],
            close_on=d["opportunity_close_on"],
        )
    try:
        done = lead_convert(
            actor=request.user,  # type: ignore[arg-type]
            lead=lead,
            confirm_duplicate=bool(d.get("confirm_duplicate")),
            opportunity=opportunity,
        )
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("crm:lead_detail", pk=lead.pk)
    if done.opportunity is not None:
        messages.success(request, _("线索已转化，并新建商机 %(o)s") % {"o": done.opportunity.name})
        return redirect("crm:opportunity_detail", pk=done.opportunity.pk)
    messages.success(request, _("线索已转化为客户 %(c)s") % {"c": done.customer.name})
    return redirect("sales:customer_detail", pk=done.customer.pk)


@login_required
def duplicates(request: HttpRequest) -> HttpResponse:
    """查重: type a name, phone or e-mail and see who holds it, scoped."""
    viewer = request_viewer(request)
    staff_only(viewer)
    form = DuplicateCheckForm(request.GET or None)
    matches = None
    if form.is_bound and form.is_valid():
        d = form.cleaned_data
        matches = find_duplicates(viewer, name=d["name"], phone=d["phone"], email=d["email"])
    template = "crm/_duplicates.html" if request.htmx else "crm/duplicates.html"  # type: ignore[attr-defined]
    return render(
        request,
        template,
        {"form": form, "matches": matches, "breadcrumbs": _crumbs()},
    )
