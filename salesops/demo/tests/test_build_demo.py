"""The demo data set: built at a small scale, checked for shape, rules and determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from salesops.compensation.models import CommissionPeriod, CommissionRun, PayoutBatch
from salesops.core.models import ApprovalTask, RoleCode, TaskStatus, User
from salesops.core.money import round_money
from salesops.demo.builder import DEMO_PASSWORD, MAX_DEPTH, demo_digest
from salesops.org.models import Department, Employee, Member, MemberStatus, SponsorHistory
from salesops.org.paths import child_path
from salesops.sales.models import (
    Contract,
    Customer,
    Order,
    OrderLine,
    PriceListItem,
    Product,
    Quote,
    Return,
)

SCALE = 0.02
# The day the demo's data ends on, pinned (the command defaults to the current date). In
# the past: closing a month needs it to have ended by the clock.
TODAY = date(2026, 3, 10)
USERS = {
    "admin": RoleCode.ADMIN,
    "director": RoleCode.DIRECTOR,
    "manager1": RoleCode.MANAGER,
    "rep1": RoleCode.REP,
    "rep2": RoleCode.REP,
    "marketing": RoleCode.MARKETING,
    "finance": RoleCode.FINANCE,
    "finance2": RoleCode.FINANCE,
    "member1": RoleCode.MEMBER,
}


@pytest.fixture(autouse=True)
def fast_hasher(settings) -> None:  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def build(*args: str) -> str:
    out = StringIO()
    call_command(
        "build_demo", "--scale", str(SCALE), "--today", TODAY.isoformat(), *args, stdout=out
    )
    return out.getvalue()


def counts() -> dict[str, int]:
    return {
        "members": Member.objects.count(),
        "customers": Customer.objects.count(),
        "orders": Order.objects.count(),
        "lines": OrderLine.objects.count(),
        "returns": Return.objects.count(),
        "employees": Employee.objects.count(),
        "users": User.objects.count(),
    }


@pytest.mark.django_db
def test_build_demo_creates_the_company(client) -> None:  # type: ignore[no-untyped-def]
    # given / when
    output = build()

    # then: the eight logins, with their roles, linked to their people
    assert "演示数据生成完毕" in output
    for username, code in USERS.items():
        user = User.objects.get(username=username)
        assert user.role is not None and user.role.code == code
        assert client.login(username=username, password=DEMO_PASSWORD) is True
        client.logout()
    assert User.objects.get(username="admin").is_superuser is True
    linked = dict(Employee.objects.filter(user__isnull=False).values_list("user__username", "pk"))
    assert sorted(linked) == sorted(u for u in USERS if u not in ("member1", "finance2"))
    director = Employee.objects.get(user__username="director")
    manager1 = Employee.objects.get(user__username="manager1")
    assert director.department.name == "华东大区"
    assert manager1.department.name == "上海一部"
    assert manager1.manager_id == director.pk
    for rep in ("rep1", "rep2"):
        assert Employee.objects.get(user__username=rep).manager_id == manager1.pk
    assert Employee.objects.get(user__username="marketing").department.name == "市场部"
    assert Employee.objects.get(user__username="finance").department.name == "财务部"
    member1 = Member.objects.get(user__username="member1")
    assert member1.title == "SM"
    assert member1.status == MemberStatus.ACTIVE

    # sizes follow the scale (10,000 members, 2,000 customers, ~200,000 lines at 1.0)
    assert Member.objects.count() == 200
    assert Customer.objects.count() == 40
    assert Department.objects.count() == 19
    assert Employee.objects.count() == 1 + 3 * 2 + 12 * 3 + 1 + 1 + 1
    assert Product.objects.count() == 31
    assert PriceListItem.objects.count() == 31
    assert 2_800 <= OrderLine.objects.count() <= 5_200
    assert Return.objects.count() == 6
    downline = Member.objects.filter(path__startswith=member1.path).count() - 1
    assert downline >= 10
    assert member1.downline_count == downline

    # every customer sits in its owner's department
    assert Customer.objects.exclude(department=F("owner__department")).count() == 0

    # every path is the one recomputed from the sponsor chain, with one history row each
    expected: dict[int, str] = {}
    rows = list(Member.objects.order_by("depth", "pk").values_list("pk", "sponsor_id", "path"))
    for pk, sponsor_id, path in rows:
        expected[pk] = child_path(expected[sponsor_id] if sponsor_id else "", pk)
        assert path == expected[pk]
    assert SponsorHistory.objects.count() == 200
    assert max(depth for _pk, depth in Member.objects.values_list("pk", "depth")) <= MAX_DEPTH
    assert (
        SponsorHistory.objects.exclude(sponsor_id=F("member__sponsor_id"))
        .exclude(sponsor__isnull=True, member__sponsor__isnull=True)
        .count()
        == 0
    )

    # line amount = round_money(quantity × unit price); order total = sum of its lines
    for qty, price, amount in OrderLine.objects.values_list("quantity", "unit_price", "amount"):
        assert amount == round_money(qty * price)
    sums = dict(
        OrderLine.objects.values("order_id").annotate(s=Sum("amount")).values_list("order_id", "s")
    )
    for pk, total in Order.objects.values_list("pk", "total_amount"):
        assert total == sums[pk]
    assert Order.objects.annotate(n=Count("lines")).filter(n=0).count() == 0

    # member orders use member prices, customer orders list prices; owners get the credit
    member_prices = dict(PriceListItem.objects.values_list("product_id", "member_price"))
    for pid, price in OrderLine.objects.filter(order__member__isnull=False).values_list(
        "product_id", "unit_price"
    )[:500]:
        assert price == member_prices[pid]
    assert (
        Order.objects.filter(customer__isnull=False)
        .exclude(credited_employee=F("customer__owner"))
        .count()
        == 0
    )
    assert (
        Order.objects.filter(member__isnull=False).exclude(credited_member=F("member")).count() == 0
    )
    # ... and the rep who services the member is credited with the member's orders too
    assert Order.objects.filter(member__isnull=False, credited_employee__isnull=True).count() == 0
    assert (
        Order.objects.filter(member__isnull=False)
        .exclude(credited_employee=F("member__owner"))
        .count()
        == 0
    )
    assert (
        Order.objects.filter(department__isnull=False)
        .exclude(department=F("credited_employee__department"))
        .count()
        == 0
    )
    rep1 = Employee.objects.get(user__username="rep1")
    assert Order.objects.filter(credited_employee=rep1, member__isnull=False).count() > 0

    # the data ends on the pinned day: twelve months of orders, the current one so far
    span = Order.objects.aggregate(first=Min("order_date"), last=Max("order_date"))
    assert span == {"first": date(2025, 4, 1), "last": TODAY}
    assert Return.objects.aggregate(last=Max("return_date"))["last"] <= TODAY
    assert Member.objects.aggregate(last=Max("joined_on"))["last"] <= TODAY
    assert Employee.objects.aggregate(last=Max("hired_on"))["last"] < TODAY
    this_month = Order.objects.filter(order_date__gte=TODAY.replace(day=1))
    assert this_month.filter(member__isnull=False).count() > 0
    assert this_month.filter(member__user__username="member1").count() > 0  # member1's home page
    assert this_month.filter(customer__isnull=False).count() > 0
    assert this_month.aggregate(s=Sum("total_amount"))["s"] > Decimal(1000)
    # ... at the pace of a whole month (per day about as many orders as in the one before)
    last_month = Order.objects.filter(
        order_date__gte=date(2026, 2, 1), order_date__lt=TODAY.replace(day=1)
    )
    per_day_now, per_day_before = this_month.count() / 10, last_month.count() / 28
    assert 0.6 * per_day_before <= per_day_now <= 1.5 * per_day_before

    # commissions: the eleven months before the current one run, all but the last two closed
    assert sorted(CommissionRun.objects.values_list("period", flat=True).distinct()) == [
        date(2025, m, 1) for m in range(4, 13)
    ] + [date(2026, 1, 1), date(2026, 2, 1)]
    closed = CommissionPeriod.objects.filter(closed_at__isnull=False)
    assert max(closed.values_list("period", flat=True)) == date(2025, 12, 1)
    assert PayoutBatch.objects.count() == 2

    # timestamps come from the seed's calendar, not from the clock
    for day, created_at in Order.objects.values_list("order_date", "created_at"):
        assert timezone.localtime(created_at).date() == day
    assert Customer.objects.filter(created_at__gte=datetime(2025, 4, 1, tzinfo=UTC)).count() == 0

    # returns never exceed their order, and the order knows what was returned
    for ret in Return.objects.select_related("original_order"):
        assert Decimal(0) < ret.total_amount <= ret.original_order.total_amount
        assert ret.original_order.returned_amount == ret.total_amount

    # manager1's inbox: a sponsor change, rep1's quote beyond the discount limit and rep1's
    # contract; finance has rep1's receipt to confirm
    waiting = ApprovalTask.objects.filter(status=TaskStatus.PENDING)
    assert sorted(
        waiting.filter(approver__username="manager1").values_list("request__doc_type", flat=True)
    ) == ["org.sponsor_change", "sales.contract", "sales.quote"]
    assert waiting.filter(
        approver__role__code="finance", request__doc_type="sales.receipt"
    ).exists()

    # contracts: plans within the amount, confirmed receipts adding up to what is received
    for c in Contract.objects.prefetch_related("plans", "receipts"):
        assert sum(p.amount for p in c.plans.all()) <= c.amount
        confirmed = sum(r.amount for r in c.receipts.all() if r.status == "approved")
        assert c.received_amount == confirmed <= c.amount
    assert Quote.objects.filter(status="pending").count() == 1


@pytest.mark.django_db
def test_rerun_is_safe_and_the_build_is_deterministic() -> None:
    # given a built demo
    build()
    first_counts, first_digest = counts(), demo_digest()

    # when it is built again without --force, then nothing changes
    output = build()
    assert "演示数据已存在" in output
    assert counts() == first_counts
    assert demo_digest() == first_digest

    # when it is wiped and rebuilt with the same seed, then it is the same data again
    output = build("--force")
    assert "已删除旧的演示数据" in output
    assert counts() == first_counts
    assert demo_digest() == first_digest
