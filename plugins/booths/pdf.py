"""Printed documents of the booths plugin: contract, invoice, floor plan, report sections.
Bilingual (中文 / English) whatever the reader's locale, as contracts are signed that way."""
from __future__ import annotations

from flask_babel import gettext as _
from reportlab.lib.pagesizes import A3, landscape

from crm_expo.extensions import db
from crm_expo.i18n import bilingual
from crm_expo.models import Organization, Show
from crm_expo.pdf import Spacer, document, mm, para, table
from plugins.exhibitors.models import Exhibitor

from . import operations as ops
from .floorplan import STATUS_TITLES, hall_drawing
from .models import TYPE_TITLES
from .operations.common import PAYMENT_METHOD_TITLES


def _booth_type(code: str) -> str:
    return bilingual(TYPE_TITLES[code]) if code in TYPE_TITLES else code


def _money(minor: int, currency: str) -> str:
    return f"{minor / 100:,.2f} {currency}"


def _parties(b):
    show = db.session.get(Show, b.show_id)
    org = db.session.get(Organization, db.session.get(Exhibitor, b.exhibitor_id).organization_id)
    return show, org


def contract_pdf(b) -> bytes:
    show, org = _parties(b)
    booth = b.booth
    q = b.price_breakdown or {}
    rows = [["项目 Item", "金额 Amount"],
            [f"基础价 Base ({q.get('rate_minor', 0) / 100:,.2f}/m² × {booth.area_m2:g} m²)",
             _money(q.get("base_minor", 0), b.currency)],
            ["角位加价 Corner surcharge", _money(q.get("corner_minor", 0), b.currency)],
            ["开口加价 Open-side surcharge", _money(q.get("open_sides_minor", 0), b.currency)],
            ["早鸟优惠 Early-bird discount", "-" + _money(q.get("early_bird_minor", 0), b.currency)]]
    if q.get("discount_rule"):
        rows.append([f"折扣 Discount: {q['discount_rule']}", "-" + _money(q.get("discount_minor", 0), b.currency)])
    if b.exception_approved_by_id:
        rows.append([f"特批价格 Approved exception: {b.exception_reason}", _money(b.price_minor, b.currency)])
    rows += [["合同总价 Contract price", _money(b.price_minor, b.currency)],
             ["定金 Deposit", _money(b.deposit_minor, b.currency)],
             ["尾款截止日 Balance due", b.balance_due.isoformat() if b.balance_due else "—"]]
    flow = [para(f"展位合同 Booth contract {b.contract_no}", "title"),
            para(f"{show.name_zh} / {show.name_en}", "h2"),
            para(f"参展商 Exhibitor: {org.name_zh} {org.name_en}"),
            para(f"展位 Booth: {booth.code} · {booth.hall.code} · {_booth_type(booth.type)} · "
                 f"{booth.width_cm / 100:g} × {booth.depth_cm / 100:g} m = {booth.area_m2:g} m² · "
                 f"开口 open sides {booth.open_sides}"),
            Spacer(1, 4 * mm), table(rows, col_widths=[110 * mm, 50 * mm]), Spacer(1, 8 * mm),
            para("主办方签字 Organizer ____________________     参展商签字 Exhibitor ____________________")]
    return document(flow, title=f"展位合同 Booth contract {b.contract_no}", show=show)


def invoice_pdf(payment) -> bytes:
    b = db.session.get(ops.Booking, payment.booking_id)
    show, org = _parties(b)
    rows = [["项目 Item", "金额 Amount"],
            [f"展位 Booth {b.booth.code} · 合同 contract {b.contract_no}", _money(payment.amount_minor, payment.currency)]]
    flow = [para(f"收款发票 Invoice {payment.invoice_no}", "title"), para(f"{show.name_zh} / {show.name_en}", "h2"),
            para(f"付款方 Paid by: {org.name_zh} {org.name_en}"),
            para(f"日期 Date: {payment.paid_on.isoformat()} · 方式 Method: {bilingual(PAYMENT_METHOD_TITLES.get(payment.method, payment.method))} · "
                 f"参考号 Reference: {payment.reference}"),
            Spacer(1, 4 * mm), table(rows, col_widths=[110 * mm, 50 * mm]), Spacer(1, 4 * mm),
            para(f"合同余额 Balance after this payment: {_money(b.balance_minor, b.currency)}")]
    return document(flow, title=f"收款发票 Invoice {payment.invoice_no}", show=show)


def floor_plan_pdf(show) -> bytes:
    """One page per hall: its name, the plan fitted to the page, and the legend under it."""
    from reportlab.platypus import KeepTogether, PageBreak
    colours = {"available": "绿 green", "held": "黄 yellow", "reserved": "橙 orange", "sold": "红 red",
               "blocked": "灰 grey"}
    legend = "图例 Legend: " + " · ".join(f"{colours[k]} {bilingual(STATUS_TITLES[k])}" for k in colours)
    page_w, page_h = landscape(A3)
    width, height = page_w - 36 * mm, page_h - 36 * mm - 30 * mm     # margins; the title and legend lines
    flow = []
    for hall in ops.halls(show):
        if flow:
            flow.append(PageBreak())
        flow.append(KeepTogether([para(f"{show.name_zh} / {show.name_en} — 展馆 Hall {hall.code}", "h2"),
                                  hall_drawing(hall, ops.plan_rows(show, hall.id), width, height),
                                  Spacer(1, 3 * mm), para(legend, "small")]))
    if not flow:
        flow.append(para("此展会尚无展馆 This show has no hall yet.", "h2"))
    return document(flow, title=f"平面图 Floor plan {show.slug}", pagesize=landscape(A3), show=show)


def report_section(show) -> list:
    f = ops.figures(show)
    rows = [[_("Figure"), _("Value")],
            [_("Net m² contracted (UFI net space: contracted stands only)"), f"{f['net_m2']:g}"],
            [_("Contracted booths"), str(f["contracted_booths"])],
            [_("Occupancy of sellable space"), f"{f['occupancy_pct']}%"],
            [_("Revenue booked"), _money(f["revenue_booked_minor"], f["currency"])],
            [_("Revenue received"), _money(f["revenue_received_minor"], f["currency"])]]
    rows += [[_("m² of %(type)s booths", type=TYPE_TITLES.get(t, t)), f"{a:g}"] for t, a in f["m2_by_type"].items()]
    rows += [[_("m² in hall %(hall)s", hall=h), f"{a:g}"] for h, a in f["m2_by_hall"].items()]
    return [para(_("Booths"), "h2"), table(rows, col_widths=[110 * mm, 50 * mm]),
            para(_("Holds are not counted: only reserved, confirmed and paid bookings are contracted space."),
                 "small")]


def booths_report(show) -> bytes:
    return document([para(_("Booth report"), "title"), para(f"{show.name_zh} / {show.name_en}", "h2")]
                    + report_section(show), title=_("Booth report") + f" — {show.slug}", show=show)
