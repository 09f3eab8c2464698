"""Background tasks of the compensation app (django-tasks)."""

from __future__ import annotations

from django_tasks import task


@task()
def commission_run_execute(run_id: int) -> str:
    """Compute a queued commission run and store its results (see services.runs)."""
    from salesops.compensation.services.runs import commission_run_process

    return str(commission_run_process(run_id=run_id))
