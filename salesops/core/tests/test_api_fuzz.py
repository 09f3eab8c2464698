"""Hostile input on the API: whatever arrives, the answer is < 500, a rejection is the one
error body ({code, message, fields:[{field, message}]}) in Chinese, and a rejected write
changes no row. Plus one explicit case per bug the fuzzing found."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.core.errors import ServiceError
from salesops.core.models import (
    ApprovalEvent,
    ApprovalRequest,
    ApprovalTask,
    AuditLog,
    Notification,
    RoleCode,
)
from salesops.core.tests.api_world import DAY, api_data
from salesops.core.tokens import token_issue
from salesops.factories import UserFactory, role
from salesops.org.models import Member, SponsorChangeRequest
from salesops.sales.models import (
    Customer,
    Order,
    OrderLine,
    PriceList,
    Return,
    ReturnLine,
)
from salesops.sales.services.orders import order_create
from salesops.sales.services.products import price_list_item_set
from salesops.sales.services.returns import return_create

pytestmark = pytest.mark.django_db

CJK = re.compile(r"[\u4e00-\u9fff]")
TABLES = (
    Customer,
    Order,
    OrderLine,
    Return,
    ReturnLine,
    Member,
    SponsorChangeRequest,
    ApprovalRequest,
    ApprovalTask,
    ApprovalEvent,
    AuditLog,
)
FUZZ = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@dataclass
class World:
    client: Client
    headers: dict[str, dict[str, str]]
    customer: Customer
    order: Order
    line: OrderLine
    member: Member
    sponsor: Member
    task: ApprovalTask
    request_id: int
    notification: Notification


@pytest.fixture
def world(stock, client: Client) -> World:  # type: ignore[no-untyped-def]
    admin = UserFactory(username="adam", role=role(RoleCode.ADMIN))
    data = api_data(stock)
    order, member, other, change = data.order, data.member, data.sponsor, data.change
    approval = ApprovalRequest.objects.get(object_id=str(change.pk))
    task = ApprovalTask.objects.get(request=approval)
    notification = Notification.objects.filter(user=admin).first() or Notification.objects.create(
        user=admin, title="通知", body="", url=""
    )
    headers = {}
    for user in (admin, stock.rep_user):
        key, _row = token_issue(username=user.username, password="pw-for-tests")
        headers[user.username] = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    return World(
        client=client,
        headers=headers,
        customer=data.customer,
        order=order,
        line=order.lines.get(),
        member=member,
        sponsor=other,
        task=task,
        request_id=approval.pk,
        notification=notification,
    )


# ------------------------------------------------------------------------ strategies

EDGE_STRINGS = [
    "",
    " ",
    "NaN",
    "sNaN",
    "Infinity",
    "-Infinity",
    "1e999",
    "-1e999",
    "1e-999",
    "0.001",
    "-0",
    "9999999999999999.99",
    "99999999999999999999999999999999",
    "１２",
    "1,000.5",
    "¥12",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "true",
    "null",
    "a\x00b",
    "x" * 5000,
    "<script>alert(1)</script>",
    '=HYPERLINK("x")',
    "M-TOP",
    "M-OTH",
]
# Printable text without surrogates (a test client cannot encode those; a real client
# sending such bytes gets the invalid-JSON answer, covered explicitly below).
TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=40)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(EDGE_STRINGS)
    | TEXT
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


def _field(plausible: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(plausible, plausible, SCALARS, JSON)


def _obj(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """Mostly objects with some plausible fields; sometimes any JSON at all."""
    shaped = st.fixed_dictionaries({}, optional={k: _field(v) for k, v in fields.items()})
    return st.one_of(shaped, shaped, shaped, JSON)


def _id(real: Callable[[World], int]) -> Callable[[World], st.SearchStrategy[Any]]:
    return lambda w: st.one_of(
        st.just(real(w)),
        st.just(real(w)),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(["abc", "1e3", "", "0x10", "%00", "１"]),
    )


DATES = st.one_of(st.dates().map(str), st.just(str(DAY)))
MONEY = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.integers(min_value=-10, max_value=10**20),
    st.sampled_from(EDGE_STRINGS[:14]),
)


@dataclass
class Endpoint:
    method: str
    path: Callable[[World, Any], str]
    ident: Callable[[World], st.SearchStrategy[Any]]
    body: Callable[[World], st.SearchStrategy[Any]]


def _ids(w: World) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "customer": _id(lambda w: w.customer.pk)(w),
        "product": _id(lambda w: w.line.product_id)(w),
        "line": _id(lambda w: w.line.pk)(w),
        "employee": _id(lambda w: w.customer.owner_id)(w),
        "member": _id(lambda w: w.member.pk)(w),
    }


def _customer_body(w: World) -> st.SearchStrategy[Any]:
    return _obj(
        {
            "name": TEXT,
            "code": TEXT,
            "phone": st.sampled_from(["13812345678", "138****5678", "abc", "1" * 40]),
            "id_number": st.sampled_from(["110101199001011234", "110101********1234", "x"]),
            "address": TEXT,
            "source": TEXT,
            "owner_id": _ids(w)["employee"],
            "confirm_duplicate": st.booleans(),
        }
    )


def _order_body(w: World) -> st.SearchStrategy[Any]:
    ids = _ids(w)
    line = _obj({"product_id": ids["product"], "quantity": MONEY, "unit_price": MONEY})
    return _obj(
        {
            "order_date": DATES,
            "kind": st.sampled_from(["regular", "first", "x", ""]),
            "order_no": TEXT,
            "customer_id": ids["customer"],
            "member_id": ids["member"],
            "credited_employee_id": ids["employee"],
            "credited_member_id": ids["member"],
            "tier": st.sampled_from(["list", "member", "pc", "gold"]),
            "lines": st.lists(line, max_size=3),
        }
    )


def _return_body(w: World) -> st.SearchStrategy[Any]:
    line = _obj({"order_line_id": _ids(w)["line"], "quantity": MONEY})
    return _obj({"return_date": DATES, "reason": TEXT, "lines": st.lists(line, max_size=3)})


def _sponsor_body(w: World) -> st.SearchStrategy[Any]:
    return _obj(
        {
            "new_sponsor_no": st.sampled_from(["M-TOP", "M-OTH", "M-LEAF", "nobody"]),
            "effective_on": DATES,
            "reason": TEXT,
        }
    )


def _comment_body(w: World) -> st.SearchStrategy[Any]:
    return _obj({"comment": TEXT})


def _no_body(w: World) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), JSON)


WRITES: dict[str, list[Endpoint]] = {
    "customers": [
        Endpoint("post", lambda w, i: "/api/customers", lambda w: st.none(), _customer_body),
        Endpoint(
            "patch",
            lambda w, i: f"/api/customers/{i}",
            _id(lambda w: w.customer.pk),
            _customer_body,
        ),
    ],
    "orders": [
        Endpoint("post", lambda w, i: "/api/orders", lambda w: st.none(), _order_body),
        Endpoint(
            "post",
            lambda w, i: f"/api/orders/{i}/returns",
            _id(lambda w: w.order.pk),
            _return_body,
        ),
    ],
    "org": [
        Endpoint(
            "post",
            lambda w, i: f"/api/members/{i}/sponsor-change-requests",
            _id(lambda w: w.member.pk),
            _sponsor_body,
        ),
        Endpoint(
            "post",
            lambda w, i: "/api/auth/token",
            lambda w: st.none(),
            lambda w: _obj({"username": st.sampled_from(["adam", "alice"]), "password": TEXT}),
        ),
    ],
    "approvals": [
        *(
            Endpoint(
                "post",
                (lambda a: lambda w, i: f"/api/approvals/tasks/{i}/{a}")(action),
                _id(lambda w: w.task.pk),
                _comment_body,
            )
            for action in ("approve", "reject", "return")
        ),
        *(
            Endpoint(
                "post",
                (lambda a: lambda w, i: f"/api/approvals/{i}/{a}")(action),
                _id(lambda w: w.request_id),
                _no_body,
            )
            for action in ("resubmit", "cancel")
        ),
        Endpoint(
            "post",
            lambda w, i: f"/api/notifications/{i}/read",
            _id(lambda w: w.notification.pk),
            _no_body,
        ),
        Endpoint("post", lambda w, i: "/api/notifications/read-all", lambda w: st.none(), _no_body),
    ],
}

QUERY_VALUE = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80).map(str),
    st.sampled_from(EDGE_STRINGS),
    TEXT,
)
LISTS = [
    ("/api/customers", ("q", "page")),
    ("/api/products", ("q", "page")),
    ("/api/orders", ("q", "page")),
    ("/api/returns", ("q", "page")),
    ("/api/employees", ("q", "page", "page_size")),
    ("/api/departments", ("q", "page", "page_size")),
    ("/api/members", ("q", "page", "page_size")),
    ("/api/members/{member}/downline", ("page", "page_size", "depth", "after")),
    ("/api/members/{member}/upline", ()),
    ("/api/products/{product}", ("on",)),
    ("/api/approvals/inbox", ("tab", "q", "page", "page_size")),
    ("/api/notifications", ("page", "page_size", "unread")),
    ("/api/imports/jobs/{job}", ()),
]


# ---------------------------------------------------------------------------- checks


def _snapshot(w: World) -> tuple[Any, ...]:
    counts = tuple(model.objects.count() for model in TABLES)
    customer = Customer.objects.filter(pk=w.customer.pk).values().first()
    tasks = tuple(ApprovalTask.objects.order_by("pk").values_list("status", "comment"))
    requests = tuple(ApprovalRequest.objects.order_by("pk").values_list("status", "current_step"))
    return counts, customer, tasks, requests


def assert_error_body(resp: Any) -> None:
    """The one error schema, at the right depth, in the user's language."""
    assert resp["Content-Type"].startswith("application/json"), resp.content[:200]
    body = resp.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and CJK.search(body["message"]), body
    assert isinstance(body["fields"], list)
    for item in body["fields"]:
        assert set(item) == {"field", "message"}, body
        assert isinstance(item["field"], str) and item["field"], body
        assert isinstance(item["message"], str) and CJK.search(item["message"]), body


def _send(w: World, user: str, method: str, path: str, body: Any) -> Any:
    kwargs: dict[str, Any] = dict(w.headers[user])
    if body is not None:
        kwargs.update(data=json.dumps(body), content_type="application/json")
    return getattr(w.client, method)(path, **kwargs)


@pytest.mark.parametrize("user", ["adam", "alice"])
@pytest.mark.parametrize("group", sorted(WRITES))
def test_writes_never_500_and_rejections_change_nothing(
    world: World, user: str, group: str
) -> None:
    endpoints = WRITES[group]

    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        ep = data.draw(st.sampled_from(endpoints), label="endpoint")
        ident = data.draw(ep.ident(world), label="id")
        body = data.draw(ep.body(world), label="body")
        path = ep.path(world, ident)
        before = _snapshot(world)
        resp = _send(world, user, ep.method, path, body)
        assert resp.status_code < 500, (path, body, resp.content[:300])
        if resp.status_code >= 400:
            assert_error_body(resp)
            assert _snapshot(world) == before, (path, body)

    run()


@pytest.mark.parametrize("user", ["adam", "alice"])
def test_list_query_params_never_500(world: World, user: str) -> None:
    @FUZZ
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        template, names = data.draw(st.sampled_from(LISTS), label="list")
        ids = {
            "member": data.draw(_id(lambda w: w.member.pk)(world)),
            "product": data.draw(_id(lambda w: w.line.product_id)(world)),
            "job": data.draw(_id(lambda w: 1)(world)),
        }
        params = data.draw(
            st.fixed_dictionaries({}, optional={n: QUERY_VALUE for n in names}), label="query"
        )
        path = template.format(**ids)
        url = path + ("?" + urlencode(params) if params else "")
        resp = world.client.get(url, **world.headers[user])
        assert resp.status_code < 500, (url, resp.content[:300])
        if resp.status_code >= 400:
            assert_error_body(resp)

    run()


# -------------------------------------------------------------- the bugs fuzzing found


def _get(w: World, url: str, user: str = "adam") -> Any:
    return w.client.get(url, **w.headers[user])


@pytest.mark.parametrize(
    "url",
    [
        "/api/employees?page=9223372036854775807",
        "/api/departments?page=99999999999999999999",
        "/api/members?page=9223372036854775807&page_size=100",
        "/api/approvals/inbox?page=9223372036854775807",
        "/api/notifications?page=9223372036854775807",
        "/api/members/{member}/downline?page=9223372036854775807",
        "/api/customers?page=99999999999999999999999",
    ],
)
def test_huge_page_number_is_422_not_an_offset_overflow(world: World, url: str) -> None:
    resp = _get(world, url.format(member=world.member.pk))
    assert resp.status_code == 422
    assert resp.json() == {
        "code": "invalid_input",
        "message": "输入有误，请检查后重试",
        "fields": [{"field": "page", "message": "不能大于 100000"}],
    }


@pytest.mark.parametrize("url", ["/api/employees", "/api/members", "/api/notifications"])
def test_negative_page_size_is_422(world: World, url: str) -> None:
    resp = _get(world, url + "?page_size=-1")
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "page_size", "message": "不能小于 1"}]


def test_downline_depth_overflow_is_422(world: World) -> None:
    resp = _get(world, f"/api/members/{world.member.pk}/downline?depth=99999999999999999999")
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "depth", "message": "不能大于 10000"}]


def test_validation_messages_are_chinese(world: World) -> None:
    resp = _send(world, "adam", "post", "/api/orders", {"lines": [{"quantity": "NaN"}]})
    assert resp.status_code == 422
    assert resp.json()["fields"] == [
        {"field": "order_date", "message": "此项为必填项"},
        {"field": "lines.0.product_id", "message": "此项为必填项"},
        {"field": "lines.0.quantity", "message": '请输入大于 0 的数字，最多两位小数（如 "12.50"）'},
    ]
    resp = _get(world, "/api/approvals/inbox?tab=x&unread=maybe")
    assert resp.json()["fields"] == [
        {"field": "tab", "message": "取值无效，可选：'pending', 'done' or 'mine'"}
    ]


def test_missing_body_names_the_body(world: World) -> None:
    resp = world.client.post(
        "/api/customers", data="", content_type="application/json", **world.headers["adam"]
    )
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "body", "message": "此项为必填项"}]


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe{}", b"[" * 5000 + b"]" * 5000])
def test_unparseable_body_is_400_in_chinese(world: World, raw: bytes) -> None:
    before = _snapshot(world)
    resp = world.client.post(
        "/api/customers", data=raw, content_type="application/json", **world.headers["adam"]
    )
    assert resp.status_code == 400
    message = "请求内容无法解析，请检查格式（应为 JSON）"
    assert resp.json() == {
        "code": "invalid_request",
        "message": message,
        "fields": [{"field": "body", "message": message}],
    }
    assert _snapshot(world) == before


def test_nul_character_is_refused_in_body_and_query(world: World) -> None:
    before = _snapshot(world)
    resp = _send(world, "adam", "post", "/api/customers", {"name": "甲\x00乙"})
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "name", "message": "不能包含不可见的控制字符"}]
    resp = _send(
        world,
        "adam",
        "post",
        "/api/orders",
        {"order_date": str(DAY), "lines": [{"product_id": 1, "quantity": "1", "x": ["\x00"]}]},
    )
    assert resp.json()["fields"] == [
        {"field": "lines.0.x.0", "message": "不能包含不可见的控制字符"}
    ]
    resp = _get(world, "/api/customers?q=%00")
    assert resp.status_code == 422
    assert resp.json()["fields"] == [{"field": "q", "message": "不能包含不可见的控制字符"}]
    assert _snapshot(world) == before


def test_multipart_without_boundary_is_400(world: World) -> None:
    resp = world.client.post(
        "/api/imports/customers/dry-run",
        data=b"x",
        content_type="multipart/form-data",
        **world.headers["adam"],
    )
    assert resp.status_code == 400
    assert resp.json()["code"] == "invalid_request"
    assert resp.json()["fields"][0]["field"] == "file"


def test_huge_unit_price_is_refused_before_it_reaches_the_database(world: World) -> None:
    before = _snapshot(world)
    body = {
        "order_date": str(DAY),
        "customer_id": world.customer.pk,
        "lines": [{"product_id": world.line.product_id, "quantity": 1, "unit_price": ""}],
    }
    body["lines"][0]["unit_price"] = "9999999999999999.99"
    resp = _send(world, "adam", "post", "/api/orders", body)
    assert resp.status_code == 422  # 12 digits before the point: the schema's pattern
    assert resp.json()["fields"] == [
        {"field": "lines.0.unit_price", "message": '请输入有效的数字，最多两位小数（如 "12.50"）'}
    ]
    body["lines"][0].update(quantity="9999999999.99", unit_price="9999.99")
    resp = _send(world, "adam", "post", "/api/orders", body)
    assert resp.json()["fields"] == [{"field": "lines.0.quantity", "message": "金额超出允许范围"}]
    assert _snapshot(world) == before


def test_sponsor_change_errors_name_the_api_field(world: World) -> None:
    resp = _send(
        world,
        "adam",
        "post",
        f"/api/members/{world.member.pk}/sponsor-change-requests",
        {"new_sponsor_no": "M-LEAF", "effective_on": str(DAY), "reason": "x"},
    )
    assert resp.status_code == 400
    assert resp.json()["fields"] == [
        {"field": "new_sponsor_no", "message": "会员不能成为自己的推荐人"}
    ]


def test_services_refuse_decimals_beyond_precision(world: World, stock) -> None:  # type: ignore[no-untyped-def]
    """ "1e999" is a finite Decimal whose quantize() raised InvalidOperation (a 500 in
    forms and imports, which call these services without the API's schema)."""
    product = world.line.product
    with pytest.raises(ServiceError) as exc:
        order_create(
            actor=None,
            order_date=DAY,
            customer=world.customer,
            lines=[{"product": product, "quantity": "1e999"}],
        )
    assert (exc.value.field, str(exc.value.message)) == ("lines.0.quantity", "数量超出允许范围")
    with pytest.raises(ServiceError) as exc:
        order_create(
            actor=None,
            order_date=DAY,
            customer=world.customer,
            lines=[{"product": product, "quantity": "1", "unit_price": "1e999"}],
        )
    assert (exc.value.field, str(exc.value.message)) == ("lines.0.unit_price", "单价超出允许范围")
    with pytest.raises(ServiceError) as exc:
        return_create(
            actor=None,
            order=world.order,
            return_date=DAY,
            lines=[{"order_line": world.line.pk, "quantity": "1e999"}],
        )
    assert exc.value.field == "lines.0.quantity"
    price_list = PriceList.objects.get()
    with pytest.raises(ServiceError) as exc:
        price_list_item_set(
            actor=None,
            price_list=price_list,
            product=product,
            list_price="1e999",
            member_price="1",
            pc_price="1",
        )
    assert (exc.value.field, str(exc.value.message)) == ("list_price", "价格超出允许范围")
    assert Order.objects.count() == 1
    assert Return.objects.count() == 0


def test_openapi_documents_the_error_body_on_every_operation(world: World) -> None:
    schema = world.client.get("/api/openapi.json").json()
    error = schema["components"]["schemas"]["ErrorOut"]
    assert set(error["properties"]) == {"code", "message", "fields"}
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "404", "409", "422", "500"):
                ref = operation["responses"][status]["content"]["application/json"]["schema"]
                if ref == {"$ref": "#/components/schemas/ErrorOut"}:
                    continue
                # an operation may declare a richer error body of its own (a plan's 422
                # lists the plan's issues): still the error body, and a little more
                name = ref["$ref"].rsplit("/", 1)[-1]
                own = schema["components"]["schemas"][name]["properties"]
                assert set(error["properties"]) <= set(own), (path, method, status, name)


def test_wrong_method_and_unknown_path_answer_the_error_body(world: World) -> None:
    resp = world.client.delete("/api/customers", **world.headers["adam"])
    assert resp.status_code == 405
    assert resp.json() == {
        "code": "method_not_allowed",
        "message": "不支持该请求方法",
        "fields": [],
    }
    assert set(resp["Allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    for url in ("/api/nope", "/api/approvals/tasks//approve", "/api/customers/1/x"):
        resp = world.client.post(url, **world.headers["adam"])
        assert resp.status_code == 404
        assert resp.json() == {"code": "not_found", "message": "接口不存在", "fields": []}


def test_page_size_above_the_maximum_is_clamped_even_when_huge(world: World) -> None:
    resp = _get(world, "/api/members?page_size=99999999999999999999999")
    assert (resp.status_code, resp.json()["page_size"]) == (200, 100)
