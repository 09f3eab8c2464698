"""Opportunities (商机): the sales process per department, stage moves recorded with who
and when, the ends (赢单 makes the customer 成交; 输单/无效 need a reason; an ended one is
read-only), the kanban's sums and weighted pipeline, the pool's skip of customers with an
open opportunity, and the same rules through the pages and the API."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from salesops.core.access import viewer_for
from salesops.core.errors import ServiceError
from salesops.core.models import AuditLog
from salesops.crm.models import (
    Opportunity,
    OpportunityStatus,
    Pool,
    PoolCustomer,
    Stage,
    StageChange,
    StageGroup,
)
from salesops.crm.selectors.opportunities import group_for_department, kanban
from salesops.crm.selectors.pool import countdown
from salesops.crm.services.opportunities import (
    OpportunityInput,
    ProductLine,
    opportunity_close,
    opportunity_create,
    opportunity_move,
)
from salesops.crm.services.pool import pool_reclaim
from salesops.factories import CustomerFactory, ProductFactory
from salesops.sales.models import CustomerStatus

CLOSE = datetime.date(2027, 1, 31)
ONE = {"quantity": "1", "price": "1"}
ZERO = {"quantity": "0", "price": "1"}


def _opp(stock, customer=None, amount="100000.00", **kw):  # type: ignore[no-untyped-def]
    customer = customer or CustomerFactory(owner=stock.rep)
    data = OpportunityInput(name=kw.pop("name", "年度采购"), amount=Decimal(amount), close_on=CLOSE)
    return opportunity_create(actor=stock.rep_user, customer=customer, data=data, **kw)


def _stages() -> list[Stage]:
    return list(StageGroup.objects.get(is_default=True).stages.order_by("order"))


def test_the_default_process_is_the_seeds(stock) -> None:  # type: ignore[no-untyped-def]
    names = [(s.name, s.probability) for s in _stages()]
    assert names == [
        ("初步接洽", 10),
        ("需求分析", 25),
        ("方案报价", 50),
        ("商务谈判", 75),
        ("签约", 90),
    ]


def test_a_department_uses_the_nearest_process_up_the_tree(stock) -> None:  # type: ignore[no-untyped-def]
    own = StageGroup.objects.create(name="大客户流程")
    Stage.objects.create(group=own, name="立项", probability=20, order=1)
    own.departments.add(stock.company)
    assert group_for_department(stock.team.pk) == own  # the team is under the company
    opp = _opp(stock)
    assert (opp.group, opp.stage.name) == (own, "立项")


def test_create_move_and_win_are_recorded_and_win_makes_the_customer_won(stock) -> None:  # type: ignore[no-untyped-def]
    opp = _opp(stock)
    stages = _stages()
    assert opp.stage == stages[0] and opp.code.startswith("SJ") and opp.owner == stock.rep
    opportunity_move(actor=stock.rep_user, opp=opp, stage=stages[2])
    opportunity_move(actor=stock.manager_user, opp=opp, stage=stages[1])  # back is allowed
    opportunity_close(actor=stock.rep_user, opp=opp, outcome="won")
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.WON and opp.closed_at is not None
    history = list(
        StageChange.objects.filter(opportunity=opp)
        .order_by("at", "id")
        .values_list("from_stage__name", "to_stage__name", "to_status", "actor__username")
    )
    assert history == [
        (None, "初步接洽", "open", "alice"),
        ("初步接洽", "方案报价", "open", "alice"),
        ("方案报价", "需求分析", "open", "bob"),
        ("需求分析", "需求分析", "won", "alice"),
    ]
    customer = opp.customer
    customer.refresh_from_db()
    assert customer.status == CustomerStatus.WON and customer.won_at is not None
    assert AuditLog.objects.filter(object_type="crm.opportunity", field="stage").exists()
    with pytest.raises(ServiceError) as err:
        opportunity_move(actor=stock.rep_user, opp=opp, stage=stages[3])
    assert err.value.code == "closed"


def test_lost_and_invalid_need_a_reason(stock) -> None:  # type: ignore[no-untyped-def]
    opp = _opp(stock)
    for outcome in ("lost", "invalid"):
        with pytest.raises(ServiceError) as err:
            opportunity_close(actor=stock.rep_user, opp=opp, outcome=outcome, reason="  ")
        assert err.value.field == "reason"
    opportunity_close(actor=stock.rep_user, opp=opp, outcome="lost", reason="价格高于竞品")
    opp.refresh_from_db()
    assert (opp.status, opp.lost_reason) == ("lost", "价格高于竞品")
    opp.customer.refresh_from_db()
    assert opp.customer.status != CustomerStatus.WON


def test_a_stage_of_another_process_and_bad_input_are_refused(stock) -> None:  # type: ignore[no-untyped-def]
    other = StageGroup.objects.create(name="其他流程")
    foreign = Stage.objects.create(group=other, name="X", probability=5, order=1)
    opp = _opp(stock)
    with pytest.raises(ServiceError) as err:
        opportunity_move(actor=stock.rep_user, opp=opp, stage=foreign)
    assert err.value.code == "wrong_stage"
    for kw, field in (({"name": " "}, "name"), ({"amount": "-1"}, "amount")):
        with pytest.raises(ServiceError) as err:
            _opp(stock, **kw)
        assert err.value.field == field


def test_the_amount_defaults_to_the_product_lines(stock) -> None:  # type: ignore[no-untyped-def]
    p = ProductFactory()
    c = CustomerFactory(owner=stock.rep)
    data = OpportunityInput(
        name="试点",
        close_on=CLOSE,
        products=[ProductLine(p, Decimal("3"), Decimal("199.50"))],
    )
    opp = opportunity_create(actor=stock.rep_user, customer=c, data=data)
    assert opp.amount == Decimal("598.50")


def test_a_pool_customer_takes_no_opportunity(stock) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    c.owner = None
    with pytest.raises(ServiceError) as err:
        _opp(stock, customer=c)
    assert err.value.code == "in_pool"


def test_kanban_sums_and_weighted_pipeline_are_in_scope(stock) -> None:  # type: ignore[no-untyped-def]
    stages = _stages()
    a = _opp(stock, amount="100000")
    b = _opp(stock, amount="50000")
    opportunity_move(actor=stock.rep_user, opp=b, stage=stages[2])
    won = _opp(stock, amount="7")
    opportunity_close(actor=stock.rep_user, opp=won, outcome="won")
    theirs = opportunity_create(
        actor=stock.outsider_user,
        customer=CustomerFactory(owner=stock.outsider),
        data=OpportunityInput(name="别组", amount=Decimal("999"), close_on=CLOSE),
    )
    group = StageGroup.objects.get(is_default=True)
    board = kanban(viewer_for(stock.manager_user), group)
    by_stage = {c.stage.name: c for c in board.columns}
    assert (by_stage["初步接洽"].count, by_stage["初步接洽"].amount) == (1, Decimal("100000"))
    assert [o.pk for o in by_stage["初步接洽"].cards] == [a.pk]
    assert by_stage["方案报价"].weighted == Decimal("25000.00")
    assert board.weighted == Decimal("35000.00")  # 100000 × 10 % + 50000 × 50 %
    assert theirs.pk not in {o.pk for c in board.columns for o in c.cards}
    assert board.count == 2  # the won one is off the board


def test_the_pool_skips_a_customer_with_an_open_opportunity(stock) -> None:  # type: ignore[no-untyped-def]
    pool = Pool.objects.create(name="华东公海", days_no_followup=30, skip_open_opportunity=True)
    pool.departments.add(stock.team)
    long_ago = timezone.now() - datetime.timedelta(days=60)
    busy = CustomerFactory(owner=stock.rep, owner_since=long_ago)
    idle = CustomerFactory(owner=stock.rep, owner_since=long_ago)
    _opp(stock, customer=busy)
    assert countdown(busy) == "有进行中的商机，不会被收回"
    pool_reclaim(timezone.now())
    assert set(PoolCustomer.objects.values_list("customer_id", flat=True)) == {idle.pk}


# ------------------------------------------------------------------ pages


def test_pages_create_move_by_kanban_and_close(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    client.force_login(stock.rep_user)
    detail = client.get(
        reverse("sales:customer_detail", args=[c.pk]), {"part": "opportunities"}
    ).content.decode()
    assert 'id="opportunity-new"' in detail
    url = reverse("crm:opportunity_new", args=[c.pk])
    refused = client.post(url, {"name": "", "amount": "100", "close_on": "2027-01-31"})
    assert refused.status_code == 200 and not Opportunity.objects.exists()
    resp = client.post(url, {"name": "门店升级", "amount": "88000", "close_on": "2027-01-31"})
    opp = Opportunity.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"/opportunities/{opp.pk}/")
    board = client.get(reverse("crm:kanban")).content.decode()
    assert "门店升级" in board and "¥88,000.00" in board
    stages = _stages()
    moved = client.post(reverse("crm:kanban_move", args=[opp.pk]), {"stage": stages[3].pk})
    assert moved.status_code == 200 and 'id="kanban"' in moved.content.decode()
    opp.refresh_from_db()
    assert opp.stage == stages[3]
    bad = client.post(reverse("crm:kanban_move", args=[opp.pk]), {"stage": "x"})
    assert bad.status_code == 400 and "请选择阶段" in bad.content.decode()
    client.post(reverse("crm:opportunity_close", args=[opp.pk]), {"outcome": "lost"})
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.OPEN  # no reason: refused
    client.post(
        reverse("crm:opportunity_close", args=[opp.pk]), {"outcome": "lost", "reason": "预算取消"}
    )
    opp.refresh_from_db()
    assert opp.status == OpportunityStatus.LOST
    # a change made by the system (an import, the demo) has no actor
    StageChange.objects.create(
        opportunity=opp, to_stage=opp.stage, to_status="lost", at=timezone.now()
    )
    page = client.get(reverse("crm:opportunity_detail", args=[opp.pk])).content.decode()
    assert "预算取消" in page and 'id="stage-history"' in page and "系统" in page


def test_another_teams_opportunity_is_not_found(stock, client: Client) -> None:  # type: ignore[no-untyped-def]
    theirs = opportunity_create(
        actor=stock.outsider_user,
        customer=CustomerFactory(owner=stock.outsider),
        data=OpportunityInput(name="别组", amount=Decimal("1"), close_on=CLOSE),
    )
    client.force_login(stock.rep_user)
    for url in (
        reverse("crm:opportunity_detail", args=[theirs.pk]),
        reverse("crm:opportunity_edit", args=[theirs.pk]),
    ):
        assert client.get(url).status_code == 404
    stage = _stages()[2]
    assert (
        client.post(reverse("crm:kanban_move", args=[theirs.pk]), {"stage": stage.pk}).status_code
        == 404
    )
    theirs.refresh_from_db()
    assert theirs.stage != stage


def test_list_and_kanban_queries_are_bounded(
    stock, client: Client, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for i in range(3):
        _opp(stock, name=f"商机{i}")
    client.force_login(stock.manager_user)
    client.get(reverse("crm:opportunities"))
    with django_assert_max_num_queries(12):
        client.get(reverse("crm:opportunities"))
    with django_assert_max_num_queries(15):
        client.get(reverse("crm:kanban"))
    for i in range(5):
        opp = _opp(stock, name=f"更多{i}")
        opportunity_move(actor=stock.rep_user, opp=opp, stage=_stages()[i])
    with django_assert_max_num_queries(12):
        client.get(reverse("crm:opportunities"))
    with django_assert_max_num_queries(20):  # one card query per non-empty stage (5)
        client.get(reverse("crm:kanban"))


# ------------------------------------------------------------------ API


def test_api_create_move_and_close(stock, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    p = ProductFactory()
    resp = api(
        "post",
        "/api/crm/opportunities",
        "alice",
        {
            "customer_id": c.pk,
            "name": "年度框架",
            "close_on": "2027-03-31",
            "products": [{"product_id": p.pk, "quantity": "10", "price": "120.00"}],
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert (body["amount"], body["stage_name"], body["probability"]) == ("1200.00", "初步接洽", 10)
    oid = body["id"]
    stages = _stages()
    moved = api("post", f"/api/crm/opportunities/{oid}/stage", "alice", {"stage_id": stages[4].pk})
    assert moved.status_code == 200 and moved.json()["weighted_amount"] == "1080.00"
    refused = api("post", f"/api/crm/opportunities/{oid}/stage", "alice", {"outcome": "lost"})
    assert refused.status_code == 400 and refused.json()["fields"][0]["field"] == "reason"
    won = api("post", f"/api/crm/opportunities/{oid}/stage", "alice", {"outcome": "won"})
    assert won.json()["status"] == "won"
    again = api("post", f"/api/crm/opportunities/{oid}/stage", "alice", {"stage_id": stages[0].pk})
    assert again.status_code == 409 and again.json()["code"] == "closed"
    assert api("get", f"/api/crm/opportunities/{oid}", "charlie").status_code == 404
    assert api("get", "/api/crm/opportunities", "bob").json()["count"] == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "close_on": "2027-01-01", "amount": "-5"},
        {"name": "", "close_on": "2027-01-01"},
        {"name": "x", "close_on": "0"},
        {
            "name": "x",
            "close_on": "2027-01-01",
            "products": [{"product_id": 999999, "quantity": "1", "price": "1"}],
        },
        {
            "name": "x",
            "close_on": "2027-01-01",
            "products": [{"product_id": 1, "quantity": "0", "price": "1"}],
        },
    ],
)
def test_api_refuses_bad_opportunities(stock, api, body) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    resp = api("post", "/api/crm/opportunities", "alice", {"customer_id": c.pk, **body})
    assert resp.status_code in (400, 422), resp.content
    assert not Opportunity.objects.exists()


def test_api_opportunity_on_another_teams_customer_is_not_found(stock, api) -> None:  # type: ignore[no-untyped-def]
    theirs = CustomerFactory(owner=stock.outsider)
    resp = api(
        "post",
        "/api/crm/opportunities",
        "alice",
        {"customer_id": theirs.pk, "name": "x", "close_on": "2027-01-01", "amount": "1"},
    )
    assert resp.status_code == 404 and not Opportunity.objects.exists()


def test_a_lead_converts_with_an_opportunity_through_page_and_api(stock, client, api) -> None:  # type: ignore[no-untyped-def]
    from salesops.crm.services.leads import LeadInput, lead_create

    lead = lead_create(
        actor=stock.rep_user, data=LeadInput(company="星河商贸有限公司", campaign_code="SPRING26")
    )
    client.force_login(stock.rep_user)
    url = reverse("crm:lead_convert", args=[lead.pk])
    resp = client.post(
        url,
        {
            "opportunity_name": "首单",
            "opportunity_amount": "30000",
            "opportunity_close_on": "2027-02-28",
        },
    )
    opp = Opportunity.objects.get()
    assert resp.status_code == 302 and resp["Location"].endswith(f"/opportunities/{opp.pk}/")
    assert (opp.lead_id, opp.campaign_code, opp.amount) == (lead.pk, "SPRING26", Decimal("30000"))
    assert opp.customer.name == "星河商贸有限公司"
    other = lead_create(actor=stock.rep_user, data=LeadInput(company="云帆科技有限公司"))
    done = api(
        "post",
        f"/api/crm/leads/{other.pk}/convert",
        "alice",
        {"opportunity": {"name": "试用", "close_on": "2027-03-01", "amount": "100"}},
    )
    assert done.status_code == 200, done.content
    assert done.json()["opportunity_id"] == Opportunity.objects.get(lead=other).pk
    # a bad opportunity refuses the whole conversion: nothing half-made
    third = lead_create(actor=stock.rep_user, data=LeadInput(company="海纳电子有限公司"))
    bad = api(
        "post",
        f"/api/crm/leads/{third.pk}/convert",
        "alice",
        {"opportunity": {"name": "x", "close_on": "2027-03-01", "amount": "-1"}},
    )
    assert bad.status_code in (400, 422)
    third.refresh_from_db()
    assert third.status != "converted" and third.customer_id is None


def test_sales_processes_are_kept_by_directors_and_audited(stock, client) -> None:  # type: ignore[no-untyped-def]
    from salesops.factories import UserFactory, role

    director = UserFactory(username="dora", role=role("director"))
    client.force_login(stock.manager_user)
    assert client.get(reverse("crm:stage_groups")).status_code == 403
    client.force_login(director)
    url = reverse("crm:stage_group_new")
    refused = client.post(url, {"name": "大客户", "stages": "立项 abc"})
    assert refused.status_code == 200 and "第 1 行" in refused.content.decode()
    ok = client.post(
        url,
        {"name": "大客户", "departments": [stock.team.pk], "stages": "立项 20%\n方案，50\n签约 90"},
    )
    assert ok.status_code == 302
    group = StageGroup.objects.get(name="大客户")
    assert [(s.name, s.probability) for s in group.stages.order_by("order")] == [
        ("立项", 20),
        ("方案", 50),
        ("签约", 90),
    ]
    assert group_for_department(stock.team.pk) == group
    opp = _opp(stock)
    assert opp.stage.name == "立项"
    opportunity_move(actor=stock.rep_user, opp=opp, stage=group.stages.get(name="签约"))
    edit = reverse("crm:stage_group_edit", args=[group.pk])
    blocked = client.post(
        edit, {"name": "大客户", "departments": [stock.team.pk], "stages": "立项 30"}
    )
    assert blocked.status_code == 200 and "还有商机" in blocked.content.decode()
    renamed = client.post(
        edit,
        {"name": "大客户", "departments": [stock.team.pk], "stages": "初访 15\n方案 50\n成交前 95"},
    )
    assert renamed.status_code == 302
    opp.refresh_from_db()
    assert (opp.stage.name, opp.stage.probability) == ("成交前", 95)  # same place, renamed
    assert AuditLog.objects.filter(object_type="crm.stagegroup", field="stages").count() == 2
