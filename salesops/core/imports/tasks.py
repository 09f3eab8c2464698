"""The background task that applies an import job (django-tasks; the DB backend's worker
runs it, tests use the immediate backend)."""

from __future__ import annotations

from django_tasks import task


@task()
def import_job_task(job_id: int) -> int:
    from salesops.core.imports.services import import_job_run

    job = import_job_run(job_id=job_id)
    return job.error_count
