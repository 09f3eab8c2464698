"""Plan-version screens: the list, upload / paste a new version (every problem listed by
file, key and reason, the text kept), edit a draft, and the detail page with the TOML, a
summary, the diff against the previous version and the lifecycle buttons."""

from __future__ import annotations

import datetime as dt
import difflib
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.compensation.engine.plan import CommissionPlan, Plan, PlanError, RankPlan, parse_plan
from salesops.compensation.models import CompPlanVersion, PlanStatus
from salesops.compensation.selectors import plans as sel
from salesops.compensation.selectors.plans import plan_kind_of
from salesops.compensation.services.plans import (
    MAX_PLAN_BYTES,
    PlanInvalidError,
    activation_request_of,
    decode_plan_text,
    plan_activation_submit,
    plan_version_create,
    plan_version_delete_draft,
    plan_version_update_draft,
)
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.listing import Column, Filter, ListSpec, list_page
from salesops.core.models import User
from salesops.org.models import rank_label

KIND_LABELS = {"rank": gettext_lazy("职级奖金"), "commission": gettext_lazy("销售提成")}


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _crumbs() -> list[dict[str, str]]:
    return [{"label": _("奖金方案"), "url": reverse("compensation:plans")}]


def _version_or_error(request: HttpRequest, pk: int) -> CompPlanVersion:
    try:
        return sel.plan_version_for_user(_user(request), pk)
    except PermissionDeniedError as exc:
        raise PermissionDenied(str(exc.message)) from None
    except NotFoundError as exc:
        raise Http404(str(exc.message)) from None


def _kind_label(version: CompPlanVersion) -> str:
    kind = plan_kind_of(version)
    return str(KIND_LABELS.get(kind, kind or "-"))


def _plan_spec() -> ListSpec:
    return ListSpec(
        title=gettext_lazy("奖金方案"),
        columns=[
            Column("code", gettext_lazy("方案代码"), lambda v: v.code, "code"),
            Column("name", gettext_lazy("方案名称"), lambda v: v.name, "name"),
            Column("version", gettext_lazy("版本"), lambda v: f"v{v.version}", "version"),
            Column("kind", gettext_lazy("类型"), _kind_label),
            Column(
                "effective_from",
                gettext_lazy("生效月份"),
                lambda v: f"{v.effective_from:%Y-%m}",
                "effective_from",
            ),
            Column("status", gettext_lazy("状态"), lambda v: v.get_status_display(), "status"),
            Column("created_by", gettext_lazy("创建人"), lambda v: v.created_by or ""),
            Column("created_at", gettext_lazy("创建时间"), lambda v: v.created_at, "created_at"),
        ],
        search_fields=["code", "name"],
        search_hint=gettext_lazy("方案代码或名称"),
        filters=[Filter("status", gettext_lazy("状态"), list(PlanStatus.choices), "status")],
        default_sort="code",
        export_name="comp_plans",
        create_url=reverse("compensation:plan_new"),
        row_link=lambda v: reverse("compensation:plan_detail", args=[v.pk]),
    )


@login_required
def plans(request: HttpRequest) -> HttpResponseBase:
    try:
        queryset = sel.plans_for(_user(request))
    except PermissionDeniedError as exc:
        raise PermissionDenied(str(exc.message)) from None
    return list_page(
        request,
        queryset=queryset.order_by("code", "-version"),
        spec=_plan_spec(),
        context={"breadcrumbs": []},
    )


# --------------------------------------------------------------------------- form


def _parse_month(raw: str) -> dt.date:
    """``2026-11`` (a month input) or ``2026-11-01``; anything else is a field error."""
    text = (raw or "").strip()
    try:
        if len(text) == 7:
            year, month = text.split("-")
            return dt.date(int(year), int(month), 1)
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ServiceError(
            code="invalid_effective_from",
            message=_("请输入生效月份，格式 YYYY-MM"),
            field="effective_from",
            status=422,
        ) from None


def _next_month() -> str:
    today = timezone.localdate()
    first = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return f"{first:%Y-%m}"


def _read_input(request: HttpRequest, form: dict[str, Any]) -> tuple[str | bytes, str]:
    """The uploaded file (preferred) or the pasted text, and its file name."""
    upload = request.FILES.get("file")
    if upload is not None:
        data = upload.read(MAX_PLAN_BYTES + 1)
        # Keep what the user sent in the form, when it is readable at all.
        try:
            form["text"] = decode_plan_text(data)
        except ServiceError:
            form["text"] = ""
        return data, upload.name or ""
    return form["text"], form["source_name"] or "plan.toml"


def _form_data(request: HttpRequest, version: CompPlanVersion | None) -> dict[str, Any]:
    if request.method == "POST":
        return {
            "text": request.POST.get("text", ""),
            "source_name": request.POST.get("source_name", "")[:300],
            "effective_from": request.POST.get("effective_from", "")[:20],
            "note": request.POST.get("note", "")[:400],
        }
    if version is not None:
        return {
            "text": version.text,
            "source_name": version.source_path,
            "effective_from": f"{version.effective_from:%Y-%m}",
            "note": version.note,
        }
    return {"text": "", "source_name": "", "effective_from": _next_month(), "note": ""}


def _plan_form(request: HttpRequest, version: CompPlanVersion | None) -> HttpResponse:
    form = _form_data(request, version)
    issues: list[Any] = []
    error = ""
    error_field = ""
    status = 200
    if request.method == "POST":
        try:
            data, name = _read_input(request, form)
            month = _parse_month(form["effective_from"])
            if version is None:
                saved = plan_version_create(
                    actor=_user(request),
                    text=data,
                    source_name=name,
                    effective_from=month,
                    note=form["note"],
                )
                messages.success(request, _("已保存为草稿 v%(v)d") % {"v": saved.version})
            else:
                saved = plan_version_update_draft(
                    actor=_user(request),
                    version=version,
                    text=data,
                    source_name=name,
                    effective_from=month,
                    note=form["note"],
                )
                messages.success(request, _("草稿已更新"))
            return redirect("compensation:plan_detail", saved.pk)  # type: ignore[return-value]
        except PlanInvalidError as exc:
            issues, error, error_field, status = (
                exc.issues,
                _("方案文件有错误，请逐项修改："),
                "text",
                422,
            )
        except PermissionDeniedError as exc:
            raise PermissionDenied(str(exc.message)) from None
        except ServiceError as exc:
            error, error_field, status = str(exc.message), exc.field, exc.status
    title = _("新建方案版本") if version is None else _("修改草稿 %(v)s") % {"v": version}
    crumbs = _crumbs()
    if version is not None:
        crumbs.append(
            {"label": str(version), "url": reverse("compensation:plan_detail", args=[version.pk])}
        )
    return render(
        request,
        "compensation/plan_form.html",
        {
            "form": form,
            "version": version,
            "issues": issues,
            "error": error,
            "error_field": error_field,
            "page_title": title,
            "breadcrumbs": crumbs,
        },
        status=status,
    )


@login_required
def plan_new(request: HttpRequest) -> HttpResponse:
    try:
        sel.plans_for(_user(request))
    except PermissionDeniedError as exc:
        raise PermissionDenied(str(exc.message)) from None
    return _plan_form(request, None)


@login_required
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version_or_error(request, pk)
    if version.status != PlanStatus.DRAFT:
        messages.error(request, _("只有草稿状态的方案可以修改"))
        return redirect("compensation:plan_detail", version.pk)  # type: ignore[return-value]
    return _plan_form(request, version)


# --------------------------------------------------------------------------- detail


def _summary(plan: Plan) -> dict[str, Any]:
    if isinstance(plan, RankPlan):
        return {
            "kind": "rank",
            "ranks": plan.ranks,
            "qualifying_rank": plan.qualifying_rank,
            "qualifying_rank_label": rank_label(plan.qualifying_rank),
            "sales_bonus": plan.sales_bonus,
        }
    assert isinstance(plan, CommissionPlan)
    tiers = []
    for i, tier in enumerate(plan.tiers):
        upper = plan.tiers[i + 1].start if i + 1 < len(plan.tiers) else None
        if upper is None and plan.accelerator is not None:
            upper = plan.accelerator.start
        tiers.append({"start": tier.start, "end": upper, "rate": tier.rate})
    return {
        "kind": "commission",
        "basis": plan.basis,
        "method": plan.method,
        "tiers": tiers,
        "accelerator": plan.accelerator,
        "champion": plan.champion,
    }


def _diff(previous: CompPlanVersion | None, version: CompPlanVersion) -> list[tuple[str, str]]:
    if previous is None:
        return []
    lines = difflib.unified_diff(
        previous.text.splitlines(),
        version.text.splitlines(),
        fromfile=f"v{previous.version}",
        tofile=f"v{version.version}",
        lineterm="",
    )
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            css = "text-muted"
        elif line.startswith("@@"):
            css = "text-primary"
        elif line.startswith("+"):
            css = "diff-add"
        elif line.startswith("-"):
            css = "diff-del"
        else:
            css = ""
        out.append((css, line))
    return out


@login_required
def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version_or_error(request, pk)
    try:
        summary: dict[str, Any] | None = _summary(parse_plan(version.text, version.source_path))
    except PlanError:
        summary = None
    previous = sel.previous_version(version)
    return render(
        request,
        "compensation/plan_detail.html",
        {
            "version": version,
            "kind_label": _kind_label(version),
            "summary": summary,
            "previous": previous,
            "diff": _diff(previous, version),
            "approval": activation_request_of(version),
            "audit_rows": sel.plan_audit_rows(version),
            "breadcrumbs": _crumbs(),
        },
    )


@login_required
@require_POST
def plan_submit(request: HttpRequest, pk: int) -> HttpResponseBase:
    version = _version_or_error(request, pk)
    try:
        plan_activation_submit(actor=_user(request), version=version)
        messages.success(request, _("已提交生效审批"))
    except PermissionDeniedError as exc:
        raise PermissionDenied(str(exc.message)) from None
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return redirect("compensation:plan_detail", version.pk)


@login_required
@require_POST
def plan_delete(request: HttpRequest, pk: int) -> HttpResponseBase:
    version = _version_or_error(request, pk)
    try:
        plan_version_delete_draft(actor=_user(request), version=version)
    except PermissionDeniedError as exc:
        raise PermissionDenied(str(exc.message)) from None
    except ServiceError as exc:
        messages.error(request, str(exc.message))
        return redirect("compensation:plan_detail", version.pk)
    messages.success(request, _("草稿已删除"))
    return redirect("compensation:plans")
