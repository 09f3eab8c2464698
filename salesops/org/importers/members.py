"""会员导入: member_no, name, phone, sponsor_no, joined_on, status, title. New members
only (a sponsor is changed through a 推荐人变更 request, never by an import); a sponsor
may be a member already in the database or one anywhere in the same file."""

from __future__ import annotations

from functools import partial

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _l

from salesops.core.errors import ServiceError
from salesops.core.imports.common import CollectingImporter, in_batches, order_parents_first
from salesops.core.imports.engine import Ctx
from salesops.core.imports.schema import (
    Col,
    choice_parser,
    parse_code,
    parse_date,
    parse_phone,
    parse_text,
)
from salesops.org.models import Member, MemberStatus, Rank
from salesops.org.services.members import MemberSeed, members_bulk_create


class MemberImporter(CollectingImporter):
    entity = "members"
    title = _l("会员")
    object_type = "org.member"
    key = "member_no"
    columns = [
        Col(
            "member_no",
            _l("会员编号"),
            partial(parse_code, max_length=32),
            True,
            ("会员号", "编号"),
            "M0000001",
        ),
        Col("name", _l("姓名"), partial(parse_text, max_length=64), True, ("会员姓名",), "李四"),
        Col("phone", _l("手机号"), parse_phone, False, ("手机", "电话"), "13700137000"),
        Col(
            "sponsor_no",
            _l("推荐人编号"),
            partial(parse_code, max_length=32),
            False,
            ("推荐人",),
            "",
        ),
        Col("joined_on", _l("加入日期"), parse_date, True, ("入会日期",), "2026-01-15"),
        Col("status", _l("状态"), choice_parser(MemberStatus), False, ("会员状态",), "正常"),
        Col("title", _l("职级"), choice_parser(Rank), False, ("荣衔",), "SR"),
    ]

    def check(self, ctx: Ctx) -> None:
        rows = self.rows
        nos = list(rows)
        existing: set[str] = set()
        for batch in in_batches(nos):
            existing.update(
                Member.objects.filter(member_no__in=batch).values_list("member_no", flat=True)
            )
        outside = sorted(
            {
                r.values["sponsor_no"]
                for r in rows.values()
                if r.values.get("sponsor_no") and r.values["sponsor_no"] not in rows
            }
        )
        sponsors: dict[str, str] = {}
        for batch in in_batches(outside):
            sponsors.update(
                Member.objects.filter(member_no__in=batch).values_list("member_no", "status")
            )
        parent_of: dict[str, str | None] = {}
        for no, prow in rows.items():
            if no in existing:
                ctx.report.add(
                    prow.row, self.label("member_no"), _("会员编号 %(no)s 已存在") % {"no": no}
                )
            sponsor = prow.values.get("sponsor_no")
            if sponsor == no:
                ctx.report.add(prow.row, self.label("sponsor_no"), _("推荐人不能是本人"))
                continue
            if sponsor and sponsor not in rows:
                if sponsor in self.bad_keys:
                    continue
                if sponsor not in sponsors:
                    self.ref_error(ctx, prow, "sponsor_no", sponsor, _("推荐人"))
                elif sponsors[sponsor] != MemberStatus.ACTIVE:
                    ctx.report.add(
                        prow.row, self.label("sponsor_no"), _("推荐人已终止，不能再推荐新会员")
                    )
            parent_of[no] = sponsor if sponsor in rows else None
        self.order, cyclic = order_parents_first(parent_of, nos)
        for no in sorted(cyclic, key=lambda n: rows[n].row):
            ctx.report.add(rows[no].row, self.label("sponsor_no"), _("推荐关系形成循环"))
        ctx.report.created += len(rows)
        ctx.report.count(str(self.title), created=len(rows))

    def write(self, ctx: Ctx) -> None:
        seeds = [
            MemberSeed(
                member_no=no,
                name=self.rows[no].values["name"],
                joined_on=self.rows[no].values["joined_on"],
                sponsor_no=self.rows[no].values.get("sponsor_no") or "",
                phone=self.rows[no].values.get("phone", ""),
                status=self.rows[no].values.get("status", MemberStatus.ACTIVE),
                title=self.rows[no].values.get("title", ""),
            )
            for no in self.order
        ]
        try:
            members_bulk_create(actor=ctx.actor, seeds=seeds)
        except ServiceError as exc:
            ctx.report.add(0, exc.field or "", exc.message)
