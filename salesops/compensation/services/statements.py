"""Statements (结算单): one member's month assembled for the page, the PDF and the API.

The lines and their formulas are already stored by the run; this module only groups them
(bonuses, the override by generation with the downline members whose volume paid it,
adjustments of closed months), adds the totals and says what is missing for the next rank.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from salesops.compensation.engine.explain import RULE_ADJUSTMENT, RULE_OVERRIDE
from salesops.compensation.engine.plan import RankPlan
from salesops.compensation.models import (
    CommissionLine,
    CommissionResult,
    CommissionRun,
    Dispute,
    DisputeMessage,
)
from salesops.compensation.selectors import VIEW_FULL, VIEW_SUMMARY
from salesops.compensation.selectors.formulas import bonus_name, line_formula
from salesops.compensation.selectors.plans import rank_plan_of
from salesops.core.money import format_money
from salesops.core.pdf import (  # noqa: F401 (the statements' PDF names, kept)
    PDF_FONT_PACKAGE,
    pdf_font_candidates,
    pdf_font_missing,
    register_pdf_font,
)
from salesops.core.text import replace_control_chars
from salesops.org.models import MemberStatus, rank_label

# --------------------------------------------------------------------------- rank progress


class RankInputs(Protocol):
    paid_as: str
    pv: Decimal
    sr_count: int
    sr_volume: Decimal


@dataclass(frozen=True)
class Shortfall:
    """One requirement of the next rank not met this month."""

    requirement: str  # "pv" | "sr_count" | "sr_volume"
    missing: Decimal
    text: str


@dataclass(frozen=True)
class RankProgress:
    current: str  # paid-as rank code, "" for none
    next_rank: str  # "" when already at the top rank
    next_rank_name: str
    missing: tuple[Shortfall, ...]
    note: str = ""

    @property
    def is_top(self) -> bool:
        return not self.next_rank and not self.note


def rank_progress(plan: RankPlan, result: RankInputs, *, terminated: bool = False) -> RankProgress:
    """What the member still lacks this month for the rank above their paid-as rank.

    Requirements are the plan's ladder (all ``≥``): own pv, the number of personally
    trained SRs and their volume. At the top rank nothing is missing. A terminated member
    qualifies for nothing, so no shortfall is meaningful: a note says so instead.
    """
    current = result.paid_as or ""
    if terminated:
        return RankProgress(current, "", "", (), note=_("会员已终止，不参与职级评定"))
    codes = plan.rank_codes
    idx = codes.index(current) + 1 if current in codes else 0
    if idx >= len(plan.ranks):
        return RankProgress(current, "", "", ())
    nxt = plan.ranks[idx]
    missing: list[Shortfall] = []
    pv_gap = nxt.pv - Decimal(result.pv)
    if pv_gap > 0:
        missing.append(
            Shortfall("pv", pv_gap, _("差 %(amount)s 元个人业绩") % {"amount": f"{pv_gap:,.2f}"})
        )
    count_gap = nxt.sr_count - int(result.sr_count)
    if count_gap > 0:
        missing.append(
            Shortfall(
                "sr_count",
                Decimal(count_gap),
                _("差 %(count)d 位亲自培训 SR") % {"count": count_gap},
            )
        )
    vol_gap = nxt.sr_volume - Decimal(result.sr_volume)
    if vol_gap > 0:
        missing.append(
            Shortfall(
                "sr_volume",
                vol_gap,
                _("差 %(amount)s 元亲自培训SR业绩") % {"amount": f"{vol_gap:,.2f}"},
            )
        )
    return RankProgress(current, nxt.code, nxt.name, tuple(missing))


# --------------------------------------------------------------------------- assembly


@dataclass
class StatementLine:
    line: CommissionLine
    dispute: Dispute | None = None

    @property
    def name(self) -> str:
        """The bonus name in the reader's language (``selectors.formulas``)."""
        return bonus_name(self.line.name)

    @property
    def formula(self) -> str:
        """The formula in the reader's language, rendered from the line's inputs."""
        return line_formula(self.line)


@dataclass
class OverrideGeneration:
    generation: int
    lines: list[StatementLine]
    subtotal: Decimal


@dataclass
class Statement:
    run: CommissionRun
    result: CommissionResult
    view: str
    plan: RankPlan
    lines: list[StatementLine] = field(default_factory=list)
    overrides: list[OverrideGeneration] = field(default_factory=list)
    adjustments: list[StatementLine] = field(default_factory=list)
    progress: RankProgress | None = None

    @property
    def show_lines(self) -> bool:
        return self.view != VIEW_SUMMARY

    @property
    def show_disputes(self) -> bool:
        return self.view == VIEW_FULL

    @property
    def total(self) -> Decimal:
        return self.result.total

    @property
    def adjustment(self) -> Decimal:
        return self.result.adjustment

    @property
    def payable(self) -> Decimal:
        """The month's total plus the corrections of closed months posted in it."""
        return self.result.total + self.result.adjustment

    @property
    def override_total(self) -> Decimal:
        return sum((g.subtotal for g in self.overrides), Decimal(0))

    @property
    def override_sources(self) -> list[str]:
        return [
            sl.line.source_member.member_no
            for g in self.overrides
            for sl in g.lines
            if sl.line.source_member is not None
        ]

    def all_lines(self) -> list[StatementLine]:
        return self.lines + [sl for g in self.overrides for sl in g.lines] + self.adjustments


def statement_build(*, run: CommissionRun, result: CommissionResult, view: str) -> Statement:
    """Group a member's stored lines for display. ``view`` limits what is loaded: a summary
    view reads no line at all, and only the full view reads the dispute threads."""
    plan = rank_plan_of(run.plan_version)
    st = Statement(run=run, result=result, view=view, plan=plan)
    if not st.show_lines:
        return st
    qs = (
        CommissionLine.objects.filter(run=run, member_id=result.member_id)
        .select_related("source_member")
        .order_by("seq")
    )
    if st.show_disputes:
        messages = DisputeMessage.objects.select_related("author").order_by("created_at", "id")
        qs = qs.prefetch_related(
            Prefetch(
                "disputes",
                queryset=Dispute.objects.order_by("id").prefetch_related(
                    Prefetch("messages", queryset=messages)
                ),
            )
        )
    by_gen: dict[int, list[StatementLine]] = defaultdict(list)
    for line in qs:
        dispute = None
        if st.show_disputes:
            found = list(line.disputes.all())
            dispute = found[0] if found else None
        sl = StatementLine(line=line, dispute=dispute)
        if line.rule == RULE_ADJUSTMENT:
            st.adjustments.append(sl)
        elif line.rule == RULE_OVERRIDE:
            by_gen[line.generation or 0].append(sl)
        else:
            st.lines.append(sl)
    st.overrides = [
        OverrideGeneration(
            generation=g,
            lines=by_gen[g],
            subtotal=sum((sl.line.amount for sl in by_gen[g]), Decimal(0)),
        )
        for g in sorted(by_gen)
    ]
    st.progress = rank_progress(
        plan, result, terminated=result.member.status == MemberStatus.TERMINATED
    )
    return st


# --------------------------------------------------------------------------- PDF


def statement_pdf(st: Statement) -> bytes:
    """The statement as a Chinese PDF (A4): the same sections and amounts as the page."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font = register_pdf_font()
    title_style = ParagraphStyle("title", fontName=font, fontSize=16, leading=22)
    h_style = ParagraphStyle("h", fontName=font, fontSize=12, leading=18, spaceBefore=6)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    r, m = st.result, st.result.member

    def para(text: object) -> Paragraph:
        # Paragraph reads a small markup language: escape what the data might contain.
        # Control characters stored before the shared rule become U+FFFD (as in xlsx).
        shown = replace_control_chars(str(text))
        safe = shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Paragraph(safe, body)

    def table(rows: list[list[object]], widths: list[float]) -> Table:
        t = Table([[para(c) for c in row] for row in rows], colWidths=widths, repeatRows=1)
        t.setStyle(
            TableStyle(
                [
                    ("FONT", (0, 0), (-1, -1), font, 9),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef1f5")),
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#b8c0cc")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        return t

    story: list[Any] = [
        Paragraph(_("奖金结算单 %(period)s") % {"period": f"{st.run.period:%Y-%m}"}, title_style),
        Spacer(1, 4 * mm),
        table(
            [
                [_("会员编号"), m.member_no, _("姓名"), m.name],
                [_("当月职级"), rank_label(r.paid_as) or "-", _("荣衔"), r.title or "-"],
                [_("个人业绩"), format_money(r.pv), _("20号前业绩"), format_money(r.pv_by_cutoff)],
                [
                    _("亲自培训SR"),
                    f"{r.sr_count} / {format_money(r.sr_volume)}",
                    _("方案版本"),
                    f"{st.run.plan_version} · #{st.run.pk}",
                ],
                [_("本月合计"), format_money(st.total), _("调整"), format_money(st.adjustment)],
                [_("应发合计"), format_money(st.payable), "", ""],
            ],
            [28 * mm, 57 * mm, 28 * mm, 57 * mm],
        ),
    ]
    if st.show_lines:
        story += [Paragraph(_("奖金明细"), h_style)]
        rows: list[list[object]] = [[_("奖项"), _("计算公式"), _("金额")]]
        rows += [[sl.name, sl.formula, format_money(sl.line.amount)] for sl in st.lines]
        if len(rows) == 1:
            rows.append([_("本月没有奖金"), "", ""])
        story.append(table(rows, [30 * mm, 110 * mm, 30 * mm]))
        if st.overrides:
            story.append(Paragraph(st.plan.override.name, h_style))
            rows = [[_("代数"), _("下线会员"), _("计算公式"), _("金额")]]
            for g in st.overrides:
                for sl in g.lines:
                    src = sl.line.source_member
                    who = f"{src.member_no} {src.name}" if src is not None else ""
                    rows.append(
                        [
                            _("第%(n)d代") % {"n": g.generation},
                            who,
                            sl.formula,
                            format_money(sl.line.amount),
                        ]
                    )
            rows.append([_("小计"), "", "", format_money(st.override_total)])
            story.append(table(rows, [18 * mm, 35 * mm, 87 * mm, 30 * mm]))
        if st.adjustments:
            story.append(Paragraph(_("调整（已结账月份的更正）"), h_style))
            rows = [[_("所属月份"), _("奖项"), _("计算公式"), _("金额")]]
            for sl in st.adjustments:
                sp = sl.line.source_period
                rows.append(
                    [
                        f"{sp:%Y-%m}" if sp else "-",
                        sl.name,
                        sl.formula,
                        format_money(sl.line.amount),
                    ]
                )
            story.append(table(rows, [22 * mm, 30 * mm, 88 * mm, 30 * mm]))
        if st.progress is not None:
            story.append(Paragraph(_("职级进度"), h_style))
            story.append(para(progress_text(st.progress)))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"statement {st.run.period:%Y-%m} {m.member_no}",
    )
    doc.build(story)
    return buf.getvalue()


def progress_text(progress: RankProgress) -> str:
    """One sentence for the page, the PDF and the API."""
    if progress.note:
        return progress.note
    if not progress.next_rank:
        return _("已是最高职级")
    if not progress.missing:
        return _("已满足 %(rank)s 的全部条件") % {"rank": rank_label(progress.next_rank)}
    head = _("距 %(rank)s：") % {"rank": rank_label(progress.next_rank)}
    return head + _("；").join(s.text for s in progress.missing)
