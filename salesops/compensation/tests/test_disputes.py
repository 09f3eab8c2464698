"""Disputes: a member asks about a line of their statement, finance answers, the thread
stays on the line; who may see and post; body validation; the list, the API and the
flow in a browser."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.urls import reverse

from salesops.compensation.models import (
    CommissionLine,
    CommissionRun,
    Dispute,
    DisputeMessage,
    DisputeStatus,
)
from salesops.compensation.services.disputes import dispute_close, dispute_open, dispute_reply
from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditLog, Notification

from .statements_world import (
    IMMEDIATE,
    World,
    bearer,
    login,
    make_world,
    run_period,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("immediate_tasks")]


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def world(db: None) -> World:
    return make_world()


def sales_line(run: CommissionRun, member_no: str) -> CommissionLine:
    return CommissionLine.objects.get(run=run, member__member_no=member_no, rule="sales_bonus")


@pytest.fixture
def run(world: World, django_capture_on_commit_callbacks: Any) -> CommissionRun:
    return run_period(world.finance, django_capture_on_commit_callbacks)


def row_members(resp: Any) -> list[str]:
    """The member-no column of the list's rows (column 2)."""
    body = resp.content.decode()
    table = body[body.index('id="list-results"') : body.index("</table>")]
    rows = table.split("<tbody>")[1].split("<tr>")[1:]
    return [
        re.findall(r'<td(?! class="list-select")[^>]*>(.*?)</td>', row, re.S)[1]
        for row in rows
        if "<td" in row and "暂无数据" not in row
    ]


def notes(user: Any) -> list[str]:
    return list(
        Notification.objects.filter(user=user).order_by("id").values_list("title", flat=True)
    )


def test_dispute_thread_lifecycle(world: World, run: CommissionRun) -> None:
    line = sales_line(run, "SM01")
    d = dispute_open(actor=world.sm_user, line=line, body="  销售奖金为什么是20%?  ")
    assert (d.status, d.member_id, d.line_id) == (DisputeStatus.OPEN, world.sm.pk, line.pk)
    assert list(d.messages.values_list("body", flat=True)) == ["销售奖金为什么是20%?"]
    # Both finance users are told; the member is not told about their own question.
    assert notes(world.finance) == ["会员 SM01 对结算明细提出疑问"]
    assert notes(world.finance2) == ["会员 SM01 对结算明细提出疑问"]
    assert notes(world.sm_user) == []
    assert Notification.objects.get(user=world.finance).url == reverse(
        "compensation:dispute_detail", args=[d.pk]
    )

    # A second question on the same line is the same thread.
    again = dispute_open(actor=world.sm_user, line=line, body="还有晨星奖")
    assert again.pk == d.pk and Dispute.objects.count() == 1
    assert d.messages.count() == 2

    dispute_reply(actor=world.finance, dispute=d, body="个人业绩30000 ≥ 20000,所以是20%。")
    d.refresh_from_db()
    assert d.status == DisputeStatus.ANSWERED
    assert notes(world.sm_user) == ["财务已答复您的奖金疑问"]

    dispute_reply(actor=world.sm_user, dispute=d, body="明白了,谢谢")
    d.refresh_from_db()
    assert d.status == DisputeStatus.OPEN

    dispute_close(actor=world.sm_user, dispute=d)
    d.refresh_from_db()
    assert d.status == DisputeStatus.CLOSED
    assert notes(world.finance)[-1] == f"奖金疑问 #{d.pk} 已关闭"
    with pytest.raises(ServiceError) as info:
        dispute_reply(actor=world.finance, dispute=d, body="补充")
    assert (info.value.code, info.value.status) == ("dispute_closed", 409)
    with pytest.raises(ServiceError):
        dispute_close(actor=world.finance, dispute=d)
    # Asking again on the line reopens its thread.
    dispute_open(actor=world.sm_user, line=line, body="又有一个问题")
    d.refresh_from_db()
    assert (d.status, d.messages.count()) == (DisputeStatus.OPEN, 5)

    audited = AuditLog.objects.filter(object_type="compensation.dispute", object_id=str(d.pk))
    transitions = audited.filter(field="status").order_by("id").values_list("before", "after")
    assert list(transitions) == [
        ("", "open"), ("open", "answered"), ("answered", "open"), ("open", "closed"),
        ("closed", "open"),
    ]  # fmt: skip
    message_rows = AuditLog.objects.filter(object_type="compensation.disputemessage", field="body")
    assert message_rows.count() == 5
    assert message_rows.order_by("id").first().after == "销售奖金为什么是20%?"


def test_only_the_owner_opens_and_outsiders_cannot_post(world: World, run: CommissionRun) -> None:
    line = sales_line(run, "SM01")
    for outsider in (world.lone_user, world.sr0_user, world.finance):
        with pytest.raises(PermissionDeniedError):
            dispute_open(actor=outsider, line=line, body="?")
    d = dispute_open(actor=world.sm_user, line=line, body="问题")
    for outsider in (world.lone_user, world.sr0_user):
        with pytest.raises(PermissionDeniedError):
            dispute_reply(actor=outsider, dispute=d, body="插一句")
        with pytest.raises(PermissionDeniedError):
            dispute_close(actor=outsider, dispute=d)
    assert DisputeMessage.objects.filter(dispute=d).count() == 1


@pytest.mark.parametrize(
    ("body", "code"),
    [("", "body_required"), ("   ", "body_required"), ("x" * 2001, "body_too_long"),
     ("a\x00b", "invalid_character"), ("a\x1bb", "invalid_character")],
)  # fmt: skip
def test_body_is_validated(world: World, run: CommissionRun, body: str, code: str) -> None:
    with pytest.raises(ServiceError) as info:
        dispute_open(actor=world.sm_user, line=sales_line(run, "SM01"), body=body)
    assert info.value.code == code
    assert Dispute.objects.count() == 0


def test_longest_body_is_accepted(world: World, run: CommissionRun) -> None:
    d = dispute_open(actor=world.sm_user, line=sales_line(run, "SM01"), body="问" * 2000)
    assert len(d.messages.get().body) == 2000


def test_a_line_of_a_replaced_run_cannot_be_disputed(
    world: World, run: CommissionRun, django_capture_on_commit_callbacks: Any
) -> None:
    old_line = sales_line(run, "SM01")
    run_period(world.finance, django_capture_on_commit_callbacks)
    with pytest.raises(ServiceError) as info:
        dispute_open(actor=world.sm_user, line=old_line, body="旧的")
    assert info.value.code == "line_not_current"
    # Through the page the old line is simply not found.
    resp = login(world.sm_user).post(
        reverse("compensation:dispute_open", args=[old_line.pk]), {"body": "旧的"}
    )
    assert resp.status_code == 404


# --------------------------------------------------------------------------- pages


def test_statement_form_posts_with_htmx_and_shows_the_thread(
    world: World, run: CommissionRun
) -> None:
    line = sales_line(run, "SM01")
    c = login(world.sm_user)
    url = reverse("compensation:dispute_open", args=[line.pk])
    resp = c.post(url, {"body": "为什么是20%?"}, HTTP_HX_REQUEST="true")
    body = resp.content.decode()
    assert resp.status_code == 200
    assert f'id="line-thread-{line.pk}"' in body and "为什么是20%?" in body and "待答复" in body
    bad = c.post(url, {"body": ""}, HTTP_HX_REQUEST="true").content.decode()
    assert "请填写内容" in bad
    # Another member posting on SM01's line: not found, nothing stored.
    assert login(world.lone_user).post(url, {"body": "x"}).status_code == 404
    assert DisputeMessage.objects.count() == 1
    page = c.get(reverse("compensation:statement", args=[run.pk, "SM01"])).content.decode()
    assert "为什么是20%?" in page


def test_dispute_detail_reply_and_close_through_pages(world: World, run: CommissionRun) -> None:
    d = dispute_open(actor=world.sm_user, line=sales_line(run, "SM01"), body="问题一")
    url = reverse("compensation:dispute_detail", args=[d.pk])
    fin = login(world.finance)
    page = fin.get(url).content.decode()
    assert "问题一" in page and "个人业绩 30000.00 ≥ 20000" in page and "答复" in page
    resp = fin.post(reverse("compensation:dispute_reply", args=[d.pk]), {"body": "已核对,无误"})
    assert resp.status_code == 302
    d.refresh_from_db()
    assert d.status == DisputeStatus.ANSWERED
    # Outsiders: not found, for reading and for posting.
    for outsider in (world.lone_user, world.sr0_user):
        c = login(outsider)
        assert c.get(url).status_code == 404
        assert (
            c.post(reverse("compensation:dispute_reply", args=[d.pk]), {"body": "x"}).status_code
            == 404
        )
        assert c.post(reverse("compensation:dispute_close", args=[d.pk])).status_code == 404
    bad = fin.post(reverse("compensation:dispute_reply", args=[d.pk]), {"body": "a\x00"})
    assert bad.status_code == 400 and "内容含有非法字符" in bad.content.decode()
    member = login(world.sm_user)
    assert "已核对,无误" in member.get(url).content.decode()
    member.post(reverse("compensation:dispute_close", args=[d.pk]))
    d.refresh_from_db()
    assert d.status == DisputeStatus.CLOSED
    assert 'id="dispute-reply-form"' not in member.get(url).content.decode()


def test_dispute_list_scopes_filters_and_searches(
    world: World, run: CommissionRun, django_assert_max_num_queries: Any
) -> None:
    for rule in ("sales_bonus", "morning_star", "open_star"):
        line = CommissionLine.objects.get(run=run, member=world.sm, rule=rule)
        dispute_open(actor=world.sm_user, line=line, body=f"关于{rule}")
    lone = dispute_open(actor=world.lone_user, line=sales_line(run, "SR99"), body="我的")
    dispute_reply(actor=world.finance, dispute=lone, body="答复")
    url = reverse("compensation:disputes")

    fin = login(world.finance)
    with django_assert_max_num_queries(12):
        resp = fin.get(url)
    assert resp.status_code == 200
    assert row_members(resp) == ["SR99", "SM01", "SM01", "SM01"]  # newest activity first
    assert row_members(fin.get(url, {"status": "answered"})) == ["SR99"]
    assert row_members(fin.get(url, {"q": "sm01"})) == ["SM01", "SM01", "SM01"]

    lone_client = login(world.lone_user)
    with django_assert_max_num_queries(12):
        mine = lone_client.get(url)
    assert row_members(mine) == ["SR99"]
    assert row_members(login(world.sr0_user).get(url)) == []
    assert login(world.lone_user).get(url, {"q": "SM01"}).status_code == 200


def test_dispute_list_query_count_does_not_grow_with_rows(
    world: World, run: CommissionRun, django_assert_max_num_queries: Any
) -> None:
    for line in CommissionLine.objects.filter(run=run).exclude(member=world.sm):
        user = {world.lone.pk: world.lone_user, world.srs[0].pk: world.sr0_user}.get(line.member_id)
        if user is not None:
            dispute_open(actor=user, line=line, body="?")
    for line in CommissionLine.objects.filter(run=run, member=world.sm):
        dispute_open(actor=world.sm_user, line=line, body="?")
    assert Dispute.objects.count() == 7 + 3 + 2
    fin = login(world.finance)
    with django_assert_max_num_queries(12):
        resp = fin.get(reverse("compensation:disputes"))
    assert len(row_members(resp)) == 12


# --------------------------------------------------------------------------- API


def test_api_dispute_flow_and_permissions(world: World, run: CommissionRun, client: Any) -> None:
    line = sales_line(run, "SM01")
    member, finance, other = bearer(world.sm_user), bearer(world.finance), bearer(world.lone_user)
    ct = "application/json"

    resp = client.post(
        "/api/comp/disputes", {"line_id": line.pk, "body": "为什么?"}, content_type=ct, **member
    )
    assert resp.status_code == 201, resp.content
    d = resp.json()
    assert (d["status"], d["member_no"], d["line_amount"], len(d["messages"])) == (
        "open", "SM01", "4615.38", 1,
    )  # fmt: skip
    did = d["id"]
    # Another member: cannot open on this line, cannot read, post or close the thread.
    assert (
        client.post(
            "/api/comp/disputes", {"line_id": line.pk, "body": "x"}, content_type=ct, **other
        ).status_code
        == 404
    )
    assert client.get(f"/api/comp/disputes/{did}", **other).status_code == 404
    assert (
        client.post(
            f"/api/comp/disputes/{did}/messages", {"body": "x"}, content_type=ct, **other
        ).status_code
        == 404
    )
    assert client.post(f"/api/comp/disputes/{did}/close", **other).status_code == 404
    assert client.get("/api/comp/disputes", **other).json()["count"] == 0

    answer = client.post(
        f"/api/comp/disputes/{did}/messages", {"body": "见公式"}, content_type=ct, **finance
    )
    assert answer.status_code == 201 and answer.json()["status"] == "answered"
    listed = client.get("/api/comp/disputes", {"status": "answered", "q": "SM01"}, **finance).json()
    assert [r["id"] for r in listed["results"]] == [did] and listed["results"][0][
        "messages_count"
    ] == 2
    nul = client.post(
        f"/api/comp/disputes/{did}/messages", {"body": "a\u0000"}, content_type=ct, **member
    )
    assert (nul.status_code, nul.json()["code"]) == (422, "invalid_input")
    closed = client.post(f"/api/comp/disputes/{did}/close", **member)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    again = client.post(f"/api/comp/disputes/{did}/close", **finance)
    assert again.status_code == 409 and again.json()["code"] == "dispute_closed"
    # The statement API carries the thread on its line for the member only.
    st = client.get(f"/api/comp/runs/{run.pk}/statements/SM01", **member).json()
    assert [m["body"] for m in st["lines"][0]["dispute"]["messages"]] == ["为什么?", "见公式"]


# --------------------------------------------------------------------------- browser


@pytest.mark.browser
def test_member_asks_finance_answers_in_the_browser(
    browser_page: Any, django_capture_on_commit_callbacks: Any
) -> None:
    w = make_world()
    run = run_period(w.finance, django_capture_on_commit_callbacks)
    line = sales_line(run, "SM01")
    page = browser_page

    def log_in(username: str, next_url: str) -> None:
        page.context.clear_cookies()
        page.goto(f"/login/?next={next_url}")
        page.fill("#id_username", username)
        page.fill("#id_password", "pw-for-tests")
        page.click("button[type=submit]")
        page.wait_for_url(f"**{next_url}")

    statement_url = reverse("compensation:statement", args=[run.pk, "SM01"])
    log_in("sm01", statement_url)
    thread = page.locator(f"#line-thread-{line.pk}")
    thread.locator("summary").click()
    thread.locator("textarea[name=body]").fill("销售奖金为什么按20%计算?")
    thread.locator("button[type=submit]").click()
    page.wait_for_selector(f"#line-thread-{line.pk} .dispute-status")
    assert "待答复" in page.inner_text(f"#line-thread-{line.pk}")
    dispute = Dispute.objects.get(line=line)

    log_in("fin", reverse("compensation:disputes"))
    page.click(f"a[href='{reverse('compensation:dispute_detail', args=[dispute.pk])}']")
    page.wait_for_selector("#dispute-reply")
    assert "销售奖金为什么按20%计算?" in page.inner_text("#dispute-thread")
    page.fill("#dispute-reply", "个人业绩30000.00 ≥ 20000,适用20%。")
    page.click("#dispute-reply-form button[type=submit]")
    page.wait_for_selector("#dispute-thread .dispute-message >> nth=1")
    assert "已答复" in page.inner_text("#dispute-status")

    log_in("sm01", statement_url)
    text = page.inner_text(f"#line-thread-{line.pk}")
    assert "个人业绩30000.00 ≥ 20000,适用20%。" in text and "已答复" in text
