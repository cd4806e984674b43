"""JSON API of the booths plugin, under /api/v1/shows/<slug>/ (blueprint 'booths_api')."""
from __future__ import annotations

import datetime as dt

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import func, select

from crm_expo.api import ApiError, api_require, caller_organization_id, caller_role, json_body, page_args
from crm_expo.extensions import db

from . import operations as ops
from .models import BOOTH_TYPES, WaitlistEntry

api_bp = Blueprint("booths_api", __name__, url_prefix="/api/v1")


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
@api_require("booths.sell", "booths.portal")
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
            item.update(booking=row.booking_id, exhibitor=row.exhibitor_id, blocked_reason=b.blocked_reason)
        items.append(item)
    return jsonify(items=items, total=len(items))


@api_bp.post("/shows/<slug>/bookings")
@api_require("booths.sell", "booths.portal")
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
        raise _refusal(exc) from exc
    return jsonify(ops.booking_json(booking)), 201


@api_bp.get("/shows/<slug>/bookings/<int:booking_id>")
@api_require("booths.sell", "booths.portal")
def get_booking(show, booking_id):
    """One booking with its price, payments and balance."""
    return jsonify(ops.booking_json(_booking(show, booking_id)))


@api_bp.post("/shows/<slug>/bookings/<int:booking_id>/<action>")
@api_require("booths.sell")
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
    data = json_body(optional=True)
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
                except ValueError as exc:
                    raise ApiError(422, "bad_date", _("The date must be YYYY-MM-DD.")) from exc
            payment = ops.record_payment(booking, data.get("amount_minor"), method=str(data.get("method", "bank_transfer")),
                                         paid_on=paid_on, reference=str(data.get("reference", "")), user=user)
            from crm_expo.extensions import db
            booking = db.session.get(type(booking), payment.booking_id)
        else:
            raise ApiError(404, "unknown_action", _("Unknown action %(a)s.", a=action))
    except ops.BoothError as exc:
        raise _refusal(exc) from exc
    return jsonify(ops.booking_json(booking))


def _page(stmt, serialize) -> dict:
    """paginate() for multi-column rows: page/per_page from the request, total counted in SQL."""
    page, per_page = page_args()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page)).all()
    return {"items": [serialize(r) for r in rows], "total": total, "page": page, "per_page": per_page}


def _portal_org():
    """The caller's organization for a portal (exhibitor) caller, else None (staff see all)."""
    if caller_role() != "exhibitor":
        return None
    org = caller_organization_id()
    if org is None:
        raise ApiError(403, "not_exhibitor", _("Your organization is not an exhibitor of this show."))
    return org


@api_bp.get("/shows/<slug>/waitlist")
@api_require("booths.sell", "booths.portal")
def list_waitlist(show):
    """Waiting-list entries: the queue in order, or offers made and their outcome.
    ---
    get:
      summary: "Waiting list (?booth=A101 | ?booth_type=shell, ?state=waiting|past; exhibitors: their own only)"
      responses:
        200: {description: "{items: [entry], total, page, per_page}; entry.outcome = waiting | pending | accepted | lapsed | declined | left"}
        404: {description: unknown_booth}
    """
    ops.expire_holds(show)
    org = _portal_org()
    booth_id = None
    if request.args.get("booth"):
        booth = ops.booth_by_code(show, request.args["booth"])
        if booth is None:
            raise ApiError(404, "unknown_booth", _("No booth %(code)s in this show.", code=request.args["booth"]))
        booth_id = booth.id
    booth_type = request.args.get("booth_type", "")
    if booth_type and booth_type not in BOOTH_TYPES:
        raise ApiError(422, "bad_value", _("Unknown booth type %(type)s (one of %(types)s).", type=booth_type,
                                           types=", ".join(BOOTH_TYPES)))
    state = request.args.get("state", "waiting")
    if state not in ("waiting", "past"):
        raise ApiError(422, "bad_value", _("state must be waiting or past."))
    stmt = ops.waitlist_stmt(show, organization_id=org, waiting=state == "waiting", booth_id=booth_id,
                             booth_type=booth_type)
    return jsonify(_page(stmt, ops.waitlist_json))


@api_bp.post("/shows/<slug>/waitlist")
@api_require("booths.sell", "booths.portal")
def join_waitlist(show):
    """Put an exhibitor on the waiting list of a booth or of a booth type.
    ---
    post:
      summary: 'Join {"booth": "A101"} or {"booth_type": "shell"}, with "exhibitor": id (staff; an exhibitor joins for itself)'
      responses:
        201: {description: the entry}
        409: {description: "duplicate (already waiting), booth_available"}
        422: {description: bad_value}
    """
    data = json_body()
    org = _portal_org()
    exhibitor = data.get("exhibitor")
    if org is not None:
        ex = ops.exhibitor_of_organization(show, org)
        if ex is None:
            raise ApiError(403, "not_exhibitor", _("Your organization is not an exhibitor of this show."))
        exhibitor = ex.id
    if exhibitor in (None, ""):
        raise ApiError(400, "missing_field", _("Send the exhibitor id."))
    try:
        entry = ops.join_waitlist(show, exhibitor, booth_code=str(data.get("booth") or ""),
                                  booth_type=str(data.get("booth_type") or ""), user=_user(), organization_id=org)
    except ops.BoothError as exc:
        raise _refusal(exc) from exc
    row = db.session.execute(ops.waitlist_stmt(show).where(WaitlistEntry.id == entry.id)).one()
    return jsonify(ops.waitlist_json(row)), 201


@api_bp.delete("/shows/<slug>/waitlist/<int:entry_id>")
@api_require("booths.sell", "booths.portal")
def leave_waitlist(show, entry_id):
    """Take an entry off the waiting list (an exhibitor: only its own).
    ---
    delete:
      summary: Leave the waiting list
      responses:
        200: {description: "the entry, status left"}
        404: {description: unknown_entry}
        409: {description: "bad_transition (already offered or left)"}
    """
    entry = ops.get_waitlist_entry(show, entry_id, _portal_org())
    if entry is None:
        raise ApiError(404, "unknown_entry", _("No waiting-list entry %(id)s in this show.", id=entry_id))
    try:
        entry = ops.leave_waitlist(entry, user=_user())
    except ops.BoothError as exc:
        raise _refusal(exc) from exc
    row = db.session.execute(ops.waitlist_stmt(show, waiting=False).where(WaitlistEntry.id == entry.id)).one()
    return jsonify(ops.waitlist_json(row))


def _booth_json(booth) -> dict:
    return {"code": booth.code, "blocked": booth.blocked, "blocked_reason": booth.blocked_reason}


@api_bp.post("/shows/<slug>/booths/<code>/<action>")
@api_require("booths.layout")
def block_booth(show, code, action):
    """Block or unblock a booth, with a reason (audited).
    ---
    post:
      summary: 'block | unblock {"reason": "…"}'
      responses:
        200: {description: "{code, blocked, blocked_reason}"}
        404: {description: "unknown_booth, unknown_action"}
        409: {description: "booth_taken (booked), bad_transition (already in that state)"}
        422: {description: reason_required}
    """
    if action not in ("block", "unblock"):
        raise ApiError(404, "unknown_action", _("Unknown action %(a)s.", a=action))
    booth = ops.booth_by_code(show, code)
    if booth is None:
        raise ApiError(404, "unknown_booth", _("No booth %(code)s in this show.", code=code))
    data = json_body(optional=True)
    try:
        booth = ops.set_blocked(booth, action == "block", str(data.get("reason") or ""), user=_user())
    except ops.BoothError as exc:
        raise _refusal(exc) from exc
    return jsonify(_booth_json(booth))


@api_bp.get("/shows/<slug>/discount-rules")
@api_require("booths.sell")    # staff only: discounts are given by the organizer, not chosen in the portal
def list_discount_rules(show):
    """The show's published discount rules (``?retired=1`` includes retired ones).
    ---
    get:
      summary: "Discount rules: name, percent, conditions (min_area_m2, booth_type), bookings citing it (staff)"
      responses:
        200: {description: "{items: [rule], total, page, per_page}"}
    """
    stmt = ops.discount_rules_stmt(show, current_only=request.args.get("retired") not in ("1", "true"))
    return jsonify(_page(stmt, lambda row: ops.rule_json(row[0], row[1])))


def _whole(data: dict, name: str, default: int, low: int = 0, high: int | None = None, field: str = "") -> int:
    field = field or name
    value = data.get(name, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < low or (high is not None and value > high):
        bound = _("a whole number from %(low)s to %(high)s", low=low, high=high) if high is not None else \
            _("a whole number of at least %(low)s", low=low)
        raise ApiError(400, "bad_value", _("%(field)s must be %(bound)s, not %(value)s.", field=field, bound=bound,
                                           value=repr(value)), field=field)
    return value


def _date(data: dict, name: str) -> dt.date | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise ApiError(400, "bad_value", _("%(field)s must be a date YYYY-MM-DD, not %(value)s.", field=name,
                                           value=repr(value)), field=name) from None


@api_bp.put("/shows/<slug>/price-list")
@api_require("booths.prices")
def put_price_list(show):
    """Publish the show's price list (replaces the published one), as the prices page does.
    ---
    put:
      summary: Publish the price list
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [rates]
              properties:
                rates: {type: object, description: "price per m² by booth type, whole minor units ≥ 0",
                        additionalProperties: {type: integer, minimum: 0}}
                corner_surcharge_pct: {type: integer, minimum: 0, maximum: 100}
                open_side_surcharge_pct: {type: integer, minimum: 0, maximum: 100}
                early_bird_until: {type: string, format: date}
                early_bird_pct: {type: integer, minimum: 0, maximum: 100}
                deposit_pct: {type: integer, minimum: 0, maximum: 100}
                balance_due: {type: string, format: date}
      responses:
        200: {description: the published price list}
        400: {description: "a field is missing or wrong; error.field names it; nothing written"}
    """
    data = json_body()
    rates = data.get("rates")
    if not isinstance(rates, dict) or not rates:
        raise ApiError(400, "bad_value", _("rates must be an object of prices per m² by booth type."), field="rates")
    for booth_type in rates:
        if booth_type not in BOOTH_TYPES:
            raise ApiError(400, "bad_value", _("Unknown booth type %(type)s (one of %(types)s).", type=booth_type,
                                               types=", ".join(BOOTH_TYPES)), field=f"rates.{booth_type}")
        _whole(rates, booth_type, 0, field=f"rates.{booth_type}")
    terms = {name: _whole(data, name, default, 0, 100) for name, default in (
        ("corner_surcharge_pct", 0), ("open_side_surcharge_pct", 0), ("early_bird_pct", 0), ("deposit_pct", 30))}
    try:
        pl = ops.publish_price_list(show, rates, **terms,
                                    early_bird_until=_date(data, "early_bird_until"),
                                    balance_due=_date(data, "balance_due"), user=_user())
    except ops.BoothError as exc:
        raise _refusal(exc) from exc
    return jsonify(price_list_json(pl))


def price_list_json(pl) -> dict:
    return {"currency": pl.currency, "rates": pl.rates, "corner_surcharge_pct": pl.corner_surcharge_pct,
            "open_side_surcharge_pct": pl.open_side_surcharge_pct,
            "early_bird_until": pl.early_bird_until.isoformat() if pl.early_bird_until else None,
            "early_bird_pct": pl.early_bird_pct, "deposit_pct": pl.deposit_pct,
            "balance_due": pl.balance_due.isoformat() if pl.balance_due else None,
            "published_at": pl.published_at.isoformat() + "Z" if pl.published_at else None}
