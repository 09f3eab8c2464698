"""No link in the UI leads to an error page for the user it is shown to.

Every role of the matrix world (plus a commission run, so the member has a statement) logs
in, opens every entry of its sidebar menu, then every same-site link on those pages (one
level deep). Every link that answers >= 400 is reported, per role, in one failure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from salesops.compensation.services.runs import commission_run_start
from salesops.core.approvals.services import StepSpec, approval_flow_update
from salesops.core.models import ApprovalFlow, ApprovalRequest, RoleCode
from salesops.core.tests import matrix_world as mw
from salesops.org.services.sponsor_changes import DOC_TYPE, sponsor_change_request_submit

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

ROLES = ("admin", "director", "manager", "rep", "marketing", "finance", "member")
OCT = dt.date(2026, 10, 1)

# Links that are not pages or that change something when followed.
SKIP_PATHS = ("/logout/", "/i18n/", "/static/", "/api/")
SKIP_PARTS = ("/open/", "/read/", "/read-all/", "export")

# What each role must at least have visited (menu pages, then all pages), so the walk
# cannot pass by finding nothing.
MINIMUM = {
    "admin": (20, 80),
    "director": (12, 40),
    "manager": (10, 35),
    "rep": (10, 30),
    "marketing": (10, 30),
    "finance": (18, 50),
    "member": (10, 25),
}


class _Links(HTMLParser):
    """Hrefs of a page, and which of them are in the sidebar (#main-menu)."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.menu: list[str] = []
        self._menu_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if self._menu_depth:
            self._menu_depth += tag == "ul"
        elif tag == "ul" and a.get("id") == "main-menu":
            self._menu_depth = 1
        if tag == "a" and a.get("href"):
            href = str(a["href"])
            self.links.append(href)
            if self._menu_depth:
                self.menu.append(href)

    def handle_endtag(self, tag: str) -> None:
        if self._menu_depth and tag == "ul":
            self._menu_depth -= 1


def _parse(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


def _page_url(href: str, base: str) -> str | None:
    """The same-site page a link leads to, or None for one the walk skips."""
    href = urldefrag(href)[0]
    if not href or href.startswith(("javascript:", "mailto:", "tel:")):
        return None
    parts = urlsplit(href)
    if parts.scheme and parts.netloc != "testserver":
        return None
    path = parts.path or urlsplit(base).path
    if not path.startswith("/"):
        return None
    if path.startswith(SKIP_PATHS) or any(s in path for s in SKIP_PARTS):
        return None
    if "export" in parts.query:
        return None
    return path + (f"?{parts.query}" if parts.query else "")


@pytest.fixture
def world(
    settings: Any, tmp_path: Any, django_capture_on_commit_callbacks: Any
) -> Iterator[mw.World]:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.VAR_DIR = tmp_path  # the attachments' files
    w = mw.build_world()
    mw.add_attachments(w)
    # As in the demo: the sales director approves after the manager. Their task opens only
    # when the manager has approved, but the request is theirs to follow from the start.
    approval_flow_update(
        actor=None,
        flow=ApprovalFlow.objects.get(doc_type=DOC_TYPE, active=True),
        steps=[
            StepSpec(name="经理审批", role=RoleCode.MANAGER),
            StepSpec(name="总监审批", role=RoleCode.DIRECTOR),
        ],
    )
    req = sponsor_change_request_submit(
        actor=w.users["rep"],
        member=w.members["m_me"],
        new_sponsor=w.members["m_orphan"],
        effective_on=mw.DAY,
        reason="两级审批的变更",
    )
    w.sponsor_changes["scr_c"] = req
    w.approvals["scr_c"] = ApprovalRequest.objects.get(doc_type=DOC_TYPE, object_id=str(req.pk))
    with django_capture_on_commit_callbacks(execute=True):
        run = commission_run_start(actor=w.users["finance"], period=OCT)
    run.refresh_from_db()
    assert run.status == "done", run.error
    yield w


def _walk(client: Client) -> tuple[int, int, list[str]]:
    """(menu pages, pages visited, failures) for one logged-in client."""
    failures: list[str] = []
    seen: dict[str, int] = {}

    def visit(url: str, source: str) -> str:
        if url not in seen:
            resp = client.get(url, follow=True)
            seen[url] = resp.status_code
            if resp.status_code >= 400:
                failures.append(f"{url} → {resp.status_code} (link on {source})")
            ctype = resp.get("Content-Type", "")
            return resp.content.decode() if ctype.startswith("text/html") else ""
        return ""

    home = visit("/", "login")
    menu = [u for u in (_page_url(h, "/") for h in _parse(home).menu) if u]
    assert menu, "no sidebar menu on the home page"
    pages = {u: visit(u, "the menu") for u in dict.fromkeys(menu)}
    for source, html in list(pages.items()):
        for href in _parse(html).links:
            url = _page_url(href, source)
            if url:
                visit(url, source)
    return len(set(menu)), len(seen), failures


def test_every_link_of_every_menu_page_answers_for_every_role(world: mw.World) -> None:
    report: list[str] = []
    counts: dict[str, tuple[int, int]] = {}
    for key in ROLES:
        client = Client()
        client.force_login(world.users[key])
        n_menu, n_pages, failures = _walk(client)
        counts[key] = (n_menu, n_pages)
        report += [f"{key}: {f}" for f in failures]
    assert not report, "links that answer an error:\n" + "\n".join(report)
    short = {
        k: (c, MINIMUM[k])
        for k, c in counts.items()
        if c[0] < MINIMUM[k][0] or c[1] < MINIMUM[k][1]
    }
    assert not short, f"visited (menu, pages) fewer than the minimum: {short}"


def test_the_director_of_a_later_step_follows_审批详情_from_the_sponsor_change(
    world: mw.World,
) -> None:
    client = Client()
    client.force_login(world.users["director"])
    page = client.get(
        reverse("org:sponsor_change_detail", args=[world.sponsor_changes["scr_c"].pk])
    )
    assert page.status_code == 200
    approval = world.approvals["scr_c"]
    detail_url = reverse("core:approval_detail", args=[approval.pk])
    assert detail_url in _parse(page.content.decode()).links
    detail = client.get(detail_url)
    assert detail.status_code == 200
    assert approval.title in detail.content.decode()
    outsider = Client()
    outsider.force_login(world.users["outsider"])  # sees neither the change nor its request
    assert outsider.get(detail_url).status_code == 404
