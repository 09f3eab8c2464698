"""Benchmark: the CRM at issue 12's scale — 1,000,000 customers, 5,000,000 follow-ups,
200,000 opportunities, 100,000 contracts, 1,000,000 contacts and 200,000 leads — in a
throw-away SQLite database, or in a throw-away database on the PostgreSQL server given by
``--database-url``. Not a test; prints its figures.

    .venv/bin/python bench/bench_crm.py [--customers N] [--activities N] [--seed S]
        [--runs N] [--only detail,kanban,dedupe,reclaim] [--keep] [--reuse DIR]
        [--database-url postgres://user@host:port/any [--pg-db NAME]]

Data: the org of ``bench_list_pages.py`` (10 departments of 30 employees: a manager, 20 reps
who own the customers, 9 assistants; a director at head office), two regional pools
(华东公海: departments 1–5, 华南公海: 6–10; 30 days without a follow-up, 180 without a deal,
level A 45 / 365 days, level C 20 days; notice 3 days before), 2 % of the customers
in a pool. The follow-up and deal dates are drawn so that about 5 % of the owned
customers are due for the reclaim; the script counts them with the plain statement of
the rule (``crm.rules``) and checks the reclaim moves exactly that many.

Measured (each page or call once to warm up, then ``--runs`` times; median and p95 by
nearest rank, queries, the plan of the slowest query of anything over target):

1. the customer detail page (HTML, every tab, the timeline) of a customer with 50
   follow-ups, as the owner rep and as admin: p95 ≤ 100 ms;
2. the kanban board (crm:kanban) of the manager's team (the 200,000 opportunities are
   spread over the 10 departments), and for information the rep's, director's and
   admin's: manager p95 ≤ 150 ms;
3. 查重: ``sales.dedupe.find_duplicates`` (customers, pool, leads, contacts) as a rep and as
   admin, hits and misses, and ``GET /api/crm/duplicates?name=&phone=`` with a bearer
   token: p95 ≤ 50 ms;
4. the pool reclaim (``crm.services.pool.pool_reclaim``, what the ``crm.pool_reclaim`` job
   runs) over the million customers: first run ≤ 60 s, an immediate second run (nothing
   due) ≤ 5 s. Afterwards the moved customers are put back (from a copy of their owners
   taken before), so a kept database can be measured again.

Wall time depends on what else the machine runs: the load average is printed too.

``--keep`` keeps the data (the temp directory, or the PostgreSQL database, printed at the
end); ``--reuse DIR`` (SQLite) or ``--pg-db NAME`` (PostgreSQL) measures kept data again
after migrating it, without building.
"""

from __future__ import annotations

import argparse
import datetime
import math
import os
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DETAIL_TARGET_MS = 100
KANBAN_TARGET_MS = 150
DEDUPE_TARGET_MS = 50
RECLAIM_TARGET_S = 60
RECLAIM_AGAIN_TARGET_S = 5
N_DEPTS, N_REPS, N_ASSISTANTS = 10, 20, 9
BATCH = 20_000
TARGET_ACTIVITIES = 50  # follow-ups of the customer whose detail page is measured
PASSWORD = "bench-crm-Pass-2026"
PARTS = ("detail", "kanban", "dedupe", "reclaim")
BACKUP = "bench_crm_owner"  # the owners before the reclaim (put back afterwards)
DAY = 86_400


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=5_000_000)
    parser.add_argument("--opportunities", type=int, default=200_000)
    parser.add_argument("--contracts", type=int, default=100_000)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=20261203)
    parser.add_argument("--runs", type=int, default=10, help="timed requests per page")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts")
    parser.add_argument("--keep", action="store_true", help="keep the data")
    parser.add_argument("--reuse", default="", help="SQLite: a kept temp directory")
    parser.add_argument("--database-url", default="", help="a PostgreSQL server to use")
    parser.add_argument("--pg-db", default="", help="PostgreSQL: a kept database to reuse")
    args = parser.parse_args()
    args.parts = [p for p in args.only.split(",") if p]
    if unknown := set(args.parts) - set(PARTS):
        parser.error(f"--only: unknown {sorted(unknown)}")
    # A kill still drops the throw-away database and removes the temp directory.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))

    args.build = not (args.reuse or args.pg_db)
    tmp = Path(args.reuse) if args.reuse else Path(tempfile.mkdtemp(prefix="salesops-bench-crm-"))
    if args.reuse:
        args.keep = True
    os.environ["SALESOPS_SQLITE_PATH"] = str(tmp / "bench.sqlite3")
    os.environ["SALESOPS_VAR_DIR"] = str(tmp / "var")
    os.environ["SALESOPS_DEBUG"] = "0"
    pg_db = ""
    if args.database_url:
        pg_db = args.pg_db or f"bench_crm_{os.getpid()}"
        if args.build:
            _pg_admin(args.database_url, f"CREATE DATABASE {pg_db}")
        else:
            args.keep = True
        os.environ["DATABASE_URL"] = _with_db(args.database_url, pg_db)
    else:
        os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "salesops.settings")
    import django

    django.setup()
    from django.db import connection

    try:
        _run(args)
    finally:
        connection.close()
        if pg_db and not args.keep:
            _pg_admin(args.database_url, f"DROP DATABASE IF EXISTS {pg_db}")
        elif pg_db:
            print(f"kept PostgreSQL database {pg_db} (--pg-db {pg_db})")
        if not args.keep or (pg_db and not args.reuse):  # PostgreSQL: only static files
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        elif not pg_db:
            print(f"kept {tmp} (--reuse {tmp})")
    return 0


# ------------------------------------------------------------------------------ the run


class Result:
    def __init__(
        self, label: str, times_ms: list[float], queries: int, slowest: dict[str, str] | None,
        target_ms: float | None, note: str = "",
    ) -> None:  # fmt: skip
        self.label, self.times, self.queries = label, times_ms, queries
        self.slowest, self.target, self.note = slowest, target_ms, note
        self.cpu: float | None = None  # median CPU ms of this process (SQLite: with the SQL)

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        return sorted(self.times)[max(0, math.ceil(0.95 * len(self.times)) - 1)]

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.p95 <= self.target


def _run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    # Pages render as served (DEBUG off): the hashed static files must exist.
    call_command("collectstatic", verbosity=0, interactive=False)
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"migrated in {time.perf_counter() - t0:.1f}s", flush=True)
    if args.build:
        t0 = time.perf_counter()
        _build(args)
        print(f"built in {time.perf_counter() - t0:.1f}s", flush=True)
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        print(f"analyzed in {time.perf_counter() - t0:.1f}s", flush=True)
        # The build's connection had a big page cache; measure with a served one.
        connection.close()
    _restore_reclaimed()
    world = _world()
    print(
        f"database: {connection.vendor}; {world['counts']}; "
        f"load average {_load()} on {os.cpu_count()} cores",
        flush=True,
    )
    results: list[Result] = []
    if "detail" in args.parts:
        results += _detail(world, args.runs)
    if "kanban" in args.parts:
        results += _kanban(world, args.runs)
    if "dedupe" in args.parts:
        results += _dedupe(world, args.runs)
    if "reclaim" in args.parts:
        results += _reclaim(world)
    print()
    print(f"{'measure':<52} {'median':>8} {'p95':>8} {'cpu':>5} {'queries':>7}  target")
    for r in results:
        unit = "s" if r.label.startswith("reclaim") else "ms"
        div = 1000 if unit == "s" else 1
        target = "—" if r.target is None else f"≤{r.target / div:g} {unit}"
        verdict = "" if r.met is None else ("met" if r.met else "NOT met")
        print(
            f"{r.label:<52} {r.median / div:>7.{1 if div > 1 else 0}f}{unit[0] if div > 1 else ' '}"
            f" {r.p95 / div:>7.{1 if div > 1 else 0}f}{unit[0] if div > 1 else ' '}"
            f" {'' if r.cpu is None else f'{r.cpu:.0f}':>5} {r.queries:>7}"
            f"  {target} {verdict} {r.note}"
        )
    missed = [r for r in results if r.met is False]
    print()
    for r in missed:
        if r.slowest is not None:
            print(f"--- {r.label}: slowest query\n{_explain(r.slowest)}\n")
    print(f"load average now {_load()}")
    print(f"targets: {'all met' if not missed else f'NOT met on {len(missed)}'}")


def _load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def _world() -> dict[str, Any]:
    """The users, the measured customer, and the sizes of the tables."""
    from salesops.core.models import User
    from salesops.crm.models import Activity, Contact, Lead, Opportunity
    from salesops.sales.models import Contract, Customer

    users = {u.username: u for u in User.objects.filter(username__in=ROLES)}
    rep = users["rep"].employee  # type: ignore[attr-defined]
    target = Customer.objects.filter(owner=rep, code__startswith="CT").order_by("pk").first()
    assert target is not None, "no measured customer (CT…) in the data"

    def last_id(model: Any) -> int:
        return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

    counts = ", ".join(
        f"{last_id(m):,} {name}"
        for m, name in (
            (Customer, "customers"),
            (Activity, "follow-ups"),
            (Opportunity, "opportunities"),
            (Contract, "contracts"),
            (Contact, "contacts"),
            (Lead, "leads"),
        )
    )
    return {"users": users, "target": target, "counts": counts}


ROLES = ("admin", "director", "manager", "rep")


def _timed(
    label: str, call: Callable[[], Any], runs: int, target_ms: float | None, note: str = ""
) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    call()  # warm-up
    times: list[float] = []
    cpu: list[float] = []
    captured: list[dict[str, str]] = []
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0, c0 = time.perf_counter(), time.process_time()
            call()
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
        captured = ctx.captured_queries
    slowest = max(captured, key=lambda q: float(q["time"])) if captured else None
    r = Result(label, times, len(captured), slowest, target_ms, note)
    r.cpu = statistics.median(cpu)
    print(
        f"  {label}: median {r.median:.0f} ms, p95 {r.p95:.0f} ms, cpu {r.cpu:.0f} ms,"
        f" {r.queries} queries"
        f"{'' if r.met is not False else '  (over target)'}",
        flush=True,
    )
    return r


def _get(client: Any, url: str, params: dict[str, str] | None = None, **headers: str) -> Any:
    def call() -> Any:
        resp = client.get(url, params or {}, headers=headers)
        if resp.status_code != 200:
            raise SystemExit(f"GET {url} {params}: HTTP {resp.status_code}")
        return resp

    return call


def _client(user: Any) -> Any:
    from django.test import Client

    c = Client()
    c.force_login(user)
    return c


# ---------------------------------------------------------------------------- 1. detail


def _detail(world: dict[str, Any], runs: int) -> list[Result]:
    from django.urls import reverse

    from salesops.crm.models import Activity

    c = world["target"]
    n = Activity.objects.filter(customer=c).count()
    url = reverse("sales:customer_detail", args=[c.pk])
    out = []
    for who in ("rep", "admin"):
        client = _client(world["users"][who])
        html = _get(client, url)().content.decode()
        shown = html.count('<li class="border-start border-3')
        out.append(
            _timed(
                f"customer detail, {who} ({n} follow-ups)",
                _get(client, url),
                runs,
                DETAIL_TARGET_MS,
                note=f"{len(html) // 1024} KB" + (f", {shown} shown" if shown else ""),
            )
        )
    return out


# ---------------------------------------------------------------------------- 2. kanban


def _kanban(world: dict[str, Any], runs: int) -> list[Result]:
    import re

    from django.urls import reverse

    url = reverse("crm:kanban")
    out = []
    for who, params, target in (
        ("manager", {}, KANBAN_TARGET_MS),  # default scene: the team (全部 in scope)
        ("rep", {}, None),  # 我负责的
        ("director", {}, None),
        ("admin", {}, None),
    ):
        client = _client(world["users"][who])
        html = _get(client, url, params)().content.decode()
        cards = len(re.findall(r'so-kanban-card"', html))
        out.append(
            _timed(f"kanban, {who}", _get(client, url, params), runs, target, f"{cards} cards")
        )
    return out


# ---------------------------------------------------------------------------- 3. 查重


def _dedupe(world: dict[str, Any], runs: int) -> list[Result]:
    from salesops.core.access import viewer_for
    from salesops.core.tokens import token_issue
    from salesops.crm.models import Contact, Lead, LeadStatus
    from salesops.sales.dedupe import find_duplicates
    from salesops.sales.models import Customer

    n = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    mid = Customer.objects.filter(pk__gte=n // 2, owner__isnull=False).order_by("pk").first()
    pooled = Customer.objects.filter(owner__isnull=True).order_by("pk").first()
    n_leads = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    n_contacts = Contact.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    open_leads = Lead.objects.exclude(status=LeadStatus.CONVERTED)
    lead = open_leads.filter(pk__gte=n_leads // 4).order_by("pk").first()
    contact = (
        Contact.objects.filter(pk__gte=n_contacts // 2).exclude(email="").order_by("pk").first()
    )
    assert mid and pooled and lead and contact
    # As a person would type them: another spelling of the same company and number.
    p = mid.phone
    cases: list[tuple[str, dict[str, str]]] = [
        ("customer name", {"name": f"{mid.name[:2]}市 {mid.name[2:-4]}股份有限公司"}),
        ("customer phone", {"phone": f"+86 {p[:3]}-{p[3:7]}-{p[7:]}"}),
        ("name + phone", {"name": mid.name, "phone": p}),
        ("pool customer", {"name": pooled.name}),
        ("lead name + phone", {"name": lead.company, "phone": lead.phone}),
        ("contact phone + email", {"phone": contact.phone, "email": contact.email}),
        (
            "miss, name + phone + email",
            {
                "name": "无此公司甲乙丙科技有限公司",
                "phone": "13000000000",
                "email": "nobody@nowhere.example",
            },
        ),
    ]

    def check(viewer: Any, kw: dict[str, str]) -> list[Any]:
        return find_duplicates(
            viewer, name=kw.get("name", ""), phone=kw.get("phone", ""), email=kw.get("email", "")
        )

    out = []
    for who in ("rep", "admin"):
        viewer = viewer_for(world["users"][who])
        for label, kw in cases:
            found = check(viewer, kw)
            out.append(
                _timed(
                    f"查重 {who}: {label}",
                    lambda kw=kw, viewer=viewer: check(viewer, kw),  # type: ignore[misc]
                    runs,
                    DEDUPE_TARGET_MS,
                    note=f"{len(found)} matches",
                )
            )
    token, _row = token_issue(username="rep", password=PASSWORD, label="bench")
    from django.test import Client

    api = Client()
    for label, kw in (
        ("hit", {"name": mid.name, "phone": p}),
        ("miss", {"name": "无此公司甲乙丙科技有限公司", "phone": "13000000000"}),
    ):
        call = _get(api, "/api/crm/duplicates", kw, Authorization=f"Bearer {token}")
        found = call().json()["matches"]
        out.append(
            _timed(
                f"GET /api/crm/duplicates, rep: {label}",
                call,
                runs,
                DEDUPE_TARGET_MS,
                note=f"{len(found)} matches",
            )
        )
    return out


# --------------------------------------------------------------------------- 4. reclaim


def _reclaim(world: dict[str, Any]) -> list[Result]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from salesops.crm.services.pool import pool_reclaim

    _backup_owners()
    out = []
    for label, target_s in (
        ("reclaim, first run", RECLAIM_TARGET_S),
        ("reclaim, second run (nothing due)", RECLAIM_AGAIN_TARGET_S),
    ):
        # What the plain rule names at this instant (the second run's few are customers
        # whose time ran out while the first one ran).
        now = timezone.now()
        want = _expected_due(now)
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            done = pool_reclaim(now)
            ms = (time.perf_counter() - t0) * 1000
        slowest = max(ctx.captured_queries, key=lambda q: float(q["time"]), default=None)
        exact = "exact" if done.moved == want else f"EXPECTED {want:,}"
        r = Result(
            label, [ms], len(ctx.captured_queries), slowest, target_s * 1000,
            note=f"moved {done.moved:,} ({exact}), {done.noticed} notices",
        )  # fmt: skip
        print(f"  {label}: {ms / 1000:.1f} s, {r.queries} queries, {r.note}", flush=True)
        if slowest is not None:
            print(f"    slowest query {float(slowest['time']) * 1000:.0f} ms", flush=True)
        out.append(r)
    t0 = time.perf_counter()
    _restore_reclaimed()
    print(f"  (moved customers put back in {time.perf_counter() - t0:.1f}s)", flush=True)
    return out


def _expected_due(now: datetime.datetime) -> int:
    """The owned customers due now by the plain statement of the rule (``crm.rules``),
    one customer at a time: what the set-based reclaim must move."""
    from salesops.crm.models import Opportunity, OpportunityStatus
    from salesops.crm.rules import Facts, is_due
    from salesops.crm.selectors.pool import pool_map, rule_of
    from salesops.sales.models import Customer, CustomerStatus

    mapping, default = pool_map()
    open_opp = set(
        Opportunity.objects.filter(status=OpportunityStatus.OPEN).values_list(
            "customer_id", flat=True
        )
    )
    rules: dict[tuple[int, str], Any] = {}
    n = 0
    rows = Customer.objects.filter(owner__isnull=False).values_list(
        "pk", "department_id", "level", "owner_since", "last_followup_at", "locked",
        "status", "won_at",
    )  # fmt: skip
    for pk, dept, level, since, last, locked, status, won_at in rows.iterator(chunk_size=20_000):
        pool = mapping.get(dept, default)
        if pool is None:
            continue
        rule = rules.get((pool.pk, level))
        if rule is None:
            rule = rules[(pool.pk, level)] = rule_of(pool, level)
        facts = Facts(
            owner_since=since,
            last_followup_at=last,
            locked=locked,
            won=status == CustomerStatus.WON,
            won_at=won_at,
            open_opportunity=pk in open_opp,
        )
        n += is_due(rule, facts, now)
    return n


def _backup_owners() -> None:
    """A copy of every owned customer's owner, once (the reclaim's undo reads it)."""
    from django.db import connection

    with connection.cursor() as cur:
        if BACKUP in connection.introspection.table_names(cur):
            return
        cur.execute(
            f"CREATE TABLE {BACKUP} AS SELECT id, owner_id, owner_since, updated_at "
            "FROM sales_customer WHERE owner_id IS NOT NULL"
        )
        cur.execute(f"CREATE UNIQUE INDEX {BACKUP}_id ON {BACKUP} (id)")


def _restore_reclaimed() -> None:
    """Undo every reclaim run by this script: owners back from the copy, the pool rows
    and the moves of the reclaim gone, its notices and audit rows deleted."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cur:
        if BACKUP not in connection.introspection.table_names(cur):
            return
        moved = "SELECT customer_id FROM crm_poolmove WHERE kind = 'reclaim'"
        cur.execute(
            "UPDATE sales_customer SET "
            + ", ".join(
                f"{col} = (SELECT b.{col} FROM {BACKUP} b WHERE b.id = sales_customer.id)"
                for col in ("owner_id", "owner_since", "updated_at")
            )
            + f" WHERE id IN ({moved})"
        )
        cur.execute(f"DELETE FROM crm_poolcustomer WHERE customer_id IN ({moved})")
        cur.execute("DELETE FROM crm_poolmove WHERE kind = 'reclaim'")
        cur.execute("DELETE FROM core_notification WHERE url LIKE '/crm/pool/?%%'")
        cur.execute(
            "DELETE FROM core_auditlog WHERE object_type = 'crm.pool' AND object_id = 'reclaim'"
        )


# ------------------------------------------------------------------------------ build


class Inserter:
    """Rows straight into a table, in batches: ``executemany`` on SQLite, ``COPY`` on
    PostgreSQL (a million rows through ``bulk_create`` cost minutes of Python). Values are
    given in the database's form: datetimes as UTC text, booleans, ints, text."""

    def __init__(self, model: Any, columns: Sequence[str]) -> None:
        from django.db import connection

        self.table = model._meta.db_table
        self.columns = list(columns)
        missing = [
            f.column
            for f in model._meta.concrete_fields
            if not f.null and f.column not in self.columns and f is not model._meta.pk
        ]
        assert not missing, f"{self.table}: no value for NOT NULL {missing}"
        self.vendor = connection.vendor
        self.count = 0

    def write(self, rows: Iterable[tuple[Any, ...]]) -> None:
        from django.db import connection

        cols = ", ".join(self.columns)
        batch: list[tuple[Any, ...]] = []
        with connection.cursor() as cur:
            if self.vendor == "postgresql":
                with cur.cursor.copy(f"COPY {self.table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                        self.count += 1
                return
            sql = f"INSERT INTO {self.table} ({cols}) VALUES ({', '.join('?' * len(self.columns))})"
            raw = cur.cursor  # the sqlite3 cursor: Django's would rewrite %s per row
            for row in rows:
                batch.append(row)
                if len(batch) >= BATCH:
                    raw.executemany(sql, batch)
                    self.count += len(batch)
                    batch = []
            if batch:
                raw.executemany(sql, batch)
                self.count += len(batch)


TZ = {"suffix": ""}  # "+00" on PostgreSQL: COPY reads an instant's text in UTC


def _ts(epoch: float) -> str:
    """A UTC instant as the database reads it from text (SQLite compares Django's text
    form, without an offset)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + TZ["suffix"]


def _day(epoch: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(epoch))


CITIES = ("上海", "北京", "深圳", "广州", "杭州", "南京", "苏州", "成都", "武汉", "西安")
WORDS = ("科技", "贸易", "实业", "电子", "机械", "信息", "物流", "食品", "医药", "建材")


def _company(i: int, kind: str) -> str:
    return f"{CITIES[i % 10]}{kind}{i}{WORDS[(i // 10) % 10]}有限公司"


def _build(args: argparse.Namespace) -> None:
    from django.db import connection, transaction

    from salesops.core.models import RoleCode, User
    from salesops.crm.models import (
        Activity,
        Contact,
        Lead,
        Opportunity,
        Pool,
        PoolCustomer,
        PoolLevelRule,
        PoolMove,
        StageGroup,
    )
    from salesops.factories import role
    from salesops.org.services.departments import department_create
    from salesops.org.services.employees import employee_create
    from salesops.sales.keys import company_key, email_key, phone_key
    from salesops.sales.models import Contract, Customer

    rng = random.Random(args.seed)
    TZ["suffix"] = "+00" if connection.vendor == "postgresql" else ""
    if connection.vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA cache_size = -1000000")  # 1 GB while the indexes are built
            cur.execute("PRAGMA synchronous = OFF")
    users: dict[str, Any] = {
        "admin": User.objects.create(username="admin", is_superuser=True, is_staff=True),
    }
    for code in (RoleCode.DIRECTOR, RoleCode.MANAGER, RoleCode.REP):
        users[str(code)] = User.objects.create(username=str(code), role=role(code))
    for u in users.values():
        u.set_password(PASSWORD)
        u.save(update_fields=["password"])
    hq = department_create(actor=None, name="总部", code="HQ", kind="company")
    employee_create(
        actor=None, employee_no="E00000", name="总监", department=hq, user=users["director"]
    )
    reps: list[tuple[int, int]] = []  # (employee id, department id) of the reps
    depts = []
    n = 0
    rep_user_emp = 0
    for d in range(N_DEPTS):
        dept = department_create(actor=None, name=f"销售{d + 1}部", code=f"D{d:02d}", parent=hq)
        depts.append(dept)
        n += 1
        mgr = employee_create(
            actor=None,
            employee_no=f"E{n:05d}",
            name=f"经理{d + 1}",
            department=dept,
            user=users["manager"] if d == 0 else None,
        )
        for i in range(N_REPS + N_ASSISTANTS):
            n += 1
            emp = employee_create(
                actor=None,
                employee_no=f"E{n:05d}",
                name=f"员工{n}",
                department=dept,
                manager=mgr,
                user=users["rep"] if d == 0 and i == 0 else None,
            )
            if i < N_REPS:
                reps.append((emp.pk, dept.pk))
            if d == 0 and i == 0:
                rep_user_emp = emp.pk
    dept_of = dict(reps)

    east = Pool.objects.create(
        name="华东公海", days_no_followup=30, days_no_deal=180, notify_days=3
    )
    south = Pool.objects.create(
        name="华南公海", days_no_followup=30, days_no_deal=180, notify_days=3
    )
    east.departments.add(*depts[:5])
    south.departments.add(*depts[5:])
    for pool in (east, south):
        PoolLevelRule.objects.create(pool=pool, level="A", days_no_followup=45, days_no_deal=365)
        PoolLevelRule.objects.create(pool=pool, level="C", days_no_followup=20)
    pool_of_dept = {d.pk: (east if i < 5 else south).pk for i, d in enumerate(depts)}

    group = StageGroup.objects.get(is_default=True)
    stage_ids = list(group.stages.order_by("order").values_list("pk", flat=True))
    now = time.time()
    t0 = time.perf_counter()

    def step(what: str, count: int) -> None:
        print(f"  {count:,} {what} ({time.perf_counter() - t0:.0f}s)", flush=True)

    # ------------------------------------------------------------------ customers
    n_cust = args.customers
    owner_of: list[int | None] = [None] * (n_cust + 1)
    # The measured customer: the rep's, with TARGET_ACTIVITIES follow-ups (code CT…).
    target_id = n_cust // 3
    cust_cols = [
        "id", "code", "name", "phone", "id_number", "address", "source", "owner_id",
        "department_id", "level", "industry", "status", "locked", "owner_since",
        "last_followup_at", "next_followup_on", "won_at", "name_key", "phone_key",
        "created_at", "updated_at",
    ]  # fmt: skip
    pooled: list[tuple[int, int, int]] = []  # (customer, pool, former owner)

    def customers() -> Iterable[tuple[Any, ...]]:
        for i in range(1, n_cust + 1):
            emp, dept = reps[rng.randrange(len(reps))]
            if i == target_id:
                emp, dept = rep_user_emp, dept_of[rep_user_emp]
            created = now - (n_cust - i) * 60 - DAY  # one a minute, ~2 years
            level = "A" if rng.random() < 0.2 else ("C" if rng.random() < 0.375 else "B")
            x = rng.random()
            status = "won" if x < 0.15 else ("lost" if x < 0.20 else "potential")
            # Days since the last follow-up: 90 % within every rule, 5 % near the
            # rules (some due, some in the notice window), 5 % long overdue.
            x = rng.random()
            age = rng.uniform(0, 18) if x < 0.9 else (
                rng.uniform(18, 30) if x < 0.95 else rng.uniform(30, 90)
            )  # fmt: skip
            last: float | None = now - age * DAY
            # Held since before that (a claim restarts the deal count): mostly within
            # the 180-day deal rule; won customers for up to two years.
            if status == "won":
                held = age + rng.uniform(0, 700)
            elif rng.random() < 0.015:
                held = rng.uniform(180, 400)  # due by the deal rule (level A: 365)
            else:
                held = age + rng.uniform(0, max(0.0, 175 - age))
            since = now - held * DAY
            if rng.random() < 0.02:
                last = None
            won_at = _ts(since + rng.uniform(0, held) * DAY) if status == "won" else None
            locked = rng.random() < 0.03
            owner: int | None = emp
            if i != target_id and rng.random() < 0.02:
                owner = None  # in the pool
                pooled.append((i, pool_of_dept[dept], emp))
            owner_of[i] = owner
            name = _company(i, "客户")
            phone = f"138{i:08d}"
            yield (
                i, f"CT{i:07d}" if i == target_id else f"C{i:07d}", name, phone, "", "",
                ("门店", "网络", "转介绍")[i % 3], owner, dept, level, WORDS[i % 10], status,
                locked and owner is not None, _ts(since) if owner else None,
                _ts(last) if last is not None else None,
                _day(now + rng.uniform(1, 30) * DAY) if rng.random() < 0.3 else None,
                won_at, company_key(name), phone_key(phone), _ts(created), _ts(now - DAY),
            )  # fmt: skip

    with transaction.atomic():
        ins = Inserter(Customer, cust_cols)
        ins.write(customers())
    step("customers", ins.count)
    with transaction.atomic():
        Inserter(
            PoolCustomer, ["customer_id", "pool_id", "entered_at", "former_owner_id", "reason"]
        ).write((c, p, _ts(now - 5 * DAY), emp, "客户暂无需求") for c, p, emp in pooled)
        Inserter(PoolMove, ["customer_id", "pool_id", "kind", "employee_id", "at", "rule"]).write(
            (c, p, "release", emp, _ts(now - 5 * DAY), "客户暂无需求") for c, p, emp in pooled
        )
    step("customers in a pool", len(pooled))
    owned = [i for i in range(1, n_cust + 1) if owner_of[i] is not None]

    # ------------------------------------------------------------ opportunities
    def opportunities() -> Iterable[tuple[Any, ...]]:
        for i in range(1, args.opportunities + 1):
            cust = owned[rng.randrange(len(owned))]
            emp = owner_of[cust]
            assert emp is not None
            x = rng.random()
            status = (
                "open" if x < 0.5 else ("won" if x < 0.8 else ("lost" if x < 0.95 else "invalid"))
            )
            created = now - rng.uniform(1, 700) * DAY
            yield (
                i, f"OPP{i:07d}", f"{_company(cust, '客户')}项目{i}", cust, emp, dept_of[emp],
                group.pk, stage_ids[rng.randrange(len(stage_ids))], status,
                f"{rng.randint(1_000_00, 1_000_000_00) / 100:.2f}",
                _day(now + rng.uniform(-180, 180) * DAY), "",
                _ts(created) if status != "open" else None, "", _ts(created), _ts(created),
            )  # fmt: skip

    with transaction.atomic():
        ins = Inserter(
            Opportunity,
            ["id", "code", "name", "customer_id", "owner_id", "department_id", "group_id",
             "stage_id", "status", "amount", "close_on", "lost_reason", "closed_at",
             "campaign_code", "created_at", "updated_at"],
        )  # fmt: skip
        ins.write(opportunities())
    step("opportunities", ins.count)

    # ------------------------------------------------------------------ contracts
    statuses = ["signed"] * 3 + ["fulfilling"] * 3 + ["completed"] * 2 + ["draft", "terminated"]

    def contracts() -> Iterable[tuple[Any, ...]]:
        for i in range(1, args.contracts + 1):
            cust = target_id if i <= 3 else owned[rng.randrange(len(owned))]
            emp = owner_of[cust]
            assert emp is not None
            start = now - rng.uniform(0, 700) * DAY
            status = statuses[rng.randrange(len(statuses))]
            amount = rng.randint(10_000_00, 5_000_000_00) / 100
            yield (
                i, f"HT{i:08d}", 1, f"{_company(cust, '客户')}合同{i}", cust, emp, dept_of[emp],
                status, f"{amount:.2f}", "0.00", _day(start), _day(start + 365 * DAY),
                _day(start) if status != "draft" else None, "", "", "", "", "", False, "",
                _ts(start), _ts(start),
            )  # fmt: skip

    with transaction.atomic():
        ins = Inserter(
            Contract,
            ["id", "contract_no", "version", "name", "customer_id", "owner_id",
             "department_id", "status", "amount", "received_amount", "start_on", "end_on",
             "signed_on", "customer_signatory", "terms", "change_reason",
             "termination_reason", "resume_status", "expiry_reminded", "campaign_code",
             "created_at", "updated_at"],
        )  # fmt: skip
        ins.write(contracts())
    step("contracts", ins.count)

    # ------------------------------------------------------------------- contacts
    def contacts() -> Iterable[tuple[Any, ...]]:
        for i in range(1, args.contacts + 1):
            cust = target_id if i <= 3 else rng.randrange(1, n_cust + 1)
            phone = f"139{i:08d}"
            email = f"contact{i}@example.cn" if i % 2 else ""
            yield (
                i, cust, f"联系人{i}", phone, email, ("经理", "采购", "财务", "")[i % 4],
                i % 5 == 0, phone_key(phone), email_key(email), _ts(now - DAY),
            )  # fmt: skip

    with transaction.atomic():
        ins = Inserter(
            Contact,
            ["id", "customer_id", "name", "phone", "email", "title", "decision_maker",
             "phone_key", "email_key", "created_at"],
        )  # fmt: skip
        ins.write(contacts())
    step("contacts", ins.count)

    # ---------------------------------------------------------------------- leads
    def leads() -> Iterable[tuple[Any, ...]]:
        for i in range(1, args.leads + 1):
            emp, dept = reps[rng.randrange(len(reps))]
            owner: int | None = emp if rng.random() < 0.9 else None
            x = rng.random()
            status = "new" if x < 0.5 else ("following" if x < 0.8 else (
                "converted" if x < 0.95 else "invalid"))  # fmt: skip
            company, phone, email = _company(i, "线索"), f"137{i:08d}", f"lead{i}@example.cn"
            created = now - rng.uniform(1, 700) * DAY
            yield (
                i, f"L{i:08d}", company, f"联系人{i}", phone, email, "网络", "", "华东", "",
                owner, dept, status, None, None, None, None,
                company_key(company), phone_key(phone), email_key(email), None,
                _ts(created), _ts(created),
            )  # fmt: skip

    with transaction.atomic():
        ins = Inserter(
            Lead,
            ["id", "code", "company", "contact_name", "phone", "email", "source",
             "campaign_code", "region", "note", "owner_id", "department_id", "status",
             "customer_id", "contact_id", "converted_at", "last_followup_at", "company_key",
             "phone_key", "email_key", "created_by_id", "created_at", "updated_at"],
        )  # fmt: skip
        ins.write(leads())
    step("leads", ins.count)

    # ----------------------------------------------------------------- follow-ups
    kinds = ("call", "visit", "wechat", "meeting", "email")
    n_leads = max(1, args.leads)
    n_act = args.activities

    def activities() -> Iterable[tuple[Any, ...]]:
        for i in range(1, n_act + 1):
            lead: int | None = None
            if i <= TARGET_ACTIVITIES:
                cust: int | None = target_id
            elif i % 25 == 0:  # 4 % on leads
                cust, lead = None, rng.randrange(1, n_leads + 1)
            else:
                cust = rng.randrange(1, n_cust + 1)
            emp = owner_of[cust] if cust is not None else None
            if emp is None:
                emp = reps[rng.randrange(len(reps))][0]
            at = now - rng.uniform(0, 700) * DAY
            planned = rng.random() < 0.3
            yield (
                i, cust, lead, kinds[i % 5], f"第{i}次跟进：沟通需求与报价，客户反馈积极",
                "安排上门演示" if planned else "", _day(at + 7 * DAY) if planned else None,
                planned and at < now - 7 * DAY, planned and at < now - 30 * DAY, emp, _ts(at),
            )  # fmt: skip

    with transaction.atomic():
        ins = Inserter(
            Activity,
            ["id", "customer_id", "lead_id", "kind", "content", "next_step", "next_on",
             "reminded", "done", "employee_id", "at"],
        )  # fmt: skip
        ins.write(activities())
    step("follow-ups", ins.count)

    # The measured customer's last follow-up is its latest one (as the service keeps it).
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE sales_customer SET last_followup_at = "
            "(SELECT MAX(at) FROM crm_activity WHERE customer_id = %s) WHERE id = %s",
            [target_id, target_id],
        )
    if connection.vendor == "postgresql":
        from django.core.management.color import no_style

        models = [Customer, Opportunity, Contract, Contact, Lead, Activity]
        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cur.execute(sql)


def _explain(query: dict[str, str]) -> str:
    from django.db import connection

    sql = query["sql"]
    prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
    try:
        with connection.cursor() as cur:
            cur.execute(prefix + sql)
            rows = cur.fetchall()
    except Exception as exc:  # a plan is a diagnostic, never fatal
        return f"  ({float(query['time']) * 1000:.0f} ms) {sql[:300]}\n  (no plan: {exc})"
    plan = "\n".join("  " + " ".join(str(c) for c in row[-1:]) for row in rows)
    return f"  ({float(query['time']) * 1000:.0f} ms) {sql[:400]}\n{plan}"


def _with_db(url: str, name: str) -> str:
    from urllib.parse import urlparse

    return urlparse(url)._replace(path=f"/{name}").geturl()


def _pg_admin(url: str, sql: str) -> None:
    """Run one statement on the server's ``postgres`` database (outside a transaction)."""
    import psycopg

    with psycopg.connect(_with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


if __name__ == "__main__":
    sys.exit(main())
