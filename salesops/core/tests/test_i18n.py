"""The English UI: a complete catalog, English pages once the language is switched, and
Simplified Chinese for a fresh session."""

from __future__ import annotations

import ast
import datetime
import gettext
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from salesops.core.approvals import (
    StepSpec,
    approval_flow_create,
    approval_submit,
    register_document_type,
)
from salesops.core.approvals.registry import unregister_document_type
from salesops.core.models import RoleCode, User
from salesops.factories import (
    CustomerFactory,
    DepartmentFactory,
    EmployeeFactory,
    MemberFactory,
    ProductFactory,
    UserFactory,
    role,
)
from salesops.org.models import DepartmentKind
from salesops.sales.services.orders import order_create

LOCALE_DIR = Path(settings.LOCALE_PATHS[0]) / "en" / "LC_MESSAGES"
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
PLACEHOLDER = re.compile(r"%\([a-z_]+\)(?:\.\d+)?[sdf]")


@dataclass
class Entry:
    msgid: str = ""
    context: str | None = None
    plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)


def _parse_po(text: str) -> list[Entry]:
    """Just enough of the .po format for makemessages' output."""
    entries: list[Entry] = []
    for block in text.strip().split("\n\n"):
        entry, target = Entry(), ""
        for line in block.splitlines():
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif m := re.match(r'^(msgctxt|msgid|msgid_plural|msgstr)(?:\[(\d)\])? (".*")$', line):
                keyword, index, value = (
                    m.group(1),
                    int(m.group(2) or 0),
                    ast.literal_eval(m.group(3)),
                )
                target = f"{keyword}{index}"
                if keyword == "msgctxt":
                    entry.context = value
                elif keyword == "msgid":
                    entry.msgid = value
                elif keyword == "msgid_plural":
                    entry.plural = value
                else:
                    entry.msgstr[index] = value
            elif line.startswith('"'):
                value = ast.literal_eval(line)
                if target == "msgctxt0":
                    entry.context = (entry.context or "") + value
                elif target == "msgid0":
                    entry.msgid += value
                elif target == "msgid_plural0":
                    entry.plural = (entry.plural or "") + value
                else:
                    index = int(target[len("msgstr") :])
                    entry.msgstr[index] += value
        entries.append(entry)
    return entries


@pytest.fixture(scope="module")
def catalog() -> list[Entry]:
    entries = _parse_po((LOCALE_DIR / "django.po").read_text(encoding="utf-8"))
    assert entries[0].msgid == ""  # the header
    return entries


def test_catalog_has_no_untranslated_or_fuzzy_entries(catalog: list[Entry]) -> None:
    untranslated = [e.msgid for e in catalog[1:] if not all(e.msgstr.values()) or not e.msgstr]
    fuzzy = [e.msgid for e in catalog if "fuzzy" in e.flags]
    assert untranslated == []
    assert fuzzy == []
    assert "Language: en\n" in catalog[0].msgstr[0]


def test_catalog_translations_are_english_with_the_same_placeholders(
    catalog: list[Entry],
) -> None:
    # The full-width separators are the only msgids whose English still contains CJK
    # punctuation by design: none should.
    still_chinese = [e.msgid for e in catalog[1:] if any(CJK.search(s) for s in e.msgstr.values())]
    assert still_chinese == []
    mismatched = [
        e.msgid
        for e in catalog[1:]
        for s in e.msgstr.values()
        if sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(s))
    ]
    assert mismatched == []
    plurals = [e for e in catalog[1:] if e.plural is not None]
    assert all(sorted(e.msgstr) == [0, 1] for e in plurals)


def test_compiled_catalog_matches_the_po(catalog: list[Entry]) -> None:
    """The .mo is committed (make test does not compile): it must not lag the .po."""
    with (LOCALE_DIR / "django.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    stale = []
    for e in catalog[1:]:
        if e.context is not None:
            if mo.pgettext(e.context, e.msgid) != e.msgstr[0]:
                stale.append(e.msgid)
        elif e.plural is None:
            if mo.gettext(e.msgid) != e.msgstr[0]:
                stale.append(e.msgid)
        elif (mo.ngettext(e.msgid, e.plural, 1), mo.ngettext(e.msgid, e.plural, 2)) != (
            e.msgstr[0],
            e.msgstr[1],
        ):
            stale.append(e.msgid)
    assert stale == []


# Full-width punctuation in Chinese, half-width in English (the compiled catalogue is what
# the pages read).
FULL_WIDTH_OR_CJK = re.compile(
    r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]"
)
HALF_WIDTH_AFTER_CJK = re.compile(r"[\u4e00-\u9fff][,:;!?]")


def _compiled() -> dict[str, str]:
    with (LOCALE_DIR / "django.mo").open("rb") as fh:
        mo = gettext.GNUTranslations(fh)
    catalog: dict[Any, str] = mo._catalog  # type: ignore[attr-defined]
    return {
        (key if isinstance(key, str) else key[0]): value
        for key, value in catalog.items()
        if key not in ("", ("", 0))
    }


def test_compiled_english_has_no_cjk_or_full_width_punctuation() -> None:
    compiled = _compiled()
    assert len(compiled) > 1000  # the real catalogue, not an empty one
    bad = {msgid: text for msgid, text in compiled.items() if FULL_WIDTH_OR_CJK.search(text)}
    assert bad == {}


def test_compiled_chinese_msgids_use_full_width_punctuation() -> None:
    compiled = _compiled()
    bad = sorted(msgid for msgid in compiled if HALF_WIDTH_AFTER_CJK.search(msgid))
    assert bad == []


def test_the_punctuation_check_catches_what_it_should() -> None:
    assert HALF_WIDTH_AFTER_CJK.search("该月份已结账,不能重新结算")
    assert not HALF_WIDTH_AFTER_CJK.search("该月份已结账，不能重新结算")
    assert FULL_WIDTH_OR_CJK.search("Closed month；not allowed")
    assert not FULL_WIDTH_OR_CJK.search("Closed month; not allowed (409)")


# --- pages -------------------------------------------------------------------------------

DOC = "i18n.expense"


def _noop(request: object) -> None:
    return None


@dataclass
class Demo:
    root: User
    objects: dict[str, object]


@pytest.fixture
def demo(db: None) -> Iterator[Demo]:
    """An administrator over a small ASCII-named data set: every CJK character left on a
    page is then UI text, not data."""
    register_document_type(
        DOC, label="Expense claim", on_approved=_noop, on_rejected=_noop, url=lambda oid: ""
    )
    # Notifications and audit rows store text in the language active when they are
    # written: write them as an English-speaking office would.
    with translation.override("en"):
        root = UserFactory(username="root", display_name="Root Admin", role=role(RoleCode.ADMIN))
        company = DepartmentFactory(name="Head Office", code="HQ", kind=DepartmentKind.COMPANY)
        rep_user = UserFactory(username="amy", display_name="Amy", role=role(RoleCode.REP))
        rep = EmployeeFactory(name="Amy Lee", department=company, user=rep_user)
        customer = CustomerFactory(name="Acme Trading", owner=rep)
        product = ProductFactory(name="Vitamin C", unit="box")
        sponsor = MemberFactory(name="Mia Wong", owner=rep)
        MemberFactory(name="Max Wong", sponsor=sponsor, owner=rep)
        order = order_create(
            actor=None,
            order_date=datetime.date(2026, 10, 5),
            customer=customer,
            lines=[{"product": product, "quantity": Decimal("2"), "unit_price": "10.00"}],
        )
        flow = approval_flow_create(
            actor=None, doc_type=DOC, name="Expenses", steps=[StepSpec(name="Check", users=[root])]
        )
        request = approval_submit(actor=rep_user, doc_type=DOC, object_id="1", title="Trip")
        objects = {
            "employee": rep,
            "customer": customer,
            "product": product,
            "member": sponsor,
            "order": order,
            "flow": flow,
            "request": request,
        }
    yield Demo(root, objects)
    unregister_document_type(DOC)


@pytest.fixture
def admin(demo: Demo) -> User:
    return demo.root


def _english(client: Client, user: User) -> Client:
    client.force_login(user)
    resp = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert resp.status_code == 302
    return client


def _menu(html: str) -> str:
    m = re.search(r'<ul[^>]*id="main-menu"[^>]*>(.*?)</ul>', html, re.S)
    assert m is not None
    return m.group(1)


def _heading(html: str) -> str:
    m = re.search(r"<h1[^>]*>(.*?)</h1>", html, re.S)
    assert m is not None
    return re.sub(r"<[^>]+>", "", m.group(1)).strip()


def _ui_cjk(html: str) -> list[str]:
    """CJK runs on the page, leaving out the language switch's own 简体中文 option."""
    html = re.sub(r'(<option value="zh-hans"[^>]*>)[^<]*(</option>)', r"\1\2", html)
    # The product unit's stored default (件, "piece") is data, not UI text.
    html = html.replace('name="unit" value="件"', 'name="unit" value=""')
    # The import page's example column shows sample rows (a company name, an address).
    html = re.sub(
        r"(<tr><td>[^<]*</td><td><code>[^<]*</code></td><td>[^<]*</td><td>)[^<]*", r"\1", html
    )
    return re.findall(r".{0,40}(?:" + CJK.pattern + r")+.{0,20}", html)


PAGES = [
    ("dashboard", "Hello, Root Admin"),
    ("sales:customers", "Customers"),
    ("sales:orders", "Orders"),
    ("sales:products", "Products"),
    ("sales:returns", "Returns"),
    ("org:members", "Members"),
    ("org:employees", "Employees"),
    ("org:departments", "Departments"),
    ("core:approvals_inbox", "Approvals"),
    ("core:notifications", "Inbox"),
]


@pytest.mark.parametrize(("url_name", "heading"), PAGES)
def test_english_pages_have_no_chinese_ui_text(
    admin: User, client: Client, url_name: str, heading: str
) -> None:
    _english(client, admin)
    resp = client.get(reverse(url_name))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert '<html lang="en">' in html
    assert _heading(html) == heading
    assert CJK.findall(_menu(html)) == []
    assert _ui_cjk(html) == []


def test_english_menu_labels(admin: User, client: Client) -> None:
    _english(client, admin)
    menu = _menu(client.get(reverse("dashboard")).content.decode())
    labels = [re.sub(r"<[^>]+>", "", li).strip() for li in re.findall(r"<li.*?</li>", menu, re.S)]
    assert labels[:4] == ["Workspace", "Home", "Approvals", "Inbox"]
    assert "Genealogy" in labels
    assert "Sponsor changes" in labels
    assert "Audit log" in labels


def test_fresh_session_is_simplified_chinese(admin: User, client: Client) -> None:
    client.force_login(admin)
    html = client.get(reverse("dashboard")).content.decode()
    assert '<html lang="zh-hans">' in html
    assert _heading(html) == "您好，Root Admin"
    assert "审批中心" in _menu(html)


def test_switching_back_to_chinese(admin: User, client: Client) -> None:
    _english(client, admin)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = client.get(reverse("sales:customers")).content.decode()
    assert _heading(html) == "客户"


def test_login_page_in_english(client: Client) -> None:
    client.post(reverse("set_language"), {"language": "en", "next": "/login/"})
    html = client.get(reverse("login")).content.decode()
    assert _ui_cjk(html) == []
    assert "Sign in to SalesOps" in html


OTHER_PAGES = [
    ("sales:price_lists", None),
    ("sales:customer_create", None),
    ("sales:product_create", None),
    ("sales:order_create", None),
    ("org:department_create", None),
    ("org:employee_create", None),
    ("org:chart", None),
    ("org:genealogy", None),
    ("org:sponsor_changes", None),
    ("core:approval_flows", None),
    ("core:approval_flow_create", None),
    ("core:audit", None),
    ("core:imports", None),
    ("core:import_upload", "customers"),
    ("core:import_upload", "orders"),
    ("sales:customer_detail", "customer"),
    ("sales:product_detail", "product"),
    ("sales:order_detail", "order"),
    ("org:employee_detail", "employee"),
    ("org:member_detail", "member"),
    ("core:approval_flow_detail", "flow"),
    ("core:approval_detail", "request"),
]


@pytest.mark.parametrize(("url_name", "obj"), OTHER_PAGES)
def test_more_english_pages_have_no_chinese_ui_text(
    demo: Demo, client: Client, url_name: str, obj: str | None
) -> None:
    _english(client, demo.root)
    args: list[object] = []
    if obj in demo.objects:
        args = [demo.objects[obj].pk]  # type: ignore[attr-defined]
    elif obj:
        args = [obj]  # an import entity
    resp = client.get(reverse(url_name, args=args))
    html = resp.content.decode()
    assert resp.status_code == 200
    assert CJK.findall(_heading(html)) == []
    assert _ui_cjk(html) == []
