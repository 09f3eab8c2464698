"""Nothing on a read path writes (issue 11): a write on a GET waits for SQLite's write
lock, so a long import would stall every page and API call behind it.

Every role of the link-walk world opens every page the link walk reaches and calls every
API GET without path parameters with a bearer token; each request runs under
CaptureQueriesContext and every INSERT/UPDATE/DELETE/REPLACE is reported, per request, in
one failure. Logins happen before (the test client's and the token's): only the GETs
are watched.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from salesops.api import api
from salesops.core.models import ApiToken
from salesops.core.tests import matrix_world as mw
from salesops.core.tests.test_link_walk import ROLES, _page_url, _parse, world  # noqa: F401
from salesops.core.tokens import _hash

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

WRITE_RE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)
# API GETs that are not reads of data: downloads the link walk skips too.
SKIP_API = ("export", "template", "openapi", "/docs")


def _writes(ctx: CaptureQueriesContext) -> list[str]:
    return [q["sql"][:160] for q in ctx.captured_queries if WRITE_RE.match(q["sql"])]


class _Watch:
    """GETs through ``client``, each watched for writes."""

    def __init__(self, client: Client, role: str) -> None:
        self.client, self.role = client, role
        self.seen: set[str] = set()
        self.found: list[str] = []

    def get(self, url: str, **extra: Any) -> Any:
        self.seen.add(url)
        with CaptureQueriesContext(connection) as ctx:
            resp = self.client.get(url, **extra)
        self.found += [f"{self.role}: GET {url} → {sql}" for sql in _writes(ctx)]
        return resp

    def page(self, url: str) -> str:
        """GET ``url``, following redirects (each hop watched), the final HTML or ''."""
        resp = self.get(url)
        hops = 0
        while resp.status_code in (301, 302) and hops < 5:
            target = _page_url(resp["Location"], url)
            if target is None:
                return ""
            url, hops = target, hops + 1
            resp = self.get(url)
        ctype = resp.get("Content-Type", "")
        return resp.content.decode() if ctype.startswith("text/html") else ""


def _param_values() -> dict[str, str]:
    """A value for each path parameter of the API's GETs: the first row of its table
    (another role's row answers 404: still a read that must not write)."""
    from salesops.compensation.models import (
        CommissionPeriod,
        CommissionRun,
        CompPlanVersion,
        Dispute,
        PayoutBatch,
    )
    from salesops.core.models import ApprovalRequest, Attachment, ImportJob
    from salesops.crm.models import Complaint, Feedback, Lead, Opportunity, ReturnVisit
    from salesops.org.models import Employee, Member
    from salesops.sales.models import Contract, Customer, Order, Product, Quote, Receipt

    models: dict[str, Any] = {
        "request_id": ApprovalRequest,
        "attachment_id": Attachment,
        "dispute_id": Dispute,
        "batch_id": PayoutBatch,
        "period_id": CommissionPeriod,
        "plan_id": CompPlanVersion,
        "run_id": CommissionRun,
        "customer_id": Customer,
        "lead_id": Lead,
        "opportunity_id": Opportunity,
        "complaint_id": Complaint,
        "feedback_id": Feedback,
        "visit_id": ReturnVisit,
        "quote_id": Quote,
        "contract_id": Contract,
        "receipt_id": Receipt,
        "employee_id": Employee,
        "job_id": ImportJob,
        "member_id": Member,
        "order_id": Order,
        "product_id": Product,
    }
    values = {
        k: str(m.objects.order_by("pk").values_list("pk", flat=True).first() or 1)
        for k, m in models.items()
    }
    values["member_no"] = Member.objects.order_by("pk").values_list("member_no", flat=True)[0]
    return values


def _api_get_paths() -> list[str]:
    schema = api.get_openapi_schema()
    values = _param_values()
    out = []
    for path, ops in sorted(schema["paths"].items()):
        if "get" not in ops or any(s in path for s in SKIP_API):
            continue
        names = re.findall(r"\{(\w+)\}", path)
        missing = [n for n in names if n not in values]
        assert not missing, f"{path}: no value for {missing}"
        out.append(re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path))
    return out


def test_no_page_or_api_get_writes_for_any_role(world: mw.World) -> None:  # noqa: F811
    report: list[str] = []
    visited: dict[str, tuple[int, int]] = {}
    api_paths = _api_get_paths()
    assert len(api_paths) >= 35, api_paths
    for key in ROLES:
        user = world.users[key]
        client = Client()
        client.force_login(user)  # the login's own writes happen here, before the watch
        watch = _Watch(client, key)
        home = watch.page("/")
        pages = {
            u: watch.page(u)
            for u in dict.fromkeys(u for u in (_page_url(h, "/") for h in _parse(home).links) if u)
        }
        for source, html in list(pages.items()):
            for href in _parse(html).links:
                url = _page_url(href, source)
                if url and url not in watch.seen:
                    watch.page(url)
        n_pages = len(watch.seen)
        # A token used just now: within SALESOPS_TOKEN_TOUCH_SECONDS its use is not written.
        ApiToken.objects.create(
            user=user,
            key_hash=_hash(f"no-writes-{key}"),
            expires_at=timezone.now() + dt.timedelta(days=1),
            last_used_at=timezone.now(),
        )
        auth = {"HTTP_AUTHORIZATION": f"Bearer no-writes-{key}"}
        for path in api_paths:
            watch.get(path, **auth)
        visited[key] = (n_pages, len(watch.seen) - n_pages)
        report += watch.found
    assert not report, "GET requests that write:\n" + "\n".join(report)
    short = {k: v for k, v in visited.items() if v[0] < 25 or v[1] < 35}
    assert not short, f"visited (pages, API GETs) fewer than the minimum: {short}"
