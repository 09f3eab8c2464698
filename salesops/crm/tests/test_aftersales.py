"""After-sales: return visits planned by rule and closed by logging them, complaints with a
deadline by severity, escalation up the management chain when overdue (clock frozen: the
job is called with an explicit ``now``), resolution and the customer's confirmation,
customer feedback; the rules through the services, the API and the pages; scopes; the
list pages' query counts."""

from __future__ import annotations

import datetime
from decimal import Decimal
from itertools import count

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog, Notification, RoleCode
from salesops.crm.models import (
    Complaint,
    ComplaintEvent,
    ComplaintStatus,
    Feedback,
    ReturnVisit,
    VisitRule,
    VisitStatus,
)
from salesops.crm.services.complaints import (
    ComplaintInput,
    complaint_confirm,
    complaint_create,
    complaint_escalations,
    complaint_resolve,
    feedback_create,
    feedback_handle,
)
from salesops.crm.services.visits import VisitInput, visit_log, visit_schedule
from salesops.factories import CustomerFactory, EmployeeFactory, UserFactory, role
from salesops.sales.models import Contract, ContractStatus, Order, OrderStatus

_no = count(1)


@pytest.fixture
def rules(db: None) -> tuple[VisitRule, VisitRule]:
    # A flushed test database may lack the migration's rows: make them here.
    VisitRule.objects.all().delete()
    return (
        VisitRule.objects.create(name="合同开始后7天回访", source="contract", days=7),
        VisitRule.objects.create(name="合同开始后30天回访", source="contract", days=30),
    )


def _contract(stock, customer, start_on, status=ContractStatus.SIGNED, no=None, version=1):  # type: ignore[no-untyped-def]
    return Contract.objects.create(
        contract_no=no or f"HT{next(_no):05d}",
        version=version,
        name="年度服务合同",
        customer=customer,
        owner=stock.rep,
        department=stock.team,
        amount=Decimal("10000"),
        start_on=start_on,
        end_on=start_on + datetime.timedelta(days=365),
        status=status,
    )


def _order(customer, day, status=OrderStatus.CONFIRMED):  # type: ignore[no-untyped-def]
    return Order.objects.create(
        order_no=f"SO{next(_no):06d}", order_date=day, customer=customer, status=status
    )


def _complaint(stock, customer=None, severity="urgent", **kw):  # type: ignore[no-untyped-def]
    data = {"title": "设备到货损坏", "content": "外箱破损，屏幕裂开", "category": "delivery"}
    data.update(kw)
    return complaint_create(
        actor=stock.rep_user,
        customer=customer or CustomerFactory(owner=stock.rep),
        data=ComplaintInput(severity=severity, **data),
    )


# ------------------------------------------------------------------ return visits


def test_rules_plan_one_visit_per_contract_and_rule_and_a_second_run_plans_none(
    stock, rules
) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now()
    today = timezone.localdate(now)
    customer = CustomerFactory(owner=stock.rep)
    signed = _contract(stock, customer, today - datetime.timedelta(days=10))
    _contract(stock, customer, today - datetime.timedelta(days=10), status=ContractStatus.DRAFT)
    _contract(stock, customer, today - datetime.timedelta(days=3))  # 7 days not yet passed
    first = visit_schedule(now)
    assert first.created == 1 and first.notices == 1
    visit = ReturnVisit.objects.get()
    assert (visit.contract, visit.rule, visit.owner, visit.status) == (
        signed,
        rules[0],
        stock.rep,
        VisitStatus.PENDING,
    )
    assert visit.due_on == signed.start_on + datetime.timedelta(days=7)
    assert (
        Notification.objects.get(user=stock.rep_user).title
        == "您有 1 项新的回访任务，请及时回访客户"
    )
    again = visit_schedule(now)
    assert (again.created, again.notices) == (0, 0)
    # An amended version of the same contract is not visited again by the same rule.
    signed.status = ContractStatus.SUPERSEDED
    signed.save(update_fields=["status"])
    _contract(stock, customer, signed.start_on, no=signed.contract_no, version=2)
    assert visit_schedule(now).created == 0
    # 21 days on: the 30-day visit of the first contract (its in-force version), the
    # 7-day visit of the one that started later.
    later = visit_schedule(now + datetime.timedelta(days=21))
    assert later.created == 2
    thirty = ReturnVisit.objects.get(rule=rules[1])
    assert thirty.source_key == f"contract:{signed.contract_no}" and thirty.contract != signed


def test_order_rules_visit_confirmed_orders_only_and_old_ones_are_not_planned(stock, rules) -> None:  # type: ignore[no-untyped-def]
    VisitRule.objects.create(name="订单后7天回访", source="order", days=7, form="wechat")
    now = timezone.now()
    today = timezone.localdate(now)
    customer = CustomerFactory(owner=stock.rep)
    ok = _order(customer, today - datetime.timedelta(days=8))
    _order(customer, today - datetime.timedelta(days=8), status=OrderStatus.CANCELLED)
    _order(customer, today - datetime.timedelta(days=200))  # beyond the look-back
    assert visit_schedule(now).created == 1
    visit = ReturnVisit.objects.get()
    assert (visit.order, visit.form, visit.source_key) == (ok, "wechat", f"order:{ok.pk}")


def test_logging_a_visit_closes_its_task_once(stock, rules) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    _contract(stock, customer, timezone.localdate() - datetime.timedelta(days=8))
    visit_schedule(timezone.now())
    task = ReturnVisit.objects.get()
    data = VisitInput(form="phone", outcome="设备运行正常，客户满意", satisfaction=5)
    done = visit_log(actor=stock.rep_user, visit=task, data=data)
    assert (done.status, done.satisfaction, done.visited_by) == (VisitStatus.DONE, 5, stock.rep)
    assert done.get_satisfaction_display() == "很满意"
    assert AuditLog.objects.filter(object_type="crm.returnvisit", field="satisfaction").exists()
    with pytest.raises(ServiceError) as err:
        visit_log(actor=stock.rep_user, visit=task, data=data)
    assert err.value.code == "visit_done"


@pytest.mark.parametrize("score", [0, 6, -1, None])
def test_a_satisfaction_outside_one_to_five_is_refused(stock, score) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    with pytest.raises(ServiceError) as err:
        visit_log(
            actor=stock.rep_user,
            customer=customer,
            data=VisitInput(form="phone", outcome="回访", satisfaction=score),
        )
    assert (err.value.code, err.value.field) == ("invalid_input", "satisfaction")
    assert not ReturnVisit.objects.exists()


def test_visits_through_the_api(stock, rules, api) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    _contract(stock, customer, timezone.localdate() - datetime.timedelta(days=8))
    visit_schedule(timezone.now())
    task = ReturnVisit.objects.get()
    bad = api(
        "post",
        "/api/crm/visits",
        "alice",
        {"visit_id": task.pk, "form": "phone", "outcome": "好", "satisfaction": 7},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_input"
    assert bad.json()["fields"][0]["field"] == "satisfaction"
    resp = api(
        "post",
        "/api/crm/visits",
        "alice",
        {"visit_id": task.pk, "form": "onsite", "outcome": "上门检查设备", "satisfaction": 2},
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["status"], body["satisfaction_label"], body["form"]) == (
        "done",
        "不满意",
        "onsite",
    )
    again = api(
        "post",
        "/api/crm/visits",
        "alice",
        {"visit_id": task.pk, "form": "phone", "outcome": "x", "satisfaction": 3},
    )
    assert (again.status_code, again.json()["code"]) == (409, "visit_done")
    direct = api(
        "post",
        "/api/crm/visits",
        "alice",
        {"customer_id": customer.pk, "form": "wechat", "outcome": "微信回访", "satisfaction": 4},
    )
    assert direct.status_code == 201 and direct.json()["rule_id"] is None
    assert api("get", f"/api/crm/visits/{task.pk}", "bob").status_code == 200
    assert api("get", f"/api/crm/visits/{task.pk}", "charlie").status_code == 404
    listed = api("get", "/api/crm/visits", "bob").json()
    assert listed["count"] == 2
    assert api("get", "/api/crm/visits", "charlie").json()["count"] == 0
    blocked = api(
        "post",
        "/api/crm/visits",
        "charlie",
        {"customer_id": customer.pk, "form": "phone", "outcome": "x", "satisfaction": 3},
    )
    assert blocked.status_code == 404


def test_the_visit_page_keeps_the_input_when_refused_and_logs_the_visit(
    stock, rules, client: Client
) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    _contract(stock, customer, timezone.localdate() - datetime.timedelta(days=8))
    visit_schedule(timezone.now())
    task = ReturnVisit.objects.get()
    client.force_login(stock.rep_user)
    url = reverse("crm:visit_detail", args=[task.pk])
    resp = client.post(url, {"form": "phone", "outcome": "客户反映售后响应慢", "satisfaction": ""})
    assert resp.status_code == 400
    page = resp.content.decode()
    assert "请选择客户满意度" in page and "客户反映售后响应慢" in page
    resp = client.post(url, {"form": "phone", "outcome": "客户反映售后响应慢", "satisfaction": "9"})
    assert resp.status_code == 400
    resp = client.post(url, {"form": "phone", "outcome": "客户反映售后响应慢", "satisfaction": "3"})
    assert resp.status_code == 302
    task.refresh_from_db()
    assert (task.status, task.satisfaction) == (VisitStatus.DONE, 3)
    due = client.get(reverse("crm:visits") + "?scene=due").content.decode()
    assert str(customer.name) not in due
    tab = client.get(
        reverse("sales:customer_detail", args=[customer.pk]), {"part": "visits"}
    ).content.decode()
    assert 'id="customer-visits"' in tab and "一般" in tab


# ------------------------------------------------------------------ complaints


def test_the_deadline_follows_the_severity_and_the_settings(stock, settings) -> None:  # type: ignore[no-untyped-def]
    for severity, days in (("urgent", 1), ("serious", 3), ("normal", 7)):
        c = _complaint(stock, severity=severity)
        assert c.deadline - c.received_at == datetime.timedelta(days=days)
        assert c.owner == stock.rep and c.code.startswith("TS")
    settings.SALESOPS_COMPLAINT_DAYS = {"urgent": 2, "serious": 3, "normal": 7}
    c = _complaint(stock, severity="urgent")
    assert c.deadline - c.received_at == datetime.timedelta(days=2)


def test_an_overdue_complaint_escalates_once_per_level_with_a_frozen_clock(stock) -> None:  # type: ignore[no-untyped-def]
    director_user = UserFactory(username="dora", role=role(RoleCode.DIRECTOR))
    director = EmployeeFactory(name="多拉", department=stock.company, user=director_user)
    stock.manager.manager = director
    stock.manager.save()
    c = _complaint(stock, severity="urgent")  # 1 day
    t0 = c.deadline
    assert complaint_escalations(t0 - datetime.timedelta(hours=1)).escalations == 0
    first = complaint_escalations(t0 + datetime.timedelta(hours=1))
    assert (first.complaints, first.escalations) == (1, 1)
    c.refresh_from_db()
    assert c.escalation_level == 1
    event = ComplaintEvent.objects.get(kind="escalated")
    assert (event.level, event.notified, event.round) == (1, stock.manager, 1)
    notice = Notification.objects.get(user=stock.manager_user)
    assert notice.title.startswith(f"投诉 {c.code}") and "第 1 级" in notice.title
    # Idempotent: the same hour again, or later within the period, adds nothing.
    assert complaint_escalations(t0 + datetime.timedelta(hours=1)).escalations == 0
    assert complaint_escalations(t0 + datetime.timedelta(hours=20)).escalations == 0
    # One more period overdue: the manager's manager.
    second = complaint_escalations(t0 + datetime.timedelta(days=1, hours=1))
    assert second.escalations == 1
    assert Notification.objects.filter(user=director_user).count() == 1
    # Nobody above the director: level 3 passes without a record, and nothing repeats.
    complaint_escalations(t0 + datetime.timedelta(days=5))
    c.refresh_from_db()
    assert c.escalation_level == 3
    assert ComplaintEvent.objects.filter(kind="escalated").count() == 2
    assert complaint_escalations(t0 + datetime.timedelta(days=9)).complaints == 0
    assert (
        AuditLog.objects.filter(
            object_type="crm.complaint", field="escalation_level", action="update"
        ).count()
        == 3
    )


def test_without_a_manager_an_overdue_complaint_goes_to_the_department_heads(stock) -> None:  # type: ignore[no-untyped-def]
    head_user = UserFactory(username="hank", role=role(RoleCode.MANAGER))
    head = EmployeeFactory(name="韩组长", department=stock.other_team, user=head_user)
    ceo_user = UserFactory(username="cleo", role=role(RoleCode.DIRECTOR))
    ceo = EmployeeFactory(name="柯总", department=stock.company, user=ceo_user)
    stock.other_team.head, stock.company.head = head, ceo
    stock.other_team.save()
    stock.company.save()
    assert stock.outsider.manager_id is None
    c = complaint_create(
        actor=stock.outsider_user,
        customer=CustomerFactory(owner=stock.outsider, department=stock.other_team),
        data=ComplaintInput(
            severity="urgent", title="漏发配件", content="少一根电源线", category="delivery"
        ),
    )
    assert c.owner == stock.outsider
    complaint_escalations(c.deadline + datetime.timedelta(days=1, hours=1))
    events = ComplaintEvent.objects.filter(kind="escalated").order_by("level")
    assert [(e.level, e.notified) for e in events] == [(1, head), (2, ceo)]
    assert Notification.objects.filter(user=head_user).count() == 1
    assert Notification.objects.filter(user=ceo_user).count() == 1


def test_a_resolved_complaint_is_not_escalated(stock) -> None:  # type: ignore[no-untyped-def]
    c = _complaint(stock)
    complaint_resolve(actor=stock.rep_user, complaint=c, resolution="已换新")
    assert complaint_escalations(c.deadline + datetime.timedelta(days=3)).escalations == 0


def test_confirmation_closes_or_reopens_and_an_unresolved_one_cannot_be_confirmed(stock) -> None:  # type: ignore[no-untyped-def]
    c = _complaint(stock, severity="serious")
    with pytest.raises(ServiceError) as err:
        complaint_confirm(actor=stock.rep_user, complaint=c, satisfied=True)
    assert (err.value.code, err.value.status) == ("not_resolved", 409)
    complaint_resolve(actor=stock.rep_user, complaint=c, resolution="已上门更换屏幕")
    with pytest.raises(ServiceError) as err:
        complaint_confirm(actor=stock.rep_user, complaint=c, satisfied=False, note="")
    assert (err.value.code, err.value.field) == ("invalid_input", "note")
    complaint_escalations(c.deadline + datetime.timedelta(days=1))  # resolved: nothing
    reopened = complaint_confirm(
        actor=stock.rep_user, complaint=c, satisfied=False, note="更换后仍有划痕"
    )
    assert (reopened.status, reopened.round, reopened.escalation_level) == (
        ComplaintStatus.OPEN,
        2,
        0,
    )
    assert reopened.deadline > timezone.now() + datetime.timedelta(days=2, hours=23)
    # The new round escalates again from its own deadline.
    assert complaint_escalations(reopened.deadline + datetime.timedelta(hours=1)).escalations == 1
    complaint_resolve(actor=stock.rep_user, complaint=reopened, resolution="再次更换")
    closed = complaint_confirm(actor=stock.rep_user, complaint=reopened, satisfied=True)
    assert closed.status == ComplaintStatus.CLOSED and closed.confirmed_at is not None
    with pytest.raises(ServiceError) as err:
        complaint_resolve(actor=stock.rep_user, complaint=closed, resolution="x")
    assert err.value.code == "bad_status"
    kinds = list(
        ComplaintEvent.objects.filter(complaint=c).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["created", "resolved", "reopened", "escalated", "resolved", "confirmed"]


def test_complaints_through_the_api(stock, api) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    body = {
        "customer_id": customer.pk, "title": "发票开错", "content": "抬头写错",
        "category": "billing", "severity": "normal",
    }  # fmt: skip
    resp = api("post", "/api/crm/complaints", "alice", body)
    assert resp.status_code == 201, resp.content
    c = resp.json()
    assert (c["status"], c["overdue"], c["events"][0]["kind"]) == ("open", False, "created")
    bad = api("post", "/api/crm/complaints", "alice", {**body, "severity": "critical"})
    assert bad.status_code in (400, 422)
    confirm = api("post", f"/api/crm/complaints/{c['id']}/confirm", "alice", {"satisfied": True})
    assert (confirm.status_code, confirm.json()["code"]) == (409, "not_resolved")
    empty = api("post", f"/api/crm/complaints/{c['id']}/resolve", "alice", {"resolution": " "})
    assert (empty.status_code, empty.json()["code"]) == (400, "invalid_input")
    ok = api("post", f"/api/crm/complaints/{c['id']}/resolve", "bob", {"resolution": "已重开发票"})
    assert ok.status_code == 200 and ok.json()["status"] == "resolved"
    done = api("post", f"/api/crm/complaints/{c['id']}/confirm", "alice", {"satisfied": True})
    assert done.json()["status"] == "closed"
    assert api("get", f"/api/crm/complaints/{c['id']}", "charlie").status_code == 404
    assert api("post", f"/api/crm/complaints/{c['id']}/resolve", "charlie", {
        "resolution": "x"}).status_code == 404  # fmt: skip
    other = api("post", "/api/crm/complaints", "charlie", body)
    assert other.status_code == 404 and other.json()["code"] == "not_found"
    assert api("get", "/api/crm/complaints?status=closed", "bob").json()["count"] == 1


def test_members_get_403_from_every_after_sales_endpoint(stock, api) -> None:  # type: ignore[no-untyped-def]
    UserFactory(username="mona", role=role(RoleCode.MEMBER))
    for path in ("/api/crm/visits", "/api/crm/complaints", "/api/crm/feedback"):
        assert api("get", path, "mona").status_code == 403


def test_the_complaint_pages(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    client.force_login(stock.rep_user)
    new = reverse("crm:complaint_new", args=[customer.pk])
    assert client.get(new).status_code == 200
    resp = client.post(
        new, {"title": "", "category": "product", "severity": "urgent", "content": "质量问题描述"}
    )
    assert resp.status_code == 200 and "质量问题描述" in resp.content.decode()
    resp = client.post(
        new,
        {
            "title": "质量问题",
            "category": "product",
            "severity": "urgent",
            "content": "质量问题描述",
        },
    )
    assert resp.status_code == 302
    c = Complaint.objects.get()
    detail = reverse("crm:complaint_detail", args=[c.pk])
    page = client.get(detail).content.decode()
    assert c.code in page and 'id="resolve-form"' in page
    resp = client.post(reverse("crm:complaint_confirm", args=[c.pk]), {"satisfied": "1"})
    assert resp.status_code == 400 and "投诉尚未解决" in resp.content.decode()
    client.post(reverse("crm:complaint_resolve", args=[c.pk]), {"resolution": "退货并补发"})
    c.refresh_from_db()
    assert c.status == ComplaintStatus.RESOLVED
    resp = client.post(
        reverse("crm:complaint_confirm", args=[c.pk]), {"satisfied": "0", "note": ""}
    )
    assert resp.status_code == 400 and "请填写客户意见" in resp.content.decode()
    client.post(reverse("crm:complaint_confirm", args=[c.pk]), {"satisfied": "1"})
    c.refresh_from_db()
    assert c.status == ComplaintStatus.CLOSED
    tab = client.get(
        reverse("sales:customer_detail", args=[customer.pk]), {"part": "complaints"}
    ).content.decode()
    assert 'id="customer-complaints"' in tab and c.code in tab
    client.force_login(stock.outsider_user)
    assert client.get(detail).status_code == 404
    assert client.get(reverse("crm:complaints") + "?scene=all").content.decode().count(c.code) == 0


# ------------------------------------------------------------------ feedback


def test_feedback_is_recorded_and_handled_once(stock, api) -> None:  # type: ignore[no-untyped-def]
    customer = CustomerFactory(owner=stock.rep)
    fb = feedback_create(
        actor=stock.rep_user,
        customer=customer,
        kind="suggestion",
        content="希望增加夜间客服",
        contact=None,
    )
    assert (fb.owner, fb.handled) == (stock.rep, False)
    with pytest.raises(ServiceError):
        feedback_create(
            actor=stock.rep_user, customer=customer, kind="rant", content="x", contact=None
        )
    feedback_handle(actor=stock.manager_user, feedback=fb, reply="已转客服部评估")
    with pytest.raises(ServiceError) as err:
        feedback_handle(actor=stock.manager_user, feedback=fb, reply="again")
    assert err.value.code == "already_handled"
    resp = api(
        "post",
        "/api/crm/feedback",
        "alice",
        {"customer_id": customer.pk, "kind": "praise", "content": "安装师傅很专业"},
    )
    assert resp.status_code == 201
    fid = resp.json()["id"]
    handled = api("post", f"/api/crm/feedback/{fid}/handle", "bob", {"reply": "已转告"})
    assert handled.json()["handled"] is True
    assert api("get", f"/api/crm/feedback/{fid}", "charlie").status_code == 404
    assert Feedback.objects.count() == 2


# ------------------------------------------------------------------ list pages


@pytest.mark.parametrize("name", ["crm:visits", "crm:complaints", "crm:feedback"])
def test_list_queries_are_bounded_and_constant_in_rows(
    stock, rules, client: Client, django_assert_max_num_queries, name
) -> None:  # type: ignore[no-untyped-def]
    def add(n: int) -> None:
        for _ in range(n):
            customer = CustomerFactory(owner=stock.rep)
            _contract(stock, customer, timezone.localdate() - datetime.timedelta(days=8))
            _complaint(stock, customer)
            feedback_create(
                actor=stock.rep_user,
                customer=customer,
                kind="inquiry",
                content="咨询",
                contact=None,
            )
        visit_schedule(timezone.now())

    add(2)
    client.force_login(stock.manager_user)
    url = reverse(name) + "?scene=all"
    assert client.get(url).status_code == 200
    with django_assert_max_num_queries(12) as few:
        client.get(url)
    add(6)
    with django_assert_max_num_queries(12) as many:
        assert client.get(url).status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
