"""Reports: the compliance report (Art. 24, 30%), incentive-trip progress and the
duplication projection beside the observed one — numbers by hand, permissions, UI, API."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from salesops.compensation.models import (
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    PeriodStatus,
    RunStatus,
)
from salesops.compensation.services import reports as rep
from salesops.compensation.services.plans import plan_version_ensure_seed
from salesops.compensation.services.runs import commission_run_start
from salesops.core.models import RoleCode
from salesops.core.tokens import token_issue
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member, MemberStatus, RankHistory
from salesops.sales.models import Order

IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
OCT = dt.date(2026, 10, 1)
NOV = dt.date(2026, 11, 1)
_order_no = itertools.count(1)


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


def order(member: Member, amount: str, day: dt.date) -> Order:
    return Order.objects.create(
        order_no=f"RP{next(_order_no):06d}",
        order_date=day,
        credited_member=member,
        total_amount=Decimal(amount),
    )


@dataclass
class World:
    finance: Any
    director: Any
    rep_user: Any
    sm_user: Any
    lone_user: Any
    sm: Member
    lone: Member
    srs: list[Member]
    run: CommissionRun


def build_world(capture: Any) -> World:
    """The seed's examples run for October 2026: an SM with 4 personally trained SRs of
    20000 each (the 1+4: 4000 of override on others' sales) and a lone SR."""
    finance = UserFactory(username="fin", role=role(RoleCode.FINANCE))
    director = UserFactory(username="dir", role=role(RoleCode.DIRECTOR))
    rep_user = UserFactory(username="rep", role=role(RoleCode.REP))
    sm_user = UserFactory(username="smu", role=role(RoleCode.MEMBER))
    lone_user = UserFactory(username="loneu", role=role(RoleCode.MEMBER))
    sm = MemberFactory(member_no="SM01", user=sm_user)
    order(sm, "20000", dt.date(2026, 10, 5))
    order(sm, "10000", dt.date(2026, 10, 25))
    srs = []
    for k in range(4):
        sr = MemberFactory(member_no=f"SR0{k}", sponsor=sm)
        order(sr, "20000", dt.date(2026, 10, 25))
        srs.append(sr)
    lone = MemberFactory(member_no="SR99", user=lone_user)
    order(lone, "15000", dt.date(2026, 10, 10))
    order(lone, "5000", dt.date(2026, 10, 21))
    with capture(execute=True):
        run = commission_run_start(actor=finance, period=OCT)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    return World(finance, director, rep_user, sm_user, lone_user, sm, lone, srs, run)


@pytest.fixture
def world(db: None, immediate_tasks: None, django_capture_on_commit_callbacks: Any) -> World:
    return build_world(django_capture_on_commit_callbacks)


def synthetic_month(period: dt.date, rows: dict[Member, tuple[str, str, str]]) -> CommissionRun:
    """A stored month (as a run would leave it): member → (pv, total, override)."""
    run = CommissionRun.objects.create(
        period=period, plan_version=plan_version_ensure_seed(), status=RunStatus.DONE
    )
    zero = Decimal(0)
    for member, (pv, total, override) in rows.items():
        CommissionResult.objects.create(
            run=run, member=member, paid_as="", title="", pv=Decimal(pv), pv_by_cutoff=zero,
            sr_count=0, sr_volume=zero, sales_bonus=Decimal(total) - Decimal(override),
            morning_star=zero, open_star=zero, override=Decimal(override), total=Decimal(total),
        )  # fmt: skip
    CommissionPeriod.objects.update_or_create(period=period, defaults={"current_run": run})
    return run


def by_no(scope: rep.ComplianceScope) -> dict[str, dict[str, Any]]:
    return {r["member__member_no"]: r for r in rep.compliance_rows(scope)}


# =========================================================================== compliance


def test_compliance_numbers_of_the_seed_network(world: World) -> None:
    scope = rep.compliance_scope()
    assert scope.months == (OCT,)
    assert scope.levels == 6  # SSD and TE pay on 6 generations
    rows = by_no(scope)
    sm = rows["SM01"]
    assert (sm["own_sales"], sm["pay"], sm["on_others"]) == (
        Decimal("30000.00"), Decimal("14615.38"), Decimal("4000.00"),
    )  # fmt: skip
    assert rep.compliance_share(sm) == Decimal("0.4872")  # 14615.38 / 30000
    assert (sm["over_limit"], sm["no_own_sales"], sm["flagged"]) == (True, False, True)
    assert rep.compliance_flags(sm) == ["超过30%", "含他人业绩计酬"]
    sr = rows["SR00"]
    assert (sr["own_sales"], sr["pay"], sr["on_others"]) == (
        Decimal("20000.00"), Decimal("4076.92"), Decimal("0.00"),
    )  # fmt: skip
    assert rep.compliance_share(sr) == Decimal("0.2038")
    assert (sr["over_limit"], sr["flagged"]) == (False, False)
    assert rep.compliance_share(rows["SR99"]) == Decimal("0.2788")  # 5576.92 / 20000

    summary = rep.compliance_summary(scope)
    pay = Decimal("14615.38") + Decimal("5576.92") + 4 * Decimal("4076.92")
    own = Decimal("30000") + Decimal("20000") + 4 * Decimal("20000")
    assert (summary.members_paid, summary.members_flagged, summary.members_over_limit) == (6, 1, 1)
    assert (summary.pay, summary.own_sales, summary.on_others) == (pay, own, Decimal("4000.00"))
    assert (pay, own) == (Decimal("36499.98"), Decimal("130000"))
    assert summary.ratio == Decimal("0.2808")  # 36499.98 / 130000 = 0.28077
    assert summary.levels == 6


def test_compliance_30_percent_boundary_and_no_own_sales(world: World) -> None:
    exact: Member = MemberFactory(member_no="B30")
    above: Member = MemberFactory(member_no="B31")
    none: Member = MemberFactory(member_no="B00")
    synthetic_month(
        dt.date(2026, 9, 1),
        {
            exact: ("20000.00", "6000.00", "0"),  # exactly 30%: not flagged
            above: ("20000.00", "6000.01", "0"),  # one fen above: flagged
            none: ("0.00", "100.00", "0"),  # paid without own sales
        },
    )
    scope = rep.compliance_scope(month_from=dt.date(2026, 9, 1), month_to=dt.date(2026, 9, 1))
    rows = by_no(scope)
    assert rep.compliance_share(rows["B30"]) == Decimal("0.3000")
    assert (rows["B30"]["over_limit"], rows["B30"]["flagged"]) == (False, False)
    assert (rows["B31"]["over_limit"], rows["B31"]["flagged"]) == (True, True)
    assert rep.compliance_share(rows["B00"]) is None
    assert rows["B00"]["no_own_sales"] and rows["B00"]["flagged"]
    assert rep.compliance_flags(rows["B00"]) == ["无个人销售"]
    # Sorted by share, highest first: no own sales tops the list.
    order_ = [r["member__member_no"] for r in rep.compliance_rows(scope).order_by("-share_sort")]
    assert order_ == ["B00", "B31", "B30"]
    # Both months together add up per member.
    both = by_no(rep.compliance_scope(month_from=dt.date(2026, 9, 1), month_to=OCT))
    assert both["B30"]["months"] == 1 and both["SM01"]["months"] == 1
    assert rep.compliance_summary(rep.compliance_scope()).members_flagged == 3


def test_compliance_default_is_the_last_three_months_with_a_current_run(world: World) -> None:
    m: Member = MemberFactory(member_no="OLD")
    for month in (6, 7, 8, 9):
        synthetic_month(dt.date(2026, month, 1), {m: ("1000.00", "100.00", "0")})
    scope = rep.compliance_scope()
    assert scope.months == (dt.date(2026, 8, 1), dt.date(2026, 9, 1), OCT)
    assert by_no(scope)["OLD"]["own_sales"] == Decimal("2000.00")


def test_compliance_page_flags_sorts_searches_and_counts_queries(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    client.force_login(world.finance)
    with django_assert_max_num_queries(14):
        resp = client.get("/comp/reports/compliance/?sort=-share")
    assert resp.status_code == 200
    html = resp.content.decode()
    assert "由公司自行决定" in html
    assert 'id="summary-flagged">1<' in html
    assert 'id="summary-levels">6<' in html
    assert 'id="summary-ratio">28.08%<' in html
    assert 'id="list-select-all"' not in html  # aggregate rows have no id to select
    rows = resp.context["rows"]
    assert [r["obj"]["member__member_no"] for r in rows][:2] == ["SM01", "SR99"]
    assert rows[0]["cells"][6]["value"] == "48.72%"
    assert rows[0]["cells"][7]["value"] == "超过30%、含他人业绩计酬"
    found = client.get("/comp/reports/compliance/?q=SR0").context["rows"]
    assert sorted(r["obj"]["member__member_no"] for r in found) == ["SR00", "SR01", "SR02", "SR03"]
    flagged = client.get("/comp/reports/compliance/?flag=flagged").context["rows"]
    assert [r["obj"]["member__member_no"] for r in flagged] == ["SM01"]


def test_compliance_query_count_does_not_grow_with_members(
    world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    extra: dict[Member, tuple[str, str, str]] = {
        MemberFactory(member_no=f"X{k:03d}"): ("13000.00", "1000.00", "0") for k in range(40)
    }
    synthetic_month(dt.date(2026, 9, 1), extra)
    client.force_login(world.director)
    with django_assert_max_num_queries(14):
        resp = client.get("/comp/reports/compliance/?from=2026-09&to=2026-10&size=50")
    assert resp.status_code == 200
    assert resp.context["paginator"].count == 46


def test_compliance_export_and_permissions(world: World, client: Client) -> None:
    client.force_login(world.finance)
    resp = client.get("/comp/reports/compliance/?export=xlsx")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("application/vnd.openxmlformats")
    for user in (world.rep_user, world.sm_user):
        client.force_login(user)
        assert client.get("/comp/reports/compliance/").status_code == 403
        assert client.get("/comp/reports/projection/").status_code == 403


# =========================================================================== trips


@pytest.fixture
def trips_world(world: World) -> World:
    """Jan–Sep 2026 closed; October open with the seed run (SM01 paid as SM, SR99 as SR)."""
    now = timezone.now()
    for month in range(1, 10):
        CommissionPeriod.objects.update_or_create(
            period=dt.date(2026, month, 1),
            defaults={"status": PeriodStatus.CLOSED, "closed_at": now},
        )
    history = {
        world.sm: {7: "SM", 8: "SSM", 9: "SE"},
        world.lone: {3: "TE", 4: "TE", 5: "TE", 6: "TE", 10: "TE"},  # Oct is open: ignored
    }
    for member, months in history.items():
        for month, rank in months.items():
            RankHistory.objects.create(
                member=member, period=dt.date(2026, month, 1), paid_as=rank, title=rank
            )
    return world


def progress(world: World, member: Member) -> dict[str, rep.TripProgress]:
    plan = rep.trip_plan(NOV)
    return {p.window.trip.code: p for p in rep.trip_progress_for_member(plan, member, NOV)}


def test_trip_windows_follow_the_plan(trips_world: World) -> None:
    plan = rep.trip_plan(NOV)
    academy = rep.trip_window(plan, plan.trips[0], NOV)
    assert (academy.start, academy.end, academy.elapsed, academy.remaining) == (
        dt.date(2026, 7, 1), dt.date(2027, 6, 1), 5, 7,
    )  # fmt: skip
    assert academy.closed_months == (dt.date(2026, 7, 1), dt.date(2026, 8, 1), dt.date(2026, 9, 1))
    assert academy.open_months == (OCT, NOV)
    assert academy.open_run_ids == (trips_world.run.pk,)
    assert academy.ranks == ("SM", "SSM", "SD", "SSD", "TE")
    summit = rep.trip_window(plan, plan.trips[1], NOV)
    assert (summit.start, summit.elapsed, summit.remaining) == (dt.date(2026, 1, 1), 11, 1)
    assert summit.not_evaluated and "未评估" in summit.not_evaluated[0]
    assert rep.trip_window(plan, plan.trips[2], NOV).not_evaluated[0].startswith("“首次达标")
    assert academy.not_evaluated == ()
    # Before July the academy window is the previous July–June.
    assert rep.trip_window(plan, plan.trips[0], dt.date(2027, 3, 1)).start == dt.date(2026, 7, 1)


def test_trip_progress_from_rank_history_and_the_current_run(trips_world: World) -> None:
    sm = progress(trips_world, trips_world.sm)
    # Jul SM + Aug SSM (closed, from history) + Oct SM (open, from the current run).
    assert (sm["academy"].closed_q, sm["academy"].open_q, sm["academy"].qualified) == (2, 1, 3)
    assert (sm["academy"].needed, sm["academy"].status) == (1, rep.TripStatus.IN_PROGRESS)
    assert sm["academy"].status_label == "进行中"
    assert (sm["summit"].qualified, sm["summit"].status) == (3, rep.TripStatus.IN_PROGRESS)
    # TE in 6 months: 0 closed + at most Oct, Nov, Dec = 3 < 6.
    assert (sm["universal"].qualified, sm["universal"].status) == (0, rep.TripStatus.OUT_OF_REACH)
    lone = progress(trips_world, trips_world.lone)
    assert (lone["summit"].qualified, lone["summit"].status) == (4, rep.TripStatus.QUALIFIED)
    assert lone["summit"].needed == 0
    # The Oct TE row in history is ignored (October is open: its run says SR).
    assert (lone["universal"].qualified, lone["universal"].needed) == (4, 2)
    assert lone["universal"].status == rep.TripStatus.IN_PROGRESS
    assert (lone["academy"].qualified, lone["academy"].status) == (0, rep.TripStatus.IN_PROGRESS)


def test_trip_out_of_reach_boundary(trips_world: World) -> None:
    plan = rep.trip_plan(NOV)
    universal = rep.trip_window(plan, plan.trips[2], NOV)
    assert universal.out_of_reach_below == 3  # 6 − 1 remaining − 2 open
    three = MemberFactory(member_no="TE3")
    two = MemberFactory(member_no="TE2")
    for month in (1, 2, 3):
        RankHistory.objects.create(member=three, period=dt.date(2026, month, 1), paid_as="TE")
    for month in (1, 2):
        RankHistory.objects.create(member=two, period=dt.date(2026, month, 1), paid_as="TE")
    rows = {
        m.member_no: m.trip_status  # type: ignore[attr-defined]
        for m in rep.trip_progress_rows(
            universal, Member.objects.filter(member_no__in=["TE3", "TE2"])
        )
    }
    assert rows == {"TE3": rep.TripStatus.IN_PROGRESS, "TE2": rep.TripStatus.OUT_OF_REACH}


def test_trips_page_finance_sees_everyone_member_only_self_rep_refused(
    trips_world: World, client: Client, django_assert_max_num_queries: Any
) -> None:
    for k in range(25):
        MemberFactory(member_no=f"Z{k:02d}")
    client.force_login(trips_world.finance)
    with django_assert_max_num_queries(12):
        resp = client.get("/comp/reports/trips/?trip=summit&month=2026-11")
    assert resp.status_code == 200
    assert resp.context["paginator"].count == 31
    rows = resp.context["rows"]
    assert [r["obj"].member_no for r in rows[:2]] == ["SR99", "SM01"]
    cells = [c["value"] for c in rows[0]["cells"]]
    assert cells == ["SR99", rows[0]["obj"].name, "11", "4", "0", "0", "1", "已达标"]
    html = resp.content.decode()
    assert "未评估" in html
    only = client.get("/comp/reports/trips/?trip=summit&month=2026-11&status=qualified")
    assert [r["obj"].member_no for r in only.context["rows"]] == ["SR99"]
    assert client.get("/comp/reports/trips/?trip=summit&q=SM01").context["paginator"].count == 1

    client.force_login(trips_world.sm_user)
    mine = client.get("/comp/reports/trips/?month=2026-11")
    assert mine.status_code == 200
    assert [p.member.member_no for p in mine.context["progress"]] == ["SM01"] * 3
    body = mine.content.decode()
    assert "SR99" not in body and "创星学院" in body
    # The member's menu shows the entry.
    assert 'href="/comp/reports/trips/"' in body

    client.force_login(trips_world.rep_user)
    assert client.get("/comp/reports/trips/").status_code == 403


# =========================================================================== projection


def test_seed_series_is_exact() -> None:
    assert rep.seed_series() == [
        (1, Decimal(4000)), (4, Decimal(16000)), (16, Decimal(64000)),
        (64, Decimal(256000)), (256, Decimal(1024000)), (1024, Decimal(4096000)),
    ]  # fmt: skip


@pytest.fixture
def observed_world(db: None) -> None:
    """Observed Nov 2025 – Oct 2026 (as of Nov 2026), 3 months without volume = gone.

    10 members order every month (always active); L orders until March 2026 (gone in
    June); T, terminated, orders until July 2026 (gone in August); in May 2026 four of the
    ten sponsor new members (one of them two), who never order."""
    months = [rep._add_months(dt.date(2025, 8, 1), k) for k in range(15)]
    assert months[-1] == OCT
    steady = [
        MemberFactory(member_no=f"A{k:02d}", joined_on=dt.date(2025, 1, 1)) for k in range(10)
    ]
    leaver = MemberFactory(member_no="L01", joined_on=dt.date(2025, 1, 1))
    ended = MemberFactory(
        member_no="T01", joined_on=dt.date(2025, 1, 1), status=MemberStatus.TERMINATED
    )
    for month in months:
        day = month.replace(day=15)
        for m in steady:
            order(m, "100", day)
        if month <= dt.date(2026, 3, 1):
            order(leaver, "100", day)
        if month <= dt.date(2026, 7, 1):
            order(ended, "100", day)
    for k, sponsor in enumerate(steady[:4]):
        MemberFactory(member_no=f"N{k}", sponsor=sponsor, joined_on=dt.date(2026, 5, 10))
    MemberFactory(member_no="N9", sponsor=steady[0], joined_on=dt.date(2026, 5, 20))


def test_observed_rates_from_the_database(observed_world: None) -> None:
    rates = rep.observed_rates(as_of=dt.date(2026, 11, 15))
    by_month = {m.month: m for m in rates.months}
    assert rates.first_month == dt.date(2025, 11, 1) and rates.last_month == OCT
    assert (by_month[dt.date(2025, 11, 1)].base, by_month[dt.date(2025, 11, 1)].lapsed) == (12, 0)
    assert (by_month[dt.date(2026, 5, 1)].base, by_month[dt.date(2026, 5, 1)].sponsors) == (12, 4)
    assert (by_month[dt.date(2026, 6, 1)].base, by_month[dt.date(2026, 6, 1)].lapsed) == (12, 1)
    assert (by_month[dt.date(2026, 8, 1)].base, by_month[dt.date(2026, 8, 1)].lapsed) == (11, 1)
    assert by_month[dt.date(2026, 9, 1)].base == 10
    # 10 × 12 + L 8 months (Nov–Jun) + T 10 months (Nov–Aug) = 138 member-months.
    assert rates.base == 138
    assert rates.conversion == Decimal("0.0290")  # 4 / 138
    assert rates.attrition == Decimal("0.0145")  # 2 / 138


def test_projection_observed_series_beside_the_seed(observed_world: None) -> None:
    monthly = rep.projection_build(as_of=dt.date(2026, 11, 15), step_months=1)
    assert monthly.growth_per_step == Decimal("1.0145")
    assert [(s.seed_people, s.seed_monthly) for s in monthly.steps] == [
        (p, m.quantize(Decimal("0.01"))) for p, m in rep.seed_series()
    ]
    assert [s.observed_monthly for s in monthly.steps] == [
        Decimal("4000.00"), Decimal("4058.00"), Decimal("4116.84"),
        Decimal("4176.54"), Decimal("4237.09"), Decimal("4298.53"),
    ]  # fmt: skip
    assert monthly.steps[5].observed_people == Decimal("1.07")
    quarterly = rep.projection_build(as_of=dt.date(2026, 11, 15), step_months=3)
    assert quarterly.growth_per_step == Decimal("1.0441")
    assert quarterly.steps[5].observed_monthly == Decimal("4964.10")


def test_projection_page_shows_both_series(
    observed_world: None, client: Client, django_assert_max_num_queries: Any
) -> None:
    client.force_login(UserFactory(username="dir2", role=role(RoleCode.DIRECTOR)))
    with django_assert_max_num_queries(20):
        resp = client.get("/comp/reports/projection/?step=3")
    assert resp.status_code == 200
    chart = resp.context["chart"]
    assert chart["seed"] == [
        "4000.00",
        "16000.00",
        "64000.00",
        "256000.00",
        "1024000.00",
        "4096000.00",
    ]
    assert len(chart["observed"]) == 6
    html = resp.content.decode()
    assert "假设每个人每一步都培养 4 人，并且没有任何人流失" in html
    assert "种子资料的倍增假设" in html and "按本公司实际数据测算" in html
    assert "projection-no-data" not in html


# =========================================================================== API


def bearer(user: Any) -> dict[str, str]:
    key, _row = token_issue(username=user.username, password="pw-for-tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def test_api_compliance(world: World, client: Client) -> None:
    resp = client.get(
        "/api/comp/reports/compliance?from=2026-10&to=2026-10", **bearer(world.finance)
    )
    assert resp.status_code == 200, resp.content
    body = resp.json()
    assert body["summary"]["months"] == ["2026-10"]
    assert (body["summary"]["levels"], body["summary"]["limit"], body["summary"]["ratio"]) == (
        6, "0.3000", "0.2808",
    )  # fmt: skip
    assert body["count"] == 6
    top = body["results"][0]
    assert (top["member_no"], top["own_sales"], top["pay"], top["on_others"], top["share"]) == (
        "SM01", "30000.00", "14615.38", "4000.00", "0.4872",
    )  # fmt: skip
    assert top["flags"] == ["超过30%", "含他人业绩计酬"]
    flagged = client.get("/api/comp/reports/compliance?flagged=true", **bearer(world.director))
    assert [r["member_no"] for r in flagged.json()["results"]] == ["SM01"]
    bad = client.get("/api/comp/reports/compliance?from=2026-13", **bearer(world.finance))
    assert bad.status_code == 422
    for user in (world.rep_user, world.sm_user):
        assert client.get("/api/comp/reports/compliance", **bearer(user)).status_code == 403
        assert client.get("/api/comp/reports/projection", **bearer(user)).status_code == 403


def test_api_trips_member_gets_only_own(trips_world: World, client: Client) -> None:
    mine = client.get("/api/comp/reports/trips?month=2026-11", **bearer(trips_world.lone_user))
    assert mine.status_code == 200, mine.content
    rows = mine.json()["results"]
    assert [(r["trip"], r["member_no"], r["qualified"], r["status"]) for r in rows] == [
        ("academy", "SR99", 0, "in_progress"),
        ("summit", "SR99", 4, "qualified"),
        ("universal", "SR99", 4, "in_progress"),
    ]
    everyone = client.get(
        "/api/comp/reports/trips?trip=academy&month=2026-11", **bearer(trips_world.finance)
    ).json()
    assert everyone["count"] == 6
    assert everyone["results"][0]["member_no"] == "SM01"
    assert everyone["trips"][0]["window_start"] == "2026-07"
    assert client.get("/api/comp/reports/trips", **bearer(trips_world.rep_user)).status_code == 403
    unknown = client.get("/api/comp/reports/trips?trip=nope", **bearer(trips_world.finance))
    assert unknown.status_code == 400


def test_trips_month_beyond_the_calendar_is_an_input_error(
    trips_world: World, client: Client
) -> None:
    # The trip window of 9999-12 would end in year 10000: refused, never a 500.
    bad = client.get("/api/comp/reports/trips?month=9999-12", **bearer(trips_world.finance))
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_input")
    assert bad.json()["fields"] == [{"field": "month", "message": "请输入月份，格式 YYYY-MM"}]
    # The page ignores the month it cannot use and shows the current one.
    client.force_login(trips_world.finance)
    assert client.get("/comp/reports/trips/", {"month": "0001-01"}).status_code == 200


def test_api_projection(observed_world: None, client: Client) -> None:
    finance = UserFactory(username="fin9", role=role(RoleCode.FINANCE))
    body = client.get("/api/comp/reports/projection?step_months=1", **bearer(finance)).json()
    assert [s["seed_monthly"] for s in body["steps"]] == [
        "4000.00", "16000.00", "64000.00", "256000.00", "1024000.00", "4096000.00",
    ]  # fmt: skip
    assert body["seed_growth_per_step"] == 4
    assert len(body["observed_months"]) == 12
    assert (
        client.get("/api/comp/reports/projection?step_months=2", **bearer(finance)).status_code
        == 422
    )


# =========================================================================== browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_projection_chart_and_compliance_flag(
    transactional_db: None, browser_page: Any, settings: Any
) -> None:
    settings.TASKS = IMMEDIATE
    finance = UserFactory(username="fin", role=role(RoleCode.FINANCE))
    sm = MemberFactory(member_no="SM01")
    order(sm, "20000", dt.date(2026, 10, 5))
    order(sm, "10000", dt.date(2026, 10, 25))
    for k in range(4):
        order(MemberFactory(member_no=f"SR0{k}", sponsor=sm), "20000", dt.date(2026, 10, 25))
    run = commission_run_start(actor=finance, period=OCT)  # runs on commit (immediate tasks)
    run.refresh_from_db()
    assert run.status == RunStatus.DONE, run.error
    page = browser_page
    page.goto("/login/")
    page.fill("#id_username", "fin")
    page.fill("#id_password", "pw-for-tests")
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto("/comp/reports/projection/")
    page.wait_for_selector("#projection-chart canvas")
    names = page.evaluate("window.projectionChart.getOption().legend[0].data")
    assert names == ["种子资料的倍增假设", "按本公司实际数据测算"]
    series = page.evaluate("window.projectionChart.getOption().series.map(s => s.data.length)")
    assert series == [6, 6]

    page.goto("/comp/reports/compliance/")
    row = page.locator("#list-table tr", has_text="SM01")
    assert "超过30%" in row.inner_text()
    assert "48.72%" in row.inner_text()
    assert page.inner_text("#summary-flagged").strip() == "1"


@pytest.mark.django_db
def test_compliance_page_without_any_run(client: Client) -> None:
    client.force_login(UserFactory(username="fin0", role=role(RoleCode.FINANCE)))
    resp = client.get("/comp/reports/compliance/")
    assert resp.status_code == 200
    assert "还没有可统计的结算结果" in resp.content.decode()
    assert resp.context["paginator"].count == 0
    assert resp.context["summary"].ratio is None
