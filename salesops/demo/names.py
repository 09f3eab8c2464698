"""Tables and small generators for realistic-looking Chinese demo data.

Everything here is deterministic given the ``random.Random`` passed in; nothing reads the
clock. The names are invented combinations, not real people.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

# Common surnames, roughly in order of frequency; weights favour the first ones.
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
)
SURNAME_WEIGHTS = tuple(max(1.0, 30.0 - i * 0.35) for i in range(len(SURNAMES)))

GIVEN_MALE = "伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欣坤晨志建国峰亮成博文"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲桂英燕萍红琳洁梅莉兰婷雪倩颖慧琴云晶佳怡欣悦雯璐丹瑶蕾"


def person_name(rng: random.Random) -> str:
    """Surname + one or two given-name characters (about 60 % two)."""
    surname = rng.choices(SURNAMES, weights=SURNAME_WEIGHTS, k=1)[0]
    pool = GIVEN_MALE if rng.random() < 0.5 else GIVEN_FEMALE
    if rng.random() < 0.6:
        return surname + rng.choice(pool) + rng.choice(pool)
    return surname + rng.choice(pool)


MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "170",
    "173",
    "175",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "195",
    "198",
    "199",
]


def mobile(rng: random.Random) -> str:
    """An 11-digit mainland mobile number 1[3-9]x xxxx xxxx."""
    return rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_number(rng: random.Random, area: str) -> str:
    """An 18-character resident ID (GB 11643) with a valid ISO 7064 check character."""
    birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(365 * 40))
    body = f"{area}{birth:%Y%m%d}{rng.randrange(1000):03d}"
    total = sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True))
    return body + _ID_CHECK[total % 11]


@dataclass(frozen=True)
class City:
    name: str
    area: str  # 6-digit administrative code, for ID numbers
    districts: tuple[str, ...]


CITIES = {
    "上海": City("上海市", "310104", ("徐汇区", "浦东新区", "静安区", "长宁区", "闵行区")),
    "杭州": City("杭州市", "330106", ("西湖区", "拱墅区", "滨江区", "余杭区", "上城区")),
    "南京": City("南京市", "320102", ("玄武区", "鼓楼区", "建邺区", "秦淮区", "江宁区")),
    "广州": City("广州市", "440106", ("天河区", "越秀区", "海珠区", "番禺区", "白云区")),
    "深圳": City("深圳市", "440305", ("南山区", "福田区", "罗湖区", "宝安区", "龙岗区")),
    "福州": City("福州市", "350102", ("鼓楼区", "台江区", "仓山区", "晋安区")),
    "北京": City("北京市", "110105", ("朝阳区", "海淀区", "东城区", "西城区", "丰台区")),
    "天津": City("天津市", "120101", ("和平区", "河西区", "南开区", "河东区")),
    "济南": City("济南市", "370102", ("历下区", "市中区", "槐荫区", "历城区")),
}

ROADS = [
    "人民",
    "解放",
    "中山",
    "建设",
    "和平",
    "新华",
    "长江",
    "黄河",
    "文化",
    "学府",
    "友谊",
    "光明",
    "胜利",
    "振兴",
    "滨江",
    "湖滨",
]


def address(rng: random.Random, city_key: str) -> str:
    city = CITIES[city_key]
    road = rng.choice(ROADS) + rng.choice(("路", "大道", "街"))
    return (
        f"{city.name}{rng.choice(city.districts)}{road}{rng.randrange(1, 999)}号"
        f"{rng.randrange(1, 30)}栋{rng.randrange(1, 30):d}0{rng.randrange(1, 6)}室"
    )


_SHOP_WORDS = [
    "康源",
    "悦美",
    "百草",
    "福寿",
    "安康",
    "佳禾",
    "润泽",
    "恒信",
    "益生",
    "和顺",
    "鑫荣",
    "雅致",
    "优选",
    "瑞丰",
]
_SHOP_KINDS = ("健康管理有限公司", "美容院", "养生馆", "母婴店", "大药房", "商贸有限公司")


def customer_name(rng: random.Random, city_key: str) -> str:
    """Most customers are people; about one in six is a shop or small company."""
    if rng.random() < 0.17:
        return CITIES[city_key].name[:-1] + rng.choice(_SHOP_WORDS) + rng.choice(_SHOP_KINDS)
    return person_name(rng)


CUSTOMER_SOURCES = ("展会", "转介绍", "官网", "电话营销", "老客户")
CUSTOMER_SOURCE_WEIGHTS = (15, 35, 15, 15, 20)


# The company: regions and their four teams, with the city each team works.
COMPANY_NAME = "华夏优品健康科技有限公司"
COMPANY_CODE = "HXYP"  # also the marker that the demo is present
REGIONS = (
    ("华东大区", "HD", (("上海一部", "上海"), ("上海二部", "上海"), ("杭州一部", "杭州"),
                        ("南京一部", "南京"))),
    ("华南大区", "HN", (("广州一部", "广州"), ("深圳一部", "深圳"), ("深圳二部", "深圳"),
                        ("福州一部", "福州"))),
    ("华北大区", "HB", (("北京一部", "北京"), ("北京二部", "北京"), ("天津一部", "天津"),
                        ("济南一部", "济南"))),
)  # fmt: skip

POSITIONS = (
    ("P-VP", "销售副总"),
    ("P-DIR", "销售总监"),
    ("P-AM", "区域经理"),
    ("P-MGR", "销售经理"),
    ("P-REP", "销售代表"),
    ("P-MKT", "市场专员"),
    ("P-FIN", "财务专员"),
    ("P-IT", "系统管理员"),
)


@dataclass(frozen=True)
class ProductSeed:
    sku: str
    name: str
    unit: str
    list_price: Decimal


def _p(sku: str, name: str, unit: str, price: str) -> ProductSeed:
    return ProductSeed(sku, name, unit, Decimal(price))


PRODUCTS = (
    _p("HX-N001", "植物蛋白营养粉", "罐", "598.00"),
    _p("HX-N002", "复合维生素矿物质片", "瓶", "268.00"),
    _p("HX-N003", "深海鱼油软胶囊", "瓶", "398.00"),
    _p("HX-N004", "钙镁锌维D片", "瓶", "218.00"),
    _p("HX-N005", "益生菌固体饮料", "盒", "328.00"),
    _p("HX-N006", "胶原蛋白肽口服液", "盒", "698.00"),
    _p("HX-N007", "葡萄籽提取物胶囊", "瓶", "458.00"),
    _p("HX-N008", "膳食纤维代餐粉", "罐", "238.00"),
    _p("HX-N009", "蜂胶软胶囊", "瓶", "368.00"),
    _p("HX-N010", "辅酶Q10软胶囊", "瓶", "528.00"),
    _p("HX-N011", "叶黄素酯片", "瓶", "298.00"),
    _p("HX-N012", "灵芝孢子粉胶囊", "盒", "888.00"),
    _p("HX-N013", "人参精华口服液", "盒", "1280.00"),
    _p("HX-B001", "玻尿酸保湿精华液", "瓶", "460.00"),
    _p("HX-B002", "焕颜修护面霜", "瓶", "580.00"),
    _p("HX-B003", "氨基酸洁面乳", "支", "128.00"),
    _p("HX-B004", "多效紧致眼霜", "支", "398.00"),
    _p("HX-B005", "补水面膜（10片装）", "盒", "198.00"),
    _p("HX-B006", "清透防晒乳SPF50", "支", "188.00"),
    _p("HX-B007", "臻颜护肤四件套", "套", "1680.00"),
    _p("HX-B008", "草本洗发露", "瓶", "88.00"),
    _p("HX-B009", "滋润沐浴露", "瓶", "78.00"),
    _p("HX-B010", "清新护龈牙膏", "支", "42.00"),
    _p("HX-H001", "浓缩洗衣液", "瓶", "68.00"),
    _p("HX-H002", "果蔬净清洗剂", "瓶", "58.00"),
    _p("HX-H003", "多功能浓缩清洁剂", "瓶", "98.00"),
    _p("HX-H004", "厨下净水器", "台", "3980.00"),
    _p("HX-H005", "家用空气净化器", "台", "4580.00"),
    _p("HX-H006", "不粘锅具三件套", "套", "1580.00"),
    _p("HX-H007", "颈肩按摩仪", "台", "1280.00"),
    _p("HX-H008", "智能体脂秤", "台", "268.00"),
)
