"""Pages of the booths plugin: floor plan, booth and booking pages, price list, deviations,
the exhibitor portal and the printed documents. Thin: parse, permission, call operations."""
from __future__ import annotations

import os

from flask import Blueprint, abort, flash, g, make_response, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from crm_expo.access import public, require
from crm_expo.errors import DomainError
from crm_expo.extensions import db
from crm_expo.i18n import local_datetime, parse_money
from crm_expo.models import Organization
from crm_expo.permissions import can
from plugins.exhibitors.models import Exhibitor

from . import operations as ops
from .floorplan import COLOURS, STATUS_TITLES
from .forms import (
    ActionForm,
    BlockForm,
    DiscountRuleForm,
    ExceptionForm,
    HoldForm,
    MergeForm,
    MoveForm,
    PaymentForm,
    PortalHoldForm,
    PortalWaitlistForm,
    PriceListForm,
    SplitForm,
    WaitlistForm,
)
from .models import BOOKING_TITLES, BOOTH_TYPES, TYPE_TITLES, Booking, Booth, Payment

bp = Blueprint("booths", __name__, template_folder="templates")
HERE = os.path.dirname(os.path.abspath(__file__))


@bp.app_context_processor
def _booth_words():
    return {"booth_type_titles": TYPE_TITLES, "booth_outcome_titles": ops.OUTCOME_TITLES,
            "booth_offer_outcome": ops.offer_outcome}


def _type_choices(blank):
    return [("", blank)] + [(t, str(TYPE_TITLES[t])) for t in BOOTH_TYPES]


def _exhibitor_choices(show):
    exhibitors = db.session.execute(
        select(Exhibitor.id, Organization.name_zh, Organization.name_en)
        .join(Organization, Organization.id == Exhibitor.organization_id)
        .where(Exhibitor.show_id == show.id, Exhibitor.status.not_in(("rejected", "withdrawn")))
        .order_by(Organization.sort_name)).all()
    return [(e.id, e.name_zh or e.name_en) for e in exhibitors]


def _organizer() -> bool:
    return can("booths.layout")




def _hall(show):
    halls = ops.halls(show)
    code = request.args.get("hall", "")
    hall = next((h for h in halls if h.code == code), halls[0] if halls else None)
    return halls, hall


@bp.route("/")
@require("booths.sell", "booths.portal")
def index():
    show = g.show
    ops.expire_holds(show)
    halls, hall = _hall(show)
    svg = ops.hall_svg(show, hall) if hall else ""
    return render_template("booths/index.html", show=show, halls=halls, hall=hall, svg=svg, colours=COLOURS,
                           titles=STATUS_TITLES, figures=ops.figures(show) if current_user.role != "exhibitor" else None,
                           price_list=ops.price_list(show))


@bp.route("/floorplan.js")
@public
def floorplan_js():
    return send_file(os.path.join(HERE, "static", "floorplan.js"), mimetype="text/javascript", max_age=3600)


@bp.route("/plan.pdf")
@require("booths.view")
def plan_pdf():
    show = g.show
    from . import pdf  # ReportLab loads when a PDF is asked for
    return _pdf(pdf.floor_plan_pdf(show), f"floorplan-{show.slug}.pdf")


@bp.route("/booth/<code>", methods=["GET", "POST"])
@require("booths.sell", "booths.portal")
def booth(code):
    show = g.show
    ops.expire_holds(show)
    b = ops.booth_by_code(show, code)
    if b is None:
        abort(404)
    row = ops.booth_row(show, b.id)
    try:
        price = ops.quote(b, ops.utcnow().date())
    except DomainError as exc:
        price, no_price = None, str(exc)
    else:
        no_price = ""
    portal = current_user.role == "exhibitor"
    own = ops.exhibitor_of_organization(show, current_user.organization_id) if portal else None
    form = PortalHoldForm() if portal else HoldForm()
    if not portal:
        form.exhibitor.choices = _exhibitor_choices(show)
        rules = [r for r, _n in ops.discount_rules(show, current_only=True)]
        form.discount_rule.choices = [(0, _("List price"))] + [(r.id, f"{r.name} (−{r.percent}%)") for r in rules]
    if form.validate_on_submit():
        if portal and own is None:
            abort(403)
        try:
            booking = ops.hold_booth(show, b.code, own.id if portal else form.exhibitor.data,
                                     discount_rule_id=None if portal else (form.discount_rule.data or None),
                                     user=current_user, portal=portal)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Booth %(code)s is held until %(until)s.", code=b.code,
                    until=local_datetime(booking.held_until, "short")), "success")
            return redirect(url_for("booths.portal") if portal else url_for("booths.booking", booking_id=booking.id))
    booking = None
    if row is not None and row.booking_id and not portal:
        booking = db.session.get(Booking, row.booking_id)
    queue = [] if portal and own is None else db.session.execute(ops.waitlist_stmt(
        show, organization_id=current_user.organization_id if portal else None, booth_id=b.id)).all()
    wait_form = PortalWaitlistForm(formdata=None) if portal else WaitlistForm(formdata=None)
    if not portal:
        wait_form.exhibitor.choices = _exhibitor_choices(show)
    wait_form.booth.data = b.code
    return render_template("booths/booth.html", show=show, booth=b, row=row, price=price, no_price=no_price,
                           form=form, booking=booking, portal=portal, titles=STATUS_TITLES, queue=queue,
                           own=own, wait_form=wait_form, block_form=BlockForm(formdata=None),
                           split_form=SplitForm(formdata=None), merge_form=MergeForm(formdata=None),
                           action_form=ActionForm(formdata=None), organizer=_organizer())


def _booth_or_404(show, code) -> Booth:
    b = ops.booth_by_code(show, code)
    if b is None:
        abort(404)
    return b


def _back(default):
    # Forms on the booth page and the booth list post here and return where they came from.
    target = request.form.get("next", "")
    local = target.startswith("/") and not target.startswith(("//", "/\\"))     # never another site
    return redirect(target if local else default)


@bp.route("/booth/<code>/block", methods=["POST"])
@require("booths.layout")
def block(code):
    return _set_blocked(code, True)


@bp.route("/booth/<code>/unblock", methods=["POST"])
@require("booths.layout")
def unblock(code):
    return _set_blocked(code, False)


def _set_blocked(code, blocked: bool):
    show = g.show
    b = _booth_or_404(show, code)
    form = BlockForm()
    if not form.validate_on_submit():
        flash(_("Please check the form: %(errors)s", errors=_form_errors(form)), "error")
    else:
        try:
            ops.set_blocked(b, blocked, form.reason.data or "", user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Booth %(code)s is blocked.", code=b.code) if blocked else
                  _("Booth %(code)s is unblocked.", code=b.code), "success")
    return _back(url_for("booths.booth", code=b.code))


def _form_errors(form) -> str:
    return "; ".join(f"{getattr(form, k).label.text if hasattr(form, k) else k}: {', '.join(map(str, v))}"
                     for k, v in form.errors.items())


@bp.route("/booth/<code>/split", methods=["POST"])
@require("booths.layout")
def split(code):
    show = g.show
    b = _booth_or_404(show, code)
    form = SplitForm()
    if not form.validate_on_submit():
        flash(_("Please check the form: %(errors)s", errors=_form_errors(form)), "error")
        return redirect(url_for("booths.booth", code=b.code))
    try:
        left, right = ops.split_booth(b, (form.at.data or "").strip() or None,
                                      codes=(form.left_code.data or "", form.right_code.data or ""),
                                      user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("booths.booth", code=b.code))
    flash(_("Booth %(code)s was split into %(a)s and %(b)s.", code=code, a=left.code, b=right.code), "success")
    return redirect(url_for("booths.booth", code=left.code))


@bp.route("/booth/<code>/merge", methods=["POST"])
@require("booths.layout")
def merge(code):
    show = g.show
    b = _booth_or_404(show, code)
    form = MergeForm()
    if not form.validate_on_submit():
        flash(_("Please check the form: %(errors)s", errors=_form_errors(form)), "error")
        return redirect(url_for("booths.booth", code=b.code))
    try:
        other = ops.booth_by_code(show, form.other.data or "")
        if other is None:
            raise ops.BoothError(_("No booth %(code)s in this show.", code=form.other.data or ""), "unknown_booth")
        merged = ops.merge_booths(b, other, code=form.code.data or "", user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("booths.booth", code=b.code))
    flash(_("Booths %(a)s and %(b)s were merged into %(code)s.", a=b.code, b=other.code, code=merged.code),
          "success")
    return redirect(url_for("booths.booth", code=merged.code))


@bp.route("/list")
@require("booths.view")
def booth_list():
    """Every booth of a hall with status, type, size, list price and block reason."""
    show = g.show
    ops.expire_holds(show)
    halls, hall = _hall(show)
    rows = ops.booth_rows(show, hall.id) if hall else []
    pl = ops.price_list(show)
    today = ops.utcnow().date()
    prices = {}
    for r in rows:
        try:
            prices[r.Booth.id] = ops.quote(r.Booth, today, pl)["total_minor"]
        except DomainError:
            prices[r.Booth.id] = None
    return render_template("booths/list.html", show=show, halls=halls, hall=hall, rows=rows, prices=prices,
                           titles=STATUS_TITLES, block_form=BlockForm(formdata=None), organizer=_organizer(),
                           currency=pl.currency if pl else show.currency)


# --- waiting list ---------------------------------------------------------------------------
@bp.route("/waitlist", methods=["GET", "POST"])
@require("booths.sell", "booths.portal")
def waitlist():
    """Staff: every queue in order, and the offers made with their expiry and outcome; they
    add an exhibitor. Portal: the organization's own entries and offers; it joins for itself."""
    show = g.show
    ops.expire_holds(show)
    portal = current_user.role == "exhibitor"
    own = ops.exhibitor_of_organization(show, current_user.organization_id) if portal else None
    form = PortalWaitlistForm() if portal else WaitlistForm()
    form.booth_type.choices = _type_choices(_("— a specific booth —"))
    if not portal:
        form.exhibitor.choices = _exhibitor_choices(show)
    if request.method == "POST":
        if not form.validate_on_submit():
            flash(_("Please check the form: %(errors)s", errors=_form_errors(form)), "error")
        elif portal and own is None:
            flash(_("Your organization is not an exhibitor of this show."), "error")
        else:
            try:
                entry = ops.join_waitlist(show, own.id if portal else form.exhibitor.data,
                                          booth_code=form.booth.data or "", booth_type=form.booth_type.data or "",
                                          user=current_user,
                                          organization_id=current_user.organization_id if portal else None)
            except DomainError as exc:
                flash(str(exc), "error")
            else:
                flash(_("Added to the waiting list (entry %(id)s).", id=entry.id), "success")
                return _back(url_for("booths.waitlist"))
        if request.form.get("next"):
            return _back(url_for("booths.waitlist"))
    org = current_user.organization_id if portal else None
    if portal and own is None:
        queues, history = [], []
    else:
        queues, history = ops.waitlist_queues(show, org), ops.waitlist_history(show, org)
    # Place in line counts every waiting entry; a portal user still sees only its own rows.
    positions, seen = {}, {}
    for row in (ops.waitlist_queues(show) if portal else queues):
        key = (row[0].booth_id, row[0].booth_type)
        seen[key] = seen.get(key, 0) + 1
        positions[row[0].id] = seen[key]
    return render_template("booths/waitlist.html", show=show, form=form, queues=queues, history=history,
                           positions=positions, portal=portal, action_form=ActionForm(formdata=None))


@bp.route("/waitlist/<int:entry_id>/leave", methods=["POST"])
@require("booths.sell", "booths.portal")
def waitlist_leave(entry_id):
    show = g.show
    portal = current_user.role == "exhibitor"
    entry = ops.get_waitlist_entry(show, entry_id, current_user.organization_id if portal else None)
    if entry is None or (portal and current_user.organization_id is None):
        abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        ops.leave_waitlist(entry, user=current_user)
    except DomainError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Taken off the waiting list."), "success")
    return _back(url_for("booths.waitlist"))


# --- discount rules ---------------------------------------------------------------------------
@bp.route("/rules", methods=["GET", "POST"])
@require("booths.layout")
def rules():
    show = g.show
    form = DiscountRuleForm()
    form.booth_type.choices = _type_choices(_("Any type"))
    if form.validate_on_submit():
        try:
            rule = ops.add_discount_rule(show, form.name.data, form.percent.data, min_area_m2=form.min_area_m2.data,
                                         booth_type=form.booth_type.data or "", user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Discount rule %(name)s published.", name=rule.name), "success")
            return redirect(url_for("booths.rules"))
    elif form.is_submitted():
        flash(_("Please check the form: %(errors)s", errors=_form_errors(form)), "error")
    return render_template("booths/rules.html", show=show, form=form, rules=ops.discount_rules(show),
                           action_form=ActionForm(formdata=None))


@bp.route("/rules/<int:rule_id>", methods=["GET", "POST"])
@require("booths.layout")
def rule(rule_id):
    show = g.show
    found = next(((r, n) for r, n in ops.discount_rules(show) if r.id == rule_id), None)
    if found is None:
        abort(404)
    r, cited = found
    form = DiscountRuleForm()
    form.booth_type.choices = _type_choices(_("Any type"))
    if request.method == "GET":
        form.name.data, form.percent.data = r.name, str(r.percent)
        form.min_area_m2.data, form.booth_type.data = f"{r.min_area_cm2 / 10_000:g}", r.booth_type
    elif form.validate_on_submit():
        try:
            ops.edit_discount_rule(show, r.id, form.name.data, form.percent.data, min_area_m2=form.min_area_m2.data,
                                   booth_type=form.booth_type.data or "", user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Discount rule %(name)s saved.", name=form.name.data.strip()), "success")
            return redirect(url_for("booths.rules"))
    else:
        flash(_("Please check the form: %(errors)s", errors=_form_errors(form)), "error")
    return render_template("booths/rule.html", show=show, form=form, rule=r, cited=cited,
                           action_form=ActionForm(formdata=None))


@bp.route("/rules/<int:rule_id>/retire", methods=["POST"])
@require("booths.layout")
def rule_retire(rule_id):
    show = g.show
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        r = ops.retire_discount_rule(show, rule_id, user=current_user)
    except DomainError as exc:
        if exc.status == 404:
            abort(404)
        flash(str(exc), "error")
    else:
        flash(_("Discount rule %(name)s retired: no new booking can use it.", name=r.name), "success")
    return redirect(url_for("booths.rules"))


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
@require("booths.view")
def booking(booking_id):
    show = g.show
    b = _booking_or_404(show, booking_id)
    exhibitor = db.session.get(Exhibitor, b.exhibitor_id)
    payments = db.session.scalars(select(Payment).where(Payment.booking_id == b.id).order_by(Payment.id)).all()
    return render_template("booths/booking.html", show=show, b=b, exhibitor=exhibitor, payments=payments,
                           action_form=ActionForm(), move_form=MoveForm(), payment_form=PaymentForm(),
                           exception_form=ExceptionForm(), overdue=ops.is_overdue(b))


@bp.route("/booking/<int:booking_id>/<action>", methods=["POST"])
@require("booths.sell")
def booking_action(booking_id, action):
    show = g.show
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
            amount = parse_money(form.amount.data, b.currency, field="amount")
            ops.record_payment(b, amount, method=form.method.data, paid_on=form.paid_on.data,
                               reference=form.reference.data or "", user=current_user)
        elif action == "exception":
            price = parse_money(form.price.data, b.currency, field="price")
            ops.request_price_exception(b, price, form.reason.data, current_user)
        elif action == "approve":
            ops.approve_price_exception(b, current_user)
        else:
            abort(404)
    except DomainError as exc:
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
@require("booths.sell", "booths.portal")
def contract_pdf(booking_id):
    show = g.show
    b = _booking_or_404(show, booking_id)
    if not b.contract_no:
        abort(404)
    from . import pdf  # ReportLab loads when a PDF is asked for
    return _pdf(pdf.contract_pdf(b), f"contract-{b.contract_no}.pdf")


@bp.route("/payment/<int:payment_id>/invoice.pdf")
@require("booths.sell", "booths.portal")
def invoice_pdf(payment_id):
    show = g.show
    payment = db.session.get(Payment, payment_id)
    if payment is None or payment.show_id != show.id:
        abort(404)
    _booking_or_404(show, payment.booking_id)
    from . import pdf  # ReportLab loads when a PDF is asked for
    return _pdf(pdf.invoice_pdf(payment), f"invoice-{payment.invoice_no}.pdf")


@bp.route("/prices", methods=["GET", "POST"])
@require("booths.prices")
def prices():
    show = g.show
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
                    rates[t] = parse_money(raw, show.currency, field=t)
            ops.publish_price_list(show, rates, corner_surcharge_pct=form.corner_surcharge_pct.data,
                                   open_side_surcharge_pct=form.open_side_surcharge_pct.data,
                                   early_bird_until=form.early_bird_until.data, early_bird_pct=form.early_bird_pct.data,
                                   deposit_pct=form.deposit_pct.data, balance_due=form.balance_due.data,
                                   user=current_user)
        except DomainError as exc:
            flash(str(exc), "error")
        else:
            flash(_("Price list published."), "success")
            return redirect(url_for("booths.prices"))
    return render_template("booths/prices.html", show=show, form=form, price_list=pl)


@bp.route("/deviations")
@require("booths.prices")
def deviations():
    show = g.show
    return render_template("booths/deviations.html", show=show, rows=ops.price_deviations(show))


@bp.route("/deviations.csv")
@require("booths.prices")
def deviations_csv():
    show = g.show
    header = [_("Booth"), _("Exhibitor"), _("List price"), _("Price"), _("Discount rule"), _("Exception reason"),
              _("Status")]
    rows = [[code, name_zh or name_en, f"{b.list_price_minor / 100:.2f}", f"{b.price_minor / 100:.2f}", rule or "",
             b.exception_reason, str(BOOKING_TITLES.get(b.status, b.status))] for b, code, name_zh, name_en, rule in ops.price_deviations(show)]
    from crm_expo.exports import csv_response
    return csv_response(f"price-deviations-{show.slug}.csv", header, rows)


@bp.route("/portal")
@require("booths.portal")
def portal():
    show = g.show
    bookings = ops.bookings_for_organization(show, current_user.organization_id)
    payments = {b.id: db.session.scalars(select(Payment).where(Payment.booking_id == b.id)).all() for b in bookings}
    return render_template("booths/portal.html", show=show, bookings=bookings, payments=payments,
                           overdue={b.id: ops.is_overdue(b) for b in bookings})
