"""Import screens: pick an entity → upload → dry-run report → confirm → progress → result.
Views only parse, authorise (role.can_import, checked in the services), call, respond."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from salesops.core.display import format_datetime
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.imports.schema import MAX_ERRORS
from salesops.core.imports.services import (
    import_job_apply,
    import_job_create,
    import_job_errors_file,
    import_job_for,
    import_job_progress,
    import_job_report,
    import_jobs_for,
    import_template,
    importer_for,
    importers,
    require_import_right,
    save_upload,
)
from salesops.core.listing import Column, DateRangeFilter, Filter, ListSpec, list_page
from salesops.core.models import ImportJobStatus, User
from salesops.core.uploads import upload_refusal
from salesops.core.xlsx import XLSX_MIME

ERRORS_PER_PAGE = 50


def _guarded(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Login required; a missing right is a 403, an unknown or foreign object a 404."""

    @wraps(view)
    @login_required
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            require_import_right(request.user)  # type: ignore[arg-type]
            return view(request, *args, **kwargs)
        except PermissionDeniedError as exc:
            raise PermissionDenied(str(exc.message)) from exc
        except NotFoundError as exc:
            raise Http404(str(exc.message)) from exc

    return wrapper


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _jobs_spec(titles: dict[str, str]) -> ListSpec:
    return ListSpec(
        key="core.import_jobs",
        title=gettext_lazy("数据导入"),
        columns=[
            Column(
                "id",
                gettext_lazy("编号"),
                lambda j: f"#{j.pk}",
                sort="id",
                link=lambda j: reverse("core:import_job", args=[j.pk]),
            ),
            Column("entity", gettext_lazy("导入对象"), lambda j: titles.get(j.entity, j.entity)),
            Column("file", gettext_lazy("文件"), lambda j: j.original_name),
            Column("status", gettext_lazy("状态"), lambda j: j.get_status_display()),
            Column("rows_total", gettext_lazy("总行数"), lambda j: j.rows_total, sort="rows_total"),
            Column("error_count", gettext_lazy("错误数"), lambda j: j.error_count),
            Column("created_by", gettext_lazy("导入人"), lambda j: j.created_by or ""),
            Column(
                "created_at",
                gettext_lazy("创建时间"),
                lambda j: format_datetime(j.created_at),
                sort="created_at",
            ),
        ],
        search_fields=["original_name"],
        search_hint=gettext_lazy("按文件名搜索"),
        filters=[
            Filter("entity", gettext_lazy("导入对象"), list(titles.items()), "entity"),
            Filter("status", gettext_lazy("状态"), ImportJobStatus.choices, "status"),
        ],
        date_filters=[
            DateRangeFilter("created", gettext_lazy("创建时间"), "created_at", is_datetime=True)
        ],
        default_sort="-created_at",
        export_name="import_jobs",
    )


@_guarded
def imports_index(request: HttpRequest) -> HttpResponseBase:
    """The importers the modules registered, and the viewer's import jobs (a full list)."""
    titles = {key: str(cls.title) for key, cls in importers().items()}
    return list_page(
        request,
        queryset=import_jobs_for(_user(request)),
        spec=_jobs_spec(titles),
        template="core/imports/index.html",
        context={"entities": list(titles.items())},
    )


@_guarded
def import_upload(request: HttpRequest, entity: str) -> HttpResponse:
    importer = importer_for(entity)
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("file")
        refused = upload_refusal(request)
        if refused:
            messages.error(request, refused)
            status = 413
        elif upload is None:
            messages.error(request, _("请选择要导入的文件"))
        else:
            try:
                path = save_upload(chunks=upload.chunks(), original_name=upload.name or "")
            except ServiceError as exc:
                messages.error(request, str(exc.message))
                status = exc.status
            else:
                job = import_job_create(
                    actor=_user(request),
                    entity=entity,
                    path=path,
                    original_name=upload.name or "",
                )
                return redirect("core:import_job", pk=job.pk)
    return render(
        request,
        "core/imports/upload.html",
        {
            "entity": entity,
            "importer": importer,
            "columns": importer.columns,
            "limits": import_limits(),
        },
        status=status,
    )


def import_limits() -> dict[str, Any]:
    """The limits shown on the upload page."""
    from django.conf import settings

    return {
        "mb": settings.SALESOPS_IMPORT_MAX_MB,
        "rows": settings.SALESOPS_IMPORT_MAX_ROWS,
        "columns": settings.SALESOPS_IMPORT_MAX_COLUMNS,
    }


@_guarded
def import_template_download(request: HttpRequest, entity: str) -> HttpResponse:
    importer = importer_for(entity)
    response = HttpResponse(import_template(entity=entity), content_type=XLSX_MIME)
    name = f"{entity}-template.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    del importer
    return response


@_guarded
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_for(_user(request), pk)
    errors = Paginator(job.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "core/imports/job.html",
        {
            "job": job,
            "title": importer_for(job.entity).title,
            "errors_page": errors,
            "progress": import_job_progress(job),
            "report": import_job_report(job) or {},
            "can_apply": job.status == ImportJobStatus.VALIDATED and job.files_removed_at is None,
            "has_error_file": import_job_errors_file(job) is not None and job.error_count > 0,
            "max_errors": MAX_ERRORS,
        },
    )


@_guarded
@require_POST
def import_job_apply_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_for(_user(request), pk)
    try:
        import_job_apply(actor=_user(request), job=job)
    except ServiceError as exc:
        messages.error(request, str(exc.message))
    return redirect("core:import_job", pk=job.pk)


@_guarded
def import_job_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    job = import_job_for(_user(request), pk)
    if request.GET.get("checking") and job.status != ImportJobStatus.CHECKING:
        # the dry run has ended: the whole page (its report) replaces the progress bar
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return render(
        request, "core/imports/_progress.html", {"job": job, "progress": import_job_progress(job)}
    )


@_guarded
def import_job_errors(request: HttpRequest, pk: int) -> HttpResponseBase:
    job = import_job_for(_user(request), pk)
    path = import_job_errors_file(job)
    if path is None:
        raise Http404(_("没有错误明细"))
    return FileResponse(
        Path(path).open("rb"),
        as_attachment=True,
        filename=f"import-{job.pk}-errors.csv",
        content_type="text/csv; charset=utf-8",
    )
