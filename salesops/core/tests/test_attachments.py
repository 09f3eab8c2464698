"""Attachments (附件): upload, list, download and delete through the pages and the API, on
a contract (sales) and a follow-up (crm); the files refused (type, content, size, count),
the names cleaned, the scope (404 outside it, 403 without the right to change), the audit
rows on the parent and the sweep of orphans and strays."""

from __future__ import annotations

import datetime
import hashlib
import io
import os
import re
import zipfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.core.attachments import (
    MAX_PER_OBJECT,
    attachment_add,
    attachments_purge,
    attachments_root,
    clean_name,
)
from salesops.core.errors import ServiceError
from salesops.core.models import Attachment, AuditLog
from salesops.core.tokens import token_issue
from salesops.crm.models import Activity, ActivityKind
from salesops.crm.services.followups import FollowupInput, followup_create
from salesops.factories import CustomerFactory
from salesops.sales.models import Contract, ContractStatus

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(32))
TODAY = datetime.date(2026, 10, 5)


def _zip(names: list[str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name in names:
            z.writestr(name, "<x/>")
    return buf.getvalue()


DOCX = _zip(["[Content_Types].xml", "word/document.xml"])
BLOCKED = "出于安全原因，不能上传程序、脚本、网页（HTML）或 SVG 图片："
SCRIPT = "出于安全原因，不能上传程序或网页内容："
MISMATCH = "文件内容与扩展名不符："
BAD = "content_mismatch"


@pytest.fixture(autouse=True)
def _var(settings: Any, tmp_path: Path) -> Path:
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def contract(stock: Any) -> Contract:
    customer = CustomerFactory(owner=stock.rep, name="甲客户")
    return Contract.objects.create(
        contract_no="HT-0001",
        name="年度供货合同",
        customer=customer,
        owner=stock.rep,
        department=stock.rep.department,
        status=ContractStatus.FULFILLING,
        amount=Decimal(900),
        start_on=TODAY,
        end_on=TODAY + datetime.timedelta(days=365),
        signed_on=TODAY,
    )


@pytest.fixture
def followup(stock: Any, contract: Contract) -> Activity:
    return followup_create(
        actor=stock.rep_user,
        customer=contract.customer,
        data=FollowupInput(kind=ActivityKind.VISIT, content="上门拜访，演示新品"),
    )


def ui(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def bearer(username: str) -> dict[str, str]:
    key, _row = token_issue(username=username, password="pw-for-tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def upload(name: str, content: bytes, content_type: str = "application/pdf") -> Any:
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_files() -> list[Path]:
    root = attachments_root()
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def audit_rows(obj: Any) -> list[tuple[str, str, str, str, str]]:
    rows = AuditLog.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk), field="attachment"
    ).order_by("id")
    return [
        (r.action, r.actor.username if r.actor else "", r.before, r.after, r.note) for r in rows
    ]


# ------------------------------------------------------------------------------ pages


def test_a_contract_attachment_is_uploaded_listed_downloaded_and_deleted_on_its_page(
    stock: Any, contract: Contract, django_capture_on_commit_callbacks: Any
) -> None:
    client = ui(stock.rep_user)
    page = reverse("sales:contract_detail", args=[contract.pk])
    resp = client.post(
        reverse("core:attachment_upload"),
        {
            "object_type": "sales.contract",
            "object_id": str(contract.pk),
            "next": page,
            "file": upload("合同扫描件.pdf", PDF, "text/html"),
        },
    )
    assert resp.status_code == 302 and resp["Location"] == page

    attachment = Attachment.objects.get()
    assert (attachment.object_type, attachment.object_id) == ("sales.contract", str(contract.pk))
    assert attachment.name == "合同扫描件.pdf"
    assert attachment.size == len(PDF)
    assert attachment.sha256 == hashlib.sha256(PDF).hexdigest()
    assert attachment.content_type == "application/pdf"  # sniffed, not the client's text/html
    assert attachment.uploaded_by == stock.rep_user
    assert re.fullmatch(r"\d{4}/\d{2}/[0-9a-f]{32}", attachment.path)
    assert stored_files() == [attachments_root() / attachment.path]
    assert (attachments_root() / attachment.path).read_bytes() == PDF

    html = client.get(page).content.decode()
    assert 'data-bs-target="#tab-attachments"' in html
    download = reverse("core:attachment_download", args=[attachment.pk])
    assert f'href="{download}"' in html
    # the 操作记录 tab: 上传 · 附件 · 合同扫描件.pdf
    log = html[html.index('id="tab-log"') :]
    assert re.search(r"<td>上传</td>\s*<td>附件</td><td></td><td>合同扫描件.pdf</td>", log)

    resp = client.get(download)
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == PDF
    assert resp["Content-Type"] == "application/pdf"
    assert resp["Content-Disposition"] == (
        "attachment; filename=\"attachment.pdf\"; filename*=UTF-8''"
        "%E5%90%88%E5%90%8C%E6%89%AB%E6%8F%8F%E4%BB%B6.pdf"
    )
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Cache-Control"] == "private, no-store"
    assert resp["Content-Security-Policy"] == "default-src 'none'; sandbox"

    with django_capture_on_commit_callbacks(execute=True):
        resp = client.post(reverse("core:attachment_delete", args=[attachment.pk]), {"next": page})
    assert resp.status_code == 302
    assert not Attachment.objects.exists()
    assert stored_files() == []
    assert audit_rows(contract) == [
        ("upload", "alice", "", "合同扫描件.pdf", ""),
        ("delete", "alice", "合同扫描件.pdf", "", ""),
    ]


def test_htmx_upload_and_delete_swap_the_block_in_place(stock: Any, contract: Contract) -> None:
    client = ui(stock.rep_user)
    resp = client.post(
        reverse("core:attachment_upload"),
        {"object_type": "sales.contract", "object_id": contract.pk, "file": upload("a.png", PNG)},
        HTTP_HX_REQUEST="true",
    )
    html = resp.content.decode()
    assert resp.status_code == 200
    assert html.startswith(f'\n<div id="attachments-sales-contract-{contract.pk}"')
    assert "已上传 1 个附件" in html and ">a.png</a>" in html
    attachment = Attachment.objects.get()
    assert attachment.content_type == "image/png"

    resp = client.post(
        reverse("core:attachment_upload"),
        {"object_type": "sales.contract", "object_id": contract.pk, "file": upload("x.exe", b"MZ")},
        HTTP_HX_REQUEST="true",
    )
    html = resp.content.decode()
    assert BLOCKED + "x.exe" in html
    assert Attachment.objects.count() == 1

    resp = client.post(
        reverse("core:attachment_delete", args=[attachment.pk]), HTTP_HX_REQUEST="true"
    )
    assert "附件已删除：a.png" in resp.content.decode() and "暂无附件" in resp.content.decode()


def test_outside_the_scope_pages_answer_404_and_nothing_is_written(
    stock: Any, contract: Contract
) -> None:
    attachment = attachment_add(actor=stock.rep_user, obj=contract, upload=upload("a.pdf", PDF))
    charlie = ui(stock.outsider_user)
    resp = charlie.get(reverse("core:attachment_download", args=[attachment.pk]))
    assert resp.status_code == 404
    resp = charlie.post(
        reverse("core:attachment_upload"),
        {"object_type": "sales.contract", "object_id": contract.pk, "file": upload("b.pdf", PDF)},
    )
    assert resp.status_code == 404
    resp = charlie.post(reverse("core:attachment_delete", args=[attachment.pk]))
    assert resp.status_code == 404
    for object_type in ("sales.nothing", "core.user", ""):
        resp = charlie.post(
            reverse("core:attachment_upload"),
            {"object_type": object_type, "object_id": "1", "file": upload("b.pdf", PDF)},
        )
        assert resp.status_code == 404
    assert list(Attachment.objects.values_list("name", flat=True)) == ["a.pdf"]
    assert len(stored_files()) == 1
    # the rep's manager sees the contract: they may read and add to its attachments
    bob = ui(stock.manager_user)
    assert bob.get(reverse("core:attachment_download", args=[attachment.pk])).status_code == 200


def test_a_superseded_contract_version_keeps_its_attachments_as_they_were(
    stock: Any, contract: Contract
) -> None:
    attachment = attachment_add(actor=stock.rep_user, obj=contract, upload=upload("a.pdf", PDF))
    Contract.objects.filter(pk=contract.pk).update(status=ContractStatus.SUPERSEDED)
    client = ui(stock.rep_user)
    assert client.get(reverse("core:attachment_download", args=[attachment.pk])).status_code == 200
    resp = client.post(reverse("core:attachment_delete", args=[attachment.pk]))
    assert resp.status_code == 403
    with pytest.raises(ServiceError) as exc:
        attachment_add(actor=stock.rep_user, obj=contract, upload=upload("b.pdf", PDF))
    assert (exc.value.code, exc.value.status) == ("permission_denied", 403)


# -------------------------------------------------------------------------------- API


def test_the_api_uploads_lists_downloads_and_deletes(stock: Any, contract: Contract) -> None:
    client, auth = Client(), bearer("alice")
    resp = client.post(
        "/api/attachments",
        {
            "object_type": "sales.contract",
            "object_id": contract.pk,
            "file": upload("报价.docx", DOCX),
        },
        **auth,
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    attachment = Attachment.objects.get()
    assert body == {
        "id": attachment.pk,
        "object_type": "sales.contract",
        "object_id": str(contract.pk),
        "name": "报价.docx",
        "size": len(DOCX),
        "content_type": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "sha256": hashlib.sha256(DOCX).hexdigest(),
        "uploaded_by_id": stock.rep_user.pk,
        "uploaded_by": str(stock.rep_user),
        "uploaded_at": body["uploaded_at"],
    }
    listing = client.get(
        f"/api/attachments?object_type=sales.contract&object_id={contract.pk}", **auth
    ).json()
    assert listing == {"count": 1, "max_count": MAX_PER_OBJECT, "can_edit": True, "items": [body]}

    resp = client.get(f"/api/attachments/{attachment.pk}/download", **auth)
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == DOCX
    assert resp["Content-Disposition"].endswith("filename*=UTF-8''%E6%8A%A5%E4%BB%B7.docx")
    assert resp["X-Content-Type-Options"] == "nosniff"

    resp = client.delete(f"/api/attachments/{attachment.pk}", **auth)
    assert resp.status_code == 204
    assert not Attachment.objects.exists()
    assert [r[0] for r in audit_rows(contract)] == ["upload", "delete"]


def test_the_api_answers_404_outside_the_scope(stock: Any, contract: Contract) -> None:
    attachment = attachment_add(actor=stock.rep_user, obj=contract, upload=upload("a.pdf", PDF))
    client, auth = Client(), bearer("charlie")
    for method, url in (
        ("get", f"/api/attachments?object_type=sales.contract&object_id={contract.pk}"),
        ("get", f"/api/attachments/{attachment.pk}/download"),
        ("delete", f"/api/attachments/{attachment.pk}"),
        ("get", "/api/attachments?object_type=sales.nothing&object_id=1"),
    ):
        resp = getattr(client, method)(url, **auth)
        assert (resp.status_code, resp.json()["code"]) == (404, "not_found"), url
    resp = client.post(
        "/api/attachments",
        {"object_type": "sales.contract", "object_id": contract.pk, "file": upload("b.pdf", PDF)},
        **auth,
    )
    assert (resp.status_code, resp.json()["code"]) == (404, "not_found")
    assert Attachment.objects.count() == 1


def test_a_follow_up_is_read_by_whoever_sees_it_and_changed_by_its_writer(
    stock: Any, followup: Activity
) -> None:
    client = Client()
    resp = client.post(
        "/api/attachments",
        {"object_type": "crm.activity", "object_id": followup.pk, "file": upload("现场.png", PNG)},
        **bearer("alice"),
    )
    assert resp.status_code == 201
    attachment_id = resp.json()["id"]
    bob = bearer("bob")
    listing = client.get(
        f"/api/attachments?object_type=crm.activity&object_id={followup.pk}", **bob
    ).json()
    assert (listing["count"], listing["can_edit"]) == (1, False)
    assert client.get(f"/api/attachments/{attachment_id}/download", **bob).status_code == 200
    resp = client.delete(f"/api/attachments/{attachment_id}", **bob)
    assert (resp.status_code, resp.json()["code"]) == (403, "permission_denied")
    resp = client.post(
        "/api/attachments",
        {"object_type": "crm.activity", "object_id": followup.pk, "file": upload("b.pdf", PDF)},
        **bob,
    )
    assert resp.status_code == 403
    assert audit_rows(followup) == [("upload", "alice", "", "现场.png", "")]


# ------------------------------------------------------------------- refused files


@pytest.mark.parametrize(
    ("name", "content", "code", "message"),
    [
        ("setup.exe", b"MZ\x90\x00", "file_type", BLOCKED + "setup.exe"),
        ("page.html", b"<html></html>", "file_type", BLOCKED + "page.html"),
        ("logo.SVG", b"<svg/>", "file_type", BLOCKED + "logo.SVG"),
        ("archive.rar", b"Rar!", "file_type", "不支持的文件类型：archive.rar。"),
        ("noext", b"hello", "file_type", "不支持的文件类型：noext。"),
        ("fake.pdf", b"MZ\x90\x00\x03", BAD, MISMATCH + "fake.pdf 不是有效的 PDF 文件"),
        ("fake.png", PDF, BAD, MISMATCH + "fake.png 不是有效的 PNG 文件"),
        ("fake.docx", _zip(["a.txt"]), BAD, MISMATCH + "fake.docx 不是有效的 Word 文件"),
        ("fake.zip", b"PK\x03\x04broken", BAD, MISMATCH + "fake.zip 不是有效的 ZIP 文件"),
        ("binary.txt", b"MZ\x00\x00\x00", BAD, MISMATCH + "binary.txt 不是有效的 文本 文件"),
        ("notes.txt", b"\xef\xbb\xbf  <!DOCTYPE html><script>", "file_type", SCRIPT + "notes.txt"),
        ("run.csv", b"#!/bin/sh\nrm -rf /", "file_type", SCRIPT + "run.csv"),
        ("empty.pdf", b"", "empty", "文件为空：empty.pdf"),
    ],
)  # fmt: skip
def test_refused_files_leave_nothing_behind(
    stock: Any, contract: Contract, name: str, content: bytes, code: str, message: str
) -> None:
    resp = Client().post(
        "/api/attachments",
        {"object_type": "sales.contract", "object_id": contract.pk, "file": upload(name, content)},
        **bearer("alice"),
    )
    assert resp.status_code == 400, resp.content
    body = resp.json()
    assert body["code"] == code
    assert body["message"].startswith(message)
    assert body["fields"] == [{"field": "file", "message": body["message"]}]
    assert not Attachment.objects.exists()
    assert stored_files() == []


def test_a_file_over_the_limit_is_refused_while_it_streams(
    stock: Any, contract: Contract, settings: Any
) -> None:
    settings.SALESOPS_ATTACHMENT_MAX_MB = 1
    big = PDF + b"0" * (1024 * 1024)
    resp = Client().post(
        "/api/attachments",
        {"object_type": "sales.contract", "object_id": contract.pk, "file": upload("大.pdf", big)},
        **bearer("alice"),
    )
    assert resp.status_code == 413
    assert resp.json()["message"] == "文件过大：大.pdf 超过 1 MB"
    assert not Attachment.objects.exists()
    assert stored_files() == []
    exact = PDF + b"0" * (1024 * 1024 - len(PDF))
    attachment = attachment_add(actor=stock.rep_user, obj=contract, upload=upload("满.pdf", exact))
    assert attachment.size == 1024 * 1024


def test_an_object_takes_at_most_the_maximum_of_attachments(stock: Any, contract: Contract) -> None:
    Attachment.objects.bulk_create(
        Attachment(
            object_type="sales.contract", object_id=str(contract.pk), name=f"{i}.pdf",
            path=f"2026/01/{i:032x}", size=1, content_type="application/pdf", sha256="0" * 64,
        )
        for i in range(MAX_PER_OBJECT)
    )  # fmt: skip
    with pytest.raises(ServiceError) as exc:
        attachment_add(actor=stock.rep_user, obj=contract, upload=upload("more.pdf", PDF))
    assert exc.value.code == "too_many"
    assert str(exc.value.message) == "每条记录最多 50 个附件，请先删除不需要的"
    assert stored_files() == []


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\win.ini.txt", "win.ini.txt"),
        ("C:\\Users\\张三\\合同.pdf", "合同.pdf"),
        ("a\x00b\x1fc.pdf", "abc.pdf"),
        ("发票\u202efdp.exe", "发票fdp.exe"),
        ('  我的"报价":第1版?.pdf  ', "我的_报价__第1版_.pdf"),
        ("..pdf", "pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
def test_names_are_cleaned(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_a_path_in_the_uploaded_name_never_reaches_the_disk(stock: Any, contract: Contract) -> None:
    attachment = attachment_add(
        actor=stock.rep_user, obj=contract, upload=upload("../../../../tmp/evil.pdf", PDF)
    )
    assert attachment.name == "evil.pdf"
    assert stored_files() == [attachments_root() / attachment.path]
    with pytest.raises(ServiceError) as exc:
        attachment_add(actor=stock.rep_user, obj=contract, upload=upload("...", PDF))
    assert exc.value.code == "invalid_name"


# ----------------------------------------------------------------------------- sweep


def test_the_sweep_removes_orphans_and_old_strays_only(
    stock: Any, contract: Contract, followup: Activity, django_capture_on_commit_callbacks: Any
) -> None:
    kept = attachment_add(actor=stock.rep_user, obj=followup, upload=upload("留.pdf", PDF))
    orphan = attachment_add(actor=stock.rep_user, obj=contract, upload=upload("孤.pdf", PDF))
    orphan_file = attachments_root() / orphan.path
    contract_id = contract.pk
    Contract.objects.filter(pk=contract_id).delete()
    now = timezone.now()
    old = (now - datetime.timedelta(days=2)).timestamp()
    stray = attachments_root() / "2026" / "01" / ("a" * 32)
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"left over")
    os.utime(stray, (old, old))
    part = stray.with_name("b" * 32 + ".part")
    part.write_bytes(b"cut short")
    os.utime(part, (old, old))
    fresh = stray.with_name("c" * 32)
    fresh.write_bytes(b"being written")
    os.utime(attachments_root() / kept.path, (old, old))

    with django_capture_on_commit_callbacks(execute=True):
        assert attachments_purge(now=now) == "orphans=1 stray_files=2"
    assert list(Attachment.objects.values_list("name", flat=True)) == ["留.pdf"]
    assert not orphan_file.exists() and not stray.exists() and not part.exists()
    assert fresh.exists() and (attachments_root() / kept.path).exists()
    row = AuditLog.objects.get(
        object_type="sales.contract", object_id=str(contract_id), action="delete"
    )
    assert (row.actor, row.field, row.before, row.note) == (
        None, "attachment", "孤.pdf", "所属记录已不存在，附件已清理",
    )  # fmt: skip
    assert attachments_purge(now=now) == "orphans=0 stray_files=0"
