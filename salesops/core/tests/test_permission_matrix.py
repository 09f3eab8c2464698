"""The permission matrix: every list, detail, export and API endpoint × every role ×
in-scope / out-of-scope object, with zero leaks.

Expected answers come from ``Oracle``: plain Python over the world's *description*
(``matrix_world``'s tables: who reports to whom, which department is under which, who
owns what) and the role table of product.md, never from our selectors or ``access``.

Each test walks one endpoint family for every viewer and collects every mismatch, labelled
like ``rep-customers-detail-out``, into one list; the assertion shows them all. The world
is built once per module inside a transaction that is rolled back at the end.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client
from django.urls import reverse

from salesops.core import registry
from salesops.core.tests import matrix_world as mw
from salesops.core.tokens import token_issue

pytestmark = pytest.mark.django_db

# product.md's role table, restated: (data scope, may see phones/ID numbers, may export,
# may import). admin and finance see everything; finance without personal information.
ROLE_POLICY: dict[str, tuple[str, bool, bool, bool]] = {
    "admin": ("all", True, True, True),
    "director": ("dept_sub", True, True, False),
    "manager": ("self_sub", False, True, False),
    "rep": ("self", False, True, False),
    "marketing": ("dept", False, True, False),
    "finance": ("all", False, True, False),
    "member": ("self", False, False, False),
}
PRODUCT_MANAGER_ROLES = {"admin", "director", "marketing"}
DENIED = (403, 404)


# ---------------------------------------------------------------------------- the oracle


def _dept_subtree(root: str) -> set[str]:
    out = {root}
    changed = True
    while changed:
        changed = False
        for key, (_code, _name, _kind, parent) in mw.DEPARTMENTS.items():
            if parent in out and key not in out:
                out.add(key)
                changed = True
    return out


def _reports_to(emp: str, boss: str) -> bool:
    """``emp`` is ``boss`` or below them in the management chain."""
    cur: str | None = emp
    while cur is not None:
        if cur == boss:
            return True
        cur = mw.EMPLOYEES[cur][3]
    return False


def _member_below(member: str, top: str) -> bool:
    cur: str | None = member
    while cur is not None:
        if cur == top:
            return True
        cur = mw.MEMBERS[cur][2]
    return False


def _emp_dept(emp: str) -> str:
    return mw.EMPLOYEES[emp][2]


class Oracle:
    """What one viewer may see, by the rules of product.md, over the world's tables."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.role = mw.OTHER_USERS.get(key) or mw.EMPLOYEES[key][4] or ""
        self.scope, self.pii, self.can_export, self.can_import = ROLE_POLICY[self.role]
        self.emp = key if key in mw.EMPLOYEES else None
        self.dept = _emp_dept(key) if self.emp else None
        self.is_admin = self.role == "admin"
        self.is_member = self.role == "member"

    def sees_row(self, owner: str | None, dept: str | None) -> bool:
        """A row owned by employee ``owner`` in department ``dept`` (the data scope)."""
        if self.scope == "all":
            return True
        if self.emp is None:
            return False
        if self.scope == "self":
            return owner == self.emp
        if self.scope == "self_sub":
            return owner is not None and _reports_to(owner, self.emp)
        assert self.dept is not None
        if self.scope == "dept":
            return dept == self.dept
        if self.scope == "dept_sub":
            return dept is not None and dept in _dept_subtree(self.dept)
        raise AssertionError(self.scope)

    @cached_property
    def departments(self) -> set[str]:
        if self.scope == "all":
            return set(mw.DEPARTMENTS)
        if self.dept is None:
            return set()
        if self.scope == "dept_sub":
            return _dept_subtree(self.dept)
        return {self.dept}

    @cached_property
    def employees(self) -> set[str]:
        return {e for e in mw.EMPLOYEES if self.sees_row(e, _emp_dept(e))}

    @cached_property
    def customers(self) -> set[str]:
        if self.is_member and not self.is_admin:
            return set()
        return {c for c, row in mw.CUSTOMERS.items() if self.sees_row(row[2], _emp_dept(row[2]))}

    def sees_member(self, m: str) -> bool:
        if self.scope == "all":
            return True
        if self.is_member:
            return _member_below(m, mw.MEMBER_LOGIN)
        owner = mw.MEMBERS[m][3]
        return owner is not None and self.sees_row(owner, _emp_dept(owner))

    @cached_property
    def members(self) -> set[str]:
        return {m for m in mw.MEMBERS if self.sees_member(m)}

    def sees_order(self, o: str) -> bool:
        _no, customer, buyer = mw.ORDERS[o]
        if self.scope == "all":
            return True
        if self.is_member:
            return buyer == mw.MEMBER_LOGIN
        if customer is not None:  # credited to the customer's owner, in their department
            owner = mw.CUSTOMERS[customer][2]
            if self.sees_row(owner, _emp_dept(owner)):
                return True
        return buyer is not None and self.sees_member(buyer)

    @cached_property
    def orders(self) -> set[str]:
        return {o for o in mw.ORDERS if self.sees_order(o)}

    @cached_property
    def returns(self) -> set[str]:
        return {r for r, (_no, o) in mw.RETURNS.items() if o in self.orders}

    @cached_property
    def products(self) -> set[str]:
        return {p for p, (_sku, _n, active) in mw.PRODUCTS.items() if active or not self.is_member}

    @cached_property
    def price_lists(self) -> set[str]:
        return set() if self.is_member else {"pl"}

    @cached_property
    def sponsor_changes(self) -> set[str]:
        return {
            s
            for s, (submitter, member, _new) in mw.SPONSOR_CHANGES.items()
            if submitter == self.key or self.sees_member(member)
        }

    @cached_property
    def approvals(self) -> set[str]:
        """The requests whose page opens: admin all; the submitter, the approvers, and
        whoever sees the sponsor change itself (its page links to the request)."""
        if self.is_admin:
            return set(mw.SPONSOR_CHANGES)
        return self.approvals_mine | self.approvals_pending | self.sponsor_changes

    @cached_property
    def approvals_mine(self) -> set[str]:
        return {s for s, row in mw.SPONSOR_CHANGES.items() if row[0] == self.key}

    @cached_property
    def approvals_pending(self) -> set[str]:
        return {s for s, a in mw.SPONSOR_CHANGE_APPROVER.items() if a == self.key}

    @property
    def leads(self) -> set[str]:
        if not self.staff:
            return set()
        # an unassigned lead is also seen by a 本人及下属 viewer of its department (who
        # assigns it)
        return {
            k
            for k, (_c, owner, dept) in mw.LEADS.items()
            if self.sees_row(owner, _emp_dept(owner) if owner else dept)
            or (owner is None and self.scope == "self_sub" and dept == self.dept)
        }

    @property
    def staff(self) -> bool:
        return self.is_admin or not self.is_member

    def customer_phone_full(self, c: str) -> bool:
        return self.pii or mw.CUSTOMERS[c][2] == self.emp

    def employee_phone_full(self, e: str) -> bool:
        return self.pii or e == self.emp

    def member_phone_full(self, m: str) -> bool:
        owner = mw.MEMBERS[m][3]
        return self.pii or (owner is not None and owner == self.emp)


def mask(phone: str) -> str:
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id(number: str) -> str:
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


# ------------------------------------------------------------------------- the fixtures


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Any:
    """One world for the whole module, rolled back at its end (each test's own changes,
    e.g. a notification marked read, are rolled back by its own savepoint)."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            from django.conf import settings

            hashers, var_dir = settings.PASSWORD_HASHERS, settings.VAR_DIR
            settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
            # the world's attachments (and the tests' uploads) live in a folder of its own
            settings.VAR_DIR = Path(tempfile.mkdtemp(prefix="matrix-var-"))
            try:
                w = mw.build_world()
                mw.add_attachments(w)
                tokens = {
                    key: token_issue(username=mw.username(key), password=mw.PASSWORD)[0]
                    for key in mw.VIEWERS
                }
            finally:
                settings.PASSWORD_HASHERS = hashers
            yield w, tokens
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)
            shutil.rmtree(settings.VAR_DIR, ignore_errors=True)
            settings.VAR_DIR = var_dir


@dataclass
class Ctx:
    w: mw.World
    tokens: dict[str, str]

    def ui(self, key: str) -> Client:
        client = Client(raise_request_exception=False)
        client.force_login(self.w.users[key])
        return client

    def api(self, key: str) -> Callable[[str], Any]:
        client = Client(raise_request_exception=False)
        header = {"HTTP_AUTHORIZATION": f"Bearer {self.tokens[key]}"}
        return lambda url: client.get(url, **header)


@pytest.fixture
def ctx(world: Any, db: None) -> Ctx:
    w, tokens = world
    return Ctx(w, tokens)


# ---------------------------------------------------------------- reading the responses


class _Table(HTMLParser):
    """The rows of the list table (``<div id="list-table">``): each a list of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = False
        self._cell: list[str] | None = None
        self._colspan = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []
            # The "暂无数据" row, and the row-selection checkbox column, hold no data.
            self._colspan = any(
                k == "colspan" or (k == "class" and v == "list-select") for k, v in attrs
            )

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "td" and self._cell is not None:
            if not self._colspan:
                self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def table_column(html: str, col: int) -> list[str]:
    parser = _Table()
    parser.feed(html)
    return [row[col] for row in parser.rows if row]


def xlsx_rows(content: bytes) -> list[list[str]]:
    wb = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    ws = wb.worksheets[0]
    rows = [["" if v is None else str(v) for v in row] for row in ws.iter_rows(values_only=True)]
    return rows[1:]  # below the header


def raw(resp: Any) -> bytes:
    """The body, streamed (an export) or not; read once."""
    if not getattr(resp, "streaming", False):
        return bytes(resp.content)
    if not hasattr(resp, "_matrix_body"):
        resp._matrix_body = b"".join(resp.streaming_content)
    return bytes(resp._matrix_body)


def body_text(resp: Any) -> str:
    if resp.get("Content-Type", "").startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml"
    ):
        return "\n".join("\t".join(r) for r in xlsx_rows(raw(resp)))
    return raw(resp).decode("utf-8", "replace")


def forbidden_markers(o: Oracle, w: mw.World) -> dict[str, str]:
    """Strings that must appear in no response to this viewer, with what each reveals."""
    out: dict[str, str] = {}
    for c, (code, _name, _owner, phone, idn) in mw.CUSTOMERS.items():
        if c not in o.customers:
            out[code] = f"customer {c}"
            out[mask(phone)] = f"customer {c} phone"
        if c not in o.customers or not o.customer_phone_full(c):
            out[phone] = f"customer {c} full phone"
            if idn:
                out[idn] = f"customer {c} full id number"
    for c in mw.CUSTOMERS:
        if c not in o.customers:
            out[mw.followup_text(c)] = f"customer {c} follow-up"
            out[mw.opportunity_code(c)] = f"customer {c} opportunity"
            out[mw.quote_no(c)] = f"customer {c} quote"
            out[mw.contract_no(c)] = f"customer {c} contract"
            out[mw.receipt_no(c)] = f"customer {c} receipt"
            out[mw.visit_text(c)] = f"customer {c} return visit"
            out[mw.complaint_code(c)] = f"customer {c} complaint"
            out[mw.feedback_text(c)] = f"customer {c} feedback"
            out[mw.contact_name(c)] = f"customer {c} contact"
            out[mw.attachment_name(c, "contract")] = f"customer {c} contract's attachment"
            out[mw.attachment_name(c, "followup")] = f"customer {c} follow-up's attachment"
            out[mask(mw.contact_phone(c))] = f"customer {c} contact phone"
        if c not in o.customers or not o.customer_phone_full(c):
            out[mw.contact_phone(c)] = f"customer {c} contact's full phone"
    for e, emp in w.employees.items():
        if e not in o.employees:
            out[emp.employee_no] = f"employee {e}"
        if e not in o.employees or not o.employee_phone_full(e):
            out[emp.phone] = f"employee {e} full phone"
    for m, (_no, _name, _sponsor, _owner, phone) in mw.MEMBERS.items():
        if m not in o.members or not o.member_phone_full(m):
            out[phone] = f"member {m} full phone"
    for k, (no, *_rest) in mw.ORDERS.items():
        if k not in o.orders:
            out[no] = f"order {k}"
    for k, (no, _order) in mw.RETURNS.items():
        if k not in o.returns:
            out[no] = f"return {k}"
    for k in mw.VIEWERS:
        if k != o.key:
            out[mw.notification_title(k)] = f"{k}'s notification"
    return out


# The 操作记录 (audit) table of a detail page: core's shared include and org's own.
OBJECT_LOG = re.compile(
    r"<table[^>]*(?:so-object-log|id=\"audit-log\")[^>]*>.*?</table>", re.DOTALL
)


class Checker:
    """Collects mismatches; every 200 body is also scanned for forbidden markers."""

    def __init__(self, w: mw.World) -> None:
        self.w = w
        self.problems: list[str] = []
        self._forbidden: dict[str, dict[str, str]] = {}
        self.log_leaks: list[str] = []
        self.requests = 0

    def forbidden(self, o: Oracle) -> dict[str, str]:
        if o.key not in self._forbidden:
            self._forbidden[o.key] = forbidden_markers(o, self.w)
        return self._forbidden[o.key]

    def fail(self, label: str, message: str) -> None:
        self.problems.append(f"{label}: {message}")

    def status(self, label: str, resp: Any, expected: int | tuple[int, ...]) -> bool:
        """True when the status is as expected (a tuple: any of them)."""
        self.requests += 1
        allowed = expected if isinstance(expected, tuple) else (expected,)
        if resp.status_code not in allowed:
            self.fail(label, f"status {resp.status_code}, expected {expected}")
            return False
        return True

    def no_leak(self, label: str, o: Oracle, resp: Any) -> str:
        """Scan a body for forbidden markers. The 操作记录 tab of a detail page is scanned
        on its own, into ``log_leaks``: see test_object_log_tabs_mask_personal_information."""
        text = body_text(resp)
        page = OBJECT_LOG.sub("", text)
        for marker, what in self.forbidden(o).items():
            if marker in page:
                self.fail(label, f"leaks {what} ({marker!r})")
        for log in OBJECT_LOG.findall(text):
            for marker, what in self.forbidden(o).items():
                if marker in log:
                    self.log_leaks.append(f"{label}: 操作记录 tab leaks {what} ({marker!r})")
        return text

    def same(self, label: str, got: Iterable[str], expected: Iterable[str]) -> None:
        got_l, exp_s = list(got), set(expected)
        if len(got_l) != len(set(got_l)) or set(got_l) != exp_s:
            extra, missing = sorted(set(got_l) - exp_s), sorted(exp_s - set(got_l))
            self.fail(label, f"rows {sorted(got_l)}; unexpected {extra}, missing {missing}")

    def done(self, minimum_requests: int) -> None:
        assert self.requests >= minimum_requests, f"only {self.requests} requests made"
        assert not self.problems, f"{len(self.problems)} problems:\n" + "\n".join(self.problems)


def io_label(expected_visible: bool) -> str:
    return "in" if expected_visible else "out"


# ------------------------------------------------------------------ UI lists and exports


@dataclass(frozen=True)
class ListCase:
    name: str
    url: str
    column: int  # the key column in the page and in the export
    expected: Callable[[Oracle], set[str] | None]  # None: the page is not for this role
    admin_only: bool = False


def _list_cases(w: mw.World) -> list[ListCase]:
    dept_code = {k: v[0] for k, v in mw.DEPARTMENTS.items()}
    emp_no = {k: v[0] for k, v in mw.EMPLOYEES.items()}
    member_no = {k: v[0] for k, v in mw.MEMBERS.items()}
    cust_code = {k: v[0] for k, v in mw.CUSTOMERS.items()}
    sku = {k: v[0] for k, v in mw.PRODUCTS.items()}
    order_no = {k: v[0] for k, v in mw.ORDERS.items()}
    return_no = {k: v[0] for k, v in mw.RETURNS.items()}
    scr_id = {k: str(s.pk) for k, s in w.sponsor_changes.items()}
    title = {k: a.title for k, a in w.approvals.items()}
    approvals = reverse("core:approvals_inbox")
    return [
        ListCase("departments", reverse("org:departments"), 1, lambda o: {
            dept_code[d] for d in o.departments}),
        ListCase("employees", reverse("org:employees"), 0, lambda o: {
            emp_no[e] for e in o.employees}),
        ListCase("members", reverse("org:members"), 0, lambda o: {
            member_no[m] for m in o.members}),
        ListCase("sponsor-changes", reverse("org:sponsor_changes"), 0, lambda o: {
            scr_id[s] for s in o.sponsor_changes}),
        ListCase("customers", reverse("sales:customers") + "?scene=all", 0, lambda o: {
            cust_code[c] for c in o.customers} if o.staff else None),
        ListCase("customers-mine", reverse("sales:customers") + "?scene=mine", 0, lambda o: {
            # Without an employee record there is no 我负责的 tab: the page shows 全部.
            cust_code[c] for c in o.customers if mw.CUSTOMERS[c][2] == o.emp or o.emp is None
        } if o.staff else None),
        ListCase("leads", reverse("crm:leads") + "?scene=all", 1, lambda o: {
            mw.LEADS[k][0] for k in o.leads} if o.staff else None),
        ListCase("followups", reverse("crm:followups") + "?scene=all", 3, lambda o: {
            mw.followup_text(c) for c in o.customers} if o.staff else None),
        ListCase("opportunities", reverse("crm:opportunities") + "?scene=all", 0, lambda o: {
            mw.opportunity_code(c) for c in o.customers} if o.staff else None),
        ListCase("visits", reverse("crm:visits") + "?scene=all", 6, lambda o: {
            mw.visit_text(c) for c in o.customers} if o.staff else None),
        ListCase("complaints", reverse("crm:complaints") + "?scene=all", 0, lambda o: {
            mw.complaint_code(c) for c in o.customers} if o.staff else None),
        ListCase("feedback", reverse("crm:feedback") + "?scene=all", 3, lambda o: {
            mw.feedback_text(c) for c in o.customers} if o.staff else None),
        ListCase("quotes", reverse("sales:quotes") + "?scene=all", 0, lambda o: {
            mw.quote_no(c) for c in o.customers} if o.staff else None),
        ListCase("contracts", reverse("sales:contracts") + "?scene=all", 0, lambda o: {
            mw.contract_no(c) for c in o.customers} if o.staff else None),
        ListCase("receivable-plans", reverse("sales:plans") + "?scene=all", 0, lambda o: {
            mw.contract_no(c) for c in o.customers} if o.staff else None),
        ListCase("receipts", reverse("sales:receipts") + "?scene=all", 0, lambda o: {
            mw.receipt_no(c) for c in o.customers} if o.staff else None),
        ListCase("products", reverse("sales:products"), 0, lambda o: {
            sku[p] for p in o.products}),
        ListCase("price-lists", reverse("sales:price_lists"), 0, lambda o: {
            mw.PRICE_LIST_NAME} if o.staff else None),
        ListCase("orders", reverse("sales:orders"), 0, lambda o: {
            order_no[k] for k in o.orders}),
        ListCase("returns", reverse("sales:returns"), 0, lambda o: {
            return_no[k] for k in o.returns}),
        ListCase("approvals-mine", approvals + "?scene=mine", 0, lambda o: {
            title[k] for k in o.approvals_mine}),
        ListCase("approvals-pending", approvals + "?scene=pending", 0, lambda o: {
            title[k] for k in o.approvals_pending}),
        ListCase("approvals-done", approvals + "?scene=done", 0, lambda o: set()),
        ListCase("notifications", reverse("core:notifications"), 0, lambda o: set(
            w.notification_titles[o.key])),
        ListCase("audit", reverse("core:audit"), 0, lambda o: None, admin_only=True),
        ListCase("approval-flows", reverse("core:approval_flows"), 0, lambda o: None,
                 admin_only=True),
    ]  # fmt: skip


def test_ui_lists_and_exports_show_exactly_the_rows_in_scope(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    cases = _list_cases(ctx.w)
    for key in mw.VIEWERS:
        o = Oracle(key)
        client = ctx.ui(key)
        for case in cases:
            label = f"{key}-{case.name}"
            expected = case.expected(o)
            resp = client.get(case.url)
            if case.admin_only:
                if o.is_admin:
                    if check.status(f"{label}-list", resp, 200):
                        check.no_leak(f"{label}-list", o, resp)
                else:
                    check.status(f"{label}-list", resp, 403)
                sep = "&" if "?" in case.url else "?"
                resp = client.get(case.url + sep + "export=xlsx")
                check.status(f"{label}-export", resp, 200 if o.is_admin else 403)
                continue
            if expected is None:
                check.status(f"{label}-list", resp, DENIED)
                sep = "&" if "?" in case.url else "?"
                check.status(f"{label}-export", client.get(case.url + sep + "export=xlsx"), DENIED)
                continue
            if check.status(f"{label}-list", resp, 200):
                html = check.no_leak(f"{label}-list", o, resp)
                check.same(f"{label}-list", table_column(html, case.column), expected)
            sep = "&" if "?" in case.url else "?"
            resp = client.get(case.url + sep + "export=xlsx")
            if not o.can_export:
                check.status(f"{label}-export", resp, 403)
            elif check.status(f"{label}-export", resp, 200):
                check.no_leak(f"{label}-export", o, resp)
                rows = xlsx_rows(raw(resp))
                check.same(f"{label}-export", [r[case.column] for r in rows], expected)
    check.done(minimum_requests=len(mw.VIEWERS) * len(cases) * 2)


def test_ui_list_masks_phones_unless_owner_or_right(ctx: Ctx) -> None:
    """Customer, employee and member lists (page and export): 138****1001 for viewers
    without the right, the full number for the owner and for admin/director."""
    check = Checker(ctx.w)
    specs = [
        ("customers", reverse("sales:customers") + "?scene=all", "customers", 2),
        ("employees", reverse("org:employees"), "employees", 2),
        ("members", reverse("org:members"), "members", 2),
    ]
    for key in mw.VIEWERS:
        o = Oracle(key)
        client = ctx.ui(key)
        for name, url, entity, col in specs:
            if name == "customers" and not o.staff:
                continue
            rows: dict[str, tuple[str, bool]] = {}
            if entity == "customers":
                for c in o.customers:
                    code, _n, _owner, phone, _idn = mw.CUSTOMERS[c]
                    rows[code] = (phone, o.customer_phone_full(c))
            elif entity == "employees":
                for e in o.employees:
                    emp = ctx.w.employees[e]
                    rows[emp.employee_no] = (emp.phone, o.employee_phone_full(e))
            else:
                for m in o.members:
                    no, _n, _s, _owner, phone = mw.MEMBERS[m]
                    rows[no] = (phone, o.member_phone_full(m))
            for variant, resp in (("list", client.get(url)), ("export", None)):
                if variant == "export":
                    if not o.can_export:
                        continue
                    resp = client.get(url + ("&" if "?" in url else "?") + "export=xlsx")
                label = f"{key}-{name}-{variant}-phone"
                if not check.status(label, resp, 200):
                    continue
                if variant == "list":
                    parser = _Table()
                    parser.feed(raw(resp).decode())
                    table = [r for r in parser.rows if r]
                else:
                    table = xlsx_rows(raw(resp))
                got = {r[0]: r[col] for r in table}
                for row_key, (phone, full) in rows.items():
                    want = phone if full else mask(phone)
                    if got.get(row_key) != want:
                        check.fail(f"{label}-{row_key}", f"{got.get(row_key)!r} != {want!r}")
    check.done(minimum_requests=len(mw.VIEWERS) * 4)


# -------------------------------------------------------------------- UI detail pages


@dataclass(frozen=True)
class DetailCase:
    family: str
    obj: str
    url: str
    visible: bool  # in the viewer's scope
    expected: int | tuple[int, ...]


def _detail_cases(w: mw.World, o: Oracle) -> list[DetailCase]:
    cases: list[DetailCase] = []

    def add(family: str, obj: str, url: str, visible: bool, ok: int = 200) -> None:
        cases.append(DetailCase(family, obj, url, visible, ok if visible else 404))

    def restricted(family: str, obj: str, url: str, allowed: bool) -> None:
        cases.append(DetailCase(family, obj, url, allowed, 200 if allowed else DENIED))

    # Pages refused by role, not by object: one object each side of the org is enough.
    for e in ("rep", "outsider"):
        url = reverse("org:employee_edit", args=[w.employees[e].pk])
        restricted("employee-edit", e, url, o.is_admin)
    for d in ("TA1", "TB1"):
        url = reverse("org:department_edit", args=[w.departments[d].pk])
        restricted("department-edit", d, url, o.is_admin)
    for e, emp in w.employees.items():
        add("employee-detail", e, reverse("org:employee_detail", args=[emp.pk]), e in o.employees)
    for m, member in w.members.items():
        seen = m in o.members
        add("member-detail", m, reverse("org:member_detail", args=[member.pk]), seen)
        if not seen:  # in scope: test_org_chart_and_genealogy… checks the children shown
            url = reverse("org:genealogy_children", args=[member.pk])
            add("genealogy-children", m, url, seen)
        url = reverse("org:sponsor_change_create") + f"?member={member.pk}"
        add("sponsor-change-new", m, url, seen)
    for s, req in w.sponsor_changes.items():
        url = reverse("org:sponsor_change_detail", args=[req.pk])
        add("sponsor-change-detail", s, url, s in o.sponsor_changes)
    for c, cust in w.customers.items():
        seen = c in o.customers
        url = reverse("sales:customer_detail", args=[cust.pk])
        add("customer-detail", c, url, seen)
        for part in registry.detail_parts("sales.customer", "tab")[1:]:  # tabs loaded later
            add(f"customer-detail-{part.key}", c, f"{url}?part={part.key}", seen)
        add("customer-edit", c, reverse("sales:customer_edit", args=[cust.pk]), seen)
        if c in ("c_rep", "c_rep3", "c_out"):  # more ways of naming a customer by id
            url = reverse("sales:customer_reassign", args=[cust.pk])
            add("customer-reassign", c, url, seen)
            url = reverse("sales:order_create") + f"?customer={cust.pk}"
            add("order-new-for-customer", c, url, seen)
    for k, lead in w.leads.items():
        add("lead-detail", k, reverse("crm:lead_detail", args=[lead.pk]), k in o.leads)
    for c, cust in w.customers.items():
        seen = c in o.customers
        add("followup-new", c, reverse("crm:customer_followup", args=[cust.pk]), seen)
        add("contact-new", c, reverse("crm:contact_new", args=[cust.pk]), seen)
        add("contact-edit", c, reverse("crm:contact_edit", args=[w.contacts[c].pk]), seen)
        opp = w.opportunities[c].pk
        add("opportunity-new", c, reverse("crm:opportunity_new", args=[cust.pk]), seen)
        add("opportunity-detail", c, reverse("crm:opportunity_detail", args=[opp]), seen)
        add("opportunity-edit", c, reverse("crm:opportunity_edit", args=[opp]), seen)
        url = reverse("crm:visit_detail", args=[w.visits[c].pk])
        add("visit-detail", c, url, seen)
        add("visit-new", c, reverse("crm:visit_new", args=[cust.pk]), seen)
        url = reverse("crm:complaint_detail", args=[w.complaints[c].pk])
        add("complaint-detail", c, url, seen)
        add("complaint-new", c, reverse("crm:complaint_new", args=[cust.pk]), seen)
        url = reverse("crm:feedback_detail", args=[w.feedback[c].pk])
        add("feedback-detail", c, url, seen)
        add("feedback-new", c, reverse("crm:feedback_new", args=[cust.pk]), seen)
    for c, cust in w.customers.items():
        seen = c in o.customers
        quote, contract = w.quotes[c].pk, w.contracts[c].pk
        url = reverse("sales:customer_merge", args=[cust.pk])
        mergers = o.is_admin or o.role in ("director", "manager")
        restricted("customer-merge", c, url, seen and mergers)
        add("quote-new", c, reverse("sales:quote_new", args=[cust.pk]), seen)
        add("quote-detail", c, reverse("sales:quote_detail", args=[quote]), seen)
        add("quote-edit", c, reverse("sales:quote_edit", args=[quote]), seen)
        add("contract-new", c, reverse("sales:contract_new", args=[cust.pk]), seen)
        add("contract-detail", c, reverse("sales:contract_detail", args=[contract]), seen)
        add("contract-edit", c, reverse("sales:contract_edit", args=[contract]), seen)
        add("contract-amend", c, reverse("sales:contract_amend", args=[contract]), seen)
        url = reverse("sales:receipt_detail", args=[w.receipts[c].pk])
        add("receipt-detail", c, url, seen)
    url = reverse("crm:assignment_rules")
    restricted(
        "lead-assignment-rules", "page", url, o.is_admin or o.role in ("director", "manager")
    )
    url = reverse("sales:discount_settings")
    restricted("quote-discount-settings", "page", url, o.is_admin)
    add("opportunity-kanban", "page", reverse("crm:kanban") + "?scene=all", o.staff)
    directors = o.is_admin or o.role == "director"
    restricted("opportunity-stages", "page", reverse("crm:stage_groups"), directors)
    restricted("opportunity-stages-new", "page", reverse("crm:stage_group_new"), directors)
    # 公海设置 and 回访规则: admins (a pool's own admin too — the world's pool has none).
    assert w.pool is not None and w.visit_rule is not None
    restricted("pool-settings", "page", reverse("crm:pool_settings"), o.is_admin)
    restricted("pool-settings-new", "page", reverse("crm:pool_settings_new"), o.is_admin)
    url = reverse("crm:pool_settings_edit", args=[w.pool.pk])
    restricted("pool-settings-edit", "pool", url, o.is_admin)
    restricted("visit-rules", "page", reverse("crm:visit_rules"), o.is_admin)
    restricted("visit-rules-new", "page", reverse("crm:visit_rule_new"), o.is_admin)
    url = reverse("crm:visit_rule_edit", args=[w.visit_rule.pk])
    restricted("visit-rules-edit", "rule", url, o.is_admin)
    for p, product in w.products.items():
        seen = p in o.products
        add("product-detail", p, reverse("sales:product_detail", args=[product.pk]), seen)
        url = reverse("sales:product_edit", args=[product.pk])
        restricted("product-edit", p, url, seen and o.role in PRODUCT_MANAGER_ROLES)
    assert w.price_list is not None
    pl = w.price_list.pk
    add("price-list-detail", "pl", reverse("sales:price_list_detail", args=[pl]), o.staff)
    url = reverse("sales:price_list_edit", args=[pl])
    restricted("price-list-edit", "pl", url, o.role in PRODUCT_MANAGER_ROLES)
    for k, order in w.orders.items():
        add("order-detail", k, reverse("sales:order_detail", args=[order.pk]), k in o.orders)
    for k, ret in w.returns.items():
        add("return-detail", k, reverse("sales:return_detail", args=[ret.pk]), k in o.returns)
    for k, appr in w.approvals.items():
        url = reverse("core:approval_detail", args=[appr.pk])
        add("approval-detail", k, url, k in o.approvals)
    other = mw.VIEWERS[(mw.VIEWERS.index(o.key) + 1) % len(mw.VIEWERS)]
    for k in (o.key, other):
        url = reverse("core:notification_open", args=[w.notifications[k].pk])
        add("notification-open", k, url, k == o.key, ok=302)
    for (c, parent), attachment in w.attachments.items():
        url = reverse("core:attachment_download", args=[attachment.pk])
        add(f"attachment-download-{parent}", c, url, c in o.customers)
    assert w.import_job is not None
    job = w.import_job.pk
    for family, url in (
        ("imports", reverse("core:imports")),
        ("import-upload", reverse("core:import_upload", args=["customers"])),
        ("import-template", reverse("core:import_template", args=["customers"])),
        ("import-job", reverse("core:import_job", args=[job])),
        ("import-job-progress", reverse("core:import_job_progress", args=[job])),
    ):
        cases.append(DetailCase(family, "job", url, o.can_import, 200 if o.can_import else 403))
    cases.append(DetailCase("chart", "page", reverse("org:chart"), True, 200))
    cases.append(DetailCase("dashboard", "page", reverse("dashboard"), True, 200))
    return cases


DETAIL_PARTS = {
    "org": ("employee-", "department-", "member-", "genealogy-", "sponsor-", "chart"),
    "sales": (
        "customer-",
        "order-",
        "product-",
        "price-list-",
        "return-",
        "quote-",
        "contract-",
        "receipt-",
    ),
    "core": ("approval-", "notification-", "import", "dashboard", "attachment-"),
    "crm": (
        "lead-",
        "followup-",
        "contact-",
        "opportunity-",
        "visit-",
        "complaint-",
        "feedback-",
        "pool-settings",
    ),
}


@pytest.mark.parametrize("part", list(DETAIL_PARTS))
def test_ui_detail_pages_answer_404_outside_scope(ctx: Ctx, part: str) -> None:
    check = Checker(ctx.w)
    for key in mw.VIEWERS:
        o = Oracle(key)
        client = ctx.ui(key)
        for case in _detail_cases(ctx.w, o):
            if not case.family.startswith(DETAIL_PARTS[part]):
                continue
            label = f"{key}-{case.family}-{io_label(case.visible)}-{case.obj}"
            resp = client.get(case.url)
            if check.status(label, resp, case.expected) and resp.status_code != 302:
                html = check.no_leak(label, o, resp)
                shown = PERSONAL_FIELDS.get(case.family)
                if shown is not None and case.visible:
                    check_personal(check, label, o, shown(ctx.w, case.obj), html)
    # Each part has at least one family with an object each side of the org.
    check.done(minimum_requests=len(mw.VIEWERS) * min(10, len(mw.LEADS)))


Personal = tuple[str, str, str, str | None]  # (kind, full value, masked value, owner)


def _contact_personal(w: mw.World, c: str) -> list[Personal]:
    phone = mw.contact_phone(c)
    return [("contact phone", phone, mask(phone), mw.CUSTOMERS[c][2])]


def _customer_personal(w: mw.World, c: str) -> list[Personal]:
    _code, _n, owner, phone, idn = mw.CUSTOMERS[c]
    out: list[Personal] = [("phone", phone, mask(phone), owner)]
    if idn:
        out.append(("id number", idn, mask_id(idn), owner))
    return out


def _employee_personal(w: mw.World, e: str) -> list[Personal]:
    phone = w.employees[e].phone
    return [("phone", phone, mask(phone), e)]


def _member_personal(w: mw.World, m: str) -> list[Personal]:
    phone = mw.MEMBERS[m][4]
    return [("phone", phone, mask(phone), mw.MEMBERS[m][3])]


PERSONAL_FIELDS: dict[str, Callable[[mw.World, str], list[Personal]]] = {
    "customer-detail": _customer_personal,
    "customer-detail-contacts": _contact_personal,
    "customer-edit": _customer_personal,
    "contact-edit": _contact_personal,
    "employee-detail": _employee_personal,
    "member-detail": _member_personal,
}


def check_personal(
    check: Checker, label: str, o: Oracle, fields: list[Personal], html: str
) -> None:
    """Masked (138****1003) unless the viewer owns the record or has the right; the
    record's own 操作记录 tab is left to test_object_log_tabs_mask_personal_information."""
    page = OBJECT_LOG.sub("", html)
    for kind, full_value, masked, owner in fields:
        full = o.pii or (owner is not None and owner == o.emp)
        shown, hidden = (full_value, masked) if full else (masked, full_value)
        if shown not in page or hidden in page:
            check.fail(label, f"{kind}: expected {shown!r} shown and {hidden!r} not")


def test_object_log_tabs_mask_personal_information(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    for key in ("manager", "marketing", "finance", "member"):
        o = Oracle(key)
        client = ctx.ui(key)
        for case in _detail_cases(ctx.w, o):
            if case.visible and case.family in LOGGED_DETAILS:
                resp = client.get(case.url)
                if check.status(f"{key}-{case.family}-{case.obj}", resp, 200):
                    check.no_leak(f"{key}-{case.family}-in-{case.obj}", o, resp)
    check.problems += check.log_leaks
    check.done(minimum_requests=4)


LOGGED_DETAILS = {"employee-detail", "member-detail", "customer-detail", "sponsor-change-detail"}


def _chart_names(nodes: list[dict[str, Any]]) -> list[str]:
    out: list[str] = []
    for node in nodes:
        out.append(node["name"])
        out += _chart_names(node.get("children", []))
    return out


def test_org_chart_and_genealogy_show_only_the_scope(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    member_no = {k: v[0] for k, v in mw.MEMBERS.items()}
    for key in mw.VIEWERS:
        o = Oracle(key)
        client = ctx.ui(key)
        label = f"{key}-chart-data"
        resp = client.get(reverse("org:chart_data"))
        if check.status(label, resp, 200):
            check.no_leak(label, o, resp)
            expected = {mw.DEPARTMENTS[d][1] for d in o.departments} | {
                mw.EMPLOYEES[e][1] for e in o.employees if mw.EMPLOYEES[e][2] in o.departments
            }
            check.same(label, _chart_names(json.loads(resp.content)["roots"]), expected)

        label = f"{key}-genealogy"
        resp = client.get(reverse("org:genealogy"))
        if check.status(label, resp, 200):
            html = check.no_leak(label, o, resp)
            shown = set(re.findall(r"MXM-[A-Z0-9]+", html))
            if not shown <= {member_no[m] for m in o.members}:
                check.fail(label, f"shows members out of scope: {sorted(shown)}")
            if o.is_member and member_no[mw.MEMBER_LOGIN] not in shown:
                check.fail(label, "a member's genealogy does not start at themselves")
        for m in sorted(o.members):
            label = f"{key}-genealogy-children-in-{m}"
            resp = client.get(reverse("org:genealogy_children", args=[ctx.w.members[m].pk]))
            if check.status(label, resp, 200):
                html = check.no_leak(label, o, resp)
                expected = {
                    member_no[c] for c in o.members if mw.MEMBERS[c][2] == m
                }  # direct recruits in scope
                check.same(label, re.findall(r"MXM-[A-Z0-9]+", html), expected)
    check.done(minimum_requests=len(mw.VIEWERS) * 2)


# ----------------------------------------------------------------------------------- API


@dataclass(frozen=True)
class ApiList:
    name: str
    url: str
    items: str  # "items" (org, core) or "results" (sales)
    key: str
    expected: Callable[[Oracle], set[str]]
    staff_only: bool = False  # a member's token is refused (403), not shown an empty list


# API families a member's token is refused outright (auth=staff), whatever the object.
STAFF_ONLY_API = {
    "lead",
    "customer-contacts",
    "opportunity",
    "quote",
    "contract",
    "receipt",
    "visit",
    "complaint",
    "feedback",
}


def _api_lists(w: mw.World) -> list[ApiList]:
    title = {k: a.title for k, a in w.approvals.items()}
    inbox = "/api/approvals/inbox?page_size=100&tab="
    return [
        ApiList("employees", "/api/employees?page_size=100", "items", "employee_no",
                lambda o: {mw.EMPLOYEES[e][0] for e in o.employees}),
        ApiList("departments", "/api/departments?page_size=100", "items", "code",
                lambda o: {mw.DEPARTMENTS[d][0] for d in o.departments}),
        ApiList("members", "/api/members?page_size=100", "items", "member_no",
                lambda o: {mw.MEMBERS[m][0] for m in o.members}),
        ApiList("customers", "/api/customers", "results", "code",
                lambda o: {mw.CUSTOMERS[c][0] for c in o.customers}),
        ApiList("leads", "/api/crm/leads", "results", "company",
                lambda o: {mw.LEADS[k][0] for k in o.leads}, staff_only=True),
        ApiList("followups", "/api/crm/followups", "results", "content",
                lambda o: {mw.followup_text(c) for c in o.customers}, staff_only=True),
        ApiList("opportunities", "/api/crm/opportunities", "results", "code",
                lambda o: {mw.opportunity_code(c) for c in o.customers}, staff_only=True),
        ApiList("visits", "/api/crm/visits", "results", "outcome",
                lambda o: {mw.visit_text(c) for c in o.customers}, staff_only=True),
        ApiList("complaints", "/api/crm/complaints", "results", "code",
                lambda o: {mw.complaint_code(c) for c in o.customers}, staff_only=True),
        ApiList("feedback", "/api/crm/feedback", "results", "content",
                lambda o: {mw.feedback_text(c) for c in o.customers}, staff_only=True),
        ApiList("quotes", "/api/sales/quotes", "results", "quote_no",
                lambda o: {mw.quote_no(c) for c in o.customers}, staff_only=True),
        ApiList("contracts", "/api/sales/contracts", "results", "contract_no",
                lambda o: {mw.contract_no(c) for c in o.customers}, staff_only=True),
        ApiList("receipts", "/api/sales/receipts", "results", "receipt_no",
                lambda o: {mw.receipt_no(c) for c in o.customers}, staff_only=True),
        ApiList("products", "/api/products", "results", "sku",
                lambda o: {mw.PRODUCTS[p][0] for p in o.products}),
        ApiList("orders", "/api/orders", "results", "order_no",
                lambda o: {mw.ORDERS[k][0] for k in o.orders}),
        ApiList("returns", "/api/returns", "results", "return_no",
                lambda o: {mw.RETURNS[k][0] for k in o.returns}),
        ApiList("approvals-mine", inbox + "mine", "items", "title",
                lambda o: {title[k] for k in o.approvals_mine}),
        ApiList("approvals-pending", inbox + "pending", "items", "title",
                lambda o: {title[k] for k in o.approvals_pending}),
        ApiList("approvals-done", inbox + "done", "items", "title", lambda o: set()),
        ApiList("notifications", "/api/notifications?page_size=100", "items", "title",
                lambda o: set(w.notification_titles[o.key])),
    ]  # fmt: skip


def test_api_lists_return_exactly_the_rows_in_scope(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    lists = _api_lists(ctx.w)
    for key in mw.VIEWERS:
        o = Oracle(key)
        get = ctx.api(key)
        resp = get("/api/me")
        if check.status(f"{key}-api-me", resp, 200) and resp.json()["role"] != o.role:
            check.fail(f"{key}-api-me", f"role {resp.json()['role']!r}")
        for case in lists:
            label = f"{key}-api-{case.name}-list"
            resp = get(case.url)
            if case.staff_only and not o.staff:
                check.status(label, resp, 403)
                continue
            if not check.status(label, resp, 200):
                continue
            check.no_leak(label, o, resp)
            data = resp.json()
            rows = data[case.items]
            check.same(label, [r[case.key] for r in rows], case.expected(o))
            if data["count"] != len(case.expected(o)):
                check.fail(label, f"count {data['count']} != {len(case.expected(o))}")
            if case.name == "customers":
                for r in rows:
                    c = next(k for k, v in mw.CUSTOMERS.items() if v[0] == r["code"])
                    phone = mw.CUSTOMERS[c][3]
                    want = phone if o.customer_phone_full(c) else mask(phone)
                    if r["phone"] != want:
                        check.fail(f"{label}-phone-{c}", f"{r['phone']!r} != {want!r}")
    check.done(minimum_requests=len(mw.VIEWERS) * (len(lists) + 1))


def _api_details(w: mw.World, o: Oracle) -> list[tuple[str, str, str, bool, dict[str, Any]]]:
    """(family, object, url, visible, fields expected in the body when visible)."""
    out: list[tuple[str, str, str, bool, dict[str, Any]]] = []
    for e, emp in w.employees.items():
        phone = emp.phone if o.employee_phone_full(e) else mask(emp.phone)
        fields = {"employee_no": emp.employee_no, "phone": phone}
        out.append(("employee", e, f"/api/employees/{emp.pk}", e in o.employees, fields))
    for m, member in w.members.items():
        no, _n, _s, _owner, phone = mw.MEMBERS[m]
        shown = phone if o.member_phone_full(m) else mask(phone)
        seen = m in o.members
        out.append(
            ("member", m, f"/api/members/{member.pk}", seen, {"member_no": no, "phone": shown})
        )
        out.append(("member-downline", m, f"/api/members/{member.pk}/downline", seen, {}))
        out.append(("member-upline", m, f"/api/members/{member.pk}/upline", seen, {}))
    for c, cust in w.customers.items():
        code, _n, _owner, phone, idn = mw.CUSTOMERS[c]
        full = o.customer_phone_full(c)
        fields = {
            "code": code,
            "phone": phone if full else mask(phone),
            "id_number": (idn if full else mask_id(idn)) if idn else "",
        }
        out.append(("customer", c, f"/api/customers/{cust.pk}", c in o.customers, fields))
        url = f"/api/crm/customers/{cust.pk}/contacts"
        out.append(("customer-contacts", c, url, c in o.customers, {}))
        url = f"/api/crm/opportunities/{w.opportunities[c].pk}"
        fields = {"code": mw.opportunity_code(c)}
        out.append(("opportunity", c, url, c in o.customers, fields))
        for family, url, fields in (
            ("quote", f"/api/sales/quotes/{w.quotes[c].pk}", {"quote_no": mw.quote_no(c)}),
            (
                "contract",
                f"/api/sales/contracts/{w.contracts[c].pk}",
                {"contract_no": mw.contract_no(c)},
            ),
            (
                "receipt",
                f"/api/sales/receipts/{w.receipts[c].pk}",
                {"receipt_no": mw.receipt_no(c)},
            ),
            ("visit", f"/api/crm/visits/{w.visits[c].pk}", {"outcome": mw.visit_text(c)}),
            (
                "complaint",
                f"/api/crm/complaints/{w.complaints[c].pk}",
                {"code": mw.complaint_code(c)},
            ),
            (
                "feedback",
                f"/api/crm/feedback/{w.feedback[c].pk}",
                {"content": mw.feedback_text(c)},
            ),
        ):
            out.append((family, c, url, c in o.customers, fields))
    for (c, parent), attachment in w.attachments.items():
        url = f"/api/attachments?object_type={attachment.object_type}"
        url += f"&object_id={attachment.object_id}"
        out.append((f"attachments-{parent}", c, url, c in o.customers, {"count": 1}))
    for k, lead in w.leads.items():
        fields = {"company": lead.company}
        out.append(("lead", k, f"/api/crm/leads/{lead.pk}", k in o.leads, fields))
    for p, product in w.products.items():
        fields = {"sku": product.sku}
        out.append(("product", p, f"/api/products/{product.pk}", p in o.products, fields))
    for k, order in w.orders.items():
        fields = {"order_no": order.order_no}
        out.append(("order", k, f"/api/orders/{order.pk}", k in o.orders, fields))
    for k, appr in w.approvals.items():
        fields = {"title": appr.title}
        out.append(("approval", k, f"/api/approvals/{appr.pk}", k in o.approvals, fields))
    return out  # fmt: skip


def test_api_details_answer_404_outside_scope(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    member_no = {k: v[0] for k, v in mw.MEMBERS.items()}
    by_pk = {m.pk: k for k, m in ctx.w.members.items()}
    for key in mw.VIEWERS:
        o = Oracle(key)
        get = ctx.api(key)
        for family, obj, url, visible, fields in _api_details(ctx.w, o):
            label = f"{key}-api-{family}-detail-{io_label(visible)}-{obj}"
            resp = get(url)
            if family in STAFF_ONLY_API and not o.staff:
                check.status(label, resp, 403)
                continue
            if not check.status(label, resp, 200 if visible else 404):
                continue
            check.no_leak(label, o, resp)
            data = resp.json()
            if not visible:
                if data.get("code") != "not_found" or set(data) != {"code", "message", "fields"}:
                    check.fail(label, f"error body {data!r}")
                continue
            for name, want in fields.items():
                if data.get(name) != want:
                    check.fail(f"{label}-{name}", f"{data.get(name)!r} != {want!r}")
            if family == "member-downline":
                below = {x for x in o.members if x != obj and _member_below(x, obj)}
                got = [by_pk.get(r["id"], "?") for r in data["items"]]
                check.same(label, [member_no.get(x, x) for x in got], {member_no[x] for x in below})
            if family == "member-upline":
                above = {x for x in o.members if _member_below(obj, x)}
                got = [by_pk.get(r["id"], "?") for r in data]
                check.same(label, [member_no.get(x, x) for x in got], {member_no[x] for x in above})
        job = ctx.w.import_job
        assert job is not None
        resp = get(f"/api/imports/jobs/{job.pk}")
        check.status(f"{key}-api-import-job", resp, 200 if o.can_import else 403)
    check.done(minimum_requests=len(mw.VIEWERS) * 40)


def _may_change_attachments(o: Oracle, c: str, parent: str) -> bool:
    """A contract's attachments change with the contract (whoever sees it, as its plans and
    receipts); a follow-up's with the follow-up: the employee who logged it (the world's
    follow-ups are their customer's owner's), or an admin."""
    if o.is_admin:
        return True
    if parent == "contract":
        return o.staff and c in o.customers
    return c in o.customers and mw.CUSTOMERS[c][2] == o.emp


def test_api_attachments_follow_the_scope_of_their_record(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    for key in mw.VIEWERS:
        o = Oracle(key)
        client = Client(raise_request_exception=False)
        auth = {"HTTP_AUTHORIZATION": f"Bearer {ctx.tokens[key]}"}
        for (c, parent), attachment in ctx.w.attachments.items():
            seen = c in o.customers
            label = f"{key}-api-attachment-{parent}-{io_label(seen)}-{c}"
            url = f"/api/attachments/{attachment.pk}"
            resp = client.get(f"{url}/download", **auth)
            if check.status(f"{label}-download", resp, 200 if seen else 404):
                if seen and raw(resp) != mw.ATTACHMENT_PDF:
                    check.fail(f"{label}-download", "not the stored file")
                if not seen:
                    check.no_leak(f"{label}-download", o, resp)
            if seen:
                listing = client.get(
                    f"/api/attachments?object_type={attachment.object_type}"
                    f"&object_id={attachment.object_id}",
                    **auth,
                )
                if check.status(f"{label}-list", listing, 200):
                    names = [r["name"] for r in listing.json()["items"]]
                    check.same(f"{label}-list", names, {mw.attachment_name(c, parent)})
            writer = _may_change_attachments(o, c, parent)
            expected = (201 if writer else 403) if seen else 404
            body = {
                "object_type": attachment.object_type,
                "object_id": attachment.object_id,
                "file": SimpleUploadedFile(f"{key}-{c}.pdf", mw.ATTACHMENT_PDF),
            }
            resp = client.post("/api/attachments", body, **auth)
            if not check.status(f"{label}-upload", resp, expected):
                continue
            if expected == 201:  # and takes away what it added
                resp = client.delete(f"/api/attachments/{resp.json()['id']}", **auth)
                check.status(f"{label}-delete-own", resp, 204)
            else:
                check.no_leak(f"{label}-upload", o, resp)
                check.status(f"{label}-delete", client.delete(url, **auth), expected)
    check.done(minimum_requests=len(mw.VIEWERS) * len(ctx.w.attachments) * 3)


def test_every_page_needs_a_login_and_every_api_call_a_token(ctx: Ctx) -> None:
    check = Checker(ctx.w)
    anonymous = Client(raise_request_exception=False)
    families: dict[str, str] = {}
    for c in _detail_cases(ctx.w, Oracle("admin")):
        families.setdefault(c.family, c.url)
    families.pop("dashboard")
    urls = [c.url for c in _list_cases(ctx.w)] + list(families.values())
    for url in urls:
        resp = anonymous.get(url)
        ok = check.status(f"anonymous-{url}", resp, 302)
        if ok and not resp["Location"].startswith(reverse("login")):
            check.fail(f"anonymous-{url}", f"redirects to {resp['Location']}")
    for case in _api_lists(ctx.w):
        check.status(f"anonymous-api-{case.name}", anonymous.get(case.url), 401)
    api_families: dict[str, str] = {}
    for family, _obj, url, _v, _f in _api_details(ctx.w, Oracle("admin")):
        api_families.setdefault(family, url)
    for family, url in api_families.items():
        check.status(f"anonymous-api-{family}", anonymous.get(url), 401)
    check.done(minimum_requests=40)


def test_oracle_matches_the_worlds_shape() -> None:
    """The oracle itself, on the cases the issue names (so a wrong oracle can't pass)."""
    assert Oracle("rep").customers == {"c_rep"}
    assert Oracle("manager").customers == {"c_mgr", "c_rep", "c_rep2"}
    assert Oracle("marketing").customers == {"c_mgr", "c_rep", "c_rep2", "c_mkt"}
    assert Oracle("director").customers == {"c_dir", "c_mgr", "c_rep", "c_rep2", "c_rep3", "c_mkt"}
    assert Oracle("finance").customers == set(mw.CUSTOMERS)
    assert Oracle("member").customers == set()
    assert Oracle("outsider").customers == {"c_out"}
    assert Oracle("member").members == {"m_me", "m_down", "m_down2"}
    assert Oracle("rep").members == {"m_root", "m_me"}
    assert Oracle("member").orders == {"o_me"}
    assert Oracle("rep").orders == {"o_rep", "o_me"}
    assert Oracle("rep2").orders == {"o_rep2", "o_down"}
    assert Oracle("manager").departments == {"TA1"}
    assert Oracle("director").departments == {"RA", "TA1", "TA2"}
    assert Oracle("rep").sponsor_changes == {"scr_a"}
    assert Oracle("rep2").sponsor_changes == {"scr_a"}
    assert Oracle("member").sponsor_changes == {"scr_a"}
    assert Oracle("outsider").sponsor_changes == {"scr_b"}
    assert Oracle("manager").approvals == {"scr_a"}
    assert Oracle("rep2").approvals == {"scr_a"}  # rep2 serves m_down, whose change it is
    assert Oracle("mgr_b").approvals == {"scr_b"}
