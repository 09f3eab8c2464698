"""One rule for control characters (core.text) at every entry point — the API's parser
(bodies and query strings), every form of ours, the imports — and exports that never fail
on a string already stored (legacy data): the character becomes U+FFFD, logged once."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django import forms
from django.urls import get_resolver
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from salesops.api import ControlCharacterError, SalesOpsParser
from salesops.core.forms import NoControlCharsMixin
from salesops.core.models import AuditLog
from salesops.core.text import CONTROL_MESSAGE, CONTROL_RE
from salesops.core.tokens import token_issue
from salesops.factories import CustomerFactory
from salesops.org.forms import DepartmentForm
from salesops.sales.forms import CustomerForm, ReassignForm
from salesops.sales.models import Customer

REFUSED = [chr(c) for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)]


def _auth(user) -> dict[str, str]:  # type: ignore[no-untyped-def]
    user.set_password("pw-for-tests")
    user.save()
    key, _row = token_issue(username=user.username, password="pw-for-tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


@pytest.mark.parametrize("char", ["\x01", "\x1b", "\x7f", "\x0b"])
def test_api_refuses_every_control_character_in_body_and_query(stock, client, char):
    auth = _auth(stock.manager_user)
    before = Customer.objects.count()
    resp = client.post(
        "/api/customers",
        json.dumps({"name": f"甲{char}乙", "address": "x"}),
        content_type="application/json",
        **auth,
    )
    assert resp.status_code == 422
    assert resp.json() == {
        "code": "invalid_input",
        "message": "输入有误，请检查后重试",
        "fields": [{"field": "name", "message": "不能包含不可见的控制字符"}],
    }
    resp = client.get("/api/customers", {"q": f"a{char}"}, **auth)
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "q", "message": "不能包含不可见的控制字符"}]
    assert Customer.objects.count() == before


@given(text=st.text(max_size=30))
def test_parser_refuses_exactly_what_core_text_refuses(text):
    class Req:
        body = json.dumps({"a": [{"b": text}]}).encode()

    parser = SalesOpsParser()
    if CONTROL_RE.search(text):
        with pytest.raises(ControlCharacterError) as exc:
            parser.parse_body(Req())  # type: ignore[arg-type]
        assert exc.value.field == "a.0.b"
    else:
        assert parser.parse_body(Req()) == {"a": [{"b": text}]}  # type: ignore[arg-type]


def test_tab_newline_and_carriage_return_pass_the_parser():
    class Req:
        body = json.dumps({"note": "第一行\r\n第二行\t完"}).encode()

    assert SalesOpsParser().parse_body(Req()) == {"note": "第一行\r\n第二行\t完"}  # type: ignore[arg-type]


def _all_subclasses(cls: type) -> set[type]:
    out: set[type] = set()
    sub: type
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


def test_every_form_of_ours_refuses_control_characters():
    get_resolver().url_patterns  # noqa: B018 - imports every module's views and forms
    ours = {
        f
        for f in _all_subclasses(forms.BaseForm)
        if f.__module__.startswith("salesops.") and ".tests" not in f.__module__
    }
    assert len(ours) >= 13  # sales, org and approval forms at least
    missing = sorted(
        f"{f.__module__}.{f.__name__}" for f in ours if not issubclass(f, NoControlCharsMixin)
    )
    assert missing == []


@pytest.mark.parametrize("char", REFUSED)
def test_form_text_fields_refuse_and_keep_tab_newline(db, char):
    form = DepartmentForm(data={"name": f"华东{char}一组", "code": "T9", "kind": "team"})
    assert not form.is_valid()
    # (NUL also gets Django's own message)
    assert form.errors["name"][-1] == str(CONTROL_MESSAGE)


def test_fields_added_or_kept_in_init_are_covered(stock):
    form = CustomerForm(
        data={"name": "甲\x02", "address": "上海\x1b", "owner": stock.rep.pk},
        owners=stock.rep.__class__.objects.all(),
    )
    assert not form.is_valid()
    assert form.errors["name"] == ["不能包含不可见的控制字符"]
    assert form.errors["address"] == ["不能包含不可见的控制字符"]
    note = ReassignForm(
        data={"owner": stock.rep.pk, "note": "转给\t同事\n"},
        owners=stock.rep.__class__.objects.all(),
    )
    assert note.is_valid(), note.errors


def test_customer_export_with_a_stored_control_character_answers_200(stock, client, caplog):
    bad = CustomerFactory(owner=stock.rep, code="C1", name="好")
    CustomerFactory(owner=stock.rep, code="C2", name="也\x1b坏")
    Customer.objects.filter(pk=bad.pk).update(name="坏\x01名")  # legacy data, as stored
    client.force_login(stock.manager_user)
    with caplog.at_level(logging.WARNING, logger="salesops.core.xlsx"):
        resp = client.get("/sales/customers/?scene=all&export=xlsx")
    assert resp.status_code == 200
    ws = load_workbook(io.BytesIO(b"".join(resp.streaming_content))).active
    names = sorted(row[1] for row in ws.iter_rows(min_row=2, values_only=True))
    assert names == ["也\ufffd坏", "坏\ufffd名"]
    warnings = [r for r in caplog.records if r.name == "salesops.core.xlsx"]
    assert len(warnings) == 1
    assert "replaced by U+FFFD" in warnings[0].getMessage()
    assert AuditLog.objects.filter(action="export", object_type="customers").count() == 1
