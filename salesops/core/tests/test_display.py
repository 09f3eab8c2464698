"""The display layer (core.display and its template filters): one form per kind of value,
on pages and in exports."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

from django.template.loader import render_to_string
from django.test import Client
from django.utils import translation
from openpyxl import load_workbook

from salesops.core.display import (
    describe_user_agent,
    export_value,
    format_count,
    format_date,
    format_datetime,
    format_money,
    format_number,
    format_rate,
)
from salesops.core.listing import Column
from salesops.core.xlsx import xlsx_bytes

UTC = datetime.UTC
AT = datetime.datetime(2026, 10, 5, 6, 30, 15, 123456, tzinfo=UTC)  # 14:30 in Shanghai


def test_numbers_money_and_rates() -> None:
    assert format_money(Decimal("1234567.891")) == "¥1,234,567.89"
    assert format_money(Decimal("-5")) == "-¥5.00"
    assert format_count(105038) == "105,038"
    assert format_count(0) == "0"
    assert format_number(Decimal("240000")) == "240,000"
    assert format_number(Decimal("0.90")) == "0.9"
    assert format_number(Decimal("1234.50")) == "1,234.5"
    assert format_rate(Decimal("0.20")) == "20%"
    assert format_rate(Decimal("0.125")) == "12.5%"
    assert format_rate(Decimal("2.0")) == "200%"
    assert format_rate(None) == ""


def test_times_are_local_to_the_minute() -> None:
    assert format_datetime(AT) == "2026-10-05 14:30"
    assert format_date(AT.replace(hour=17)) == "2026-10-06"  # 01:30 the next day locally
    assert format_date(datetime.date(2026, 10, 5)) == "2026-10-05"
    assert export_value(AT) == datetime.datetime(2026, 10, 5, 14, 30, 15)
    assert export_value(Decimal("1.50")) == Decimal("1.50")


def test_list_columns_show_and_export_local_times() -> None:
    col = Column("at", "时间", lambda r: r)
    assert col.display(AT) == "2026-10-05 14:30"
    assert col.export_value(AT) == datetime.datetime(2026, 10, 5, 14, 30, 15)
    ws = load_workbook(io.BytesIO(xlsx_bytes(headers=["时间"], rows=[[AT]]))).active
    assert ws is not None
    assert ws["A2"].value == datetime.datetime(2026, 10, 5, 14, 30, 15)


def _list_footer(count: int) -> str:
    return render_to_string(
        "core/_list_table.html",
        {"headers": [], "rows": [], "paginator": {"count": count}, "page": {}},
    )


def test_list_count_has_thousands_separators_in_both_languages() -> None:
    assert "共 105,038 条" in _list_footer(105038)
    with translation.override("en"):
        assert "105,038 records in total" in _list_footer(105038)
        assert "1 record in total" in _list_footer(1)


def test_language_switch_names_each_language_in_itself(db: None, client: Client) -> None:
    for language in ("zh-hans", "en"):
        client.cookies["django_language"] = language
        html = client.get("/login/").content.decode()
        assert '<option value="zh-hans" lang="zh-hans"' in html
        assert ">简体中文</option>" in html and ">English</option>" in html, language
        assert "英语" not in html and "Simplified Chinese" not in html


def test_user_agents_read_as_browser_and_system() -> None:
    cases = {
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "HeadlessChrome/156.0.0.0 Safari/537.36": "Chrome 156 · Linux",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0": "Edge 120 · Windows",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1": "Safari 17 · iOS",
        "Mozilla/5.0 (Linux; Android 13; V2203A) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Version/4.0 Chrome/107 Mobile Safari/537.36 MicroMessenger/8.0.40": "微信 8 · Android",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:120.0) Gecko/20100101 Firefox/120.0": (
            "Firefox 120 · macOS"
        ),
        "python-requests/2.32.0": "python-requests/2.32.0",
        "": "",
        None: "",
    }
    assert {ua: describe_user_agent(ua) for ua in cases} == cases
