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
from reportlab.pdfgen import canvas
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


def document(flowables: Iterable, *, title: str, pagesize=A4, footer: str = "", show=None) -> bytes:
    """Lay out flowables on pages whose footer names the show (or ``footer``), the page as
    "N / M" and when it was printed, in the show's zone; return the PDF bytes."""
    register_fonts()
    buf = io.BytesIO()
    doc = SimpleDocTemplate(buf, pagesize=pagesize, title=title, author="crm-expo",
                            leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
    left = " · ".join(part for part in (show.name if show is not None else "", footer or title) if part)
    right = _printed_at(show)

    class Canvas(NumberedCanvas):
        def footer(self, page: int, pages: int) -> None:
            self.saveState()
            self.setFont(FONT, 8)
            self.setFillColor(colors.grey)
            self.drawString(18 * mm, 10 * mm, left)
            self.drawRightString(pagesize[0] - 18 * mm, 10 * mm, f"{right} · {page} / {pages}")
            self.restoreState()

    doc.build(list(flowables), canvasmaker=Canvas)
    return buf.getvalue()


def _printed_at(show) -> str:
    """"Printed 2026-12-07 18:05 (Asia/Shanghai)": the show's zone, else the app's."""
    from zoneinfo import ZoneInfo

    from flask import current_app, has_app_context
    from flask_babel import gettext as _
    zone = getattr(show, "timezone", None) or (current_app.config.get("TIMEZONE") if has_app_context() else None) \
        or "UTC"
    try:
        now = dt.datetime.now(ZoneInfo(zone))
    except (KeyError, ValueError):
        zone, now = "UTC", dt.datetime.now(dt.UTC)
    return _("Printed %(when)s (%(zone)s)", when=now.strftime("%Y-%m-%d %H:%M"), zone=zone)


class NumberedCanvas(canvas.Canvas):
    """A canvas that knows the number of pages when it draws each page's footer: pages are
    kept until the end, then drawn (ReportLab's own recipe for "page N of M")."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for n, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self.footer(n, total)
            super().showPage()
        super().save()

    def footer(self, page: int, pages: int) -> None:
        pass


__all__ = ["FONT", "FONT_BOLD", "document", "para", "register_fonts", "styles", "table", "Spacer", "mm"]
