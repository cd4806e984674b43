"""Printed documents of the onsite plugin: badges and the attendance report (bytes)."""
from __future__ import annotations

import io

from flask_babel import gettext as _
from reportlab.graphics.barcode import qrencoder
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, A6
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from crm_expo import pdf as core_pdf

# The colour band tells the gate staff the category at a glance.
CATEGORY_COLOURS = {"trade": "#1f5fbf", "public": "#2e9d4f", "media": "#e07b00", "vip": "#b8860b",
                    "exhibitor_staff": "#c0392b"}
SIZES = {"a6": A6, "90x130": (90 * mm, 130 * mm)}


def _fit(text: str, font: str, size: float, width: float, minimum: float = 7) -> float:
    while size > minimum and stringWidth(text, font, size) > width:
        size -= 1
    return size


def _badge(c: canvas.Canvas, b: dict, x: float, y: float, w: float, h: float) -> None:
    """One badge with its lower-left corner at (x, y)."""
    font = core_pdf.FONT
    pad = 6 * mm
    band = 16 * mm
    c.setFillColor(colors.HexColor(CATEGORY_COLOURS.get(b["category"], "#555555")))
    c.rect(x, y, w, band, stroke=0, fill=1)
    c.setFillColor(colors.white)
    c.setFont(font, 14)
    c.drawCentredString(x + w / 2, y + band / 2 - 5, b["category_title"])
    c.setFillColor(colors.black)
    top = y + h - pad
    if b.get("show"):       # which show the badge is for, above the name
        size = _fit(b["show"], font, 9, w - 2 * pad, minimum=6)
        c.setFont(font, size)
        c.setFillColor(colors.HexColor("#555555"))
        top -= size
        c.drawCentredString(x + w / 2, top, b["show"])
        c.setFillColor(colors.black)
        top -= 4
    name = b["name_zh"] or b["name_en"]
    size = _fit(name, font, 26, w - 2 * pad)
    c.setFont(font, size)
    top -= size
    c.drawCentredString(x + w / 2, top, name)
    if b["name_zh"] and b["name_en"]:
        size = _fit(b["name_en"], font, 14, w - 2 * pad)
        c.setFont(font, size)
        top -= size + 4
        c.drawCentredString(x + w / 2, top, b["name_en"])
    for company in filter(None, (b["company_zh"], b["company_en"])):
        size = _fit(company, font, 11, w - 2 * pad)
        c.setFont(font, size)
        top -= size + 4
        c.drawCentredString(x + w / 2, top, company)
    side = min(w - 2 * pad, top - (y + band) - 14 * mm, 50 * mm)
    qr_y = y + band + 9 * mm
    _qr(c, b["code"], x + (w - side) / 2, qr_y, side)
    c.setFont(font, 10)
    c.drawCentredString(x + w / 2, qr_y - 4 * mm, b["code"])


def _qr(c: canvas.Canvas, text: str, x: float, y: float, side: float) -> None:
    """A QR code (ReportLab's encoder, error correction M) drawn as one path of dark runs.

    ReportLab's QrCodeWidget builds a Shape per module and scores all eight masks, which
    costs ~100 ms a badge; a fixed mask is as readable for a 12-character code, and one path
    per code keeps a badge well under the 20 ms target. A 4-module quiet zone is left white."""
    qr = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    qr.addData(text)
    qr.version = qr.calculate_version()
    qr.makeImpl(False, 0)
    n = qr.getModuleCount()
    cell = side / (n + 8)
    path = c.beginPath()
    for row in range(n):
        col = 0
        while col < n:
            if qr.isDark(row, col):
                start = col
                while col < n and qr.isDark(row, col):
                    col += 1
                path.rect(x + (4 + start) * cell, y + side - (5 + row) * cell, (col - start) * cell, cell)
            col += 1
    c.setFillColor(colors.black)
    c.drawPath(path, stroke=0, fill=1)


def render_badges(badges: list[dict], size: str = "a6") -> bytes:
    """Badges as a PDF: 'a6' (one per A6 page), 'a4x4' (four A6 badges per A4 sheet, cut
    lines), '90x130' (badge-printer stock)."""
    core_pdf.register_fonts()
    buf = io.BytesIO()
    page = A4 if size == "a4x4" else SIZES[size]
    c = canvas.Canvas(buf, pagesize=page, pageCompression=1)
    c.setTitle(_("Badges"))
    if size == "a4x4":
        w, h = page[0] / 2, page[1] / 2
        slots = [(0, h), (w, h), (0, 0), (w, 0)]
        for i, b in enumerate(badges):
            if i and i % 4 == 0:
                c.showPage()
            if i % 4 == 0:
                c.setStrokeColor(colors.lightgrey)
                c.setDash(2, 3)
                c.line(w, 0, w, page[1])
                c.line(0, h, page[0], h)
                c.setDash()
            sx, sy = slots[i % 4]
            _badge(c, b, sx, sy, w, h)
    else:
        for b in badges:
            _badge(c, b, 0, 0, page[0], page[1])
            c.showPage()
    c.save()
    return buf.getvalue()


def attendance_report(show, figures: dict) -> bytes:
    """The audited attendance report: the key figures, one table per breakdown, then a methods
    page that states every rule in words (all from ``attendance.figures``)."""
    from reportlab.platypus import PageBreak

    from crm_expo.i18n import local_name
    from crm_expo.pdf import Spacer, document, para, table

    from .attendance import tables
    f = figures
    flow = [para(_("Attendance report"), "title"), para(local_name(show.name_zh, show.name_en), "h2"),
            para(_("Every figure is counted from the scan records of the gates: one record per scan, admitted "
                   "or refused, with gate, time and reason. Visitors are trade visitors, public and VIP "
                   "guests; exhibitor staff and media are never counted as visitors."))]
    if not f["has_scans"]:
        flow.append(para(_("No scans are recorded for this show: every figure below is zero.")))
    sections = tables(f)
    methods = sections.pop()
    for title, header, rows in sections:
        flow += [Spacer(1, 5 * mm), para(title, "h2")]
        if rows:
            flow.append(table([header] + [[_cell(v) for v in row] for row in rows]))
        else:
            flow.append(para(_("None.")))
    flow += [PageBreak(), para(methods[0], "h2")]
    flow += [para(f"{i}. {row[0]}") for i, row in enumerate(methods[2], start=1)]
    return document(flow, title=_("Attendance report") + f" — {show.slug}", show=show)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.1f}%"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
