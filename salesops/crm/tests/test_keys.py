"""The 查重 keys: what two people type differently for the same company or phone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from salesops.sales.keys import company_key, email_key, phone_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("上海 华为技术（集团）有限公司", "华为技术有限公司"),
        ("广东省深圳市腾讯科技有限公司", "腾讯科技(深圳)有限公司"),
        ("深圳市腾讯科技有限公司", "腾讯科技"),
        ("ＡＢＣ贸易　有限公司", "abc贸易"),
        ("杭州阿里巴巴网络技术有限公司", "阿里巴巴网络技术股份有限公司"),
        ("内蒙古自治区伊利实业集团股份有限公司", "伊利实业"),
        ("江苏省昆山市好孩子集团", "好孩子"),
        ("华为技术有限公司上海分公司", "华为技术有限公司上海"),
    ],
)
def test_same_company_same_key(a: str, b: str) -> None:
    assert company_key(a) == company_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("华为技术有限公司", "华为终端有限公司"),
        ("好又多超市有限公司", "好又多有限公司"),  # 超市 is part of the name, not a city
        ("北京", "上海"),  # a bare place is kept, never emptied
    ],
)
def test_different_companies_differ(a: str, b: str) -> None:
    assert company_key(a) != company_key(b)


@pytest.mark.parametrize(
    "phone",
    ["+86 138-0013-8000", "13800138000", "0086 13800138000", "8613800138000", "138 0013 8000"],
)
def test_phone_forms(phone: str) -> None:
    assert phone_key(phone) == "13800138000"


def test_landline_keeps_area_code_and_email_folds() -> None:
    assert phone_key("021-6234 5678") == "02162345678"
    assert email_key(" Wang.Li@Example.COM ") == "wang.li@example.com"


@given(st.text(max_size=60))
def test_keys_are_idempotent_and_bounded(text: str) -> None:
    key = company_key(text)
    assert len(key) <= 200
    assert company_key(key) == company_key(key)  # stable on its own output
    assert phone_key(phone_key(text)) == phone_key(text)
