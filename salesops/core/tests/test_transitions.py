"""The shared status-machine helper (``core/transitions.py``) and core's own tables:
approval requests, approval tasks, import jobs."""

from __future__ import annotations

import pytest
from django.utils import translation

from salesops.core.approvals.services import REQUEST_MOVES, TASK_MOVES
from salesops.core.errors import ServiceError
from salesops.core.imports.services import IMPORT_MOVES
from salesops.core.models import (
    ApprovalRequest,
    ApprovalStatus,
    ApprovalTask,
    AuditLog,
    ImportJob,
    ImportJobStatus,
    TaskStatus,
)
from salesops.core.tests.status_tables import Table, check_move, check_table, every_pair, table
from salesops.core.transitions import Transitions, claim, transition

A, T, J = ApprovalStatus, TaskStatus, ImportJobStatus

TABLES: dict[str, Table] = {
    "approval_request": table(
        REQUEST_MOVES,
        ApprovalRequest,
        (A.PENDING, A.APPROVED),
        (A.PENDING, A.REJECTED),
        (A.PENDING, A.RETURNED),
        (A.PENDING, A.CANCELLED),
        (A.RETURNED, A.PENDING),  # 重新提交
    ),
    "approval_task": table(
        TASK_MOVES,
        ApprovalTask,
        (T.PENDING, T.APPROVED),
        (T.PENDING, T.REJECTED),
        (T.PENDING, T.RETURNED),
        (T.PENDING, T.SKIPPED),
    ),
    "import_job": table(
        IMPORT_MOVES,
        ImportJob,
        (J.QUEUED, J.VALIDATED),
        (J.QUEUED, J.INVALID),
        # the dry run, a background task: valid, invalid, or failed at a limit
        (J.CHECKING, J.VALIDATED),
        (J.CHECKING, J.INVALID),
        (J.CHECKING, J.FAILED),
        (J.VALIDATED, J.QUEUED),
        (J.QUEUED, J.QUEUED),  # 执行导入 of a job uploaded without a dry run
        (J.QUEUED, J.RUNNING),
        (J.RUNNING, J.DONE),
        (J.RUNNING, J.FAILED),
    ),
}


@pytest.mark.parametrize("name", list(TABLES))
def test_table_allows_exactly_the_described_moves(name: str) -> None:
    check_table(TABLES[name])


@pytest.mark.parametrize("name, before, to", every_pair(TABLES))
def test_move(name: str, before: str, to: str) -> None:
    check_move(TABLES[name], before, to)


# --------------------------------------------------------------------------- the helper


def test_a_table_naming_an_unknown_status_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match=r"ImportJobStatus: unknown statuses \['archived'\]"):
        Transitions(ImportJobStatus, {ImportJobStatus.DONE: ("archived",)})


def test_allowed_from_lists_sources_in_the_enums_order() -> None:
    moves = Transitions(J, {J.FAILED: (J.RUNNING, J.QUEUED)})
    assert moves.allowed_from(J.FAILED) == (J.QUEUED, J.RUNNING)
    assert moves.allowed_from(J.DONE) == ()  # never reached by a move


def test_the_refusal_names_both_statuses_in_the_users_language() -> None:
    err = REQUEST_MOVES.refusal(A.CANCELLED, A.PENDING)
    assert (err.code, err.status, str(err.message)) == (
        "invalid_transition",
        409,
        "不能从“已撤回”变为“审批中”",
    )
    with translation.override("en"):
        message = str(REQUEST_MOVES.refusal(A.CANCELLED, A.PENDING).message)
        expected = f"Cannot change from “{A.CANCELLED.label}” to “{A.PENDING.label}”"
    assert message == expected
    assert "已" not in message


@pytest.mark.django_db
def test_transition_saves_and_audits_the_move(stock) -> None:  # type: ignore[no-untyped-def]
    job = ImportJob.objects.create(entity="members", file_path="x.csv", created_by=stock.rep_user)
    before = transition(
        job, J.VALIDATED, allowed=IMPORT_MOVES, actor=stock.rep_user, note="dry run", rows_total=3
    )
    job.refresh_from_db()
    assert (before, job.status, job.rows_total) == (J.QUEUED, J.VALIDATED, 3)
    rows = AuditLog.objects.filter(object_type="core.importjob", object_id=str(job.pk))
    assert sorted((r.field, r.before, r.after, r.note) for r in rows) == [
        ("rows_total", "0", "3", "dry run"),
        ("status", J.QUEUED, J.VALIDATED, "dry run"),
    ]


@pytest.mark.django_db
def test_transition_without_audit_saves_only(stock) -> None:  # type: ignore[no-untyped-def]
    job = ImportJob.objects.create(entity="members", file_path="x.csv", created_by=stock.rep_user)
    transition(job, J.INVALID, allowed=IMPORT_MOVES, audit=False)
    assert ImportJob.objects.get(pk=job.pk).status == J.INVALID
    assert not AuditLog.objects.filter(object_type="core.importjob").exists()


@pytest.mark.django_db
def test_a_refused_transition_changes_nothing(stock) -> None:  # type: ignore[no-untyped-def]
    job = ImportJob.objects.create(
        entity="members", file_path="x.csv", created_by=stock.rep_user, status=J.DONE
    )
    with pytest.raises(ServiceError, match="invalid_transition"):
        transition(job, J.RUNNING, allowed=IMPORT_MOVES, actor=stock.rep_user, rows_done=9)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (J.DONE, 0)
    assert not AuditLog.objects.filter(object_type="core.importjob").exists()


@pytest.mark.django_db
def test_claim_moves_a_row_once_and_only_from_an_allowed_status(stock) -> None:  # type: ignore[no-untyped-def]
    queued = ImportJob.objects.create(entity="members", file_path="a.csv")
    done = ImportJob.objects.create(entity="members", file_path="b.csv", status=J.DONE)
    first = claim(ImportJob.objects.filter(pk=queued.pk), J.RUNNING, allowed=IMPORT_MOVES)
    second = claim(ImportJob.objects.filter(pk=queued.pk), J.RUNNING, allowed=IMPORT_MOVES)
    never = claim(ImportJob.objects.filter(pk=done.pk), J.RUNNING, allowed=IMPORT_MOVES)
    assert (first, second, never) == (1, 0, 0)
    assert dict(ImportJob.objects.values_list("pk", "status")) == {
        queued.pk: J.RUNNING,
        done.pk: J.DONE,
    }


@pytest.mark.django_db
def test_claim_sets_the_other_values_with_the_status() -> None:
    job = ImportJob.objects.create(entity="members", file_path="a.csv", status=J.RUNNING)
    assert claim(ImportJob.objects.filter(pk=job.pk), J.DONE, allowed=IMPORT_MOVES, rows_done=7)
    job.refresh_from_db()
    assert (job.status, job.rows_done) == (J.DONE, 7)
