"""公海: release, claim within the limits, lock, the explained countdown, and the reclaim
job held to the plain statement of the rule (``crm.rules``) — pages and API too."""

from __future__ import annotations

import datetime

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from salesops.core.errors import PermissionDeniedError, ServiceError
from salesops.core.models import AuditLog, Notification
from salesops.crm.models import Pool, PoolCustomer, PoolLevelRule, PoolMove, PoolMoveKind
from salesops.crm.rules import Facts, PoolRule, explain, is_due
from salesops.crm.selectors.pool import countdown, facts_of, pool_for_department, rule_of
from salesops.crm.services.pool import (
    customer_lock,
    customer_release,
    pool_assign,
    pool_claim,
    pool_reclaim,
)
from salesops.factories import CustomerFactory
from salesops.sales.models import Customer, CustomerStatus

NOW = timezone.make_aware(datetime.datetime(2026, 12, 1, 10, 0))


def _days(n: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=n)


@pytest.fixture
def east(stock):  # type: ignore[no-untyped-def]
    """华东公海 for the rep's team: 30 days without a follow-up, 90 without a deal."""
    pool = Pool.objects.create(name="华东公海", days_no_followup=30, days_no_deal=90)
    pool.departments.add(stock.team)
    return pool


def test_the_default_pool_exists_and_is_nearest_last(stock, east) -> None:  # type: ignore[no-untyped-def]
    default = Pool.objects.get(is_default=True)
    assert default.days_no_followup is None  # nothing is reclaimed until configured
    assert pool_for_department(stock.team.pk) == east
    assert pool_for_department(stock.other_team.pk) == default


def test_release_then_claim_by_a_member(stock, east) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    entry = customer_release(actor=stock.rep_user, customer=c, reason="客户暂无需求")
    c.refresh_from_db()
    assert (c.owner_id, c.owner_since, entry.pool, entry.former_owner) == (
        None,
        None,
        east,
        stock.rep,
    )
    assert AuditLog.objects.filter(object_id=str(c.pk), note__contains="放入华东公海").exists()
    with pytest.raises(ServiceError) as exc:  # not a member of 华东公海
        pool_claim(actor=stock.outsider_user, customer=c)
    assert exc.value.code == "not_pool_member"
    pool_claim(actor=stock.manager_user, customer=c)
    c.refresh_from_db()
    assert c.owner == stock.manager and c.owner_since is not None
    assert not PoolCustomer.objects.filter(customer=c).exists()
    kinds = list(
        PoolMove.objects.filter(customer=c).order_by("at", "id").values_list("kind", flat=True)
    )
    assert kinds == [PoolMoveKind.RELEASE, PoolMoveKind.CLAIM]
    with pytest.raises(ServiceError) as exc:
        pool_claim(actor=stock.rep_user, customer=c)
    assert exc.value.code == "not_in_pool"


def test_claim_limits(stock, east) -> None:  # type: ignore[no-untyped-def]
    east.max_owned, east.claims_per_day, east.former_owner_days = 3, 1, 7
    east.save()
    a, b = CustomerFactory(owner=stock.rep), CustomerFactory(owner=stock.manager)
    customer_release(actor=stock.rep_user, customer=a, reason="x")
    customer_release(actor=stock.manager_user, customer=b, reason="x")
    with pytest.raises(ServiceError) as exc:
        pool_claim(actor=stock.rep_user, customer=a)
    assert exc.value.code == "former_owner_cooldown" and "7 天内不能重新领取" in str(
        exc.value.message
    )
    pool_claim(actor=stock.rep_user, customer=b)
    c = CustomerFactory(owner=stock.manager)
    customer_release(actor=stock.manager_user, customer=c, reason="x")
    with pytest.raises(ServiceError) as exc:
        pool_claim(actor=stock.rep_user, customer=c)
    assert exc.value.code == "claim_daily_limit"
    east.claims_per_day = None
    east.save()
    CustomerFactory.create_batch(2, owner=stock.rep)  # now owns 3
    with pytest.raises(ServiceError) as exc:
        pool_claim(actor=stock.rep_user, customer=c)
    assert exc.value.code == "pool_limit" and "上限 3 个" in str(exc.value.message)
    # Won customers do not count unless the pool says so.
    Customer.objects.filter(owner=stock.rep).update(status=CustomerStatus.WON)
    pool_claim(actor=stock.rep_user, customer=c)
    assert PoolCustomer.objects.filter(customer=a).exists()


def test_assign_is_for_managers_and_pool_admins(stock, east) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    customer_release(actor=stock.rep_user, customer=c, reason="x")
    with pytest.raises(PermissionDeniedError):
        pool_assign(actor=stock.rep_user, customer=c, employee=stock.rep)
    pool_assign(actor=stock.manager_user, customer=c, employee=stock.rep)
    assert Customer.objects.get(pk=c.pk).owner == stock.rep
    assert PoolMove.objects.filter(customer=c, kind=PoolMoveKind.ASSIGN).exists()


def test_lock_limit_and_locked_customers_are_not_reclaimed(stock, east) -> None:  # type: ignore[no-untyped-def]
    east.max_locked = 1
    east.save()
    a, b = (CustomerFactory(owner=stock.rep, owner_since=_days(100)) for _ in range(2))
    customer_lock(actor=stock.rep_user, customer=a, locked=True)
    with pytest.raises(ServiceError) as exc:
        customer_lock(actor=stock.rep_user, customer=b, locked=True)
    assert exc.value.code == "lock_limit"
    done = pool_reclaim(NOW)
    assert done.moved == 1
    assert Customer.objects.get(pk=a.pk).owner == stock.rep
    assert Customer.objects.get(pk=b.pk).owner is None


def test_reclaim_moves_the_due_once_and_tells_the_owner(stock, east) -> None:  # type: ignore[no-untyped-def]
    PoolLevelRule.objects.create(pool=east, level="A", days_no_followup=60)
    due = CustomerFactory(owner=stock.rep, owner_since=_days(40), level="B")
    a_level = CustomerFactory(owner=stock.rep, owner_since=_days(40), level="A")
    followed = CustomerFactory(
        owner=stock.rep, owner_since=_days(40), last_followup_at=_days(5), level="B"
    )
    won = CustomerFactory(
        owner=stock.rep, owner_since=_days(200), status=CustomerStatus.WON, won_at=_days(150)
    )
    soon = CustomerFactory(owner=stock.rep, owner_since=_days(28), level="B")
    done = pool_reclaim(NOW)
    assert done.moved == 1 and done.by_pool == {"华东公海": 1}
    owners = dict(Customer.objects.values_list("pk", "owner_id"))
    assert owners[due.pk] is None
    assert {owners[x.pk] for x in (a_level, followed, won, soon)} == {stock.rep.pk}
    move = PoolMove.objects.get(customer=due)
    assert (move.kind, move.employee, move.rule) == (
        "reclaim",
        stock.rep,
        "30 天未跟进，收回到华东公海",
    )
    titles = set(Notification.objects.filter(user=stock.rep_user).values_list("title", flat=True))
    assert titles == {"1 个客户已被收回到公海", "1 个客户即将被收回到公海，请及时跟进"}
    again = pool_reclaim(NOW)
    assert (again.moved, again.noticed) == (0, 0)
    assert PoolMove.objects.count() == 1


def test_reclaim_names_the_followup_rule_when_both_are_due(stock, east) -> None:  # type: ignore[no-untyped-def]
    # given customers due by both rules, by the deal rule only, and one of each level
    both = CustomerFactory(owner=stock.rep, owner_since=_days(200), level="B")
    deal = CustomerFactory(
        owner=stock.rep, owner_since=_days(200), last_followup_at=_days(1), level="C"
    )
    # when the reclaim runs (moves are written set-based, a batch at a time)
    done = pool_reclaim(NOW)
    # then each move and pool row names the rule that sent it back, the follow-up first
    assert done.moved == 2
    rules = dict(PoolMove.objects.values_list("customer_id", "rule"))
    assert rules == {both.pk: "30 天未跟进，收回到华东公海", deal.pk: "90 天未成交，收回到华东公海"}
    reasons = dict(PoolCustomer.objects.values_list("customer_id", "reason"))
    assert reasons == rules
    assert set(PoolCustomer.objects.values_list("former_owner_id", flat=True)) == {stock.rep.pk}
    assert set(PoolMove.objects.values_list("at", flat=True)) == {NOW}


def test_the_explained_countdown(stock, east) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep, owner_since=_days(60), last_followup_at=_days(23))
    assert countdown(c, NOW) == "未跟进 23 天，规则：30 天未跟进收回，7 天后进入华东公海"
    c.owner_since, c.last_followup_at = _days(75), _days(1)
    assert countdown(c, NOW) == "领取 75 天未成交，规则：90 天未成交收回，15 天后进入华东公海"
    c.locked = True
    assert countdown(c, NOW) == "已锁定，不会被收回"


# -------------------------------------------------------------------- the property

_day = st.floats(min_value=0, max_value=400, allow_nan=False)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rules=st.fixed_dictionaries(
        {
            "followup": st.one_of(st.none(), st.integers(1, 120)),
            "deal": st.one_of(st.none(), st.integers(1, 365)),
            "a_followup": st.one_of(st.none(), st.integers(1, 120)),
            "skip_won": st.booleans(),
        }
    ),
    customers=st.lists(
        st.tuples(
            _day,  # owner since (days ago)
            st.one_of(st.none(), _day),  # last follow-up
            st.sampled_from("ABCD"),
            st.booleans(),  # locked
            st.sampled_from(["potential", "won", "lost"]),
            st.one_of(st.none(), _day),  # won at
        ),
        max_size=12,
    ),
)
def test_reclaim_moves_exactly_what_the_rules_name(stock, rules, customers) -> None:  # type: ignore[no-untyped-def]
    Customer.objects.all().delete()
    Pool.objects.filter(is_default=False).delete()
    pool = Pool.objects.create(
        name="测试公海",
        days_no_followup=rules["followup"],
        days_no_deal=rules["deal"],
        skip_won=rules["skip_won"],
        notify_days=0,
    )
    pool.departments.add(stock.company)
    if rules["a_followup"] is not None:
        PoolLevelRule.objects.create(pool=pool, level="A", days_no_followup=rules["a_followup"])
    made = [
        CustomerFactory(
            owner=stock.rep,
            owner_since=_days(since),
            last_followup_at=None if follow is None else _days(follow),
            level=level,
            locked=locked,
            status=status,
            won_at=None if won is None else _days(won),
        )
        for since, follow, level, locked, status, won in customers
    ]
    pool = Pool.objects.prefetch_related("level_rules").get(pk=pool.pk)
    expected = {c.pk for c in made if is_due(rule_of(pool, c.level), facts_of(c), NOW)}
    pool_reclaim(NOW)
    moved = set(Customer.objects.filter(owner__isnull=True).values_list("pk", flat=True))
    assert moved == expected
    assert set(PoolCustomer.objects.values_list("customer_id", flat=True)) == expected
    assert pool_reclaim(NOW).moved == 0


def test_the_rule_statement_by_hand() -> None:
    rule = PoolRule(1, "华东公海", 30, None, skip_won=True, skip_open_opportunity=True)
    fresh = Facts(
        owner_since=_days(40), last_followup_at=_days(10), locked=False, won=False, won_at=None
    )
    assert not is_due(rule, fresh, NOW)
    assert is_due(rule, Facts(_days(40), _days(31), False, False, None), NOW)
    assert not is_due(rule, Facts(_days(29), None, False, False, None), NOW)  # just claimed
    assert not is_due(rule, Facts(_days(40), None, False, True, _days(35)), NOW)  # won
    assert not is_due(rule, Facts(_days(40), None, False, False, None, open_opportunity=True), NOW)
    assert explain(rule, Facts(_days(40), None, False, False, None), NOW).endswith(
        "已到期，将在下次收回时进入华东公海"
    )


# -------------------------------------------------------------------- pages and API


def test_pool_page_claim_and_customer_page_parts(stock, east, client: Client) -> None:  # type: ignore[no-untyped-def]
    week_ago = timezone.now() - datetime.timedelta(days=7)
    mine = CustomerFactory(owner=stock.rep, owner_since=week_ago, name="宁波港务贸易有限公司")
    client.force_login(stock.rep_user)
    page = client.get(f"/sales/customers/{mine.pk}/").content.decode()
    assert "未跟进 7 天，规则：30 天未跟进收回，23 天后进入华东公海" in page
    resp = client.post(f"/crm/customers/{mine.pk}/release/", {"reason": "暂无需求"})
    assert resp.status_code == 302
    assert Customer.objects.get(pk=mine.pk).owner is None
    listing = client.get("/crm/pool/").content.decode()
    assert "宁波港务贸易有限公司" in listing and "暂无需求" in listing
    client.force_login(stock.outsider_user)  # 华南 is not a member of 华东公海
    assert "宁波港务贸易有限公司" not in client.get("/crm/pool/").content.decode()
    assert client.post(f"/crm/pool/{mine.pk}/claim/").status_code == 404
    client.force_login(stock.manager_user)
    resp = client.post("/crm/pool/", {"list_action": "batch", "batch": "claim", "ids": [mine.pk]})
    assert resp.status_code in (200, 302)
    assert Customer.objects.get(pk=mine.pk).owner == stock.manager


def test_api_release_claim_and_errors(stock, east, api) -> None:  # type: ignore[no-untyped-def]
    c = CustomerFactory(owner=stock.rep)
    assert api(
        "post", f"/api/crm/customers/{c.pk}/release", "alice", {"reason": ""}
    ).status_code in (400, 422)
    resp = api("post", f"/api/crm/customers/{c.pk}/release", "alice", {"reason": "转给同事"})
    assert resp.status_code == 200 and resp.json()["in_pool"] is True
    assert (
        api("post", f"/api/crm/customers/{c.pk}/release", "charlie", {"reason": "x"}).status_code
        == 404
    )
    assert api("post", f"/api/crm/pool/{c.pk}/claim", "charlie").status_code == 404
    east.former_owner_days = 3
    east.save()
    resp = api("post", f"/api/crm/pool/{c.pk}/claim", "alice")
    assert resp.status_code == 409 and resp.json()["code"] == "former_owner_cooldown"
    listed = api("get", "/api/crm/pool", "bob").json()
    assert [r["customer_id"] for r in listed["results"]] == [c.pk]
    resp = api("post", f"/api/crm/pool/{c.pk}/claim", "bob")
    assert resp.status_code == 200 and resp.json()["owner_id"] == stock.manager.pk
    resp = api("post", f"/api/crm/customers/{c.pk}/lock", "bob", {"locked": True})
    assert resp.json()["locked"] is True and resp.json()["countdown"] == "已锁定，不会被收回"
