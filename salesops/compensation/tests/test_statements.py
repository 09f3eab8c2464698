"""Statements: the seed's examples explained line by line, the override with the members
who paid it, adjustments in their own section, rank progress, who sees how much (incl. a
property test over random sponsor trees), the Chinese PDF and the API."""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from salesops.compensation import selectors
from salesops.compensation.engine.plan import RankPlan, load_rank_plan
from salesops.compensation.models import (
    CommissionLine,
    CommissionPeriod,
    CommissionResult,
    CommissionRun,
    CompPlanVersion,
    RunStatus,
)
from salesops.compensation.selectors import VIEW_FULL, VIEW_SUMMARY, VIEW_UPLINE_FULL
from salesops.compensation.services.plans import plan_version_ensure_seed
from salesops.compensation.services.statements import (
    pdf_font_candidates,
    rank_progress,
    register_pdf_font,
    statement_build,
)
from salesops.core.access import viewer_for
from salesops.core.errors import NotFoundError, ServiceError
from salesops.core.models import RoleCode
from salesops.factories import MemberFactory, UserFactory, role
from salesops.org.models import Member, MemberStatus

from .statements_world import (
    IMMEDIATE,
    World,
    bearer,
    login,
    make_world,
    run_period,
    set_upline_visibility,
)
from .test_engine_support import SEED_PLAN

D = Decimal


@pytest.fixture
def immediate_tasks(settings: Any) -> None:
    settings.TASKS = IMMEDIATE


@pytest.fixture
def world(db: None) -> World:
    return make_world()


# --------------------------------------------------------------------------- rank progress


@dataclass
class Figures:
    paid_as: str
    pv: Decimal
    sr_count: int
    sr_volume: Decimal


@pytest.fixture(scope="module")
def plan() -> RankPlan:
    return load_rank_plan(SEED_PLAN)


def texts(plan: RankPlan, f: Figures, **kw: Any) -> list[str]:
    return [s.text for s in rank_progress(plan, f, **kw).missing]


def test_rank_progress_no_rank_yet_needs_own_volume_for_sr(plan: RankPlan) -> None:
    p = rank_progress(plan, Figures("", D("9800.00"), 0, D(0)))
    assert (p.next_rank, p.next_rank_name) == ("SR", "业务代表")
    assert [s.text for s in p.missing] == ["差 3,200.00 元个人业绩"]


def test_rank_progress_seed_sr_needs_one_trained_sr_for_se(plan: RankPlan) -> None:
    # Seed example 1: an SR with pv 20000 already meets SE's 15000 pv.
    assert texts(plan, Figures("SR", D("20000.00"), 0, D(0))) == ["差 1 位亲自培训 SR"]


def test_rank_progress_sr_short_on_pv_and_count(plan: RankPlan) -> None:
    assert texts(plan, Figures("SR", D("14000.00"), 0, D(0))) == [
        "差 1,000.00 元个人业绩",
        "差 1 位亲自培训 SR",
    ]


def test_rank_progress_seed_sm_needs_two_srs_and_volume_for_ssm(plan: RankPlan) -> None:
    # Seed example 2: SM with 4 SRs of 20000 each → SSM needs 6 SRs and 100000.
    p = rank_progress(plan, Figures("SM", D("30000.00"), 4, D("80000.00")))
    assert p.next_rank == "SSM"
    assert [s.text for s in p.missing] == ["差 2 位亲自培训 SR", "差 20,000.00 元亲自培训SR业绩"]
    assert [(s.requirement, s.missing) for s in p.missing] == [
        ("sr_count", D(2)),
        ("sr_volume", D("20000.00")),
    ]


def test_rank_progress_top_rank_misses_nothing(plan: RankPlan) -> None:
    p = rank_progress(plan, Figures("TE", D("15000.00"), 16, D("320000.00")))
    assert (p.next_rank, p.missing, p.is_top) == ("", (), True)


def test_rank_progress_terminated_member_gets_a_note(plan: RankPlan) -> None:
    p = rank_progress(plan, Figures("", D("50000.00"), 0, D(0)), terminated=True)
    assert (p.next_rank, p.missing, p.note) == ("", (), "会员已终止，不参与职级评定")


@settings(max_examples=200, deadline=None)
@given(
    rank=st.sampled_from(["", "SR", "SE", "SSE", "SM", "SSM", "SD", "SSD", "TE"]),
    pv=st.integers(0, 400_000),
    count=st.integers(0, 20),
    vol=st.integers(0, 400_000),
)
def test_rank_progress_closing_every_gap_reaches_the_next_rank(
    plan: RankPlan, rank: str, pv: int, count: int, vol: int
) -> None:
    f = Figures(rank, D(pv), count, D(vol))
    p = rank_progress(plan, f)
    if rank == "TE":
        assert p.missing == ()
        return
    nxt = plan.ranks[plan.rank_codes.index(rank) + 1 if rank else 0]
    gap = {s.requirement: s.missing for s in p.missing}
    assert all(v > 0 for v in gap.values())
    assert D(pv) + gap.get("pv", 0) >= nxt.pv
    assert count + gap.get("sr_count", 0) >= nxt.sr_count
    assert D(vol) + gap.get("sr_volume", 0) >= nxt.sr_volume
    # Nothing is asked for that is already met, and nothing more than needed.
    for req, have, need in (("pv", D(pv), nxt.pv), ("sr_count", count, nxt.sr_count),
                            ("sr_volume", D(vol), nxt.sr_volume)):  # fmt: skip
        assert gap.get(req, 0) == max(D(0), D(need) - D(have))


# --------------------------------------------------------------------------- assembly


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_statement_of_the_seed_sm_explains_each_line(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    access = selectors.statement_for_viewer(viewer_for(world.sm_user), run.pk, "SM01")
    assert (access.view, access.is_owner) == (VIEW_FULL, True)
    s = statement_build(run=access.run, result=access.result, view=access.view)
    assert [(sl.line.name, sl.line.formula) for sl in s.lines] == [
        ("销售奖金", "个人业绩 30000.00 ≥ 20000 → 20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38"),
        ("晨星奖", "20号前业绩 20000.00 ≥ 20000 (SM) → 4000.00"),
        ("开星奖", "个人业绩 30000.00 ≥ 30000 (SM) → 2000.00"),
    ]
    assert [g.generation for g in s.overrides] == [1]
    assert s.override_sources == ["SR00", "SR01", "SR02", "SR03"]
    assert s.overrides[0].lines[0].line.formula == ("第1代 SR00 个人业绩 20000.00 × 5% = 1000.00")
    assert (s.override_total, s.total, s.adjustment, s.payable) == (
        D("4000.00"), D("14615.38"), D("0.00"), D("14615.38"),
    )  # fmt: skip
    assert s.adjustments == []
    assert s.progress is not None
    assert [m.text for m in s.progress.missing] == [
        "差 2 位亲自培训 SR",
        "差 20,000.00 元亲自培训SR业绩",
    ]


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_statement_page_shows_formulas_override_sources_and_progress(
    world: World, django_capture_on_commit_callbacks: Any, django_assert_max_num_queries: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    c = login(world.sm_user)
    url = reverse("compensation:statement", args=[run.pk, "SM01"])
    with django_assert_max_num_queries(20):
        resp = c.get(url)
    body = resp.content.decode()
    assert resp.status_code == 200
    assert "20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38" in body
    for k in range(4):
        assert f'<td class="override-source">SR0{k} 代表{k}</td>' in body
    assert body.count('class="override-generation"') == 1
    assert 'id="override-total">¥4,000.00<' in body
    assert 'id="statement-payable">¥14,615.38<' in body
    assert "差 2 位亲自培训 SR" in body and "差 20,000.00 元亲自培训SR业绩" in body
    assert "提出疑问" in body  # the member may ask about each line
    # Finance sees the same statement but answers on the dispute page, not here.
    fin = login(world.finance).get(url).content.decode()
    assert "20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38" in fin and "提出疑问" not in fin


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_adjustment_lines_have_their_own_section_and_total(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    # What the adjustment step stores for a late return in a closed September.
    CommissionLine.objects.create(
        run=run, member=world.sm, seq=99, rule="adjustment", name="调整 销售奖金",
        amount=D("-461.54"), formula="2026-09 重算 4153.84 − 原结果 4615.38 = -461.54",
        source_period=dt.date(2026, 9, 1),
    )  # fmt: skip
    CommissionResult.objects.filter(run=run, member=world.sm).update(adjustment=D("-461.54"))
    access = selectors.statement_for_viewer(viewer_for(world.sm_user), run.pk, "SM01")
    s = statement_build(run=access.run, result=access.result, view=access.view)
    assert [sl.line.rule for sl in s.lines] == ["sales_bonus", "morning_star", "open_star"]
    assert [(sl.line.source_period, sl.line.amount) for sl in s.adjustments] == [
        (dt.date(2026, 9, 1), D("-461.54"))
    ]
    assert (s.total, s.adjustment, s.payable) == (D("14615.38"), D("-461.54"), D("14153.84"))
    body = (
        login(world.sm_user)
        .get(reverse("compensation:statement", args=[run.pk, "SM01"]))
        .content.decode()
    )
    section = body[body.index('id="statement-adjustments"') :]
    assert "2026-09" in section and "-¥461.54" in section
    assert 'id="statement-payable">¥14,153.84<' in body


# --------------------------------------------------------------------------- visibility


def _status(user: Any, run: CommissionRun, member_no: str) -> int:
    return login(user).get(reverse("compensation:statement", args=[run.pk, member_no])).status_code


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
@pytest.mark.parametrize(
    ("policy", "status", "shows_pv", "shows_formula"),
    [("none", 404, False, False), ("summary", 200, True, False), ("full", 200, True, True)],
)
def test_upline_sees_downline_statement_as_the_plan_allows(
    world: World,
    stock: Any,
    django_capture_on_commit_callbacks: Any,
    policy: str,
    status: int,
    shows_pv: bool,
    shows_formula: bool,
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    set_upline_visibility(run, policy)
    resp = login(world.sm_user).get(reverse("compensation:statement", args=[run.pk, "SR00"]))
    assert resp.status_code == status
    body = resp.content.decode()
    assert ('id="statement-pv">¥20,000.00<' in body) is shows_pv
    assert ('id="statement-total">¥4,076.92<' in body) is shows_pv
    assert ("20% × 20000.00 × 0.9 ÷ 1.17 = 3076.92" in body) is shows_formula
    # An upline never sees the member's disputes nor can ask on their behalf.
    assert "提出疑问" not in body and "line-thread" not in body
    # Whatever the policy: the downline never sees the upline, strangers see nothing.
    assert _status(world.sr0_user, run, "SM01") == 404
    assert _status(world.lone_user, run, "SR00") == 404
    assert _status(world.sr0_user, run, "SR01") == 404  # a sibling
    assert _status(stock.rep_user, run, "SR00") == 404
    assert _status(world.finance, run, "SR00") == 200
    # The PDF follows the same rule.
    pdf = login(world.sm_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SR00"]))
    assert pdf.status_code == status


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_only_the_current_run_is_visible_to_members(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    old = run_period(world.finance, django_capture_on_commit_callbacks)
    new = run_period(world.finance, django_capture_on_commit_callbacks)
    assert _status(world.sm_user, old, "SM01") == 404
    assert _status(world.sm_user, new, "SM01") == 200
    assert _status(world.finance, old, "SM01") == 200


@pytest.mark.django_db
def test_visibility_holds_on_random_trees() -> None:
    """Property: for every viewer and statement in random small sponsor trees, the access
    decision equals the rule computed independently from the sponsor links."""
    seed_version = plan_version_ensure_seed()
    finance = UserFactory(username="prop-fin", role=role(RoleCode.FINANCE))
    counter = iter(range(10**6))

    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(
        parents=st.lists(st.integers(-1, 6), min_size=1, max_size=7),
        policy=st.sampled_from(["none", "summary", "full"]),
    )
    def check(parents: list[int], policy: str) -> None:
        with transaction.atomic():
            n = next(counter)
            text = seed_version.text.replace(
                'upline_visibility = "none"', f'upline_visibility = "{policy}"'
            )
            version = CompPlanVersion.objects.create(
                code="prop", name="prop", version=n + 1, text=text,
                effective_from=dt.date(2000, 1, 1), status="active",
            )  # fmt: skip
            # parent[i] < i (or none) keeps it a tree; -1 or a forward index = a root.
            sponsor: list[int | None] = [p if 0 <= p < i else None for i, p in enumerate(parents)]
            members: list[Member] = []
            users = []
            for i, p in enumerate(sponsor):
                m = MemberFactory(
                    member_no=f"P{n}-{i}", sponsor=members[p] if p is not None else None
                )
                u = UserFactory(username=f"p{n}-{i}", role=role(RoleCode.MEMBER))
                Member.objects.filter(pk=m.pk).update(user=u)
                members.append(m)
                users.append(u)
            period = dt.date(1990 + n // 12, n % 12 + 1, 1)
            runs = [
                CommissionRun.objects.create(
                    period=period, plan_version=version, status=RunStatus.DONE
                )
                for _ in range(2)
            ]
            current = runs[1]
            CommissionPeriod.objects.create(period=period, current_run=current)
            zero = D(0)
            for run in runs:
                CommissionResult.objects.bulk_create(
                    CommissionResult(
                        run=run, member=m, pv=zero, pv_by_cutoff=zero, sr_count=0,
                        sr_volume=zero, sales_bonus=zero, morning_star=zero, open_star=zero,
                        override=zero, total=zero,
                    )
                    for m in members
                )  # fmt: skip

            def ancestors(i: int) -> set[int]:
                out: set[int] = set()
                p = sponsor[i]
                while p is not None:
                    out.add(p)
                    p = sponsor[p]
                return out

            upline_view = {"none": None, "summary": VIEW_SUMMARY, "full": VIEW_UPLINE_FULL}
            for run in runs:
                for t, target in enumerate(members):
                    fin = selectors.statement_for_viewer(
                        viewer_for(finance), run.pk, target.member_no
                    )
                    assert fin.view == VIEW_FULL
                    for v, user in enumerate(users):
                        if run != current:
                            expected = None
                        elif v == t:
                            expected = VIEW_FULL
                        elif v in ancestors(t):
                            expected = upline_view[policy]
                        else:
                            expected = None
                        try:
                            got = selectors.statement_for_viewer(
                                viewer_for(user), run.pk, target.member_no
                            ).view
                        except NotFoundError:
                            got = None
                        assert got == expected, (parents, policy, v, t, run == current)
            transaction.set_rollback(True)

    check()


# --------------------------------------------------------------------------- PDF


def _pdf_font_installed() -> bool:
    try:
        register_pdf_font()
    except ServiceError:
        return False
    return True


needs_pdf_font = pytest.mark.skipif(
    not _pdf_font_installed(),
    reason="no TrueType Chinese font installed: apt-get install fonts-wqy-microhei "
    "(or set SALESOPS_PDF_FONT)",
)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


@needs_pdf_font
@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_statement_pdf_is_chinese_and_holds_member_total_and_formulas(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    resp = login(world.sm_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SM01"]))
    assert resp.status_code == 200
    assert resp["Content-Type"] == "application/pdf"
    assert resp.content.startswith(b"%PDF-")
    text = pdf_text(resp.content)
    assert "奖金结算单 2026-10" in text
    assert "SM01" in text and "王经理" in text
    assert "¥14,615.38" in text
    assert "20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38" in text
    assert "第1代 SR03 个人业绩 20000.00 × 5% = 1000.00" in text
    assert "差 2 位亲自培训 SR" in text
    # Another member's PDF is not found.
    other = login(world.lone_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SM01"]))
    assert other.status_code == 404


@needs_pdf_font
@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_summary_pdf_for_an_upline_has_no_lines(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    set_upline_visibility(run, "summary")
    resp = login(world.sm_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SR00"]))
    text = pdf_text(resp.content)
    assert "SR00" in text and "¥4,076.92" in text and "¥20,000.00" in text
    assert "×" not in text and "奖金明细" not in text


def _font_files(data: bytes) -> list[tuple[str, bool]]:
    """(font name, has an embedded TrueType FontFile2 stream) for every font used."""
    out = []
    for page in PdfReader(io.BytesIO(data)).pages:
        fonts = page["/Resources"]["/Font"]
        for ref in fonts.values():
            font = ref.get_object()
            descs = [font]
            if "/DescendantFonts" in font:
                descs = [d.get_object() for d in font["/DescendantFonts"]]
            for d in descs:
                fd = d.get("/FontDescriptor")
                embedded = fd is not None and "/FontFile2" in fd.get_object()
                out.append((str(font["/BaseFont"]), embedded))
    return out


@needs_pdf_font
@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_statement_pdf_embeds_its_chinese_font(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    resp = login(world.sm_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SM01"]))
    assert resp.status_code == 200
    fonts = _font_files(resp.content)
    # reportlab's canvas always lists Helvetica (one of the 14 standard fonts every reader
    # has, and no Chinese glyphs); every other font must travel inside the file.
    others = [(name, embedded) for name, embedded in fonts if name != "/Helvetica"]
    assert others, fonts
    assert all(embedded for _name, embedded in others), fonts
    assert not any("STSong" in name for name, _e in fonts)
    assert "王经理" in pdf_text(resp.content)


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_statement_pdf_without_a_font_answers_a_readable_page(
    world: World, django_capture_on_commit_callbacks: Any, settings: Any, monkeypatch: Any
) -> None:
    from salesops.core import pdf as core_pdf

    run = run_period(world.finance, django_capture_on_commit_callbacks)
    settings.SALESOPS_PDF_FONT = "/nonexistent/font.ttf"
    monkeypatch.setattr(core_pdf, "PDF_FONT_PATHS", ())
    assert pdf_font_candidates() == ["/nonexistent/font.ttf"]
    resp = login(world.sm_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SM01"]))
    assert resp.status_code == 503
    body = resp.content.decode()
    assert "无法生成 PDF：服务器上没有可嵌入的中文字体" in body
    assert "apt-get install fonts-wqy-microhei" in body
    assert reverse("compensation:statement", args=[run.pk, "SM01"]) in body


NOTO_CFF = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"


@pytest.mark.skipif(not os.path.isfile(NOTO_CFF), reason="fonts-noto-cjk is not installed")
@pytest.mark.django_db
def test_a_cff_font_is_not_taken_for_embedding(settings: Any, monkeypatch: Any) -> None:
    from salesops.core import pdf as core_pdf

    settings.SALESOPS_PDF_FONT = NOTO_CFF
    monkeypatch.setattr(core_pdf, "PDF_FONT_PATHS", ())
    with pytest.raises(ServiceError) as err:
        register_pdf_font()
    assert err.value.code == "pdf_font_missing"


# --------------------------------------------------------------------------- API


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_api_statements_follow_the_same_rules(
    world: World, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    mine = client.get("/api/comp/statements/mine", **bearer(world.sm_user))
    assert mine.status_code == 200
    [st_out] = mine.json()["results"]
    assert (st_out["member_no"], st_out["view"], st_out["total"], st_out["payable"]) == (
        "SM01", "full", "14615.38", "14615.38",
    )  # fmt: skip
    assert st_out["lines"][0]["formula"] == (
        "个人业绩 30000.00 ≥ 20000 → 20% × 30000.00 × 0.9 ÷ 1.17 = 4615.38"
    )
    assert st_out["overrides"][0]["source_members"] == ["SR00", "SR01", "SR02", "SR03"]
    assert st_out["progress"]["missing"] == ["差 2 位亲自培训 SR", "差 20,000.00 元亲自培训SR业绩"]
    url = f"/api/comp/runs/{run.pk}/statements/SR00"
    assert client.get(url, **bearer(world.sm_user)).status_code == 404  # seed plan: none
    set_upline_visibility(run, "summary")
    summary = client.get(url, **bearer(world.sm_user)).json()
    assert (summary["view"], summary["pv"], summary["total"], summary["lines"]) == (
        "summary", "20000.00", "4076.92", None,
    )  # fmt: skip
    assert client.get(url, **bearer(world.lone_user)).status_code == 404
    assert client.get(url, **bearer(world.finance)).json()["view"] == "full"
    assert client.get("/api/comp/statements/mine", **bearer(world.finance)).status_code == 404


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_terminated_member_statement_says_no_rank_evaluation(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    Member.objects.filter(pk=world.lone.pk).update(status=MemberStatus.TERMINATED)
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    body = (
        login(world.lone_user)
        .get(reverse("compensation:statement", args=[run.pk, "SR99"]))
        .content.decode()
    )
    assert "会员已终止，不参与职级评定" in body


@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_api_my_statements_query_count_is_bounded(
    world: World, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    # Each statement costs its lines and their dispute threads only: the run, the result
    # and the current-run check come with my_results (was five queries a statement).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run_period(world.finance, django_capture_on_commit_callbacks)
    with CaptureQueriesContext(connection) as seen:
        resp = client.get("/api/comp/statements/mine", **bearer(world.sm_user))
    assert resp.status_code == 200 and len(resp.json()["results"]) == 1
    per_statement = [
        q["sql"]
        for q in seen.captured_queries
        if "compensation_commissionline" in q["sql"] or "compensation_dispute" in q["sql"]
    ]
    assert len(per_statement) <= 3, per_statement
    assert not [q for q in seen.captured_queries if 'FROM "compensation_commissionrun"' in q["sql"]]


@needs_pdf_font
@pytest.mark.django_db
@pytest.mark.usefixtures("immediate_tasks")
def test_statement_pdf_survives_control_characters_in_stored_names(
    world: World, django_capture_on_commit_callbacks: Any
) -> None:
    """A name stored before the shared rule (or by SQL) still prints: each control
    character becomes U+FFFD, as in the xlsx exports."""
    run = run_period(world.finance, django_capture_on_commit_callbacks)
    # BEL and ESC, not NUL: PostgreSQL stores no NUL in text
    Member.objects.filter(member_no="SM01").update(name="王\x07经\x1b理")
    resp = login(world.sm_user).get(reverse("compensation:statement_pdf", args=[run.pk, "SM01"]))
    assert resp.status_code == 200
    text = pdf_text(resp.content)
    assert "SM01" in text and "¥14,615.38" in text and "\x1b" not in text and "\x07" not in text
