"""Scheduled jobs: the registered ``ScheduledJob`` entries run by themselves.

``scheduler_tick`` (called every few seconds by ``salesops scheduler``, which ``salesops
serve`` starts beside the task worker) claims each due job with a conditional update of
its state row and enqueues the background task that runs it, so any number of schedulers
may run and a job still starts once per interval. A job whose run died (the worker was
killed) is due again after its interval, which is why jobs must be idempotent.
"""

from __future__ import annotations

import datetime
import logging
import time
from dataclasses import dataclass
from functools import partial

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from salesops.core.audit import audit_record
from salesops.core.models import AuditAction, JobRunStatus, ScheduledJobState, User
from salesops.core.registry import ScheduledJob, scheduled_jobs

logger = logging.getLogger(__name__)
MESSAGE_MAX = 2000


@dataclass(frozen=True)
class JobRow:
    """A registered job with its state, for the admin's list."""

    job: ScheduledJob
    state: ScheduledJobState

    @property
    def minutes(self) -> int:
        return int(self.job.every.total_seconds() // 60)


def _states(jobs: dict[str, ScheduledJob]) -> dict[str, ScheduledJobState]:
    have = {s.key: s for s in ScheduledJobState.objects.filter(key__in=list(jobs))}
    missing = [ScheduledJobState(key=key) for key in jobs if key not in have]
    if missing:
        ScheduledJobState.objects.bulk_create(missing, ignore_conflicts=True)
        have = {s.key: s for s in ScheduledJobState.objects.filter(key__in=list(jobs))}
    return have


def job_rows() -> list[JobRow]:
    """The admin's list. A read: a job that never ran shows an unsaved, empty state (the
    scheduler creates the row when it first ticks), so the page writes nothing."""
    jobs = scheduled_jobs()
    have = {s.key: s for s in ScheduledJobState.objects.filter(key__in=list(jobs))}
    return [
        JobRow(job, have.get(key) or ScheduledJobState(key=key))
        for key, job in sorted(jobs.items())
    ]


def _claim(state: ScheduledJobState, now: datetime.datetime) -> bool:
    """Take the job's next run: only if nobody started it since we read its state."""
    claimed = ScheduledJobState.objects.filter(
        pk=state.pk, last_started_at=state.last_started_at
    ).update(last_started_at=now, last_status=JobRunStatus.RUNNING)
    return claimed == 1


def scheduler_tick(*, now: datetime.datetime | None = None) -> list[str]:
    """Enqueue every due job once; returns the keys enqueued."""
    from salesops.core.tasks import scheduled_job_task

    now = now or timezone.now()
    jobs = scheduled_jobs()
    started: list[str] = []
    for key, state in _states(jobs).items():
        last = state.last_started_at
        if last is not None and now - last < jobs[key].every:
            continue
        with transaction.atomic():
            if _claim(state, now):
                transaction.on_commit(partial(scheduled_job_task.enqueue, key, now.isoformat()))
                started.append(key)
    return started


def scheduled_job_enqueue(*, key: str, actor: User) -> None:
    """立即运行: queue a run of ``key`` now, outside its interval (audited; KeyError for an
    unknown key). The interval counts on from this start."""
    from salesops.core.tasks import scheduled_job_task

    job = scheduled_jobs()[key]
    state = _states({key: job})[key]
    now = timezone.now()
    with transaction.atomic():
        ScheduledJobState.objects.filter(pk=state.pk).update(
            last_started_at=now, last_status=JobRunStatus.RUNNING
        )
        audit_record(actor=actor, action=AuditAction.UPDATE, obj=state, note=_("立即运行"))
        transaction.on_commit(partial(scheduled_job_task.enqueue, key, now.isoformat()))


def scheduled_job_run(*, key: str, now: datetime.datetime) -> ScheduledJobState:
    """Run one job now and record how it ended (the task body; also 立即运行)."""
    job = scheduled_jobs()[key]
    state = _states({key: job})[key]
    try:
        message = job.function()(now=now)
    except Exception as exc:  # the job's failure is recorded, the worker goes on
        logger.exception("scheduled job %s failed", key)
        status, text = JobRunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    else:
        status, text = JobRunStatus.DONE, str(message or "")
    ScheduledJobState.objects.filter(pk=state.pk).update(
        last_finished_at=timezone.now(),
        last_status=status,
        last_message=text[:MESSAGE_MAX],
        runs=F("runs") + 1,
    )
    state.refresh_from_db()
    return state


def scheduler_loop(*, interval: float = 15.0, once: bool = False) -> None:
    """Tick until interrupted (``salesops scheduler``)."""
    while True:
        try:
            started = scheduler_tick()
            if started:
                logger.info("scheduled: %s", ", ".join(started))
        except Exception:  # a database hiccup must not end the scheduler
            logger.exception("scheduler tick failed")
        if once:
            return
        time.sleep(interval)
