"""Import services: who may import, the upload (refused past the size limit), the dry run
and the apply (both background tasks, reporting progress), the removal of old files, and
the template download. Views and the API call only these."""

from __future__ import annotations

import csv
import datetime
import json
import logging
import os
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core import registry
from salesops.core.access import viewer_for
from salesops.core.errors import NotFoundError, PermissionDeniedError, ServiceError
from salesops.core.imports.engine import Importer, run_import
from salesops.core.imports.schema import MAX_ERRORS, Report
from salesops.core.models import ImportJob, ImportJobStatus, User
from salesops.core.transitions import Transitions, claim, transition
from salesops.core.uploads import too_large_message, upload_limit_bytes
from salesops.core.xlsx import xlsx_bytes

logger = logging.getLogger(__name__)


def importers() -> dict[str, type[Importer]]:
    """Every importer the installed modules registered (``Module.importers``), by key."""
    return registry.importer_classes()


STORED_ERRORS = 2000  # kept on the job row; the full list is in the job's error CSV


def import_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports"


def importer_for(entity: str) -> Importer:
    cls = importers().get(entity)
    if cls is None:
        raise NotFoundError(_("不支持导入该类数据"))
    return cls()


def require_import_right(user: User) -> None:
    if not user.is_authenticated or not viewer_for(user).can_import:
        raise PermissionDeniedError(_("您没有数据导入权限"))


def import_job_for(user: User, job_id: int) -> ImportJob:
    """The job, if ``user`` may import and the job is theirs (an admin sees every job)."""
    require_import_right(user)
    qs = ImportJob.objects.filter(pk=job_id)
    if not viewer_for(user).is_admin:
        qs = qs.filter(created_by=user)
    job = qs.first()
    if job is None:
        raise NotFoundError(_("导入任务不存在或无权访问"))
    return job


def import_jobs_for(user: User) -> Any:
    """The jobs a user may see: all for an admin, their own otherwise."""
    require_import_right(user)
    qs = ImportJob.objects.select_related("created_by").order_by("-created_at", "-id")
    return qs if viewer_for(user).is_admin else qs.filter(created_by=user)


def save_upload(*, chunks: Iterable[bytes], original_name: str) -> Path:
    """Copy an upload under var/imports/ chunk by chunk, never whole in memory; past
    ``SALESOPS_IMPORT_MAX_MB`` the copy stops and is removed (``ServiceError`` too_large)."""
    suffix = ".xlsx" if original_name.lower().endswith(".xlsx") else ".csv"
    dest = import_dir() / f"{timezone.now():%Y%m%d}-{uuid.uuid4().hex}{suffix}"
    dest.parent.mkdir(parents=True, exist_ok=True)
    limit = upload_limit_bytes()
    size = 0
    with dest.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > limit:
                break
            out.write(chunk)
    if size > limit:
        dest.unlink(missing_ok=True)
        raise ServiceError("too_large", too_large_message(), "file", status=413)
    return dest


def discard_upload(path: Path) -> None:
    """Remove an upload and its sidecar files."""
    for p in (path, _errors_path(path), _progress_path(path)):
        p.unlink(missing_ok=True)


def _errors_path(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".errors.csv")


def _progress_path(path: Path) -> Path:
    return path.with_suffix(path.suffix + ".progress")


def _run(
    *, entity: str, path: Path, actor: User | None, write: bool, job: ImportJob | None = None
) -> Report:
    importer = importer_for(entity)
    progress_file = _progress_path(path)

    def progress(done: int, total: int) -> None:
        tmp = progress_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"done": done, "total": total}), encoding="utf-8")
        os.replace(tmp, progress_file)

    with _errors_path(path).open("w", encoding="utf-8-sig", newline="") as fh:
        sink = csv.writer(fh)
        sink.writerow([_("行号"), _("列"), _("原因")])
        report = run_import(
            importer=importer,
            path=path,
            actor=actor,
            write=write,
            progress=progress,
            note=f"job={job.pk}" if job else "",
            sink=sink,
            job_id=job.pk if job and write else None,
            heartbeat=_heartbeat(job.pk) if job and write else None,
            applied=_applied(job.pk) if job and write else None,
        )
        if report.error_count > MAX_ERRORS:
            sink.writerow(["", "", _more_errors(report)])
        return report


def _heartbeat(job_id: int) -> Callable[[], None]:
    def beat() -> None:
        ImportJob.objects.filter(pk=job_id).update(alive_at=timezone.now())

    return beat


def _applied(job_id: int) -> Callable[[], None]:
    """Marks the job done inside the apply's last transaction: its rows, hidden while it
    runs (``import_jobs_running_ids``), become visible with the commit that completes them."""

    def done() -> None:
        ImportJob.objects.filter(pk=job_id, status=ImportJobStatus.RUNNING).update(
            status=ImportJobStatus.DONE
        )

    return done


def _more_errors(report: Report) -> str:
    return _("另有 %(more)s 条错误未列出（共 %(total)s 条）") % {
        "more": f"{report.error_count - MAX_ERRORS:,}",
        "total": f"{report.error_count:,}",
    }


# Which status each status may be reached from: a job is created CHECKING (its dry run
# is queued; the task marks it VALIDATED, INVALID, or FAILED when it stopped at a limit),
# or QUEUED for an apply without a dry run; 执行导入 queues a valid one, a worker claims it.
IMPORT_MOVES = Transitions(
    ImportJobStatus,
    {
        ImportJobStatus.VALIDATED: (ImportJobStatus.QUEUED, ImportJobStatus.CHECKING),
        ImportJobStatus.INVALID: (ImportJobStatus.QUEUED, ImportJobStatus.CHECKING),
        ImportJobStatus.QUEUED: (ImportJobStatus.VALIDATED, ImportJobStatus.QUEUED),
        ImportJobStatus.RUNNING: (ImportJobStatus.QUEUED,),
        ImportJobStatus.DONE: (ImportJobStatus.RUNNING,),
        ImportJobStatus.FAILED: (ImportJobStatus.RUNNING, ImportJobStatus.CHECKING),
    },
)
FINISHED = (
    ImportJobStatus.VALIDATED,
    ImportJobStatus.INVALID,
    ImportJobStatus.DONE,
    ImportJobStatus.FAILED,
)


def import_job_create(
    *, actor: User, entity: str, path: Path, original_name: str, dry_run: bool = True
) -> ImportJob:
    """A job for an uploaded file. With ``dry_run`` its check is queued as a background
    task (the file is never parsed in the request); the job page shows its progress."""
    require_import_right(actor)
    importer_for(entity)
    job = ImportJob.objects.create(
        entity=entity,
        file_path=str(path),
        original_name=original_name[:200],
        created_by=actor,
        status=ImportJobStatus.CHECKING if dry_run else ImportJobStatus.QUEUED,
    )
    if dry_run:
        from salesops.core.imports.tasks import import_check_task

        job_id = job.pk
        transaction.on_commit(lambda: import_check_task.enqueue(job_id))
    return job


def import_job_check(*, job_id: int) -> ImportJob:
    """The dry run of a CHECKING job (called by the background task): its report, and
    VALIDATED, INVALID, or FAILED when the file passed a limit (rows, columns, time …)."""
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportJobStatus.CHECKING:
        return job  # checked already (a task run twice)
    path = Path(job.file_path)
    try:
        report = _run(entity=job.entity, path=path, actor=job.created_by, write=False, job=job)
    except Exception:
        logger.exception("import check of job %s failed", job_id)
        _fail(job, str(_("校验时发生内部错误")))
        raise
    _store(job, report)
    if report.aborted:
        to = ImportJobStatus.FAILED
    else:
        to = ImportJobStatus.VALIDATED if report.ok else ImportJobStatus.INVALID
    transition(job, to, allowed=IMPORT_MOVES, save=False)
    job.finished_at = timezone.now() if to == ImportJobStatus.FAILED else None
    job.save()
    _progress_path(path).unlink(missing_ok=True)
    return job


def _fail(job: ImportJob, message: str) -> None:
    transition(job, ImportJobStatus.FAILED, allowed=IMPORT_MOVES, save=False)
    job.finished_at = timezone.now()
    job.report = {"error_count": 1}
    job.errors = [{"row": 0, "column": "", "message": message}]
    job.error_count = 1
    job.save()


def _store(job: ImportJob, report: Report) -> None:
    job.rows_total = report.rows_total
    job.created_count = report.created
    job.updated_count = report.updated
    job.error_count = report.error_count
    job.errors = [e.as_dict() for e in report.errors[:STORED_ERRORS]]
    job.report = report.as_dict(max_errors=0)


@transaction.atomic
def import_job_apply(*, actor: User, job: ImportJob) -> ImportJob:
    """Queue the apply of a job's file; it runs as a background task."""
    require_import_right(actor)
    if not IMPORT_MOVES.allows(job.status, ImportJobStatus.QUEUED):
        raise ServiceError("invalid_state", _("只有校验通过的导入任务可以执行导入"), "status")
    if job.files_removed_at is not None:
        raise ServiceError("file_removed", _("导入文件已过期清理，请重新上传"), "status")
    transition(job, ImportJobStatus.QUEUED, allowed=IMPORT_MOVES, audit=False, rows_done=0)
    from salesops.core.imports.tasks import import_job_task

    job_id = job.pk
    transaction.on_commit(lambda: import_job_task.enqueue(job_id))
    return job


def import_job_run(*, job_id: int) -> ImportJob:
    """Apply a queued job's file (called by the background task). All or nothing: a
    chunked apply that fails removes what it committed (a dead one: ``import_jobs_reset_stale``)."""
    updated = claim(
        ImportJob.objects.filter(pk=job_id),
        ImportJobStatus.RUNNING,
        allowed=IMPORT_MOVES,
        alive_at=timezone.now(),
    )
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if not updated:
        return job  # already taken by another worker, or not queued
    path = Path(job.file_path)
    try:
        report = _run(entity=job.entity, path=path, actor=job.created_by, write=True, job=job)
    except Exception:
        _fail(job, str(_("导入时发生内部错误")))
        raise
    _store(job, report)
    done = ImportJobStatus.DONE if report.applied else ImportJobStatus.FAILED
    transition(job, done, allowed=IMPORT_MOVES, save=False)
    job.rows_done = report.rows_total if report.applied else 0
    job.finished_at = timezone.now()
    job.save()
    _progress_path(path).unlink(missing_ok=True)
    return job


def import_job_progress(job: ImportJob) -> dict[str, Any]:
    """Status and rows done so far (a running apply reports through a sidecar file)."""
    done, total = job.rows_done, job.rows_total
    live = job.status in (ImportJobStatus.RUNNING, ImportJobStatus.CHECKING)
    if live:
        try:
            data = json.loads(_progress_path(Path(job.file_path)).read_text(encoding="utf-8"))
            done, total = int(data["done"]), max(int(data["total"]), total)
        except (OSError, ValueError, KeyError):
            pass
    percent = 100 if job.status == ImportJobStatus.DONE else 0
    if total and live:
        percent = min(99, int(done * 100 / total))
    return {
        "id": job.pk,
        "entity": job.entity,
        "status": job.status,
        "status_label": str(ImportJobStatus(job.status).label),
        "rows_total": total,
        "rows_done": done,
        "percent": percent,
        "created": job.created_count,
        "updated": job.updated_count,
        "error_count": job.error_count,
        "finished": job.status in {ImportJobStatus.DONE, ImportJobStatus.FAILED},
        "checking": job.status == ImportJobStatus.CHECKING,
        "files_removed": job.files_removed_at is not None,
    }


def import_job_report(job: ImportJob) -> dict[str, Any] | None:
    """The stored dry-run (or apply) report with its first errors; None while checking."""
    if job.status in (ImportJobStatus.CHECKING,) or not job.report.get("entity"):
        return None
    return {
        **job.report,
        "errors": job.errors,
        "errors_truncated": len(job.errors) < job.error_count,
    }


def import_job_errors_file(job: ImportJob) -> Path | None:
    path = _errors_path(Path(job.file_path))
    return path if path.exists() else None


def retention_days() -> int:
    return int(settings.SALESOPS_IMPORT_RETENTION_DAYS)


def _stale_before(now: datetime.datetime) -> datetime.datetime:
    """A live worker shows a sign of life at least this often: a check or an apply's
    reading stops itself at SALESOPS_IMPORT_MAX_SECONDS, and an apply's every chunk
    (about a second) beats its heartbeat."""
    return now - datetime.timedelta(seconds=2 * int(settings.SALESOPS_IMPORT_MAX_SECONDS) + 60)


def import_jobs_reset_stale(*, now: datetime.datetime) -> str:
    """Scheduled job: an apply left RUNNING with no heartbeat since ``_stale_before`` had
    its worker die mid-way. The rows its committed chunks left (hidden from every list
    while it runs) are deleted in short transactions, then it is marked failed with the
    reason. Claimed by a conditional update of its heartbeat, so two schedulers never
    clean the same job, and a clean-up that dies is retried once it is stale again."""
    cutoff = _stale_before(now)
    dead = Q(alive_at__lt=cutoff) | Q(alive_at__isnull=True, created_at__lt=cutoff)
    failed = 0
    for pk in ImportJob.objects.filter(dead, status=ImportJobStatus.RUNNING).values_list(
        "pk", flat=True
    ):
        if not ImportJob.objects.filter(dead, pk=pk, status=ImportJobStatus.RUNNING).update(
            alive_at=now
        ):
            continue
        job = ImportJob.objects.get(pk=pk)
        cls = importers().get(job.entity)
        removed = cls.discard(job.pk) if cls is not None else 0
        logger.warning("import job %s found dead: %d rows removed", pk, removed)
        _fail(
            job,
            _("导入中断（后台任务未完成），已删除已写入的 %(n)s 条记录，请重新上传后导入")
            % {"n": f"{removed:,}"},
        )
        failed += 1
    return f"failed={failed}"


def import_files_purge(*, now: datetime.datetime) -> str:
    """Scheduled job: fail every check left CHECKING past twice the time limit (its worker
    died); remove the upload, error file and progress file of every finished
    job created more than SALESOPS_IMPORT_RETENTION_DAYS ago (the job row, its report and
    first errors stay; its page says the file was removed), and any file as old left under
    var/imports/ that belongs to no job. Idempotent."""
    # a check whose worker died (it would have stopped itself at the time limit)
    stale = _stale_before(now)
    for job in ImportJob.objects.filter(status=ImportJobStatus.CHECKING, created_at__lt=stale):
        _fail(job, str(_("校验中断（后台任务未完成），请重新上传")))
    cutoff = now - datetime.timedelta(days=retention_days())
    jobs = ImportJob.objects.filter(
        status__in=FINISHED, created_at__lt=cutoff, files_removed_at__isnull=True
    )
    removed = 0
    for job in jobs.iterator():
        discard_upload(Path(job.file_path))
        ImportJob.objects.filter(pk=job.pk).update(files_removed_at=now)
        removed += 1
    # files of no job (a request that failed between the upload and the job)
    in_use = {
        Path(p).name.split(".")[0]
        for p in ImportJob.objects.filter(files_removed_at__isnull=True).values_list(
            "file_path", flat=True
        )
    }
    strays = 0
    folder = import_dir()
    if folder.is_dir():
        for entry in folder.iterdir():
            if entry.name.split(".")[0] in in_use:
                continue
            try:
                old = entry.is_file() and entry.stat().st_mtime < cutoff.timestamp()
            except OSError:
                continue
            if old:
                entry.unlink(missing_ok=True)
                strays += 1
    return f"jobs={removed} stray_files={strays}"


def import_template(*, entity: str) -> bytes:
    """The .xlsx template: the header row (in the user's language) and one example row."""
    importer = importer_for(entity)
    headers = [str(c.label) + ("*" if c.required else "") for c in importer.columns]
    example = [c.example for c in importer.columns]
    return xlsx_bytes(headers=headers, rows=[example], sheet_title=str(importer.title))
