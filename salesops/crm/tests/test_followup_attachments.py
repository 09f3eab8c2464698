"""Follow-ups with attachments (跟进记录 · 附件): files sent with the follow-up form are
stored on it and shown on the customer's (and the lead's) timeline; a refused file refuses
the whole follow-up and the form keeps what was typed."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.core.attachments import attachments_root
from salesops.core.models import Attachment, AuditLog
from salesops.crm.models import Activity
from salesops.crm.services.leads import LeadInput, lead_create
from salesops.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)


@pytest.fixture(autouse=True)
def _var(settings: Any, tmp_path: Path) -> None:
    settings.VAR_DIR = tmp_path


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _files() -> list[Path]:
    root = attachments_root()
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def test_files_logged_with_a_follow_up_are_attached_and_shown_on_the_timeline(stock: Any) -> None:
    customer = CustomerFactory(owner=stock.rep, name="甲客户")
    alice = _client(stock.rep_user)
    page = reverse("sales:customer_detail", args=[customer.pk])
    assert 'enctype="multipart/form-data"' in alice.get(page).content.decode()
    resp = alice.post(
        reverse("crm:customer_followup", args=[customer.pk]),
        {
            "kind": "visit",
            "content": "上门拜访，拍了样品照片",
            "attachments": [
                SimpleUploadedFile("样品.jpg", JPEG, content_type="image/jpeg"),
                SimpleUploadedFile("纪要.pdf", PDF, content_type="application/pdf"),
            ],
        },
    )
    assert resp.status_code == 302 and resp["Location"] == page
    activity = Activity.objects.get()
    rows = list(
        Attachment.objects.filter(object_type="crm.activity", object_id=str(activity.pk))
        .order_by("id")
        .values_list("name", "content_type", "uploaded_by__username")
    )
    assert rows == [("样品.jpg", "image/jpeg", "alice"), ("纪要.pdf", "application/pdf", "alice")]
    assert len(_files()) == 2
    uploads = AuditLog.objects.filter(object_type="crm.activity", object_id=str(activity.pk))
    assert list(uploads.order_by("id").values_list("action", "after")) == [
        ("upload", "样品.jpg"),
        ("upload", "纪要.pdf"),
    ]

    html = alice.get(page).content.decode()
    block = f'id="attachments-crm-activity-{activity.pk}"'
    assert block in html
    for attachment in Attachment.objects.all():
        assert f'href="{reverse("core:attachment_download", args=[attachment.pk])}"' in html
        assert reverse("core:attachment_delete", args=[attachment.pk]) in html
    assert "添加附件" in html
    # the manager reads the follow-up's files but does not change another's record
    bob_html = _client(stock.manager_user).get(page).content.decode()
    assert block in bob_html and ">样品.jpg</a>" in bob_html
    assert reverse("core:attachment_upload") not in bob_html.split(block, 1)[1].split("</li>")[0]
    for attachment in Attachment.objects.all():
        assert reverse("core:attachment_delete", args=[attachment.pk]) not in bob_html


def test_a_refused_file_refuses_the_follow_up_and_keeps_what_was_typed(stock: Any) -> None:
    customer = CustomerFactory(owner=stock.rep)
    resp = _client(stock.rep_user).post(
        reverse("crm:customer_followup", args=[customer.pk]),
        {
            "kind": "meeting",
            "content": "周会讨论报价方案",
            "next_step": "发送修订报价",
            "next_on": (timezone.localdate() + datetime.timedelta(days=3)).isoformat(),
            "attachments": [
                SimpleUploadedFile("纪要.pdf", PDF),
                SimpleUploadedFile("报价.html", b"<html><script>x</script></html>"),
            ],
        },
    )
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "出于安全原因，不能上传程序、脚本、网页（HTML）或 SVG 图片：报价.html" in html
    assert "其他内容已保留，请重新选择附件后提交" in html
    assert "周会讨论报价方案</textarea>" in html
    assert 'value="发送修订报价"' in html
    assert 'enctype="multipart/form-data"' in html
    assert not Activity.objects.exists()
    assert not Attachment.objects.exists()
    assert _files() == []


def test_a_lead_follow_up_shows_its_attachments_on_the_lead(stock: Any) -> None:
    lead = lead_create(actor=None, data=LeadInput(company="乙贸易公司"), owner=stock.rep)
    alice = _client(stock.rep_user)
    resp = alice.post(
        reverse("crm:lead_followup", args=[lead.pk]),
        {
            "kind": "call",
            "content": "电话沟通",
            "attachments": SimpleUploadedFile("名片.jpg", JPEG),
        },
    )
    assert resp.status_code == 302
    attachment = Attachment.objects.get()
    html = alice.get(reverse("crm:lead_detail", args=[lead.pk])).content.decode()
    assert f'href="{reverse("core:attachment_download", args=[attachment.pk])}"' in html
    # outside the lead's scope the file is not there
    charlie = _client(stock.outsider_user)
    resp = charlie.get(reverse("core:attachment_download", args=[attachment.pk]))
    assert resp.status_code == 404
