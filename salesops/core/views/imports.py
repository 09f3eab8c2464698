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
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.imports.services import (
    import_job_apply,
    import_job_create,
    import_job_errors_file,
    import_job_for,
    import_job_progress,
    import_jobs_for,
    import_template,
    importer_for,
    importers,
    require_import_right,
    save_upload,
)
from salesops.core.models import ImportJobStatus, User
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


@_guarded
def imports_index(request: HttpRequest) -> HttpResponse:
    page = Paginator(import_jobs_for(_user(request)), 20).get_page(request.GET.get("page"))
    entities = [(key, cls.title) for key, cls in importers().items()]
    return render(request, "core/imports/index.html", {"entities": entities, "page": page})


@_guarded
def import_upload(request: HttpRequest, entity: str) -> HttpResponse:
    importer = importer_for(entity)
    if request.method == "POST":
        upload = request.FILES.get("file")
        if upload is None:
            messages.error(request, _("请选择要导入的文件"))
        else:
            path = save_upload(chunks=upload.chunks(), original_name=upload.name or "")
            job = import_job_create(
                actor=_user(request), entity=entity, path=path, original_name=upload.name or ""
            )
            return redirect("core:import_job", pk=job.pk)
    return render(
        request,
        "core/imports/upload.html",
        {"entity": entity, "importer": importer, "columns": importer.columns},
    )


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
            "report": job.report,
            "can_apply": job.status == ImportJobStatus.VALIDATED,
            "has_error_file": import_job_errors_file(job) is not None and job.error_count > 0,
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
