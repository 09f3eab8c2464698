"""Match keys for 查重 (duplicate check): a company name, a phone and an e-mail reduced to
the form two people would type differently for the same company.

Stored beside the original on every customer, contact and lead, indexed, so that a check
across leads, customers, the pool and contacts is a handful of equality lookups — never a
``LIKE '%…%'`` over a million rows. Pure functions, no database: the CRM's leads and
contacts use the same rule as the customers here.
"""

from __future__ import annotations

import re
import unicodedata

# Provinces, autonomous regions and municipalities as they begin a company's name
# ("上海", "广东省", "广西壮族自治区"). The longest forms first so "内蒙古自治区" is
# removed whole. A prefix is removed only when something is left after it.
_REGIONS = (
    "北京",
    "天津",
    "上海",
    "重庆",
    "河北",
    "山西",
    "辽宁",
    "吉林",
    "黑龙江",
    "江苏",
    "浙江",
    "安徽",
    "福建",
    "江西",
    "山东",
    "河南",
    "湖北",
    "湖南",
    "广东",
    "海南",
    "四川",
    "贵州",
    "云南",
    "陕西",
    "甘肃",
    "青海",
    "台湾",
    "内蒙古",
    "广西",
    "西藏",
    "宁夏",
    "新疆",
    "香港",
    "澳门",
)
# Cities that begin company names without their 市 as often as with it; any other
# "XX市" / "XXX市" is removed too, unless the 市 belongs to a word (超市, 门市, 夜市 …).
_CITIES = (
    "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "西安", "青岛", "大连", "宁波",
    "厦门", "沈阳", "长沙", "郑州", "济南", "合肥", "福州", "昆明", "哈尔滨", "长春",
    "石家庄", "太原", "南昌", "南宁", "贵阳", "兰州", "海口", "呼和浩特", "乌鲁木齐",
    "银川", "西宁", "拉萨", "无锡", "佛山", "东莞", "珠海", "温州", "常州", "绍兴", "嘉兴",
    "烟台", "泉州", "中山", "惠州", "徐州", "南通", "扬州", "台州", "金华", "潍坊", "洛阳",
    "唐山", "保定", "廊坊", "义乌", "昆山", "江阴", "三亚",
)  # fmt: skip
_PLACES = frozenset(_REGIONS) | frozenset(_CITIES) | {"中国"}
_CITY = re.compile(r"^[\u4e00-\u9fff]{2,3}市")
_NOT_CITY = set("超门夜城股菜花集互")
_REGION_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
# Legal-form and branch endings, removed repeatedly from the end ("（集团）股份有限公司").
_SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "分公司",
    "办事处",
    "(集团)",
    "集团",
    "公司",
    "co.,ltd.",
    "co.,ltd",
    "co.ltd",
    "ltd.",
    "ltd",
    "inc.",
    "inc",
)
_SPACE = re.compile(r"[\s\u3000·.,，。、\-_—–'\"“”‘’]+")
_DIGITS = re.compile(r"\D+")
KEY_MAX = 200


def _fold(text: str) -> str:
    """Full-width to half-width (NFKC also folds the ideographic space and （）), lower case."""
    return unicodedata.normalize("NFKC", text).casefold()


def _strip_region(text: str) -> str:
    for region in sorted(_REGIONS, key=len, reverse=True):
        if not text.startswith(region):
            continue
        rest = text[len(region) :]
        for suffix in _REGION_SUFFIXES:
            if rest.startswith(suffix):
                rest = rest[len(suffix) :]
                break
        return rest if rest else text
    return text


def _strip_city(text: str) -> str:
    for city in sorted(_CITIES, key=len, reverse=True):
        if text.startswith(city):
            rest = text[len(city) :]
            rest = rest.removeprefix("市")
            return rest if rest else text
    match = _CITY.match(text)
    if match and text[match.end() - 2] not in _NOT_CITY and len(text) > match.end():
        return text[match.end() :]
    return text


def _strip_suffixes(text: str) -> str:
    changed = True
    while changed:
        changed = False
        for suffix in _SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix):
                text = text[: -len(suffix)]
                changed = True
    return text


def company_key(name: str) -> str:
    """The company part of a name: 上海华为技术（集团）有限公司 and 华为技术有限公司 both give
    华为技术; empty for an empty name. A person's name (no legal form) is only folded:
    张 三 gives 张三."""
    text = _fold(name or "")
    text = text.replace("（", "(").replace("）", ")")
    text = _SPACE.sub("", text)
    if not text:
        return ""
    text = _strip_suffixes(text)
    text = _strip_city(_strip_region(text))
    text = _strip_suffixes(text)
    text = _PLACE_IN_BRACKETS.sub(_drop_place, text)
    text = _strip_suffixes(text)
    text = text.replace("(", "").replace(")", "")
    return text[:KEY_MAX]


_PLACE_IN_BRACKETS = re.compile(r"\(([^()]{2,8})\)")


def _drop_place(match: re.Match[str]) -> str:
    """ "腾讯科技(深圳)" → "腾讯科技": a bracketed province or city is no part of the name."""
    place = match.group(1).removesuffix("市").removesuffix("省")
    return "" if place in _PLACES else match.group(0)


def phone_key(phone: str) -> str:
    """The digits a call would dial from China: "+86 138-0013-8000" and "13800138000" → the
    same; "0086…" and "86" before an 11-digit mobile dropped; a landline keeps its area code."""
    digits = _DIGITS.sub("", _fold(phone or ""))
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    return digits[:32]


def email_key(email: str) -> str:
    return _fold(email or "").strip()[:254]
