"""Compensation reports: the compliance report (直销管理条例 Art. 24), incentive-trip
progress and the duplication projection beside the company's observed data.

All three are reads. The compliance and trip lists are querysets aggregated in SQL, so the
pages paginate, sort and search without loading every member; the projection is a few
aggregate queries (one per observed month) and plain arithmetic.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.db.models.lookups import GreaterThan
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from salesops.compensation.engine.plan import RankPlan, Trip
from salesops.compensation.engine.schedule import Period
from salesops.compensation.models import (
    CommissionPeriod,
    CommissionResult,
    CompPlanVersion,
    PeriodStatus,
)
from salesops.compensation.selectors.plans import rank_plan_of
from salesops.compensation.services.periods import parse_month as parse_month
from salesops.compensation.services.plans import plan_version_in_force
from salesops.core.access import Viewer
from salesops.core.errors import PermissionDeniedError
from salesops.core.models import RoleCode
from salesops.core.money import FEN, round_money
from salesops.org.models import Member, MemberStatus, RankHistory
from salesops.sales.models import Order, OrderStatus

# 直销管理条例 第二十四条: a direct seller's pay may not exceed 30% of their own sales to
# consumers. A law, not a plan setting: the report measures every plan against it.
COMPLIANCE_LIMIT = Decimal("0.30")
REPORT_ROLES = (RoleCode.FINANCE, RoleCode.DIRECTOR)  # admins always may
DEFAULT_COMPLIANCE_MONTHS = 3


def can_view_reports(viewer: Viewer) -> bool:
    return viewer.has_role(*REPORT_ROLES)


def require_report_viewer(viewer: Viewer) -> None:
    if not can_view_reports(viewer):
        raise PermissionDeniedError(_("只有财务、销售总监或管理员可以查看该报表"))


def _add_months(month: dt.date, n: int) -> dt.date:
    return Period(month.year, month.month).shift(n).first


def _month_end(month: dt.date) -> dt.date:
    return Period(month.year, month.month).last


# =========================================================================== compliance


@dataclass(frozen=True)
class ComplianceScope:
    """Which stored results the report aggregates: one plan version, a month range, and
    the current run of each month in it."""

    version: CompPlanVersion | None
    plan: RankPlan | None
    months: tuple[dt.date, ...]  # months in range that have a current run of ``version``
    run_ids: tuple[int, ...]
    available_months: tuple[dt.date, ...]  # every month with a current run of ``version``
    versions: tuple[CompPlanVersion, ...]  # plan versions that have current runs

    @property
    def levels(self) -> int:
        """How many downline generations the plan pays on (its deepest override)."""
        return self.plan.max_generations if self.plan is not None else 0

    @property
    def month_from(self) -> dt.date | None:
        return self.months[0] if self.months else None

    @property
    def month_to(self) -> dt.date | None:
        return self.months[-1] if self.months else None


def compliance_scope(
    *,
    version_id: int | None = None,
    month_from: dt.date | None = None,
    month_to: dt.date | None = None,
) -> ComplianceScope:
    """Resolve the report's plan version and months. Defaults: the plan version of the
    latest month with a current run, and the last 3 months that have one."""
    current = list(
        CommissionPeriod.objects.filter(current_run__isnull=False)
        .select_related("current_run__plan_version")
        .order_by("period")
    )
    versions: dict[int, CompPlanVersion] = {}
    for p in current:
        assert p.current_run is not None
        versions.setdefault(p.current_run.plan_version_id, p.current_run.plan_version)
    version: CompPlanVersion | None = versions.get(version_id) if version_id else None
    if version is None and current:
        assert current[-1].current_run is not None
        version = current[-1].current_run.plan_version
    if version is None:
        return ComplianceScope(None, None, (), (), (), tuple(versions.values()))
    mine = [p for p in current if p.current_run and p.current_run.plan_version_id == version.pk]
    available = tuple(p.period for p in mine)
    if month_from is None and month_to is None:
        chosen = mine[-DEFAULT_COMPLIANCE_MONTHS:]
    else:
        lo = month_from or dt.date.min
        hi = month_to or dt.date.max
        if lo > hi:
            lo, hi = hi, lo
        chosen = [p for p in mine if lo <= p.period <= hi]
    return ComplianceScope(
        version=version,
        plan=rank_plan_of(version),
        months=tuple(p.period for p in chosen),
        run_ids=tuple(p.current_run_id for p in chosen if p.current_run_id),
        available_months=available,
        versions=tuple(versions.values()),
    )


def compliance_rows(scope: ComplianceScope) -> QuerySet[Any]:
    """One row (a dict) per member paid in the scope's months, aggregated in SQL.

    ``own_sales`` = Σ pv; ``pay`` = Σ total; ``on_others`` = Σ override (the only bonus
    computed on other people's volume: 5% of downline SRs' pv, plus the BB/BBB leadership
    amounts the plan books under it). Amounts are compared in integer fen so that the
    30% boundary is exact on every database (SQLite sums decimals as floats).
    """
    fen = BigIntegerField()
    return (
        CommissionResult.objects.filter(run_id__in=scope.run_ids)
        .values("member_id", "member__member_no", "member__name")
        .annotate(
            own_sales=Sum("pv"),
            pay=Sum("total"),
            on_others=Sum("override"),
            months=Count("run_id"),
        )
        .annotate(
            own_fen=Cast(Round(F("own_sales") * 100), fen),
            pay_fen=Cast(Round(F("pay") * 100), fen),
            others_fen=Cast(Round(F("on_others") * 100), fen),
        )
        .annotate(
            over_limit=Case(
                When(
                    Q(own_fen__gt=0)
                    & GreaterThan(F("pay_fen") * 100, F("own_fen") * int(COMPLIANCE_LIMIT * 100)),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            ),
            no_own_sales=Case(
                When(Q(own_fen__lte=0) & Q(pay_fen__gt=0), then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            ),
            # Sort key for the share: members paid without own sales sort above everyone.
            share_sort=Case(
                When(
                    own_fen__gt=0,
                    then=Cast(F("pay_fen"), FloatField()) / Cast(F("own_fen"), FloatField()),
                ),
                When(pay_fen__gt=0, then=Value(1e9)),
                default=Value(0.0),
                output_field=FloatField(),
            ),
        )
        .annotate(
            flagged=Case(
                When(
                    Q(over_limit=True) | Q(no_own_sales=True) | Q(others_fen__gt=0),
                    then=Value(True),
                ),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
    )


def compliance_share(row: dict[str, Any]) -> Decimal | None:
    """Pay ÷ own sales as a fraction (4 decimals), None when own sales is not positive."""
    own, pay = Decimal(row["own_fen"]), Decimal(row["pay_fen"])
    if own <= 0:
        return None
    return (pay / own).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def compliance_flags(row: dict[str, Any]) -> list[str]:
    flags: list[str] = []
    if row["no_own_sales"]:
        flags.append(_("无个人销售"))
    if row["over_limit"]:
        flags.append(_("超过30%"))
    if row["others_fen"] > 0:
        flags.append(_("含他人业绩计酬"))
    return flags


@dataclass(frozen=True)
class ComplianceSummary:
    members_paid: int
    members_flagged: int
    members_over_limit: int
    own_sales: Decimal
    pay: Decimal
    on_others: Decimal
    levels: int

    @property
    def ratio(self) -> Decimal | None:
        if self.own_sales <= 0:
            return None
        return (self.pay / self.own_sales).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def compliance_summary(scope: ComplianceScope) -> ComplianceSummary:
    rows = compliance_rows(scope)
    totals = CommissionResult.objects.filter(run_id__in=scope.run_ids).aggregate(
        own=Sum("pv"), pay=Sum("total"), others=Sum("override")
    )
    counts = {"paid": 0, "flagged": 0, "over": 0}
    if scope.run_ids:
        counts = {
            "paid": rows.filter(pay_fen__gt=0).count(),
            "flagged": rows.filter(flagged=True).count(),
            "over": rows.filter(over_limit=True).count(),
        }
    return ComplianceSummary(
        members_paid=counts["paid"] or 0,
        members_flagged=counts["flagged"] or 0,
        members_over_limit=counts["over"] or 0,
        own_sales=round_money(Decimal(totals["own"] or 0)),
        pay=round_money(Decimal(totals["pay"] or 0)),
        on_others=round_money(Decimal(totals["others"] or 0)),
        levels=scope.levels,
    )


# =========================================================================== trips


class TripStatus:
    QUALIFIED = "qualified"
    IN_PROGRESS = "in_progress"
    OUT_OF_REACH = "out_of_reach"
    LABELS = {
        QUALIFIED: gettext_lazy("已达标"),
        IN_PROGRESS: gettext_lazy("进行中"),
        OUT_OF_REACH: gettext_lazy("已无法达标"),
    }
    CHOICES = [(k, v) for k, v in LABELS.items()]


@dataclass(frozen=True)
class TripWindow:
    """A trip's qualification window as of a month, with which of its elapsed months are
    closed (counted from RankHistory) and which are open (the current run's results)."""

    trip: Trip
    start: dt.date
    end: dt.date  # first day of the window's last month
    as_of: dt.date
    elapsed: int  # months of the window from its start to ``as_of`` inclusive
    remaining: int  # months of the window after ``as_of``
    closed_months: tuple[dt.date, ...]
    open_months: tuple[dt.date, ...]
    open_run_ids: tuple[int, ...]
    ranks: tuple[str, ...]  # paid-as ranks that count (min_rank and above)
    not_evaluated: tuple[str, ...] = field(default=())

    @property
    def out_of_reach_below(self) -> int:
        """A member with fewer qualifying *closed* months than this can no longer qualify:
        every open month and every remaining month would not be enough."""
        return self.trip.min_months - self.remaining - len(self.open_months)


def _window_start(trip: Trip, as_of: dt.date) -> dt.date:
    year = as_of.year if as_of.month >= trip.window_start_month else as_of.year - 1
    return dt.date(year, trip.window_start_month, 1)


def trip_not_evaluated(trip: Trip) -> tuple[str, ...]:
    """Settings of the trip this report cannot evaluate with the data the system has."""
    notes: list[str] = []
    if trip.repeat_requires_promotion or trip.repeat_requires_new_first_level_rank:
        notes.append(
            _(
                "再次参加的条件（年内晋升%(promo)s、第一层新增%(rank)s）未评估：系统没有往届"
                "旅游资格记录，无法判断会员是否已参加过；本页只按首次达标条件计算。"
            )
            % {
                "promo": "" if trip.repeat_requires_promotion else _("（不要求）"),
                "rank": trip.repeat_requires_new_first_level_rank or "-",
            }
        )
    if trip.first_may_span_years:
        notes.append(_("“首次达标可跨两个年度”未评估：本页只统计当前年度窗口内的月份。"))
    return tuple(notes)


def trip_window(plan: RankPlan, trip: Trip, as_of: dt.date) -> TripWindow:
    as_of = as_of.replace(day=1)
    start = _window_start(trip, as_of)
    end = _add_months(start, trip.window_months - 1)
    last = min(as_of, end)
    elapsed = (last.year - start.year) * 12 + last.month - start.month + 1
    months = [_add_months(start, k) for k in range(elapsed)]
    periods = {
        p.period: p for p in CommissionPeriod.objects.filter(period__gte=start, period__lte=last)
    }
    closed = tuple(m for m in months if m in periods and periods[m].status == PeriodStatus.CLOSED)
    open_ = tuple(m for m in months if m not in closed)
    run_ids = tuple(run_id for m in open_ if m in periods and (run_id := periods[m].current_run_id))
    min_index = plan.rank_index(trip.min_rank)
    return TripWindow(
        trip=trip,
        start=start,
        end=end,
        as_of=as_of,
        elapsed=elapsed,
        remaining=trip.window_months - elapsed,
        closed_months=closed,
        open_months=open_,
        open_run_ids=run_ids,
        ranks=plan.rank_codes[min_index:],
        not_evaluated=trip_not_evaluated(trip),
    )


def _count_subquery(qs: QuerySet[Any]) -> Coalesce:
    counted = qs.order_by().values("member_id").annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def trip_progress_rows(window: TripWindow, members: QuerySet[Member]) -> QuerySet[Any]:
    """``members`` annotated with their progress towards the window's trip."""
    trip = window.trip
    closed = RankHistory.objects.filter(
        member=OuterRef("pk"), period__in=window.closed_months, paid_as__in=window.ranks
    )
    opened = CommissionResult.objects.filter(
        member=OuterRef("pk"), run_id__in=window.open_run_ids, paid_as__in=window.ranks
    )
    return members.annotate(
        closed_q=_count_subquery(closed),
        open_q=_count_subquery(opened),
    ).annotate(
        qualified=F("closed_q") + F("open_q"),
        trip_status=Case(
            When(Q(qualified__gte=trip.min_months), then=Value(TripStatus.QUALIFIED)),
            When(Q(closed_q__lt=window.out_of_reach_below), then=Value(TripStatus.OUT_OF_REACH)),
            default=Value(TripStatus.IN_PROGRESS),
            output_field=CharField(),
        ),
    )


def trip_needed(window: TripWindow, member: Member) -> int:
    return max(0, window.trip.min_months - member.qualified)  # type: ignore[attr-defined]


def trip_plan(as_of: dt.date) -> RankPlan:
    """The plan in force in ``as_of``'s month."""
    return rank_plan_of(plan_version_in_force(as_of.replace(day=1)))


def trip_by_code(plan: RankPlan, code: str) -> Trip | None:
    return next((t for t in plan.trips if t.code == code), None)


def can_view_all_trips(viewer: Viewer) -> bool:
    return viewer.has_role(*REPORT_ROLES)


def trips_viewer_member(viewer: Viewer) -> Member:
    """The member whose own progress a member user may see; anyone else is refused."""
    if viewer.role == RoleCode.MEMBER and viewer.member is not None:
        return viewer.member
    raise PermissionDeniedError(_("您无权查看旅游奖励进度"))


@dataclass(frozen=True)
class TripProgress:
    window: TripWindow
    member: Member
    closed_q: int
    open_q: int
    qualified: int
    needed: int
    status: str

    @property
    def status_label(self) -> str:
        return str(TripStatus.LABELS[self.status])


def trip_progress_for_member(plan: RankPlan, member: Member, as_of: dt.date) -> list[TripProgress]:
    """One member's progress towards every trip of ``plan``."""
    out: list[TripProgress] = []
    for trip in plan.trips:
        window = trip_window(plan, trip, as_of)
        row = trip_progress_rows(window, Member.objects.filter(pk=member.pk)).get()
        out.append(
            TripProgress(
                window=window,
                member=member,
                closed_q=row.closed_q,  # type: ignore[attr-defined]
                open_q=row.open_q,  # type: ignore[attr-defined]
                qualified=row.qualified,  # type: ignore[attr-defined]
                needed=trip_needed(window, row),
                status=row.trip_status,  # type: ignore[attr-defined]
            )
        )
    return out


# =========================================================================== projection

# The seed's duplication figures (制度 第7页 成星 创星 破百 冲寰宇 添百万): trained managers
# 1, 4, 16, 64, 256, 1024, each worth 4000 a month of 季度评估 (4 SRs × 20000 × 5%).
SEED_STEPS = 6
SEED_RECRUITS_PER_STEP = 4
SEED_MONTHLY_PER_MANAGER = Decimal(4000)
OBSERVED_MONTHS = 12
INACTIVE_MONTHS = 3  # zero volume for this many months = left (attrition)
STEP_MONTH_CHOICES = (1, 3, 6, 12)
RATE_Q = Decimal("0.0001")


@dataclass(frozen=True)
class ObservedMonth:
    month: dt.date
    base: int  # members active at the start of the month
    sponsors: int  # of them, who personally sponsored a member who joined in the month
    lapsed: int  # of them, who were no longer active at the month's end


@dataclass(frozen=True)
class ObservedRates:
    months: tuple[ObservedMonth, ...]
    inactive_months: int

    @property
    def base(self) -> int:
        return sum(m.base for m in self.months)

    @property
    def first_month(self) -> dt.date | None:
        return self.months[0].month if self.months else None

    @property
    def last_month(self) -> dt.date | None:
        return self.months[-1].month if self.months else None

    @property
    def conversion(self) -> Decimal:
        """Monthly share of active members who personally sponsor a new member."""
        return (
            (Decimal(sum(m.sponsors for m in self.months)) / self.base).quantize(
                RATE_Q, ROUND_HALF_UP
            )
            if self.base
            else Decimal(0)
        )

    @property
    def attrition(self) -> Decimal:
        """Monthly share of active members who stop (terminated or no volume)."""
        return (
            (Decimal(sum(m.lapsed for m in self.months)) / self.base).quantize(
                RATE_Q, ROUND_HALF_UP
            )
            if self.base
            else Decimal(0)
        )


def _active_q(month: dt.date, inactive_months: int) -> Q:
    """Active at the end of ``month``: some volume in the last ``inactive_months`` months;
    a terminated member only in a month with their own volume (we do not store when the
    termination happened, so they count as gone from the month after their last order)."""
    orders = Order.objects.filter(
        credited_member=OuterRef("pk"), status=OrderStatus.CONFIRMED, total_amount__gt=0
    )
    recent = orders.filter(
        order_date__gte=_add_months(month, 1 - inactive_months), order_date__lte=_month_end(month)
    )
    this_month = orders.filter(order_date__gte=month, order_date__lte=_month_end(month))
    return Q(Exists(recent)) & (Q(status=MemberStatus.ACTIVE) | Q(Exists(this_month)))


def observed_rates(
    *, as_of: dt.date, months: int = OBSERVED_MONTHS, inactive_months: int = INACTIVE_MONTHS
) -> ObservedRates:
    """Conversion and attrition over the ``months`` complete months before ``as_of``'s."""
    first = _add_months(as_of.replace(day=1), -months)
    out: list[ObservedMonth] = []
    for k in range(months):
        month = _add_months(first, k)
        was_active = _active_q(_add_months(month, -1), inactive_months)
        still_active = _active_q(month, inactive_months)
        recruited = Member.objects.filter(
            sponsor=OuterRef("pk"), joined_on__gte=month, joined_on__lte=_month_end(month)
        )
        agg = Member.objects.aggregate(
            base=Count("pk", filter=was_active),
            sponsors=Count("pk", filter=was_active & Q(Exists(recruited))),
            lapsed=Count("pk", filter=was_active & ~still_active),
        )
        out.append(ObservedMonth(month, agg["base"], agg["sponsors"], agg["lapsed"]))
    return ObservedRates(tuple(out), inactive_months)


@dataclass(frozen=True)
class ProjectionStep:
    step: int
    seed_people: int
    seed_monthly: Decimal
    observed_people: Decimal
    observed_monthly: Decimal


@dataclass(frozen=True)
class Projection:
    rates: ObservedRates
    step_months: int
    steps: tuple[ProjectionStep, ...]

    @property
    def growth_per_step(self) -> Decimal:
        return _growth(self.rates, self.step_months).quantize(RATE_Q, ROUND_HALF_UP)


def _growth(rates: ObservedRates, step_months: int) -> Decimal:
    # Each month the network keeps (1 − attrition) of its people and adds one person for
    # each member who recruited; compounded over the months of one step.
    monthly = Decimal(1) + rates.conversion - rates.attrition
    return max(monthly, Decimal(0)) ** step_months


def seed_series() -> list[tuple[int, Decimal]]:
    """The seed's figures: (trained managers, 季度评估 a month) per step."""
    return [
        (SEED_RECRUITS_PER_STEP**k, SEED_RECRUITS_PER_STEP**k * SEED_MONTHLY_PER_MANAGER)
        for k in range(SEED_STEPS)
    ]


def projection_build(
    *, as_of: dt.date | None = None, step_months: int = 1, rates: ObservedRates | None = None
) -> Projection:
    """The seed's duplication series and, beside it, the same horizon compounded with the
    company's observed monthly conversion and attrition."""
    if step_months not in STEP_MONTH_CHOICES:
        step_months = STEP_MONTH_CHOICES[0]
    rates = rates or observed_rates(as_of=as_of or timezone.localdate())
    growth = _growth(rates, step_months)
    steps = []
    for k, (people, monthly) in enumerate(seed_series()):
        observed = growth**k
        steps.append(
            ProjectionStep(
                step=k,
                seed_people=people,
                seed_monthly=monthly.quantize(FEN),
                observed_people=round_money(observed),
                observed_monthly=round_money(observed * SEED_MONTHLY_PER_MANAGER),
            )
        )
    return Projection(rates=rates, step_months=step_months, steps=tuple(steps))
