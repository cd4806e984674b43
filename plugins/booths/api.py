"""JSON API of the booths plugin, under /api/v1/shows/<slug>/ (blueprint 'booths_api')."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from crm_expo.api import ApiError, caller_organization_id, caller_role, json_body
from crm_expo.api import api_require

from . import operations as ops

api_bp = Blueprint("booths_api", __name__, url_prefix="/api/v1")
SALES = ("admin", "organizer", "account_manager")


def _user():
    return getattr(g, "api_user", None)


def _refusal(exc: ops.BoothError) -> ApiError:
    return ApiError(exc.status, exc.code, str(exc))


def _booking(show, booking_id):
    booking = ops.get_booking(show, booking_id)
    if booking is None:
        raise ApiError(404, "unknown_booking", _("No booking %(id)s in this show.", id=booking_id))
    if caller_role() == "exhibitor":
        ex = ops.exhibitor_of_organization(show, caller_organization_id())
        if ex is None or ex.id != booking.exhibitor_id:
            raise ApiError(404, "unknown_booking", _("No booking %(id)s in this show.", id=booking_id))
    return booking


@api_bp.get("/shows/<slug>/booths")
@api_require(*SALES, "exhibitor")
def list_booths(show):
    """Booths of a show with their status and list price.
    ---
    get:
      summary: List booths (status available/held/reserved/sold/blocked, price with breakdown)
      responses:
        200: {description: "{items: [booth], total}"}
    """
    ops.expire_holds(show)
    pl = ops.price_list(show)
    today = dt.date.today()
    items = []
    portal = caller_role() == "exhibitor"
    for row in ops.booth_rows(show):
        b = row.Booth
        try:
            price = ops.quote(b, today, pl)
        except ops.BoothError:
            price = None
        item = {"code": b.code, "hall": b.hall.code, "type": b.type, "x_m": b.x_cm / 100, "y_m": b.y_cm / 100,
                "width_m": b.width_cm / 100, "depth_m": b.depth_cm / 100, "area_m2": b.area_m2,
                "open_sides": b.open_sides, "status": row.status, "price": price}
        if not portal:
            item.update(booking=row.booking_id, exhibitor=row.exhibitor_id)
        items.append(item)
    return jsonify(items=items, total=len(items))


@api_bp.post("/shows/<slug>/bookings")
@api_require(*SALES, "exhibitor")
def create_booking(show):
    """Hold a booth for an exhibitor: 201 with the booking, or 409 booth_taken.
    ---
    post:
      summary: 'Hold a booth {"booth": "A101", "exhibitor": id}'
      responses:
        201: {description: the booking}
        409: {description: "booth_taken / booth_blocked"}
    """
    data = json_body()
    exhibitor = data.get("exhibitor")
    portal = caller_role() == "exhibitor"
    if portal:
        ex = ops.exhibitor_of_organization(show, caller_organization_id())
        if ex is None:
            raise ApiError(403, "not_exhibitor", _("Your organization is not an exhibitor of this show."))
        exhibitor = ex.id
    if not data.get("booth") or exhibitor in (None, ""):
        raise ApiError(400, "missing_field", _("Send the booth code and the exhibitor id."))
    try:
        booking = ops.hold_booth(show, str(data["booth"]), exhibitor, discount_rule_id=data.get("discount_rule"),
                                 user=_user(), portal=portal)
    except ops.BoothError as exc:
        raise _refusal(exc)
    return jsonify(ops.booking_json(booking)), 201


@api_bp.get("/shows/<slug>/bookings/<int:booking_id>")
@api_require(*SALES, "exhibitor")
def get_booking(show, booking_id):
    """One booking with its price, payments and balance."""
    return jsonify(ops.booking_json(_booking(show, booking_id)))


@api_bp.post("/shows/<slug>/bookings/<int:booking_id>/<action>")
@api_require(*SALES)
def transition(show, booking_id, action):
    """A lifecycle step: reserve, confirm, pay, cancel, release, move.
    ---
    post:
      summary: "reserve | confirm | pay {amount_minor, method, reference, date} | cancel {reason} | release {reason} | move {booth}"
      responses:
        200: {description: the booking}
        409: {description: "bad_transition, booth_taken, hold_expired, deposit_missing"}
        422: {description: "bad_amount, exceeds_balance, reason_required"}
    """
    booking = _booking(show, booking_id)
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", _("The request body must be a JSON object."))
    user = _user()
    try:
        if action == "reserve":
            booking = ops.reserve(booking, user)
        elif action == "confirm":
            booking = ops.confirm(booking, user)
        elif action == "cancel":
            booking = ops.cancel(booking, str(data.get("reason", "")), user)
        elif action == "release":
            booking = ops.release(booking, str(data.get("reason", "")), user)
        elif action == "move":
            booking = ops.move(booking, str(data.get("booth", "")), user, str(data.get("reason", "")))
        elif action == "pay":
            paid_on = None
            if data.get("date"):
                try:
                    paid_on = dt.date.fromisoformat(str(data["date"]))
                except ValueError:
                    raise ApiError(422, "bad_date", _("The date must be YYYY-MM-DD."))
            payment = ops.record_payment(booking, data.get("amount_minor"), method=str(data.get("method", "bank_transfer")),
                                         paid_on=paid_on, reference=str(data.get("reference", "")), user=user)
            from crm_expo.extensions import db
            booking = db.session.get(type(booking), payment.booking_id)
        else:
            raise ApiError(404, "unknown_action", _("Unknown action %(a)s.", a=action))
    except ops.BoothError as exc:
        raise _refusal(exc)
    return jsonify(ops.booking_json(booking))
