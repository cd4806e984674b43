"""Pages of the booths plugin: floor plan, booth and booking pages, price list, deviations,
the exhibitor portal and the printed documents. Thin: parse, permission, call operations."""
from __future__ import annotations

import os

from flask import Blueprint, abort, flash, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import public, require
from crm_expo.extensions import db
from crm_expo.i18n import parse_money
from crm_expo.models import Organization
from crm_expo.web import current_show
from plugins.exhibitors.models import Exhibitor

from . import operations as ops
from . import pdf
from .floorplan import COLOURS, STATUS_TITLES, hall_svg
from .forms import ActionForm, ExceptionForm, HoldForm, MoveForm, PaymentForm, PortalHoldForm, PriceListForm
from .models import BOOTH_TYPES, Booking, DiscountRule, Payment

bp = Blueprint("booths", __name__, template_folder="templates")
STAFF = ("admin", "organizer", "account_manager")
ORGANIZER = ("admin", "organizer")
HERE = os.path.dirname(os.path.abspath(__file__))


def _show():
    show = current_show()
    if show is None:
        abort(404)
    return show


def _hall(show):
    halls = ops.halls(show)
    code = request.args.get("hall", "")
    hall = next((h for h in halls if h.code == code), halls[0] if halls else None)
    return halls, hall


@bp.route("/")
@require(*STAFF, "exhibitor")
def index():
    show = _show()
    ops.expire_holds(show)
    halls, hall = _hall(show)
    svg = hall_svg(hall, ops.plan_rows(show, hall.id)) if hall else ""
    return render_template("booths/index.html", show=show, halls=halls, hall=hall, svg=svg, colours=COLOURS,
                           titles=STATUS_TITLES, figures=ops.figures(show) if current_user.role != "exhibitor" else None,
                           price_list=ops.price_list(show))


@bp.route("/floorplan.js")
@public
def floorplan_js():
    return send_file(os.path.join(HERE, "static", "floorplan.js"), mimetype="text/javascript", max_age=3600)


@bp.route("/plan.pdf")
@require(*STAFF)
def plan_pdf():
    show = _show()
    return _pdf(pdf.floor_plan_pdf(show), f"floorplan-{show.slug}.pdf")


@bp.route("/booth/<code>", methods=["GET", "POST"])
@require(*STAFF, "exhibitor")
def booth(code):
    show = _show()
    ops.expire_holds(show)
    b = ops.booth_by_code(show, code)
    if b is None:
        abort(404)
    row = ops.booth_row(show, b.id)
    try:
        price = ops.quote(b, ops.utcnow().date())
    except ops.BoothError as exc:
        price, no_price = None, str(exc)
    else:
        no_price = ""
    portal = current_user.role == "exhibitor"
    own = ops.exhibitor_of_organization(show, current_user.organization_id) if portal else None
    form = PortalHoldForm() if portal else HoldForm()
    if not portal:
        exhibitors = db.session.execute(
            select(Exhibitor.id, Organization.name_zh, Organization.name_en)
            .join(Organization, Organization.id == Exhibitor.organization_id)
            .where(Exhibitor.show_id == show.id, Exhibitor.status.not_in(("rejected", "withdrawn")))
            .order_by(Organization.sort_name)).all()
        form.exhibitor.choices = [(e.id, e.name_zh or e.name_en) for e in exhibitors]
        rules = db.session.scalars(select(DiscountRule).where(DiscountRule.show_id == show.id)).all()
        form.discount_rule.choices = [(0, _("List price"))] + [(r.id, f"{r.name} (−{r.percent}%)") for r in rules]
    if form.validate_on_submit():
        if portal and own is None:
            abort(403)
        try:
            booking = ops.hold_booth(show, b.code, own.id if portal else form.exhibitor.data,
                                     discount_rule_id=None if portal else (form.discount_rule.data or None),
                                     user=current_user, portal=portal)
        except ops.BoothError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Booth %(code)s is held until %(until)s.", code=b.code,
                    until=booking.held_until.strftime("%Y-%m-%d %H:%M UTC")), "success")
            return redirect(url_for("booths.portal") if portal else url_for("booths.booking", booking_id=booking.id))
    booking = None
    if row is not None and row.booking_id and not portal:
        booking = db.session.get(Booking, row.booking_id)
    return render_template("booths/booth.html", show=show, booth=b, row=row, price=price, no_price=no_price,
                           form=form, booking=booking, portal=portal, titles=STATUS_TITLES)


def _booking_or_404(show, booking_id) -> Booking:
    booking = ops.get_booking(show, booking_id)
    if booking is None:
        abort(404)
    if current_user.role == "exhibitor":
        own = ops.exhibitor_of_organization(show, current_user.organization_id)
        if own is None or own.id != booking.exhibitor_id:
            abort(404)
    return booking


@bp.route("/booking/<int:booking_id>")
@require(*STAFF)
def booking(booking_id):
    show = _show()
    b = _booking_or_404(show, booking_id)
    exhibitor = db.session.get(Exhibitor, b.exhibitor_id)
    payments = db.session.scalars(select(Payment).where(Payment.booking_id == b.id).order_by(Payment.id)).all()
    return render_template("booths/booking.html", show=show, b=b, exhibitor=exhibitor, payments=payments,
                           action_form=ActionForm(), move_form=MoveForm(), payment_form=PaymentForm(),
                           exception_form=ExceptionForm(), overdue=ops.is_overdue(b))


@bp.route("/booking/<int:booking_id>/<action>", methods=["POST"])
@require(*STAFF)
def booking_action(booking_id, action):
    show = _show()
    b = _booking_or_404(show, booking_id)
    forms = {"move": MoveForm, "pay": PaymentForm, "exception": ExceptionForm}
    form = forms.get(action, ActionForm)()
    if not form.validate_on_submit():
        flash(_("Please check the form: %(errors)s", errors="; ".join(
            f"{k}: {', '.join(v)}" for k, v in form.errors.items())), "error")
        return redirect(url_for("booths.booking", booking_id=b.id))
    try:
        if action == "reserve":
            ops.reserve(b, current_user)
        elif action == "confirm":
            ops.confirm(b, current_user)
        elif action == "cancel":
            ops.cancel(b, form.reason.data or "", current_user)
        elif action == "release":
            ops.release(b, form.reason.data or "", current_user)
        elif action == "move":
            ops.move(b, form.booth.data, current_user, form.reason.data or "")
        elif action == "pay":
            try:
                amount = parse_money(form.amount.data, b.currency)
            except ValueError as exc:
                raise ops.BoothError(_("Not an amount: %(value)s (%(why)s)", value=form.amount.data, why=str(exc)))
            ops.record_payment(b, amount, method=form.method.data, paid_on=form.paid_on.data,
                               reference=form.reference.data or "", user=current_user)
        elif action == "exception":
            try:
                price = parse_money(form.price.data, b.currency)
            except ValueError as exc:
                raise ops.BoothError(_("Not an amount: %(value)s (%(why)s)", value=form.price.data, why=str(exc)))
            ops.request_price_exception(b, price, form.reason.data, current_user)
        elif action == "approve":
            ops.approve_price_exception(b, current_user)
        else:
            abort(404)
    except ops.BoothError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Done."), "success")
    return redirect(url_for("booths.booking", booking_id=b.id))


def _pdf(data: bytes, filename: str):
    resp = make_response(data)
    resp.headers["Content-Type"] = "application/pdf"
    resp.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return resp


@bp.route("/booking/<int:booking_id>/contract.pdf")
@require(*STAFF, "exhibitor")
def contract_pdf(booking_id):
    show = _show()
    b = _booking_or_404(show, booking_id)
    if not b.contract_no:
        abort(404)
    return _pdf(pdf.contract_pdf(b), f"contract-{b.contract_no}.pdf")


@bp.route("/payment/<int:payment_id>/invoice.pdf")
@require(*STAFF, "exhibitor")
def invoice_pdf(payment_id):
    show = _show()
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.show_id != show.id:
        abort(404)
    _booking_or_404(show, payment.booking_id)
    return _pdf(pdf.invoice_pdf(payment), f"invoice-{payment.invoice_no}.pdf")


@bp.route("/prices", methods=["GET", "POST"])
@require(*ORGANIZER)
def prices():
    show = _show()
    pl = ops.price_list(show)
    form = PriceListForm(obj=pl)
    if request.method == "GET" and pl is not None:
        for t in BOOTH_TYPES:
            if t in (pl.rates or {}):
                getattr(form, t).data = f"{pl.rates[t] / 100:.2f}"
    if form.validate_on_submit():
        try:
            rates = {}
            for t in BOOTH_TYPES:
                raw = getattr(form, t).data
                if raw:
                    try:
                        rates[t] = parse_money(raw, show.currency)
                    except ValueError as exc:
                        raise ops.BoothError(_("Not an amount: %(value)s (%(why)s)", value=raw, why=str(exc)))
            ops.publish_price_list(show, rates, corner_surcharge_pct=form.corner_surcharge_pct.data,
                                   open_side_surcharge_pct=form.open_side_surcharge_pct.data,
                                   early_bird_until=form.early_bird_until.data, early_bird_pct=form.early_bird_pct.data,
                                   deposit_pct=form.deposit_pct.data, balance_due=form.balance_due.data,
                                   user=current_user)
        except ops.BoothError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Price list published."), "success")
            return redirect(url_for("booths.prices"))
    return render_template("booths/prices.html", show=show, form=form, price_list=pl)


@bp.route("/deviations")
@require(*ORGANIZER)
def deviations():
    show = _show()
    return render_template("booths/deviations.html", show=show, rows=ops.price_deviations(show))


@bp.route("/deviations.csv")
@require(*ORGANIZER)
def deviations_csv():
    show = _show()
    header = [_("Booth"), _("Exhibitor"), _("List price"), _("Price"), _("Discount rule"), _("Exception reason"),
              _("Status")]
    rows = [[code, name_zh or name_en, f"{b.list_price_minor / 100:.2f}", f"{b.price_minor / 100:.2f}", rule or "",
             b.exception_reason, b.status] for b, code, name_zh, name_en, rule in ops.price_deviations(show)]
    from crm_expo.exports import csv_response
    return csv_response(f"price-deviations-{show.slug}.csv", header, rows)


@bp.route("/portal")
@require("exhibitor")
def portal():
    show = _show()
    bookings = ops.bookings_for_organization(show, current_user.organization_id)
    payments = {b.id: db.session.scalars(select(Payment).where(Payment.booking_id == b.id)).all() for b in bookings}
    return render_template("booths/portal.html", show=show, bookings=bookings, payments=payments,
                           overdue={b.id: ops.is_overdue(b) for b in bookings})
