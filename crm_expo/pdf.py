"""ReportLab base for every printed document: CJK fonts, page templates, tables, charts.

Chinese must render and extract correctly: an embedded TrueType CJK font when the machine
has one (WenQuanYi Zen/Micro Hei from Debian's fonts-wqy-*, or CRM_EXPO_PDF_FONT), else
ReportLab's built-in CID font STSong-Light (not embedded; readers supply it).
Every document function returns bytes; views send them, the CLI writes them."""
from __future__ import annotations

import datetime as dt
import io
import os
from collections.abc import Iterable

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

FONT = "CJK"
FONT_BOLD = "CJK-Bold"
_CANDIDATES = (
    os.environ.get("CRM_EXPO_PDF_FONT", ""),
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
)
_registered: str | None = None


def register_fonts() -> str:
    """Register the CJK font once; return which one ("ttf:<path>" or "cid:STSong-Light")."""
    global _registered
    if _registered:
        return _registered
    for path in _CANDIDATES:
        if path and os.path.exists(path):
            try:
                pdfmetrics.registerFont(TTFont(FONT, path, subfontIndex=0))
                pdfmetrics.registerFont(TTFont(FONT_BOLD, path, subfontIndex=0))
                _registered = f"ttf:{path}"
                return _registered
            except Exception:
                continue
    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    pdfmetrics.registerFontFamily("STSong-Light", normal="STSong-Light", bold="STSong-Light")
    # Aliases so that callers always say FONT / FONT_BOLD.
    globals()["FONT"] = globals()["FONT_BOLD"] = "STSong-Light"
    _registered = "cid:STSong-Light"
    return _registered


def styles() -> dict[str, ParagraphStyle]:
    register_fonts()
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontName=FONT_BOLD, fontSize=18, leading=24),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=FONT_BOLD, fontSize=13, leading=18),
        "body": ParagraphStyle("body", parent=base["BodyText"], fontName=FONT, fontSize=10, leading=14),
        "small": ParagraphStyle("small", parent=base["BodyText"], fontName=FONT, fontSize=8, leading=10,
                                textColor=colors.grey),
        "cell": ParagraphStyle("cell", parent=base["BodyText"], fontName=FONT, fontSize=9, leading=11),
    }


def para(text: str, style: str = "body") -> Paragraph:
    from xml.sax.saxutils import escape
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), styles()[style])


def table(rows: list[list], col_widths=None, header: bool = True) -> Table:
    st = styles()
    data = [[c if not isinstance(c, (str, int, float)) else para(c, "cell") for c in row] for row in rows]
    t = Table(data, colWidths=col_widths, repeatRows=1 if header else 0)
    style = [("FONTNAME", (0, 0), (-1, -1), FONT), ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
             ("VALIGN", (0, 0), (-1, -1), "TOP")]
    if header:
        style += [("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef7"))]
    t.setStyle(TableStyle(style))
    del st
    return t


def document(flowables: Iterable, *, title: str, pagesize=A4, footer: str = "") -> bytes:
    """Lay out flowables on numbered pages with a footer; return the PDF bytes."""
    register_fonts()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=pagesize, title=title, author="crm-expo",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")

    def on_page(canvas, d):
        canvas.saveState()
        canvas.setFont(FONT, 8)
        canvas.setFillColor(colors.grey)
        canvas.drawString(18 * mm, 10 * mm, f"{footer or title} · {stamp}")
        canvas.drawRightString(pagesize[0] - 18 * mm, 10 * mm, str(d.page))
        canvas.restoreState()

    doc.build(list(flowables), onFirstPage=on_page, onLaterPages=on_page)
    return buf.getvalue()


__all__ = ["FONT", "FONT_BOLD", "document", "para", "register_fonts", "styles", "table", "Spacer", "mm"]
