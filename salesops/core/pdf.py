"""PDF building blocks shared by the modules that print (statements, quotes): an
embedded Chinese TrueType font, and paragraphs and tables that escape what data holds."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from salesops.core.errors import ServiceError
from salesops.core.text import replace_control_chars

# A TrueType (glyf) CJK font embedded in every PDF, so no reader shows missing-glyph boxes
# (the CID font STSong-Light is not embedded and needs Adobe's Asian font pack). reportlab
# cannot embed CFF outlines, which rules out Debian's fonts-noto-cjk; these Debian packages
# ship TrueType ones. SALESOPS_PDF_FONT (a .ttf/.ttc path) comes first when set.
PDF_FONT_PATHS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",  # fonts-droid-fallback
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)
PDF_FONT_PACKAGE = "fonts-wqy-microhei"


def pdf_font_missing() -> ServiceError:
    return ServiceError(
        "pdf_font_missing",
        _(
            "无法生成 PDF：服务器上没有可嵌入的中文字体。"
            "请管理员安装 %(package)s（apt-get install %(package)s），"
            "或在 SALESOPS_PDF_FONT 中设置一个 TrueType 中文字体文件的路径。"
        )
        % {"package": PDF_FONT_PACKAGE},
        status=503,
    )


def pdf_font_candidates() -> list[str]:
    configured = str(getattr(settings, "SALESOPS_PDF_FONT", "") or "")
    return ([configured] if configured else []) + list(PDF_FONT_PATHS)


def register_pdf_font() -> str:
    """Register the first usable CJK TrueType font with reportlab; its registered name.

    Raises ``pdf_font_missing`` (a readable 503) when no candidate exists or loads.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFError, TTFont

    for path in pdf_font_candidates():
        if not os.path.isfile(path):
            continue
        name = "CJK-" + os.path.splitext(os.path.basename(path))[0]
        if name in pdfmetrics.getRegisteredFontNames():
            return name
        try:
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        except (TTFError, OSError):  # e.g. CFF outlines, which reportlab cannot embed
            continue
        return name
    raise pdf_font_missing()


def pdf_text(text: object) -> str:
    """``text`` for reportlab's Paragraph markup: control characters become U+FFFD (as in
    xlsx) and markup characters are escaped."""
    shown = replace_control_chars(str(text))
    return shown.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def pdf_table(rows: list[list[object]], widths: list[float], font: str, style: Any) -> Any:
    """A grid table of escaped paragraphs with a shaded header row."""
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, Table, TableStyle

    t = Table(
        [[Paragraph(pdf_text(c), style) for c in row] for row in rows],
        colWidths=widths,
        repeatRows=1,
    )
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
