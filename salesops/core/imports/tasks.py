"""The background tasks that check and apply an import job (django-tasks; the DB backend's worker
runs it, tests use the immediate backend)."""

from __future__ import annotations

from django_tasks import task


@task()
def import_job_task(job_id: int) -> int:
    from salesops.core.imports.services import import_job_run

    job = import_job_run(job_id=job_id)
    return job.error_count


@task()
def import_check_task(job_id: int) -> int:
    """The dry run of an uploaded file (never in the web request)."""
    from salesops.core.imports.services import import_job_check

    job = import_job_check(job_id=job_id)
    return job.error_count
