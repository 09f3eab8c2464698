"""The demo company: a deterministic, realistic data set for ``salesops demo``.

Everything is derived from ``random.Random(seed)`` and the day the demo ends on
(``today``: the current local date unless a caller fixes it), never read from the clock
during the build, so two builds with the same seed, scale and day hold the same people,
trees, orders and amounts. The twelve months of orders end on that day (the current month
so far), so the dashboard's "this month" and every month page show real figures. Small
things (departments, employees, products) go through the services; the large tables
(members, customers, orders) are bulk-inserted with the same rules the services apply
(paths from ``salesops.org.paths``, line amount = ``round_money(quantity × unit_price)``,
order total = sum of its lines).
"""

from __future__ import annotations

import calendar
import datetime
import hashlib
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.utils import timezone
from django.utils.timezone import get_default_timezone
from django.utils.translation import gettext as _

from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    Dispute,
    DisputeMessage,
    PayoutBatch,
    PayoutItem,
)
from salesops.core.approvals.services import StepSpec, approval_flow_create
from salesops.core.audit import audit_create, audit_record, audit_update, snapshot
from salesops.core.errors import ServiceError
from salesops.core.models import (
    ApprovalEvent,
    ApprovalFlow,
    ApprovalRequest,
    ApprovalStep,
    ApprovalTask,
    AuditAction,
    AuditLog,
    Notification,
    Role,
    RoleCode,
    User,
)
from salesops.core.money import round_money
from salesops.core.roles import ensure_default_roles
from salesops.crm.models import (
    Activity,
    ActivityKind,
    Contact,
    Opportunity,
    OpportunityStatus,
    Pool,
    PoolCustomer,
    PoolLevelRule,
    PoolMove,
    PoolMoveKind,
    StageChange,
    StageGroup,
)
from salesops.demo import names
from salesops.org.models import (
    Department,
    DepartmentKind,
    Employee,
    Member,
    MemberStatus,
    Position,
    Rank,
    RankHistory,
    SponsorChangeRequest,
    SponsorHistory,
)
from salesops.org.paths import path_ids
from salesops.org.services.departments import department_create
from salesops.org.services.employees import employee_create
from salesops.org.services.members import MemberSeed, members_bulk_create
from salesops.org.services.sponsor_changes import DOC_TYPE as SPONSOR_CHANGE
from salesops.org.services.sponsor_changes import sponsor_change_request_submit
from salesops.sales.keys import email_key, phone_key
from salesops.sales.models import (
    Contract,
    ContractStatus,
    Customer,
    CustomerStatus,
    Order,
    OrderKind,
    OrderLine,
    OrderStatus,
    PriceList,
    PriceListItem,
    Product,
    Quote,
    QuoteLine,
    QuoteStatus,
    Receipt,
    ReceiptMethod,
    ReceiptStatus,
    ReceivablePlan,
    Return,
    ReturnLine,
)
from salesops.sales.services.products import (
    price_list_create,
    price_list_item_set,
    product_create,
)

DEFAULT_SEED = 20261001
MONTHS = 12  # of orders, the last one being the current month up to today
MEMBERS_BEFORE = 24  # months of member history before the first month of orders
CUSTOMERS_BEFORE = 29  # months of customer registrations before it
DEMO_PASSWORD = "salesops-demo"  # noqa: S105 - documented demo-only password
BATCH = 5000

# Full-scale sizes; ``scale`` multiplies the large ones.
MEMBERS = 10_000
CUSTOMERS = 2_000
REPS_PER_TEAM = 10
MARKETING_STAFF = 6
FINANCE_STAFF = 4
RETURNS = 300
_USER_AUDITED = ("username", "role", "is_superuser", "is_active")
MAX_DEPTH = 25  # deepest level of the sponsor tree (roots are 0)

ONE = Decimal(1)

Out = Callable[[str], None]


def demo_present() -> bool:
    """The demo's company root is the marker that a demo has been built here."""
    return Department.objects.filter(code=names.COMPANY_CODE).exists()


def _shift_months(d: datetime.date, months: int) -> datetime.date:
    """The first day of the month ``months`` after (or before) ``d``'s."""
    index = d.year * 12 + d.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def month_starts(today: datetime.date) -> list[datetime.date]:
    """The demo's months of orders: the current month and the eleven before it."""
    return [_shift_months(today, k) for k in range(1 - MONTHS, 1)]


def _stamp(day: datetime.date, minute: int) -> datetime.datetime:
    """``minute`` minutes after midnight of ``day``, in the company's time zone."""
    midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=get_default_timezone())
    return midnight + datetime.timedelta(minutes=minute)


def _month_end(d: datetime.date) -> datetime.date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


@dataclass
class _Staff:
    employee: Employee
    city: str = ""


@dataclass
class _MemberPlan:
    """What the builder decided about one member before insert (index = join order)."""

    member_no: str
    sponsor: int | None
    joined_on: datetime.date
    owner_id: int
    title: str = ""
    terminated_month: int | None = None  # index into the 12 months; no orders from then
    aro: bool = False
    pk: int = 0


@dataclass
class BuildStats:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


class DemoBuilder:
    """Builds the demo company in one transaction. Use ``build_demo()``."""

    def __init__(
        self,
        *,
        seed: int = DEFAULT_SEED,
        scale: float = 1.0,
        today: datetime.date,
        out: Out = print,
    ):
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.rng = random.Random(seed)
        self.seed = seed
        self.today = today
        self.months = month_starts(today)
        self.first_month = self.months[0]
        self.scale = scale
        self.out = out
        self.stats = BuildStats()
        self._t0 = time.perf_counter()
        self._step_t = self._t0

    # -- helpers -----------------------------------------------------------------------

    def _n(self, full: int, minimum: int = 1) -> int:
        return max(minimum, round(full * self.scale))

    def _say(self, what: str, **counts: int) -> None:
        now = time.perf_counter()
        detail = ", ".join(f"{k}={v:,}" for k, v in counts.items())
        self.stats.counts.update(counts)
        self.out(f"  {what:<28} {detail:<44} {now - self._step_t:6.1f}s")
        self._step_t = now

    # -- the build ---------------------------------------------------------------------

    def build(self) -> BuildStats:
        with transaction.atomic():
            self.roles = ensure_default_roles()
            self._users()
            self._org()
            self._link_users()
            self._products()
            self._customers()
            self._members()
            self._orders()
            self._returns()
            self._approvals()
            self._pools()
            self._followups()
            self._opportunities()
            self._deals()
            self._after_sales()
            audit_record(
                actor=None,
                action=AuditAction.IMPORT,
                object_type="demo",
                note=_("生成演示数据：会员 %(m)d 名，订单 %(o)d 张")
                % {"m": self.stats.counts["members"], "o": self.stats.counts["orders"]},
            )
        self.stats.seconds = time.perf_counter() - self._t0
        return self.stats

    # -- users and roles ---------------------------------------------------------------

    def _users(self) -> None:
        # One hash for the shared demo password: hashing is deliberately slow.
        hashed = make_password(DEMO_PASSWORD)
        spec = (
            ("admin", RoleCode.ADMIN, True),
            ("director", RoleCode.DIRECTOR, False),
            ("manager1", RoleCode.MANAGER, False),
            ("rep1", RoleCode.REP, False),
            ("rep2", RoleCode.REP, False),
            ("marketing", RoleCode.MARKETING, False),
            ("finance", RoleCode.FINANCE, False),
            ("finance2", RoleCode.FINANCE, False),  # approves what finance submits
            ("member1", RoleCode.MEMBER, False),
        )
        self.users: dict[str, User] = {}
        for username, code, superuser in spec:
            user, created = User.objects.get_or_create(username=username)
            before = snapshot(user, _USER_AUDITED)
            user.role = self.roles[code]
            user.is_superuser = user.is_staff = superuser
            user.is_active = True
            user.password = hashed
            user.email = f"{username}@hxyp.example.com"
            user.save()
            if created:
                audit_create(actor=None, obj=user, fields=_USER_AUDITED)
            else:
                audit_update(actor=None, obj=user, before=before, note=_("重建演示数据"))
            self.users[username] = user
        self._say(_("用户与角色"), users=len(self.users), roles=len(self.roles))

    # -- organisation ------------------------------------------------------------------

    def _employee(
        self,
        *,
        department: Department,
        position: str,
        manager: Employee | None,
        city: str = "",
    ) -> Employee:
        self._emp_seq += 1
        no = f"HX{self._emp_seq:04d}"
        hired = self.today - datetime.timedelta(days=30 + self.rng.randrange(3700))
        emp = employee_create(
            actor=None,
            employee_no=no,
            name=names.person_name(self.rng),
            department=department,
            phone=names.mobile(self.rng),
            email=f"{no.lower()}@hxyp.example.com",
            position=self.positions[position],
            manager=manager,
            hired_on=hired,
        )
        self.employees.append(_Staff(emp, city))
        return emp

    def _org(self) -> None:
        self._emp_seq = 0
        self.employees: list[_Staff] = []
        self.positions = {
            code: Position.objects.get_or_create(code=code, defaults={"name": name})[0]
            for code, name in names.POSITIONS
        }
        company = department_create(
            actor=None,
            name=names.COMPANY_NAME,
            code=names.COMPANY_CODE,
            kind=DepartmentKind.COMPANY,
        )
        heads: list[tuple[Department, Employee]] = []
        vp = self._employee(department=company, position="P-VP", manager=None)
        heads.append((company, vp))
        self.reps: list[_Staff] = []
        self.region_directors: dict[str, Employee] = {}
        self.team_managers: list[Employee] = []
        for region_name, region_code, teams in names.REGIONS:
            region = department_create(
                actor=None,
                name=region_name,
                code=f"{names.COMPANY_CODE}-{region_code}",
                kind=DepartmentKind.REGION,
                parent=company,
            )
            director = self._employee(department=region, position="P-DIR", manager=vp)
            heads.append((region, director))
            self.region_directors[region_code] = director
            self._employee(department=region, position="P-AM", manager=director)
            for t, (team_name, city) in enumerate(teams, start=1):
                team = department_create(
                    actor=None,
                    name=team_name,
                    code=f"{names.COMPANY_CODE}-{region_code}{t:02d}",
                    kind=DepartmentKind.TEAM,
                    parent=region,
                )
                manager = self._employee(
                    department=team, position="P-MGR", manager=director, city=city
                )
                heads.append((team, manager))
                self.team_managers.append(manager)
                for _r in range(self._n(REPS_PER_TEAM, 2)):
                    self._employee(department=team, position="P-REP", manager=manager, city=city)
                    self.reps.append(self.employees[-1])
        for dept_name, code, position, staff in (
            ("市场部", "MKT", "P-MKT", MARKETING_STAFF),
            ("财务部", "FIN", "P-FIN", FINANCE_STAFF),
            ("信息技术部", "IT", "P-IT", 1),
        ):
            dept = department_create(
                actor=None,
                name=dept_name,
                code=f"{names.COMPANY_CODE}-{code}",
                kind=DepartmentKind.DEPARTMENT,
                parent=company,
            )
            head = self._employee(department=dept, position=position, manager=None)
            heads.append((dept, head))
            for _s in range(self._n(staff) - 1):
                self._employee(department=dept, position=position, manager=head)
            setattr(self, f"head_{code.lower()}", head)
        # No service sets a department head yet; this is the demo's only direct write.
        for dept, head in heads:
            Department.objects.filter(pk=dept.pk).update(head=head)
        self.company = company
        self._say(
            _("组织架构"),
            departments=Department.objects.filter(path__startswith=company.path).count(),
            employees=len(self.employees),
        )

    def _link_users(self) -> None:
        """Give the demo logins their employees (member1 gets a member later)."""
        east = self.region_directors["HD"]
        manager1 = self.team_managers[0]
        team_reps = [s.employee for s in self.reps if s.employee.manager_id == manager1.pk]
        links = {
            "admin": self.head_it,  # type: ignore[attr-defined]
            "director": east,
            "manager1": manager1,
            "rep1": team_reps[0],
            "rep2": team_reps[1],
            "marketing": self.head_mkt,  # type: ignore[attr-defined]
            "finance": self.head_fin,  # type: ignore[attr-defined]
        }
        for username, emp in links.items():
            user = self.users[username]
            Employee.objects.filter(user=user).exclude(pk=emp.pk).update(user=None)
            Employee.objects.filter(pk=emp.pk).update(user=user)
            emp.user = user
            user.display_name = emp.name
            user.save(update_fields=["display_name"])
            audit_record(
                actor=None,
                action=AuditAction.UPDATE,
                obj=emp,
                changes={"user": ("", user.pk)},
                note=_("演示账号"),
            )
        self.manager1, self.rep1 = manager1, team_reps[0]

    # -- products ----------------------------------------------------------------------

    def _products(self) -> None:
        price_list = price_list_create(
            actor=None,
            name=_("%(first)d-%(last)d 年度价目表")
            % {"first": self.first_month.year, "last": self.today.year},
            valid_from=self.first_month,
        )
        self.prices: list[tuple[int, Decimal, Decimal]] = []  # (product id, list, member)
        for p in names.PRODUCTS:
            product = product_create(actor=None, sku=p.sku, name=p.name, unit=p.unit)
            # Member price 75–80 % of list, in whole yuan; PC price 80 % (ARO ≥ ¥1,500).
            member = Decimal(math.floor(p.list_price * Decimal(self.rng.randint(75, 80)) / 100))
            pc = round_money(p.list_price * Decimal("0.80"))
            price_list_item_set(
                actor=None,
                price_list=price_list,
                product=product,
                list_price=p.list_price,
                member_price=member,
                pc_price=pc,
                # 最低售价: a quote below 70 % of the list price needs approval.
                floor_price=round_money(p.list_price * Decimal("0.70")),
            )
            self.prices.append((product.pk, p.list_price, member))
        self._say(_("商品与价目表"), products=len(self.prices))

    # -- customers ---------------------------------------------------------------------

    def _customers(self) -> None:
        rng = self.rng
        rows = []
        for i in range(self._n(CUSTOMERS, 10)):
            owner = self.reps[rng.randrange(len(self.reps))]
            if i < 4:  # rep1 always has a few customers to show
                owner = next(s for s in self.reps if s.employee.pk == self.rep1.pk)
            city = names.CITIES[owner.city]
            rows.append(
                Customer(
                    code=f"KH{i + 1:06d}",
                    name=names.customer_name(rng, owner.city),
                    phone=names.mobile(rng),
                    id_number=names.id_number(rng, city.area) if rng.random() < 0.35 else "",
                    address=names.address(rng, owner.city) if rng.random() < 0.8 else "",
                    source=rng.choices(names.CUSTOMER_SOURCES, names.CUSTOMER_SOURCE_WEIGHTS)[0],
                    owner_id=owner.employee.pk,
                    department_id=owner.employee.department_id,
                )
            )
        for cust in rows:
            cust.set_keys()
        for start in range(0, len(rows), BATCH):
            Customer.objects.bulk_create(rows[start : start + BATCH])
        # auto_now_add stamped the build time; registration dates come from the seed instead.
        since = _shift_months(self.first_month, -CUSTOMERS_BEFORE)
        by_day: dict[datetime.date, list[int]] = {}
        for c in rows:
            day = since + datetime.timedelta(days=rng.randrange((self.first_month - since).days))
            by_day.setdefault(day, []).append(c.pk)
        for day, pks in sorted(by_day.items()):
            stamp = _stamp(day, rng.randrange(9 * 60, 18 * 60))
            Customer.objects.filter(pk__in=pks).update(created_at=stamp, updated_at=stamp)
        self.customers = list(
            Customer.objects.filter(code__startswith="KH")
            .order_by("code")
            .values_list("pk", "owner_id", "department_id", "source")
        )
        self._say(_("客户"), customers=len(self.customers))

    # -- the CRM's public pools ---------------------------------------------------------

    def _pools(self) -> None:
        """One pool per region plus the company's default pool, each with the rules a
        Chinese sales department sets (30 days without a follow-up, 180 without a deal;
        A-level customers longer), customers' levels, follow-up dates and won status, and
        a few customers already in the pools. A generator of its own, so that adding this
        step changes nothing the earlier steps build."""
        rng = random.Random(f"pools-{self.seed}")
        now = _stamp(self.today, 9 * 60)
        default, _created = Pool.objects.get_or_create(
            is_default=True, defaults={"name": _("公司公海")}
        )
        default.days_no_followup, default.days_no_deal = 45, 365
        default.save()
        pools: dict[int, Pool] = {}
        for code, director in self.region_directors.items():
            region = Department.objects.get(code=f"{names.COMPANY_CODE}-{code}")
            pool = Pool.objects.create(
                name=f"{region.name}公海",
                admin=director,
                days_no_followup=30,
                days_no_deal=180,
                notify_days=7,
                max_owned=300,
                max_locked=30,
                claims_per_day=10,
                former_owner_days=15,
            )
            pool.departments.add(region)
            PoolLevelRule.objects.create(
                pool=pool, level="A", days_no_followup=60, days_no_deal=365
            )
            pools[region.pk] = pool
        team_region = dict(
            Department.objects.filter(kind=DepartmentKind.TEAM).values_list("pk", "parent_id")
        )
        ours = Customer.objects.filter(code__startswith="KH")
        ours.update(owner_since=models.F("created_at"))
        ordered = set(
            Order.objects.filter(customer__isnull=False).values_list("customer_id", flat=True)
        )
        by_day: dict[int, list[int]] = {}
        by_level: dict[str, list[int]] = {}
        for pk, _owner, _dept, _source in self.customers:
            # Most customers were followed up lately; a few are about to go back.
            days = rng.choice((0, 1, 2, 3, 5, 8, 12, 16, 20, 24, 26, 27, 28, 29))
            by_day.setdefault(days, []).append(pk)
            level = rng.choices("ABCD", (12, 40, 35, 13))[0]
            by_level.setdefault(level, []).append(pk)
        for days, pks in by_day.items():
            stamp = now - datetime.timedelta(days=days, minutes=rng.randrange(600))
            for start in range(0, len(pks), BATCH):
                ours.filter(pk__in=pks[start : start + BATCH]).update(last_followup_at=stamp)
        for level, pks in by_level.items():
            for start in range(0, len(pks), BATCH):
                ours.filter(pk__in=pks[start : start + BATCH]).update(level=level)
        won = sorted(ordered)
        for start in range(0, len(won), BATCH):
            ours.filter(pk__in=won[start : start + BATCH]).update(
                status=CustomerStatus.WON, won_at=models.F("created_at")
            )
        # Customers without a deal were handed to their current owner within the deal
        # rule's 180 days (a rep does not hold a dead customer for years).
        recent = now - datetime.timedelta(days=170)
        stale = list(
            ours.exclude(status=CustomerStatus.WON)
            .filter(owner_since__lt=recent)
            .values_list("pk", flat=True)
        )
        buckets: dict[int, list[int]] = {}
        for pk in stale:
            buckets.setdefault(rng.randrange(20, 170, 10), []).append(pk)
        for days, pks in buckets.items():
            stamp = now - datetime.timedelta(days=days)
            for start in range(0, len(pks), BATCH):
                ours.filter(pk__in=pks[start : start + BATCH]).update(owner_since=stamp)
        # A few customers without orders are in their region's pool already.
        free = [c for c in self.customers if c[0] not in ordered and c[0] > self.customers[3][0]]
        released = rng.sample(free, min(len(free), max(3, len(self.customers) // 25)))
        entries, moves = [], []
        for pk, owner, dept, _source in released:
            pool = pools.get(team_region.get(dept, 0), default)
            at = now - datetime.timedelta(days=rng.randrange(1, 40), minutes=rng.randrange(600))
            reason = rng.choice(POOL_REASONS)
            entries.append(
                PoolCustomer(
                    customer_id=pk, pool=pool, entered_at=at, former_owner_id=owner, reason=reason
                )
            )
            moves.append(
                PoolMove(
                    customer_id=pk,
                    pool=pool,
                    kind=PoolMoveKind.RELEASE,
                    employee_id=owner,
                    at=at,
                    rule=reason,
                )
            )
        PoolCustomer.objects.bulk_create(entries)
        PoolMove.objects.bulk_create(moves)
        ours.filter(pk__in=[r[0] for r in released]).update(owner=None, owner_since=None)
        self._say(_("公海"), pools=len(pools) + 1, pool_customers=len(released))

    def _followups(self) -> None:
        """Each customer's contacts (a decision maker, sometimes a second person) and its
        follow-up history: the latest at its ``last_followup_at``, a few earlier ones, and
        for some a planned next step (a few due today, so the reminders have work). Its own
        generator, like the pools."""
        rng = random.Random(f"followups-{self.seed}")
        today = self.today
        rows = Customer.objects.filter(code__startswith="KH").values_list(
            "pk", "owner_id", "last_followup_at", "created_at"
        )
        former = dict(PoolCustomer.objects.values_list("customer_id", "former_owner_id"))
        contacts: list[Contact] = []
        for pk, _owner, _last, _created in rows:
            contacts.append(
                Contact(
                    customer_id=pk,
                    name=names.person_name(rng),
                    phone=names.mobile(rng),
                    title=rng.choice(CONTACT_TITLES[:3]),
                    decision_maker=True,
                )
            )
            if rng.random() < 0.4:
                contacts.append(
                    Contact(
                        customer_id=pk,
                        name=names.person_name(rng),
                        phone=names.mobile(rng),
                        title=rng.choice(CONTACT_TITLES[3:]),
                    )
                )
        for c in contacts:  # the 查重 keys, as save() would set them
            c.phone_key, c.email_key = phone_key(c.phone), email_key(c.email)
        Contact.objects.bulk_create(contacts, batch_size=BATCH)
        first_contact = dict(
            Contact.objects.filter(
                decision_maker=True, customer__code__startswith="KH"
            ).values_list("customer_id", "pk")
        )
        activities: list[Activity] = []
        for pk, owner, last, created in rows:
            employee = owner or former.get(pk)
            if employee is None or last is None:
                continue
            stamps = [last]
            for _i in range(rng.choice((0, 1, 1, 2, 3))):
                back = stamps[-1] - datetime.timedelta(
                    days=rng.randrange(5, 40), hours=rng.randrange(8)
                )
                if back > created:
                    stamps.append(back)
            for i, at in enumerate(reversed(stamps)):
                latest = i == len(stamps) - 1
                step, on = "", None
                if rng.random() < (0.45 if latest else 0.6):
                    step = rng.choice(NEXT_STEPS)
                    on = (at + datetime.timedelta(days=rng.randrange(1, 15))).date()
                    if latest and owner is not None and on < today:
                        on = today  # a step still open is due today at the latest
                activities.append(
                    Activity(
                        customer_id=pk,
                        contact_id=first_contact.get(pk) if rng.random() < 0.7 else None,
                        kind=rng.choices(ACTIVITY_KINDS, (40, 20, 25, 8, 7))[0],
                        content=rng.choice(FOLLOWUP_TEXTS),
                        next_step=step,
                        next_on=on,
                        done=not latest and on is not None,
                        reminded=not latest and on is not None,
                        employee_id=employee,
                        at=at,
                    )
                )
        Activity.objects.bulk_create(activities, batch_size=BATCH)
        by_day: dict[datetime.date, list[int]] = {}
        for a in activities:
            if not a.done and a.next_on and a.customer_id:
                by_day.setdefault(a.next_on, []).append(a.customer_id)
        for on, pks in by_day.items():
            for start in range(0, len(pks), BATCH):
                Customer.objects.filter(pk__in=pks[start : start + BATCH]).update(
                    next_followup_on=on
                )
        self._say(_("联系人与跟进记录"), contacts=len(contacts), followups=len(activities))

    def _opportunities(self) -> None:
        """A pipeline: about a third of the owned customers have an opportunity in one
        of the default process's stages (more early than late), some ended — won for
        customers with orders, lost with a reason — each with its stage history."""
        rng = random.Random(f"opportunities-{self.seed}")
        group = StageGroup.objects.get(is_default=True)
        stages = list(group.stages.order_by("order"))
        now = _stamp(self.today, 9 * 60)
        won_customers = set(
            Customer.objects.filter(code__startswith="KH", status=CustomerStatus.WON).values_list(
                "pk", flat=True
            )
        )
        rows = list(
            Customer.objects.filter(code__startswith="KH", owner__isnull=False).values_list(
                "pk", "name", "owner_id", "department_id"
            )
        )
        opps: list[Opportunity] = []
        created_at: dict[str, datetime.datetime] = {}
        per_day: dict[datetime.date, int] = {}
        for pk, name, owner, dept in rows:
            if rng.random() > 0.35:
                continue
            created = now - datetime.timedelta(days=rng.randrange(3, 150), hours=rng.randrange(9))
            day = timezone.localdate(created)
            per_day[day] = per_day.get(day, 0) + 1
            stage = stages[min(len(stages) - 1, int(rng.random() ** 1.6 * len(stages)))]
            status = OpportunityStatus.OPEN
            reason = ""
            if pk in won_customers and rng.random() < 0.3:
                status = OpportunityStatus.WON
            elif rng.random() < 0.12:
                status, reason = OpportunityStatus.LOST, rng.choice(LOST_REASONS)
            code = f"SJ{day:%Y%m%d}{per_day[day]:04d}"
            created_at[code] = created
            opps.append(
                Opportunity(
                    code=code,
                    name=f"{name} · {rng.choice(OPPORTUNITY_TOPICS)}",
                    customer_id=pk,
                    owner_id=owner,
                    department_id=dept,
                    group=group,
                    stage=stage,
                    status=status,
                    amount=Decimal(rng.randrange(20, 800) * 500),
                    close_on=self.today + datetime.timedelta(days=rng.randrange(-20, 120)),
                    lost_reason=reason,
                    closed_at=min(now, created + datetime.timedelta(days=6))
                    if status != OpportunityStatus.OPEN
                    else None,
                )
            )
        Opportunity.objects.bulk_create(opps, batch_size=BATCH)
        saved = list(
            Opportunity.objects.filter(code__in=list(created_at)).values_list(
                "pk", "code", "stage_id", "status"
            )
        )
        for pk, code, _stage, _status in saved:  # auto_now_add wrote the build's time
            Opportunity.objects.filter(pk=pk).update(
                created_at=created_at[code], updated_at=created_at[code]
            )
        first = stages[0].pk
        changes = []
        for pk, code, stage_id, ended in saved:
            at = created_at[code]
            changes.append(
                StageChange(opportunity_id=pk, to_stage_id=first, to_status="open", at=at)
            )
            if stage_id != first:
                changes.append(
                    StageChange(
                        opportunity_id=pk,
                        from_stage_id=first,
                        to_stage_id=stage_id,
                        from_status="open",
                        to_status="open",
                        at=min(now, at + datetime.timedelta(days=3)),
                    )
                )
            if ended != "open":
                changes.append(
                    StageChange(
                        opportunity_id=pk,
                        from_stage_id=stage_id,
                        to_stage_id=stage_id,
                        from_status="open",
                        to_status=ended,
                        at=min(now, at + datetime.timedelta(days=6)),
                    )
                )
        StageChange.objects.bulk_create(changes, batch_size=BATCH)
        self._say(_("商机"), opportunities=len(opps))

    def _deals(self) -> None:
        """Quotes, contracts, plans and receipts behind the pipeline: a quote for the open
        opportunities at 方案报价 or later; a signed contract for each won one with a plan
        of two or three instalments and the receipts confirmed so far (a few overdue). Then
        rep1's own documents go through the services, so the demo logins find work in the
        approval inbox: a quote beyond the rep's discount limit for manager1, a contract to
        approve, a receipt for finance to confirm."""
        rng = random.Random(f"deals-{self.seed}")
        now = _stamp(self.today, 10 * 60)
        product_ids = [pk for pk, _list, _member in self.prices]
        list_price = {pk: lp for pk, lp, _member in self.prices}
        opps = list(
            Opportunity.objects.filter(customer__code__startswith="KH")
            .exclude(status__in=(OpportunityStatus.LOST, OpportunityStatus.INVALID))
            .select_related("stage")
            .order_by("id")
        )
        seq: dict[tuple[str, datetime.date], int] = {}

        def number(prefix: str, day: datetime.date) -> str:
            seq[(prefix, day)] = seq.get((prefix, day), 0) + 1
            return f"{prefix}{day:%Y%m%d}{seq[(prefix, day)]:04d}"

        quotes: list[Quote] = []
        lines: dict[str, list[QuoteLine]] = {}
        contracts: list[Contract] = []
        for opp in opps:
            won = opp.status == OpportunityStatus.WON
            if not won and opp.stage.probability < 50:
                continue
            day = self.today - datetime.timedelta(days=rng.randrange(2, 60 if not won else 300))
            qty = Decimal(rng.randrange(5, 60))
            product = rng.choice(product_ids)
            unit = round_money(
                list_price[product] * Decimal(rng.choice((100, 95, 92, 90, 88))) / 100
            )
            total = round_money(unit * qty)
            no = number("BJ", day)
            status = (
                QuoteStatus.ACCEPTED
                if won
                else rng.choice(
                    (QuoteStatus.APPROVED, QuoteStatus.SENT, QuoteStatus.SENT, QuoteStatus.DECLINED)
                )
            )
            quotes.append(
                Quote(
                    quote_no=no, customer_id=opp.customer_id, owner_id=opp.owner_id,
                    department_id=opp.department_id, title=opp.name, status=status,
                    quote_date=day, valid_until=day + datetime.timedelta(days=30),
                    list_total=round_money(list_price[product] * qty), total_amount=total,
                    discount=round_money((1 - unit / list_price[product]) * 100),
                    approved_at=_stamp(day, 11 * 60), sent_at=_stamp(day, 15 * 60)
                    if status != QuoteStatus.APPROVED else None,
                )
            )  # fmt: skip
            lines[no] = [
                QuoteLine(product_id=product, quantity=qty, list_price=list_price[product],
                          unit_price=unit, amount=total)
            ]  # fmt: skip
            if won:
                start = day + datetime.timedelta(days=rng.randrange(3, 15))
                start = min(start, self.today)
                end = start + datetime.timedelta(days=rng.choice((180, 365, 365)))
                state = ContractStatus.FULFILLING if start <= self.today else ContractStatus.SIGNED
                if end < self.today:
                    state = ContractStatus.COMPLETED
                contracts.append(
                    Contract(
                        contract_no=number("HT", start), name=opp.name,
                        customer_id=opp.customer_id, owner_id=opp.owner_id,
                        department_id=opp.department_id, status=state, amount=total,
                        start_on=start, end_on=end, signed_on=start,
                        customer_signatory=names.person_name(rng), our_signatory_id=opp.owner_id,
                        quote=None, campaign_code=no,  # the quote is linked below
                    )
                )  # fmt: skip
        Quote.objects.bulk_create(quotes, batch_size=BATCH)
        quote_pk = dict(
            Quote.objects.filter(quote_no__in=list(lines)).values_list("quote_no", "pk")
        )
        QuoteLine.objects.bulk_create(
            [ln for no, rows in lines.items() for ln in rows for ln.quote_id in [quote_pk[no]]],
            batch_size=BATCH,
        )
        for c in contracts:
            c.quote_id, c.campaign_code = quote_pk[c.campaign_code], ""
        Contract.objects.bulk_create(contracts, batch_size=BATCH)
        plans: list[ReceivablePlan] = []
        receipts: list[Receipt] = []
        received: dict[int, Decimal] = {}
        saved = Contract.objects.filter(contract_no__in=[c.contract_no for c in contracts])
        for c in saved.order_by("id"):
            n = rng.choice((2, 3))
            parts = [round_money(c.amount / n)] * (n - 1)
            parts.append(c.amount - sum(parts))
            span = max(1, (c.end_on - c.start_on).days)
            for i, amount in enumerate(parts, start=1):
                due = c.start_on + datetime.timedelta(days=span * (i - 1) // n + 10)
                paid = amount if due <= self.today and rng.random() < 0.8 else Decimal(0)
                if c.status == ContractStatus.COMPLETED:
                    paid = amount
                plans.append(ReceivablePlan(contract=c, period=i, due_on=due, amount=amount,
                                            received=paid))  # fmt: skip
                if paid:
                    on = min(self.today, due + datetime.timedelta(days=rng.randrange(-3, 8)))
                    receipts.append(
                        Receipt(
                            receipt_no=number("HK", on), contract=c, customer_id=c.customer_id,
                            owner_id=c.owner_id, department_id=c.department_id,
                            received_on=on, amount=paid,
                            method=rng.choice((ReceiptMethod.BANK, ReceiptMethod.BANK,
                                               ReceiptMethod.WECHAT, ReceiptMethod.ALIPAY)),
                            status=ReceiptStatus.APPROVED, confirmed_at=_stamp(on, 16 * 60),
                        )
                    )  # fmt: skip
                    received[c.pk] = received.get(c.pk, Decimal(0)) + paid
        ReceivablePlan.objects.bulk_create(plans, batch_size=BATCH)
        by_key = {(p.contract_id, p.period): p.pk for p in ReceivablePlan.objects.filter(
            contract__in=saved)}  # fmt: skip
        period: dict[int, int] = {}
        for r in receipts:  # each receipt pays the next instalment of its contract
            period[r.contract_id] = period.get(r.contract_id, 0) + 1
            r.plan_id = by_key[(r.contract_id, period[r.contract_id])]
        Receipt.objects.bulk_create(receipts, batch_size=BATCH)
        for pk, total in received.items():
            Contract.objects.filter(pk=pk).update(received_amount=total)
        self._rep1_deals(now)
        self._say(
            _("报价、合同与回款"),
            quotes=Quote.objects.count(),
            contracts=Contract.objects.count(),
            receipts=Receipt.objects.count(),
        )

    def _rep1_deals(self, now: datetime.datetime) -> None:
        from salesops.sales.services import contracts as contract_svc
        from salesops.sales.services import quotes as quote_svc
        from salesops.sales.services.receipts import ReceiptInput, receipt_create

        rep = self.users["rep1"]
        mine = list(
            Customer.objects.filter(owner=self.rep1, code__startswith="KH").order_by("id")[:3]
        )
        if len(mine) < 3:
            return
        products = list(Product.objects.filter(pk__in=[pk for pk, _l, _m in self.prices[:3]]))
        big, small, third = mine
        line = quote_svc.QuoteLineInput
        pending = quote_svc.quote_create(
            actor=rep,
            customer=big,
            data=quote_svc.QuoteInput(
                title=_("%(c)s 年度采购报价") % {"c": big.name},
                lines=[line(products[0], Decimal(40), round_money(
                    self._list_price(products[0]) * Decimal("0.78")))],
                contact_name=names.person_name(self.rng),
            ),
        )  # fmt: skip
        quote_svc.quote_submit(actor=rep, quote=pending)  # 22 %: waits for manager1
        ok = quote_svc.quote_create(
            actor=rep,
            customer=small,
            data=quote_svc.QuoteInput(
                title=_("%(c)s 新品试销报价") % {"c": small.name},
                lines=[line(products[1], Decimal(12)), line(products[2], Decimal(6))],
            ),
        )
        quote_svc.quote_submit(actor=rep, quote=ok)
        accepted = quote_svc.quote_accept(
            actor=rep, quote=ok, into="contract", start_on=self.today - datetime.timedelta(days=5)
        )
        assert accepted.contract_id is not None
        contract = Contract.objects.get(pk=accepted.contract_id)
        request = contract_svc.contract_submit(actor=rep, contract=contract)
        from salesops.core.approvals import approval_act
        from salesops.core.approvals.selectors import pending_task_for

        task = pending_task_for(request, self.users["manager1"])
        if task is None:
            return
        approval_act(actor=self.users["manager1"], task_id=task.pk, action="approve")
        contract_svc.contract_sign(
            actor=rep,
            contract=contract,
            signed_on=self.today - datetime.timedelta(days=5),
            customer_signatory=names.person_name(self.rng),
            our_signatory=self.rep1,
        )
        half = round_money(contract.amount / 2)
        (first, _second) = contract_svc.plans_add(
            actor=rep,
            contract=contract,
            plans=[
                contract_svc.PlanInput(self.today - datetime.timedelta(days=1), half),
                contract_svc.PlanInput(self.today + datetime.timedelta(days=60),
                                       contract.amount - half),
            ],
        )  # fmt: skip
        receipt_create(
            actor=rep,
            contract=contract,
            data=ReceiptInput(received_on=self.today, amount=half,
                              method=ReceiptMethod.BANK, plan=first),
        )  # fmt: skip
        draft = contract_svc.contract_create(
            actor=rep,
            customer=third,
            data=contract_svc.ContractInput(
                name=_("%(c)s 年度供货合同") % {"c": third.name},
                start_on=self.today + datetime.timedelta(days=7),
                end_on=self.today + datetime.timedelta(days=372),
                amount=Decimal("86000.00"),
            ),
        )
        contract_svc.contract_submit(actor=rep, contract=draft)

    def _list_price(self, product: Product) -> Decimal:
        return next(lp for pk, lp, _m in self.prices if pk == product.pk)

    # -- the member network ------------------------------------------------------------

    def _members(self) -> None:
        rng = self.rng
        n = self._n(MEMBERS, 50)
        roots = max(2, round(6 * math.sqrt(self.scale)))
        since = _shift_months(self.first_month, -MEMBERS_BEFORE)
        span = (self.today - since).days
        # Joining accelerates over the three years (density grows towards today).
        offsets = sorted(int(span * rng.random() ** 0.75) for _i in range(n - roots))
        joined = [since + datetime.timedelta(days=d) for d in [0] * roots + offsets]
        plans: list[_MemberPlan] = []
        # Preferential attachment (a member appears once, plus once per recruit) gives the
        # usual shape — most members leaves, a few big legs; short "chains" of one recruit
        # after another give the deep legs (depth ~25 at full scale).
        slots: list[int] = []
        tip, chain_left = -1, 0
        kids, depth = [0] * n, [0] * n
        for i in range(n):
            sponsor: int | None = None
            if i >= roots:
                if tip >= 0 and rng.random() < 0.04:
                    sponsor, tip = tip, i
                    chain_left -= 1
                    if chain_left == 0:
                        tip = -1
                else:
                    sponsor = slots[rng.randrange(len(slots))]
                    if tip < 0:
                        tip, chain_left = i, rng.randint(5, 12)
                while depth[sponsor] >= MAX_DEPTH:  # no leg deeper than MAX_DEPTH
                    sponsor = plans[sponsor].sponsor or 0
                depth[i] = depth[sponsor] + 1
                if tip == i and depth[i] >= MAX_DEPTH:
                    tip = -1
                kids[sponsor] += 1
                slots.append(sponsor)
                # Servicing follows the sponsor line, mostly.
                if rng.random() < 0.85:
                    owner_id = plans[sponsor].owner_id
                else:
                    owner_id = self.reps[rng.randrange(len(self.reps))].employee.pk
            else:
                owner_id = self.reps[rng.randrange(len(self.reps))].employee.pk
            slots.append(i)
            plans.append(_MemberPlan(f"HY{i + 1:08d}", sponsor, joined[i], owner_id))

        # Subtree sizes (sponsors always come before their recruits).
        size = [1] * n
        for i in range(n - 1, -1, -1):
            s = plans[i].sponsor
            if s is not None:
                size[s] += size[i]

        # Titles: leaders are the members with the biggest organisations.
        by_size = sorted(
            range(n), key=lambda i: (-(kids[i] * 3 + math.log(size[i])) - rng.random(), i)
        )
        quota = [
            (Rank.SD, 1 if n < 5000 else 2),
            (Rank.SSM, round(n * 0.0004)),
            (Rank.SM, max(1, round(n * 0.0008))),
            (Rank.SSE, round(n * 0.02)),
            (Rank.SE, round(n * 0.05)),
        ]
        pos = 0
        for rank, count in quota:
            for i in by_size[pos : pos + count]:
                plans[i].title = rank
            pos += count
        rest = [i for i in range(n) if not plans[i].title]
        # SRs: older members and those who recruit are likelier to qualify.
        weights = [1.0 + kids[i] + (self.today - plans[i].joined_on).days / 365 for i in rest]
        for i in self._weighted_sample(rest, weights, round(n * 0.20)):
            plans[i].title = Rank.SR

        # About 5 % stop; never a leader of SM and above, never the showcase member.
        self.member1 = max(
            (i for i in range(n) if plans[i].title == Rank.SM), key=lambda i: (size[i], -i)
        )
        # rep1 services the showcase member's organisation (where its old owner did), so
        # rep1, manager1 and director all see part of the network.
        m1 = self.member1
        old_owner, in_sub = plans[m1].owner_id, [False] * n
        for i in range(m1, n):
            s = plans[i].sponsor
            in_sub[i] = i == m1 or (s is not None and in_sub[s])
            if in_sub[i] and plans[i].owner_id == old_owner:
                plans[i].owner_id = self.rep1.pk
        leaders = {Rank.SM, Rank.SSM, Rank.SD}
        candidates = [i for i in range(n) if plans[i].title not in leaders and i != self.member1]
        for i in rng.sample(candidates, round(n * 0.05)):
            first = max(0, self._month_index(plans[i].joined_on) + 1)
            plans[i].terminated_month = rng.randint(first, MONTHS) if first <= MONTHS else MONTHS
        for p in plans:
            p.aro = bool(p.title) or rng.random() < 0.25

        names_list = [names.person_name(rng) for _i in range(n)]
        phones = [names.mobile(rng) for _i in range(n)]
        seeds = [
            MemberSeed(
                member_no=p.member_no,
                name=names_list[i],
                joined_on=p.joined_on,
                sponsor_no=plans[p.sponsor].member_no if p.sponsor is not None else "",
                phone=phones[i],
                status=(
                    MemberStatus.TERMINATED
                    if p.terminated_month is not None
                    else MemberStatus.ACTIVE
                ),
                title=p.title,
                owner_id=p.owner_id,
            )
            for i, p in enumerate(plans)
        ]
        members_bulk_create(actor=None, seeds=seeds, batch_size=BATCH)
        ids = dict(Member.objects.filter(member_no__startswith="HY").values_list("member_no", "pk"))
        for p in plans:
            p.pk = ids[p.member_no]
        self.plans = plans
        showcase = plans[self.member1]
        Member.objects.filter(pk=showcase.pk).update(user=self.users["member1"])
        self.users["member1"].display_name = names_list[self.member1]
        self.users["member1"].save(update_fields=["display_name"])
        deepest = Member.objects.filter(member_no__startswith="HY").aggregate(
            d=models.Max("depth")
        )["d"]
        self._say(
            _("会员网络"),
            members=n,
            max_depth=deepest or 0,
            titled=sum(1 for p in plans if p.title),
            member1_downline=size[self.member1] - 1,
        )

    def _weighted_sample(self, items: list[int], weights: list[float], k: int) -> list[int]:
        """k distinct items, likelier with more weight (Efraimidis–Spirakis keys)."""
        keyed = sorted(
            ((self.rng.random() ** (1.0 / w), i) for i, w in zip(items, weights, strict=True)),
            reverse=True,
        )
        return [i for _key, i in keyed[:k]]

    def _month_index(self, d: datetime.date) -> int:
        first = self.first_month
        return (d.year - first.year) * 12 + d.month - first.month

    # -- orders ------------------------------------------------------------------------

    def _target_pv(self, title: str) -> int:
        """This month's personal volume for a member with ``title`` (0 = buys nothing)."""
        rng = self.rng
        r = rng.random()
        if title == Rank.SR:
            if r < 0.70:
                return rng.randint(13_000, 20_000)
            return rng.randint(5_000, 12_999) if r < 0.92 else 0
        if title in (Rank.SE, Rank.SSE):
            return rng.randint(15_000, 26_000) if r < 0.78 else rng.randint(6_000, 14_999)
        if title:
            return rng.randint(15_000, 36_000) if r < 0.88 else rng.randint(9_000, 14_999)
        if r < 0.30:
            return int(min(8_000, max(100, rng.lognormvariate(6.6, 0.7))))
        return 0

    def _lines(self, target: Decimal, n_lines: int, member: bool) -> list[tuple[int, int, Decimal]]:
        """(product id, quantity, unit price) lines adding up to roughly ``target``."""
        rng = self.rng
        out = []
        remaining = target
        for k in range(n_lines, 0, -1):
            alloc = remaining / k
            # Big amounts are bought as dearer goods, not as 200 tubes of toothpaste.
            pool = [p for p in self.prices if (p[2] if member else p[1]) * 25 >= alloc]
            pid, list_price, member_price = (
                pool[rng.randrange(len(pool))] if pool else max(self.prices, key=lambda p: p[1])
            )
            price = member_price if member else list_price
            qty = max(1, min(99, round(alloc / price)))
            out.append((pid, qty, price))
            remaining -= price * qty
            if remaining <= 0:
                break
        return out

    def _orders(self) -> None:
        rng = self.rng
        self._order_seq: dict[datetime.date, int] = {}
        self._return_pool: list[tuple[int, int, Decimal, Decimal, datetime.date]] = []
        line_count = order_count = 0
        owner_dept = {s.employee.pk: s.employee.department_id for s in self.employees}
        customer_rate = {"老客户": 0.45, "转介绍": 0.3}
        for m, start in enumerate(self.months):
            end = min(_month_end(start), self.today)
            days = end.day
            # The current month is under way: its share of the month gone by.
            so_far = days / _month_end(start).day
            drafts: list[tuple[datetime.date, int, dict[str, object], list]] = []
            for i, p in enumerate(self.plans):
                if p.joined_on > end or (
                    p.terminated_month is not None and m >= p.terminated_month
                ):
                    continue
                target = self._target_pv(p.title)
                # Under way: the members who have ordered so far, a month's volume each
                # (the showcase member always has, so member1's home page shows this month).
                if so_far < 1 and i != self.member1 and rng.random() >= so_far:
                    continue
                # The sales rep who services the member is credited too (as for a
                # customer's order), so reps' and managers' figures include member sales.
                base = {
                    "member_id": p.pk,
                    "credited_member_id": p.pk,
                    "credited_employee_id": p.owner_id,
                    "department_id": owner_dept[p.owner_id],
                }
                first_day = p.joined_on.day if p.joined_on >= start else 1
                # The autoship goes out on the 5th: not yet, early in the current month.
                if p.aro and (p.title or rng.random() < 0.85) and max(5, first_day) <= days:
                    aro = Decimal(
                        rng.randint(15, 30) * 100 if p.title else rng.randint(3, 15) * 100
                    )
                    if target:
                        aro = min(aro, Decimal(target))
                    lines = self._lines(aro, rng.randint(1, 2), member=True)
                    day = max(5, first_day)
                    drafts.append(
                        (
                            start.replace(day=day),
                            len(drafts),
                            {**base, "kind": OrderKind.ARO},
                            lines,
                        )
                    )
                    target -= int(sum(q * pr for _pid, q, pr in lines))
                if target > 50:
                    n_orders = 1 if target < 8_000 else rng.randint(1, 2)
                    for k in range(n_orders):
                        amount = Decimal(target) / (n_orders - k)
                        lines = self._lines(
                            amount, 1 if amount < 600 else rng.randint(2, 3), member=True
                        )
                        target -= int(sum(q * pr for _pid, q, pr in lines))
                        day = rng.randint(first_day, days)
                        drafts.append(
                            (
                                start.replace(day=day),
                                len(drafts),
                                {**base, "kind": OrderKind.REGULAR},
                                lines,
                            )
                        )
                        if target <= 50:
                            break
            for cid, owner_id, dept_id, source in self.customers:
                if rng.random() >= customer_rate.get(source, 0.2) * so_far:
                    continue
                lines = self._customer_lines()
                drafts.append(
                    (
                        start.replace(day=rng.randint(1, days)),
                        len(drafts),
                        {
                            "customer_id": cid,
                            "credited_employee_id": owner_id,
                            "department_id": dept_id,
                            "kind": OrderKind.REGULAR,
                        },
                        lines,
                    )
                )
            drafts.sort(key=lambda d: (d[0], d[1]))
            o, ln = self._insert_orders(drafts)
            # Entered in the morning of the order date (auto_now_add used the build time).
            for order_day in sorted({d[0] for d in drafts}):
                Order.objects.filter(order_date=order_day, order_no__startswith="SO").update(
                    created_at=_stamp(order_day, 10 * 60)
                )
            order_count += o
            line_count += ln
        self.order_count = order_count
        self._say(_("订单（12个月）"), orders=order_count, order_lines=line_count)

    def _customer_lines(self) -> list[tuple[int, int, Decimal]]:
        rng = self.rng
        out = []
        for pid, list_price, _member in rng.sample(self.prices, rng.randint(1, 3)):
            out.append((pid, rng.randint(1, 3) if list_price < 1000 else 1, list_price))
        return out

    def _insert_orders(self, drafts: list) -> tuple[int, int]:
        rng = self.rng
        orders, lines_by_order = [], []
        for day, _idx, fields, lines in drafts:
            seq = self._order_seq.get(day, 0) + 1
            self._order_seq[day] = seq
            amounts = [round_money(Decimal(q) * price) for _pid, q, price in lines]
            orders.append(
                Order(
                    order_no=f"SO{day:%Y%m%d}{seq:04d}",
                    order_date=day,
                    status=OrderStatus.CANCELLED if rng.random() < 0.005 else OrderStatus.CONFIRMED,
                    total_amount=sum(amounts, Decimal("0.00")),
                    **fields,
                )
            )
            lines_by_order.append((lines, amounts))
        n_lines = 0
        for start in range(0, len(orders), BATCH):
            chunk = orders[start : start + BATCH]
            Order.objects.bulk_create(chunk)
            line_rows = []
            for order, (lines, amounts) in zip(
                chunk, lines_by_order[start : start + BATCH], strict=True
            ):
                for (pid, qty, price), amount in zip(lines, amounts, strict=True):
                    line_rows.append(
                        OrderLine(
                            order_id=order.pk,
                            product_id=pid,
                            quantity=Decimal(qty),
                            unit_price=price,
                            amount=amount,
                        )
                    )
            for ls in range(0, len(line_rows), BATCH):
                OrderLine.objects.bulk_create(line_rows[ls : ls + BATCH])
            n_lines += len(line_rows)
            # Keep a sample of confirmed lines as return candidates.
            by_pk = {o.pk: o for o in chunk}
            for line in line_rows[::200]:
                order = by_pk[line.order_id]
                if order.status == OrderStatus.CONFIRMED:
                    self._return_pool.append(
                        (order.pk, line.pk, line.quantity, line.unit_price, order.order_date)
                    )
        return len(orders), n_lines

    # -- returns -----------------------------------------------------------------------

    def _returns(self) -> None:
        rng = self.rng
        reasons = ("质量问题", "客户不满意", "发错货", "包装破损", "过敏反应", "重复下单")
        pool = list({c[0]: c for c in self._return_pool}.values())  # one line per order
        chosen = rng.sample(pool, min(len(pool), self._n(RETURNS, 5)))
        chosen.sort(key=lambda c: (c[4], c[0]))
        seq: dict[datetime.date, int] = {}
        returns, lines, refunds = [], [], {}
        for order_id, line_id, qty, price, order_date in chosen:
            day = min(self.today, order_date + datetime.timedelta(days=rng.randint(2, 30)))
            seq[day] = seq.get(day, 0) + 1
            back = Decimal(rng.randint(1, int(qty)))
            amount = round_money(back * price)
            returns.append(
                Return(
                    return_no=f"RT{day:%Y%m%d}{seq[day]:04d}",
                    original_order_id=order_id,
                    return_date=day,
                    reason=rng.choice(reasons),
                    total_amount=amount,
                )
            )
            lines.append((line_id, back, amount))
            refunds[order_id] = amount
        Return.objects.bulk_create(returns)
        for r in returns:
            r.created_at = _stamp(r.return_date, rng.randrange(9 * 60, 18 * 60))
        Return.objects.bulk_update(returns, ["created_at"], batch_size=500)
        ReturnLine.objects.bulk_create(
            [
                ReturnLine(ret_id=r.pk, order_line_id=line_id, quantity=back, amount=amount)
                for r, (line_id, back, amount) in zip(returns, lines, strict=True)
            ]
        )
        Order.objects.bulk_update(
            [Order(pk=oid, returned_amount=amount) for oid, amount in refunds.items()],
            ["returned_amount"],
            batch_size=500,
        )
        self._say(_("退货"), returns=len(returns))

    # -- approvals ---------------------------------------------------------------------

    def _approvals(self) -> None:
        flows = 0
        if not ApprovalFlow.objects.filter(doc_type=SPONSOR_CHANGE).exists():
            approval_flow_create(
                actor=None,
                doc_type=SPONSOR_CHANGE,
                name=_("推荐人变更审批"),
                steps=[
                    StepSpec(name=_("销售经理审批"), role=self.roles[RoleCode.MANAGER]),
                    StepSpec(name=_("销售总监审批"), role=self.roles[RoleCode.DIRECTOR]),
                ],
            )
            flows += 1
        pending = self._pending_sponsor_change()
        self._say(_("审批流程"), approval_flows=flows, pending_requests=pending)

    def _pending_sponsor_change(self) -> int:
        """One request in manager1's inbox: rep1 asks to move one of their members."""
        mine = [
            p for p in self.plans
            if p.owner_id == self.rep1.pk and p.sponsor is not None and p.terminated_month is None
        ]  # fmt: skip
        if not mine:
            return 0
        member = Member.objects.get(pk=mine[-1].pk)
        lo = member.path
        new_sponsor = (
            Member.objects.filter(status=MemberStatus.ACTIVE, member_no__startswith="HY")
            .exclude(pk=member.sponsor_id or 0)
            .exclude(path__gte=lo, path__lt=lo + "~")
            .order_by("member_no")
            .first()
        )
        if new_sponsor is None:
            return 0
        try:
            sponsor_change_request_submit(
                actor=self.users["rep1"],
                member=member,
                new_sponsor=new_sponsor,
                effective_on=_shift_months(self.today, 1),
                reason=_("会员搬迁至新推荐人所在城市，申请由其就近辅导"),
            )
        except ServiceError as exc:
            self.out("    " + _("未能提交推荐人变更申请：%(msg)s") % {"msg": exc.message})
            return 0
        return 1

    def _after_sales(self) -> None:
        """After-sales (售后): the visit rules (the migration's two contract rules and one
        on orders), the visit tasks the rule job plans — most past ones logged with a
        satisfaction —, complaints (some overdue and escalated to the owner's manager,
        some resolved and waiting for the customer, some closed, one reopened) and
        customer feedback; rep1 always has a visit due and an overdue complaint."""
        from salesops.crm.models import (
            Complaint,
            Feedback,
            ReturnVisit,
            VisitRule,
            VisitStatus,
        )
        from salesops.crm.services import complaints as complaint_svc
        from salesops.crm.services.visits import visit_schedule

        rng = random.Random(f"after-sales-{self.seed}")
        now = timezone.now()
        for name, source, days in (
            (_("合同开始后7天回访"), "contract", 7),
            (_("合同开始后30天回访"), "contract", 30),
            (_("订单下单后7天回访"), "order", 7),
        ):
            VisitRule.objects.get_or_create(source=source, days=days, defaults={"name": name})
        visit_schedule(now)
        owned = list(
            Customer.objects.filter(code__startswith="KH", owner__isnull=False)
            .select_related("owner")
            .order_by("id")
        )
        mine = [c for c in owned if c.owner_id == self.rep1.pk]
        # rep1's customers: one visit due today even without a contract or a recent order.
        for customer in mine[:2]:
            ReturnVisit.objects.create(
                customer=customer, owner=self.rep1, department_id=self.rep1.department_id,
                due_on=self.today, form="phone",
            )  # fmt: skip
        outcomes = (
            (5, _("客户对产品和服务都很满意，计划下季度追加订货。")),
            (4, _("设备运行正常，客户希望再安排一次使用培训。")),
            (4, _("到货及时，包装完好，客户表示满意。")),
            (3, _("客户认为价格偏高，其余无意见。")),
            (2, _("客户反映售后响应慢，已转客服跟进。")),
            (1, _("客户对安装质量不满意，已登记投诉。")),
        )
        forms = ("phone", "phone", "wechat", "onsite")
        done = []
        for v in ReturnVisit.objects.filter(
            status=VisitStatus.PENDING, due_on__lt=self.today - datetime.timedelta(days=1)
        ).order_by("id"):
            if rng.random() < 0.7:
                score, text = outcomes[min(len(outcomes) - 1, int(rng.random() ** 1.8 * 6))]
                v.status, v.form, v.satisfaction, v.outcome = "done", rng.choice(forms), score, text
                v.visited_by_id = v.owner_id
                v.visited_at = _stamp(v.due_on, 9 * 60 + rng.randrange(480))  # type: ignore[arg-type]
                done.append(v)
        ReturnVisit.objects.bulk_update(
            done, ["status", "form", "satisfaction", "outcome", "visited_by", "visited_at"]
        )
        # Complaints: through the service, then moved back in time so some are overdue.
        topics = (
            ("delivery", _("到货外箱破损"), _("收到的货物外箱破损，部分产品受潮。")),
            ("product", _("产品使用后过敏"), _("客户使用护肤品后出现轻微过敏，要求退换。")),
            ("service", _("客服电话无人接听"), _("连续两天拨打客服电话无人接听。")),
            ("billing", _("发票抬头错误"), _("发票抬头开错，需要重开。")),
            ("after_sales", _("上门安装迟到"), _("安装师傅比约定时间晚到三小时。")),
        )
        picks = mine[:1] + rng.sample(owned, min(len(owned), self._n(24, 6)))
        made: list[Complaint] = []
        for i, customer in enumerate(dict.fromkeys(picks)):
            category, title, content = topics[i % len(topics)]
            severity = "urgent" if i == 0 else rng.choice(("normal", "normal", "serious", "urgent"))
            c = complaint_svc.complaint_create(
                actor=None, customer=customer, owner=customer.owner,
                data=complaint_svc.ComplaintInput(
                    title=title, content=content, category=category, severity=severity
                ),
            )  # fmt: skip
            age = datetime.timedelta(hours=30) if i == 0 else datetime.timedelta(
                hours=rng.randrange(2, 24 * 12)
            )  # fmt: skip
            Complaint.objects.filter(pk=c.pk).update(
                received_at=c.received_at - age, deadline=c.deadline - age
            )
            c.events.filter(kind="created").update(at=c.received_at - age)
            made.append(c)
        escalated = complaint_svc.complaint_escalations(now).escalations
        closed = reopened = 0
        for c in made[1:]:
            c.refresh_from_db()
            r = rng.random()
            if r < 0.55:
                continue
            complaint_svc.complaint_resolve(
                actor=None, complaint=c, resolution=_("已为客户换货并致歉，客户接受处理方案。")
            )
            if r < 0.7:
                continue  # waiting for the customer's confirmation
            if r < 0.78 and not reopened:
                complaint_svc.complaint_confirm(
                    actor=None, complaint=c, satisfied=False, note=_("换货后仍有同样问题")
                )
                reopened += 1
            else:
                complaint_svc.complaint_confirm(actor=None, complaint=c, satisfied=True)
                closed += 1
        kinds = (
            ("suggestion", _("希望增加周末送货时段。")),
            ("inquiry", _("咨询新品上市时间和会员价。")),
            ("praise", _("表扬业务员响应及时、服务周到。")),
            ("suggestion", _("建议提供电子版产品手册。")),
            ("other", _("客户地址变更，请更新送货地址。")),
        )
        feedback = 0
        for i, customer in enumerate(mine[:2] + rng.sample(owned, min(len(owned), self._n(30, 5)))):
            kind, content = kinds[i % len(kinds)]
            fb = Feedback.objects.create(
                customer=customer, kind=kind, content=content, owner=customer.owner,
                department_id=customer.department_id,
            )  # type: ignore[misc]  # fmt: skip
            if i > 1 and rng.random() < 0.5:
                fb.handled, fb.reply, fb.handled_at = True, _("已答复客户"), now
                fb.save(update_fields=["handled", "reply", "handled_at"])
            feedback += 1
        self._say(
            _("售后：回访、投诉、反馈"),
            visits=ReturnVisit.objects.count(),
            visits_logged=len(done),
            complaints=len(made),
            escalations=escalated,
            complaints_closed=closed,
            feedback=feedback,
        )


# ---------------------------------------------------------------------------------------


POOL_REASONS = ("客户暂无采购计划", "联系不上", "预算冻结，明年再跟", "已转给同事跟进后退回")
CONTACT_TITLES = ("总经理", "店长", "采购经理", "财务", "店员", "前台")
ACTIVITY_KINDS = (
    ActivityKind.CALL,
    ActivityKind.WECHAT,
    ActivityKind.VISIT,
    ActivityKind.MEETING,
    ActivityKind.EMAIL,
)
OPPORTUNITY_TOPICS = ("年度采购", "新品试销", "门店扩张", "节日备货", "会员活动套装", "补货")
LOST_REASONS = ("价格高于竞品", "客户预算取消", "选择了其他供应商", "需求延后到明年")
NEXT_STEPS = ("发送产品资料", "报价", "约上门演示", "回访使用情况", "确认订货数量", "催款")
FOLLOWUP_TEXTS = (
    "电话沟通本月进货计划，客户关注新品价格。",
    "微信发送了新品资料，客户表示有兴趣，下周再联系。",
    "上门拜访店长，了解门店客流和库存情况。",
    "客户反馈上批货物包装有破损，已登记并答复处理方案。",
    "沟通年度合作政策，客户希望提高返利比例。",
    "邀请客户参加下月新品推介会，客户已确认参加。",
    "客户暂无采购需求，预计下季度再订货。",
    "与采购经理确认报价细节，对方需内部审批。",
)


def _wipe_models() -> list[type[models.Model]]:
    """Every table the demo writes, dependants first."""
    return [
        PayoutItem,
        PayoutBatch,
        DisputeMessage,
        Dispute,
        CommissionLine,
        CommissionResult,
        CommissionPeriod,
        CommissionRun,
        ReturnLine,
        Return,
        OrderLine,
        Order,
        PriceListItem,
        PriceList,
        Product,
        Customer,
        ApprovalTask,
        ApprovalEvent,
        ApprovalRequest,
        ApprovalStep,
        ApprovalFlow,
        Notification,
        SponsorChangeRequest,
        RankHistory,
        SponsorHistory,
        Member,
        Employee,
        Position,
        Department,
    ]


def _dependants(targets: Iterable[type[models.Model]]) -> list[type[models.Model]]:
    """Models of other modules that point at the wiped tables (e.g. leads, campaigns):
    their rows hang off demo data, so they go too, before the rows they point at."""
    wiped = set(targets)
    found: list[type[models.Model]] = []
    changed = True
    while changed:
        changed = False
        for model in apps.get_models(include_auto_created=True):
            if model in wiped or model in (User, Role, AuditLog):
                continue
            for f in model._meta.concrete_fields:
                if f.is_relation and f.related_model in wiped:
                    found.insert(0, model)
                    wiped.add(model)
                    changed = True
                    break
    return found


def wipe_demo(out: Out = print) -> None:
    """Empty every table the demo writes (users and roles stay; the rebuild resets them).

    Only called when the demo's marker is present, i.e. on a demo database: it removes
    all rows of those tables and of any table pointing at them, not only the demo's.

    Foreign keys are checked at commit on SQLite and PostgreSQL (Django creates them
    DEFERRABLE INITIALLY DEFERRED), so raw deletes inside one transaction are safe.
    """
    t0 = time.perf_counter()
    targets = _wipe_models()
    order = _dependants(targets) + targets
    labels = [m._meta.label_lower for m in order]
    with transaction.atomic():
        Department.objects.update(head=None)
        for model in order:
            qs = model._base_manager.all()
            qs._raw_delete(qs.db)  # type: ignore[attr-defined]
        AuditLog.objects.filter(object_type__in=[*labels, "demo"]).delete()
    out(f"  {_('已删除旧的演示数据')} {time.perf_counter() - t0:.1f}s")


def build_demo(
    *,
    seed: int = DEFAULT_SEED,
    scale: float = 1.0,
    force: bool = False,
    today: datetime.date | None = None,
    out: Out = print,
) -> BuildStats | None:
    """Build the demo, or do nothing if one is there (``force``: wipe and rebuild).

    The data ends on ``today`` (default: the current local date). Returns the
    statistics, or None when skipped."""
    today = today or timezone.localdate()
    if demo_present():
        if not force:
            out(_("演示数据已存在，跳过（使用 --force 删除并重建）"))
            return None
        wipe_demo(out)
    out(_("正在生成演示数据（seed=%(seed)d, scale=%(scale)s）…") % {"seed": seed, "scale": scale})
    builder = DemoBuilder(seed=seed, scale=scale, today=today, out=out)
    stats = builder.build()
    from salesops.demo.compensation import build_demo_compensation

    t0 = time.perf_counter()
    # Commission runs for the months before the current one (still under way).
    stats.counts.update(build_demo_compensation(builder.months[:-1], builder.users, out))
    stats.seconds += time.perf_counter() - t0
    out(_("演示数据生成完毕，用时 %(s).1f 秒") % {"s": stats.seconds})
    return stats


def demo_digest() -> str:
    """A fingerprint of the demo's content (ids left out, so it is stable across
    databases): member tree by member numbers, titles, statuses, owners; every order's
    number, date, kind, buyer and total; every return."""
    h = hashlib.sha256()
    no_of = dict(Member.objects.values_list("pk", "member_no"))
    emp_no = dict(Employee.objects.values_list("pk", "employee_no"))
    members = Member.objects.order_by("member_no").values_list(
        "member_no", "path", "depth", "title", "status", "joined_on", "owner_id", "name"
    )
    for no, path, depth, title, status, joined_on, owner_id, name in members:
        chain = "/".join(no_of[pk] for pk in path_ids(path))
        owner = emp_no.get(owner_id) if owner_id else None
        h.update(repr((no, chain, depth, title, status, joined_on, owner, name)).encode())
    cust = dict(Customer.objects.values_list("pk", "code"))
    orders = Order.objects.order_by("order_no").values_list(
        "order_no",
        "order_date",
        "kind",
        "status",
        "member_id",
        "customer_id",
        "total_amount",
        "returned_amount",
        "credited_employee_id",
    )
    for order_no, day, kind, status, member_id, customer_id, total, back, emp_id in orders:
        buyer = no_of.get(member_id) if member_id else cust.get(customer_id or 0)
        credited = emp_no.get(emp_id) if emp_id else None
        h.update(
            repr((order_no, day, kind, status, buyer, str(total), str(back), credited)).encode()
        )
    returns = Return.objects.order_by("return_no").values_list(
        "return_no", "original_order__order_no", "return_date", "total_amount"
    )
    for return_no, order_no, day, amount in returns:
        h.update(repr((return_no, order_no, day, str(amount))).encode())
    return h.hexdigest()
