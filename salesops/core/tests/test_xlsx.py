"""The .xlsx writer: formula injection neutralised, values kept, exports audited."""

from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import load_workbook

from salesops.core.models import AuditLog, RoleCode
from salesops.core.xlsx import audit_export, neutralise, xlsx_bytes, xlsx_response
from salesops.factories import UserFactory, role


def test_neutralise_prefixes_formula_starters():
    assert [neutralise(v) for v in ("=1+1", "+86", "-x", "@SUM(A1)", "\tx", "\rx", "ok")] == [
        "'=1+1",
        "'+86",
        "'-x",
        "'@SUM(A1)",
        "'\tx",
        "'\rx",
        "ok",
    ]
    assert neutralise(-5) == -5
    assert neutralise(Decimal("-1.50")) == Decimal("-1.50")
    assert neutralise(None) == ""


def test_xlsx_cells_are_text_not_formulas():
    data = xlsx_bytes(
        headers=["名称", "=H", "n"], rows=[["=cmd|' /C calc'!A0", Decimal("12.30"), 3]]
    )
    ws = load_workbook(io.BytesIO(data)).active
    assert [c.value for c in ws[1]] == ["名称", "'=H", "n"]
    assert [c.value for c in ws[2]] == ["'=cmd|' /C calc'!A0", 12.3, 3]
    assert ws["A2"].data_type == "s"


def test_xlsx_response_streams_a_workbook():
    response = xlsx_response(filename="客户.xlsx", headers=["a"], rows=([i] for i in range(3)))
    body = b"".join(response.streaming_content)
    ws = load_workbook(io.BytesIO(body)).active
    assert [r[0] for r in ws.iter_rows(values_only=True)] == ["a", 0, 1, 2]
    assert "filename*=UTF-8''%E5%AE%A2%E6%88%B7.xlsx" in response["Content-Disposition"]


def test_export_audit_row(db):
    user = UserFactory(username="exp", role=role(RoleCode.ADMIN))
    audit_export(actor=user, object_type="sales.customer", rows=12, note="q=''")
    row = AuditLog.objects.get()
    assert (row.action, row.object_type, row.actor, row.note) == (
        "export",
        "sales.customer",
        user,
        "rows=12 q=''",
    )
