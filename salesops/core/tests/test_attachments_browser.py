"""Attachments (附件) in Debian's chromium, under the site's Content-Security-Policy: the rep
uploads the signed copy on the contract's 附件 tab (htmx swaps the block), downloads it
under its Chinese name, has an .exe refused and deletes the copy; then logs a follow-up
with a photo from the customer page and finds it on the timeline."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from salesops.core.models import Attachment
from salesops.factories import CustomerFactory
from salesops.sales.models import Contract, ContractStatus

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)


def _login(page: Any, username: str, next_url: str) -> None:
    page.goto(f"/login/?next={next_url}")
    page.fill("#id_username", username)
    page.fill("#id_password", "pw-for-tests")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"**{next_url}")


def test_attachments_on_a_contract_and_a_follow_up_in_the_browser(
    stock: Any, browser_page: Any, settings: Any, tmp_path: Path
) -> None:
    settings.VAR_DIR = tmp_path
    customer = CustomerFactory(owner=stock.rep, department=stock.team, name="杭州青禾商贸")
    day = datetime.date(2026, 10, 5)
    contract = Contract.objects.create(
        contract_no="HT-B-0001", name="年度供货合同", customer=customer, owner=stock.rep,
        department=stock.team, status=ContractStatus.FULFILLING, amount=Decimal(900),
        start_on=day, end_on=day + datetime.timedelta(days=365), signed_on=day,
    )  # fmt: skip
    page = browser_page
    page.on("dialog", lambda d: d.accept())
    _login(page, "alice", f"/sales/contracts/{contract.pk}/")

    page.click("button[data-bs-target='#tab-attachments']")
    block = page.locator(f"#attachments-sales-contract-{contract.pk}")
    expect(block).to_contain_text("暂无附件")
    block.locator("input[type=file]").set_input_files(
        {"name": "签署版.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    block.locator("button[type=submit]", has_text="上传").click()
    expect(block).to_contain_text("已上传 1 个附件")
    expect(block.get_by_role("link", name="签署版.pdf")).to_be_visible()

    with page.expect_download() as info:
        block.get_by_role("link", name="签署版.pdf").click()
    download = info.value
    assert download.suggested_filename == "签署版.pdf"
    assert Path(download.path()).read_bytes() == PDF

    block.locator("input[type=file]").set_input_files(
        {"name": "工具.exe", "mimeType": "application/octet-stream", "buffer": b"MZ\x90\x00"}
    )
    block.locator("button[type=submit]", has_text="上传").click()
    expect(block.locator("[data-attachment-error]")).to_contain_text("不能上传程序")
    assert list(Attachment.objects.values_list("name", flat=True)) == ["签署版.pdf"]

    block.get_by_role("button", name="删除").click()
    expect(block).to_contain_text("附件已删除：签署版.pdf")
    expect(block).to_contain_text("暂无附件")
    assert not Attachment.objects.exists()

    page.goto(f"/sales/customers/{customer.pk}/")
    form = page.locator("#followup-form")
    form.locator("textarea").fill("上门拜访，拍了陈列照片")
    form.locator("input[type=file]").set_input_files(
        {"name": "陈列.jpg", "mimeType": "image/jpeg", "buffer": JPEG}
    )
    form.get_by_role("button", name="保存跟进").click()
    expect(page.locator("#followup-timeline")).to_contain_text("上门拜访，拍了陈列照片")
    expect(page.locator("#followup-timeline").get_by_role("link", name="陈列.jpg")).to_be_visible()
