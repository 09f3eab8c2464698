"""Scheduled jobs: due jobs are claimed once per interval, their runs recorded, failures
kept, and the admin page lists them and runs one now."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.core import registry
from salesops.core.models import AuditLog, JobRunStatus, RoleCode, ScheduledJobState
from salesops.core.registry import Module, ScheduledJob
from salesops.core.scheduler import scheduled_job_run, scheduler_tick
from salesops.factories import UserFactory, role

pytestmark = pytest.mark.django_db
CALLS: list[dt.datetime] = []


def record(*, now: dt.datetime) -> str:
    CALLS.append(now)
    return f"第 {len(CALLS)} 次"


def explode(*, now: dt.datetime) -> str:
    raise RuntimeError("磁盘已满")


@pytest.fixture
def jobs(settings: Any, tmp_path: Any) -> Any:
    # the purge jobs sweep folders under VAR_DIR: a test's own, never the checkout's var/
    settings.VAR_DIR = tmp_path
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    CALLS.clear()
    registry.register_module(
        Module(
            app="testjobs",
            jobs=(
                ScheduledJob("t.record", "记录", dt.timedelta(minutes=10), f"{__name__}:record"),
                ScheduledJob("t.explode", "出错", dt.timedelta(hours=1), f"{__name__}:explode"),
            ),
        )
    )
    yield
    registry.unregister_module("testjobs")


def test_a_due_job_runs_once_per_interval(
    jobs: Any, django_capture_on_commit_callbacks: Any
) -> None:
    t0 = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        started = scheduler_tick(now=t0)
    assert sorted(started) == [
        "compensation.reset_stale_runs",
        "core.accounts_purge",
        "core.attachments_purge",
        "core.import_files_purge",
        "core.import_jobs_reset_stale",
        "crm.complaint_escalation",
        "crm.followup_reminders",
        "crm.pool_reclaim",
        "crm.visit_schedule",
        "sales.contract_reminders",
        "t.explode",
        "t.record",
    ]
    assert [t0] == CALLS
    with django_capture_on_commit_callbacks(execute=True):
        later = scheduler_tick(now=t0 + dt.timedelta(minutes=9))
    assert [k for k in later if k.startswith("t.")] == []
    with django_capture_on_commit_callbacks(execute=True):
        later = scheduler_tick(now=t0 + dt.timedelta(minutes=10))
    assert [k for k in later if k.startswith("t.")] == ["t.record"]
    state = ScheduledJobState.objects.get(key="t.record")
    assert (state.runs, state.last_status, state.last_message) == (2, JobRunStatus.DONE, "第 2 次")
    assert state.last_started_at == t0 + dt.timedelta(minutes=10)


def test_a_failing_job_is_recorded_and_the_others_still_run(jobs: Any) -> None:
    state = scheduled_job_run(key="t.explode", now=timezone.now())
    assert (state.last_status, state.last_message) == (
        JobRunStatus.FAILED,
        "RuntimeError: 磁盘已满",
    )
    assert scheduled_job_run(key="t.record", now=timezone.now()).last_status == JobRunStatus.DONE


def test_a_job_claimed_by_another_scheduler_is_not_started_twice(jobs: Any) -> None:
    t0 = timezone.now()
    ScheduledJobState.objects.create(key="t.record")
    stale_view = ScheduledJobState.objects.get(key="t.record")
    # Another scheduler claims it between our read and our claim.
    ScheduledJobState.objects.filter(key="t.record").update(last_started_at=t0)
    from salesops.core.scheduler import _claim

    assert _claim(stale_view, t0) is False


def test_the_jobs_page_is_for_admins_and_runs_a_job_now(
    jobs: Any, django_capture_on_commit_callbacks: Any
) -> None:
    admin = UserFactory(username="root", role=role(RoleCode.ADMIN))
    rep = UserFactory(username="rep", role=role(RoleCode.REP))
    client = Client()
    client.force_login(rep)
    assert client.get(reverse("core:jobs")).status_code == 403
    assert client.post(reverse("core:job_run_now", args=["t.record"])).status_code == 403
    client.force_login(admin)
    page = client.get(reverse("core:jobs")).content.decode()
    assert "记录" in page and "<code>t.record</code>" in page and "每 10 分钟" in page
    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(reverse("core:job_run_now", args=["t.record"]))
    assert resp.status_code == 302
    assert ScheduledJobState.objects.get(key="t.record").last_message == "第 1 次"
    assert AuditLog.objects.filter(object_type="core.scheduledjobstate", actor=admin).count() == 1
    assert client.post(reverse("core:job_run_now", args=["nope"])).status_code == 404
