"""Import screens and API: the right is checked on the server, upload → dry run → apply
(background task) → progress, and jobs of others are 404."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase, override_settings
from django.urls import reverse
from openpyxl import load_workbook

from salesops.core.models import AuditLog, ImportJob, RoleCode, User
from salesops.core.tokens import token_issue
from salesops.factories import DepartmentFactory, UserFactory, role
from salesops.org.models import Employee

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
CSV = "工号,姓名,部门编码\nE1,张三,T1\nE2,李四,T1\n".encode()
BAD_CSV = "工号,姓名,部门编码\nE1,,T1\nE2,李四,XX\n".encode()


@pytest.fixture(autouse=True)
def _var(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    # the dry run is a background task queued on commit: run it at once
    settings.TASKS = IMMEDIATE


@pytest.fixture
def admin(db: None) -> User:
    DepartmentFactory(code="T1")
    return UserFactory(username="admin", role=role(RoleCode.ADMIN))


def upload(client, data: bytes, name: str = "emp.csv"):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("core:import_upload", args=["employees"]),
            {"file": SimpleUploadedFile(name, data, content_type="text/csv")},
        )


def test_rep_and_anonymous_cannot_import(client, stock):
    assert client.get(reverse("core:imports")).status_code == 302
    client.force_login(stock.rep_user)
    assert client.get(reverse("core:imports")).status_code == 403
    assert upload(client, CSV).status_code == 403
    assert Employee.objects.count() == 3


def test_upload_dry_run_apply_and_progress(client, admin, django_capture_on_commit_callbacks):
    client.force_login(admin)
    response = upload(client, CSV)
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:import_job", args=[job.pk])
    assert (job.status, job.rows_total, job.created_count, job.error_count) == (
        "validated",
        2,
        2,
        0,
    )
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "确认导入" in page.content.decode()
    assert Employee.objects.count() == 0

    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("core:import_job_apply", args=[job.pk]))

    job.refresh_from_db()
    assert (job.status, job.rows_done, job.created_count) == ("done", 2, 2)
    assert sorted(Employee.objects.values_list("name", flat=True)) == ["张三", "李四"]
    assert AuditLog.objects.filter(action="import", actor=admin).count() == 1
    progress = client.get(reverse("core:import_job_progress", args=[job.pk])).content.decode()
    assert "导入完成：新增 2 条，更新 0 条。" in progress
    assert "every 1s" not in progress


def test_bad_file_shows_every_error_and_cannot_be_applied(client, admin):
    client.force_login(admin)
    upload(client, BAD_CSV)
    job = ImportJob.objects.get()
    assert job.status == "invalid"
    assert job.errors == [
        {"row": 2, "column": "姓名", "message": "必填项不能为空"},
        {"row": 3, "column": "部门编码", "message": "部门编码 XX 不存在"},
    ]
    html = client.get(reverse("core:import_job", args=[job.pk])).content.decode()
    assert "部门编码 XX 不存在" in html
    assert "import-apply" not in html
    client.post(reverse("core:import_job_apply", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "invalid"
    errors_csv = client.get(reverse("core:import_job_errors", args=[job.pk]))
    assert b"".join(errors_csv.streaming_content).decode("utf-8-sig").splitlines() == [
        "行号,列,原因",
        "2,姓名,必填项不能为空",
        "3,部门编码,部门编码 XX 不存在",
    ]


def test_other_importers_job_is_404(client, admin, db):
    client.force_login(admin)
    upload(client, CSV)
    job = ImportJob.objects.get()
    role_obj = role(RoleCode.FINANCE)
    role_obj.can_import = True
    role_obj.save()
    other = UserFactory(username="fin", role=role_obj)
    client.force_login(other)
    assert client.get(reverse("core:import_job", args=[job.pk])).status_code == 404
    assert client.get(reverse("core:import_job_progress", args=[job.pk])).status_code == 404


def test_template_download_has_header_and_example(client, admin):
    client.force_login(admin)
    response = client.get(reverse("core:import_template", args=["employees"]))
    ws = load_workbook(io.BytesIO(response.content)).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("工号*", "姓名*", "手机号", "部门编码*", "上级工号", "岗位编码")
    assert rows[1] == ("E1001", "张三", "13800138000", "T1", None, None)
    assert client.get(reverse("core:import_template", args=["nope"])).status_code == 404


def test_imports_index_queries_are_bounded(client, admin, django_assert_max_num_queries):
    client.force_login(admin)
    for _ in range(3):
        upload(client, CSV)
    # The layout, the capped count, one page of jobs and the viewer's saved scenes.
    with django_assert_max_num_queries(9):
        response = client.get(reverse("core:imports"))
    assert response.status_code == 200
    assert response.content.decode().count("emp.csv") == 3
    for _ in range(3):
        upload(client, CSV)
    with django_assert_max_num_queries(9):
        response = client.get(reverse("core:imports"))
    assert response.content.decode().count("emp.csv") == 6


def _token(user: User) -> str:
    user.set_password("pw-for-tests")
    user.save()
    key, _row = token_issue(username=user.username, password="pw-for-tests")
    return key


def test_api_dry_run_apply_and_job(client, admin, django_capture_on_commit_callbacks):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token(admin)}"}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/imports/employees/dry-run",
            {"file": SimpleUploadedFile("b.csv", BAD_CSV)},
            **auth,
        )
    assert response.status_code == 202
    assert (response.json()["status"], response.json()["report"]) == ("checking", None)
    body = client.get(f"/api/imports/jobs/{response.json()['id']}", **auth).json()
    assert body["status"] == "invalid"
    body = body["report"]
    assert body["error_kinds"] == {"姓名": 1, "部门编码": 1}
    assert (body["ok"], body["error_count"], body["errors"][1]) == (
        False,
        2,
        {"row": 3, "column": "部门编码", "message": "部门编码 XX 不存在"},
    )
    with override_settings(TASKS=IMMEDIATE), django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/imports/employees/apply", {"file": SimpleUploadedFile("g.csv", CSV)}, **auth
        )
    assert response.status_code == 202
    job_id = response.json()["id"]
    job = client.get(f"/api/imports/jobs/{job_id}", **auth).json()
    assert (job["status"], job["rows_done"], job["created"], job["percent"]) == ("done", 2, 2, 100)
    assert Employee.objects.count() == 2


def test_api_refuses_without_right_and_hides_jobs(client, stock):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {_token(stock.rep_user)}"}
    response = client.post(
        "/api/imports/employees/dry-run", {"file": SimpleUploadedFile("g.csv", CSV)}, **auth
    )
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert client.get("/api/imports/jobs/999", **auth).status_code == 403
