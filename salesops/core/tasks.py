"""Background tasks of core (django-tasks): the run of a scheduled job."""

from __future__ import annotations

import datetime

from django_tasks import task


@task()
def scheduled_job_task(key: str, now: str) -> str:
    """Run the registered job ``key`` as of ``now`` (ISO time of its claim)."""
    from salesops.core.scheduler import scheduled_job_run

    state = scheduled_job_run(key=key, now=datetime.datetime.fromisoformat(now))
    return f"{state.last_status}: {state.last_message}"
