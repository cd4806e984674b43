"""The floor plan of a hall as SVG (for the page) and as a ReportLab drawing (for print).
The SVG is built as a string: the static geometry (cached per hall layout version) joined
with one query's statuses and names of the taken or blocked booths."""
from __future__ import annotations

from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

ATTR = {'"': "&quot;", "'": "&#39;"}     # booth codes go into attributes too
COLOURS = {"available": "#c8ecc8", "held": "#ffe08a", "reserved": "#f7b267", "sold": "#e57373",
           "blocked": "#a0a0a0"}
STATUS_TITLES = {"available": _l("Available"), "held": _l("Held"), "reserved": _l("Reserved"),
                 "sold": _l("Sold"), "blocked": _l("Blocked")}


def _label(row, en: bool) -> str:
    return ((row.name_en or row.name_zh) if en else (row.name_zh or row.name_en)) or ""


def _english() -> bool:
    from flask_babel import get_locale
    return str(get_locale() or "zh").startswith("en")


# Drawn geometry per (database, hall id, layout version, URL prefix): the booths' rectangles,
# codes and links do not change between renders; only statuses and names do. A layout change
# stamps Hall.layout_version anew, so a stale entry is never used (each worker keeps its own).
_GEOMETRY: dict = {}
_GEOMETRY_MAX = 64


def _geometry(hall, version: int, prefix: str, load_rows) -> tuple:
    from crm_expo.extensions import db
    key = (str(db.engine.url), hall.id, version, prefix)
    cached = _GEOMETRY.get(key)
    if cached is not None:
        return cached
    sizes: dict = {}     # most booths share a size: format it once
    parts = []
    for bid, code_raw, x, y, w, d in load_rows():
        size = sizes.get((w, d))
        if size is None:
            font = max(40, min(w, d) // 5)
            size = sizes[(w, d)] = (f"{w / 100:g}×{d / 100:g} m", font, int(font * 0.8))
        label, font, small = size
        code = escape(code_raw, ATTR)
        parts.append((bid,
                      f'<a href="{prefix}{quote(code_raw)}" class="booth" data-code="{code}" data-status="',
                      f'"><title>{code} · {label} · ',
                      f'</title><rect x="{x}" y="{y}" width="{w}" height="{d}" fill="',
                      f'" stroke="#333" stroke-width="8"/><text x="{x + 15}" y="{y + font + 10}" '
                      f'font-size="{font}">{code}</text>',
                      f'<text x="{x + 15}" y="{y + 2 * font + 20}" font-size="{small}">'))
    cached = tuple(parts)
    if len(_GEOMETRY) >= _GEOMETRY_MAX:
        _GEOMETRY.clear()
    _GEOMETRY[key] = cached
    return cached


def hall_svg(hall, version: int, live: dict, load_geometry) -> str:
    """One <svg> in centimetre units; each booth a link to its page, coloured by status.

    ``version``: the hall's layout version (the geometry cache key);
    ``live``: {booth id: (status, name_zh, name_en)} for the booths that are not available
    (taken or blocked); ``load_geometry()``: rows (id, code, x, y, width, depth) in drawing
    order, called only when the hall's geometry is not cached yet."""
    prefix = url_for("booths.booth", code="__CODE__").split("__CODE__")[0]
    geometry = _geometry(hall, version, prefix, load_geometry)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="floorplan" role="group" '
           f'viewBox="0 0 {hall.width_cm} {hall.depth_cm}" data-hall="{escape(hall.code)}" '
           f'aria-label={quoteattr(_("Floor plan of hall %(hall)s", hall=hall.code))}>'
           f'<rect x="0" y="0" width="{hall.width_cm}" height="{hall.depth_cm}" fill="#f8f9fb" stroke="#555" '
           f'stroke-width="20"/>']
    en, titles = _english(), {k: str(v) for k, v in STATUS_TITLES.items()}   # translate once, not per booth
    add = out.append
    get = live.get
    names: dict = {}
    for bid, head, title, rect, text, name_text in geometry:
        state = get(bid)
        if state is None:
            add(f"{head}available{title}{titles['available']}{rect}{COLOURS['available']}{text}</a>")
            continue
        status, name_zh, name_en = state
        name = ((name_en or name_zh) if en else (name_zh or name_en)) or ""
        if status == "blocked" or not name:
            add(f"{head}{status}{title}{titles[status]}{rect}{COLOURS[status]}{text}</a>")
            continue
        escaped = names.get(name)          # an exhibitor with many booths: escape its name once
        if escaped is None:
            escaped = names[name] = (escape(name), escape(name[:24]))
        add(f"{head}{status}{title}{titles[status]} · {escaped[0]}{rect}{COLOURS[status]}{text}"
            f"{name_text}{escaped[1]}</text></a>")
    out.append("</svg>")
    return "".join(out)


def hall_drawing(hall, rows, width_pt: float, height_pt: float | None = None):
    """The same plan as a ReportLab Drawing scaled to fit ``width_pt`` (and ``height_pt``: one
    page) for a printable PDF. Labels are cut to fit inside their booth."""
    from reportlab.graphics.shapes import Drawing, Rect, String
    from reportlab.lib import colors

    from crm_expo.pdf import FONT, register_fonts
    register_fonts()
    from crm_expo import pdf as core_pdf
    font = core_pdf.FONT or FONT
    en = _english()
    scale = width_pt / hall.width_cm
    if height_pt is not None:
        scale = min(scale, height_pt / hall.depth_cm)
    width, height = hall.width_cm * scale, hall.depth_cm * scale
    d = Drawing(width, height)
    d.add(Rect(0, 0, width, height, fillColor=colors.HexColor("#f8f9fb"), strokeColor=colors.black))
    for row in rows:
        b = row
        # PDF y grows upwards; the plan's y grows downwards.
        x, y = b.x_cm * scale, height - (b.y_cm + b.depth_cm) * scale
        d.add(Rect(x, y, b.width_cm * scale, b.depth_cm * scale, fillColor=colors.HexColor(COLOURS[row.status]),
                   strokeColor=colors.black, strokeWidth=0.3))
        size = max(3, min(b.width_cm, b.depth_cm) * scale / 4)
        inside = b.width_cm * scale - 2
        code, code_size = _fit(b.code, font, size, inside)
        d.add(String(x + 1, y + b.depth_cm * scale - code_size - 1, code, fontName=font, fontSize=code_size))
        name = _label(row, en) if row.status in ("held", "reserved", "sold") else ""
        if name:
            name, name_size = _fit(name, font, size * 0.8, inside)
            d.add(String(x + 1, y + 1, name, fontName=font, fontSize=name_size))
    return d


def _fit(text: str, font: str, size: float, width: float) -> tuple[str, float]:
    """``text`` and a font size at which it fits ``width`` points: smaller type first (down to
    half, and never under 3 pt), then cut with … when even that is too wide."""
    from reportlab.pdfbase.pdfmetrics import stringWidth
    natural = stringWidth(text, font, size)
    if natural <= width:
        return text, size
    fitted, smallest = size * width / natural, max(3.0, size / 2)
    if fitted >= smallest:
        return text, fitted
    size = smallest
    while text and stringWidth(text + "…", font, size) > width:
        text = text[:-1]
    return (text + "…" if text and stringWidth(text, font, size) > 0 else text), size
