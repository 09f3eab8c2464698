"""Import API: POST /imports/{entity}/dry-run (queues the check: 202 and a job to poll),
POST /imports/{entity}/apply, GET /imports/jobs/{id} (with the report once checked).
Same services, limits and right (role.can_import) as the UI."""

from __future__ import annotations

from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, File, Router, Schema, Status
from ninja.files import UploadedFile

from salesops.core.access import Viewer
from salesops.core.api.auth import requires
from salesops.core.api.types import Id
from salesops.core.imports.services import (
    import_job_apply,
    import_job_create,
    import_job_for,
    import_job_progress,
    import_job_report,
    importer_for,
    require_import_right,
    save_upload,
)
from salesops.core.models import User

router = Router(tags=["imports"])


class RowErrorOut(Schema):
    row: int
    column: str
    message: str


class ReportOut(Schema):
    entity: str
    ok: bool
    applied: bool
    rows_total: int
    created: int
    updated: int
    unchanged: int
    counts: dict[str, dict[str, int]]
    error_count: int
    error_kinds: dict[str, int] = {}
    aborted: bool = False
    errors: list[RowErrorOut]
    errors_truncated: bool
    sample: list[dict[str, str]]
    ignored_columns: list[str]


class JobOut(Schema):
    id: int
    entity: str
    status: str
    status_label: str
    rows_total: int
    rows_done: int
    percent: int
    created: int
    updated: int
    error_count: int
    finished: bool
    checking: bool
    files_removed: bool
    errors: list[RowErrorOut]
    report: ReportOut | None = None


def _can_import(viewer: Viewer) -> None:
    require_import_right(viewer.user)


# Who may not import gets 403 before the upload is read.
importer = requires(_can_import)
# An importer's registered name (core.registry); an unknown one is a 404.
Entity = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")]


def _user(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,no-any-return]


def _job_out(job: Any) -> dict[str, Any]:
    return {**import_job_progress(job), "errors": job.errors, "report": import_job_report(job)}


@router.post("/imports/{entity}/dry-run", response={202: JobOut}, auth=importer)
def dry_run(request: HttpRequest, entity: Entity, file: UploadedFile = File(...)) -> Any:  # noqa: B008
    """Queue the check of a file (CSV or .xlsx); writes nothing. Poll GET
    /imports/jobs/{id}: once the status is no longer ``checking`` the job has its report."""
    user = _user(request)
    require_import_right(user)
    importer_for(entity)
    path = save_upload(chunks=file.chunks(), original_name=file.name or "")
    job = import_job_create(actor=user, entity=entity, path=path, original_name=file.name or "")
    return Status(202, _job_out(job))


@router.post("/imports/{entity}/apply", response={202: JobOut}, auth=importer)
def apply(request: HttpRequest, entity: Entity, file: UploadedFile = File(...)) -> Any:  # noqa: B008
    """Queue an all-or-nothing import of the file; poll GET /imports/jobs/{id}."""
    user = _user(request)
    require_import_right(user)
    importer_for(entity)
    path = save_upload(chunks=file.chunks(), original_name=file.name or "")
    job = import_job_create(
        actor=user, entity=entity, path=path, original_name=file.name or "", dry_run=False
    )
    job = import_job_apply(actor=user, job=job)
    return Status(202, _job_out(job))


@router.get("/imports/jobs/{job_id}", response=JobOut, auth=importer)
def job_status(request: HttpRequest, job_id: Id) -> Any:
    """Status, progress and (when it failed) the errors of an import job."""
    job = import_job_for(_user(request), job_id)
    return _job_out(job)
