"""The printable quote (报价单, A4, Chinese): company, customer, validity, the lines with
list and quoted prices, the total and the discount — what the page shows."""

from __future__ import annotations

import io
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from salesops.core.money import format_money
from salesops.core.pdf import pdf_table, pdf_text, register_pdf_font
from salesops.org.models import Department, DepartmentKind
from salesops.sales.models import Quote, QuoteLine


def quote_pdf_bytes(quote: Quote, lines: list[QuoteLine]) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer

    font = register_pdf_font()
    title = ParagraphStyle("title", fontName=font, fontSize=18, leading=24, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    company = Department.objects.filter(kind=DepartmentKind.COMPANY).order_by("id").first()
    story: list[Any] = [
        Paragraph(pdf_text(company.name if company else ""), body),
        Paragraph(pgettext("one", "报价单"), title),
        Spacer(1, 4 * mm),
        pdf_table(
            [
                [_("报价单号"), quote.quote_no, _("报价日期"), quote.quote_date.isoformat()],
                [_("客户"), quote.customer.name, _("客户联系人"), quote.contact_name or "-"],
                [_("报价主题"), quote.title, _("有效期至"), quote.valid_until.isoformat()],
                [_("销售代表"), quote.owner.name, _("状态"), quote.get_status_display()],
            ],
            [25 * mm, 60 * mm, 25 * mm, 60 * mm],
            font,
            body,
        ),
        Spacer(1, 5 * mm),
    ]
    rows: list[list[object]] = [
        [_("序号"), _("商品编码"), _("商品名称"), _("数量"), _("原价"), _("报价单价"), _("金额")]
    ]
    for i, ln in enumerate(lines, start=1):
        rows.append(
            [
                i,
                ln.product.sku,
                ln.product.name,
                f"{ln.quantity.normalize():f} {ln.product.unit}",
                format_money(ln.list_price),
                format_money(ln.unit_price),
                format_money(ln.amount),
            ]
        )
    rows.append(["", "", _("合计"), "", format_money(quote.list_total), "",
                 format_money(quote.total_amount)])  # fmt: skip
    widths = [12 * mm, 24 * mm, 44 * mm, 20 * mm, 24 * mm, 24 * mm, 26 * mm]
    story.append(pdf_table(rows, widths, font, body))
    story.append(Spacer(1, 4 * mm))
    story.append(
        Paragraph(
            pdf_text(
                _("整单折扣 %(d)s%%。本报价有效期至 %(v)s，逾期需重新报价。")
                % {"d": quote.discount, "v": quote.valid_until.isoformat()}
            ),
            body,
        )
    )
    if quote.note:
        story.append(Paragraph(pdf_text(_("备注：") + quote.note), body))
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"{pgettext('one', '报价单')} {quote.quote_no}",
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    doc.build(story)
    return buf.getvalue()
